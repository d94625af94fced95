// Process trees: a program that forks grandchildren (and a great-grandchild)
// and then keeps running or exits. With stopasgroup/killasgroup the whole
// process group goes at `stop`; without, only the program's own pid is
// signalled and its descendants remain, exactly as with supervisord 4.2.5
// (run side by side as the oracle when it is installed).
#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "faults_support.hpp"

using namespace e2e;

namespace {

// The program: records its pid, forks `sleep 1000` and a shell that forks
// `sleep 1001`, then either keeps running as `sleep 1002` or exits 0. Every
// member ignores SIGTERM (an ignored signal survives fork and exec), so only
// SIGKILL ends them: what is left after `stop` shows who was signalled.
std::string tree_script(const TempDir& dir, bool exits) {
  std::string d = dir.path();
  std::string s = "#!/bin/sh\n"
                  "trap '' TERM\n"
                  "echo $$ > " + d + "/main.pid\n"
                  "sleep 1000 &\n"
                  "echo $! > " + d + "/gc.1\n"
                  "sh -c 'sleep 1001 & echo $! > " + d + "/gc.3; wait' &\n"
                  "echo $! > " + d + "/gc.2\n";
  s += exits ? "exit 0\n" : "exec sleep 1002\n";
  return s;
}

struct TreeOutcome {
  std::string stop_output;            // what `supervisorctl stop tree` printed
  std::string state;                  // tree's state after the stop
  std::size_t tree_size = 0;          // live members of the group before the stop
  std::vector<pid_t> survivors;       // live members of the group after the stop
  bool main_alive_after = false;
};

// Runs the tree under the daemon $SUPERVISORD names (ours, or the oracle via
// UseSupervisord) and stops it with our supervisorctl.
TreeOutcome run_tree(bool exits, const std::string& options) {
  TempDir dir("tree");
  write_file(dir.file("tree.sh"), tree_script(dir, exits), 0755);
  Daemon d(dir, "[program:tree]\ncommand=/bin/sh " + dir.file("tree.sh") + "\nstartsecs=0\nautorestart=false\n" +
                    "stopwaitsecs=1\n" + options);
  d.start();
  TreeOutcome out;
  pid_t main = 0, gc1 = 0, gc2 = 0, gc3 = 0;
  REQUIRE(wait_until([&] {
    main = read_pid_file(dir.file("main.pid"));
    gc1 = read_pid_file(dir.file("gc.1"));
    gc2 = read_pid_file(dir.file("gc.2"));
    gc3 = read_pid_file(dir.file("gc.3"));
    return main > 0 && gc1 > 0 && gc2 > 0 && gc3 > 0;
  }));
  // The program leads its own process group (the spawner's setpgid).
  const pid_t pgid = main;
  std::vector<pid_t> tree{gc1, gc2, gc3};
  if (exits) {
    REQUIRE(d.wait_state("tree", "EXITED"));
  } else {
    REQUIRE(d.wait_state("tree", "RUNNING"));
    REQUIRE(wait_exec(main, "sleep"));
    tree.push_back(main);
  }
  REQUIRE(wait_exec(gc1, "sleep"));
  REQUIRE(wait_exec(gc3, "sleep"));
  for (pid_t p : tree) {
    auto st = proc_stat(p);
    REQUIRE(st.has_value());
    CHECK(st->pgrp == pgid);
  }
  out.tree_size = faults::group_members(pgid).size();

  CommandResult r = faults::ctl(d, {"stop", "tree"});
  out.stop_output = r.out;
  out.state = d.state_of("tree");
  // Members that are going die within moments of the stop (SIGKILL is
  // asynchronous); what is still alive at the deadline stays.
  wait_until([&] { return faults::group_members(pgid).empty(); }, 2s);
  out.survivors = faults::group_members(pgid);
  out.main_alive_after = pid_alive(main);
  // The test's own cleanup: the daemon is not expected to end these.
  faults::kill_all(out.survivors);
  CHECK(wait_until([&] { return faults::group_members(pgid).empty(); }));
  return out;
}

// Runs the same case under Debian's supervisord when installed.
std::optional<TreeOutcome> run_tree_oracle(bool exits, const std::string& options) {
  const std::string oracle = faults::oracle_supervisord();
  if (oracle.empty()) {
    MESSAGE("Debian's /usr/bin/supervisord is not installed: checked against the documented behaviour only");
    return std::nullopt;
  }
  faults::UseSupervisord use(oracle);
  return run_tree(exits, options);
}

}  // namespace

TEST_CASE("stopasgroup+killasgroup: stop leaves no member of a running program's process group alive") {
  TreeOutcome ours = run_tree(false, "stopasgroup=true\nkillasgroup=true\n");
  CHECK(ours.tree_size == 4);  // the program, two grandchildren, one great-grandchild
  CHECK(ours.stop_output == "tree: stopped\n");
  CHECK(ours.state == "STOPPED");
  CHECK_MESSAGE(ours.survivors.empty(), ours.survivors.size() << " members of the group survived the stop");
  CHECK_FALSE(ours.main_alive_after);
  if (auto ref = run_tree_oracle(false, "stopasgroup=true\nkillasgroup=true\n")) {
    CHECK(ref->stop_output == ours.stop_output);
    CHECK(ref->survivors.size() == ours.survivors.size());
  }
}

TEST_CASE("without stopasgroup only the program is killed: its grandchildren remain, as with supervisord") {
  TreeOutcome ours = run_tree(false, "");
  CHECK(ours.tree_size == 4);
  CHECK(ours.stop_output == "tree: stopped\n");
  CHECK(ours.state == "STOPPED");
  CHECK_FALSE(ours.main_alive_after);
  // Two grandchildren and the great-grandchild: nothing signalled them.
  CHECK(ours.survivors.size() == 3);
  if (auto ref = run_tree_oracle(false, "")) {
    CHECK(ref->stop_output == ours.stop_output);
    CHECK(ref->state == ours.state);
    CHECK(ref->survivors.size() == ours.survivors.size());
  }
}

TEST_CASE("a program that forked and exited: stop is NOT_RUNNING and its orphans remain, as with supervisord") {
  // Even with stopasgroup, a program that already exited has no group
  // leader to stop: supervisord tracks the pid it spawned, not its descendants.
  TreeOutcome ours = run_tree(true, "stopasgroup=true\nkillasgroup=true\n");
  CHECK(ours.tree_size == 3);
  CHECK(ours.stop_output == "tree: ERROR (not running)\n");
  CHECK(ours.state == "EXITED");
  CHECK(ours.survivors.size() == 3);
  if (auto ref = run_tree_oracle(true, "stopasgroup=true\nkillasgroup=true\n")) {
    CHECK(ref->stop_output == ours.stop_output);
    CHECK(ref->state == ours.state);
    CHECK(ref->survivors.size() == ours.survivors.size());
  }
}
