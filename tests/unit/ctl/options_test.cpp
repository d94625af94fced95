// Command line and [supervisorctl] config handling.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "ctl/ctl_options.hpp"

using namespace sup::ctl;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/unit_ctl_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
};

Setup parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  // A progname whose search paths do not exist, so no config is found by accident.
  return setup_from_command_line("/nonexistent/bin/supervisorctl", args, env);
}

}  // namespace

TEST_CASE("options stop at the first command word") {
  TempDir d;
  std::string conf = d.write("c.conf", "[supervisorctl]\n");
  Setup s = parse({"-c", conf, "tail", "-f", "web", "-s", "x"});
  REQUIRE_FALSE(s.exit_now);
  CHECK(s.options.args == std::vector<std::string>{"tail", "-f", "web", "-s", "x"});
  CHECK_FALSE(s.options.interactive);
  CHECK(s.options.serverurl == "http://localhost:9001");
}

TEST_CASE("no command means interactive") {
  Setup s = parse({"-s", "unix:///tmp/x.sock"});
  REQUIRE_FALSE(s.exit_now);
  CHECK(s.options.interactive);
  CHECK(s.options.serverurl == "unix:///tmp/x.sock");
  CHECK(s.options.prompt == "supervisor");
}

TEST_CASE("usage errors are reported like getopt's, exit 2") {
  Setup s = parse({"-x"});
  CHECK(s.exit_now);
  CHECK(s.exit_status == 2);
  CHECK(s.err == "Error: option -x not recognized\nFor help, use /nonexistent/bin/supervisorctl -h\n");
  s = parse({"-s"});
  CHECK(s.err.rfind("Error: option -s requires argument\n", 0) == 0);
  s = parse({"-s", "unix:///a", "-s", "unix:///b", "status"});
  CHECK(s.err.rfind("Error: conflicting command line option '-s'\n", 0) == 0);
  s = parse({"-s", "foo", "status"});
  CHECK(s.err.rfind("Error: invalid value for -s 'foo': value 'foo' is not a URL\n", 0) == 0);
  s = parse({"-c", "/nonexistent.conf", "status"});
  CHECK(s.err.rfind("Error: could not find config file /nonexistent.conf\n", 0) == 0);
  CHECK(s.exit_status == 2);
}

TEST_CASE("-h and -? print the usage and exit 0") {
  for (const char* flag : {"-h", "--help", "-?"}) {
    Setup s = parse({flag});
    CHECK(s.exit_now);
    CHECK(s.exit_status == 0);
    CHECK(s.out.find("Usage: /nonexistent/bin/supervisorctl [options]") != std::string::npos);
  }
}

TEST_CASE("the [supervisorctl] section: expansion, normalisation, precedence") {
  TempDir d;
  std::string conf = d.write("sup.conf",
                             "[unix_http_server]\nfile=/tmp/x ; comment\n\n"
                             "[supervisorctl]\n"
                             "serverurl = unix://%(here)s/../sub/./sock   ; inline comment\n"
                             "Username: %(ENV_CTL_USER)s\n"
                             "password=a;b\n"
                             "prompt=my\n  prompt\n"
                             "history_file=%(here)s/hist\n"
                             "[program:x]\ncommand=/bin/true\n");
  Setup s = parse({"-c", conf, "status"}, {{"CTL_USER", "alice"}});
  REQUIRE_FALSE(s.exit_now);
  const std::string parent = d.path.substr(0, d.path.rfind('/'));
  CHECK(s.options.serverurl == "unix://" + parent + "/sub/sock");
  CHECK(s.options.username == std::optional<std::string>("alice"));
  CHECK(s.options.password == std::optional<std::string>("a;b"));
  CHECK(s.options.prompt == "my\nprompt");
  CHECK(s.options.history_file == std::optional<std::string>(d.path + "/hist"));

  // The command line wins over the file.
  s = parse({"-c", conf, "-s", "http://127.0.0.1:9", "-u", "bob", "status"}, {{"CTL_USER", "alice"}});
  CHECK(s.options.serverurl == "http://127.0.0.1:9");
  CHECK(s.options.username == std::optional<std::string>("bob"));
}

TEST_CASE("config problems") {
  TempDir d;
  Setup s = parse({"-c", d.write("a.conf", "[supervisord]\n"), "status"});
  CHECK(s.exit_status == 2);
  CHECK(s.err.rfind("Error: .ini file does not include supervisorctl section\n", 0) == 0);
  s = parse({"-c", d.write("b.conf", "[supervisorctl]\nprompt=%(nope)s\n"), "status"});
  CHECK(s.exit_status == 2);
  CHECK(s.err.find("contains names ('nope') which cannot be expanded") != std::string::npos);
  s = parse({"-c", d.write("c.conf", "[supervisorctl]\nserverurl=%(here)s\nprompt=%(here)s\n"), "status"});
  CHECK(s.exit_status == 2);  // here is only expanded in serverurl and history_file
  s = parse({"-c", d.write("d.conf", "junk\n[supervisorctl]\n"), "status"});
  CHECK(s.exit_status == 1);
}

TEST_CASE("config search path is relative to the program's directory") {
  auto paths = config_search_paths("/opt/sup/bin/supervisorctl");
  REQUIRE(paths.size() == 6);
  CHECK(paths[0] == "/opt/sup/etc/supervisord.conf");
  CHECK(paths[1] == "/opt/sup/supervisord.conf");
  CHECK(paths[2] == "supervisord.conf");
  CHECK(paths[5] == "/etc/supervisor/supervisord.conf");
}

TEST_CASE("normalize_path") {
  CHECK(normalize_path("/a/./b/../c//d") == "/a/c/d");
  CHECK(normalize_path("/") == "/");
}
