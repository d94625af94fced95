// Health checks end to end: real HTTP/TCP servers on 127.0.0.1 and exec
// checks, observed through getProcessInfo and the daemon's log.
#include <doctest/doctest.h>

#include <filesystem>

#include "e2e/harness.hpp"
#include "health_support.hpp"

using namespace e2e;
using e2e::health::subst;

namespace {

std::string field(const xmlrpc::Value& info, const std::string& key) { return str_field(info, key); }

bool wait_health(const Daemon& d, const std::string& name, const std::string& health) {
  return wait_until([&] { return field(d.process_info(name), "health") == health; });
}

// Milliseconds between the first log line containing `a` and the first later
// line containing `b`; -1 when either is missing.
long long log_gap(const Daemon& d, const std::string& a, const std::string& b) {
  LogLines lines(d.log());
  auto first = lines.find(a);
  if (!first) return -1;
  auto second = lines.find(b, first->index + 1);
  if (!second) return -1;
  return second->millis - first->millis;
}

}  // namespace

TEST_CASE("an HTTP server that stops answering is restarted after retries failed probes") {
  TempDir dir;
  int port = e2e::health::free_port();
  std::string server = e2e::health::write_server(dir);
  Daemon d(dir, subst(subst(R"(
[program:web]
command=/usr/bin/python3 @SERVER@ @PORT@
startsecs=1
stopwaitsecs=5
healthcheck=http://127.0.0.1:@PORT@/healthz
healthcheck_interval=1
healthcheck_timeout=1
healthcheck_retries=2
)", "@SERVER@", server), "@PORT@", std::to_string(port)));
  d.start();
  REQUIRE(d.wait_state("web", "RUNNING"));
  REQUIRE(wait_health(d, "web", "healthy"));
  xmlrpc::Value info = d.process_info("web");
  CHECK(field(info, "health_detail") == "GET http://127.0.0.1:" + std::to_string(port) + "/healthz: HTTP 200");
  CHECK(field(info, "description").find(", healthy") != std::string::npos);
  CHECK(int_field(info, "restarts") == 0);
  pid_t old_pid = d.pid_of("web");

  write_file(dir.file("hang"), "");  // the server keeps its port open but stops answering
  std::string expected = "web: health check failed 2 times (GET http://127.0.0.1:" + std::to_string(port) +
                         "/healthz: timeout after 1s); restarting";
  // interval x retries + timeout, with a generous margin.
  REQUIRE(d.wait_log(expected));
  REQUIRE(d.wait_new_pid("web", old_pid));
  CHECK_FALSE(pid_alive(old_pid));
  CHECK(int_field(d.process_info("web"), "restarts") == 1);
  // The restarted server (which removed the hang file) is healthy again.
  CHECK(wait_health(d, "web", "healthy"));
  CHECK(d.log_count("restarting") == 1);
}

TEST_CASE("a TCP check passes while the port accepts and restarts the program when it doesn't") {
  TempDir dir;
  int port = e2e::health::free_port();
  int closed = e2e::health::free_port();
  std::string server = e2e::health::write_server(dir);
  Daemon d(dir, subst(subst(subst(R"(
[program:up]
command=/usr/bin/python3 @SERVER@ @PORT@
healthcheck=tcp://127.0.0.1:@PORT@
healthcheck_interval=1

[program:down]
command=/bin/sleep 1000
healthcheck=tcp://127.0.0.1:@CLOSED@
healthcheck_interval=1
healthcheck_retries=1
)", "@SERVER@", server), "@PORT@", std::to_string(port)), "@CLOSED@", std::to_string(closed)));
  d.start();
  REQUIRE(wait_health(d, "up", "healthy"));
  CHECK(field(d.process_info("up"), "health_detail") == "connect 127.0.0.1:" + std::to_string(port) + ": connected");
  REQUIRE(d.wait_log("down: health check failed 1 times (connect 127.0.0.1:" + std::to_string(closed) +
                     ": Connection refused); restarting"));
  CHECK(wait_until([&] { return int_field(d.process_info("down"), "restarts") >= 1; }));
  CHECK(d.state_of("up") == "RUNNING");
  CHECK(int_field(d.process_info("up"), "restarts") == 0);
}

TEST_CASE("an exec check runs in the program's directory and environment; exit 0 is healthy") {
  TempDir dir;
  Daemon d(dir, R"(
[program:worker]
command=/bin/sleep 1000
directory=@DIR@
environment=FLAG=ok
healthcheck=exec:/bin/sh -c 'test -f "$FLAG" || { echo "no file $FLAG" >&2; exit 3; }'
healthcheck_interval=1
healthcheck_retries=2
healthcheck_action=none
)");
  write_file(dir.file("ok"), "");
  d.start();
  REQUIRE(wait_health(d, "worker", "healthy"));
  CHECK(field(d.process_info("worker"), "health_detail") == "exec /bin/sh: exit status 0");
  std::filesystem::remove(dir.file("ok"));
  REQUIRE(wait_health(d, "worker", "unhealthy"));
  CHECK(field(d.process_info("worker"), "health_detail") == "exec /bin/sh: exit status 3 (no file ok)");
  // healthcheck_action=none: logged, not restarted.
  CHECK(d.wait_log("worker: health check failed 2 times (exec /bin/sh: exit status 3 (no file ok)); "
                   "healthcheck_action=none"));
  CHECK(d.state_of("worker") == "RUNNING");
  CHECK(int_field(d.process_info("worker"), "restarts") == 0);
  CHECK(d.log_count("reaped unknown pid") == 0);  // probe children are reaped silently
  write_file(dir.file("ok"), "");
  CHECK(wait_health(d, "worker", "healthy"));
}

TEST_CASE("an exec check that hangs is cut off at its timeout") {
  TempDir dir;
  Daemon d(dir, R"(
[program:slow]
command=/bin/sleep 1000
healthcheck=exec:/bin/sleep 30
healthcheck_interval=1
healthcheck_timeout=1
healthcheck_retries=1
)");
  d.start();
  REQUIRE(d.wait_log("slow: health check failed 1 times (exec /bin/sleep: timeout after 1s); restarting"));
}

TEST_CASE("failures during healthcheck_start_period are ignored") {
  TempDir dir;
  int closed = e2e::health::free_port();
  Daemon d(dir, subst(R"(
[program:warm]
command=/bin/sleep 1000
healthcheck=tcp://127.0.0.1:@CLOSED@
healthcheck_interval=1
healthcheck_retries=1
healthcheck_start_period=4
)", "@CLOSED@", std::to_string(closed)));
  d.start();
  REQUIRE(d.wait_log("warm: health check failed 1 times"));
  long long gap = log_gap(d, "spawned: 'warm'", "warm: health check failed");
  CAPTURE(gap);
  CHECK(gap >= 4000);
  CHECK(gap < 8000);
}

TEST_CASE("ready=healthcheck: RUNNING at the first passing probe; never passing is a failed start") {
  TempDir dir;
  int port = e2e::health::free_port();
  int closed = e2e::health::free_port();
  std::string server = e2e::health::write_server(dir);
  Daemon d(dir, subst(subst(subst(R"(
[program:slowstart]
command=/usr/bin/python3 @SERVER@ @PORT@ 3
startsecs=1
ready=healthcheck
healthcheck=http://127.0.0.1:@PORT@/healthz
healthcheck_interval=1
healthcheck_start_period=15

[program:never]
command=/bin/sleep 1000
startsecs=2
startretries=0
ready=healthcheck
healthcheck=tcp://127.0.0.1:@CLOSED@
healthcheck_interval=1
)", "@SERVER@", server), "@PORT@", std::to_string(port)), "@CLOSED@", std::to_string(closed)));
  d.start();
  // startsecs (1 s) does not make it RUNNING: the server only listens after 3 s.
  REQUIRE(d.wait_state("slowstart", "RUNNING"));
  CHECK(d.log_count("slowstart entered RUNNING state") == 1);
  long long gap = log_gap(d, "spawned: 'slowstart'", "success: slowstart entered RUNNING state, health check passed");
  CAPTURE(gap);
  CHECK(gap >= 3000);
  CHECK(field(d.process_info("slowstart"), "health") == "healthy");

  REQUIRE(d.wait_state("never", "FATAL"));
  CHECK(field(d.process_info("never"), "spawnerr") == "no passing health check within 2 seconds");
  CHECK(d.log_count("never: no passing health check within 2 seconds; stopping it") == 1);
}
