// End-to-end test harness: runs the real supervisord binary on a temporary
// configuration and observes it from outside (control socket, logs, /proc).
//
// Every wait is an event poll with a generous deadline (kDeadline), never a
// bare sleep: the suites must pass on a loaded 2-core machine. Each Daemon
// lives in its own TempDir, so test executables can run in parallel.
//
// Typical use:
//   e2e::TempDir dir;
//   e2e::Daemon d(dir, R"(
//   [program:web]
//   command=/bin/sh -c 'echo $$ > @DIR@/web.pid; exec sleep 1000'
//   )");
//   d.start();                               // supervisord -n -c <dir>/supervisord.conf
//   REQUIRE(d.wait_state("web", "RUNNING"));
//   xmlrpc::Value info = d.process_info("web");
//
// "@DIR@" in configuration text is replaced by the temp dir's path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xmlrpc/codec.hpp"
#include "xmlrpc/value.hpp"

namespace e2e {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// The default deadline of every wait: far beyond what an idle machine needs.
inline constexpr Millis kDeadline = 20s;

// Polls pred every few milliseconds until it returns true (-> true) or the
// deadline passes (-> false; pred is evaluated one last time at the deadline).
bool wait_until(const std::function<bool()>& pred, Millis deadline = kDeadline);

// The supervisord binary under test: $SUPERVISORD. Throws std::runtime_error
// with an explanation when it is unset or not executable.
std::string supervisord_path();

// ---------------------------------------------------------------------------
// Files and processes.

// A fresh directory under $TMPDIR (default /tmp), removed recursively by the
// destructor. The path is short enough for a unix socket inside it.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "e2e");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(std::string_view name) const;

 private:
  std::string path_;
};

// Whole file as bytes; std::nullopt when it can't be opened.
std::optional<std::string> try_read_file(const std::string& path);
// Whole file as bytes; "" when it can't be opened.
std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
// Creates or truncates path with exactly these bytes and the given mode.
// Throws std::runtime_error on failure.
void write_file(const std::string& path, std::string_view bytes, mode_t mode = 0644);
// Reads a decimal pid written by a child (e.g. `echo $$ > f`); 0 if the file
// is missing, empty or not a number (yet).
pid_t read_pid_file(const std::string& path);

// Number of non-overlapping occurrences of needle in haystack.
std::size_t count_occurrences(std::string_view haystack, std::string_view needle);
// Lines of text (without the '\n'); a last line without '\n' counts too.
std::vector<std::string> split_lines(std::string_view text);

// Fields of /proc/<pid>/stat that the tests care about.
struct ProcStat {
  pid_t pid = 0;
  char state = '?';  // R, S, D, Z, T, ...
  pid_t ppid = 0;
  pid_t pgrp = 0;
};
std::optional<ProcStat> proc_stat(pid_t pid);
// True when pid exists and is not a zombie (a zombie has already died).
bool pid_alive(pid_t pid);
// Waits until pid runs a program whose argv[0] is argv0. A child that was
// just forked still runs the daemon's code until it execs, and a signal sent
// then may be lost (supervisord itself has that window): tests that signal a
// fresh child wait for the exec first.
bool wait_exec(pid_t pid, std::string_view argv0, Millis deadline = kDeadline);
// Every process whose parent is ppid (one /proc scan).
std::vector<ProcStat> children_of(pid_t ppid);
// Children, grandchildren, ... of pid.
std::vector<pid_t> descendants_of(pid_t pid);

// The daemon's main log as lines ("2024-01-02 10:00:00,123 INFO spawned: ...").
struct LogLine {
  std::size_t index = 0;  // line number, from 0
  long long millis = -1;  // the line's timestamp in ms (a monotone scale), -1 if none
  std::string text;       // the whole line
};
class LogLines {
 public:
  explicit LogLines(std::string_view log);
  // First line at or after `from` containing needle.
  std::optional<LogLine> find(std::string_view needle, std::size_t from = 0) const;
  std::vector<LogLine> find_all(std::string_view needle) const;
  const std::vector<LogLine>& lines() const { return lines_; }

 private:
  std::vector<LogLine> lines_;
};

// ---------------------------------------------------------------------------
// Configuration.

// The fixed part of every test configuration, pointing everything into dir:
//   [supervisord] logfile=<dir>/supervisord.log pidfile=<dir>/supervisord.pid
//                 childlogdir=<dir> loglevel=info
//   [unix_http_server] file=<dir>/sock
//   [rpcinterface:supervisor] (the standard factory)
//   [supervisorctl] serverurl=unix://<dir>/sock
// followed by `body` (program sections etc.) with "@DIR@" replaced by dir.
// `supervisord_extra` lines are appended inside [supervisord].
std::string make_config(const std::string& dir, std::string_view body, std::string_view supervisord_extra = {});

// ---------------------------------------------------------------------------
// XML-RPC helpers.

// A call's outcome: a value, a fault, or a transport failure.
struct RpcResult {
  bool transport_ok = false;
  std::string transport_error;  // when !transport_ok
  xmlrpc::Response response;    // when transport_ok (may be a fault)

  bool ok() const { return transport_ok && !response.is_fault; }
  bool is_fault() const { return transport_ok && response.is_fault; }
  const xmlrpc::Value& value() const { return response.value; }
  int fault_code() const { return response.fault.code; }
  const std::string& fault_string() const { return response.fault.message; }
  // "value", "fault 10 BAD_NAME: x" or "transport: ..." for messages.
  std::string describe() const;
};

// Member of a struct as string/int; "" / -1 when missing or of another type.
std::string str_field(const xmlrpc::Value& v, const std::string& key);
long long int_field(const xmlrpc::Value& v, const std::string& key);

// ---------------------------------------------------------------------------
// Short-lived commands (supervisorctl, a second supervisord, ...).

struct CommandResult {
  int status = -1;         // exit status, 128+signal if killed, -1 if not run
  bool timed_out = false;  // killed with SIGKILL at the deadline
  std::string out, err;    // everything written to stdout / stderr
};
// Runs argv[0] (a path, no PATH search) with argv, feeding stdin_data on
// stdin then closing it, collecting stdout and stderr. extra_env entries
// ("NAME=value") are added to the test's environment.
CommandResult run_command(const std::vector<std::string>& argv, std::string_view stdin_data = {},
                          Millis deadline = kDeadline, const std::vector<std::string>& extra_env = {});

// ---------------------------------------------------------------------------
// Raw HTTP, for the daemon's endpoints beyond XML-RPC (/metrics, /healthz ...).

struct HttpResponse {
  int status = 0;      // 0 when no complete response arrived (see error)
  std::string error;   // transport problem, "" otherwise
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;    // de-chunked when Transfer-Encoding: chunked
  // First header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const;
};
// One HTTP/1.1 request with "Connection: close" on a fresh connection,
// reading the answer until the server closes it. address: a unix socket
// path ("/...") or "host:port". extra_headers are sent as given (e.g.
// {"Authorization", basic_auth("user", "pw")}).
HttpResponse http_request(const std::string& address, const std::string& method, const std::string& target,
                          const std::vector<std::pair<std::string, std::string>>& extra_headers = {},
                          Millis deadline = kDeadline);
// A loopback TCP port that was free a moment ago (bound to port 0, then
// released).
int free_port();
// "Basic <base64(user:password)>".
std::string basic_auth(const std::string& user, const std::string& password);

// ---------------------------------------------------------------------------
// The daemon under test.

class Daemon {
 public:
  // Writes make_config(dir, body, supervisord_extra) to <dir>/supervisord.conf.
  // Nothing runs until start().
  Daemon(const TempDir& dir, std::string_view body, std::string_view supervisord_extra = {});
  // Stops a still-running daemon: SIGTERM, wait up to kDeadline, SIGKILL as a
  // last resort. Descendants still alive afterwards are reported as a test
  // failure (a daemon must not leave children behind) and then killed.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const TempDir& dir() const { return dir_; }
  std::string config_path() const { return dir_.file("supervisord.conf"); }
  std::string log_path() const { return dir_.file("supervisord.log"); }
  std::string pidfile_path() const { return dir_.file("supervisord.pid"); }
  std::string socket_path() const { return dir_.file("sock"); }
  std::string url() const { return "unix://" + socket_path(); }
  // Where the launched command's stdout / stderr go.
  std::string stdout_path() const { return dir_.file("daemon.stdout"); }
  std::string stderr_path() const { return dir_.file("daemon.stderr"); }

  // Rewrites the configuration file (for SIGHUP / reread tests).
  void rewrite_config(std::string_view body, std::string_view supervisord_extra = {});

  // fork/exec `supervisord <args...> -c <config>`, stdout/stderr to the files
  // above, stdin from /dev/null. With wait_ready, waits until the control
  // socket answers getState with RUNNING and fails the test (REQUIRE) if it
  // doesn't within kDeadline.
  void start(std::vector<std::string> args = {"-n"}, bool wait_ready = true);
  // True once the socket answers supervisor.getState with statename RUNNING.
  bool wait_ready(Millis deadline = kDeadline);

  // pid of the process launched by start() (the daemon itself with -n).
  pid_t launched_pid() const { return launched_pid_; }
  // pid of the running daemon: launched_pid(), or after daemonizing the pid
  // adopted with adopt_pid().
  pid_t pid() const { return daemon_pid_; }
  // For daemon mode: tracks pid (read from the pidfile) as the daemon so that
  // the destructor stops it.
  void adopt_pid(pid_t pid) { daemon_pid_ = pid; }

  // Waits for the launched process to exit; its exit status (WEXITSTATUS, or
  // 128+signal), or nullopt at the deadline.
  std::optional<int> wait_exit(Millis deadline = kDeadline);
  // Sends sig to the daemon.
  void signal(int sig) const;

  // One XML-RPC call on a fresh connection.
  RpcResult call(const std::string& method, const xmlrpc::Array& params = {}) const;
  // supervisor.getProcessInfo(namespec); Nil value on fault or transport error.
  xmlrpc::Value process_info(const std::string& namespec) const;
  std::string state_of(const std::string& namespec) const;  // statename or ""
  pid_t pid_of(const std::string& namespec) const;          // 0 if none
  // Waits until getProcessInfo(namespec).statename == statename.
  bool wait_state(const std::string& namespec, const std::string& statename, Millis deadline = kDeadline) const;
  // Waits until namespec is RUNNING with a pid different from old_pid.
  bool wait_new_pid(const std::string& namespec, pid_t old_pid, Millis deadline = kDeadline) const;

  // The daemon's main log file.
  std::string log() const { return read_file(log_path()); }
  std::size_t log_count(std::string_view needle) const { return count_occurrences(log(), needle); }
  bool wait_log(std::string_view needle, std::size_t times = 1, Millis deadline = kDeadline) const;
  std::string captured_stdout() const { return read_file(stdout_path()); }
  std::string captured_stderr() const { return read_file(stderr_path()); }

 private:
  void write_config(std::string_view body, std::string_view supervisord_extra);
  void stop_and_check();

  const TempDir& dir_;
  pid_t launched_pid_ = 0;
  pid_t daemon_pid_ = 0;
  bool launched_reaped_ = false;
  int launched_status_ = 0;
};

}  // namespace e2e
