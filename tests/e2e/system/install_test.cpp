// `meson install` (issue 8): installs this build into a temporary DESTDIR
// and checks the tree a package would ship: the binaries run, the man pages
// render without warnings, the sample configuration loads (with our loader
// and with the real supervisord's parser), the systemd unit and the
// logrotate snippet are valid, and the shell completions complete.
//
// Environment (set by tests/e2e/system/meson.build): MESON (the meson
// command), BUILD_ROOT, and the configured install directories PREFIX,
// BINDIR, SYSCONFDIR, DATADIR, MANDIR, SYSTEMDUNITDIR (absolute).
#include <doctest/doctest.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "e2e/harness.hpp"

using namespace e2e;

namespace {

std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  REQUIRE_MESSAGE((v != nullptr && *v != '\0'), name << " is not set (run the test through meson test)");
  return v;
}

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

size_t dir_entries(const std::string& path) {
  size_t n = 0;
  if (DIR* d = ::opendir(path.c_str())) {
    while (struct dirent* e = ::readdir(d)) n += std::string(e->d_name) != "." && std::string(e->d_name) != "..";
    ::closedir(d);
  }
  return n;
}

// The first of candidates that is executable, or "".
std::string find_tool(std::initializer_list<const char*> candidates) {
  for (const char* c : candidates)
    if (is_executable(c)) return c;
  return "";
}

std::string describe(const CommandResult& r) {
  return "status " + std::to_string(r.status) + (r.timed_out ? " (timed out)" : "") + "\nstdout:\n" + r.out +
         "\nstderr:\n" + r.err;
}

// "Key=value" lines of a unit file's [Service] section.
std::string unit_value(const std::string& unit, const std::string& key) {
  std::string value;
  bool in_service = false;
  for (const auto& line : split_lines(unit)) {
    if (!line.empty() && line[0] == '[') in_service = line == "[Service]";
    if (in_service && line.rfind(key + "=", 0) == 0) value = line.substr(key.size() + 1);
  }
  return value;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) text.replace(pos, from.size(), to);
  return text;
}

// One installation per test executable: every test case below looks at it.
struct Installed {
  TempDir dest{"inst"};
  std::string prefix, bindir, sysconfdir, datadir, mandir, unitdir;
  CommandResult install;

  Installed() {
    prefix = env_or_fail("PREFIX");
    bindir = env_or_fail("BINDIR");
    sysconfdir = env_or_fail("SYSCONFDIR");
    datadir = env_or_fail("DATADIR");
    mandir = env_or_fail("MANDIR");
    unitdir = env_or_fail("SYSTEMDUNITDIR");
    install = run_command({env_or_fail("MESON"), "install", "-C", env_or_fail("BUILD_ROOT"), "--destdir",
                           dest.path(), "--no-rebuild"},
                          {}, Millis(120000));
  }
  // The installed location of an absolute install path.
  std::string at(const std::string& path) const { return dest.path() + path; }
};

Installed& installed() {
  static Installed inst;
  REQUIRE_MESSAGE(inst.install.status == 0, "meson install failed: " << describe(inst.install));
  return inst;
}

}  // namespace

TEST_CASE("the installed binaries run") {
  Installed& in = installed();
  std::string supervisord = in.at(in.bindir + "/supervisord");
  std::string supervisorctl = in.at(in.bindir + "/supervisorctl");
  REQUIRE(is_executable(supervisord));
  REQUIRE(is_executable(supervisorctl));
  CommandResult v = run_command({supervisord, "--version"});
  CHECK_MESSAGE(v.status == 0, describe(v));
  CHECK(v.out == "4.2.5\n");
  CommandResult h = run_command({supervisorctl, "-h"});
  CHECK_MESSAGE(h.status == 0, describe(h));
  CHECK(h.out.find("supervisorctl") != std::string::npos);
}

TEST_CASE("the three man pages are installed and render without warnings") {
  Installed& in = installed();
  std::string man = find_tool({"/usr/bin/man", "/bin/man"});
  for (const char* page : {"man8/supervisord.8", "man1/supervisorctl.1", "man5/supervisord.conf.5"}) {
    std::string path = in.at(in.mandir + "/" + page);
    REQUIRE_MESSAGE(file_exists(path), path);
    if (man.empty()) continue;
    CommandResult r = run_command({man, "--warnings", "-l", "-E", "UTF-8", path}, {}, kDeadline, {"MANWIDTH=80"});
    CHECK_MESSAGE(r.status == 0, page << ": " << describe(r));
    CHECK_MESSAGE(r.err.empty(), page << " warnings:\n" << r.err);
    CHECK(r.out.size() > 1000);
  }
  if (man.empty()) MESSAGE("man(1) is not installed: pages not rendered");
  // The SYSTEMD section documents the unit and the notify protocol.
  std::string page8 = read_file(in.at(in.mandir + "/man8/supervisord.8"));
  CHECK(page8.find(".SH SYSTEMD") != std::string::npos);
  CHECK(page8.find("echo\\-config") != std::string::npos);
}

TEST_CASE("the sample configuration (Debian layout) is installed with an empty conf.d and loads") {
  Installed& in = installed();
  std::string conf = in.at(in.sysconfdir + "/supervisor/supervisord.conf");
  REQUIRE(file_exists(conf));
  REQUIRE(is_dir(in.at(in.sysconfdir + "/supervisor/conf.d")));
  CHECK(dir_entries(in.at(in.sysconfdir + "/supervisor/conf.d")) == 0);
  std::string text = read_file(conf);
  CHECK(text.find("files = " + in.sysconfdir + "/supervisor/conf.d/*.conf") != std::string::npos);

  auto cfg = sup::config::load_config(conf, {});
  REQUIRE_MESSAGE(cfg, cfg.error());
  REQUIRE(cfg->servers.size() == 1);
  CHECK(cfg->servers[0].file == "/var/run/supervisor.sock");
  CHECK(cfg->supervisord.logfile == "/var/log/supervisor/supervisord.log");
  CHECK(cfg->supervisord.pidfile == "/var/run/supervisord.pid");
  CHECK(cfg->supervisord.childlogdir == "/var/log/supervisor");
  CHECK(cfg->ctl.serverurl == "unix:///var/run/supervisor.sock");

  // Programs dropped into conf.d are picked up through [include]: a copy
  // whose include points at the installed conf.d.
  TempDir work("instcfg");
  write_file(in.at(in.sysconfdir + "/supervisor/conf.d/web.conf"), "[program:web]\ncommand=/bin/sleep 1000\n");
  std::string copy = work.file("supervisord.conf");
  write_file(copy, replace_all(text, in.sysconfdir + "/supervisor/conf.d", in.at(in.sysconfdir + "/supervisor/conf.d")));
  auto with_program = sup::config::load_config(copy, {});
  REQUIRE_MESSAGE(with_program, with_program.error());
  REQUIRE(with_program->groups.size() == 1);
  CHECK(with_program->groups[0].name == "web");
  ::unlink(in.at(in.sysconfdir + "/supervisor/conf.d/web.conf").c_str());
}

TEST_CASE("supervisord --echo-config and echo_supervisord_conf print a sample that both parsers accept") {
  Installed& in = installed();
  std::string supervisord = in.at(in.bindir + "/supervisord");
  CommandResult echo = run_command({supervisord, "--echo-config"});
  REQUIRE_MESSAGE(echo.status == 0, describe(echo));
  std::string sample = echo.out;
  for (const char* section : {"[unix_http_server]", "[inet_http_server]", "[supervisord]", "[rpcinterface:supervisor]",
                              "[supervisorctl]", "[program:", "[eventlistener:", "[group:", "[include]"})
    CHECK_MESSAGE(sample.find(section) != std::string::npos, "sample lacks " << section);
  for (const char* option : {"logfile_maxbytes=50MB", "loglevel=info", "minfds=1024", "autorestart=unexpected",
                             "startsecs=1", "startretries=3", "stopwaitsecs=10", "priority=999"})
    CHECK_MESSAGE(sample.find(option) != std::string::npos, "sample lacks " << option);

  // The script prints the same text.
  std::string script = in.at(in.bindir + "/echo_supervisord_conf");
  REQUIRE(is_executable(script));
  CommandResult via_script = run_command({script});
  CHECK_MESSAGE(via_script.status == 0, describe(via_script));
  CHECK(via_script.out == sample);

  TempDir work("echo");
  std::string path = work.file("supervisord.conf");
  write_file(path, sample);
  auto cfg = sup::config::load_config(path, {});
  REQUIRE_MESSAGE(cfg, cfg.error());
  CHECK(cfg->supervisord.logfile == "/tmp/supervisord.log");
  REQUIRE(cfg->servers.size() == 1);
  CHECK(cfg->servers[0].file == "/tmp/supervisor.sock");
  CHECK(cfg->ctl.serverurl == "unix:///tmp/supervisor.sock");

  // The real supervisord's parser, when Debian's supervisor is installed.
  std::string python = find_tool({"/usr/bin/python3"});
  if (python.empty() || !is_dir("/usr/lib/python3/dist-packages/supervisor")) {
    MESSAGE("supervisor (Python) is not installed: sample not checked against its parser");
    return;
  }
  CommandResult py = run_command({python, "-c",
                                  "import sys\n"
                                  "from supervisor.options import ServerOptions\n"
                                  "o = ServerOptions()\n"
                                  "o.realize(args=['-c', sys.argv[1]])\n"
                                  "print(o.logfile, o.server_configs[0]['file'])\n",
                                  path});
  CHECK_MESSAGE(py.status == 0, describe(py));
  CHECK(py.out == "/tmp/supervisord.log /tmp/supervisor.sock\n");
  CommandResult debian = run_command({python, "-c",
                                      "import sys\n"
                                      "from supervisor.options import ServerOptions\n"
                                      "o = ServerOptions()\n"
                                      "o.realize(args=['-c', sys.argv[1]])\n"
                                      "print(o.pidfile, o.childlogdir)\n",
                                      in.at(in.sysconfdir + "/supervisor/supervisord.conf")});
  CHECK_MESSAGE(debian.status == 0, describe(debian));
  CHECK(debian.out == "/var/run/supervisord.pid /var/log/supervisor\n");
}

TEST_CASE("the systemd unit is a valid Type=notify service running the installed daemon") {
  Installed& in = installed();
  std::string unit_path = in.at(in.unitdir + "/supervisord.service");
  REQUIRE(file_exists(unit_path));
  std::string unit = read_file(unit_path);
  CHECK(unit_value(unit, "Type") == "notify");
  CHECK(unit_value(unit, "ExecStart") ==
        in.bindir + "/supervisord -n -c " + in.sysconfdir + "/supervisor/supervisord.conf");
  CHECK(unit_value(unit, "ExecReload") == "/bin/kill -HUP $MAINPID");
  std::string kill_mode = unit_value(unit, "KillMode");
  CHECK((kill_mode == "mixed" || kill_mode == "process"));
  CHECK(std::atoi(unit_value(unit, "TimeoutStopSec").c_str()) >= 60);
  CHECK(unit_value(unit, "Restart") == "on-failure");
  CHECK(unit.find("WatchdogSec=") != std::string::npos);
  CHECK(unit.find("WantedBy=multi-user.target") != std::string::npos);

  std::string analyze = find_tool({"/usr/bin/systemd-analyze", "/bin/systemd-analyze"});
  if (analyze.empty()) {
    MESSAGE("systemd-analyze is not installed: unit checked by its keys only");
    return;
  }
  // systemd-analyze verify wants the programs to exist: point the copy at
  // the DESTDIR tree.
  TempDir work("unit");
  std::string copy = work.file("supervisord.service");
  write_file(copy, replace_all(unit, in.bindir + "/supervisord", in.at(in.bindir + "/supervisord")));
  CommandResult v = run_command({analyze, "verify", "--man=no", copy}, {}, Millis(60000),
                                {"SYSTEMD_LOG_LEVEL=warning"});
  CHECK_MESSAGE(v.status == 0, describe(v));
  CHECK_MESSAGE(v.err.find("supervisord.service") == std::string::npos, "systemd-analyze complains:\n" << v.err);
}

TEST_CASE("the logrotate snippet signals supervisord with SIGUSR2 and is valid") {
  Installed& in = installed();
  std::string path = in.at(in.sysconfdir + "/logrotate.d/supervisord");
  REQUIRE(file_exists(path));
  std::string text = read_file(path);
  CHECK(text.find("/var/log/supervisor/*.log") != std::string::npos);
  CHECK(text.find("kill -USR2 \"$(cat /var/run/supervisord.pid)\"") != std::string::npos);
  std::string logrotate = find_tool({"/usr/sbin/logrotate", "/sbin/logrotate", "/usr/bin/logrotate"});
  if (logrotate.empty()) {
    MESSAGE("logrotate is not installed: snippet checked by its contents only");
    return;
  }
  TempDir work("lr");
  CommandResult r = run_command({logrotate, "-d", "-s", work.file("state"), path});
  CHECK_MESSAGE(r.status == 0, describe(r));
  CHECK_MESSAGE(r.err.find("error") == std::string::npos, r.err);
  CHECK(r.err.find("rotating pattern: /var/log/supervisor/*.log") != std::string::npos);
}

TEST_CASE("shell completions: bash completes commands and the server's program names; zsh file installed") {
  Installed& in = installed();
  std::string bash_file = in.at(in.datadir + "/bash-completion/completions/supervisorctl");
  std::string zsh_file = in.at(in.datadir + "/zsh/vendor-completions/_supervisorctl");
  REQUIRE(file_exists(bash_file));
  REQUIRE(file_exists(zsh_file));
  CHECK(read_file(zsh_file).rfind("#compdef supervisorctl", 0) == 0);
  if (std::string zsh = find_tool({"/usr/bin/zsh", "/bin/zsh"}); !zsh.empty()) {
    CommandResult n = run_command({zsh, "-n", zsh_file});
    CHECK_MESSAGE(n.status == 0, describe(n));
  }

  TempDir dir("compl");
  Daemon d(dir, R"(
[program:web]
command=/bin/sleep 1000
[program:api]
command=/bin/sleep 1000
[group:grp]
programs=api
)");
  d.start();
  // Completes the line as bash would, with the installed supervisorctl first on PATH.
  auto complete = [&](const std::string& line) {
    std::string script = dir.file("complete.sh");
    write_file(script,
               "source \"$1\"\n"
               "COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(); COMP_CWORD=0\n"
               "_supervisorctl supervisorctl\n"
               "printf '%s\\n' \"${COMPREPLY[@]}\"\n");
    const char* path = std::getenv("PATH");
    CommandResult r = run_command({"/bin/bash", script, bash_file, line}, {}, kDeadline,
                                  {"PATH=" + in.at(in.bindir) + ":" + (path ? path : "/usr/bin:/bin")});
    CHECK_MESSAGE(r.status == 0, describe(r));
    std::vector<std::string> words = split_lines(r.out);
    std::sort(words.begin(), words.end());
    return words;
  };
  using Words = std::vector<std::string>;
  CHECK(complete("supervisorctl st") == Words{"start", "status", "stop"});
  CHECK(complete("supervisorctl --serv") == Words{"--serverurl"});
  std::string s = "supervisorctl -s " + d.url() + " ";
  CHECK(complete(s + "start ") == Words{"all", "grp:*", "grp:api", "web", "web:*"});
  CHECK(complete(s + "status w") == Words{"web"});
  CHECK(complete(s + "update ") == Words{"all", "grp", "web"});
  CHECK(complete(s + "signal ").size() > 5);
  CHECK(complete(s + "signal HUP ") == Words{"all", "grp:api", "web"});
}
