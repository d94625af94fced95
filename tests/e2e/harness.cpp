#include "e2e/harness.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>

#include "xmlrpc/client.hpp"

extern char** environ;

namespace e2e {

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

// An RPC that doesn't answer within this time is a hung daemon: the call is
// interrupted (SIGALRM) instead of blocking the whole suite.
constexpr int kRpcTimeoutSeconds = 30;
volatile std::sig_atomic_t g_rpc_alarm = 0;

void on_alarm(int) { g_rpc_alarm = 1; }

void install_alarm_handler() {
  static bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked poll()/read() returns EINTR
    ::sigaction(SIGALRM, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

void set_alarm(int seconds) {
  struct itimerval it {};
  it.it_value.tv_sec = seconds;
  ::setitimer(ITIMER_REAL, &it, nullptr);
}

std::string cmdline_of(pid_t pid) {
  std::string raw = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : raw)
    if (c == '\0') c = ' ';
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw;
}

}  // namespace

bool wait_until(const std::function<bool()>& pred, Millis deadline) {
  const auto end = SteadyClock::now() + deadline;
  for (;;) {
    if (pred()) return true;
    if (SteadyClock::now() >= end) return pred();
    std::this_thread::sleep_for(20ms);
  }
}

std::string supervisord_path() {
  const char* p = std::getenv("SUPERVISORD");
  if (!p || !*p)
    throw std::runtime_error("SUPERVISORD is not set: run through `meson test` or set it to the supervisord binary");
  if (::access(p, X_OK) != 0)
    throw std::runtime_error(std::string("SUPERVISORD=") + p + " is not an executable file");
  return p;
}

// --- TempDir ---------------------------------------------------------------

TempDir::TempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::file(std::string_view name) const { return path_ + "/" + std::string(name); }

// --- files -----------------------------------------------------------------

std::optional<std::string> try_read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_file(const std::string& path) { return try_read_file(path).value_or(std::string()); }

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void write_file(const std::string& path, std::string_view bytes, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw std::runtime_error("write " + path + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);  // the umask must not weaken an explicit mode
  ::close(fd);
}

pid_t read_pid_file(const std::string& path) {
  std::string text = read_file(path);
  if (text.empty() || text.back() != '\n') return 0;  // still being written
  char* end = nullptr;
  long v = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || v <= 0) return 0;
  return static_cast<pid_t>(v);
}

std::size_t count_occurrences(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return 0;
  std::size_t n = 0;
  for (std::size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size()))
    ++n;
  return n;
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.emplace_back(text);
      break;
    }
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

// --- /proc -----------------------------------------------------------------

std::optional<ProcStat> proc_stat(pid_t pid) {
  auto text = try_read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text || text->empty()) return std::nullopt;
  // "pid (comm) S ppid pgrp ...": comm may contain spaces and parentheses,
  // so parse from the last ')'.
  std::size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text->substr(close + 1));
  ProcStat st;
  st.pid = pid;
  long ppid = 0, pgrp = 0;
  if (!(rest >> st.state >> ppid >> pgrp)) return std::nullopt;
  st.ppid = static_cast<pid_t>(ppid);
  st.pgrp = static_cast<pid_t>(pgrp);
  return st;
}

bool pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  auto st = proc_stat(pid);
  if (!st) return false;
  return st->state != 'Z' && st->state != 'X';
}

bool wait_exec(pid_t pid, std::string_view argv0, Millis deadline) {
  std::string want = std::string(argv0) + '\0';
  return wait_until(
      [&] { return read_file("/proc/" + std::to_string(pid) + "/cmdline").rfind(want, 0) == 0; }, deadline);
}

std::vector<ProcStat> children_of(pid_t ppid) {
  std::vector<ProcStat> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    auto st = proc_stat(static_cast<pid_t>(pid));
    if (st && st->ppid == ppid) out.push_back(*st);
  }
  ::closedir(d);
  return out;
}

std::vector<pid_t> descendants_of(pid_t pid) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo{pid};
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (const ProcStat& c : children_of(p)) {
      out.push_back(c.pid);
      todo.push_back(c.pid);
    }
  }
  return out;
}

// --- commands ------------------------------------------------------------------

CommandResult run_command(const std::vector<std::string>& argv_in, std::string_view stdin_data, Millis deadline,
                          const std::vector<std::string>& extra_env) {
  CommandResult result;
  if (argv_in.empty()) return result;
  std::vector<std::string> args = argv_in;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; e && *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return result;
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return result;
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    return result;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGALRM, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(s, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "e2e harness: exec failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(in[1]), ::close(out[0]), ::close(err[0]);
    return result;
  }
  // Our writes to a child that stopped reading must fail, not kill us.
  struct sigaction ignore {}, old_pipe {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old_pipe);

  int in_fd = in[1];
  std::size_t in_done = 0;
  if (stdin_data.empty()) ::close(in_fd), in_fd = -1;
  int out_fd = out[0], err_fd = err[0];
  const auto end = SteadyClock::now() + deadline;
  while (out_fd >= 0 || err_fd >= 0 || in_fd >= 0) {
    auto left = std::chrono::duration_cast<Millis>(end - SteadyClock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    struct pollfd fds[3];
    int n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    int r = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < n && r > 0; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = ::write(in_fd, stdin_data.data() + in_done, stdin_data.size() - in_done);
        if (w > 0) in_done += static_cast<std::size_t>(w);
        if (w < 0 || in_done == stdin_data.size()) ::close(in_fd), in_fd = -1;
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (fds[i].fd == out_fd ? result.out : result.err).append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        if (fds[i].fd == out_fd) ::close(out_fd), out_fd = -1;
        else ::close(err_fd), err_fd = -1;
      }
    }
  }
  for (int fd : {in_fd, out_fd, err_fd})
    if (fd >= 0) ::close(fd);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  int status = 0;
  // The pipes are closed; a child that outlives them is waited for up to the deadline.
  bool reaped = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; },
                           std::max<Millis>(std::chrono::duration_cast<Millis>(end - SteadyClock::now()), 0ms));
  if (!reaped) {
    result.timed_out = true;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  if (WIFEXITED(status)) result.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.status = 128 + WTERMSIG(status);
  return result;
}

// --- main log ----------------------------------------------------------------

LogLines::LogLines(std::string_view log) {
  std::size_t i = 0;
  for (std::string& text : split_lines(log)) {
    LogLine line;
    line.index = i++;
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d,%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &ms) == 7) {
      tm.tm_year -= 1900;
      tm.tm_mon -= 1;
      line.millis = static_cast<long long>(::timegm(&tm)) * 1000 + ms;
    }
    line.text = std::move(text);
    lines_.push_back(std::move(line));
  }
}

std::optional<LogLine> LogLines::find(std::string_view needle, std::size_t from) const {
  for (std::size_t i = from; i < lines_.size(); ++i)
    if (lines_[i].text.find(needle) != std::string::npos) return lines_[i];
  return std::nullopt;
}

std::vector<LogLine> LogLines::find_all(std::string_view needle) const {
  std::vector<LogLine> out;
  for (const LogLine& l : lines_)
    if (l.text.find(needle) != std::string::npos) out.push_back(l);
  return out;
}

// --- configuration -----------------------------------------------------------

std::string make_config(const std::string& dir, std::string_view body, std::string_view supervisord_extra) {
  std::string text;
  text += "[supervisord]\n";
  text += "logfile=" + dir + "/supervisord.log\n";
  text += "pidfile=" + dir + "/supervisord.pid\n";
  text += "childlogdir=" + dir + "\n";
  if (supervisord_extra.find("loglevel=") == std::string_view::npos) text += "loglevel=info\n";
  text += std::string(supervisord_extra);
  if (!supervisord_extra.empty() && supervisord_extra.back() != '\n') text += "\n";
  text += "\n[unix_http_server]\nfile=" + dir + "/sock\n";
  text += "\n[rpcinterface:supervisor]\n"
          "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";
  text += "\n[supervisorctl]\nserverurl=unix://" + dir + "/sock\n\n";
  text += replace_all(std::string(body), "@DIR@", dir);
  if (!text.empty() && text.back() != '\n') text += "\n";
  return text;
}

// --- RPC values ----------------------------------------------------------------

std::string RpcResult::describe() const {
  if (!transport_ok) return "transport: " + transport_error;
  if (response.is_fault) return "fault " + std::to_string(response.fault.code) + " " + response.fault.message;
  return "value";
}

std::string str_field(const xmlrpc::Value& v, const std::string& key) {
  const xmlrpc::Value* m = v.find(key);
  return m && m->is_string() ? m->as_string() : std::string();
}

long long int_field(const xmlrpc::Value& v, const std::string& key) {
  const xmlrpc::Value* m = v.find(key);
  return m && m->is_int() ? m->as_int() : -1;
}

// --- Daemon --------------------------------------------------------------------

Daemon::Daemon(const TempDir& dir, std::string_view body, std::string_view supervisord_extra) : dir_(dir) {
  write_config(body, supervisord_extra);
}

void Daemon::write_config(std::string_view body, std::string_view supervisord_extra) {
  // Write then rename: a daemon re-reading the file never sees half of it.
  std::string tmp = config_path() + ".tmp";
  write_file(tmp, make_config(dir_.path(), body, supervisord_extra));
  if (::rename(tmp.c_str(), config_path().c_str()) != 0)
    throw std::runtime_error("rename " + tmp + ": " + std::strerror(errno));
}

void Daemon::rewrite_config(std::string_view body, std::string_view supervisord_extra) {
  write_config(body, supervisord_extra);
}

void Daemon::start(std::vector<std::string> args, bool wait_for_ready) {
  REQUIRE_MESSAGE(launched_pid_ == 0, "Daemon::start called twice");
  std::string exe = supervisord_path();
  std::vector<std::string> argv_s{exe};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.push_back("-c");
  argv_s.push_back(config_path());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out = ::open(stdout_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = ::open(stderr_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE_MESSAGE((out >= 0 && err >= 0), "cannot create daemon output files in " << dir_.path());
  pid_t pid = ::fork();
  REQUIRE_MESSAGE(pid >= 0, "fork: " << std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    int in = ::open("/dev/null", O_RDONLY);
    if (in >= 0) ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // The daemon starts from a clean signal state whatever the test runner did.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s : {SIGALRM, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(s, SIG_DFL);
    ::execv(argv[0], argv.data());
    const char msg[] = "e2e harness: exec of supervisord failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  launched_pid_ = pid;
  daemon_pid_ = pid;
  if (wait_for_ready) {
    bool ready = wait_ready();
    REQUIRE_MESSAGE(ready, "supervisord did not answer on " << socket_path() << " within " << kDeadline.count()
                                                            << " ms\nstderr: " << captured_stderr()
                                                            << "\nlog: " << log());
  }
}

bool Daemon::wait_ready(Millis deadline) {
  return wait_until(
      [&] {
        RpcResult r = call("supervisor.getState");
        return r.ok() && str_field(r.value(), "statename") == "RUNNING";
      },
      deadline);
}

std::optional<int> Daemon::wait_exit(Millis deadline) {
  if (launched_pid_ == 0) return std::nullopt;
  if (!launched_reaped_) {
    bool done = wait_until(
        [&] {
          int status = 0;
          pid_t r = ::waitpid(launched_pid_, &status, WNOHANG);
          if (r == launched_pid_) {
            launched_reaped_ = true;
            launched_status_ = status;
            return true;
          }
          return false;
        },
        deadline);
    if (!done) return std::nullopt;
  }
  if (WIFEXITED(launched_status_)) return WEXITSTATUS(launched_status_);
  if (WIFSIGNALED(launched_status_)) return 128 + WTERMSIG(launched_status_);
  return std::nullopt;
}

void Daemon::signal(int sig) const {
  if (daemon_pid_ > 0) ::kill(daemon_pid_, sig);
}

RpcResult Daemon::call(const std::string& method, const xmlrpc::Array& params) const {
  install_alarm_handler();
  RpcResult result;
  xmlrpc::Client client(url());
  client.set_interrupt_check([] { return g_rpc_alarm != 0; });
  g_rpc_alarm = 0;
  set_alarm(kRpcTimeoutSeconds);
  xmlrpc::TransportError err;
  result.transport_ok = client.call(method, params, &result.response, &err);
  set_alarm(0);
  if (!result.transport_ok)
    result.transport_error = g_rpc_alarm ? method + " got no answer within " + std::to_string(kRpcTimeoutSeconds) + " s"
                                         : err.message;
  return result;
}

xmlrpc::Value Daemon::process_info(const std::string& namespec) const {
  RpcResult r = call("supervisor.getProcessInfo", {namespec});
  return r.ok() ? r.value() : xmlrpc::Value();
}

std::string Daemon::state_of(const std::string& namespec) const {
  return str_field(process_info(namespec), "statename");
}

pid_t Daemon::pid_of(const std::string& namespec) const {
  long long pid = int_field(process_info(namespec), "pid");
  return pid > 0 ? static_cast<pid_t>(pid) : 0;
}

bool Daemon::wait_state(const std::string& namespec, const std::string& statename, Millis deadline) const {
  return wait_until([&] { return state_of(namespec) == statename; }, deadline);
}

bool Daemon::wait_new_pid(const std::string& namespec, pid_t old_pid, Millis deadline) const {
  return wait_until(
      [&] {
        xmlrpc::Value info = process_info(namespec);
        long long pid = int_field(info, "pid");
        return str_field(info, "statename") == "RUNNING" && pid > 0 && pid != old_pid;
      },
      deadline);
}

bool Daemon::wait_log(std::string_view needle, std::size_t times, Millis deadline) const {
  return wait_until([&] { return log_count(needle) >= times; }, deadline);
}

namespace {

// Field 22 of /proc/PID/stat (start time in clock ticks since boot), 0 if
// the process is gone: with the pid, it names one process even after the
// pid is recycled by another test's child.
unsigned long long start_ticks(pid_t pid) {
  auto text = try_read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return 0;
  std::size_t close = text->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text->substr(close + 2));
  std::string field;
  for (int i = 3; i < 22 && (rest >> field); ++i) {
  }
  unsigned long long ticks = 0;
  rest >> ticks;
  return ticks;
}

}  // namespace

void Daemon::stop_and_check() {
  auto daemon_gone = [&] {
    if (daemon_pid_ == launched_pid_ && !launched_reaped_) return wait_exit(0ms).has_value();
    return !pid_alive(daemon_pid_);
  };
  std::vector<std::pair<pid_t, unsigned long long>> family;  // pid, start time
  if (daemon_pid_ > 0 && !daemon_gone()) {
    for (pid_t p : descendants_of(daemon_pid_)) family.emplace_back(p, start_ticks(p));
    ::kill(daemon_pid_, SIGTERM);
    if (!wait_until(daemon_gone)) {
      FAIL_CHECK("supervisord (pid " << daemon_pid_ << ") did not exit within " << kDeadline.count()
                                     << " ms of SIGTERM; killing it");
      ::kill(daemon_pid_, SIGKILL);
      wait_until(daemon_gone);
    }
  }
  // The launcher of a daemonizing run exits by itself: reap it.
  if (launched_pid_ > 0 && !launched_reaped_) wait_exit(5s);

  // A child may take a moment to be reaped by init after the daemon's exit;
  // anything alive after that is a process the daemon left behind.
  std::vector<pid_t> leftover;
  wait_until(
      [&] {
        leftover.clear();
        for (const auto& [p, ticks] : family)
          if (pid_alive(p) && start_ticks(p) == ticks) leftover.push_back(p);
        return leftover.empty();
      },
      2s);
  if (!leftover.empty()) {
    std::string list;
    for (pid_t p : leftover) list += " " + std::to_string(p) + " (" + cmdline_of(p) + ")";
    FAIL_CHECK("supervisord exited but left children alive:" << list);
    for (pid_t p : leftover) ::kill(p, SIGKILL);
  }
}

Daemon::~Daemon() {
  try {
    stop_and_check();
  } catch (...) {
    // A destructor must not throw; a failed check has already been recorded.
  }
}

// --- raw HTTP ------------------------------------------------------------------

const std::string* HttpResponse::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

std::string basic_auth(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + password, out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8 |
                 static_cast<unsigned char>(in[i + 2]);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 0x3f];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 0x3f];
    out += kAlphabet[(v >> 12) & 0x3f];
    out += rest == 2 ? kAlphabet[(v >> 6) & 0x3f] : '=';
    out += '=';
  }
  return "Basic " + out;
}

namespace {

// Connected socket or -1 with *error set.
int connect_to(const std::string& address, std::string* error) {
  int fd;
  int r;
  if (!address.empty() && address[0] == '/') {
    sockaddr_un sa{};
    if (address.size() >= sizeof sa.sun_path) {
      *error = "socket path too long: " + address;
      return -1;
    }
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, address.data(), address.size());
    do r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    while (r < 0 && errno == EINTR);
  } else {
    auto colon = address.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    if (colon == std::string::npos || ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) {
      *error = "bad address " + address;
      return -1;
    }
    sa.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    do r = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    while (r < 0 && errno == EINTR);
  }
  if (r != 0) {
    *error = "connect " + address + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

// Decodes a chunked body; false when it is malformed or incomplete.
bool dechunk(std::string_view in, std::string* out) {
  out->clear();
  std::size_t pos = 0;
  for (;;) {
    std::size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::size_t size = std::strtoul(std::string(in.substr(pos, eol - pos)).c_str(), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return true;
    if (pos + size + 2 > in.size()) return false;
    out->append(in.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

HttpResponse http_request(const std::string& address, const std::string& method, const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers, Millis deadline) {
  HttpResponse res;
  int fd = connect_to(address, &res.error);
  if (fd < 0) return res;
  const auto end = SteadyClock::now() + deadline;
  auto left_ms = [&] {
    auto ms = std::chrono::duration_cast<Millis>(end - SteadyClock::now()).count();
    return static_cast<int>(std::max<long long>(ms, 0));
  };
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  for (const auto& [k, v] : extra_headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  for (std::size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      res.error = std::string("send: ") + std::strerror(errno);
      ::close(fd);
      return res;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, left_ms());
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      res.error = "no complete answer within " + std::to_string(deadline.count()) + " ms";
      ::close(fd);
      return res;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET && !raw.empty()) break;
    if (n < 0) {
      res.error = std::string("recv: ") + std::strerror(errno);
      ::close(fd);
      return res;
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.compare(0, 5, "HTTP/") != 0) {
    res.error = "malformed response: " + raw.substr(0, 200);
    return res;
  }
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < head_end;) {
    std::size_t eol = raw.find("\r\n", pos);
    if (eol > head_end) eol = head_end;
    lines.push_back(raw.substr(pos, eol - pos));
    pos = eol + 2;
  }
  std::size_t sp = lines[0].find(' ');
  res.status = sp == std::string::npos ? 0 : std::atoi(lines[0].c_str() + sp + 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    std::string name = lines[i].substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = lines[i].substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    res.headers.emplace_back(std::move(name), std::move(value));
  }
  std::string body = raw.substr(head_end + 4);
  const std::string* te = res.header("transfer-encoding");
  if (method == "HEAD") {
    // Headers only: Content-Length describes the body a GET would get.
    if (!body.empty()) res.error = "a body after the answer to HEAD";
  } else if (te && te->find("chunked") != std::string::npos) {
    if (!dechunk(body, &res.body)) res.error = "incomplete chunked body";
  } else if (const std::string* cl = res.header("content-length")) {
    std::size_t want = std::strtoul(cl->c_str(), nullptr, 10);
    if (body.size() < want) res.error = "body shorter than Content-Length";
    res.body = body.substr(0, want);
  } else {
    res.body = std::move(body);
  }
  if (!res.error.empty()) res.status = 0;
  return res;
}

}  // namespace e2e
