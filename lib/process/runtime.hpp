// Runtime: the operating-system seam of the process layer (clock, timers,
// spawning, signalling, watching output pipes). The daemon uses AsioRuntime
// (process/asio_runtime.hpp); state-machine tests use a fake with a manual
// clock and no forking.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "health/notify.hpp"
#include "health/probe.hpp"
#include "spawn/spawn_spec.hpp"
#include "util/result.hpp"

namespace sup {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Duration = std::chrono::milliseconds;

// A one-shot timer. Re-arming cancels the previous deadline; destroying it
// cancels it. The callback runs on the event loop, never inside arm().
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void arm(Duration after, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
  virtual bool armed() const = 0;
};

// Watches an output pipe until EOF; destroying it stops watching.
class OutputWatch {
 public:
  virtual ~OutputWatch() = default;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual TimePoint now() const = 0;
  virtual double wall_time() const = 0;  // seconds since the epoch
  virtual std::unique_ptr<Timer> make_timer() = 0;
  // Runs fn on the event loop soon (never synchronously).
  virtual void post(std::function<void()> fn) = 0;
  // Spawns a child. An error is supervisord's spawnerr text for failures
  // detected before the child exists (e.g. fork failure, too many files).
  virtual Result<SpawnedChild> spawn(const SpawnSpec& spec) = 0;
  // kill(pid, sig), or kill(-pid, sig) for the process group. Returns 0 or errno.
  virtual int kill(pid_t pid, int sig, bool group) = 0;
  // Watches fd (takes ownership); on_data gets every byte, on_eof once.
  virtual std::unique_ptr<OutputWatch> watch_output(UniqueFd fd,
                                                    std::function<void(std::string_view)> on_data,
                                                    std::function<void()> on_eof) = 0;
  // Starts one health probe (issue 5). For exec checks `exec` is the spawn
  // spec of the command (resolved filename, the program's env, user,
  // directory); `name` names it in messages. `done` runs once, from the event
  // loop, unless the handle is destroyed first.
  struct ProbeRequest {
    config::HealthCheck check;
    Duration timeout{5000};
    SpawnSpec exec;
    std::string name;
  };
  virtual std::unique_ptr<health::ProbeHandle> start_probe(const ProbeRequest& req, health::ProbeDone done) = 0;
  // The reaper offers pids that belong to no process here: true when it was
  // a probe's child (its status is consumed).
  virtual bool claim_exit(pid_t pid, int wait_status) = 0;
  // ready=notify: a fresh sd_notify socket; on_datagram gets each message
  // from the event loop. Destroying the listener closes it.
  virtual Result<std::unique_ptr<health::NotifyListener>> open_notify(
      std::function<void(std::string_view)> on_datagram) = 0;
};

}  // namespace sup
