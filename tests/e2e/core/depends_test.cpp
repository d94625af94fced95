// depends_on= (issue 5) end to end: a three-program chain starts in
// dependency order, each once the previous one is RUNNING, and stops in
// reverse order at shutdown, although priorities say the opposite.
#include <signal.h>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("a dependency chain starts in order and stops in reverse at shutdown") {
  TempDir dir;
  Daemon d(dir, R"(
[program:db]
command=/bin/sh -c 'exec sleep 1000'
startsecs=1
priority=300
[program:api]
command=/bin/sh -c 'exec sleep 1000'
startsecs=1
priority=200
depends_on=db
[program:web]
command=/bin/sh -c 'exec sleep 1000'
startsecs=1
priority=100
depends_on=api
)");
  d.start();
  REQUIRE(d.wait_state("web", "RUNNING"));
  CHECK(d.state_of("db") == "RUNNING");
  CHECK(d.state_of("api") == "RUNNING");
  d.signal(SIGTERM);
  REQUIRE(d.wait_exit().has_value());

  LogLines log(d.log());
  auto index = [&](const std::string& needle) -> long long {
    auto l = log.find(needle);
    INFO("log line: " << needle);
    CHECK(l.has_value());
    return l ? static_cast<long long>(l->index) : -1;
  };
  const long long db_spawned = index("spawned: 'db'");
  const long long db_success = index("success: db entered RUNNING state");
  const long long api_spawned = index("spawned: 'api'");
  const long long api_success = index("success: api entered RUNNING state");
  const long long web_spawned = index("spawned: 'web'");
  const long long web_success = index("success: web entered RUNNING state");
  // Each spawns only after the one it depends on is RUNNING.
  CHECK(db_spawned < db_success);
  CHECK(db_success < api_spawned);
  CHECK(api_spawned < api_success);
  CHECK(api_success < web_spawned);
  CHECK(web_spawned < web_success);
  // Shutdown: dependents first, each after the previous one has stopped.
  const long long web_stopped = index("stopped: web");
  const long long api_stopped = index("stopped: api");
  const long long db_stopped = index("stopped: db");
  CHECK(web_stopped < api_stopped);
  CHECK(api_stopped < db_stopped);
}

TEST_CASE("a dependency cycle is refused with exit status 2 and one line") {
  TempDir dir;
  Daemon d(dir, R"(
[program:web]
command=/bin/cat
depends_on=api
[program:api]
command=/bin/cat
depends_on=web
)");
  d.start({"-n"}, /*wait_ready=*/false);
  auto rc = d.wait_exit();
  REQUIRE(rc.has_value());
  CHECK(*rc == 2);
  CHECK(d.captured_stderr().find("dependency cycle: web -> api -> web") != std::string::npos);
}
