// critical=true (issue 8): a critical program that ends without being asked
// to stop shuts the daemon down (the others stopped in the usual order) and
// the daemon exits with the program's status; stops on request, reloads and
// non-critical programs don't.
#include <doctest/doctest.h>

#include <signal.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("a critical program killed by a signal ends the daemon with 128+signal, whatever autorestart says") {
  TempDir dir;
  Daemon d(dir, R"(
[program:worker]
command=/bin/sleep 1000
priority=10

[program:api]
command=/bin/sleep 1000
priority=20
critical=true
autorestart=true
startsecs=0
)");
  d.start();
  REQUIRE(d.wait_state("worker", "RUNNING"));
  REQUIRE(d.wait_state("api", "RUNNING"));
  pid_t worker = d.pid_of("worker");
  pid_t api = d.pid_of("api");
  REQUIRE(wait_exec(api, "/bin/sleep"));
  ::kill(api, SIGKILL);
  auto status = d.wait_exit();
  REQUIRE(status.has_value());
  CHECK(*status == 128 + SIGKILL);
  LogLines log(d.log());
  auto crit = log.find(
      "CRIT critical program api exited (terminated by SIGKILL); shutting down (supervisord will exit with status 137)");
  REQUIRE(crit);
  CHECK(log.find("stopped: worker (terminated by SIGTERM)", crit->index));
  CHECK(log.find("supervisord exiting (status 137)", crit->index));
  // autorestart=true did not get to restart it.
  CHECK(log.find_all("spawned: 'api'").size() == 1);
  CHECK_FALSE(pid_alive(worker));
}

TEST_CASE("a critical program that exits with an expected status 0 still ends the daemon, with status 1") {
  TempDir dir;
  write_file(dir.file("job.sh"), "#!/bin/sh\nwhile [ ! -e " + dir.file("done") + " ]; do sleep 0.05; done\nexit 0\n",
             0755);
  Daemon d(dir, R"(
[program:job]
command=/bin/sh @DIR@/job.sh
critical=true
startsecs=0

[program:side]
command=/bin/sleep 1000
)");
  d.start();
  REQUIRE(d.wait_state("job", "RUNNING"));
  REQUIRE(d.wait_state("side", "RUNNING"));
  write_file(dir.file("done"), "");
  auto status = d.wait_exit();
  REQUIRE(status.has_value());
  CHECK(*status == 1);
  CHECK(d.log_count("CRIT critical program job exited (exit status 0); shutting down (supervisord will exit with status 1)") == 1);
  CHECK(d.log_count("stopped: side (terminated by SIGTERM)") == 1);
}

TEST_CASE("stopping a critical program, a reload, and a non-critical exit don't end the daemon") {
  TempDir dir;
  const std::string body = R"(
[program:api]
command=/bin/sleep 1000
critical=true

[program:helper]
command=/bin/sh -c 'exit 4'
startsecs=0
autorestart=false
)";
  Daemon d(dir, body);
  d.start();
  REQUIRE(d.wait_state("api", "RUNNING"));
  // A non-critical program's unexpected exit changes nothing.
  REQUIRE(d.wait_state("helper", "EXITED"));

  // SIGHUP: the restart stops api on purpose, then starts it again.
  pid_t before = d.pid_of("api");
  d.signal(SIGHUP);
  REQUIRE(d.wait_log("supervisord restarted with pid"));
  REQUIRE(d.wait_new_pid("api", before));

  // A stop request is not a failure either.
  RpcResult r = d.call("supervisor.stopProcess", {"api"});
  REQUIRE(r.ok());
  CHECK(d.state_of("api") == "STOPPED");
  RpcResult state = d.call("supervisor.getState");
  REQUIRE(state.ok());
  CHECK(str_field(state.value(), "statename") == "RUNNING");
  CHECK(d.log_count("critical program") == 0);
  CHECK_FALSE(d.wait_exit(0ms).has_value());

  // Started again and then failing, it does end the daemon.
  REQUIRE(d.call("supervisor.startProcess", {"api"}).ok());
  pid_t api = d.pid_of("api");
  REQUIRE(wait_exec(api, "/bin/sleep"));
  ::kill(api, SIGTERM);
  auto status = d.wait_exit();
  REQUIRE(status.has_value());
  CHECK(*status == 128 + SIGTERM);
  CHECK(d.log_count("CRIT critical program api exited (terminated by SIGTERM)") == 1);
}
