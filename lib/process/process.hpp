// Process: one supervised process and supervisord's state machine for it.
//
// Event driven: every event (spawn result, exit, timer expiry, control
// request) ends in transition(), which does what supervisord's per-pass
// transition() would do and arms the one timer for the state's next
// deadline (startsecs, backoff delay, stopwaitsecs). Nothing polls.
// set_state() is the only writer of state_. Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "process/runtime.hpp"
#include "process/state.hpp"

namespace sup {

namespace logging {
class ChannelLog;
}

class Process;

// What a process needs from its owner (the Supervisor).
class ProcessHost {
 public:
  virtual ~ProcessHost() = default;
  // False while the daemon shuts down or restarts: nothing is (re)started then.
  virtual bool may_start() const = 0;
  // The environment a child starts from: the daemon's, then [supervisord]
  // environment=, then SUPERVISOR_* variables (the process adds its own).
  virtual std::vector<std::pair<std::string, std::string>> base_environment(const Process&) const = 0;
  // Value for SUPERVISOR_SERVER_URL when serverurl=AUTO ("" = none).
  virtual std::string auto_server_url() const = 0;
  virtual void on_state_change(Process& p, ProcessState from, ProcessState to) = 0;
  virtual void on_pid_change(Process& p, pid_t old_pid, pid_t new_pid) = 0;
  // The listening sockets of p's socket= (issue 6), held by the daemon, in
  // config order; an error (e.g. the address can't be bound) is a spawn error.
  virtual Result<std::vector<int>> listen_fds(const Process& p) {
    (void)p;
    return std::vector<int>{};
  }
  // Asked before an autostart (depends_on=, issue 5): false when p must wait
  // for processes it depends on; the host then spawns p once they are RUNNING.
  virtual bool admit_autostart(Process& p) {
    (void)p;
    return true;
  }
  // Asked before an automatic restart (autorestart, BACKOFF retry): false
  // when p must wait for a later turn of the event loop; the host then calls
  // p.transition() again. Spreads mass crash-restarts so that the loop keeps
  // serving requests and reading pipes between spawns.
  virtual bool admit_respawn(Process& p) {
    (void)p;
    return true;
  }
};

// Decoded wait status.
struct ExitStatus {
  int code = 0;       // exit code, or -1 when killed by a signal (supervisord's convention)
  int signal = 0;     // terminating signal, 0 if exited
  bool core = false;
  static ExitStatus from_wait_status(int status);
  // "exit status 3" / "terminated by SIGTERM" / "terminated by SIGSEGV (core dumped)"
  std::string describe() const;
};

std::string signal_name(int sig);  // "SIGTERM"; "signal 77" for unknown numbers

class Process {
 public:
  // The configuration is shared with the supervisor's copy of the group it
  // was read in (issue 7: one copy per program, not two); the value
  // constructor gives a process a copy of its own.
  Process(std::shared_ptr<const config::ProcessConfig> config, Runtime& rt, ProcessHost& host);
  Process(config::ProcessConfig config, Runtime& rt, ProcessHost& host);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const config::ProcessConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  const std::string& group() const { return config_.group; }
  // "group:name", or "name" when both are the same.
  std::string namespec() const;

  ProcessState state() const { return state_; }
  pid_t pid() const { return pid_; }
  double laststart() const { return laststart_; }  // epoch seconds, 0 if never started
  double laststop() const { return laststop_; }
  const std::string& spawnerr() const { return spawnerr_; }
  int exitstatus() const { return exitstatus_; }
  // How the last child of this process ended (signal included), for
  // critical= (issue 8); code 0 and no signal before any exit.
  const ExitStatus& last_exit() const { return last_exit_; }
  int backoff() const { return backoff_; }

  // Issue 5: health checks, readiness and restart history.
  enum class Health : std::uint8_t { None, Starting, Healthy, Unhealthy };
  Health health() const { return health_; }
  const std::string& health_detail() const { return health_detail_; }  // last probe's result, "" before any
  // Automatic restarts so far (autorestart, BACKOFF retries, health restarts).
  int restarts() const { return restarts_; }
  // ready=notify: the last STATUS= the child sent ("" if none).
  const std::string& notify_status() const { return notify_status_; }
  // EXITED and waiting (restart_delay or crash backoff) to be restarted.
  bool restart_pending() const { return state_ == ProcessState::Exited && restart_at_ != TimePoint{}; }
  // A stop request while a restart is pending: EXITED -> STOPPED, no restart.
  void cancel_restart(const std::string& why);

  // Output logs (created by the owner when the group is added; may be null).
  void set_logs(std::unique_ptr<logging::ChannelLog> out, std::unique_ptr<logging::ChannelLog> err);
  logging::ChannelLog* stdout_log() const { return stdout_log_.get(); }
  logging::ChannelLog* stderr_log() const { return stderr_log_.get(); }

  // Checks that the command can be found and executed, as startProcess does
  // before spawning. Returns "" or supervisord's message
  // ("can't find command 'x'", "command at 'x' is not executable").
  struct CommandCheck {
    enum class Kind { Ok, NotFound, NotExecutable, NoPermission } kind = Kind::Ok;
    std::string filename;
    std::string message;
  };
  CommandCheck check_command() const;

  // Runs supervisord's transition for the current state (autostart,
  // autorestart, backoff retry, promotion, give-up).
  void transition();
  // Start request (startProcess, or autostart). Callers check the state.
  void spawn();
  // Stop request: stopsignal now, SIGKILL after stopwaitsecs.
  // Returns "" or an error message (supervisord's FAILED text).
  std::string stop(const std::string& why = "stop requested");
  // Sends sig to the process. Returns "" or an error message.
  std::string signal(int sig);
  // BACKOFF -> FATAL (shutdown of a group, or retries exhausted).
  void give_up();
  // A start that waited for dependencies will not happen (depends_on=):
  // records why as the spawnerr and leaves the process STOPPED.
  void abandon_start(const std::string& why);
  // Called by the reaper.
  void on_exit(int wait_status);
  // Writes to the child's stdin. Returns false when stdin is closed.
  bool write_stdin(const std::string& data);
  bool has_stdin() const { return stdin_fd_.valid(); }

 private:
  void set_state(ProcessState to, const std::string& why);
  void arm_timer_for_state();
  void on_timer();
  void record_spawnerr(const std::string& msg);
  std::string kill_with(int sig, const std::string& why);
  std::vector<std::string> build_env() const;
  CommandCheck check_program(const std::string& program) const;
  // Issue 5.
  TimePoint start_deadline() const;            // when STARTING must have become RUNNING
  Duration backoff_delay(int attempt);         // linear or exponential (with jitter)
  bool allow_restart();                        // restart_limit; false: now FATAL
  void become_running(const std::string& why);
  void start_health();
  void stop_health();
  void schedule_probe(Duration after);
  void run_probe();
  void on_probe_result(bool ok, const std::string& detail);
  void on_notify(std::string_view message);
  void arm_watchdog();
  void restart_unhealthy(const std::string& why);

  std::shared_ptr<const config::ProcessConfig> shared_config_;
  const config::ProcessConfig& config_;
  Runtime& rt_;
  ProcessHost& host_;

  // Pointers and 8-byte fields, then 4-byte ones, then one-byte ones: no
  // padding between them (issue 7: a Process per program).
  double laststart_ = 0;       // wall clock, for getProcessInfo
  double laststop_ = 0;
  TimePoint started_at_{};     // steady clock, for startsecs
  TimePoint delay_{};          // backoff retry time or SIGKILL deadline
  TimePoint restart_at_{};        // EXITED: restart_delay / crash backoff deadline
  std::string spawnerr_;
  std::unique_ptr<Timer> timer_;
  std::vector<TimePoint> restart_times_;  // within restart_limit's window
  std::string health_detail_;
  std::unique_ptr<Timer> health_timer_;  // only with a healthcheck= (issue 7: memory per program)
  std::unique_ptr<health::ProbeHandle> probe_;
  std::unique_ptr<health::NotifyListener> notify_;  // ready=notify, while the child lives
  std::string notify_status_;
  std::unique_ptr<Timer> watchdog_timer_;  // only with watchdog_sec=
  ExitStatus last_exit_;
  ProcessState state_ = ProcessState::Stopped;
  pid_t pid_ = 0;
  int backoff_ = 0;
  int exitstatus_ = 0;
  int crash_streak_ = 0;          // exponential: quick crashes of RUNNING in a row
  int restarts_ = 0;
  int health_failures_ = 0;       // consecutive
  unsigned jitter_seed_ = 0;
  Health health_ = Health::None;
  bool exit_expected_ = true;  // of the last exit from RUNNING
  bool health_restart_ = false;   // STOPPING because unhealthy: start again once stopped
  bool start_failed_ = false;     // STOPPING because never ready: BACKOFF once stopped

  UniqueFd stdin_fd_;
  unsigned next_watch_id_ = 0;
  std::unique_ptr<logging::ChannelLog> stdout_log_;
  std::unique_ptr<logging::ChannelLog> stderr_log_;
  // Output watches of this and earlier spawns; each lives until its pipe's
  // EOF, so output written after an exit (or by grandchildren) is kept.
  struct Watch {
    unsigned id;
    std::unique_ptr<OutputWatch> watch;
  };
  std::vector<Watch> watches_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sup
