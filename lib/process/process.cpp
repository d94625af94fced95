#include "process/process.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

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
    : config_(std::move(config)), rt_(rt), host_(host), timer_(rt.make_timer()) {}

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
    // supervisord: every entry into BACKOFF waits one second more.
    backoff_ += 1;
    delay_ = rt_.now() + std::chrono::seconds(backoff_);
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
      timer_->arm(until(started_at_ + std::chrono::seconds(config_.startsecs)), fire);
      break;
    case ProcessState::Backoff:
    case ProcessState::Stopping:
      timer_->arm(until(delay_), fire);
      break;
    case ProcessState::Stopped:
    case ProcessState::Running:
    case ProcessState::Exited:
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
  TimePoint deadline = state_ == ProcessState::Starting ? started_at_ + std::chrono::seconds(config_.startsecs)
                       : state_ == ProcessState::Backoff ? delay_
                                                         : TimePoint{};
  if (rt_.now() < deadline) arm_timer_for_state();
}

void Process::transition() {
  auto now = rt_.now();
  if (host_.may_start()) {
    switch (state_) {
      case ProcessState::Exited:
        if (config_.autorestart == config::AutoRestart::True) {
          spawn();  // EXITED -> STARTING: autorestart=true
        } else if (config_.autorestart == config::AutoRestart::Unexpected && !exit_expected_) {
          spawn();  // EXITED -> STARTING: unexpected exit code
        }
        break;
      case ProcessState::Stopped:
        if (laststart_ == 0 && config_.autostart) spawn();  // STOPPED -> STARTING: autostart
        break;
      case ProcessState::Backoff:
        if (backoff_ <= config_.startretries && now >= delay_) spawn();  // BACKOFF -> STARTING
        break;
      case ProcessState::Starting:
      case ProcessState::Running:
      case ProcessState::Stopping:
      case ProcessState::Fatal:
      case ProcessState::Unknown:
        break;
    }
  }
  if (state_ == ProcessState::Starting && pid_ != 0 &&
      now - started_at_ >= std::chrono::seconds(config_.startsecs)) {
    // STARTING -> RUNNING: stayed up for startsecs.
    delay_ = TimePoint{};
    backoff_ = 0;
    set_state(ProcessState::Running, "");
    log::info("success: {} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
              name(), config_.startsecs);
  } else if (state_ == ProcessState::Backoff && backoff_ > config_.startretries) {
    // BACKOFF -> FATAL: too many start retries.
    give_up();
    log::info("gave up: {} entered FATAL state, too many start retries too quickly", name());
  }
}

void Process::give_up() {
  delay_ = TimePoint{};
  backoff_ = 0;
  set_state(ProcessState::Fatal, "");
}

Process::CommandCheck Process::check_command() const {
  CommandCheck c;
  if (config_.argv.empty()) {
    c.kind = CommandCheck::Kind::NotFound;
    c.message = "can't find command ''";
    return c;
  }
  const std::string& program = config_.argv[0];
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

  std::weak_ptr<bool> alive = alive_;
  auto attach = [&](UniqueFd fd, logging::ChannelLog* log) {
    if (!fd.valid()) return;
    auto slot = std::make_shared<OutputWatch*>(nullptr);
    auto watch = rt_.watch_output(
        std::move(fd),
        [log, alive](std::string_view data) {
          if (auto a = alive.lock(); a && *a && log) log->write(data);
        },
        [this, alive, slot] {
          // Drop the finished watch later: we are inside its callback.
          rt_.post([this, alive, slot] {
            if (auto a = alive.lock(); !a || !*a) return;
            std::erase_if(watches_, [&](const auto& w) { return w.get() == *slot; });
          });
        });
    if (watch) {
      *slot = watch.get();
      watches_.push_back(std::move(watch));
    }
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
  auto now = rt_.now();
  laststop_ = rt_.wall_time();
  bool too_quickly = now - started_at_ < std::chrono::seconds(config_.startsecs);
  bool expected = es.signal == 0 && std::find(config_.exitcodes.begin(), config_.exitcodes.end(),
                                              es.code) != config_.exitcodes.end();
  pid_t old = pid_;
  pid_ = 0;
  stdin_fd_.reset();
  host_.on_pid_change(*this, old, 0);

  if (state_ == ProcessState::Stopping) {
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

}  // namespace sup
