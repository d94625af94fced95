// Children and their output pipes: a child that closes stdout and stderr
// early and lives on (the daemon sees EOF and must neither spin nor log it
// over and over), and a child that floods stdout as fast as it can while
// other programs are controlled (the daemon must keep serving).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "faults_support.hpp"

using namespace e2e;
using Clock = std::chrono::steady_clock;

TEST_CASE("a child that closes stdout and stderr early stays RUNNING, costs no CPU and stops normally") {
  TempDir dir;
  Daemon d(dir, R"(
[program:mute]
command=/bin/sh -c 'echo before; echo before-err >&2; exec >&- 2>&-; echo $$ > @DIR@/mute.closed; exec sleep 1000'
stdout_logfile=@DIR@/mute.out
stderr_logfile=@DIR@/mute.err
startsecs=1

[program:half]
command=/bin/sh -c 'exec >&-; i=0; while :; do i=$((i+1)); echo "err $i" >&2; sleep 0.05; done'
stdout_logfile=@DIR@/half.out
stderr_logfile=@DIR@/half.err
startsecs=1
)");
  d.start();
  REQUIRE(wait_until([&] { return read_pid_file(dir.file("mute.closed")) > 0; }));
  REQUIRE(d.wait_state("mute", "RUNNING"));
  REQUIRE(d.wait_state("half", "RUNNING"));
  CHECK(read_file(dir.file("mute.out")) == "before\n");
  CHECK(read_file(dir.file("mute.err")) == "before-err\n");
  CHECK(read_file(dir.file("half.out")).empty());

  // A window of 2 s with both pipes of `mute` and stdout of `half` at EOF.
  const std::size_t log_lines = split_lines(d.log()).size();
  const std::size_t half_before = read_file(dir.file("half.err")).size();
  const double cpu0 = faults::cpu_seconds(d.pid());
  REQUIRE(cpu0 >= 0);
  std::this_thread::sleep_for(2s);  // the measurement window itself
  const double cpu = faults::cpu_seconds(d.pid()) - cpu0;
  MESSAGE("daemon CPU over 2 s with closed child pipes: " << cpu << " s");
  CHECK(cpu < 0.5);
  // Nothing was logged about the closed pipes, let alone repeatedly.
  CHECK_MESSAGE(split_lines(d.log()).size() == log_lines, d.log());
  CHECK(d.log_count(" ERRO ") == 0);
  // stderr of `half` is still captured after its stdout closed.
  CHECK(read_file(dir.file("half.err")).size() > half_before);

  CHECK(d.state_of("mute") == "RUNNING");
  const pid_t mute = d.pid_of("mute");
  RpcResult r = d.call("supervisor.stopProcess", {"mute"});
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(d.state_of("mute") == "STOPPED");
  CHECK_FALSE(pid_alive(mute));
  CHECK(d.log_count("stopped: mute (terminated by SIGTERM)") == 1);
  r = d.call("supervisor.stopProcess", {"half"});
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(d.state_of("half") == "STOPPED");
  // And it starts again, output captured afresh.
  r = d.call("supervisor.startProcess", {"mute"});
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(wait_until([&] { return read_file(dir.file("mute.out")) == "before\nbefore\n"; }));
}

TEST_CASE("a child flooding stdout forever: control calls stay prompt and the flood's log keeps growing") {
  TempDir dir;
  std::string body = R"(
[program:flood]
command=/usr/bin/yes flood-line
stdout_logfile=@DIR@/flood.log
stdout_logfile_maxbytes=4MB
stdout_logfile_backups=1
)";
  for (int i = 1; i <= 5; ++i)
    body += "[program:p" + std::to_string(i) + "]\ncommand=/bin/sleep 10" + std::to_string(i) + "\nstartsecs=0\n";
  Daemon d(dir, body);
  d.start();
  REQUIRE(d.wait_state("flood", "RUNNING"));
  for (int i = 1; i <= 5; ++i) REQUIRE(d.wait_state("p" + std::to_string(i), "RUNNING"));
  const long long w0 = faults::bytes_written(d.pid());
  REQUIRE(w0 >= 0);

  // Every control action of a user, timed. 5 s is far beyond what an idle
  // machine needs for one call; the instrumented build gets three times that.
  const auto limit = std::chrono::seconds(5 * faults::slowdown());
  auto slowest = Clock::duration::zero();
  int calls = 0;
  auto timed_ctl = [&](const std::vector<std::string>& args) {
    auto t0 = Clock::now();
    CommandResult r = faults::ctl(d, args, std::chrono::duration_cast<Millis>(limit * 2));
    auto took = Clock::now() - t0;
    slowest = std::max(slowest, took);
    ++calls;
    CHECK_MESSAGE(took < limit, "supervisorctl " << args[0] << " took "
                                    << std::chrono::duration_cast<Millis>(took).count() << " ms");
    CHECK_FALSE(r.timed_out);
    return r;
  };
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= 5; ++i) {
      const std::string name = "p" + std::to_string(i);
      CHECK(timed_ctl({"stop", name}).out == name + ": stopped\n");
      CHECK(timed_ctl({"start", name}).out == name + ": started\n");
      CommandResult st = timed_ctl({"status"});
      CHECK(count_occurrences(st.out, " RUNNING ") == 6);
      auto t0 = Clock::now();
      RpcResult all = d.call("supervisor.getAllProcessInfo");
      auto took = Clock::now() - t0;
      slowest = std::max(slowest, took);
      ++calls;
      REQUIRE_MESSAGE(all.ok(), all.describe());
      CHECK(all.value().as_array().size() == 6);
      CHECK(took < limit);
    }
  }
  MESSAGE(calls << " control calls during the flood, slowest "
                << std::chrono::duration_cast<Millis>(slowest).count() << " ms");
  // The flood went on being logged all along, and still is.
  const long long w1 = faults::bytes_written(d.pid());
  MESSAGE("the daemon wrote " << (w1 - w0) / (1024 * 1024) << " MiB of flood output meanwhile");
  CHECK(w1 - w0 > 4 * 1024 * 1024);
  CHECK(wait_until([&] { return faults::bytes_written(d.pid()) > w1 + 4 * 1024 * 1024; }));
  // Rotation kept it to NAME and NAME.1, each close to maxbytes. A rotation
  // removes NAME.1 before renaming NAME onto it (as supervisord does), and
  // this flood rotates hundreds of times a second: NAME.1 is read once it
  // is there.
  std::string rotated;
  CHECK(wait_until([&] {
    rotated = read_file(dir.file("flood.log.1"));
    return !rotated.empty();
  }));
  CHECK_FALSE(file_exists(dir.file("flood.log.2")));
  CHECK(rotated.size() >= 4u * 1024 * 1024);
  CHECK(rotated.find("flood-line\nflood-line\n") != std::string::npos);
  CHECK(d.state_of("flood") == "RUNNING");

  // Stopping the flood itself is as prompt.
  auto t0 = Clock::now();
  CHECK(faults::ctl(d, {"stop", "flood"}).out == "flood: stopped\n");
  CHECK(Clock::now() - t0 < limit);
}
