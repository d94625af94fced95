// supervisord's per-process state machine (SUPERVISORD-REFERENCE.md 1b),
// driven through a Supervisor on a FakeRuntime: manual clock, no fork.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fake_runtime.hpp"
#include "process/process.hpp"

using namespace std::chrono_literals;
using sup::ProcessState;
using sup::testing::exited_with;
using sup::testing::Harness;
using sup::testing::killed_by;

namespace {

constexpr const char* kTooQuickly = "Exited too quickly (process log may have details)";

// One program "p" with the given tweaks, started.
template <class Tweak>
Harness started(Tweak tweak) {
  auto pc = sup::testing::program("p");
  tweak(pc);
  return Harness(sup::testing::config_of({sup::testing::group_of(pc)}), Harness::default_env(), true);
}
Harness started() {
  return started([](sup::config::ProcessConfig&) {});
}

bool has_env(const sup::SpawnSpec& spec, const std::string& kv) {
  return std::find(spec.env.begin(), spec.env.end(), kv) != spec.env.end();
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "unit_process_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_SUITE("autostart") {
  TEST_CASE("an autostart program is spawned at start-up with its argv and environment") {
    auto pc = sup::testing::program("web", {"/bin/sh", "-c", "exec sleep 1000"});
    pc.environment = {{"PATH", "/bin"}, {"COLOR", "blue"}};
    Harness h(sup::testing::config_of({sup::testing::group_of(pc)}), {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}});
    h.start();

    REQUIRE(h.rt.spawns.size() == 1);
    const auto& spec = h.rt.spawns[0].spec;
    CHECK(spec.filename == "/bin/sh");
    CHECK(spec.argv == std::vector<std::string>{"/bin/sh", "-c", "exec sleep 1000"});
    CHECK(has_env(spec, "HOME=/root"));
    CHECK(has_env(spec, "PATH=/bin"));  // the program's environment= wins over the daemon's
    CHECK_FALSE(has_env(spec, "PATH=/usr/bin:/bin"));
    CHECK(has_env(spec, "COLOR=blue"));
    CHECK(has_env(spec, "SUPERVISOR_ENABLED=1"));
    CHECK(has_env(spec, "SUPERVISOR_PROCESS_NAME=web"));
    CHECK(has_env(spec, "SUPERVISOR_GROUP_NAME=web"));

    auto& p = h.proc("web");
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.pid() == 100);
    CHECK(p.laststart() == doctest::Approx(sup::testing::FakeRuntime::kWallStart));
    CHECK(h.edges_of("web") == "STOPPED->STARTING");
  }

  TEST_CASE("autostart=false stays STOPPED") {
    auto h = started([](auto& pc) { pc.autostart = false; });
    h.rt.advance(60s);
    CHECK(h.proc("p").state() == ProcessState::Stopped);
    CHECK(h.rt.spawns.empty());
    CHECK(h.transitions.empty());
  }

  TEST_CASE("autostart happens only while never started: a stopped program stays stopped") {
    auto h = started([](auto& pc) { pc.startsecs = 0; });
    auto& p = h.proc("p");
    REQUIRE(p.state() == ProcessState::Running);
    CHECK(p.stop() == "");
    h.rt.exit(p.pid(), killed_by(SIGTERM));
    REQUIRE(p.state() == ProcessState::Stopped);
    p.transition();  // a later pass of the state machine
    h.rt.advance(60s);
    CHECK(p.state() == ProcessState::Stopped);
    CHECK(h.rt.spawns.size() == 1);
  }

  TEST_CASE("a program with a PATH-relative command is resolved against environment PATH") {
    auto h = started([](auto& pc) {
      pc.argv = {"sh", "-c", "sleep 1"};
      pc.environment = {{"PATH", "/nonexistent-dir:/bin"}};
    });
    REQUIRE(h.rt.spawns.size() == 1);
    CHECK(h.rt.spawns[0].spec.filename == "/bin/sh");
    CHECK(h.rt.spawns[0].spec.argv[0] == "sh");
  }
}

TEST_SUITE("starting") {
  TEST_CASE("STARTING -> RUNNING exactly at startsecs, not before") {
    auto h = started([](auto& pc) { pc.startsecs = 5; });
    auto& p = h.proc("p");
    h.rt.advance(4999ms);
    CHECK(p.state() == ProcessState::Starting);
    h.rt.advance(1ms);
    CHECK(p.state() == ProcessState::Running);
    CHECK(p.pid() == 100);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING");
    CHECK(h.rt.armed_timers() == 0);  // RUNNING has no deadline: an idle daemon never wakes
  }

  TEST_CASE("the default startsecs=1 promotes after one second") {
    auto h = started();
    h.rt.advance(999ms);
    CHECK(h.proc("p").state() == ProcessState::Starting);
    h.rt.advance(1ms);
    CHECK(h.proc("p").state() == ProcessState::Running);
  }

  TEST_CASE("startsecs=0 is RUNNING at once, without the clock moving, after STARTING") {
    auto h = started([](auto& pc) { pc.startsecs = 0; });
    CHECK(h.proc("p").state() == ProcessState::Running);
    CHECK(h.rt.elapsed() == 0ms);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING");
  }

  TEST_CASE("exit before startsecs -> BACKOFF 'Exited too quickly', even with an expected code") {
    auto h = started([](auto& pc) { pc.startsecs = 10; });
    auto& p = h.proc("p");
    h.rt.advance(9s);
    h.rt.exit(100, exited_with(0));
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.spawnerr() == kTooQuickly);
    CHECK(p.exitstatus() == 0);
    CHECK(p.pid() == 0);
    CHECK(p.backoff() == 1);
    CHECK(p.laststop() == doctest::Approx(sup::testing::FakeRuntime::kWallStart + 9));
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->BACKOFF");
  }

  TEST_CASE("backoff waits 1 s, 2 s, 3 s between attempts, then FATAL after startretries") {
    auto h = started([](auto& pc) { pc.startretries = 3; });
    auto& p = h.proc("p");
    // Attempt 1 at t=0 dies at once; the retries come at 1 s, 3 s and 6 s.
    std::vector<std::chrono::milliseconds> expected_at = {0ms, 1000ms, 3000ms, 6000ms};
    for (std::size_t attempt = 0; attempt < expected_at.size(); ++attempt) {
      CAPTURE(attempt);
      REQUIRE(h.rt.spawns.size() == attempt + 1);
      CHECK(h.rt.spawns[attempt].at == expected_at[attempt]);
      CHECK(p.state() == ProcessState::Starting);
      h.rt.exit(p.pid(), exited_with(1));
      if (attempt + 1 < expected_at.size()) {
        CHECK(p.state() == ProcessState::Backoff);
        CHECK(p.backoff() == static_cast<int>(attempt + 1));
        auto delay = expected_at[attempt + 1] - expected_at[attempt];
        h.rt.advance(delay - 1ms);
        CHECK(p.state() == ProcessState::Backoff);  // no spawn before the delay
        CHECK(h.rt.spawns.size() == attempt + 1);
        h.rt.advance(1ms);  // spawn at the delay
      }
    }
    CHECK(p.state() == ProcessState::Fatal);
    CHECK(p.spawnerr() == kTooQuickly);
    CHECK(p.backoff() == 0);
    h.rt.advance(600s);
    CHECK(h.rt.spawns.size() == 4);  // 1 + startretries attempts, then nothing
    CHECK(h.edges_of("p") ==
          "STOPPED->STARTING STARTING->BACKOFF BACKOFF->STARTING STARTING->BACKOFF "
          "BACKOFF->STARTING STARTING->BACKOFF BACKOFF->STARTING STARTING->BACKOFF BACKOFF->FATAL");
  }

  TEST_CASE("startretries=0: the first quick exit is FATAL") {
    auto h = started([](auto& pc) { pc.startretries = 0; });
    h.rt.exit(100, exited_with(1));
    CHECK(h.proc("p").state() == ProcessState::Fatal);
    h.rt.advance(60s);
    CHECK(h.rt.spawns.size() == 1);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->BACKOFF BACKOFF->FATAL");
  }

  TEST_CASE("reaching RUNNING resets the backoff counter") {
    auto h = started([](auto& pc) { pc.startretries = 2; pc.autorestart = sup::config::AutoRestart::True; });
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(1));  // backoff 1
    h.rt.advance(1s);
    h.rt.exit(p.pid(), exited_with(1));  // backoff 2
    h.rt.advance(2s);
    REQUIRE(p.state() == ProcessState::Starting);
    h.rt.advance(1s);
    REQUIRE(p.state() == ProcessState::Running);
    CHECK(p.backoff() == 0);
    // A later run of quick failures gets the full startretries again, from 1 s.
    h.rt.exit(p.pid(), exited_with(1));  // RUNNING -> EXITED -> STARTING at once
    REQUIRE(p.state() == ProcessState::Starting);
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.backoff() == 1);
    CHECK(h.rt.next_deadline() == std::optional<sup::Duration>(1s));
  }

  TEST_CASE("a spawn error from the runtime -> BACKOFF with that spawnerr, then FATAL") {
    sup::testing::FakeRuntime* rt = nullptr;
    auto pc = sup::testing::program("p");
    pc.startretries = 1;
    Harness h(sup::testing::config_of({sup::testing::group_of(pc)}));
    rt = &h.rt;
    rt->spawn_error = "Too many processes in process table to spawn 'p'";
    h.start();
    auto& p = h.proc("p");
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.spawnerr() == "Too many processes in process table to spawn 'p'");
    CHECK(p.pid() == 0);
    h.rt.advance(1s);
    CHECK(p.state() == ProcessState::Fatal);
    CHECK(h.rt.spawns.size() == 2);
    CHECK(h.rt.successful_spawns() == 0);
  }

  TEST_CASE("a log file that cannot be opened -> BACKOFF, nothing spawned") {
    auto h = started([](auto& pc) {
      pc.startretries = 0;
      pc.stdout_log.kind = sup::config::LogTarget::Kind::File;
      pc.stdout_log.path = "/nonexistent-dir/p.log";
    });
    auto& p = h.proc("p");
    CHECK(p.state() == ProcessState::Fatal);
    CHECK(p.spawnerr() == "unknown error making dispatchers for 'p': ENOENT");
    CHECK(h.rt.spawns.empty());
  }
}

TEST_SUITE("command checks") {
  TEST_CASE("command not found -> BACKOFF \"can't find command\", retried, then FATAL; never spawned") {
    auto h = started([](auto& pc) {
      pc.argv = {"/nonexistent/x", "--flag"};
      pc.startretries = 2;
    });
    auto& p = h.proc("p");
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.spawnerr() == "can't find command '/nonexistent/x'");
    h.rt.advance(999ms);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->BACKOFF");
    h.rt.advance(1ms);  // retry 1 at 1 s
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->BACKOFF BACKOFF->STARTING STARTING->BACKOFF");
    h.rt.advance(2s);  // retry 2 at 3 s, then out of retries
    CHECK(p.state() == ProcessState::Fatal);
    CHECK(p.spawnerr() == "can't find command '/nonexistent/x'");
    CHECK(h.rt.spawns.empty());
  }

  TEST_CASE("a bare name not on PATH is reported by name") {
    auto h = started([](auto& pc) {
      pc.argv = {"no-such-program-xyz"};
      pc.startretries = 0;
    });
    CHECK(h.proc("p").state() == ProcessState::Fatal);
    CHECK(h.proc("p").spawnerr() == "can't find command 'no-such-program-xyz'");
  }

  TEST_CASE("a file without execute bits -> 'is not executable'") {
    TempDir dir;
    auto file = (dir.path / "script").string();
    std::ofstream(file) << "#!/bin/sh\n";
    ::chmod(file.c_str(), 0644);
    auto h = started([&](auto& pc) {
      pc.argv = {file};
      pc.startretries = 0;
    });
    CHECK(h.proc("p").state() == ProcessState::Fatal);
    CHECK(h.proc("p").spawnerr() == "command at '" + file + "' is not executable");
    CHECK(h.rt.spawns.empty());
  }

  TEST_CASE("a directory -> 'is a directory'") {
    TempDir dir;
    auto h = started([&](auto& pc) {
      pc.argv = {dir.path.string()};
      pc.startretries = 0;
    });
    CHECK(h.proc("p").spawnerr() == "command at '" + dir.path.string() + "' is a directory");
  }
}

TEST_SUITE("exits") {
  TEST_CASE("RUNNING -> EXITED with an expected code: autorestart=unexpected does not restart") {
    auto h = started();
    auto& p = h.proc("p");
    h.rt.advance(5s);
    h.rt.exit(100, exited_with(0));
    CHECK(p.state() == ProcessState::Exited);
    CHECK(p.exitstatus() == 0);
    CHECK(p.spawnerr() == "");
    CHECK(p.pid() == 0);
    h.rt.advance(600s);
    CHECK(h.rt.spawns.size() == 1);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING RUNNING->EXITED");
  }

  TEST_CASE("an exit code listed in exitcodes is expected") {
    auto h = started([](auto& pc) { pc.exitcodes = {0, 2}; });
    h.rt.advance(2s);
    h.rt.exit(100, exited_with(2));
    CHECK(h.proc("p").state() == ProcessState::Exited);
    CHECK(h.proc("p").exitstatus() == 2);
    CHECK(h.proc("p").spawnerr() == "");
    CHECK(h.rt.spawns.size() == 1);
  }

  TEST_CASE("unexpected code with autorestart=unexpected: 'Bad exit code N', respawned at once") {
    auto h = started();
    auto& p = h.proc("p");
    std::vector<std::string> spawnerr_when_exited;
    std::vector<int> exitstatus_when_exited;
    h.sup->subscribe([&](sup::Process& proc, ProcessState, ProcessState to) {
      if (to == ProcessState::Exited) {
        spawnerr_when_exited.push_back(proc.spawnerr());
        exitstatus_when_exited.push_back(proc.exitstatus());
      }
    });
    h.rt.advance(3s);
    h.rt.exit(100, exited_with(3));
    CHECK(spawnerr_when_exited == std::vector<std::string>{"Bad exit code 3"});
    CHECK(exitstatus_when_exited == std::vector<int>{3});
    // No delay: the new attempt is spawned at the same instant.
    REQUIRE(h.rt.spawns.size() == 2);
    CHECK(h.rt.spawns[1].at == 3s);
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.pid() == 101);
    CHECK(p.backoff() == 0);
    // A new attempt starts clean, as supervisord's spawn() resets both.
    CHECK(p.exitstatus() == 0);
    CHECK(p.spawnerr() == "");
    CHECK(h.edges_of("p") ==
          "STOPPED->STARTING STARTING->RUNNING RUNNING->EXITED EXITED->STARTING");
  }

  TEST_CASE("autorestart=true restarts after an expected exit too") {
    auto h = started([](auto& pc) { pc.autorestart = sup::config::AutoRestart::True; });
    h.rt.advance(2s);
    h.rt.exit(100, exited_with(0));
    CHECK(h.proc("p").state() == ProcessState::Starting);
    CHECK(h.rt.successful_spawns() == 2);
  }

  TEST_CASE("autorestart=false never restarts, even after an unexpected exit") {
    auto h = started([](auto& pc) { pc.autorestart = sup::config::AutoRestart::False; });
    auto& p = h.proc("p");
    h.rt.advance(2s);
    h.rt.exit(100, exited_with(3));
    CHECK(p.state() == ProcessState::Exited);
    CHECK(p.spawnerr() == "Bad exit code 3");
    CHECK(p.exitstatus() == 3);
    h.rt.advance(600s);
    CHECK(h.rt.spawns.size() == 1);
  }

  TEST_CASE("death by a signal: exitstatus -1, never expected") {
    auto h = started([](auto& pc) {
      pc.autorestart = sup::config::AutoRestart::False;
      pc.exitcodes = {0, 1, 2};
    });
    auto& p = h.proc("p");
    h.rt.advance(2s);
    h.rt.exit(100, killed_by(SIGSEGV, true));
    CHECK(p.state() == ProcessState::Exited);
    CHECK(p.exitstatus() == -1);
    CHECK(p.spawnerr() == "Bad exit code -1");
  }

  TEST_CASE("death by a signal restarts with autorestart=unexpected") {
    auto h = started();
    h.rt.advance(2s);
    h.rt.exit(100, killed_by(SIGKILL));
    CHECK(h.proc("p").state() == ProcessState::Starting);
    CHECK(h.rt.successful_spawns() == 2);
  }

  TEST_CASE("startsecs=0: an immediate exit counts as RUNNING -> EXITED") {
    auto h = started([](auto& pc) {
      pc.startsecs = 0;
      pc.autorestart = sup::config::AutoRestart::False;
    });
    h.rt.exit(100, exited_with(0));
    CHECK(h.proc("p").state() == ProcessState::Exited);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING RUNNING->EXITED");
  }

  TEST_CASE("a crash loop after startsecs respawns without delay every time") {
    auto h = started([](auto& pc) { pc.startretries = 0; });
    for (int i = 0; i < 5; ++i) {
      h.rt.advance(1s);
      REQUIRE(h.proc("p").state() == ProcessState::Running);
      h.rt.exit(h.rt.last_pid(), exited_with(1));
    }
    CHECK(h.proc("p").state() == ProcessState::Starting);
    CHECK(h.rt.successful_spawns() == 6);
  }
}

TEST_SUITE("stop") {
  TEST_CASE("stop: stopsignal to the pid, STOPPING -> STOPPED when reaped, no autorestart") {
    auto h = started([](auto& pc) { pc.autorestart = sup::config::AutoRestart::True; });
    auto& p = h.proc("p");
    h.rt.advance(2s);
    CHECK(p.stop() == "");
    CHECK(p.state() == ProcessState::Stopping);
    CHECK(h.rt.kills == std::vector<sup::testing::KillCall>{{100, SIGTERM, false}});
    h.rt.advance(1s);
    h.rt.exit(100, killed_by(SIGTERM));
    CHECK(p.state() == ProcessState::Stopped);
    CHECK(p.exitstatus() == -1);
    CHECK(p.pid() == 0);
    h.rt.advance(600s);
    CHECK(h.rt.spawns.size() == 1);
    CHECK(h.rt.kills.size() == 1);  // the SIGKILL deadline was cancelled
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING RUNNING->STOPPING STOPPING->STOPPED");
  }

  TEST_CASE("stopasgroup sends the stopsignal to the process group (-pid)") {
    auto h = started([](auto& pc) {
      pc.stopasgroup = true;
      pc.killasgroup = true;
      pc.stopsignal = SIGINT;
    });
    h.rt.advance(2s);
    CHECK(h.proc("p").stop() == "");
    CHECK(h.rt.kills == std::vector<sup::testing::KillCall>{{100, SIGINT, true}});
  }

  TEST_CASE("SIGKILL after stopwaitsecs (to the group with killasgroup), repeated while it survives") {
    auto h = started([](auto& pc) {
      pc.stopwaitsecs = 5;
      pc.killasgroup = true;
    });
    auto& p = h.proc("p");
    h.rt.advance(2s);
    REQUIRE(p.stop() == "");
    h.rt.advance(4999ms);
    CHECK(h.rt.kills.size() == 1);
    h.rt.advance(1ms);
    REQUIRE(h.rt.kills.size() == 2);
    CHECK(h.rt.kills[1] == sup::testing::KillCall{100, SIGKILL, true});
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.advance(5s);  // unkillable: another SIGKILL every stopwaitsecs
    CHECK(h.rt.kills.size() == 3);
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.exit(100, killed_by(SIGKILL));
    CHECK(p.state() == ProcessState::Stopped);
    h.rt.advance(60s);
    CHECK(h.rt.kills.size() == 3);
  }

  TEST_CASE("the SIGKILL goes to the pid only without killasgroup") {
    auto h = started([](auto& pc) {
      pc.stopwaitsecs = 1;
      pc.stopasgroup = false;
    });
    h.rt.advance(2s);
    REQUIRE(h.proc("p").stop() == "");
    h.rt.advance(1s);
    REQUIRE(h.rt.kills.size() == 2);
    CHECK(h.rt.kills[1] == sup::testing::KillCall{100, SIGKILL, false});
  }

  TEST_CASE("stop while STARTING -> STOPPING; the startsecs deadline no longer promotes it") {
    auto h = started([](auto& pc) { pc.startsecs = 3; });
    auto& p = h.proc("p");
    h.rt.advance(1s);
    CHECK(p.stop() == "");
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.advance(3s);
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.exit(100, exited_with(0));
    CHECK(p.state() == ProcessState::Stopped);
  }

  TEST_CASE("stop in BACKOFF -> STOPPED at once, and no retry later") {
    auto h = started([](auto& pc) { pc.startretries = 5; });
    auto& p = h.proc("p");
    h.rt.exit(100, exited_with(1));
    REQUIRE(p.state() == ProcessState::Backoff);
    CHECK(p.stop() == "");
    CHECK(p.state() == ProcessState::Stopped);
    CHECK(h.rt.kills.empty());
    h.rt.advance(600s);
    CHECK(h.rt.spawns.size() == 1);
    CHECK(p.state() == ProcessState::Stopped);
  }

  TEST_CASE("stop when not running is an error naming the process and signal") {
    auto h = started([](auto& pc) { pc.autostart = false; });
    auto& p = h.proc("p");
    CHECK(p.stop() == "attempted to kill p with sig SIGTERM but it wasn't running");
    CHECK(p.state() == ProcessState::Stopped);
    CHECK(h.rt.kills.empty());
  }

  TEST_CASE("stop of an EXITED or FATAL process is an error too") {
    auto h = started([](auto& pc) {
      pc.startretries = 0;
      pc.stopsignal = SIGQUIT;
    });
    auto& p = h.proc("p");
    h.rt.exit(100, exited_with(1));
    REQUIRE(p.state() == ProcessState::Fatal);
    CHECK(p.stop() == "attempted to kill p with sig SIGQUIT but it wasn't running");
    CHECK(p.state() == ProcessState::Fatal);
  }

  TEST_CASE("a kill() error other than ESRCH -> UNKNOWN with the error") {
    auto h = started();
    auto& p = h.proc("p");
    h.rt.advance(2s);
    h.rt.kill_errno = EPERM;
    std::string err = p.stop();
    CHECK(err.find("unknown problem killing p (100)") == 0);
    CHECK(p.state() == ProcessState::Unknown);
    CHECK(h.rt.armed_timers() == 0);
  }

  TEST_CASE("ESRCH (it just died) keeps STOPPING until reaped") {
    auto h = started();
    auto& p = h.proc("p");
    h.rt.advance(2s);
    h.rt.kill_errno = ESRCH;
    CHECK(p.stop() == "");
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.exit(100, exited_with(0));
    CHECK(p.state() == ProcessState::Stopped);
  }
}

TEST_SUITE("signal and manual start") {
  TEST_CASE("signal() sends to the pid and changes no state") {
    auto h = started([](auto& pc) { pc.stopasgroup = true; });
    auto& p = h.proc("p");
    h.rt.advance(2s);
    CHECK(p.signal(SIGHUP) == "");
    CHECK(h.rt.kills == std::vector<sup::testing::KillCall>{{100, SIGHUP, false}});
    CHECK(p.state() == ProcessState::Running);
    CHECK(h.edges_of("p") == "STOPPED->STARTING STARTING->RUNNING");
  }

  TEST_CASE("signal() without a process is an error") {
    auto h = started([](auto& pc) { pc.autostart = false; });
    CHECK(h.proc("p").signal(SIGUSR1) == "attempted to send p sig SIGUSR1 but it wasn't running");
    CHECK(h.rt.kills.empty());
  }

  TEST_CASE("a start request from FATAL begins a fresh run of retries") {
    auto h = started([](auto& pc) { pc.startretries = 1; });
    auto& p = h.proc("p");
    h.rt.exit(100, exited_with(1));
    h.rt.advance(1s);
    h.rt.exit(101, exited_with(1));
    REQUIRE(p.state() == ProcessState::Fatal);
    p.spawn();
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.spawnerr() == "");
    CHECK(p.pid() == 102);
    h.rt.exit(102, exited_with(1));
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.backoff() == 1);
    h.rt.advance(1s);
    CHECK(h.rt.successful_spawns() == 4);
  }

  TEST_CASE("a start request from STOPPED spawns even with autostart=false") {
    auto h = started([](auto& pc) { pc.autostart = false; });
    auto& p = h.proc("p");
    h.rt.advance(10s);
    p.spawn();
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.laststart() == doctest::Approx(sup::testing::FakeRuntime::kWallStart + 10));
    h.rt.advance(1s);
    CHECK(p.state() == ProcessState::Running);
  }

  TEST_CASE("spawn() while a pid exists does nothing") {
    auto h = started();
    auto& p = h.proc("p");
    p.spawn();
    CHECK(h.rt.spawns.size() == 1);
    CHECK(p.pid() == 100);
  }
}

TEST_SUITE("exit status") {
  TEST_CASE("wait statuses decode as supervisord reports them") {
    auto e = sup::ExitStatus::from_wait_status(exited_with(3));
    CHECK(e.code == 3);
    CHECK(e.signal == 0);
    CHECK(e.describe() == "exit status 3");
    auto k = sup::ExitStatus::from_wait_status(killed_by(SIGTERM));
    CHECK(k.code == -1);
    CHECK(k.signal == SIGTERM);
    CHECK(k.describe() == "terminated by SIGTERM");
    auto c = sup::ExitStatus::from_wait_status(killed_by(SIGSEGV, true));
    CHECK(c.core);
    CHECK(c.describe() == "terminated by SIGSEGV (core dumped)");
  }

  TEST_CASE("signal names") {
    CHECK(sup::signal_name(SIGKILL) == "SIGKILL");
    CHECK(sup::signal_name(SIGUSR2) == "SIGUSR2");
    CHECK(sup::signal_name(77) == "signal 77");
  }
}
