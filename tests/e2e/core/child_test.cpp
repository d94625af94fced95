// What a child sees: its environment, its file descriptors, and where its
// output goes.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("the child environment carries SUPERVISOR_* variables and environment= values") {
  TempDir dir;
  Daemon d(dir, R"(
[group:tools]
programs=envdump

[program:envdump]
command=/bin/sh -c '/usr/bin/env; echo END-OF-ENV'
environment=GREETING="hello world",LIST="a,b",E2E_EMPTY=""
startsecs=0
autorestart=false
stdout_logfile=@DIR@/env.out
)");
  d.start();
  REQUIRE(d.wait_state("tools:envdump", "EXITED"));
  // The whole output is in the log once the process has exited and the pipe drained.
  std::map<std::string, std::string> env;
  REQUIRE(wait_until([&] {
    env.clear();
    for (const std::string& line : split_lines(read_file(dir.file("env.out")))) {
      auto eq = line.find('=');
      if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return env.count("SUPERVISOR_ENABLED") && read_file(dir.file("env.out")).find("END-OF-ENV\n") != std::string::npos;
  }));
  CHECK(env["SUPERVISOR_ENABLED"] == "1");
  CHECK(env["SUPERVISOR_PROCESS_NAME"] == "envdump");
  CHECK(env["SUPERVISOR_GROUP_NAME"] == "tools");
  CHECK(env["SUPERVISOR_SERVER_URL"] == "unix://" + d.socket_path());
  CHECK(env["GREETING"] == "hello world");
  CHECK(env["LIST"] == "a,b");
  CHECK(env.count("E2E_EMPTY") == 1);
  CHECK(env["E2E_EMPTY"] == "");
  // The daemon's own environment is inherited.
  CHECK(env.count("PATH") == 1);
}

TEST_CASE("a child has no open file descriptors besides 0, 1 and 2") {
  TempDir dir;
  Daemon d(dir, R"(
[program:fds]
command=/bin/ls -l /proc/self/fd/
startsecs=0
autorestart=false
stdout_logfile=@DIR@/fds.out
redirect_stderr=true
)");
  d.start();
  REQUIRE(d.wait_state("fds", "EXITED"));
  std::map<int, std::string> open_fds;
  REQUIRE(wait_until([&] {
    open_fds.clear();
    for (const std::string& line : split_lines(read_file(dir.file("fds.out")))) {
      // "lrwx------ 1 root root 64 Nov 23 10:51 3 -> socket:[1234]"
      auto arrow = line.find(" -> ");
      if (arrow == std::string::npos) continue;
      auto space = line.rfind(' ', arrow - 1);
      if (space == std::string::npos) continue;
      open_fds[std::stoi(line.substr(space + 1, arrow - space - 1))] = line.substr(arrow + 4);
    }
    return open_fds.count(0) && open_fds.count(1) && open_fds.count(2);
  }));
  std::set<int> unexpected;
  std::string described;
  for (const auto& [fd, target] : open_fds) {
    if (fd <= 2) continue;
    // ls's own handle on the directory it lists.
    if (target.rfind("/proc/", 0) == 0 && target.size() > 3 && target.compare(target.size() - 3, 3, "/fd") == 0)
      continue;
    unexpected.insert(fd);
    described += " " + std::to_string(fd) + " -> " + target;
  }
  CHECK_MESSAGE(unexpected.empty(), "fds leaked into the child:" << described);
}

namespace {

// Every byte value, several times over (more than one pipe buffer), and no
// trailing newline.
std::string binary_payload(char tag) {
  std::string bytes;
  for (int round = 0; round < 600; ++round)
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  bytes += "end of ";
  bytes.push_back(tag);
  return bytes;
}

}  // namespace

TEST_CASE("child output lands in the log files byte for byte") {
  TempDir dir;
  const std::string out_bytes = binary_payload('O');
  const std::string err_bytes = binary_payload('E');
  write_file(dir.file("out.bin"), out_bytes);
  write_file(dir.file("err.bin"), err_bytes);
  Daemon d(dir, R"(
[program:separate]
command=/bin/sh -c 'cat @DIR@/out.bin; cat @DIR@/err.bin >&2; exec sleep 1000'
startsecs=0
stdout_logfile=@DIR@/separate.out
stderr_logfile=@DIR@/separate.err

[program:merged]
command=/bin/sh -c 'cat @DIR@/out.bin; cat @DIR@/err.bin >&2; exec sleep 1000'
startsecs=0
stdout_logfile=@DIR@/merged.out
stderr_logfile=@DIR@/merged.err
redirect_stderr=true
)");
  d.start();
  const std::string both = out_bytes + err_bytes;
  auto settled = [&](const std::string& path, std::size_t size) {
    return wait_until([&] { return read_file(path).size() >= size; });
  };
  CHECK(settled(dir.file("separate.out"), out_bytes.size()));
  CHECK(settled(dir.file("separate.err"), err_bytes.size()));
  CHECK(settled(dir.file("merged.out"), both.size()));
  CHECK(read_file(dir.file("separate.out")) == out_bytes);
  CHECK(read_file(dir.file("separate.err")) == err_bytes);
  // One pipe: stdout then stderr, in the order written.
  CHECK(read_file(dir.file("merged.out")) == both);
  CHECK(read_file(dir.file("merged.err")).empty());
  CHECK(str_field(d.process_info("merged"), "stderr_logfile") == "");
}

TEST_CASE("output of a child written just before it exits is not lost") {
  TempDir dir;
  Daemon d(dir, R"(
[program:brief]
command=/bin/sh -c 'i=0; while [ $i -lt 2000 ]; do echo "last words $i"; i=$((i+1)); done; exit 0'
startsecs=0
autorestart=false
stdout_logfile=@DIR@/brief.out
)");
  d.start();
  REQUIRE(d.wait_state("brief", "EXITED"));
  std::string expected;
  for (int i = 0; i < 2000; ++i) expected += "last words " + std::to_string(i) + "\n";
  CHECK(wait_until([&] { return read_file(dir.file("brief.out")).size() >= expected.size(); }));
  CHECK(read_file(dir.file("brief.out")) == expected);
}

namespace {

// Runs a program as user that prints `id -u`, `id -g` and `id -G`; returns
// what it printed, once it exited 0.
std::string ids_seen_by_child(const TempDir& dir, const std::string& user) {
  Daemon d(dir, R"(
[program:who]
command=/bin/sh -c '/usr/bin/id -u; /usr/bin/id -g; /usr/bin/id -G; echo END'
user=)" + user + R"(
startsecs=0
autorestart=false
stdout_logfile=@DIR@/who.out
)");
  d.start();
  REQUIRE(d.wait_state("who", "EXITED"));
  REQUIRE(wait_until([&] { return read_file(dir.file("who.out")).find("END\n") != std::string::npos; }));
  CHECK(int_field(d.process_info("who"), "exitstatus") == 0);
  std::string out = read_file(dir.file("who.out"));
  return out.substr(0, out.rfind("END\n"));
}

}  // namespace

TEST_CASE("user= runs the child with that user's uid, primary gid and supplementary groups, as id(1) reports them") {
  if (::geteuid() != 0) {
    MESSAGE("not root: user= can't be tested, skipped");
    return;
  }
  // A user with supplementary groups when the machine has one (their list
  // is looked up by the daemon before the child starts), else nobody.
  std::string user = "nobody";
  for (const std::string& line : split_lines(read_file("/etc/passwd"))) {
    std::string name = line.substr(0, line.find(':'));
    if (name.empty() || name == "root") continue;
    CommandResult g = run_command({"/usr/bin/id", "-G", name});
    if (g.status == 0 && g.out.find(' ') != std::string::npos) {
      user = name;
      break;
    }
  }
  std::string expected;
  for (const char* flag : {"-u", "-g", "-G"}) expected += run_command({"/usr/bin/id", flag, user}).out;
  REQUIRE(!expected.empty());

  TempDir dir;
  CHECK_MESSAGE(ids_seen_by_child(dir, user) == expected, "user " << user);
}

namespace {

// Runs "$NSS_TEST_REAL args..." in a private mount namespace whose
// /etc/nsswitch.conf lists a source no glibc has ("ghostdb"), with a fake
// getent(1) first in PATH that knows one user, two groups and a host.
constexpr const char* kNssWrapper = R"(#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c '
set -e
mount --bind "$NSS_TEST_DIR/nsswitch.conf" /etc/nsswitch.conf
PATH="$NSS_TEST_DIR/bin:$PATH" exec "$@"
' sh "$NSS_TEST_REAL" "$@"
)";

constexpr const char* kFakeGetent = R"(#!/bin/sh
case "$1 $2" in
  "passwd ghost"|"passwd 4321") echo "ghost:x:4321:4321:Ghost:/nonexistent:/bin/sh" ;;
  "group ghosts"|"group 4322") echo "ghosts:x:4322:ghost" ;;
  "initgroups ghost") echo "ghost                4322 4323" ;;
  "ahosts ghosthost") printf "127.0.0.1       STREAM ghosthost\n127.0.0.1       DGRAM  \n" ;;
  *) exit 2 ;;
esac
)";

bool statically_linked(const std::string& binary) {
  // A dynamically linked executable names its loader near the start.
  return read_file(binary).substr(0, 4096).find("ld-linux") == std::string::npos;
}

}  // namespace

TEST_CASE("the static daemon asks getent(1) for users, groups and hosts its built-in NSS sources don't know") {
  const std::string real = supervisord_path();
  if (!statically_linked(real)) {
    MESSAGE("skipped: a dynamically linked daemon asks every NSS source itself (sanitizer builds)");
    return;
  }
  if (::geteuid() != 0 ||
      run_command({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/true"}).status != 0) {
    MESSAGE("skipped: needs root (user=) and mount namespaces (a private /etc/nsswitch.conf)");
    return;
  }
  TempDir dir;
  ::mkdir(dir.file("bin").c_str(), 0755);
  write_file(dir.file("bin/getent"), kFakeGetent, 0755);
  write_file(dir.file("nsswitch.conf"), "passwd: files ghostdb\ngroup: files ghostdb\nhosts: files dns ghostdb\n");
  write_file(dir.file("wrapper"), kNssWrapper, 0755);
  ::setenv("NSS_TEST_DIR", dir.path().c_str(), 1);
  ::setenv("NSS_TEST_REAL", real.c_str(), 1);
  ::setenv("SUPERVISORD", dir.file("wrapper").c_str(), 1);
  struct Restore {
    std::string real;
    ~Restore() { ::setenv("SUPERVISORD", real.c_str(), 1); }
  } restore{real};

  SUBCASE("user= names a user only getent knows: the child runs with its ids and groups") {
    CHECK(ids_seen_by_child(dir, "ghost") == "4321\n4321\n4321 4322 4323\n");
  }
  SUBCASE("an inet_http_server host only getent knows is served") {
    const int port = free_port();
    Daemon d(dir, "[inet_http_server]\nport=ghosthost:" + std::to_string(port) + "\n");
    d.start();
    CHECK(http_request("127.0.0.1:" + std::to_string(port), "GET", "/healthz").status == 200);
  }
  SUBCASE("a user nobody knows is a config error naming it") {
    Daemon d(dir, R"(
[program:who]
command=/bin/true
user=nosuchghost
)");
    d.start({"-n"}, false);
    CHECK(d.wait_exit() == 2);
    CHECK(d.captured_stderr().find("Invalid user name nosuchghost") != std::string::npos);
  }
}
