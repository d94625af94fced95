// restart_delay, exponential crash backoff and restart_limit end to end,
// timed through the daemon log's timestamps.
#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

namespace {

// Timestamps (ms) of every log line containing needle.
std::vector<long long> times_of(const Daemon& d, const std::string& needle) {
  std::vector<long long> out;
  for (const auto& l : LogLines(d.log()).find_all(needle)) out.push_back(l.millis);
  return out;
}

}  // namespace

TEST_CASE("restart_delay waits before restarting a program that exited from RUNNING") {
  TempDir dir;
  Daemon d(dir, R"(
[program:flaky]
command=/bin/sh -c 'sleep 1.5; exit 1'
startsecs=1
autorestart=true
restart_delay=3

[program:plain]
command=/bin/sh -c 'sleep 1.5; exit 1'
startsecs=1
autorestart=true
)");
  d.start();
  REQUIRE(d.wait_log("spawned: 'flaky'", 2));
  REQUIRE(d.wait_log("spawned: 'plain'", 2));
  auto exited = times_of(d, "exited: flaky");
  auto spawned = times_of(d, "spawned: 'flaky'");
  REQUIRE(exited.size() >= 1);
  REQUIRE(spawned.size() >= 2);
  CHECK(spawned[1] - exited[0] >= 3000);
  CHECK(spawned[1] - exited[0] < 6000);
  // Between the exit and the restart the program is EXITED.
  auto plain_exit = times_of(d, "exited: plain");
  auto plain_spawn = times_of(d, "spawned: 'plain'");
  REQUIRE(plain_exit.size() >= 1);
  CHECK(plain_spawn[1] - plain_exit[0] < 1000);  // supervisord's immediate restart
}

TEST_CASE("restart_delay: the program is EXITED while it waits") {
  TempDir dir;
  Daemon d(dir, R"(
[program:flaky]
command=/bin/sh -c 'sleep 1.2; exit 1'
startsecs=1
autorestart=true
restart_delay=60
)");
  d.start();
  REQUIRE(d.wait_state("flaky", "EXITED"));
  CHECK(d.log_count("spawned: 'flaky'") == 1);
  // A manual start does not wait for the delay.
  RpcResult r = d.call("supervisor.startProcess", {xmlrpc::Value("flaky")});
  CHECK(r.ok());
  CHECK(d.log_count("spawned: 'flaky'") == 2);
  // A stop while the restart is pending cancels it.
  REQUIRE(d.wait_state("flaky", "EXITED"));
  RpcResult s = d.call("supervisor.stopProcess", {xmlrpc::Value("flaky")});
  CHECK(s.ok());
  CHECK(d.state_of("flaky") == "STOPPED");
  CHECK(d.log_count("stopped: flaky (was waiting to restart; stop requested via XML-RPC)") == 1);
  RpcResult again = d.call("supervisor.stopProcess", {xmlrpc::Value("flaky")});
  CHECK(again.is_fault());
  CHECK(again.fault_code() == 70);  // NOT_RUNNING, as for any stopped process
}

TEST_CASE("exponential backoff grows the delay between quick crashes of a RUNNING program") {
  TempDir dir;
  Daemon d(dir, R"(
[program:crashy]
command=/bin/sh -c 'sleep 1.2; exit 1'
startsecs=1
autorestart=true
backoff=exponential
)");
  d.start();
  REQUIRE(d.wait_log("spawned: 'crashy'", 4, 40s));
  auto exited = times_of(d, "exited: crashy");
  auto spawned = times_of(d, "spawned: 'crashy'");
  REQUIRE(exited.size() >= 3);
  // Delays 1 s, 2 s, 4 s (+ up to 10% jitter).
  long long expected[] = {1000, 2000, 4000};
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    long long gap = spawned[i + 1] - exited[i];
    CAPTURE(gap);
    CHECK(gap >= expected[i]);
    CHECK(gap < expected[i] + expected[i] / 10 + 1000);
  }
}

TEST_CASE("exponential backoff: a run longer than backoff_reset starts the delays over") {
  TempDir dir;
  // Runs 1 and 2 crash 1.2 s after their start (delays 1 s, then 2 s); run 3
  // lasts 4.5 s, longer than backoff_reset=3: it is restarted at once, like
  // supervisord, and the next quick crash waits 1 s again, not 4 s.
  write_file(dir.path() + "/run.sh", R"(#!/bin/sh
n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
if [ $n -eq 3 ]; then sleep 4.5; else sleep 1.2; fi
exit 1
)",
             0755);
  Daemon d(dir, R"(
[program:crashy]
command=%(here)s/run.sh
directory=%(here)s
startsecs=1
autorestart=true
backoff=exponential
backoff_reset=3
)");
  d.start();
  REQUIRE(d.wait_log("spawned: 'crashy'", 5, 60s));
  auto exited = times_of(d, "exited: crashy");
  auto spawned = times_of(d, "spawned: 'crashy'");
  REQUIRE(exited.size() >= 4);
  REQUIRE(spawned.size() >= 5);
  const long long grown = spawned[2] - exited[1];
  const long long after_long_run = spawned[3] - exited[2];
  const long long restarted_over = spawned[4] - exited[3];
  CAPTURE(grown);
  CAPTURE(after_long_run);
  CAPTURE(restarted_over);
  CHECK(grown >= 2000);
  CHECK(after_long_run < 1000);
  CHECK(restarted_over >= 1000);
  CHECK(restarted_over < 1000 + 100 + 1000);  // 1 s (+10% jitter): well under the 4 s it would have grown to
}

TEST_CASE("restart_limit: more than N restarts in the window make the program FATAL") {
  TempDir dir;
  Daemon d(dir, R"(
[program:crashy]
command=/bin/sh -c 'sleep 1.2; exit 1'
startsecs=1
autorestart=true
restart_limit=2/60
)");
  d.start();
  REQUIRE(d.wait_state("crashy", "FATAL", 30s));
  CHECK(d.log_count("spawned: 'crashy'") == 3);
  CHECK(d.log_count("gave up: crashy entered FATAL state, more than 2 restarts in 60 seconds (restart_limit)") == 1);
  CHECK(str_field(d.process_info("crashy"), "spawnerr") ==
        "restart limit reached (more than 2 restarts in 60 seconds)");
}
