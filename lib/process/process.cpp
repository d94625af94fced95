#include "process/process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "logging/child_log.hpp"
#include "logging/daemon_log.hpp"

namespace sup {

ExitStatus ExitStatus::from_wait_status(int status) {
  ExitStatus es;
  if (WIFEXITED(status)) {
    es.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    es.code = -1;
    es.signal = WTERMSIG(status);
    es.core = WCOREDUMP(status);
  } else {
    es.code = -1;
  }
  return es;
}

std::string ExitStatus::describe() const {
  if (signal == 0) return "exit status " + std::to_string(code);
  std::string s = "terminated by " + signal_name(signal);
  if (core) s += " (core dumped)";
  return s;
}

std::string signal_name(int sig) {
  static const struct {
    int num;
    const char* name;
  } kNames[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},     {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
      {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},   {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
      {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},   {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},   {SIGTERM, "SIGTERM"}, {SIGSTKFLT, "SIGSTKFLT"},
      {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},   {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
      {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},   {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},
      {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
      {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},     {SIGSYS, "SIGSYS"},
  };
  for (const auto& n : kNames)
    if (n.num == sig) return n.name;
  return "signal " + std::to_string(sig);
}

Process::Process(config::ProcessConfig config, Runtime& rt, ProcessHost& host)
    : Process(std::make_shared<const config::ProcessConfig>(std::move(config)), rt, host) {}

Process::Process(std::shared_ptr<const config::ProcessConfig> config, Runtime& rt, ProcessHost& host)
    : shared_config_(std::move(config)), config_(*shared_config_), rt_(rt), host_(host), timer_(rt.make_timer()),
      health_timer_(config_.healthcheck->kind == config::HealthCheck::Kind::None ? nullptr : rt.make_timer()),
      watchdog_timer_(config_.watchdog_sec > 0 ? rt.make_timer() : nullptr) {}

Process::~Process() { *alive_ = false; }

std::string Process::namespec() const {
  if (config_.group == config_.name) return config_.name;
  return config_.group + ":" + config_.name;
}

void Process::set_logs(std::unique_ptr<logging::ChannelLog> out,
                       std::unique_ptr<logging::ChannelLog> err) {
  stdout_log_ = std::move(out);
  stderr_log_ = std::move(err);
}

void Process::set_state(ProcessState to, const std::string& why) {
  ProcessState from = state_;
  if (from == to) return;
  state_ = to;
  if (to == ProcessState::Backoff) {
    // supervisord: every entry into BACKOFF waits one second more
    // (backoff=exponential: 1 s, 2 s, 4 s ... up to backoff_max).
    backoff_ += 1;
    delay_ = rt_.now() + backoff_delay(backoff_);
  }
  if (!why.empty())
    log::debug("{}: {} -> {} ({})", namespec(), to_string(from), to_string(to), why);
  arm_timer_for_state();
  host_.on_state_change(*this, from, to);
}

void Process::arm_timer_for_state() {
  std::weak_ptr<bool> alive = alive_;
  auto fire = [this, alive] {
    if (auto a = alive.lock(); a && *a) on_timer();
  };
  auto now = rt_.now();
  auto until = [&](TimePoint t) {
    // Round up: a timer must never fire before the deadline it stands for.
    return std::max(Duration(0), std::chrono::ceil<Duration>(t - now));
  };
  switch (state_) {
    case ProcessState::Starting:
      // ready=healthcheck|notify with a deadline of 0 s waits for readiness indefinitely.
      if (config_.ready != config::Readiness::Startsecs && start_deadline() == started_at_)
        timer_->cancel();
      else
        timer_->arm(until(start_deadline()), fire);
      break;
    case ProcessState::Backoff:
    case ProcessState::Stopping:
      timer_->arm(until(delay_), fire);
      break;
    case ProcessState::Exited:
      // restart_delay / crash backoff: the pending restart's deadline.
      if (restart_at_ > now)
        timer_->arm(until(restart_at_), fire);
      else
        timer_->cancel();
      break;
    case ProcessState::Stopped:
    case ProcessState::Running:
    case ProcessState::Fatal:
    case ProcessState::Unknown:
      timer_->cancel();
      break;
  }
}

void Process::on_timer() {
  if (state_ == ProcessState::Stopping) {
    if (pid_ == 0) return;
    // STOPPING: stopwaitsecs passed; a final SIGKILL (repeated every
    // stopwaitsecs if the process survives it, as supervisord does).
    log::warn("killing '{}' ({}) with SIGKILL", name(), pid_);
    kill_with(SIGKILL, "stopwaitsecs expired");
    return;
  }
  ProcessState before = state_;
  transition();
  // A deadline that is not quite due yet (clock granularity) is waited for again.
  if (state_ != before) return;
  TimePoint deadline = state_ == ProcessState::Starting ? start_deadline()
                       : state_ == ProcessState::Backoff ? delay_
                       : state_ == ProcessState::Exited  ? restart_at_
                                                         : TimePoint{};
  if (rt_.now() < deadline) arm_timer_for_state();
}

void Process::transition() {
  auto now = rt_.now();
  if (host_.may_start()) {
    switch (state_) {
      case ProcessState::Exited:
        if (config_.autorestart == config::AutoRestart::True ||
            (config_.autorestart == config::AutoRestart::Unexpected && !exit_expected_)) {
          // EXITED -> STARTING: autorestart=true, or an unexpected exit code;
          // after restart_delay (or the crash backoff) when set.
          if (now >= restart_at_ && allow_restart() && host_.admit_respawn(*this)) {
            restart_at_ = TimePoint{};
            spawn();
          }
        }
        break;
      case ProcessState::Stopped:
        // STOPPED -> STARTING: autostart, once the dependencies are RUNNING.
        if (laststart_ == 0 && config_.autostart && host_.admit_autostart(*this)) spawn();
        break;
      case ProcessState::Backoff:
        // BACKOFF -> STARTING
        if (backoff_ <= config_.startretries && now >= delay_ && allow_restart() && host_.admit_respawn(*this))
          spawn();
        break;
      case ProcessState::Starting:
      case ProcessState::Running:
      case ProcessState::Stopping:
      case ProcessState::Fatal:
      case ProcessState::Unknown:
        break;
    }
  }
  if (state_ == ProcessState::Starting && pid_ != 0 && config_.ready == config::Readiness::Startsecs &&
      now - started_at_ >= std::chrono::seconds(config_.startsecs)) {
    // STARTING -> RUNNING: stayed up for startsecs.
    become_running("");
    log::info("success: {} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
              name(), config_.startsecs);
  } else if (state_ == ProcessState::Starting && pid_ != 0 && config_.ready != config::Readiness::Startsecs &&
             start_deadline() != started_at_ && now >= start_deadline()) {
    // STARTING -> STOPPING -> BACKOFF: never became ready in time.
    int secs = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(start_deadline() - started_at_).count());
    spawnerr_ = config_.ready == config::Readiness::Healthcheck
                    ? "no passing health check within " + std::to_string(secs) + " seconds"
                    : "no READY=1 notification within " + std::to_string(secs) + " seconds";
    log::warn("{}: {}; stopping it", name(), spawnerr_);
    start_failed_ = true;
    kill_with(config_.stopsignal, "not ready");
  } else if (state_ == ProcessState::Backoff && backoff_ > config_.startretries) {
    // BACKOFF -> FATAL: too many start retries.
    give_up();
    log::info("gave up: {} entered FATAL state, too many start retries too quickly", name());
  }
}

void Process::abandon_start(const std::string& why) {
  spawnerr_ = why;
  log::info("not started: {} ({})", name(), why);
  if (state_ == ProcessState::Exited || state_ == ProcessState::Fatal) set_state(ProcessState::Stopped, why);
}

void Process::give_up() {
  delay_ = TimePoint{};
  backoff_ = 0;
  set_state(ProcessState::Fatal, "");
}

Process::CommandCheck Process::check_command() const {
  if (config_.argv.empty()) {
    CommandCheck c;
    c.kind = CommandCheck::Kind::NotFound;
    c.message = "can't find command ''";
    return c;
  }
  return check_program(config_.argv[0]);
}

Process::CommandCheck Process::check_program(const std::string& program) const {
  CommandCheck c;
  struct stat st {};
  bool found = false;
  if (program.find('/') != std::string::npos) {
    c.filename = program;
    found = ::stat(program.c_str(), &st) == 0;
  } else {
    // PATH from the program's environment=, else the daemon's, as supervisord does.
    std::string path;
    bool have = false;
    for (const auto& [k, v] : config_.environment)
      if (k == "PATH") path = v, have = true;
    if (!have) {
      for (const auto& [k, v] : host_.base_environment(*this))
        if (k == "PATH") path = v, have = true;
    }
    if (!have) path = "/usr/local/bin:/usr/bin:/bin";
    size_t start = 0;
    c.filename = program;
    while (start <= path.size()) {
      size_t end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      std::string dir = path.substr(start, end - start);
      std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
      if (::stat(candidate.c_str(), &st) == 0) {
        c.filename = candidate;
        found = true;
        break;
      }
      start = end + 1;
    }
  }
  if (!found) {
    c.kind = CommandCheck::Kind::NotFound;
    c.message = "can't find command '" + c.filename + "'";
  } else if (S_ISDIR(st.st_mode)) {
    c.kind = CommandCheck::Kind::NotExecutable;
    c.message = "command at '" + c.filename + "' is a directory";
  } else if ((st.st_mode & 0111) == 0) {
    c.kind = CommandCheck::Kind::NotExecutable;
    c.message = "command at '" + c.filename + "' is not executable";
  } else if (::access(c.filename.c_str(), X_OK) != 0) {
    c.kind = CommandCheck::Kind::NoPermission;
    c.message = "no permission to run command '" + c.filename + "'";
  }
  return c;
}

std::vector<std::string> Process::build_env() const {
  std::vector<std::pair<std::string, std::string>> kv = host_.base_environment(*this);
  auto set = [&kv](const std::string& k, const std::string& v) {
    for (auto& p : kv)
      if (p.first == k) {
        p.second = v;
        return;
      }
    kv.emplace_back(k, v);
  };
  set("SUPERVISOR_ENABLED", "1");
  std::string url = config_.serverurl == "AUTO" ? host_.auto_server_url() : config_.serverurl;
  if (!url.empty()) set("SUPERVISOR_SERVER_URL", url);
  set("SUPERVISOR_PROCESS_NAME", config_.name);
  set("SUPERVISOR_GROUP_NAME", config_.group);
  for (const auto& [k, v] : config_.environment) set(k, v);
  std::vector<std::string> env;
  env.reserve(kv.size());
  for (const auto& [k, v] : kv) env.push_back(k + "=" + v);
  return env;
}

void Process::record_spawnerr(const std::string& msg) {
  spawnerr_ = msg;
  log::info("spawnerr: {}", msg);
}

void Process::spawn() {
  if (pid_ != 0) {
    log::warn("process '{}' already running", name());
    return;
  }
  // A new attempt starts clean: getProcessInfo shows no spawnerr and exit
  // status 0 while STARTING (supervisord's spawn() resets both).
  spawnerr_.clear();
  exitstatus_ = 0;
  restart_at_ = TimePoint{};  // a start request overrides a pending delayed restart
  laststart_ = rt_.wall_time();
  started_at_ = rt_.now();
  set_state(ProcessState::Starting, "start");

  CommandCheck check = check_command();
  if (check.kind != CommandCheck::Kind::Ok) {
    // STARTING -> BACKOFF: the command can't be run.
    record_spawnerr(check.message);
    set_state(ProcessState::Backoff, check.message);
    transition();
    return;
  }

  // Log files are (re)opened for each spawn, as supervisord makes its
  // dispatchers per spawn: a log directory made unwritable is a spawn error.
  for (logging::ChannelLog* log : {stdout_log_.get(), stderr_log_.get()}) {
    if (!log) continue;
    if (Status st = log->prepare(); !st) {
      record_spawnerr(st.error());
      set_state(ProcessState::Backoff, st.error());
      transition();
      return;
    }
  }

  SpawnSpec spec;
  spec.filename = check.filename;
  spec.argv = config_.argv;
  spec.env = build_env();
  spec.directory = config_.directory;
  spec.umask = config_.umask;
  if (::geteuid() == 0 && config_.uid) {
    spec.uid = config_.uid;
    spec.gid = config_.gid;
    spec.user = config_.user;
  }
  spec.redirect_stderr = config_.redirect_stderr;
  if (!config_.sockets.empty()) {
    Result<std::vector<int>> fds = host_.listen_fds(*this);
    if (!fds) {
      // STARTING -> BACKOFF: the socket could not be bound (retried like a spawn error).
      record_spawnerr(fds.error());
      set_state(ProcessState::Backoff, fds.error());
      transition();
      return;
    }
    if (config_.socket_as_stdin && !fds->empty()) {
      spec.stdin_source = fds->front();  // [fcgi-program:x]: the socket is fd 0
    } else {
      // systemd socket activation: fd 3, 4, ... and LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES.
      spec.pass_fds = *fds;
      spec.listen_pid = true;
      std::string names;
      for (size_t i = 0; i < fds->size(); ++i) names += (i ? ":" : "") + config_.program;
      std::erase_if(spec.env, [](const std::string& kv) {
        return kv.rfind("LISTEN_FDS=", 0) == 0 || kv.rfind("LISTEN_FDNAMES=", 0) == 0;
      });
      spec.env.push_back("LISTEN_FDS=" + std::to_string(fds->size()));
      spec.env.push_back("LISTEN_FDNAMES=" + names);
    }
  }
  if (config_.ready == config::Readiness::Notify) {
    // sd_notify: the child finds its socket in NOTIFY_SOCKET.
    std::weak_ptr<bool> alive = alive_;
    auto listener = rt_.open_notify([this, alive](std::string_view msg) {
      if (auto a = alive.lock(); a && *a) on_notify(msg);
    });
    if (!listener) {
      record_spawnerr(listener.error());
      set_state(ProcessState::Backoff, listener.error());
      transition();
      return;
    }
    notify_ = std::move(*listener);
    notify_status_.clear();
    std::erase_if(spec.env, [](const std::string& kv) {
      return kv.rfind("NOTIFY_SOCKET=", 0) == 0 || kv.rfind("WATCHDOG_USEC=", 0) == 0;
    });
    spec.env.push_back("NOTIFY_SOCKET=" + notify_->address());
    if (config_.watchdog_sec > 0) spec.env.push_back("WATCHDOG_USEC=" + std::to_string(config_.watchdog_sec * 1000000LL));
  }
  Result<SpawnedChild> child = rt_.spawn(spec);
  if (!child) {
    // STARTING -> BACKOFF: fork or pipe failure.
    record_spawnerr(child.error());
    set_state(ProcessState::Backoff, child.error());
    transition();
    return;
  }
  pid_ = child->pid;
  spawnerr_.clear();
  stdin_fd_ = std::move(child->stdin_fd);
  host_.on_pid_change(*this, 0, pid_);
  log::info("spawned: '{}' with pid {}", name(), pid_);
  start_health();

  // Callbacks small enough for std::function's own storage (a pointer, an
  // id): no allocation per pipe (issue 7). The watches are members, so
  // they never call back into a destroyed Process.
  auto attach = [&](UniqueFd fd, logging::ChannelLog* log) {
    if (!fd.valid()) return;
    const unsigned id = ++next_watch_id_;
    auto watch = rt_.watch_output(
        std::move(fd),
        [log](std::string_view data) {
          if (log) log->write(data);
        },
        [this, id] {
          // Drop the finished watch later: we are inside its callback.
          rt_.post([this, id, alive = std::weak_ptr<bool>(alive_)] {
            if (auto a = alive.lock(); !a || !*a) return;
            std::erase_if(watches_, [&](const auto& w) { return w.id == id; });
          });
        });
    if (watch) watches_.push_back({id, std::move(watch)});
  };
  attach(std::move(child->stdout_fd), stdout_log_.get());
  attach(std::move(child->stderr_fd), stderr_log_.get());
  // The startsecs timer (armed on entering STARTING) now counts from here.
  arm_timer_for_state();
  if (config_.startsecs == 0) {
    std::weak_ptr<bool> a2 = alive_;
    rt_.post([this, a2] {
      if (auto a = a2.lock(); a && *a) transition();
    });
  }
}

std::string Process::kill_with(int sig, const std::string& why) {
  // RUNNING/STARTING -> STOPPING, or the SIGKILL while already STOPPING.
  bool group = state_ == ProcessState::Stopping ? config_.killasgroup : config_.stopasgroup;
  log::debug("killing {} (pid {}) {}with signal {}", name(), pid_, group ? "process group " : "",
             signal_name(sig));
  delay_ = rt_.now() + std::chrono::seconds(config_.stopwaitsecs);
  stop_health();
  if (state_ != ProcessState::Stopping)
    set_state(ProcessState::Stopping, why);
  else
    arm_timer_for_state();
  int err = rt_.kill(pid_, sig, group);
  if (err != 0 && err != ESRCH) {
    std::string msg = "unknown problem killing " + name() + " (" + std::to_string(pid_) +
                      "):" + std::strerror(err);
    log::critical("{}", msg);
    set_state(ProcessState::Unknown, msg);
    return msg;
  }
  return "";
}

std::string Process::stop(const std::string& why) {
  health_restart_ = false;
  start_failed_ = false;
  if (state_ == ProcessState::Backoff) {
    // BACKOFF -> STOPPED: don't wait for the retries to run out.
    log::info("stopped: {} (was in BACKOFF state; {})", name(), why);
    set_state(ProcessState::Stopped, why);
    return "";
  }
  if (pid_ == 0) {
    std::string msg = "attempted to kill " + name() + " with sig " + signal_name(config_.stopsignal) +
                      " but it wasn't running";
    log::debug("{}", msg);
    return msg;
  }
  if (state_ != ProcessState::Stopping)
    log::info("stopping: {} ({}, sending {})", name(), why, signal_name(config_.stopsignal));
  return kill_with(config_.stopsignal, why);
}

std::string Process::signal(int sig) {
  if (pid_ == 0) {
    std::string msg = "attempted to send " + name() + " sig " + signal_name(sig) +
                      " but it wasn't running";
    log::debug("{}", msg);
    return msg;
  }
  log::info("signalled: {} (pid {}) with {}", namespec(), pid_, signal_name(sig));
  int err = rt_.kill(pid_, sig, false);
  if (err != 0 && err != ESRCH) {
    std::string msg = "unknown problem sending sig " + name() + " (" + std::to_string(pid_) +
                      "):" + std::strerror(err);
    log::critical("{}", msg);
    set_state(ProcessState::Unknown, msg);
    return msg;
  }
  return "";
}

bool Process::write_stdin(const std::string& data) {
  if (!stdin_fd_.valid()) return false;
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(stdin_fd_.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return true;  // the child isn't reading: drop the rest, like supervisord's buffer
      stdin_fd_.reset();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void Process::on_exit(int wait_status) {
  ExitStatus es = ExitStatus::from_wait_status(wait_status);
  last_exit_ = es;
  auto now = rt_.now();
  laststop_ = rt_.wall_time();
  // ready=healthcheck|notify: an exit before READY is always a failed start.
  bool too_quickly = now - started_at_ < std::chrono::seconds(config_.startsecs) ||
                     config_.ready != config::Readiness::Startsecs;
  bool expected = es.signal == 0 && std::find(config_.exitcodes.begin(), config_.exitcodes.end(),
                                              es.code) != config_.exitcodes.end();
  pid_t old = pid_;
  pid_ = 0;
  stdin_fd_.reset();
  host_.on_pid_change(*this, old, 0);
  stop_health();
  notify_.reset();

  if (state_ == ProcessState::Stopping && start_failed_) {
    // STOPPING -> BACKOFF: stopped because it never became ready.
    start_failed_ = false;
    exitstatus_ = es.code;
    log::info("stopped: {} ({})", name(), es.describe());
    std::string err = spawnerr_;
    set_state(ProcessState::Backoff, err);
    spawnerr_ = err;
  } else if (state_ == ProcessState::Stopping && health_restart_) {
    // STOPPING -> STOPPED -> STARTING: the restart of an unhealthy process.
    health_restart_ = false;
    delay_ = TimePoint{};
    exitstatus_ = es.code;
    log::info("stopped: {} ({})", name(), es.describe());
    set_state(ProcessState::Stopped, "");
    if (host_.may_start() && allow_restart()) spawn();
    return;
  } else if (state_ == ProcessState::Stopping) {
    // STOPPING -> STOPPED: the result of a stop request.
    delay_ = TimePoint{};
    exitstatus_ = es.code;
    std::string msg = "stopped: " + name() + " (" + es.describe() + ")";
    if (expected)
      log::info("{}", msg);
    else
      log::warn("{}", msg);
    set_state(ProcessState::Stopped, "");
  } else if (too_quickly && state_ == ProcessState::Starting) {
    // STARTING -> BACKOFF: exited before startsecs.
    exitstatus_ = 0;
    spawnerr_ = "Exited too quickly (process log may have details)";
    log::warn("exited: {} ({}; not expected)", name(), es.describe());
    set_state(ProcessState::Backoff, "");
  } else {
    // RUNNING -> EXITED.
    delay_ = TimePoint{};
    backoff_ = 0;
    exitstatus_ = es.code;
    // When to restart: restart_delay, or with backoff=exponential the crash
    // backoff of a process that ran less than backoff_reset seconds.
    bool will_restart = config_.autorestart == config::AutoRestart::True ||
                        (config_.autorestart == config::AutoRestart::Unexpected && !expected);
    Duration wait = std::chrono::seconds(config_.restart_delay);
    if (config_.backoff == config::Backoff::Exponential) {
      if (now - started_at_ < std::chrono::seconds(config_.backoff_reset)) {
        ++crash_streak_;
        wait = std::max(wait, backoff_delay(crash_streak_));
      } else {
        crash_streak_ = 0;
      }
    }
    restart_at_ = will_restart && wait > Duration(0) ? now + wait : TimePoint{};
    if (state_ == ProcessState::Starting) set_state(ProcessState::Running, "");
    exit_expected_ = expected;
    if (expected) {
      log::info("exited: {} ({}; expected)", name(), es.describe());
    } else {
      spawnerr_ = "Bad exit code " + std::to_string(es.code);
      log::warn("exited: {} ({}; not expected)", name(), es.describe());
    }
    set_state(ProcessState::Exited, "");
  }
  transition();
}

// ---- Issue 5: restarts, health checks, readiness ----

TimePoint Process::start_deadline() const {
  int secs = config_.startsecs;
  if (config_.ready == config::Readiness::Healthcheck) secs = std::max(secs, config_.healthcheck_start_period);
  return started_at_ + std::chrono::seconds(secs);
}

Duration Process::backoff_delay(int attempt) {
  if (config_.backoff == config::Backoff::Linear) return std::chrono::seconds(attempt);
  // 1, 2, 4 ... seconds, capped, plus up to 10% jitter so that many crashing
  // processes don't restart in lockstep.
  long long base_ms = 1000;
  for (int i = 1; i < attempt && base_ms < config_.backoff_max * 1000LL; ++i) base_ms *= 2;
  base_ms = std::min(base_ms, config_.backoff_max * 1000LL);
  if (jitter_seed_ == 0) jitter_seed_ = std::random_device{}() | 1u;
  std::minstd_rand rng(jitter_seed_);
  jitter_seed_ = static_cast<unsigned>(rng());
  long long jitter = static_cast<long long>(std::uniform_int_distribution<long long>(0, base_ms / 10)(rng));
  return Duration(base_ms + jitter);
}

bool Process::allow_restart() {
  auto now = rt_.now();
  if (config_.restart_limit_count > 0) {
    auto window = std::chrono::seconds(config_.restart_limit_window);
    std::erase_if(restart_times_, [&](TimePoint t) { return now - t >= window; });
    if (static_cast<int>(restart_times_.size()) >= config_.restart_limit_count) {
      restart_times_.clear();
      restart_at_ = TimePoint{};
      spawnerr_ = "restart limit reached (more than " + std::to_string(config_.restart_limit_count) +
                  " restarts in " + std::to_string(config_.restart_limit_window) + " seconds)";
      give_up();
      log::info("gave up: {} entered FATAL state, more than {} restarts in {} seconds (restart_limit)", name(),
                config_.restart_limit_count, config_.restart_limit_window);
      return false;
    }
    restart_times_.push_back(now);
  }
  ++restarts_;
  return true;
}

void Process::become_running(const std::string& why) {
  delay_ = TimePoint{};
  backoff_ = 0;
  set_state(ProcessState::Running, why);
}

void Process::start_health() {
  health_failures_ = 0;
  health_detail_.clear();
  if (config_.healthcheck->kind == config::HealthCheck::Kind::None) {
    health_ = Health::None;
    return;
  }
  health_ = Health::Starting;
  // The first probe soon after the spawn (so that ready=healthcheck is quick),
  // then every healthcheck_interval.
  schedule_probe(std::min<Duration>(std::chrono::seconds(config_.healthcheck_interval), std::chrono::seconds(1)));
}

void Process::stop_health() {
  if (health_timer_) health_timer_->cancel();
  if (watchdog_timer_) watchdog_timer_->cancel();
  probe_.reset();
}

void Process::schedule_probe(Duration after) {
  std::weak_ptr<bool> alive = alive_;
  health_timer_->arm(after, [this, alive] {
    if (auto a = alive.lock(); a && *a) run_probe();
  });
}

void Process::run_probe() {
  if (pid_ == 0 || !(state_ == ProcessState::Starting || state_ == ProcessState::Running)) return;
  Runtime::ProbeRequest req;
  req.check = *config_.healthcheck;
  req.timeout = std::chrono::seconds(config_.healthcheck_timeout);
  req.name = name() + " healthcheck";
  if (req.check.kind == config::HealthCheck::Kind::Exec) {
    // Run with the program's environment, directory, umask and user.
    CommandCheck check = check_program(req.check.argv[0]);
    if (check.kind != CommandCheck::Kind::Ok) {
      on_probe_result(false, "exec " + req.check.argv[0] + ": " + check.message);
      return;
    }
    req.exec.filename = check.filename;
    req.exec.argv = req.check.argv;
    req.exec.env = build_env();
    req.exec.directory = config_.directory;
    req.exec.umask = config_.umask;
    if (::geteuid() == 0 && config_.uid) {
      req.exec.uid = config_.uid;
      req.exec.gid = config_.gid;
      req.exec.user = config_.user;
    }
  }
  std::weak_ptr<bool> alive = alive_;
  probe_ = rt_.start_probe(req, [this, alive](health::ProbeOutcome outcome) {
    if (auto a = alive.lock(); !a || !*a) return;
    // The handle is done; drop it after this callback returns.
    rt_.post([this, alive, outcome] {
      if (auto a = alive.lock(); a && *a) on_probe_result(outcome.ok, outcome.detail);
    });
  });
}

void Process::on_probe_result(bool ok, const std::string& detail) {
  probe_.reset();
  if (pid_ == 0 || !(state_ == ProcessState::Starting || state_ == ProcessState::Running)) return;
  health_detail_ = detail;
  auto interval = std::chrono::seconds(config_.healthcheck_interval);
  if (ok) {
    if (health_ == Health::Unhealthy) log::info("{}: health check passed again ({})", name(), detail);
    health_failures_ = 0;
    health_ = Health::Healthy;
    if (state_ == ProcessState::Starting && config_.ready == config::Readiness::Healthcheck) {
      // STARTING -> RUNNING: the first passing health check.
      become_running("health check passed");
      log::info("success: {} entered RUNNING state, health check passed ({})", name(), detail);
    }
    schedule_probe(interval);
    return;
  }
  if (rt_.now() - started_at_ < std::chrono::seconds(config_.healthcheck_start_period)) {
    // Early failures are ignored during healthcheck_start_period.
    log::debug("{}: health check failed during start period ({})", name(), detail);
    schedule_probe(interval);
    return;
  }
  ++health_failures_;
  log::debug("{}: health check failed ({} of {}): {}", name(), health_failures_, config_.healthcheck_retries, detail);
  if (health_failures_ >= config_.healthcheck_retries) {
    bool newly = health_ != Health::Unhealthy;
    health_ = Health::Unhealthy;
    if (state_ == ProcessState::Running && config_.healthcheck_restart) {
      log::warn("{}: health check failed {} times ({}); restarting", name(), health_failures_, detail);
      restart_unhealthy("health check failed");
      return;
    }
    if (newly && state_ == ProcessState::Running)
      log::warn("{}: health check failed {} times ({}); healthcheck_action=none", name(), health_failures_, detail);
  }
  schedule_probe(interval);
}

void Process::cancel_restart(const std::string& why) {
  if (!restart_pending()) return;
  restart_at_ = TimePoint{};
  log::info("stopped: {} (was waiting to restart; {})", name(), why);
  set_state(ProcessState::Stopped, why);
}

void Process::restart_unhealthy(const std::string& why) {
  // RUNNING -> STOPPING -> STOPPED -> STARTING, as supervisorctl restart does.
  stop(why);
  if (state_ == ProcessState::Stopping) health_restart_ = true;
}

void Process::on_notify(std::string_view message) {
  if (pid_ == 0) return;
  while (!message.empty()) {
    size_t nl = message.find('\n');
    std::string_view line = message.substr(0, nl);
    message = nl == std::string_view::npos ? std::string_view() : message.substr(nl + 1);
    if (line == "READY=1") {
      if (state_ == ProcessState::Starting && config_.ready == config::Readiness::Notify) {
        // STARTING -> RUNNING: the child said it is ready.
        become_running("READY=1");
        log::info("success: {} entered RUNNING state, process sent READY=1", name());
        arm_watchdog();
      }
    } else if (line.rfind("STATUS=", 0) == 0) {
      notify_status_ = std::string(line.substr(7));
    } else if (line == "STOPPING=1") {
      log::debug("{}: sent STOPPING=1", name());
    } else if (line == "WATCHDOG=1") {
      if (state_ == ProcessState::Running) arm_watchdog();
    } else if (line == "WATCHDOG=trigger") {
      if (state_ == ProcessState::Running) {
        log::warn("{}: sent WATCHDOG=trigger; restarting", name());
        restart_unhealthy("watchdog triggered");
      }
    }
  }
}

void Process::arm_watchdog() {
  if (config_.watchdog_sec <= 0) return;
  std::weak_ptr<bool> alive = alive_;
  watchdog_timer_->arm(std::chrono::seconds(config_.watchdog_sec), [this, alive] {
    if (auto a = alive.lock(); !a || !*a) return;
    if (state_ != ProcessState::Running || pid_ == 0) return;
    log::warn("{}: watchdog timeout (no WATCHDOG=1 within {} seconds); restarting", name(), config_.watchdog_sec);
    restart_unhealthy("watchdog timeout");
  });
}

}  // namespace sup
