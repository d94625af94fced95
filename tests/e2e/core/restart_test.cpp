// Automatic restarts: killed children, exit codes vs autorestart, and no
// zombies left behind however often children come and go.
#include <signal.h>

#include <filesystem>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("a RUNNING program killed with SIGKILL is respawned") {
  TempDir dir;
  Daemon d(dir, R"(
[program:always]
command=/bin/sleep 1000
startsecs=1
autorestart=true

[program:unexpected]
command=/bin/sleep 1001
startsecs=1
autorestart=unexpected
)");
  d.start();
  for (const char* name : {"always", "unexpected"}) {
    CAPTURE(name);
    REQUIRE(d.wait_state(name, "RUNNING"));
    const pid_t old_pid = d.pid_of(name);
    REQUIRE(old_pid > 0);
    REQUIRE(::kill(old_pid, SIGKILL) == 0);

    CHECK(d.wait_log("exited: " + std::string(name) + " (terminated by SIGKILL; not expected)"));
    REQUIRE(d.wait_new_pid(name, old_pid));
    CHECK_FALSE(pid_alive(old_pid));
    const pid_t new_pid = d.pid_of(name);
    CHECK(d.log_count("spawned: '" + std::string(name) + "' with pid " + std::to_string(new_pid)) == 1);
    CHECK(d.log_count("spawned: '" + std::string(name) + "' with pid ") == 2);
    // Back to RUNNING through startsecs, like the first time.
    CHECK(d.log_count("success: " + std::string(name) + " entered RUNNING state") == 2);
    auto st = proc_stat(new_pid);
    REQUIRE(st.has_value());
    CHECK(st->ppid == d.pid());
  }
}

TEST_CASE("exitcodes and autorestart decide whether an exited program comes back") {
  TempDir dir;
  Daemon d(dir, R"(
[program:expected]
command=/bin/sh -c 'sleep 2; exit 3'
startsecs=1
exitcodes=0,3
autorestart=unexpected

[program:unexpected]
command=/bin/sh -c 'sleep 2; exit 4'
startsecs=1
exitcodes=0,3
autorestart=unexpected

[program:always]
command=/bin/sh -c 'sleep 2; exit 0'
startsecs=1
autorestart=true

[program:never]
command=/bin/sh -c 'sleep 2; exit 4'
startsecs=1
autorestart=false
)");
  d.start();
  // The restarted ones go round at least three times...
  CHECK(d.wait_log("spawned: 'unexpected' with pid ", 3));
  CHECK(d.wait_log("spawned: 'always' with pid ", 3));
  CHECK(d.log_count("exited: unexpected (exit status 4; not expected)") >= 2);
  CHECK(d.log_count("exited: always (exit status 0; expected)") >= 2);

  // ...while the others exited once and stayed down.
  xmlrpc::Value expected = d.process_info("expected");
  CHECK(str_field(expected, "statename") == "EXITED");
  CHECK(int_field(expected, "state") == 100);
  CHECK(int_field(expected, "exitstatus") == 3);
  CHECK(int_field(expected, "pid") == 0);
  CHECK(d.log_count("spawned: 'expected' with pid ") == 1);
  CHECK(d.log_count("exited: expected (exit status 3; expected)") == 1);

  xmlrpc::Value never = d.process_info("never");
  CHECK(str_field(never, "statename") == "EXITED");
  CHECK(int_field(never, "exitstatus") == 4);
  CHECK(str_field(never, "spawnerr") == "Bad exit code 4");
  CHECK(d.log_count("spawned: 'never' with pid ") == 1);
  CHECK(d.log_count("exited: never (exit status 4; not expected)") == 1);
}

namespace {

std::vector<pid_t> zombies_of(pid_t parent) {
  std::vector<pid_t> z;
  for (const ProcStat& c : children_of(parent))
    if (c.state == 'Z') z.push_back(c.pid);
  return z;
}

}  // namespace

TEST_CASE("children that exit and restart leave no zombies") {
  TempDir dir;
  Daemon d(dir, R"(
[program:crasher]
command=/bin/sh -c 'exit 1'
startsecs=1
startretries=4

[program:cycler]
command=/bin/sh -c 'sleep 0.2; exit 0'
startsecs=0
autorestart=true

[program:target]
command=/bin/sleep 1000
startsecs=0
autorestart=true

[program:spawner]
command=/bin/sh -c '/bin/true & /bin/true & /bin/true & sleep 0.3; exit 7'
startsecs=0
autorestart=true
)");
  d.start();
  // Kill `target` a few times; each time it comes back.
  for (int round = 0; round < 3; ++round) {
    REQUIRE(d.wait_state("target", "RUNNING"));
    const pid_t pid = d.pid_of("target");
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(d.wait_new_pid("target", pid));
  }
  REQUIRE(d.wait_log("spawned: 'cycler' with pid ", 6));
  REQUIRE(d.wait_log("spawned: 'spawner' with pid ", 4));
  REQUIRE(d.wait_state("crasher", "FATAL"));
  CHECK(d.log_count("spawned: 'crasher' with pid ") == 5);

  // Bring the loops to rest, then nothing may be left unreaped.
  for (const char* name : {"cycler", "spawner"}) {
    CAPTURE(name);
    CHECK(wait_until([&] {
      RpcResult r = d.call("supervisor.stopProcess", {name});
      // NOT_RUNNING: caught between exit and respawn; try again.
      return r.ok() || d.state_of(name) == "STOPPED";
    }));
    CHECK(d.wait_state(name, "STOPPED"));
  }
  CHECK(d.state_of("target") == "RUNNING");
  std::vector<pid_t> zombies;
  bool clean = wait_until([&] { return (zombies = zombies_of(d.pid())).empty(); }, 5s);
  CHECK_MESSAGE(clean, "zombie children of supervisord: " << zombies.size());
  // Only the one live child is left, once the orphans the daemon adopted
  // as child subreaper (a stopped spawner's `sleep 0.3`) have exited.
  std::vector<ProcStat> kids;
  wait_until([&] { return (kids = children_of(d.pid())).size() == 1; });
  REQUIRE(kids.size() == 1);
  CHECK(kids[0].pid == d.pid_of("target"));
}

namespace {

std::size_t open_fd_count(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("stopping and starting many processes leaks no descriptors in the daemon") {
  TempDir dir;
  Daemon d(dir, R"(
[program:pool]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=20
startsecs=0
)");
  d.start();
  auto all_in = [&](const std::string& statename) {
    return wait_until([&] {
      RpcResult r = d.call("supervisor.getAllProcessInfo");
      if (!r.ok() || r.value().as_array().size() != 20) return false;
      for (const auto& p : r.value().as_array())
        if (str_field(p, "statename") != statename) return false;
      return true;
    });
  };
  REQUIRE(all_in("RUNNING"));
  const std::size_t baseline = open_fd_count(d.pid());
  REQUIRE(baseline > 0);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    for (const ProcStat& c : children_of(d.pid())) REQUIRE(wait_exec(c.pid, "/bin/sleep"));
    RpcResult stop = d.call("supervisor.stopAllProcesses");
    REQUIRE_MESSAGE(stop.ok(), stop.describe());
    CHECK(stop.value().as_array().size() == 20);
    REQUIRE(all_in("STOPPED"));
    CHECK(children_of(d.pid()).empty());
    RpcResult start = d.call("supervisor.startAllProcesses");
    REQUIRE_MESSAGE(start.ok(), start.describe());
    REQUIRE(all_in("RUNNING"));
  }
  // Pipes of earlier spawns are all closed (the control connection of the
  // last call may still be closing: allow it a moment).
  CHECK(wait_until([&] { return open_fd_count(d.pid()) <= baseline; }, 5s));
  CHECK(children_of(d.pid()).size() == 20);
}
