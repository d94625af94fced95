// Issue 5 state-machine edges on the fake clock: restart_delay, exponential
// backoff and its reset, restart_limit, health-check scheduling and the
// restarts it triggers, ready=healthcheck.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>

#include "fake_runtime.hpp"
#include "process/process.hpp"

using namespace std::chrono_literals;
using sup::Process;
using sup::ProcessState;
using sup::config::ProcessConfig;
using sup::testing::exited_with;
using sup::testing::Harness;

namespace {

template <class Tweak>
Harness started(Tweak tweak) {
  auto pc = sup::testing::program("p");
  tweak(pc);
  return Harness(sup::testing::config_of({sup::testing::group_of(pc)}), Harness::default_env(), true);
}

sup::config::HealthCheck tcp_check() {
  sup::config::HealthCheck hc;
  hc.kind = sup::config::HealthCheck::Kind::Tcp;
  hc.host = "127.0.0.1";
  hc.port = 8080;
  hc.text = "tcp://127.0.0.1:8080";
  return hc;
}

// Runs p from STARTING to RUNNING (startsecs=1).
void to_running(Harness& h) {
  h.rt.advance(1s);
  REQUIRE(h.proc("p").state() == ProcessState::Running);
}

// The delay until the next timer, which must lie in [lo, hi].
void check_next_deadline(Harness& h, sup::Duration lo, sup::Duration hi) {
  auto d = h.rt.next_deadline();
  REQUIRE(d.has_value());
  CAPTURE(d->count());
  CHECK(*d >= lo);
  CHECK(*d <= hi);
}

}  // namespace

TEST_SUITE("restart_delay") {
  TEST_CASE("a process that exits from RUNNING is restarted only after restart_delay") {
    auto h = started([](ProcessConfig& pc) {
      pc.autorestart = sup::config::AutoRestart::True;
      pc.restart_delay = 5;
    });
    to_running(h);
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Exited);
    h.rt.advance(4999ms);
    CHECK(p.state() == ProcessState::Exited);
    CHECK(h.rt.successful_spawns() == 1);
    h.rt.advance(1ms);
    CHECK(p.state() == ProcessState::Starting);
    CHECK(h.rt.successful_spawns() == 2);
    CHECK(p.restarts() == 1);
  }

  TEST_CASE("a stop request while the restart is pending cancels it") {
    auto h = started([](ProcessConfig& pc) {
      pc.autorestart = sup::config::AutoRestart::True;
      pc.restart_delay = 5;
    });
    to_running(h);
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(1));
    REQUIRE(p.restart_pending());
    p.cancel_restart("stop requested");
    CHECK(p.state() == ProcessState::Stopped);
    CHECK_FALSE(p.restart_pending());
    h.rt.advance(60s);
    CHECK(h.rt.successful_spawns() == 1);
    CHECK(h.rt.armed_timers() == 0);
  }

  TEST_CASE("no restart is pending when autorestart does not apply") {
    auto h = started([](ProcessConfig& pc) { pc.restart_delay = 5; });  // autorestart=unexpected
    to_running(h);
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(0));
    CHECK(p.state() == ProcessState::Exited);
    CHECK_FALSE(p.restart_pending());
    CHECK(h.rt.armed_timers() == 0);
  }

  TEST_CASE("without restart_delay the restart is immediate, as in supervisord") {
    auto h = started([](ProcessConfig& pc) { pc.autorestart = sup::config::AutoRestart::True; });
    to_running(h);
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(0));
    CHECK(p.state() == ProcessState::Starting);
    CHECK(h.rt.successful_spawns() == 2);
  }

  TEST_CASE("restart_delay does not delay a start that failed before startsecs") {
    auto h = started([](ProcessConfig& pc) { pc.restart_delay = 30; });
    auto& p = h.proc("p");
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Backoff);
    h.rt.advance(1s);  // supervisord's 1 s backoff, not 30 s
    CHECK(p.state() == ProcessState::Starting);
  }
}

TEST_SUITE("backoff") {
  TEST_CASE("exponential backoff doubles the retry delay up to backoff_max, with at most 10% jitter") {
    auto h = started([](ProcessConfig& pc) {
      pc.backoff = sup::config::Backoff::Exponential;
      pc.backoff_max = 5;
      pc.startretries = 5;
    });
    auto& p = h.proc("p");
    std::vector<sup::Duration> bases = {1000ms, 2000ms, 4000ms, 5000ms, 5000ms};
    for (std::size_t i = 0; i < bases.size(); ++i) {
      CAPTURE(i);
      REQUIRE(p.state() == ProcessState::Starting);
      h.rt.exit(p.pid(), exited_with(1));
      REQUIRE(p.state() == ProcessState::Backoff);
      check_next_deadline(h, bases[i], bases[i] + bases[i] / 10);
      h.rt.advance(*h.rt.next_deadline());
    }
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Fatal);  // startretries still bounds the attempts
  }

  TEST_CASE("linear backoff (the default) keeps supervisord's 1 s, 2 s, 3 s") {
    auto h = started([](ProcessConfig&) {});
    auto& p = h.proc("p");
    for (int i = 1; i <= 3; ++i) {
      h.rt.exit(p.pid(), exited_with(1));
      CHECK(h.rt.next_deadline() == std::optional<sup::Duration>(std::chrono::seconds(i)));
      h.rt.advance(std::chrono::seconds(i));
    }
  }

  TEST_CASE("exponential: quick crashes of a RUNNING process grow the restart delay; a long run resets it") {
    auto h = started([](ProcessConfig& pc) {
      pc.autorestart = sup::config::AutoRestart::True;
      pc.backoff = sup::config::Backoff::Exponential;
      pc.backoff_reset = 100;
    });
    auto& p = h.proc("p");
    for (sup::Duration base : {1000ms, 2000ms, 4000ms}) {
      CAPTURE(base.count());
      to_running(h);
      h.rt.exit(p.pid(), exited_with(1));
      REQUIRE(p.state() == ProcessState::Exited);
      check_next_deadline(h, base, base + base / 10);
      h.rt.advance(*h.rt.next_deadline());
      REQUIRE(p.state() == ProcessState::Starting);
    }
    // A run longer than backoff_reset: the next crash restarts at once.
    h.rt.advance(101s);
    REQUIRE(p.state() == ProcessState::Running);
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Starting);
    // ...and the streak starts over.
    to_running(h);
    h.rt.exit(p.pid(), exited_with(1));
    check_next_deadline(h, 1000ms, 1100ms);
  }
}

TEST_SUITE("restart_limit") {
  TEST_CASE("more than N restarts within the window makes the process FATAL") {
    auto h = started([](ProcessConfig& pc) {
      pc.autorestart = sup::config::AutoRestart::True;
      pc.restart_limit_count = 2;
      pc.restart_limit_window = 60;
    });
    auto& p = h.proc("p");
    for (int i = 0; i < 2; ++i) {
      to_running(h);
      h.rt.exit(p.pid(), exited_with(1));
      REQUIRE(p.state() == ProcessState::Starting);
    }
    to_running(h);
    h.rt.exit(p.pid(), exited_with(1));
    CHECK(p.state() == ProcessState::Fatal);
    CHECK(p.spawnerr().find("more than 2 restarts in 60 seconds") != std::string::npos);
    CHECK(h.rt.successful_spawns() == 3);
    h.rt.advance(600s);
    CHECK(h.rt.successful_spawns() == 3);
  }

  TEST_CASE("restarts that fall out of the window no longer count") {
    auto h = started([](ProcessConfig& pc) {
      pc.autorestart = sup::config::AutoRestart::True;
      pc.restart_limit_count = 2;
      pc.restart_limit_window = 60;
    });
    auto& p = h.proc("p");
    for (int i = 0; i < 5; ++i) {
      CAPTURE(i);
      to_running(h);
      h.rt.advance(30s);  // restarts 31 s apart: never more than 2 within 60 s
      h.rt.exit(p.pid(), exited_with(1));
      REQUIRE(p.state() == ProcessState::Starting);
    }
    CHECK(p.restarts() == 5);
  }

  TEST_CASE("BACKOFF retries count as restarts") {
    auto h = started([](ProcessConfig& pc) {
      pc.startretries = 10;
      pc.restart_limit_count = 2;
      pc.restart_limit_window = 60;
    });
    auto& p = h.proc("p");
    for (int i = 0; i < 2; ++i) {
      h.rt.exit(p.pid(), exited_with(1));
      h.rt.advance(*h.rt.next_deadline());
      REQUIRE(p.state() == ProcessState::Starting);
    }
    h.rt.exit(p.pid(), exited_with(1));
    h.rt.advance(*h.rt.next_deadline());
    CHECK(p.state() == ProcessState::Fatal);
  }
}

TEST_SUITE("health checks") {
  TEST_CASE("without a healthcheck no probe runs and RUNNING arms no timer") {
    auto h = started([](ProcessConfig&) {});
    to_running(h);
    CHECK(h.rt.probes.empty());
    CHECK(h.rt.armed_timers() == 0);
    CHECK(h.proc("p").health() == Process::Health::None);
  }

  TEST_CASE("probes run 1 s after the spawn, then every interval after each answer") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_interval = 10;
      pc.healthcheck_timeout = 3;
    });
    auto& p = h.proc("p");
    CHECK(p.health() == Process::Health::Starting);
    to_running(h);
    REQUIRE(h.rt.probes.size() == 1);
    CHECK(h.rt.probes[0]->at == 1000ms);
    CHECK(h.rt.probes[0]->req.check.port == 8080);
    CHECK(h.rt.probes[0]->req.timeout == 3000ms);
    h.rt.advance(500ms);
    h.rt.finish_probe(true, "connect 127.0.0.1:8080: connected");
    CHECK(p.health() == Process::Health::Healthy);
    CHECK(p.health_detail() == "connect 127.0.0.1:8080: connected");
    h.rt.advance(9999ms);
    CHECK(h.rt.probes.size() == 1);
    h.rt.advance(1ms);
    REQUIRE(h.rt.probes.size() == 2);
    CHECK(h.rt.probes[1]->at == 11500ms);
  }

  TEST_CASE("retries consecutive failures restart a RUNNING process like supervisord's restart") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_interval = 5;
      pc.healthcheck_retries = 3;
      pc.stopsignal = SIGINT;
    });
    auto& p = h.proc("p");
    to_running(h);
    pid_t first = p.pid();
    h.rt.finish_probe(false, "connect 127.0.0.1:8080: Connection refused");
    h.rt.advance(5s);
    h.rt.finish_probe(true, "ok");  // a success resets the count
    for (int i = 0; i < 2; ++i) {
      h.rt.advance(5s);
      h.rt.finish_probe(false, "connect 127.0.0.1:8080: Connection refused");
    }
    CHECK(p.state() == ProcessState::Running);
    CHECK(h.rt.kills.empty());
    h.rt.advance(5s);
    h.rt.finish_probe(false, "connect 127.0.0.1:8080: Connection refused");
    CHECK(p.state() == ProcessState::Stopping);
    CHECK(p.health() == Process::Health::Unhealthy);
    REQUIRE(h.rt.kills.size() == 1);
    CHECK(h.rt.kills[0] == sup::testing::KillCall{first, SIGINT, false});
    CHECK(h.rt.pending_probe() == nullptr);  // no probing while stopping
    h.rt.exit(first, sup::testing::killed_by(SIGINT));
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.pid() != first);
    CHECK(p.restarts() == 1);
    CHECK(p.health() == Process::Health::Starting);
    CHECK(h.edges_of("p") ==
          "STOPPED->STARTING STARTING->RUNNING RUNNING->STOPPING STOPPING->STOPPED STOPPED->STARTING");
  }

  TEST_CASE("an unhealthy process that ignores stopsignal is killed after stopwaitsecs") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_retries = 1;
      pc.stopwaitsecs = 7;
    });
    auto& p = h.proc("p");
    to_running(h);
    h.rt.finish_probe(false, "timeout");
    REQUIRE(p.state() == ProcessState::Stopping);
    h.rt.advance(7s);
    REQUIRE(h.rt.kills.size() == 2);
    CHECK(h.rt.kills[1].sig == SIGKILL);
    h.rt.exit(p.pid(), sup::testing::killed_by(SIGKILL));
    CHECK(p.state() == ProcessState::Starting);
  }

  TEST_CASE("healthcheck_action=none only records the result") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_retries = 2;
      pc.healthcheck_restart = false;
    });
    auto& p = h.proc("p");
    to_running(h);
    for (int i = 0; i < 4; ++i) {
      h.rt.finish_probe(false, "refused");
      h.rt.advance(10s);
    }
    CHECK(p.state() == ProcessState::Running);
    CHECK(p.health() == Process::Health::Unhealthy);
    CHECK(h.rt.kills.empty());
    CHECK(h.rt.pending_probe() != nullptr);  // still probing
  }

  TEST_CASE("failures during healthcheck_start_period are ignored") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_interval = 5;
      pc.healthcheck_retries = 1;
      pc.healthcheck_start_period = 20;
    });
    auto& p = h.proc("p");
    to_running(h);
    // Probes at 1, 6, 11, 16 s fail inside the start period.
    for (int i = 0; i < 4; ++i) {
      h.rt.finish_probe(false, "refused");
      h.rt.advance(5s);
    }
    CHECK(p.state() == ProcessState::Running);
    CHECK(p.health() == Process::Health::Starting);
    h.rt.finish_probe(false, "refused");  // at 21 s: counts
    CHECK(p.state() == ProcessState::Stopping);
  }

  TEST_CASE("a stopped process stops probing and cancels a probe in flight") {
    auto h = started([](ProcessConfig& pc) { pc.healthcheck = tcp_check(); });
    auto& p = h.proc("p");
    to_running(h);
    REQUIRE(h.rt.pending_probe() != nullptr);
    p.stop();
    CHECK(h.rt.probes[0]->cancelled);
    h.rt.exit(p.pid(), sup::testing::killed_by(SIGTERM));
    CHECK(p.state() == ProcessState::Stopped);
    CHECK(h.rt.armed_timers() == 0);
    h.rt.advance(60s);
    CHECK(h.rt.probes.size() == 1);
  }

  TEST_CASE("exec probes run with the program's environment and directory") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck.mut().kind = sup::config::HealthCheck::Kind::Exec;
      pc.healthcheck.mut().argv = {"/bin/sh", "-c", "exit 0"};
      pc.directory = "/tmp";
      pc.environment = {{"COLOR", "blue"}};
    });
    to_running(h);
    auto* probe = h.rt.pending_probe();
    REQUIRE(probe != nullptr);
    CHECK(probe->req.exec.filename == "/bin/sh");
    CHECK(probe->req.exec.argv == std::vector<std::string>{"/bin/sh", "-c", "exit 0"});
    CHECK(probe->req.exec.directory == "/tmp");
    CHECK(std::count(probe->req.exec.env.begin(), probe->req.exec.env.end(), "COLOR=blue") == 1);
  }

  TEST_CASE("an exec probe whose command does not exist fails without spawning") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck.mut().kind = sup::config::HealthCheck::Kind::Exec;
      pc.healthcheck.mut().argv = {"/nonexistent/check"};
      pc.healthcheck_retries = 1;
    });
    to_running(h);
    h.rt.run_posted();
    CHECK(h.rt.probes.empty());
    CHECK(h.proc("p").health_detail().find("can't find command '/nonexistent/check'") != std::string::npos);
    h.rt.advance(10s);  // the next failure, now while RUNNING
    CHECK(h.proc("p").state() == ProcessState::Stopping);
  }
}

TEST_SUITE("ready=healthcheck") {
  TEST_CASE("STARTING becomes RUNNING at the first passing probe, not after startsecs") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_interval = 2;
      pc.ready = sup::config::Readiness::Healthcheck;
      pc.startsecs = 30;
    });
    auto& p = h.proc("p");
    h.rt.advance(1s);
    h.rt.finish_probe(false, "refused");
    CHECK(p.state() == ProcessState::Starting);
    h.rt.advance(2s);
    h.rt.finish_probe(true, "connected");
    CHECK(p.state() == ProcessState::Running);
    CHECK(h.rt.elapsed() == 3s);
  }

  TEST_CASE("no passing probe within startsecs: stopped, then BACKOFF and retried") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.healthcheck_interval = 1;
      pc.ready = sup::config::Readiness::Healthcheck;
      pc.startsecs = 3;
    });
    auto& p = h.proc("p");
    pid_t first = p.pid();
    for (int i = 0; i < 2; ++i) {
      h.rt.advance(1s);
      h.rt.finish_probe(false, "refused");
    }
    CHECK(p.state() == ProcessState::Starting);
    h.rt.advance(1s);  // t = 3 s: the deadline
    CHECK(p.state() == ProcessState::Stopping);
    REQUIRE(h.rt.kills.size() == 1);
    h.rt.exit(first, sup::testing::killed_by(SIGTERM));
    CHECK(p.state() == ProcessState::Backoff);
    CHECK(p.spawnerr() == "no passing health check within 3 seconds");
    h.rt.advance(1s);
    CHECK(p.state() == ProcessState::Starting);
  }

  TEST_CASE("an exit before the first passing probe is a failed start even after startsecs") {
    auto h = started([](ProcessConfig& pc) {
      pc.healthcheck = tcp_check();
      pc.ready = sup::config::Readiness::Healthcheck;
      pc.startsecs = 1;
      pc.healthcheck_start_period = 20;  // the deadline is the longer of the two
    });
    auto& p = h.proc("p");
    h.rt.advance(5s);
    CHECK(p.state() == ProcessState::Starting);
    h.rt.exit(p.pid(), exited_with(0));
    CHECK(p.state() == ProcessState::Backoff);
  }
}

TEST_SUITE("ready=notify") {
  template <class Tweak>
  Harness notify_program(Tweak tweak) {
    return started([&](ProcessConfig& pc) {
      pc.ready = sup::config::Readiness::Notify;
      pc.startsecs = 10;
      tweak(pc);
    });
  }

  TEST_CASE("the child gets NOTIFY_SOCKET; READY=1 makes it RUNNING; STATUS= is kept") {
    auto h = notify_program([](ProcessConfig& pc) { pc.watchdog_sec = 3; });
    auto& p = h.proc("p");
    REQUIRE(h.rt.spawns.size() == 1);
    const auto& env = h.rt.spawns[0].spec.env;
    CHECK(std::count(env.begin(), env.end(), "NOTIFY_SOCKET=@fake-notify/1") == 1);
    CHECK(std::count(env.begin(), env.end(), "WATCHDOG_USEC=3000000") == 1);
    h.rt.advance(5s);
    CHECK(p.state() == ProcessState::Starting);  // startsecs alone does not make it RUNNING
    h.rt.notify("STATUS=loading\n");
    CHECK(p.notify_status() == "loading");
    h.rt.notify("READY=1\nSTATUS=serving");
    CHECK(p.state() == ProcessState::Running);
    CHECK(p.notify_status() == "serving");
  }

  TEST_CASE("no READY=1 within startsecs: stopped, then BACKOFF") {
    auto h = notify_program([](ProcessConfig& pc) { pc.startretries = 0; });
    auto& p = h.proc("p");
    h.rt.advance(10s);
    REQUIRE(p.state() == ProcessState::Stopping);
    h.rt.exit(p.pid(), sup::testing::killed_by(SIGTERM));
    CHECK(p.spawnerr() == "no READY=1 notification within 10 seconds");
    CHECK(p.state() == ProcessState::Fatal);  // BACKOFF, and no retries left
    CHECK(h.rt.open_notify_listeners() == 0);
  }

  TEST_CASE("a missed WATCHDOG=1 restarts the process; keep-alives prevent it") {
    auto h = notify_program([](ProcessConfig& pc) { pc.watchdog_sec = 3; });
    auto& p = h.proc("p");
    h.rt.notify("READY=1");
    for (int i = 0; i < 5; ++i) {
      h.rt.advance(2s);
      h.rt.notify("WATCHDOG=1");
    }
    CHECK(p.state() == ProcessState::Running);
    CHECK(h.rt.kills.empty());
    h.rt.advance(3s);
    CHECK(p.state() == ProcessState::Stopping);
    h.rt.exit(p.pid(), sup::testing::killed_by(SIGTERM));
    CHECK(p.state() == ProcessState::Starting);
    CHECK(p.restarts() == 1);
    CHECK(h.rt.open_notify_listeners() == 1);  // a fresh socket for the new child
  }

  TEST_CASE("without watchdog_sec WATCHDOG=1 is accepted and nothing is enforced") {
    auto h = notify_program([](ProcessConfig&) {});
    h.rt.notify("READY=1\nWATCHDOG=1\nSTOPPING=1");
    h.rt.advance(600s);
    CHECK(h.proc("p").state() == ProcessState::Running);
    CHECK(h.rt.armed_timers() == 0);
  }

  TEST_CASE("startsecs=0 waits for READY=1 without a deadline") {
    auto h = notify_program([](ProcessConfig& pc) { pc.startsecs = 0; });
    auto& p = h.proc("p");
    h.rt.advance(3600s);
    CHECK(p.state() == ProcessState::Starting);
    CHECK(h.rt.kills.empty());
    h.rt.notify("READY=1");
    CHECK(p.state() == ProcessState::Running);
  }
}
