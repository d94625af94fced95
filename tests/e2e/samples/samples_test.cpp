// The tour configurations in conf.d/tour/ are copy-paste material for users:
// included as they are into a daemon's config, every program in them must
// reach the state the README promises.
#include <doctest/doctest.h>

#include <cstdlib>

#include "e2e/harness.hpp"

using namespace e2e;
using namespace std::chrono_literals;

namespace {

std::string samples_dir() {
  const char* d = std::getenv("SAMPLES_DIR");
  REQUIRE_MESSAGE(d != nullptr, "SAMPLES_DIR is not set (run through meson test)");
  return d;
}

}  // namespace

TEST_CASE("the tour configs run as shipped: held socket, health checks, sd_notify readiness, dependencies") {
  TempDir dir;
  Daemon d(dir, "[include]\nfiles = " + samples_dir() + "/tour/*.conf\n");
  d.start();
  // queue signals READY=1 after ~2 s; web and flaky wait for it (depends_on).
  REQUIRE(d.wait_state("queue", "RUNNING", 60s));
  CHECK(str_field(d.process_info("queue"), "description").find("accepting jobs") != std::string::npos);
  REQUIRE(d.wait_state("web:web_0", "RUNNING", 60s));
  REQUIRE(d.wait_state("web:web_1", "RUNNING", 60s));
  CHECK(str_field(d.process_info("web:web_0"), "health") == "healthy");
  LogLines log(d.log());
  auto queue_ready = log.find("success: queue entered RUNNING state");
  auto web_spawn = log.find("spawned: 'web_0'");
  REQUIRE(queue_ready);
  REQUIRE(web_spawn);
  CHECK(queue_ready->millis <= web_spawn->millis);
  // The web service answers on the socket the daemon holds.
  HttpResponse r = http_request("127.0.0.1:8765", "GET", "/");
  CHECK(r.status == 200);
  CHECK(r.body.find("hello from pid") != std::string::npos);
  // flaky crashes and comes back with a growing delay.
  CHECK(d.wait_log("spawned: 'flaky'", 3, 60s));
  // A rolling restart of the web group keeps the service answering.
  RpcResult roll = d.call("supervisor.rollingRestart", {xmlrpc::Value("web:*")});
  CHECK(roll.ok());
  HttpResponse after = http_request("127.0.0.1:8765", "GET", "/");
  CHECK(after.status == 200);
}
