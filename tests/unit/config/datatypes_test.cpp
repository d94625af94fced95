// Accepted and rejected spellings follow supervisor/datatypes.py 4.2.5
// (checked by running its converters with Python 3.11).
#include "config/datatypes.hpp"

#include <doctest/doctest.h>
#include <pwd.h>
#include <unistd.h>

#include <csignal>

#include "test_files.hpp"

using namespace sup::config;

TEST_CASE("boolean: yes/true/on/1 and no/false/off/0 in any case, nothing else") {
  for (const char* s : {"yes", "TRUE", "On", "1"}) {
    INFO(s);
    auto r = parse_boolean(s);
    REQUIRE(r.ok());
    CHECK(*r);
  }
  for (const char* s : {"no", "False", "OFF", "0"}) {
    INFO(s);
    auto r = parse_boolean(s);
    REQUIRE(r.ok());
    CHECK_FALSE(*r);
  }
  for (const char* s : {"maybe", "", "2", "y", "tru"}) {
    INFO(s);
    CHECK_FALSE(parse_boolean(s).ok());
  }
}

TEST_CASE("integer: Python int() spelling") {
  CHECK(*parse_integer("42") == 42);
  CHECK(*parse_integer(" -7 ") == -7);
  CHECK(*parse_integer("+3") == 3);
  CHECK(*parse_integer("1_000") == 1000);
  CHECK(*parse_integer("007") == 7);
  for (const char* s : {"abc", "", "1.5", "1__0", "_1", "1_", "0x10", "5s"}) {
    INFO(s);
    CHECK_FALSE(parse_integer(s).ok());
  }
}

TEST_CASE("byte size: integer with optional KB/MB/GB in any case") {
  CHECK(*parse_byte_size("0") == 0);
  CHECK(*parse_byte_size("1024") == 1024);
  CHECK(*parse_byte_size("1KB") == 1024);
  CHECK(*parse_byte_size("50MB") == 50LL * 1024 * 1024);
  CHECK(*parse_byte_size("50mb") == 50LL * 1024 * 1024);
  CHECK(*parse_byte_size("2gb") == 2LL * 1024 * 1024 * 1024);
  CHECK(*parse_byte_size("5 kb") == 5 * 1024);
  for (const char* s : {"5XB", "1K", "1M", "1B", "1.5MB", "MB", "", "ten"}) {
    INFO(s);
    CHECK_FALSE(parse_byte_size(s).ok());
  }
}

TEST_CASE("octal: base 8 with or without leading 0 / 0o") {
  CHECK(*parse_octal("022") == 022);
  CHECK(*parse_octal("0700") == 0700);
  CHECK(*parse_octal("777") == 0777);
  CHECK(*parse_octal("0o17") == 017);
  for (const char* s : {"089", "9", "abc", "", "-1"}) {
    INFO(s);
    CHECK_FALSE(parse_octal(s).ok());
  }
}

TEST_CASE("signal: name with or without SIG in any case, or a real signal number") {
  CHECK(*parse_signal("TERM") == SIGTERM);
  CHECK(*parse_signal("sigterm") == SIGTERM);
  CHECK(*parse_signal("SIGUSR2") == SIGUSR2);
  CHECK(*parse_signal("hup") == SIGHUP);
  CHECK(*parse_signal("KILL") == SIGKILL);
  CHECK(*parse_signal("9") == 9);
  CHECK(*parse_signal("QUIT") == SIGQUIT);
  CHECK(*parse_signal("INT") == SIGINT);
  for (const char* s : {"FOO", "SIG", "", "99", "-1", "0", "SIGTERMX", "TERM2"}) {
    INFO(s);
    CHECK_FALSE(parse_signal(s).ok());
  }
  CHECK(signal_name(SIGTERM) == "TERM");
  CHECK(signal_name(SIGKILL) == "KILL");
}

TEST_CASE("exitcodes: comma-separated integers 0..255") {
  CHECK(*parse_exitcodes("0") == std::vector<int>{0});
  CHECK(*parse_exitcodes("0,2") == std::vector<int>{0, 2});
  CHECK(*parse_exitcodes("0, 2 ,255") == std::vector<int>{0, 2, 255});
  CHECK(parse_exitcodes("")->empty());
  for (const char* s : {"0,256", "-1", "a", "0,,2", "1;2"}) {
    INFO(s);
    CHECK_FALSE(parse_exitcodes(s).ok());
  }
}

TEST_CASE("autorestart: boolean words or unexpected") {
  CHECK(*parse_autorestart("true") == AutoRestart::True);
  CHECK(*parse_autorestart("yes") == AutoRestart::True);
  CHECK(*parse_autorestart("false") == AutoRestart::False);
  CHECK(*parse_autorestart("0") == AutoRestart::False);
  CHECK(*parse_autorestart("Unexpected") == AutoRestart::Unexpected);
  CHECK_FALSE(parse_autorestart("sometimes").ok());
  CHECK_FALSE(parse_autorestart("").ok());
}

TEST_CASE("log level names map to supervisord's numbers") {
  CHECK(*parse_log_level("critical") == 50);
  CHECK(*parse_log_level("error") == 40);
  CHECK(*parse_log_level("WARN") == 30);
  CHECK(*parse_log_level("info") == 20);
  CHECK(*parse_log_level("debug") == 10);
  CHECK(*parse_log_level("trace") == 5);
  CHECK(*parse_log_level("blather") == 3);
  CHECK_FALSE(parse_log_level("warning").ok());
  CHECK_FALSE(parse_log_level("loud").ok());
}

TEST_CASE("user: name or uid that exists, with its primary group") {
  auto root = parse_user("root");
  REQUIRE(root.ok());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  auto by_number = parse_user("0");
  REQUIRE(by_number.ok());
  CHECK(by_number->uid == 0);
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  auto n = parse_user("nobody");
  REQUIRE(n.ok());
  CHECK(n->uid == nobody->pw_uid);
  CHECK(n->gid == nobody->pw_gid);
  auto bad = parse_user("no-such-user-xyz");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("no-such-user-xyz") != std::string::npos);
  CHECK_FALSE(parse_user("4000000").ok());
}

TEST_CASE("user:group for chown") {
  auto u = parse_user_group("root");
  REQUIRE(u.ok());
  CHECK(u->uid == 0);
  CHECK_FALSE(u->gid.has_value());
  auto ug = parse_user_group("root:root");
  REQUIRE(ug.ok());
  CHECK(ug->gid == gid_t{0});
  CHECK_FALSE(parse_user_group("root:no-such-group-xyz").ok());
  CHECK_FALSE(parse_user_group("no-such-user-xyz:root").ok());
}

TEST_CASE("environment: KEY=val pairs, quotes protect commas, supervisord's error for junk") {
  auto env = parse_environment("A=1,B=\"v,2\",C='x y',PATH=/usr/bin:/bin");
  REQUIRE(env.ok());
  CHECK(*env == EnvList{{"A", "1"}, {"B", "v,2"}, {"C", "x y"}, {"PATH", "/usr/bin:/bin"}});
  CHECK(parse_environment("")->empty());
  // Continuation lines arrive joined with newlines: shlex treats them as whitespace.
  auto multi = parse_environment("A=1,\nB=2,\nC=3");
  REQUIRE(multi.ok());
  CHECK(*multi == EnvList{{"A", "1"}, {"B", "2"}, {"C", "3"}});
  // A repeated key keeps its position and takes the later value (dict semantics).
  auto dup = parse_environment("A=1,B=2,A=3");
  REQUIRE(dup.ok());
  CHECK(*dup == EnvList{{"A", "3"}, {"B", "2"}});
  // Any single punctuation token separates pairs, as in supervisord.
  auto semi = parse_environment("A=1;B=2");
  REQUIRE(semi.ok());
  CHECK(*semi == EnvList{{"A", "1"}, {"B", "2"}});

  auto missing_value = parse_environment("A=1,B");
  REQUIRE_FALSE(missing_value.ok());
  CHECK(missing_value.error() == "Unexpected end of key/value pairs in value 'A=1,B'");
  // '?' is punctuation for shlex, so it separates pairs (observed in supervisord).
  auto unquoted_special = parse_environment("URL=http://x/?q=1");
  REQUIRE(unquoted_special.ok());
  CHECK(*unquoted_special == EnvList{{"URL", "http://x/"}, {"q", "1"}});
  auto quoted_url = parse_environment("URL=\"http://x/?q=1\"");
  REQUIRE(quoted_url.ok());
  CHECK(*quoted_url == EnvList{{"URL", "http://x/?q=1"}});
  auto trailing = parse_environment("B=plain;x");
  CHECK_FALSE(trailing.ok());
  auto unclosed = parse_environment("A=\"open");
  REQUIRE_FALSE(unclosed.ok());
  CHECK(unclosed.error() == "No closing quotation");
}

TEST_CASE("environment merge: later layer overrides, new keys appended") {
  EnvList base{{"A", "1"}, {"B", "2"}};
  merge_environment(base, {{"B", "x"}, {"C", "3"}});
  CHECK(base == EnvList{{"A", "1"}, {"B", "x"}, {"C", "3"}});
}

TEST_CASE("inet port: host:port, :port, *:port or port") {
  auto a = parse_inet_address("127.0.0.1:9001");
  REQUIRE(a.ok());
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 9001);
  CHECK(parse_inet_address(":9001")->host.empty());
  CHECK(parse_inet_address("*:9001")->host.empty());
  CHECK(parse_inet_address("9001")->port == 9001);
  CHECK(parse_inet_address("LocalHost:80")->host == "localhost");
  for (const char* s : {"abc", "host:", "host:0", "host:65536", "", "host:x"}) {
    INFO(s);
    CHECK_FALSE(parse_inet_address(s).ok());
  }
}

TEST_CASE("log file values: AUTO, NONE/OFF, syslog, or a path in an existing directory") {
  CHECK(parse_logfile("AUTO")->kind == LogTarget::Kind::Auto);
  CHECK(parse_logfile("auto")->kind == LogTarget::Kind::Auto);
  CHECK(parse_logfile("NONE")->kind == LogTarget::Kind::None);
  CHECK(parse_logfile("off")->kind == LogTarget::Kind::None);
  CHECK(parse_logfile("Syslog")->kind == LogTarget::Kind::Syslog);
  sup::config::test::TempDir dir;
  auto file = parse_logfile(dir / "out.log");
  REQUIRE(file.ok());
  CHECK(file->kind == LogTarget::Kind::File);
  CHECK(file->path == dir / "out.log");
  CHECK(parse_logfile("relative.log")->path == "relative.log");
  CHECK(parse_logfile("/dev/stdout")->path == "/dev/stdout");
  CHECK_FALSE(parse_logfile(dir / "missing/out.log").ok());
}

TEST_CASE("paths: ~ expansion and normalization") {
  const char* home = std::getenv("HOME");
  REQUIRE(home != nullptr);
  CHECK(expand_user("~/x.log") == std::string(home) + "/x.log");
  CHECK(expand_user("~root/x") == std::string(::getpwnam("root")->pw_dir) + "/x");
  CHECK(expand_user("/abs/~x") == "/abs/~x");
  CHECK(normalize_path("/a/./b//c/../d") == "/a/b/d");
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  CHECK(normalize_path("x.pid") == (std::string(cwd) == "/" ? "/x.pid" : std::string(cwd) + "/x.pid"));
  CHECK(parse_existing_directory("/tmp").ok());
  CHECK_FALSE(parse_existing_directory("/nonexistent-dir-xyz").ok());
}

TEST_CASE("url: scheme with a host or a path") {
  CHECK(parse_url("unix:///tmp/supervisor.sock").ok());
  CHECK(parse_url("http://localhost:9001").ok());
  CHECK_FALSE(parse_url("localhost").ok());
  CHECK_FALSE(parse_url("http://").ok());
  CHECK_FALSE(parse_url("").ok());
}

TEST_CASE("command splitting follows POSIX shlex") {
  CHECK(*split_command("/bin/echo hello world") == std::vector<std::string>{"/bin/echo", "hello", "world"});
  CHECK(*split_command("sh -c 'echo \"a b\"; exit 3'") ==
        std::vector<std::string>{"sh", "-c", "echo \"a b\"; exit 3"});
  CHECK(*split_command("a \"b c\" d\\ e") == std::vector<std::string>{"a", "b c", "d e"});
  CHECK(*split_command("x \"q\\\"uote\" \"back\\\\slash\" \"keep\\n\"") ==
        std::vector<std::string>{"x", "q\"uote", "back\\slash", "keep\\n"});
  CHECK(*split_command("'' \"\" end") == std::vector<std::string>{"", "", "end"});
  CHECK(*split_command("/bin/cat\n--flag\n\n  more") == std::vector<std::string>{"/bin/cat", "--flag", "more"});
  CHECK(*split_command("a'b'c\"d\"e") == std::vector<std::string>{"abcde"});
  CHECK(*split_command("no # comment") == std::vector<std::string>{"no", "#", "comment"});
  CHECK(split_command("   ")->empty());
  CHECK(split_command("echo 'open").error() == "No closing quotation");
  CHECK(split_command("echo trailing\\").error() == "No escaped character");
}

TEST_CASE("process and group names may not contain space, ':' or '/'") {
  CHECK(*parse_process_name(" web_1 ") == "web_1");
  CHECK(*parse_process_name("%(program_name)s_%(process_num)02d") == "%(program_name)s_%(process_num)02d");
  for (const char* s : {"we b", "a:b", "a/b"}) {
    INFO(s);
    CHECK_FALSE(parse_process_name(s).ok());
  }
}

TEST_CASE("list of strings: comma-separated, stripped") {
  CHECK(parse_list_of_strings("a, b ,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(parse_list_of_strings("").empty());
}
