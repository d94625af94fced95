// The daemon as child subreaper (issue 8) and the fate of its children when
// it is killed with SIGKILL (issue 9).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("an orphaned grandchild is adopted by the daemon (subreaper) and reaped when it exits") {
  TempDir dir;
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  // spawn.sh backgrounds gc.sh and exits: gc.sh is orphaned while the
  // program itself keeps running. gc.sh exits once it can read the FIFO.
  write_file(dir.file("gc.sh"), "#!/bin/sh\nread line < " + dir.file("fifo") + "\nexit 5\n", 0755);
  write_file(dir.file("spawn.sh"),
             "#!/bin/sh\n/bin/sh " + dir.file("gc.sh") + " &\necho $! > " + dir.file("gc.tmp") + "\nmv " +
                 dir.file("gc.tmp") + " " + dir.file("gc.pid") + "\n",
             0755);
  Daemon d(dir, R"(
[program:parent]
command=/bin/sh -c '/bin/sh @DIR@/spawn.sh; exec /bin/sleep 1000'
)");
  d.start();
  REQUIRE(d.wait_state("parent", "RUNNING"));
  pid_t gc = 0;
  REQUIRE(wait_until([&] { return (gc = read_pid_file(dir.file("gc.pid"))) > 0; }));
  // Its parent (spawn.sh) is gone: the kernel gave it to the nearest
  // subreaper, the daemon, not to init.
  REQUIRE(wait_until([&] {
    auto st = proc_stat(gc);
    return st && st->ppid == d.pid();
  }));
  CHECK(proc_stat(d.pid_of("parent"))->ppid == d.pid());

  // Let it exit: the daemon's reaper collects it, no zombie is left.
  int fd = ::open(dir.file("fifo").c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "go\n", 3) == 3);
  ::close(fd);
  CHECK(d.wait_log("reaped unknown pid " + std::to_string(gc) + " (exit status 5)"));
  CHECK(wait_until([&] { return !proc_stat(gc).has_value(); }));
  // The program itself was not disturbed.
  CHECK(d.state_of("parent") == "RUNNING");
}

namespace {

const char* kPrograms = R"(
[program:sleeper]
command=/bin/sleep 1000

[program:loop]
command=/bin/sh -c 'while :; do /bin/sleep 1; done'

[program:pair]
command=/bin/sleep 1000
numprocs=2
process_name=pair%(process_num)d
)";

// As root, a program with user= too: its death signal must survive the
// setuid in the child.
std::string programs() {
  std::string body = kPrograms;
  if (::geteuid() == 0) body += "\n[program:asuser]\ncommand=/bin/sleep 1000\nuser=nobody\n";
  return body;
}

std::vector<std::string> names() {
  std::vector<std::string> n = {"sleeper", "loop", "pair:pair0", "pair:pair1"};
  if (::geteuid() == 0) n.push_back("asuser");
  return n;
}

}  // namespace

TEST_CASE("kill -9 of the daemon: its children die with it and a new daemon starts each program once") {
  TempDir dir;
  std::map<std::string, pid_t> first;
  {
    Daemon d(dir, programs());
    d.start();
    for (const auto& n : names()) {
      REQUIRE_MESSAGE(d.wait_state(n, "RUNNING"), n);
      first[n] = d.pid_of(n);
      REQUIRE(first[n] > 0);
    }
    d.signal(SIGKILL);
    auto status = d.wait_exit();
    REQUIRE(status.has_value());
    CHECK(*status == 128 + SIGKILL);
    // Every direct child follows (PR_SET_PDEATHSIG): none is left running.
    for (const auto& entry : first) {
      const pid_t pid = entry.second;
      CHECK_MESSAGE(wait_until([pid] { return !pid_alive(pid); }), entry.first);
    }
  }

  // The pid file names a dead daemon and the socket file is stale: a new
  // daemon on the same configuration starts normally, each program once.
  Daemon d2(dir, programs());
  d2.start();
  std::vector<pid_t> second;
  for (const auto& n : names()) {
    REQUIRE_MESSAGE(d2.wait_state(n, "RUNNING"), n);
    pid_t pid = d2.pid_of(n);
    CHECK(pid != first[n]);
    second.push_back(pid);
  }
  std::vector<pid_t> children;
  for (const auto& c : children_of(d2.pid())) children.push_back(c.pid);
  std::sort(children.begin(), children.end());
  std::sort(second.begin(), second.end());
  CHECK(children == second);
  // One spawn per program and daemon in the (shared, appended) main log.
  LogLines log(d2.log());
  for (const char* n : {"sleeper", "loop", "pair0", "pair1"})
    CHECK_MESSAGE(log.find_all(std::string("spawned: '") + n + "'").size() == 2, n);
  CHECK(log.find_all("supervisord started with pid").size() == 2);
}
