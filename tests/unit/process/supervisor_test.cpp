// Supervisor: start order, ordered shutdown/restart, reread/add/remove,
// lookup, the pid map and state listeners, on a FakeRuntime.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>

#include "config/diff.hpp"
#include "fake_runtime.hpp"
#include "process/supervisor.hpp"

using namespace std::chrono_literals;
using sup::ProcessState;
using sup::SupervisorState;
using sup::testing::exited_with;
using sup::testing::group;
using sup::testing::group_of;
using sup::testing::Harness;
using sup::testing::KillCall;
using sup::testing::killed_by;
using sup::testing::program;

namespace {

sup::config::ProcessConfig prog(const std::string& name, int priority = 999) {
  auto p = program(name);
  p.priority = priority;
  return p;
}

// Namespecs in the order they entered STARTING.
std::vector<std::string> start_order(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& t : h.transitions)
    if (t.to == ProcessState::Starting) out.push_back(t.namespec);
  return out;
}

// Namespecs in the order they were sent their stop signal (SIGKILLs left out).
std::vector<std::string> signalled(const Harness& h) {
  std::vector<std::string> out;
  for (const auto& k : h.rt.kills) {
    if (k.sig == SIGKILL) continue;
    for (const auto& s : h.rt.spawns) {
      if (s.pid != k.pid) continue;
      std::string group_name, process_name;
      for (const auto& kv : s.spec.env) {
        if (kv.rfind("SUPERVISOR_GROUP_NAME=", 0) == 0) group_name = kv.substr(22);
        if (kv.rfind("SUPERVISOR_PROCESS_NAME=", 0) == 0) process_name = kv.substr(24);
      }
      out.push_back(group_name + ":" + process_name);
    }
  }
  return out;
}

// Three groups, each process up and RUNNING:
//   low (priority 1): l1;  mid (2): m1 (priority 1), m2 (priority 2);  high (3): h1.
sup::config::Config three_groups() {
  return sup::testing::config_of({
      group("mid", 2, {prog("m1", 1), prog("m2", 2)}),
      group("high", 3, {prog("h1")}),
      group("low", 1, {prog("l1")}),
  });
}

}  // namespace

TEST_SUITE("start order") {
  TEST_CASE("groups start in (priority, name) order, processes by (priority, name) within a group") {
    Harness h(sup::testing::config_of({
        group("beta", 10, {prog("e")}),
        group("alpha", 10, {prog("c", 999), prog("d", 1)}),
        group("zeta", 5, {prog("a", 2), prog("b", 1)}),
    }));
    h.start();
    CHECK(start_order(h) == std::vector<std::string>{"zeta:b", "zeta:a", "alpha:d", "alpha:c", "beta:e"});
    std::vector<std::string> names;
    for (const auto& g : h.sup->groups()) names.push_back(g->name());
    CHECK(names == std::vector<std::string>{"zeta", "alpha", "beta"});
    // Nothing waits for RUNNING: every autostart process is spawned at once.
    CHECK(h.rt.spawns.size() == 5);
    CHECK(h.rt.elapsed() == 0ms);
  }

  TEST_CASE("all_processes_by_name lists by (group, name) regardless of priority") {
    Harness h(sup::testing::config_of({group("b", 1, {prog("y", 1), prog("x", 2)}), group("a", 2, {prog("z")})}));
    h.start();
    std::vector<std::string> names;
    for (auto* p : h.sup->all_processes_by_name()) names.push_back(p->namespec());
    CHECK(names == std::vector<std::string>{"a:z", "b:x", "b:y"});
  }
}

TEST_SUITE("shutdown") {
  TEST_CASE("groups are stopped one at a time in descending priority, each fully before the next") {
    Harness h(three_groups());
    h.start();
    h.rt.advance(2s);
    int done = 0;
    h.sup->shutdown([&] { ++done; });
    CHECK(h.sup->mood() == SupervisorState::Shutdown);
    CHECK(signalled(h) == std::vector<std::string>{"high:h1"});
    h.rt.advance(5s);  // waiting for high: nobody else is touched meanwhile
    CHECK(signalled(h) == std::vector<std::string>{"high:h1"});
    CHECK(h.proc("mid:m1").state() == ProcessState::Running);

    h.rt.exit(h.proc("high:h1").pid(), killed_by(SIGTERM));
    // Inside a group: descending priority.
    CHECK(signalled(h) == std::vector<std::string>{"high:h1", "mid:m2", "mid:m1"});
    h.rt.exit(h.proc("mid:m2").pid(), killed_by(SIGTERM));
    CHECK(signalled(h).size() == 3);  // m1 still stopping: low waits
    CHECK(done == 0);
    h.rt.exit(h.proc("mid:m1").pid(), killed_by(SIGTERM));
    CHECK(signalled(h) == std::vector<std::string>{"high:h1", "mid:m2", "mid:m1", "low:l1"});
    CHECK(done == 0);
    h.rt.exit(h.proc("low:l1").pid(), exited_with(0));
    CHECK(done == 1);
    h.rt.advance(60s);
    CHECK(done == 1);
    CHECK(h.rt.spawns.size() == 4);  // nothing restarted
    for (auto* p : h.sup->all_processes_by_name()) CHECK(p->state() == ProcessState::Stopped);
  }

  TEST_CASE("a process ignoring its stop signal is SIGKILLed after stopwaitsecs; the next group waits for it") {
    auto cfg = three_groups();
    for (auto& g : cfg.groups)
      for (auto& p : g.processes) p.stopwaitsecs = 3;
    Harness h(std::move(cfg));
    h.start();
    h.rt.advance(2s);
    h.sup->shutdown([] {});
    pid_t h1 = h.proc("high:h1").pid();
    h.rt.advance(3s);
    CHECK(h.rt.kills.back() == KillCall{h1, SIGKILL, false});
    CHECK(h.proc("mid:m1").state() == ProcessState::Running);
    h.rt.exit(h1, killed_by(SIGKILL));
    CHECK(h.proc("mid:m1").state() == ProcessState::Stopping);
  }

  TEST_CASE("BACKOFF processes become FATAL; STARTING ones are stopped") {
    auto a = prog("a");
    a.startretries = 10;
    auto b = prog("b");
    b.startsecs = 100;
    Harness h(sup::testing::config_of({group("g", 5, {a, b}), group_of(prog("other", 1))}));
    h.start();
    h.rt.advance(2s);
    h.rt.exit(h.proc("g:a").pid(), exited_with(1));  // RUNNING -> EXITED -> STARTING
    h.rt.exit(h.proc("g:a").pid(), exited_with(1));  // STARTING -> BACKOFF
    REQUIRE(h.proc("g:a").state() == ProcessState::Backoff);
    REQUIRE(h.proc("g:b").state() == ProcessState::Starting);
    h.sup->shutdown([] {});
    CHECK(h.proc("g:a").state() == ProcessState::Fatal);
    CHECK(h.proc("g:b").state() == ProcessState::Stopping);
    CHECK(h.proc("other").state() == ProcessState::Running);
    h.rt.exit(h.proc("g:b").pid(), killed_by(SIGTERM));
    CHECK(h.proc("other").state() == ProcessState::Stopping);
    h.rt.advance(60s);
    CHECK(h.rt.spawns.size() == 4);
  }

  TEST_CASE("a BACKOFF process in a group not yet reached does not retry during shutdown") {
    auto late = prog("late", 1);
    late.startretries = 10;
    auto first = prog("first");
    first.stopwaitsecs = 100;
    Harness h(sup::testing::config_of({group_of(first), group("lowgrp", 1, {late})}));
    h.sup->start();
    // first's group has priority 999: stopped first. late has priority 1.
    h.rt.advance(2s);
    h.rt.exit(h.proc("lowgrp:late").pid(), exited_with(1));
    // late has been RUNNING, so this is RUNNING -> EXITED -> STARTING; make it fail quickly.
    h.rt.exit(h.proc("lowgrp:late").pid(), exited_with(1));
    REQUIRE(h.proc("lowgrp:late").state() == ProcessState::Backoff);
    std::size_t spawns = h.rt.spawns.size();
    h.sup->shutdown([] {});
    CHECK(h.proc("lowgrp:late").state() == ProcessState::Backoff);
    h.rt.advance(30s);  // its retry time passes while "first" is stopping
    CHECK(h.rt.spawns.size() == spawns);
    h.rt.exit(h.proc("first").pid(), killed_by(SIGTERM));
    CHECK(h.proc("lowgrp:late").state() == ProcessState::Fatal);
  }

  TEST_CASE("nothing restarts during shutdown, even autorestart=true") {
    auto keep = prog("keep");
    keep.autorestart = sup::config::AutoRestart::True;
    auto slow = prog("slow");
    Harness h(sup::testing::config_of({group("a", 1, {keep}), group("b", 2, {slow})}));
    h.start();
    h.rt.advance(2s);
    h.sup->shutdown([] {});
    h.rt.exit(h.proc("a:keep").pid(), exited_with(1));  // dies on its own while b is stopping
    CHECK(h.proc("a:keep").state() == ProcessState::Exited);
    h.rt.advance(30s);
    CHECK(h.rt.spawns.size() == 2);
    h.rt.exit(h.proc("b:slow").pid(), killed_by(SIGTERM));
    CHECK(h.rt.spawns.size() == 2);
  }

  TEST_CASE("with nothing running, done is called once, on the event loop") {
    auto p = prog("p");
    p.autostart = false;
    Harness h(sup::testing::config_of({group_of(p)}));
    h.start();
    int done = 0;
    h.sup->shutdown([&] { ++done; });
    CHECK(done == 0);  // never synchronously
    h.rt.run_posted();
    CHECK(done == 1);
    h.rt.advance(10s);
    CHECK(done == 1);
  }

  TEST_CASE("no start request succeeds while shutting down: exits stay EXITED, add_group does not autostart") {
    Harness h(three_groups());
    h.start();
    h.rt.advance(2s);
    auto fresh = three_groups();
    fresh.groups.push_back(group_of(prog("newcomer")));
    (void)h.sup->reload_config(fresh);
    h.sup->shutdown([] {});
    CHECK(h.sup->add_group("newcomer") == sup::Supervisor::AddResult::Added);
    CHECK(h.proc("newcomer").state() == ProcessState::Stopped);
    CHECK(h.rt.spawns.size() == 4);
  }
}

TEST_SUITE("restart") {
  TEST_CASE("restart stops in the same order and calls done once") {
    Harness h(three_groups());
    h.start();
    h.rt.advance(2s);
    int done = 0;
    h.sup->restart([&] { ++done; });
    CHECK(h.sup->mood() == SupervisorState::Restarting);
    CHECK(signalled(h) == std::vector<std::string>{"high:h1"});
    h.rt.exit(h.proc("high:h1").pid(), killed_by(SIGTERM));
    h.rt.exit(h.proc("mid:m2").pid(), killed_by(SIGTERM));
    h.rt.exit(h.proc("mid:m1").pid(), killed_by(SIGTERM));
    CHECK(done == 0);
    h.rt.exit(h.proc("low:l1").pid(), killed_by(SIGTERM));
    CHECK(done == 1);
    CHECK(signalled(h) == std::vector<std::string>{"high:h1", "mid:m2", "mid:m1", "low:l1"});
    h.rt.advance(60s);
    CHECK(done == 1);
    CHECK(h.rt.spawns.size() == 4);
  }

  TEST_CASE("a shutdown request during a restart turns it into a shutdown") {
    Harness h(three_groups());
    h.start();
    h.rt.advance(2s);
    int restarted = 0, shut = 0;
    h.sup->restart([&] { ++restarted; });
    h.sup->shutdown([&] { ++shut; });
    CHECK(h.sup->mood() == SupervisorState::Shutdown);
    CHECK(signalled(h) == std::vector<std::string>{"high:h1"});  // the stop in progress continues
    for (const char* n : {"high:h1", "mid:m2", "mid:m1", "low:l1"}) h.rt.exit(h.proc(n).pid(), killed_by(SIGTERM));
    CHECK(shut == 1);
    CHECK(restarted == 0);
  }

  TEST_CASE("a restart request during a shutdown is ignored") {
    Harness h(three_groups());
    h.start();
    h.rt.advance(2s);
    int restarted = 0, shut = 0;
    h.sup->shutdown([&] { ++shut; });
    h.sup->restart([&] { ++restarted; });
    CHECK(h.sup->mood() == SupervisorState::Shutdown);
    for (const char* n : {"high:h1", "mid:m2", "mid:m1", "low:l1"}) h.rt.exit(h.proc(n).pid(), killed_by(SIGTERM));
    CHECK(shut == 1);
    CHECK(restarted == 0);
  }
}

TEST_SUITE("reread, add, remove") {
  TEST_CASE("reload_config reports added, changed and removed groups; add/remove act on them") {
    Harness h(sup::testing::config_of({group_of(prog("a")), group_of(prog("b")), group_of(prog("d"))}));
    h.start();
    h.rt.advance(2s);

    auto b2 = prog("b");
    b2.argv = {"/bin/sh", "-c", "sleep 2000"};
    b2.command = "/bin/sh -c sleep 2000";
    auto diff = h.sup->reload_config(
        sup::testing::config_of({group_of(prog("a")), group_of(b2), group_of(prog("c"))}));
    CHECK(diff.added == std::vector<std::string>{"c"});
    CHECK(diff.changed == std::vector<std::string>{"b"});
    CHECK(diff.removed == std::vector<std::string>{"d"});
    // A reread alone changes nothing that runs.
    CHECK(h.sup->find_group("c") == nullptr);
    CHECK(h.proc("d").state() == ProcessState::Running);

    // add: the new group autostarts.
    CHECK(h.sup->add_group("c") == sup::Supervisor::AddResult::Added);
    CHECK(h.proc("c").state() == ProcessState::Starting);
    CHECK(h.sup->add_group("c") == sup::Supervisor::AddResult::AlreadyAdded);
    CHECK(h.sup->add_group("nope") == sup::Supervisor::AddResult::NoSuchGroup);

    // remove: refused while anything in the group runs.
    CHECK(h.sup->remove_group("d") == sup::Supervisor::RemoveResult::StillRunning);
    CHECK(h.sup->find_group("d") != nullptr);
    pid_t d_pid = h.proc("d").pid();
    REQUIRE(h.proc("d").stop() == "");
    h.rt.exit(d_pid, killed_by(SIGTERM));
    CHECK(h.sup->remove_group("d") == sup::Supervisor::RemoveResult::Removed);
    CHECK(h.sup->find_group("d") == nullptr);
    CHECK(h.sup->find_process("d") == nullptr);
    CHECK(h.sup->remove_group("d") == sup::Supervisor::RemoveResult::NoSuchGroup);

    // update of a changed group: stop, remove, add picks up the new command.
    REQUIRE(h.proc("b").stop() == "");
    h.rt.exit(h.proc("b").pid(), killed_by(SIGTERM));
    REQUIRE(h.sup->remove_group("b") == sup::Supervisor::RemoveResult::Removed);
    REQUIRE(h.sup->add_group("b") == sup::Supervisor::AddResult::Added);
    CHECK(h.rt.spawns.back().spec.argv == b2.argv);
    CHECK(h.proc("b").state() == ProcessState::Starting);

    // Comparing again: the active groups now match the configuration.
    auto again = h.sup->reload_config(
        sup::testing::config_of({group_of(prog("a")), group_of(b2), group_of(prog("c"))}));
    CHECK(again.empty());
  }

  TEST_CASE("an added group takes its place in priority order") {
    Harness h(sup::testing::config_of({group("a", 10, {prog("x")}), group("c", 30, {prog("y")})}));
    h.start();
    (void)h.sup->reload_config(sup::testing::config_of(
        {group("a", 10, {prog("x")}), group("b", 20, {prog("z")}), group("c", 30, {prog("y")})}));
    REQUIRE(h.sup->add_group("b") == sup::Supervisor::AddResult::Added);
    std::vector<std::string> names;
    for (const auto& g : h.sup->groups()) names.push_back(g->name());
    CHECK(names == std::vector<std::string>{"a", "b", "c"});
  }

  TEST_CASE("a removed group's FATAL/EXITED processes do not block removal") {
    auto p = prog("p");
    p.startretries = 0;
    Harness h(sup::testing::config_of({group_of(p)}));
    h.start();
    h.rt.exit(100, exited_with(1));
    REQUIRE(h.proc("p").state() == ProcessState::Fatal);
    (void)h.sup->reload_config(sup::testing::config_of({}));
    CHECK(h.sup->remove_group("p") == sup::Supervisor::RemoveResult::Removed);
    CHECK(h.sup->groups().empty());
  }
}

TEST_SUITE("lookup and reaping") {
  TEST_CASE("find_process by group:name and by name when the group has the same name") {
    Harness h(sup::testing::config_of({group("g", 1, {prog("a"), prog("b")}), group_of(prog("web"))}));
    h.start();
    REQUIRE(h.sup->find_process("g:a") != nullptr);
    CHECK(h.sup->find_process("g:a")->name() == "a");
    CHECK(h.sup->find_process("g:b")->namespec() == "g:b");
    CHECK(h.sup->find_process("web") != nullptr);
    CHECK(h.sup->find_process("web")->namespec() == "web");
    CHECK(h.sup->find_process("web:web") == h.sup->find_process("web"));
    CHECK(h.sup->find_process("g") == nullptr);
    CHECK(h.sup->find_process("a") == nullptr);
    CHECK(h.sup->find_process("g:zzz") == nullptr);
    CHECK(h.sup->find_process("nope:a") == nullptr);
  }

  TEST_CASE("reaping an unknown pid is harmless") {
    Harness h(sup::testing::config_of({group_of(prog("p"))}));
    h.start();
    auto before = h.transitions.size();
    h.rt.exit(4242, exited_with(0));
    CHECK(h.transitions.size() == before);
    CHECK(h.proc("p").state() == ProcessState::Starting);
    CHECK(h.proc("p").pid() == 100);
  }

  TEST_CASE("a stale pid of an earlier run does not touch the current run") {
    Harness h(sup::testing::config_of({group_of(prog("p"))}));
    h.start();
    h.rt.advance(2s);
    h.rt.exit(100, exited_with(1));  // unexpected: respawned as 101
    REQUIRE(h.proc("p").pid() == 101);
    h.rt.exit(100, exited_with(1));
    CHECK(h.proc("p").pid() == 101);
    CHECK(h.proc("p").state() == ProcessState::Starting);
    h.rt.advance(1s);
    h.rt.exit(101, exited_with(0));
    CHECK(h.proc("p").state() == ProcessState::Exited);
  }
}

TEST_SUITE("listeners and environment") {
  TEST_CASE("listeners see every transition in order, as (from, to) pairs") {
    auto p = prog("p");
    p.startretries = 1;
    Harness h(sup::testing::config_of({group_of(p)}));
    std::vector<std::pair<ProcessState, ProcessState>> seen;
    h.sup->subscribe([&](sup::Process& proc, ProcessState from, ProcessState to) {
      CHECK(proc.state() == to);  // the new state is already visible
      seen.emplace_back(from, to);
    });
    h.start();
    h.rt.exit(100, exited_with(1));
    h.rt.advance(1s);
    h.rt.advance(1s);
    REQUIRE(h.proc("p").stop() == "");
    h.rt.exit(101, killed_by(SIGTERM));
    using S = ProcessState;
    std::vector<std::pair<S, S>> want = {{S::Stopped, S::Starting}, {S::Starting, S::Backoff},
                                         {S::Backoff, S::Starting}, {S::Starting, S::Running},
                                         {S::Running, S::Stopping}, {S::Stopping, S::Stopped}};
    CHECK(seen == want);
  }

  TEST_CASE("a listener may unsubscribe itself; others keep receiving") {
    Harness h(sup::testing::config_of({group_of(prog("p"))}));
    int id = 0, first = 0;
    id = h.sup->subscribe([&](sup::Process&, ProcessState, ProcessState) {
      ++first;
      h.sup->unsubscribe(id);
    });
    h.start();
    h.rt.advance(2s);
    CHECK(first == 1);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING");
  }

  TEST_CASE("children get the daemon environment, [supervisord] environment=, and SUPERVISOR_SERVER_URL") {
    auto cfg = sup::testing::config_of({group_of(prog("p"))});
    cfg.supervisord.environment = {{"HOME", "/home/sup"}, {"EXTRA", "1"}};
    sup::config::HttpServerConfig unix_server;
    unix_server.kind = sup::config::HttpServerConfig::Kind::Unix;
    unix_server.file = "/run/supervisor.sock";
    cfg.servers.push_back(unix_server);
    Harness h(std::move(cfg), {{"HOME", "/root"}, {"LANG", "C"}}, true);
    REQUIRE(h.rt.spawns.size() == 1);
    const auto& env = h.rt.spawns[0].spec.env;
    auto has = [&](const std::string& kv) { return std::find(env.begin(), env.end(), kv) != env.end(); };
    CHECK(has("HOME=/home/sup"));
    CHECK_FALSE(has("HOME=/root"));
    CHECK(has("LANG=C"));
    CHECK(has("EXTRA=1"));
    CHECK(has("SUPERVISOR_SERVER_URL=unix:///run/supervisor.sock"));
  }

  TEST_CASE("an inet server gives an http:// SUPERVISOR_SERVER_URL") {
    auto cfg = sup::testing::config_of({group_of(prog("p"))});
    sup::config::HttpServerConfig inet;
    inet.kind = sup::config::HttpServerConfig::Kind::Inet;
    inet.host = "*";
    inet.port = 9001;
    cfg.servers.push_back(inet);
    Harness h(std::move(cfg), Harness::default_env(), true);
    CHECK(h.sup->auto_server_url() == "http://localhost:9001");
  }
}
