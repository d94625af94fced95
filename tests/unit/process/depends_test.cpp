// depends_on= (issue 5): start order along a dependency chain, reverse
// order at shutdown, a FATAL dependency, and start requests that start the
// dependencies first; on a FakeRuntime with the manual clock.
#include <doctest/doctest.h>
#include <signal.h>

#include <map>

#include "fake_runtime.hpp"
#include "process/supervisor.hpp"

using namespace std::chrono_literals;
using sup::ProcessState;
using sup::testing::group_of;
using sup::testing::Harness;
using sup::testing::killed_by;
using sup::testing::program;

namespace {

// a <- b <- c (c depends on b, b on a). Priorities run against the chain
// (c would start first and stop last), so only depends_on can explain the order.
sup::config::Config chain(bool autostart = true) {
  auto make = [&](const std::string& name, int priority, std::vector<std::string> deps) {
    auto p = program(name);
    p.priority = priority;
    p.autostart = autostart;
    p.depends_on = std::move(deps);
    return group_of(p);
  };
  return sup::testing::config_of({make("a", 300, {}), make("b", 200, {"a"}), make("c", 100, {"b"})});
}

std::vector<std::string> started(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& t : h.transitions)
    if (t.to == ProcessState::Starting) out.push_back(t.namespec);
  return out;
}

// Names of the processes sent a (non-SIGKILL) signal, in order; pids maps
// each name to its pid.
std::vector<std::string> signalled(const Harness& h, const std::map<std::string, pid_t>& pids) {
  std::vector<std::string> out;
  for (const auto& k : h.rt.kills)
    for (const auto& [name, pid] : pids)
      if (k.sig != SIGKILL && pid == k.pid) out.push_back(name);
  return out;
}

}  // namespace

TEST_SUITE("depends_on") {
  TEST_CASE("a chain starts in dependency order, each only once the previous one is RUNNING") {
    Harness h(chain());
    h.start();
    CHECK(started(h) == std::vector<std::string>{"a"});
    CHECK(h.proc("b").state() == ProcessState::Stopped);
    CHECK(h.proc("c").state() == ProcessState::Stopped);
    CHECK(h.sup->is_waiting(h.proc("b")));
    h.rt.advance(999ms);  // a is still STARTING (startsecs=1)
    CHECK(started(h) == std::vector<std::string>{"a"});
    h.rt.advance(2ms);
    CHECK(h.proc("a").state() == ProcessState::Running);
    CHECK(started(h) == std::vector<std::string>{"a", "b"});
    CHECK(h.proc("c").state() == ProcessState::Stopped);
    h.rt.advance(1001ms);
    CHECK(h.proc("b").state() == ProcessState::Running);
    CHECK(started(h) == std::vector<std::string>{"a", "b", "c"});
    h.rt.advance(1001ms);
    CHECK(h.proc("c").state() == ProcessState::Running);
    CHECK_FALSE(h.sup->is_waiting(h.proc("c")));
  }

  TEST_CASE("shutdown stops dependents first, each after the previous one has stopped") {
    Harness h(chain());
    h.start();
    for (int i = 0; i < 4; ++i) h.rt.advance(1001ms);
    REQUIRE(h.proc("c").state() == ProcessState::Running);
    const std::map<std::string, pid_t> pids = {
        {"a", h.proc("a").pid()}, {"b", h.proc("b").pid()}, {"c", h.proc("c").pid()}};
    bool done = false;
    h.sup->shutdown([&] { done = true; });
    h.rt.run_posted();
    CHECK(signalled(h, pids) == std::vector<std::string>{"c"});
    CHECK(h.proc("a").state() == ProcessState::Running);
    h.rt.exit(h.proc("c").pid(), killed_by(SIGTERM));
    h.rt.run_posted();
    CHECK(signalled(h, pids) == std::vector<std::string>{"c", "b"});
    CHECK(h.proc("a").state() == ProcessState::Running);
    h.rt.exit(h.proc("b").pid(), killed_by(SIGTERM));
    h.rt.run_posted();
    CHECK(signalled(h, pids) == std::vector<std::string>{"c", "b", "a"});
    CHECK_FALSE(done);
    h.rt.exit(h.proc("a").pid(), killed_by(SIGTERM));
    h.rt.run_posted();
    CHECK(done);
  }

  TEST_CASE("a dependency that enters FATAL leaves its waiting dependents STOPPED with a spawnerr") {
    Harness h(chain());
    h.rt.spawn_error = "can't find command 'nothing'";
    h.start();
    for (int i = 0; i < 20 && h.proc("a").state() != ProcessState::Fatal; ++i) h.rt.advance(1s);
    REQUIRE(h.proc("a").state() == ProcessState::Fatal);
    CHECK(h.proc("b").state() == ProcessState::Stopped);
    CHECK(h.proc("b").spawnerr() == "dependency 'a' entered FATAL state");
    CHECK(h.proc("c").state() == ProcessState::Stopped);
    CHECK(h.proc("c").spawnerr() == "dependency 'b' did not start: dependency 'a' entered FATAL state");
    CHECK_FALSE(h.sup->is_waiting(h.proc("b")));
    CHECK_FALSE(h.sup->is_waiting(h.proc("c")));
    CHECK(h.proc("b").laststart() == 0);
    // Nothing starts them later.
    h.rt.spawn_error.reset();
    h.rt.advance(10s);
    CHECK(h.proc("b").state() == ProcessState::Stopped);
  }

  TEST_CASE("a start request starts the dependencies first, then the process once they are RUNNING") {
    Harness h(chain(/*autostart=*/false));
    h.start();
    CHECK(started(h).empty());
    CHECK_FALSE(h.sup->request_start(h.proc("c")));
    CHECK(started(h) == std::vector<std::string>{"a"});
    CHECK(h.sup->is_waiting(h.proc("b")));
    CHECK(h.sup->is_waiting(h.proc("c")));
    h.rt.advance(1001ms);
    CHECK(started(h) == std::vector<std::string>{"a", "b"});
    h.rt.advance(1001ms);
    CHECK(started(h) == std::vector<std::string>{"a", "b", "c"});
    h.rt.advance(1001ms);
    CHECK(h.proc("c").state() == ProcessState::Running);
    // With its dependencies RUNNING, a start request spawns at once.
    const pid_t pid = h.proc("c").pid();
    CHECK(h.proc("c").stop() == "");
    h.rt.exit(pid, killed_by(SIGTERM));
    h.rt.run_posted();
    REQUIRE(is_stopped_state(h.proc("c").state()));
    CHECK(h.sup->request_start(h.proc("c")));
    CHECK(h.proc("c").state() == ProcessState::Starting);
  }

  TEST_CASE("processes without a dependency relation keep their priority order") {
    auto cfg = chain();
    auto x = program("x");
    x.priority = 1;
    cfg.groups.push_back(group_of(x));
    Harness h(std::move(cfg));
    h.start();
    CHECK(started(h) == std::vector<std::string>{"x", "a"});
  }

  TEST_CASE("an autostart program pulls in a dependency that has autostart=false") {
    auto dep = program("db");
    dep.autostart = false;
    auto web = program("web");
    web.depends_on = {"db"};
    Harness h(sup::testing::config_of({group_of(dep), group_of(web)}));
    h.start();
    CHECK(started(h) == std::vector<std::string>{"db"});
    CHECK(h.sup->is_waiting(h.proc("web")));
    h.rt.advance(1001ms);
    CHECK(h.proc("db").state() == ProcessState::Running);
    CHECK(started(h) == std::vector<std::string>{"db", "web"});
  }

  TEST_CASE("a dependency stopped by hand while starting leaves its dependents STOPPED, not waiting forever") {
    Harness h(chain());
    h.start();
    REQUIRE(h.proc("a").state() == ProcessState::Starting);
    REQUIRE(h.sup->is_waiting(h.proc("b")));
    const pid_t pid = h.proc("a").pid();
    CHECK(h.proc("a").stop() == "");
    h.rt.exit(pid, killed_by(SIGTERM));
    h.rt.run_posted();
    REQUIRE(h.proc("a").state() == ProcessState::Stopped);
    CHECK_FALSE(h.sup->is_waiting(h.proc("b")));
    CHECK_FALSE(h.sup->is_waiting(h.proc("c")));
    CHECK(h.proc("b").spawnerr() == "dependency 'a' was stopped");
    CHECK(h.proc("c").spawnerr() == "dependency 'b' did not start: dependency 'a' was stopped");
    h.rt.advance(10s);
    CHECK(started(h) == std::vector<std::string>{"a"});
    // A later start request still works, dependencies first.
    CHECK_FALSE(h.sup->request_start(h.proc("c")));
    h.rt.advance(1001ms);
    h.rt.advance(1001ms);
    h.rt.advance(1001ms);
    CHECK(h.proc("c").state() == ProcessState::Running);
  }
}
