// Configuration model: plain values produced by the loader (config/loader.hpp)
// and consumed by the process layer. Nothing here owns a runtime resource.
// Field defaults are supervisord 4.2.5's defaults.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/boxed.hpp"

namespace sup::config {

// One byte each, like the other enums and bools of ProcessConfig, packed
// together at its end: a ProcessConfig exists per program (issue 7).
enum class AutoRestart : std::uint8_t { False, Unexpected, True };

// A log destination as supervisord understands stdout_logfile/stderr_logfile.
struct LogTarget {
  enum class Kind : std::uint8_t { None, Auto, File, Syslog };
  std::string path;  // Kind::File: expanded absolute or given path; Kind::Auto: filled in when the group is added
  std::int64_t maxbytes = 50 * 1024 * 1024;
  std::int64_t capture_maxbytes = 0;
  int backups = 10;
  Kind kind = Kind::Auto;
  bool events_enabled = false;
  bool syslog = false;
  bool operator==(const LogTarget&) const = default;
};

// Issue 5 (beyond supervisord): how BACKOFF delays grow.
enum class Backoff : std::uint8_t { Linear, Exponential };
// When STARTING becomes RUNNING: after startsecs (supervisord), at the first
// passing health check, or on the child's sd_notify READY=1.
enum class Readiness : std::uint8_t { Startsecs, Healthcheck, Notify };

// healthcheck= parsed: http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND ARGS.
struct HealthCheck {
  enum class Kind { None, Http, Tcp, Exec };
  Kind kind = Kind::None;
  std::string host;                // http, tcp
  int port = 0;                    // http, tcp
  std::string path = "/";          // http: path and query
  std::vector<std::string> argv;   // exec: split like command=
  std::string text;                // as written, for messages
  bool operator==(const HealthCheck&) const = default;
};

// One process after numprocs expansion (supervisord's ProcessConfig).
struct ProcessConfig {
  // Strings, vectors and the like first, then ints, then one-byte fields:
  // no padding between them (issue 7: a ProcessConfig per program).
  std::string name;          // process_name after expansion
  std::string group;         // group name (program name, or [group:x] name)
  std::string program;       // the [program:x] section name's x
  std::string command;       // command after expansion, unsplit (for getAllConfigInfo)
  std::vector<std::string> argv;  // command split shell-like; argv[0] as written
  std::vector<int> exitcodes{0};
  std::string user;              // user= as written (name), empty if unset
  LogTarget stdout_log;
  LogTarget stderr_log;
  // environment= of the program, layered over [supervisord] environment=,
  // layered over the daemon's own environment when spawning.
  std::vector<std::pair<std::string, std::string>> environment;
  std::string directory;         // empty: inherit
  std::string serverurl = "AUTO";
  // Options beyond supervisord (issues 5, 6) are added here as they land.
  // socket= (issue 6): listening sockets the daemon binds once, keeps open
  // across restarts and passes as fd 3, 4, ... (canonical "tcp://host:port",
  // "tcp://[v6]:port" or "unix:///path"; see sockets/address.hpp).
  std::vector<std::string> sockets;
  // depends_on= (issue 5): program names and "group:*" entries, as written
  // (validated by the loader: every name exists and there is no cycle).
  std::vector<std::string> depends_on;
  // Issue 5, health checks and readiness.
  Boxed<HealthCheck> healthcheck;       // on the heap only when set (issue 7)
  Boxed<std::map<std::string, std::string>> extra;  // unrecognised keys, kept verbatim (on the heap only when any)

  std::optional<uid_t> uid;      // user= resolved
  std::optional<gid_t> gid;      // primary group of user=
  std::optional<mode_t> umask;   // unset: inherit
  std::optional<uid_t> socket_uid;     // socket_owner= (unix sockets)
  std::optional<gid_t> socket_gid;
  std::optional<mode_t> socket_mode;   // socket_mode= (unix sockets)
  int priority = 999;
  int startsecs = 1;
  int startretries = 3;
  int stopsignal = 15;  // SIGTERM
  int stopwaitsecs = 10;
  int socket_backlog = 0;              // 0: the system maximum (net.core.somaxconn)
  // Issue 5, restarts. Defaults keep supervisord's behaviour.
  int restart_delay = 0;                  // seconds before restarting a process that exited from RUNNING
  int backoff_max = 60;                   // exponential: cap of the delay, seconds
  int backoff_reset = 600;                // exponential: a RUNNING process that crashes sooner grows the delay
  int restart_limit_count = 0;            // restart_limit=N/SECONDS; 0 = off
  int restart_limit_window = 0;
  int healthcheck_interval = 10;
  int healthcheck_timeout = 5;
  int healthcheck_retries = 3;
  int healthcheck_start_period = 0;
  int watchdog_sec = 0;                   // ready=notify: WATCHDOG=1 required this often; 0 = off

  bool autostart = true;
  AutoRestart autorestart = AutoRestart::Unexpected;
  bool stopasgroup = false;
  bool killasgroup = false;
  bool redirect_stderr = false;
  bool socket_as_stdin = false;        // [fcgi-program:x]: the one socket is fd 0, not fd 3
  Backoff backoff = Backoff::Linear;      // delay growth of BACKOFF retries
  bool healthcheck_restart = true;        // healthcheck_action=restart (false: none)
  Readiness ready = Readiness::Startsecs;
  // critical= (issue 8): when this process goes FATAL or exits from RUNNING
  // without a stop request, the daemon stops everything and exits non-zero.
  bool critical = false;

  bool operator==(const ProcessConfig&) const = default;
};

// A process group: a [program:x] (homogeneous, numprocs processes) or a
// [group:x] (heterogeneous, several programs).
enum class GroupKind : std::uint8_t { Program, EventListener, FcgiProgram };

struct GroupConfig {
  std::string name;
  std::vector<ProcessConfig> processes;  // in config order
  // [eventlistener:x] only: events= (upper-cased, first-seen order), buffer_size=, result_handler=.
  std::vector<std::string> events;
  std::string result_handler;
  int buffer_size = 10;
  int priority = 999;
  bool heterogeneous = false;
  // Where the group came from: [program:x]/[group:x] (Program),
  // [eventlistener:x] or [fcgi-program:x]. fcgi socket options are in each
  // ProcessConfig.extra ("socket", "socket_backlog", "socket_owner", "socket_mode").
  GroupKind kind = GroupKind::Program;
  bool operator==(const GroupConfig&) const = default;
};

struct HttpServerConfig {
  enum class Kind { Unix, Inet };
  Kind kind = Kind::Unix;
  std::string section;     // "unix_http_server" or "inet_http_server"
  std::string file;        // unix: socket path
  mode_t chmod = 0700;     // unix
  std::optional<uid_t> chown_uid;  // unix
  std::optional<gid_t> chown_gid;
  std::string host;        // inet: host part ("" or "*" = all interfaces)
  int port = 0;            // inet
  std::string username;
  std::string password;    // plain or {SHA}hex
  // unix: allowed_uids= (extension), resolved at load; empty = anyone the
  // socket's mode lets in. Root and the daemon's own uid are always allowed.
  std::vector<uid_t> allowed_uids;
  // probes_public= (extension): GET /healthz and /readyz are answered
  // without authentication (/metrics and everything else still need it).
  bool probes_public = false;
  bool operator==(const HttpServerConfig&) const = default;
};

struct CtlConfig {
  std::string serverurl = "http://localhost:9001";
  std::string username;
  std::string password;
  std::string prompt = "supervisor";
  std::string history_file;
};

struct SupervisordConfig {
  std::string logfile = "supervisord.log";  // "syslog" allowed; else made absolute against the cwd by the loader
  std::int64_t logfile_maxbytes = 50 * 1024 * 1024;
  int logfile_backups = 10;
  int loglevel = 20;  // supervisord numeric levels: critical 50, error 40, warn 30, info 20, debug 10, trace 5, blather 3
  std::string pidfile = "supervisord.pid";  // made absolute against the cwd by the loader
  mode_t umask = 022;
  bool nodaemon = false;
  bool silent = false;
  long minfds = 1024;
  long minprocs = 200;
  bool nocleanup = false;
  std::string childlogdir = "/tmp";
  std::string user;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::string directory;
  bool strip_ansi = false;
  std::string identifier = "supervisor";
  std::vector<std::pair<std::string, std::string>> environment;
};

// An [rpcinterface:x] section. Only supervisord's own factory
// (supervisor.rpcinterface:make_main_rpcinterface) can be served; the loader
// warns about others.
struct RpcInterfaceConfig {
  std::string name;     // x: the XML-RPC namespace
  std::string factory;  // supervisor.rpcinterface_factory
  std::map<std::string, std::string> extras;  // other keys, expanded
  bool operator==(const RpcInterfaceConfig&) const = default;
};

// Everything a configuration file (and its includes) says.
struct Config {
  std::string path;  // absolute path of the main file
  SupervisordConfig supervisord;
  std::vector<GroupConfig> groups;       // sorted by (priority, name)
  std::vector<HttpServerConfig> servers;  // unix first, then inet
  CtlConfig ctl;
  std::vector<RpcInterfaceConfig> rpcinterfaces;  // in file order
  std::vector<std::string> included_files;  // for diagnostics
  std::vector<std::string> warnings;        // e.g. "No file matches via include ..."
};

}  // namespace sup::config
