// FakeRuntime: a sup::Runtime for state-machine tests. A manual clock, no
// forking, no sleeping, no file descriptors.
//
//   - advance(d) moves the steady and the wall clock together. Due timers
//     fire synchronously inside advance(), in deadline order (ties: the
//     earlier arm() first), with the clock set to each timer's deadline
//     while its callback runs. Posted functions run before and after each
//     timer, as on a real event loop.
//   - post() queues; run_posted() drains the queue (also what posted
//     functions post meanwhile).
//   - spawn() records the SpawnSpec and returns pids 100, 101, ... (or the
//     configured error); kill() records (pid, sig, group) and returns the
//     configured errno; watch_output() watches nothing (nullptr).
//   - exit(pid, status) plays the reaper: Supervisor::on_child_exit, then
//     the posted functions.
//
// Also: small builders for configuration values used by the tests.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "process/runtime.hpp"
#include "process/state.hpp"
#include "process/supervisor.hpp"

namespace sup {
// So that doctest prints states by name in failed assertions.
std::ostream& operator<<(std::ostream& os, ProcessState s);
}  // namespace sup

namespace sup::testing {

// Wait statuses as waitpid() reports them.
int exited_with(int code);
int killed_by(int sig, bool core = false);

struct KillCall {
  pid_t pid = 0;
  int sig = 0;
  bool group = false;
  bool operator==(const KillCall&) const = default;
};

struct SpawnCall {
  SpawnSpec spec;
  pid_t pid = 0;     // 0 when the spawn failed
  Duration at{0};    // elapsed() when spawn() was called
};

class FakeRuntime : public Runtime {
 public:
  FakeRuntime();
  ~FakeRuntime() override;
  FakeRuntime(const FakeRuntime&) = delete;
  FakeRuntime& operator=(const FakeRuntime&) = delete;

  // Runtime
  TimePoint now() const override { return now_; }
  double wall_time() const override;
  std::unique_ptr<Timer> make_timer() override;
  void post(std::function<void()> fn) override;
  Result<SpawnedChild> spawn(const SpawnSpec& spec) override;
  int kill(pid_t pid, int sig, bool group) override;
  std::unique_ptr<OutputWatch> watch_output(UniqueFd fd, std::function<void(std::string_view)> on_data,
                                            std::function<void()> on_eof) override;
  std::unique_ptr<health::ProbeHandle> start_probe(const ProbeRequest& req, health::ProbeDone done) override;
  bool claim_exit(pid_t pid, int wait_status) override;
  Result<std::unique_ptr<health::NotifyListener>> open_notify(
      std::function<void(std::string_view)> on_datagram) override;

  // Clock control.
  void advance(Duration d);
  void run_posted();
  Duration elapsed() const;  // since construction
  static constexpr double kWallStart = 1700000000.0;
  // Armed timers and the time left until the earliest one (nullopt if none).
  std::size_t armed_timers() const;
  std::optional<Duration> next_deadline() const;

  // The reaper. Requires attach().
  void attach(Supervisor& supervisor) { supervisor_ = &supervisor; }
  void exit(pid_t pid, int wait_status);

  // Fault injection: while set, every spawn() fails with this spawnerr text.
  std::optional<std::string> spawn_error;
  // kill() returns this errno (0 = success).
  int kill_errno = 0;

  // What happened.
  std::vector<SpawnCall> spawns;  // every spawn() call, failed ones too
  std::vector<KillCall> kills;
  pid_t last_pid() const;         // pid of the last successful spawn, 0 if none

  // Health probes: start_probe() records the request (at elapsed()) and
  // leaves it pending until the test answers it with finish_probe(), which
  // calls the callback and runs the posted functions. Destroying the handle
  // (the process gave up on it) marks it cancelled.
  struct ProbeCall {
    ProbeRequest req;
    Duration at{0};
    health::ProbeDone done;
    bool cancelled = false;
    bool finished = false;
  };
  std::vector<std::shared_ptr<ProbeCall>> probes;
  // The last probe still waiting for an answer, or null.
  ProbeCall* pending_probe() const;
  // Answers the pending probe; throws when there is none.
  void finish_probe(bool ok, const std::string& detail = "");

  // sd_notify: open_notify() hands out "@fake-notify/1", "@fake-notify/2"...
  // notify() delivers a datagram to the newest open listener (throws if none)
  // and runs the posted functions.
  void notify(const std::string& datagram);
  std::size_t open_notify_listeners() const;
  struct NotifyEntry {
    std::string address;
    std::function<void(std::string_view)> on_datagram;
    bool open = true;
  };
  std::vector<std::shared_ptr<NotifyEntry>> notify_listeners;
  std::size_t successful_spawns() const;

 private:
  struct TimerEntry;
  class FakeTimer;

  TimePoint start_;
  TimePoint now_;
  pid_t next_pid_ = 100;
  std::uint64_t next_seq_ = 1;
  std::vector<std::weak_ptr<TimerEntry>> timers_;
  std::deque<std::function<void()>> posted_;
  Supervisor* supervisor_ = nullptr;
};

// Configuration builders. Logs are off (kind None) so nothing touches the disk.
config::ProcessConfig program(const std::string& name,
                              std::vector<std::string> argv = {"/bin/sh", "-c", "sleep 1000"});
// A homogeneous group holding p (named after p.group).
config::GroupConfig group_of(config::ProcessConfig p);
// A heterogeneous [group:name] with the given priority; sets each process's group.
config::GroupConfig group(const std::string& name, int priority, std::vector<config::ProcessConfig> procs);
config::Config config_of(std::vector<config::GroupConfig> groups);

// One state change as a listener saw it.
struct Transition {
  std::string namespec;
  ProcessState from;
  ProcessState to;
  bool operator==(const Transition&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Transition& t);

// A Supervisor on a FakeRuntime, with every state change recorded.
// Construct, adjust, then start() (or construct with start_now). Neither
// copyable nor movable: the recorder points into it.
class Harness {
 public:
  using Env = std::vector<std::pair<std::string, std::string>>;
  static Env default_env() { return {{"PATH", "/usr/bin:/bin"}, {"HOME", "/root"}}; }
  explicit Harness(config::Config config, Env env = default_env(), bool start_now = false);
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
  // Supervisor::start() and one turn of the event loop.
  void start();
  // The process named by namespec; fails the test (throws) if there is none.
  Process& proc(const std::string& namespec) const;
  // The recorded transitions of one process, in order.
  std::vector<Transition> transitions_of(const std::string& namespec) const;
  // The same as text, e.g. "STOPPED->STARTING STARTING->RUNNING" (readable in failures).
  std::string edges_of(const std::string& namespec) const;

  FakeRuntime rt;
  std::unique_ptr<Supervisor> sup;
  std::vector<Transition> transitions;
};

}  // namespace sup::testing
