// critical= (issue 8): which state changes of a critical process end the
// daemon, and the daemon's exit status for each.
#include <doctest/doctest.h>

#include <signal.h>

#include "process/critical.hpp"

using namespace sup;

namespace {

ExitStatus exited(int code) {
  ExitStatus es;
  es.code = code;
  return es;
}

ExitStatus killed(int sig) {
  ExitStatus es;
  es.code = -1;
  es.signal = sig;
  return es;
}

}  // namespace

TEST_SUITE("critical exit") {
  TEST_CASE("the exit status: the exit code, 128+signal, else 1") {
    CHECK(critical_exit_status(exited(3)) == 3);
    CHECK(critical_exit_status(exited(255)) == 255);
    CHECK(critical_exit_status(exited(0)) == 1);
    CHECK(critical_exit_status(killed(SIGKILL)) == 128 + SIGKILL);
    CHECK(critical_exit_status(killed(SIGSEGV)) == 128 + SIGSEGV);
  }

  TEST_CASE("RUNNING -> EXITED ends the daemon with the process's status") {
    auto c = critical_exit(ProcessState::Running, ProcessState::Exited, exited(3), "");
    REQUIRE(c);
    CHECK(c->exit_status == 3);
    CHECK(c->reason == "exited (exit status 3)");
    auto k = critical_exit(ProcessState::Running, ProcessState::Exited, killed(SIGTERM), "");
    REQUIRE(k);
    CHECK(k->exit_status == 128 + SIGTERM);
    CHECK(k->reason == "exited (terminated by SIGTERM)");
    // A clean exit is still the end of the service: status 1, not 0.
    auto z = critical_exit(ProcessState::Running, ProcessState::Exited, exited(0), "");
    REQUIRE(z);
    CHECK(z->exit_status == 1);
  }

  TEST_CASE("FATAL ends the daemon with status 1 and gives the spawn error") {
    auto c = critical_exit(ProcessState::Backoff, ProcessState::Fatal, exited(3),
                           "Exited too quickly (process log may have details)");
    REQUIRE(c);
    CHECK(c->exit_status == 1);
    CHECK(c->reason == "entered FATAL state: Exited too quickly (process log may have details)");
    auto r = critical_exit(ProcessState::Running, ProcessState::Fatal, exited(0), "");
    REQUIRE(r);
    CHECK(r->reason == "entered FATAL state");
  }

  TEST_CASE("starting, stopping and stopped transitions don't end the daemon") {
    const ExitStatus es = exited(3);
    CHECK_FALSE(critical_exit(ProcessState::Stopped, ProcessState::Starting, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Starting, ProcessState::Running, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Starting, ProcessState::Backoff, es, "Exited too quickly"));
    CHECK_FALSE(critical_exit(ProcessState::Backoff, ProcessState::Starting, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Running, ProcessState::Stopping, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Stopping, ProcessState::Stopped, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Exited, ProcessState::Starting, es, ""));
    CHECK_FALSE(critical_exit(ProcessState::Exited, ProcessState::Stopped, es, ""));
  }
}
