// load_config()/load_ctl_config() against supervisord 4.2.5's observed
// behaviour: defaults, expansions, includes, groups, and one test per class
// of bad configuration (each error must be one line naming the file, the
// section, the option and the value).
#include "config/loader.hpp"

#include "config/datatypes.hpp"

#include <doctest/doctest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

const std::map<std::string, std::string> kEnv = {{"HOME", "/root"}, {"FOO", "bar"}, {"PATH", "/usr/bin:/bin"}};

std::string base(const TempDir& dir) {
  return "[supervisord]\nlogfile=" + (dir / "supervisord.log") + "\npidfile=" + (dir / "supervisord.pid") + "\n";
}

Config load_ok(const TempDir& dir, const std::string& body, const std::string& name = "supervisord.conf") {
  std::string path = dir.write(name, base(dir) + body);
  auto r = load_config(path, kEnv);
  INFO((r.ok() ? "" : r.error()));
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::string load_error(const TempDir& dir, const std::string& body, const std::string& name = "supervisord.conf") {
  std::string path = dir.write(name, base(dir) + body);
  auto r = load_config(path, kEnv);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find('\n') == std::string::npos);
  return r.error();
}

// An error must carry everything a user needs to find the mistake.
void check_mentions(const std::string& error, std::initializer_list<std::string> parts) {
  for (const auto& p : parts) {
    INFO("error: " << error);
    INFO("expected to mention: " << p);
    CHECK(error.find(p) != std::string::npos);
  }
}

const GroupConfig& find_group(const Config& c, const std::string& name) {
  for (const auto& g : c.groups) {
    if (g.name == name) return g;
  }
  FAIL("no group " << name);
  throw std::logic_error("unreachable");
}

std::vector<std::string> group_names(const Config& c) {
  std::vector<std::string> names;
  for (const auto& g : c.groups) names.push_back(g.name);
  return names;
}

std::vector<std::string> process_names(const GroupConfig& g) {
  std::vector<std::string> names;
  for (const auto& p : g.processes) names.push_back(p.name);
  return names;
}

std::string node_name() {
  struct utsname u {};
  REQUIRE(::uname(&u) == 0);
  return u.nodename;
}

}  // namespace

TEST_CASE("a minimal program gets supervisord's defaults") {
  TempDir dir;
  Config c = load_ok(dir, "[program:web]\ncommand=/bin/cat\n");
  CHECK(c.path == dir / "supervisord.conf");
  REQUIRE(c.groups.size() == 1);
  const GroupConfig& g = c.groups[0];
  CHECK(g.name == "web");
  CHECK(g.priority == 999);
  CHECK_FALSE(g.heterogeneous);
  CHECK(g.kind == GroupKind::Program);
  REQUIRE(g.processes.size() == 1);
  const ProcessConfig& p = g.processes[0];
  CHECK(p.name == "web");
  CHECK(p.group == "web");
  CHECK(p.program == "web");
  CHECK(p.command == "/bin/cat");
  CHECK(p.argv == std::vector<std::string>{"/bin/cat"});
  CHECK(p.priority == 999);
  CHECK(p.autostart);
  CHECK(p.autorestart == AutoRestart::Unexpected);
  CHECK(p.startsecs == 1);
  CHECK(p.startretries == 3);
  CHECK(p.exitcodes == std::vector<int>{0});
  CHECK(p.stopsignal == SIGTERM);
  CHECK(p.stopwaitsecs == 10);
  CHECK_FALSE(p.stopasgroup);
  CHECK_FALSE(p.killasgroup);
  CHECK_FALSE(p.uid.has_value());
  CHECK(p.user.empty());
  CHECK_FALSE(p.redirect_stderr);
  CHECK(p.stdout_log.kind == LogTarget::Kind::Auto);
  CHECK(p.stdout_log.maxbytes == 50 * 1024 * 1024);
  CHECK(p.stdout_log.backups == 10);
  CHECK(p.stdout_log.capture_maxbytes == 0);
  CHECK_FALSE(p.stdout_log.events_enabled);
  CHECK_FALSE(p.stdout_log.syslog);
  CHECK(p.stderr_log.kind == LogTarget::Kind::Auto);
  CHECK(p.environment.empty());
  CHECK(p.directory.empty());
  CHECK_FALSE(p.umask.has_value());
  CHECK(p.serverurl == "AUTO");
  CHECK(p.extra->empty());

  const SupervisordConfig& s = c.supervisord;
  CHECK(s.logfile == dir / "supervisord.log");
  CHECK(s.pidfile == dir / "supervisord.pid");
  CHECK(s.logfile_maxbytes == 50 * 1024 * 1024);
  CHECK(s.logfile_backups == 10);
  CHECK(s.loglevel == 20);
  CHECK(s.umask == 022);
  CHECK_FALSE(s.nodaemon);
  CHECK_FALSE(s.silent);
  CHECK(s.minfds == 1024);
  CHECK(s.minprocs == 200);
  CHECK_FALSE(s.nocleanup);
  CHECK_FALSE(s.strip_ansi);
  CHECK(s.identifier == "supervisor");
  CHECK(s.user.empty());
  CHECK(s.directory.empty());
  CHECK(c.servers.empty());
  CHECK(c.warnings.empty());
}

TEST_CASE("every [program] option is read") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:web]\n"
                     "command=/usr/bin/python3 -m http.server 'a b'\n"
                     "priority=5\nautostart=false\nautorestart=true\nstartsecs=0\nstartretries=7\n"
                     "exitcodes=0,2\nstopsignal=INT\nstopwaitsecs=3\nstopasgroup=true\nuser=nobody\n"
                     "stdout_logfile=" + (dir / "out.log") + "\nstdout_logfile_maxbytes=1KB\n"
                     "stdout_logfile_backups=2\nstdout_capture_maxbytes=1MB\nstdout_events_enabled=true\n"
                     "stdout_syslog=yes\nstderr_logfile=NONE\nstderr_logfile_maxbytes=0\n"
                     "environment=A=1,B=\"x,y\"\ndirectory=/tmp\numask=002\nserverurl=http://127.0.0.1:9001\n");
  const ProcessConfig& p = c.groups.at(0).processes.at(0);
  CHECK(p.argv == std::vector<std::string>{"/usr/bin/python3", "-m", "http.server", "a b"});
  CHECK(c.groups[0].priority == 5);
  CHECK(p.priority == 5);
  CHECK_FALSE(p.autostart);
  CHECK(p.autorestart == AutoRestart::True);
  CHECK(p.startsecs == 0);
  CHECK(p.startretries == 7);
  CHECK(p.exitcodes == std::vector<int>{0, 2});
  CHECK(p.stopsignal == SIGINT);
  CHECK(p.stopwaitsecs == 3);
  CHECK(p.stopasgroup);
  CHECK(p.killasgroup);  // implied by stopasgroup
  CHECK(p.user == "nobody");
  REQUIRE(p.uid.has_value());
  CHECK(*p.uid != 0);
  CHECK(p.stdout_log.kind == LogTarget::Kind::File);
  CHECK(p.stdout_log.path == dir / "out.log");
  CHECK(p.stdout_log.maxbytes == 1024);
  CHECK(p.stdout_log.backups == 2);
  CHECK(p.stdout_log.capture_maxbytes == 1024 * 1024);
  CHECK(p.stdout_log.events_enabled);
  CHECK(p.stdout_log.syslog);
  CHECK(p.stderr_log.kind == LogTarget::Kind::None);
  CHECK(p.stderr_log.maxbytes == 0);
  CHECK(p.environment == EnvList{{"A", "1"}, {"B", "x,y"}});
  CHECK(p.directory == "/tmp");
  CHECK(p.umask == mode_t{002});
  CHECK(p.serverurl == "http://127.0.0.1:9001");
}

TEST_CASE("[supervisord] options are read") {
  TempDir dir;
  std::filesystem::create_directories(dir / "logs");
  std::string path = dir.write("s.conf",
                               "[supervisord]\nlogfile=%(here)s/logs/main.log\npidfile=%(here)s/sd.pid\n"
                               "logfile_maxbytes=1MB\nlogfile_backups=0\nloglevel=debug\numask=077\nnodaemon=true\n"
                               "silent=true\nminfds=2048\nminprocs=10\nnocleanup=true\nchildlogdir=%(here)s/logs\n"
                               "user=root\ndirectory=/tmp\nstrip_ansi=true\nidentifier=box1\n"
                               "environment=GREETING=\"hello world\",HOME2=%(ENV_HOME)s\n");
  auto r = load_config(path, kEnv);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  const SupervisordConfig& s = r->supervisord;
  CHECK(s.logfile == dir / "logs/main.log");
  CHECK(s.pidfile == dir / "sd.pid");
  CHECK(s.logfile_maxbytes == 1024 * 1024);
  CHECK(s.logfile_backups == 0);
  CHECK(s.loglevel == 10);
  CHECK(s.umask == 077);
  CHECK(s.nodaemon);
  CHECK(s.silent);
  CHECK(s.minfds == 2048);
  CHECK(s.minprocs == 10);
  CHECK(s.nocleanup);
  CHECK(s.childlogdir == dir / "logs");
  CHECK(s.user == "root");
  CHECK(s.uid == uid_t{0});
  CHECK(s.gid == gid_t{0});
  CHECK(s.directory == "/tmp");
  CHECK(s.strip_ansi);
  CHECK(s.identifier == "box1");
  CHECK(s.environment == EnvList{{"GREETING", "hello world"}, {"HOME2", "/root"}});
}

TEST_CASE("logfile=syslog for the daemon stays literal") {
  TempDir dir;
  std::string path = dir.write("s.conf", "[supervisord]\nlogfile=syslog\npidfile=" + (dir / "p.pid") + "\n");
  auto r = load_config(path, kEnv);
  REQUIRE(r.ok());
  CHECK(r->supervisord.logfile == "syslog");
}

TEST_CASE("expansions available in [program] sections") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:web]\n"
                     "command=/bin/echo %(here)s %(program_name)s %(group_name)s %(host_node_name)s %(ENV_FOO)s "
                     "%(process_num)d %(numprocs)d %(ENV_OWN)s 100%%\n"
                     "environment=OWN=\"from-env %(ENV_FOO)s\"\n"
                     "directory=%(here)s\n"
                     "stdout_logfile=%(here)s/%(program_name)s-%(process_num)s.log\n");
  const ProcessConfig& p = c.groups.at(0).processes.at(0);
  CHECK(p.command == "/bin/echo " + dir.path() + " web web " + node_name() + " bar 0 1 from-env bar 100%");
  CHECK(p.directory == dir.path());
  CHECK(p.stdout_log.path == dir / "web-0.log");
}

TEST_CASE("[supervisord] environment= keys become ENV_ names for later sections and are inherited") {
  TempDir dir;
  std::string path = dir.write("s.conf",
                               "[supervisord]\nlogfile=" + (dir / "l.log") + "\npidfile=" + (dir / "p.pid") +
                                   "\nenvironment=APP_ROOT=/srv/app,SHARED=1\n"
                                   "[program:web]\ncommand=%(ENV_APP_ROOT)s/bin/web\nenvironment=SHARED=2,OWN=3\n");
  auto r = load_config(path, kEnv);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  const ProcessConfig& p = r->groups.at(0).processes.at(0);
  CHECK(p.command == "/srv/app/bin/web");
  CHECK(p.environment == EnvList{{"APP_ROOT", "/srv/app"}, {"SHARED", "2"}, {"OWN", "3"}});
}

TEST_CASE("options read before the process loop cannot use process_num") {
  TempDir dir;
  std::string e = load_error(dir, "[program:web]\ncommand=/bin/cat\npriority=%(process_num)d\n");
  check_mentions(e, {"'priority'", "program:web", "process_num", "Available names"});
}

TEST_CASE("numprocs expands into numbered processes") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:worker]\ncommand=/bin/worker --id %(process_num)d\n"
                     "process_name=%(program_name)s_%(process_num)02d\nnumprocs=3\nnumprocs_start=5\n");
  const GroupConfig& g = find_group(c, "worker");
  CHECK(process_names(g) == std::vector<std::string>{"worker_05", "worker_06", "worker_07"});
  CHECK(g.processes[1].command == "/bin/worker --id 6");
  CHECK(g.processes[2].argv == std::vector<std::string>{"/bin/worker", "--id", "7"});
  for (const auto& p : g.processes) CHECK(p.group == "worker");
}

TEST_CASE("numprocs=0 gives an empty group") {
  TempDir dir;
  Config c = load_ok(dir, "[program:none]\ncommand=/bin/cat\nnumprocs=0\n");
  CHECK(find_group(c, "none").processes.empty());
}

TEST_CASE("[group:x] gathers programs, which stop being groups of their own") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[group:site]\nprograms=web,api\npriority=10\n"
                     "[program:web]\ncommand=/bin/web %(group_name)s\npriority=2\n"
                     "[program:api]\ncommand=/bin/api\nnumprocs=2\nprocess_name=api%(process_num)d\npriority=1\n"
                     "[program:alone]\ncommand=/bin/alone\n");
  CHECK(group_names(c) == std::vector<std::string>{"site", "alone"});
  const GroupConfig& g = find_group(c, "site");
  CHECK(g.heterogeneous);
  CHECK(g.priority == 10);
  // Programs in programs= order, each program's processes by priority.
  CHECK(process_names(g) == std::vector<std::string>{"web", "api0", "api1"});
  CHECK(g.processes[0].command == "/bin/web site");
  CHECK(g.processes[0].group == "site");
  CHECK(g.processes[0].program == "web");
}

TEST_CASE("groups are sorted by priority, then name") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:zeta]\ncommand=/bin/z\npriority=1\n"
                     "[program:beta]\ncommand=/bin/b\n"
                     "[program:alpha]\ncommand=/bin/a\n"
                     "[program:mid]\ncommand=/bin/m\npriority=500\n"
                     "[eventlistener:listener]\ncommand=/bin/l\nevents=TICK_5\n");
  CHECK(group_names(c) == std::vector<std::string>{"listener", "zeta", "mid", "alpha", "beta"});
}

TEST_CASE("processes inside a group are ordered by priority") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[group:g]\nprograms=c,a,b\n"
                     "[program:a]\ncommand=/bin/a\npriority=300\n"
                     "[program:b]\ncommand=/bin/b\npriority=100\n"
                     "[program:c]\ncommand=/bin/c\npriority=300\n");
  // Each member's list is sorted on its own; members keep programs= order.
  CHECK(process_names(find_group(c, "g")) == std::vector<std::string>{"c", "a", "b"});
}

TEST_CASE("continuation lines, inline comments and long lines reach the model intact") {
  TempDir dir;
  std::string long_arg(400, 'a');
  Config c = load_ok(dir,
                     "[program:multi]\n"
                     "command=/bin/echo ; a comment\n"
                     "    first\n"
                     "    second#not-a-comment\n"
                     "environment=\n"
                     "    A=1,\n"
                     "    B=\"two words\",\n"
                     "    C=3\n"
                     "[program:long]\n"
                     "command=/bin/echo " + long_arg + " end\n");
  const ProcessConfig& multi = find_group(c, "multi").processes.at(0);
  CHECK(multi.command == "/bin/echo\nfirst\nsecond#not-a-comment");
  CHECK(multi.argv == std::vector<std::string>{"/bin/echo", "first", "second#not-a-comment"});
  CHECK(multi.environment == EnvList{{"A", "1"}, {"B", "two words"}, {"C", "3"}});
  const ProcessConfig& lp = find_group(c, "long").processes.at(0);
  CHECK(lp.argv == std::vector<std::string>{"/bin/echo", long_arg, "end"});
}

TEST_CASE("[DEFAULT] values apply to every program") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[DEFAULT]\nstartsecs=0\nautorestart=false\n"
                     "[program:a]\ncommand=/bin/a\n"
                     "[program:b]\ncommand=/bin/b\nstartsecs=4\n");
  CHECK(find_group(c, "a").processes[0].startsecs == 0);
  CHECK(find_group(c, "a").processes[0].autorestart == AutoRestart::False);
  CHECK(find_group(c, "b").processes[0].startsecs == 4);
}

TEST_CASE("unknown keys and sections are accepted; unknown program keys are kept in extra") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:web]\ncommand=/bin/web\nhealthcheck_url=http://x/%(nothing)s\n"
                     "[something_else]\nfoo=bar\n[ctlplugin:x]\nsupervisor.ctl_factory=pkg:f\n");
  const ProcessConfig& p = c.groups.at(0).processes.at(0);
  CHECK(p.extra->at("healthcheck_url") == "http://x/%(nothing)s");
  CHECK(c.groups.size() == 1);
}

TEST_CASE("redirect_stderr drops the stderr log and warns about a named stderr_logfile") {
  TempDir dir;
  Config c = load_ok(dir, "[program:web]\ncommand=/bin/web\nredirect_stderr=true\nstderr_logfile=" +
                              (dir / "err.log") + "\n");
  const ProcessConfig& p = c.groups.at(0).processes.at(0);
  CHECK(p.redirect_stderr);
  CHECK(p.stderr_log.kind == LogTarget::Kind::None);
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("redirect_stderr=true") != std::string::npos);
}

TEST_CASE("stdout_logfile=syslog is the deprecated spelling of stdout_syslog=true") {
  TempDir dir;
  Config c = load_ok(dir, "[program:web]\ncommand=/bin/web\nstdout_logfile=syslog\n");
  const ProcessConfig& p = c.groups.at(0).processes.at(0);
  CHECK(p.stdout_log.kind == LogTarget::Kind::None);
  CHECK(p.stdout_log.syslog);
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("deprecated") != std::string::npos);
}

TEST_CASE("serverurl AUTO in any case means the daemon's own server") {
  TempDir dir;
  Config c = load_ok(dir, "[program:a]\ncommand=/bin/a\nserverurl=auto\n");
  CHECK(c.groups.at(0).processes.at(0).serverurl == "AUTO");
}

TEST_CASE("[include] files: globs relative to the main file, sorted, own %(here)s, nested not followed") {
  TempDir dir;
  dir.write("conf.d/b.conf", "[program:b]\ncommand=/bin/b\ndirectory=%(here)s\n");
  dir.write("conf.d/a.conf",
            "[include]\nfiles=nested/*.conf\n[program:a]\ncommand=/bin/a %(here)s\n[program:dup]\nautostart=false\n");
  dir.write("conf.d/nested/n.conf", "[program:nested]\ncommand=/bin/n\n");
  dir.write("conf.d/skip.ini", "[program:skip]\ncommand=/bin/skip\n");
  dir.write("extra/c.conf", "[program:c]\ncommand=/bin/c\n");
  Config c = load_ok(dir,
                     "[include]\nfiles = conf.d/*.conf  " + (dir / "extra") + "/*.conf nomatch/*.conf\n"
                     "[program:dup]\ncommand=/bin/dup %(here)s\n");
  CHECK(c.included_files ==
        std::vector<std::string>{dir / "conf.d/a.conf", dir / "conf.d/b.conf", dir / "extra/c.conf"});
  CHECK(group_names(c) == std::vector<std::string>{"a", "b", "c", "dup"});
  CHECK(find_group(c, "a").processes[0].command == "/bin/a " + (dir / "conf.d"));
  CHECK(find_group(c, "b").processes[0].directory == dir / "conf.d");
  // The main file's value keeps the main file's directory; the included
  // duplicate section merged into it.
  const ProcessConfig& dup = find_group(c, "dup").processes[0];
  CHECK(dup.command == "/bin/dup " + dir.path());
  CHECK_FALSE(dup.autostart);
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0] == "No file matches via include \"" + (dir / "nomatch/*.conf") + "\"");
}

TEST_CASE("[include] with a literal missing file only warns") {
  TempDir dir;
  Config c = load_ok(dir, "[include]\nfiles=missing.conf\n[program:a]\ncommand=/bin/a\n");
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find(dir / "missing.conf") != std::string::npos);
  CHECK(c.groups.size() == 1);
}

TEST_CASE("[include] of an unreadable file is an error naming it") {
  TempDir dir;
  std::filesystem::create_symlink(dir / "target-does-not-exist", dir / "dangling.conf");
  std::string e = load_error(dir, "[include]\nfiles=*.conf\n", "main.ini");
  check_mentions(e, {dir / "dangling.conf", "include"});
}

TEST_CASE("[include] with a matched directory skips it with a warning") {
  TempDir dir;
  std::filesystem::create_directories(dir / "inc/sub.conf");
  dir.write("inc/real.conf", "[program:real]\ncommand=/bin/real\n");
  Config c = load_ok(dir, "[include]\nfiles=inc/*.conf\n");
  CHECK(group_names(c) == std::vector<std::string>{"real"});
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find(dir / "inc/sub.conf") != std::string::npos);
}

TEST_CASE("[include] without files= is an error") {
  TempDir dir;
  std::string e = load_error(dir, "[include]\nfoo=bar\n");
  check_mentions(e, {"'files'", "'include'", dir / "supervisord.conf"});
}

TEST_CASE("[include] files= may use host_node_name and ENV_") {
  TempDir dir;
  dir.write("conf-" + node_name() + "/x.conf", "[program:x]\ncommand=/bin/x\n");
  dir.write("bar/y.conf", "[program:y]\ncommand=/bin/y\n");
  Config c = load_ok(dir, "[include]\nfiles=conf-%(host_node_name)s/*.conf %(ENV_FOO)s/*.conf\n");
  CHECK(group_names(c) == std::vector<std::string>{"x", "y"});
}

TEST_CASE("an error in an included file names that file") {
  TempDir dir;
  std::string inc = dir.write("conf.d/web.conf", "[program:web]\ncommand=/bin/web\nautorestart=sometimes\n");
  std::string e = load_error(dir, "[include]\nfiles=conf.d/*.conf\n");
  CHECK(e == "invalid value for 'autorestart' in section 'program:web' (file: '" + inc +
                 "'): 'sometimes': not a valid autorestart value (expected true, false or unexpected)");
}

TEST_CASE("http servers and their options") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[unix_http_server]\nfile=%(here)s/run/../supervisor.sock\nchmod=0770\nchown=root:root\n"
                     "username=admin\npassword={SHA}abc\n"
                     "[inet_http_server]\nport=*:9001\n"
                     "[inet_http_server_second]\nport=127.0.0.1:9002\nusername=u\npassword=%(ENV_FOO)s\n");
  REQUIRE(c.servers.size() == 3);
  const HttpServerConfig& u = c.servers[0];
  CHECK(u.kind == HttpServerConfig::Kind::Unix);
  CHECK(u.section == "unix_http_server");
  CHECK(u.file == dir / "supervisor.sock");
  CHECK(u.chmod == 0770);
  CHECK(u.chown_uid == uid_t{0});
  CHECK(u.chown_gid == gid_t{0});
  CHECK(u.username == "admin");
  CHECK(u.password == "{SHA}abc");
  CHECK(c.servers[1].kind == HttpServerConfig::Kind::Inet);
  CHECK(c.servers[1].host.empty());
  CHECK(c.servers[1].port == 9001);
  CHECK(c.servers[2].section == "inet_http_server_second");
  CHECK(c.servers[2].host == "127.0.0.1");
  CHECK(c.servers[2].password == "bar");
}

TEST_CASE("http server errors") {
  TempDir dir;
  check_mentions(load_error(dir, "[inet_http_server]\nusername=a\npassword=b\n"), {"'port'", "inet_http_server"});
  check_mentions(load_error(dir, "[unix_http_server]\nchmod=0700\n"), {"'file'", "unix_http_server"});
  check_mentions(load_error(dir, "[inet_http_server]\nport=abc\n"), {"'port'", "'abc'"});
  check_mentions(load_error(dir, "[unix_http_server]\nfile=/tmp/s.sock\nchmod=9\n"), {"'chmod'", "'9'"});
  check_mentions(load_error(dir, "[unix_http_server]\nfile=/tmp/s.sock\nchown=nosuchuserxyz\n"),
                 {"'chown'", "nosuchuserxyz"});
  check_mentions(load_error(dir, "[unix_http_server]\nfile=/tmp/s.sock\nusername=a\n"),
                 {"'password'", "unix_http_server", "both"});
}

TEST_CASE("[rpcinterface:x] sections are accepted; foreign factories warn, a missing factory is an error") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[rpcinterface:supervisor]\n"
                     "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
                     "[rpcinterface:twiddler]\nsupervisor.rpcinterface_factory = supervisor_twiddler.rpc:make\n"
                     "retries=3\n");
  REQUIRE(c.rpcinterfaces.size() == 2);
  CHECK(c.rpcinterfaces[0].name == "supervisor");
  CHECK(c.rpcinterfaces[1].extras.at("retries") == "3");
  REQUIRE(c.warnings.size() == 1);
  CHECK(c.warnings[0].find("twiddler") != std::string::npos);
  check_mentions(load_error(dir, "[rpcinterface:supervisor]\nfoo=bar\n"),
                 {"supervisor.rpcinterface_factory", "rpcinterface:supervisor"});
}

TEST_CASE("[eventlistener:x] is accepted with its own options") {
  TempDir dir;
  Config c = load_ok(dir, "[eventlistener:mon]\ncommand=/bin/mon\nevents=process_state,TICK_60\nbuffer_size=50\n");
  const GroupConfig& g = find_group(c, "mon");
  CHECK(g.kind == GroupKind::EventListener);
  CHECK(g.priority == -1);
  CHECK(g.buffer_size == 50);
  CHECK(g.events == std::vector<std::string>{"PROCESS_STATE", "TICK_60"});
  CHECK(g.result_handler == "supervisor.dispatchers:default_handler");
  check_mentions(load_error(dir, "[eventlistener:mon]\ncommand=/bin/mon\nevents=NOPE\n"), {"'events'", "NOPE"});
  check_mentions(load_error(dir, "[eventlistener:mon]\ncommand=/bin/mon\n"), {"'events'", "eventlistener:mon"});
  check_mentions(load_error(dir, "[eventlistener:mon]\ncommand=/bin/mon\nevents=TICK_5\nredirect_stderr=true\n"),
                 {"'redirect_stderr'", "eventlistener:mon"});
  check_mentions(load_error(dir, "[eventlistener:mon]\ncommand=/bin/mon\nevents=TICK_5\nbuffer_size=0\n"),
                 {"'buffer_size'", "'0'"});
}

TEST_CASE("[fcgi-program:x] is parsed like a program with its socket in extra") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[fcgi-program:php]\ncommand=/usr/bin/php-cgi\nsocket=unix://%(here)s/%(program_name)s.sock\n"
                     "socket_mode=0660\nsocket_backlog=128\nnumprocs=2\nprocess_name=php%(process_num)d\n"
                     "[fcgi-program:tcp]\ncommand=/bin/t\nsocket=tcp://LocalHost:9000\n");
  const GroupConfig& g = find_group(c, "php");
  CHECK(g.kind == GroupKind::FcgiProgram);
  REQUIRE(g.processes.size() == 2);
  CHECK(g.processes[1].extra->at("socket") == "unix://" + (dir / "php.sock"));
  CHECK(g.processes[1].extra->at("socket_mode") == "0660");
  CHECK(g.processes[1].extra->at("socket_backlog") == "128");
  CHECK(find_group(c, "tcp").processes[0].extra->at("socket") == "tcp://localhost:9000");
  check_mentions(load_error(dir, "[fcgi-program:php]\ncommand=/bin/php\n"), {"'socket'", "fcgi-program:php"});
  check_mentions(load_error(dir, "[fcgi-program:php]\ncommand=/bin/php\nsocket=tcp://x\n"), {"'socket'", "tcp://x"});
  check_mentions(load_error(dir, "[fcgi-program:php]\ncommand=/bin/php\nsocket=tcp://x:1\nsocket_mode=0600\n"),
                 {"'socket'", "unix socket"});
}

// ---- bad configuration: one test per class --------------------------------

TEST_CASE("bad boolean") {
  TempDir dir;
  std::string e = load_error(dir, "[program:web]\ncommand=/bin/web\nautostart=maybe\n");
  CHECK(e == "invalid value for 'autostart' in section 'program:web' (file: '" + (dir / "supervisord.conf") +
                 "'): 'maybe': not a valid boolean value (expected true/false, yes/no, on/off or 1/0)");
  check_mentions(load_error(dir, "[supervisord]\nnodaemon=perhaps\n"), {"'nodaemon'", "'supervisord'", "'perhaps'"});
}

TEST_CASE("bad number") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstartsecs=abc\n"),
                 {"'startsecs'", "'program:web'", "'abc'", dir / "supervisord.conf"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nnumprocs=two\n"), {"'numprocs'", "'two'"});
  check_mentions(load_error(dir, "[supervisord]\nminfds=lots\n"), {"'minfds'", "'lots'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\npriority=99999999999\n"),
                 {"'priority'", "out of range"});
}

TEST_CASE("bad byte size") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstdout_logfile_maxbytes=5XB\n"),
                 {"'stdout_logfile_maxbytes'", "'program:web'", "'5XB'"});
  check_mentions(load_error(dir, "[supervisord]\nlogfile_maxbytes=1.5MB\n"), {"'logfile_maxbytes'", "'1.5MB'"});
}

TEST_CASE("bad signal") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstopsignal=FOO\n"),
                 {"'stopsignal'", "'program:web'", "'FOO'", "signal"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstopsignal=99\n"), {"'stopsignal'", "'99'"});
}

TEST_CASE("bad octal") {
  TempDir dir;
  check_mentions(load_error(dir, "[supervisord]\numask=089\n"), {"'umask'", "'supervisord'", "'089'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\numask=8\n"), {"'umask'", "'program:web'", "'8'"});
}

TEST_CASE("unknown user") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nuser=nosuchuserxyz\n"),
                 {"'user'", "'program:web'", "nosuchuserxyz", dir / "supervisord.conf"});
  check_mentions(load_error(dir, "[supervisord]\nuser=nosuchuserxyz\n"), {"'user'", "'supervisord'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nuser=4000000\n"), {"'user'", "4000000"});
}

TEST_CASE("missing command") {
  TempDir dir;
  std::string e = load_error(dir, "[program:web]\nautostart=true\n");
  CHECK(e == "missing value for 'command' in section 'program:web' (file: '" + (dir / "supervisord.conf") +
                 "'): a program needs a command");
}

TEST_CASE("unsplittable command") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/sh -c 'unclosed\n"),
                 {"'command'", "'program:web'", "No closing quotation"});
}

TEST_CASE("numprocs > 1 without %(process_num) in process_name") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nnumprocs=2\n"),
                 {"'process_name'", "'program:web'", "%(program_name)s", "%(process_num)", "numprocs"});
}

TEST_CASE("group naming an unknown program") {
  TempDir dir;
  std::string e = load_error(dir, "[group:g]\nprograms=web,nope\n[program:web]\ncommand=/bin/web\n");
  check_mentions(e, {"'programs'", "'group:g'", "'web,nope'", "'nope'", dir / "supervisord.conf"});
}

TEST_CASE("unknown %(name)s key") {
  TempDir dir;
  std::string e = load_error(dir, "[program:web]\ncommand=/bin/true %(foo)s\n");
  check_mentions(e, {"'command'", "'program:web'", "'/bin/true %(foo)s'", "('foo')", "Available names:",
                     "ENV_FOO", "group_name", "here", "host_node_name", "numprocs", "process_num", "program_name"});
  check_mentions(load_error(dir, "[supervisord]\nidentifier=%(program_name)s\n"),
                 {"'identifier'", "('program_name')"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web 100%\n"), {"'command'", "badly formatted"});
}

TEST_CASE("a duplicate section merges (strict=False), later keys win") {
  TempDir dir;
  Config c = load_ok(dir,
                     "[program:web]\ncommand=/bin/first\nstartsecs=5\n"
                     "[program:other]\ncommand=/bin/other\n"
                     "[program:web]\ncommand=/bin/second\n");
  CHECK(group_names(c) == std::vector<std::string>{"other", "web"});
  const ProcessConfig& p = find_group(c, "web").processes.at(0);
  CHECK(p.command == "/bin/second");
  CHECK(p.startsecs == 5);
}

TEST_CASE("key without value") {
  TempDir dir;
  std::string e = load_error(dir, "[program:web]\ncommand=/bin/web\nnovalue\n");
  check_mentions(e, {dir / "supervisord.conf", "line 6", "'novalue'", "program:web"});
}

TEST_CASE("invalid process name characters") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:we b]\ncommand=/bin/web\n"), {"program:we b", "' '"});
  check_mentions(load_error(dir, "[group:a/b]\nprograms=\n"), {"group:a/b", "'/'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nprocess_name=web:1\n"),
                 {"'process_name'", "'web:1'", "':'"});
}

TEST_CASE("other bad values: autorestart, exitcodes, environment, loglevel, log directory, stopasgroup") {
  TempDir dir;
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nexitcodes=0,256\n"), {"'exitcodes'", "'0,256'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nenvironment=A=1,B\n"),
                 {"'environment'", "'A=1,B'", "Unexpected end of key/value pairs"});
  check_mentions(load_error(dir, "[supervisord]\nloglevel=loud\n"), {"'loglevel'", "'loud'"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstdout_logfile=/nonexistent-dir/x.log\n"),
                 {"'stdout_logfile'", "/nonexistent-dir/x.log", "directory"});
  check_mentions(load_error(dir, "[program:web]\ncommand=/bin/web\nstopasgroup=true\nkillasgroup=false\n"),
                 {"'killasgroup'", "stopasgroup"});
  check_mentions(load_error(dir, "[supervisord]\nchildlogdir=/nonexistent-dir\n"), {"'childlogdir'"});
}

TEST_CASE("a file without [supervisord] or a missing file is an error") {
  TempDir dir;
  std::string path = dir.write("nosup.conf", "[program:web]\ncommand=/bin/web\n");
  auto r = load_config(path, kEnv);
  REQUIRE_FALSE(r.ok());
  check_mentions(r.error(), {path, "[supervisord]"});
  auto missing = load_config(dir / "absent.conf", kEnv);
  REQUIRE_FALSE(missing.ok());
  check_mentions(missing.error(), {dir / "absent.conf"});
}

TEST_CASE("supervisorctl configuration") {
  TempDir dir;
  std::string path = dir.write("ctl.conf",
                               "[supervisorctl]\nserverurl=unix://%(here)s/run/../sup.sock\nusername=u\n"
                               "password=%(ENV_FOO)s\nprompt=box\nhistory_file=~/.sc_history\n"
                               "[include]\nfiles=never-read/*.conf\n");
  auto r = load_ctl_config(path, kEnv);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->serverurl == "unix://" + (dir / "sup.sock"));
  CHECK(r->username == "u");
  CHECK(r->password == "bar");
  CHECK(r->prompt == "box");
  CHECK(r->history_file == expand_user("~/.sc_history"));

  std::string bare = dir.write("bare.conf", "[supervisorctl]\n");
  auto defaults = load_ctl_config(bare, kEnv);
  REQUIRE(defaults.ok());
  CHECK(defaults->serverurl == "http://localhost:9001");
  CHECK(defaults->prompt == "supervisor");
  CHECK(defaults->username.empty());
  CHECK(defaults->history_file.empty());

  std::string nosection = dir.write("nosection.conf", "[supervisord]\n");
  auto missing = load_ctl_config(nosection, kEnv);
  REQUIRE_FALSE(missing.ok());
  check_mentions(missing.error(), {"[supervisorctl]", nosection});
  auto absent = load_ctl_config(dir / "absent.conf", kEnv);
  REQUIRE_FALSE(absent.ok());
  check_mentions(absent.error(), {dir / "absent.conf"});
}

TEST_CASE("the daemon's config also carries its [supervisorctl] section") {
  TempDir dir;
  Config c = load_ok(dir, "[supervisorctl]\nserverurl=http://127.0.0.1:9001\n");
  CHECK(c.ctl.serverurl == "http://127.0.0.1:9001");
}

TEST_CASE("default search paths follow supervisord's list") {
  CHECK(default_config_search_paths("/usr/bin") ==
        std::vector<std::string>{"/usr/etc/supervisord.conf", "/usr/supervisord.conf", "supervisord.conf",
                                 "etc/supervisord.conf", "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf"});
  CHECK(default_config_search_paths("")[0] == "etc/supervisord.conf");
  CHECK(default_config_search_paths("")[1] == "supervisord.conf");

  TempDir dir;
  CHECK_FALSE(find_config_file({dir / "a.conf", dir / "b.conf"}).has_value());
  dir.write("b.conf", "");
  CHECK(find_config_file({dir / "a.conf", dir / "b.conf"}) == dir / "b.conf");
}

TEST_CASE("current_environment reflects the process environment") {
  ::setenv("SUP_CONFIG_TEST_VAR", "value=with=equals", 1);
  auto env = current_environment();
  CHECK(env.at("SUP_CONFIG_TEST_VAR") == "value=with=equals");
}

// Found by tests/fuzz (config_loader): the bad value spans continuation lines.
TEST_CASE("an error quoting a multi-line value stays on one line") {
  TempDir dir;
  std::string error = load_error(dir, "[program:multi]\ncommand=/bin/cat\nenvironment=\n    A=1,\n    B\n");
  check_mentions(error, {"'environment'", "'program:multi'", "\\nA=1,\\nB"});
}

TEST_CASE("socket= takes at most 64 addresses, a child's fds 3..66") {
  TempDir dir;
  auto addresses = [](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::string("tcp://127.0.0.1:") + std::to_string(20000 + i);
    return s;
  };
  Config ok = load_ok(dir, "[program:web]\ncommand=/bin/web\nsocket=" + addresses(64) + "\n");
  CHECK(find_group(ok, "web").processes[0].sockets.size() == 64);
  std::string err = load_error(dir, "[program:web]\ncommand=/bin/web\nsocket=" + addresses(65) + "\n");
  check_mentions(err, {"'socket'", "program:web", "at most 64", "65 given"});
}
