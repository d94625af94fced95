#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>

#include "config/datatypes.hpp"
#include "config/loader.hpp"
#include "daemon/metrics.hpp"
#include "daemon/sd_notify.hpp"
#include "http/server.hpp"
#include "logging/child_log.hpp"
#include "logging/daemon_log.hpp"
#include "logging/log_reader.hpp"
#include "process/asio_runtime.hpp"
#include "process/critical.hpp"
#include "process/supervisor.hpp"
#include "rpc/api.hpp"
#include "sockets/socket_store.hpp"
#include "util/nss.hpp"
#include "xmlrpc/codec.hpp"

extern char** environ;

namespace sup {
namespace {

// Parsing the configuration makes several transient copies of it, and a
// burst of control clients leaves freed buffers behind; give the freed heap
// back so a long-running daemon's RSS is what it really uses.
long resident_kb() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

void release_free_memory() {
  const long before = resident_kb();
  ::malloc_trim(0);
  log::debug("returned the free heap to the system: RSS {} kB -> {} kB", before, resident_kb());
}

void usage_error(const std::string& argv0, const std::string& msg) {
  std::fprintf(stderr, "Error: %s\nFor help, use %s -h\n", msg.c_str(), argv0.c_str());
}

std::vector<std::pair<std::string, std::string>> environment_list() {
  std::vector<std::pair<std::string, std::string>> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

// Applies command-line overrides; errors name the option like supervisord's usage errors.
Status apply_overrides(const DaemonOptions& o, config::SupervisordConfig& s) {
  if (o.nodaemon) s.nodaemon = *o.nodaemon;
  if (o.silent) s.silent = *o.silent;
  if (o.nocleanup) s.nocleanup = *o.nocleanup;
  if (o.strip_ansi) s.strip_ansi = *o.strip_ansi;
  if (o.directory) s.directory = *o.directory;
  if (o.logfile) s.logfile = *o.logfile;
  if (o.pidfile) s.pidfile = *o.pidfile;
  if (o.identifier) s.identifier = *o.identifier;
  if (o.childlogdir) s.childlogdir = *o.childlogdir;
  if (o.user) {
    auto ids = config::parse_user(*o.user);
    if (!ids) return Error{"invalid value for -u/--user: " + ids.error()};
    s.user = *o.user;
    s.uid = ids->uid;
    s.gid = ids->gid;
  }
  if (o.umask) {
    auto v = config::parse_octal(*o.umask);
    if (!v) return Error{"invalid value for -m/--umask: " + v.error()};
    s.umask = *v;
  }
  if (o.logfile_maxbytes) {
    auto v = config::parse_byte_size(*o.logfile_maxbytes);
    if (!v) return Error{"invalid value for -y/--logfile_maxbytes: " + v.error()};
    s.logfile_maxbytes = *v;
  }
  if (o.logfile_backups) {
    auto v = config::parse_integer(*o.logfile_backups);
    if (!v) return Error{"invalid value for -z/--logfile_backups: " + v.error()};
    s.logfile_backups = static_cast<int>(*v);
  }
  if (o.loglevel) {
    auto v = config::parse_log_level(*o.loglevel);
    if (!v) return Error{"invalid value for -e/--loglevel: " + v.error()};
    s.loglevel = *v;
  }
  if (o.minfds) {
    auto v = config::parse_integer(*o.minfds);
    if (!v) return Error{"invalid value for -a/--minfds: " + v.error()};
    s.minfds = *v;
  }
  if (o.minprocs) {
    auto v = config::parse_integer(*o.minprocs);
    if (!v) return Error{"invalid value for --minprocs: " + v.error()};
    s.minprocs = *v;
  }
  return {};
}

// Raises RLIMIT_NOFILE / RLIMIT_NPROC to the configured minimum, or explains
// why it can't (supervisord's set_rlimits_or_exit).
Status raise_limits(const config::SupervisordConfig& s) {
  struct Limit {
    int resource;
    long min;
    const char* name;
    const char* what;
  } limits[] = {{RLIMIT_NOFILE, s.minfds, "minfds", "file descriptors"},
                {RLIMIT_NPROC, s.minprocs, "minprocs", "processes"}};
  for (const auto& l : limits) {
    struct rlimit rl {};
    if (getrlimit(l.resource, &rl) != 0) continue;
    rlim_t want = static_cast<rlim_t>(l.min);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
      struct rlimit nl = rl;
      nl.rlim_cur = want;
      if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) nl.rlim_max = want;
      if (setrlimit(l.resource, &nl) != 0) {
        return Error{std::string("The minimum number of ") + l.what + " required to run this process is " +
                     std::to_string(l.min) + " as per the \"" + l.name +
                     "\" command-line argument or config file setting. The current environment will only allow "
                     "you to open " + std::to_string(rl.rlim_cur) + " " + l.what + ".  Either raise the number "
                     "of usable " + l.what + " in your environment or lower the " + l.name +
                     " setting in the config file to allow the process to start."};
      }
    }
  }
  return {};
}

// A live supervisord holds the pidfile when its pid exists and is not us.
bool pidfile_held(const std::string& path, pid_t* holder) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1 || pid == getpid()) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  // Only a process that looks like a supervisor counts (pids are reused).
  std::ifstream cmd("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
  if (cmdline.find("supervisord") == std::string::npos) return false;
  *holder = static_cast<pid_t>(pid);
  return true;
}

Status write_pidfile(const std::string& path) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{"could not write pidfile " + path + ": " + std::strerror(errno)};
  std::string body = std::to_string(getpid()) + "\n";
  bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error{"could not write pidfile " + path + ": " + std::strerror(errno)};
  }
  return {};
}

Status drop_privileges(const config::SupervisordConfig& s) {
  if (!s.uid) return {};
  if (::geteuid() != 0) {
    if (*s.uid == ::geteuid()) return {};
    return Error{"Can't drop privilege as nonroot user"};
  }
  gid_t gid = s.gid ? *s.gid : 0;
  if (auto user = nss::user_with_id(*s.uid)) {
    std::vector<gid_t> groups = nss::group_list(user->name, gid);
    if (::setgroups(groups.size(), groups.data()) != 0)
      return Error{std::string("Could not set groups of effective user: ") + std::strerror(errno)};
  }
  if (::setgid(gid) != 0) return Error{std::string("Could not set group id of effective user: ") + std::strerror(errno)};
  if (::setuid(*s.uid) != 0) return Error{std::string("Could not set user id of effective user: ") + std::strerror(errno)};
  return {};
}

// Issue 8: orphans (e.g. what a double-forking program leaves behind) are
// reparented to the daemon instead of init and reaped by Daemon::reap()
// ("reaped unknown pid"). As PID 1 (a container's init) that is implicit.
// The attribute is not inherited across fork: call after daemonizing.
void become_subreaper() {
  if (::getpid() == 1) {
    log::info("running as PID 1: orphaned processes are reaped by supervisord");
    return;
  }
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
    log::warn("could not become a child subreaper ({}): orphaned processes go to init", std::strerror(errno));
  else
    log::debug("child subreaper: orphaned processes are reaped by supervisord");
}

std::string absolute(const std::string& p) {
  if (p.empty() || p[0] == '/' || p == "syslog") return p;
  char buf[4096];
  if (!::getcwd(buf, sizeof buf)) return p;
  return std::string(buf) + "/" + p;
}

// One configured daemon generation: rebuilt on every SIGHUP/restart.
class Daemon : public rpc::DaemonControl {
 public:
  // notifier: systemd's NOTIFY_SOCKET (issue 8), or null.
  Daemon(boost::asio::io_context& io, const DaemonOptions& opts, config::Config cfg,
         std::unique_ptr<SystemdNotifier> notifier)
      : io_(io), opts_(opts), cfg_(std::move(cfg)), runtime_(io), signals_(io), notifier_(std::move(notifier)) {}

  int run();

  // DaemonControl
  void request_shutdown(const std::string& why) override {
    boost::asio::post(io_, [this, why] { shutdown(why); });
  }
  void request_restart(const std::string& why) override {
    boost::asio::post(io_, [this, why] { restart(why); });
  }
  Result<config::Config> reread_config() override {
    auto fresh = config::load_config(cfg_.path, config::current_environment());
    if (!fresh) return fresh;
    if (Status st = apply_overrides(opts_, fresh->supervisord); !st) return Error{st.error()};
    return fresh;
  }
  std::string main_log_path() const override {
    const std::string& p = cfg_.supervisord.logfile;
    if (p == "syslog" || p.empty()) return "";
    return p;
  }
  Status clear_main_log() override { return log::clear(); }
  pid_t daemon_pid() const override { return ::getpid(); }

 private:
  Status start_generation();
  Status bind_sockets();
  void stop_generation();
  void on_signal(int sig);
  void reap();
  // exit_code: the daemon's exit status once everything is stopped.
  void shutdown(const std::string& why, int exit_code = 0);
  void watch_critical();
  void restart(const std::string& why);
  void handle_http(const http::HttpRequest& req, std::shared_ptr<http::Reply> reply);
  // GET /metrics, /healthz, /readyz (issue 8); false when path is none of them.
  bool handle_observability(const http::HttpRequest& req, const std::string& path,
                            const std::shared_ptr<http::Reply>& reply);
  void stream_tail(const std::string& path, logging::ChannelLog* follow, std::shared_ptr<http::Reply> reply);
  void arm_signals();
  // start()'s callback: the control servers listen and the autostart
  // programs are launched; tell systemd (READY=1).
  void on_launched();

  boost::asio::io_context& io_;
  DaemonOptions opts_;
  config::Config cfg_;
  AsioRuntime runtime_;
  boost::asio::signal_set signals_;
  // socket= listening sockets: outlive every generation (SIGHUP), so
  // declared before the supervisor that uses them.
  sockets::SocketStore sockets_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<rpc::Api> api_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<SystemdNotifier> notifier_;
  bool exiting_ = false;
  int exit_code_ = 0;
  bool pidfile_written_ = false;
  // For /metrics: when this daemon started (not reset by reloads).
  double started_wall_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

Status Daemon::start_generation() {
  http_ = std::make_unique<http::HttpServer>(
      io_, [this](const http::HttpRequest& req, std::shared_ptr<http::Reply> reply) { handle_http(req, std::move(reply)); },
      [](int level, const std::string& msg) { log::write(static_cast<log::Level>(level), msg); });
  // Probes stay reachable for load balancers and orchestrators on servers
  // configured with probes_public=true.
  http_->set_public_paths({"/healthz", "/readyz"});
  // A burst of clients leaves freed buffers scattered through the heap;
  // hand them back a second after the last connection is gone (not after
  // each one: a trim costs more than a whole getAllProcessInfo call).
  http_->set_on_idle(release_free_memory, std::chrono::seconds(1));
  for (const auto& s : cfg_.servers) {
    Status st = s.kind == config::HttpServerConfig::Kind::Unix ? http_->listen_unix(s) : http_->listen_inet(s);
    if (!st) return st;
    if (s.username.empty())
      log::critical("Server '{}' running without any HTTP authentication checking", s.section);
  }
  // The supervisor owns the programs' settings from here on (one copy of
  // each, not two: issue 7's per-program memory).
  std::vector<config::GroupConfig> groups;
  std::swap(groups, cfg_.groups);
  config::Config handed = cfg_;
  handed.groups = std::move(groups);
  supervisor_ = std::make_unique<Supervisor>(runtime_, std::move(handed), environment_list());
  supervisor_->set_socket_store(&sockets_);
  watch_critical();
  api_ = std::make_unique<rpc::Api>(*supervisor_, *this);
  return {};
}

// At start-up a socket= that can't be bound is a configuration error (exit 2).
Status Daemon::bind_sockets() {
  for (const auto& g : cfg_.groups)
    for (const auto& pc : g.processes) {
      if (pc.sockets.empty()) continue;
      auto fds = sockets_.acquire(g.name, pc);
      if (!fds) return Error{"program '" + pc.program + "': " + fds.error()};
    }
  return {};
}

void Daemon::stop_generation() {
  if (http_) http_->close();
  api_.reset();
  supervisor_.reset();
  http_.reset();
}

void Daemon::arm_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    on_signal(sig);
    if (!exiting_ || supervisor_) arm_signals();
  });
}

void Daemon::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (supervisor_)
      supervisor_->on_child_exit(pid, status);
    else
      log::info("reaped unknown pid {} ({})", pid, ExitStatus::from_wait_status(status).describe());
  }
}

void Daemon::on_signal(int sig) {
  switch (sig) {
    case SIGCHLD:
      reap();
      break;
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
      log::warn("received {} indicating exit request", signal_name(sig));
      shutdown(signal_name(sig) + " received");
      break;
    case SIGHUP:
      if (supervisor_ && supervisor_->mood() == SupervisorState::Shutdown) {
        log::warn("ignored SIGHUP indicating restart request (shutdown in progress)");
        break;
      }
      log::warn("received SIGHUP indicating restart request");
      restart("SIGHUP received");
      break;
    case SIGUSR2:
      log::info("received SIGUSR2 indicating log reopen request");
      if (Status st = log::reopen(); !st) log::error("could not reopen the main log: {}", st.error());
      if (supervisor_) supervisor_->reopen_logs();
      break;
    default:
      log::blather("received {} indicating nothing", signal_name(sig));
  }
}

void Daemon::shutdown(const std::string& why, int exit_code) {
  if (!supervisor_) return;
  log::info("shutting down: {}", why);
  if (notifier_ && supervisor_->mood() != SupervisorState::Shutdown) notifier_->stopping("Shutting down: " + why);
  supervisor_->shutdown([this, exit_code] {
    exiting_ = true;
    exit_code_ = exit_code;
    stop_generation();
    signals_.cancel();
    if (notifier_) notifier_->stop_watchdog();  // the last pending timer
  });
}

// critical= (issue 8): a critical process that goes FATAL, or exits from
// RUNNING without being asked to stop, ends the daemon: everything else is
// stopped in the usual order and the daemon exits with the status
// critical_exit() chose. Called synchronously from the state change, so the
// mood is SHUTDOWN before the process could be restarted (autorestart).
// Stops made by a shutdown or restart already in progress don't count.
void Daemon::watch_critical() {
  supervisor_->subscribe([this](Process& p, ProcessState from, ProcessState to) {
    if (!p.config().critical || !supervisor_ || supervisor_->mood() != SupervisorState::Running) return;
    auto crit = critical_exit(from, to, p.last_exit(), p.spawnerr());
    if (!crit) return;
    log::critical("critical program {} {}; shutting down (supervisord will exit with status {})", p.namespec(),
                  crit->reason, crit->exit_status);
    shutdown("critical program " + p.namespec() + " " + crit->reason, crit->exit_status);
  });
}

void Daemon::restart(const std::string& why) {
  if (!supervisor_ || supervisor_->mood() != SupervisorState::Running) return;
  log::info("restarting: {}", why);
  if (notifier_) notifier_->reloading("Reloading: " + why);
  supervisor_->restart([this] {
    auto fresh = reread_config();
    stop_generation();
    if (!fresh) {
      log::critical("could not reload the configuration: {}", fresh.error());
      std::fprintf(stderr, "Error: %s\n", fresh.error().c_str());
      if (notifier_) notifier_->stopping("Exiting: invalid configuration");
      exiting_ = true;
      exit_code_ = 2;
      signals_.cancel();
      if (notifier_) notifier_->stop_watchdog();  // the last pending timer
      return;
    }
    cfg_ = std::move(*fresh);
    log::Options lo{absolute(cfg_.supervisord.logfile), cfg_.supervisord.logfile_maxbytes,
                    cfg_.supervisord.logfile_backups, log::level_from_number(cfg_.supervisord.loglevel),
                    cfg_.supervisord.nodaemon && !cfg_.supervisord.silent};
    if (Status st = log::init(lo); !st) log::error("{}", st.error());
    // The sockets stay open: the new generation re-claims those it still
    // configures; end_reload() closes the others.
    sockets_.begin_reload();
    if (Status st = start_generation(); !st) {
      log::critical("{}", st.error());
      if (notifier_) notifier_->stopping("Exiting: " + st.error());
      exiting_ = true;
      exit_code_ = 2;
      stop_generation();
      signals_.cancel();
      if (notifier_) notifier_->stop_watchdog();  // the last pending timer
      return;
    }
    // Like a fresh start, a reload drops the previous generation's AUTO logs
    // before the new groups create theirs (supervisord runs its whole main() again).
    if (!cfg_.supervisord.nocleanup)
      logging::cleanup_auto_logs(cfg_.supervisord.childlogdir, cfg_.supervisord.identifier);
    supervisor_->start([this] { on_launched(); });
    sockets_.end_reload();
    log::info("supervisord restarted with pid {}", ::getpid());
  });
}

void Daemon::on_launched() {
  // A shutdown requested during start-up has already said STOPPING=1.
  if (!notifier_ || !supervisor_ || supervisor_->mood() != SupervisorState::Running) return;
  size_t processes = 0;
  for (const auto& g : supervisor_->groups()) processes += g->processes().size();
  notifier_->ready("Supervising " + std::to_string(processes) + " processes in " +
                   std::to_string(supervisor_->groups().size()) + " groups");
}

void Daemon::handle_http(const http::HttpRequest& req, std::shared_ptr<http::Reply> reply) {
  const std::string& t = req.target;
  if (req.method == "POST" && t.rfind("/RPC2", 0) == 0) {
    auto call = xmlrpc::decode_call(req.body);
    if (!call) {
      log::warn("malformed XML-RPC request: {}", call.error());
      reply->send(400, "text/plain", "Bad request: " + call.error() + "\n");
      return;
    }
    if (!api_) {
      reply->send(503, "text/plain", "Service unavailable\n");
      return;
    }
    api_->call(*call, [reply](const xmlrpc::Response& r) {
      if (reply->closed()) return;
      reply->send(200, "text/xml", r.is_fault ? xmlrpc::encode_fault(r.fault) : xmlrpc::encode_response(r.value));
    });
    return;
  }
  if (req.method == "GET" && (t == "/mainlogtail" || t.rfind("/mainlogtail?", 0) == 0)) {
    std::string path = main_log_path();
    if (path.empty()) {
      reply->send(404, "text/plain", "No main log file\n");
      return;
    }
    stream_tail(path, nullptr, reply);
    return;
  }
  if (req.method == "GET" && t.rfind("/logtail/", 0) == 0) {
    std::string rest = t.substr(9);
    if (auto q = rest.find('?'); q != std::string::npos) rest.resize(q);
    // URL-decode %XX (supervisorctl quotes the name); a malformed escape is kept as is.
    std::string spec;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '%' && i + 2 < rest.size() && hex(rest[i + 1]) >= 0 && hex(rest[i + 2]) >= 0) {
        spec += static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2]));
        i += 2;
      } else {
        spec += rest[i];
      }
    }
    std::string channel = "stdout";
    if (auto slash = spec.rfind('/'); slash != std::string::npos) {
      channel = spec.substr(slash + 1);
      spec.resize(slash);
    }
    Process* p = supervisor_ ? supervisor_->find_process(spec) : nullptr;
    logging::ChannelLog* l = nullptr;
    if (p) l = channel == "stderr" ? p->stderr_log() : p->stdout_log();
    if (!p || !l || l->path().empty() || (channel != "stdout" && channel != "stderr")) {
      reply->send(404, "text/plain", "Not found\n");
      return;
    }
    stream_tail(l->path(), l, reply);
    return;
  }
  if (std::string path = t.substr(0, t.find('?')); handle_observability(req, path, reply)) return;
  reply->send(404, "text/plain", "Not found\n");
}

bool Daemon::handle_observability(const http::HttpRequest& req, const std::string& path,
                                  const std::shared_ptr<http::Reply>& reply) {
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") return false;
  if (req.method != "GET" && req.method != "HEAD") {
    reply->send(405, "text/plain", "Method not allowed\n", {{"Allow", "GET, HEAD"}});
    return true;
  }
  if (!supervisor_) {
    reply->send(503, "text/plain", "Service unavailable\n");
    return true;
  }
  if (path == "/healthz") {
    // Answering at all means the event loop is serving.
    reply->send(200, "text/plain", "ok\n");
  } else if (path == "/readyz") {
    std::vector<std::string> waiting = metrics::unready(*supervisor_);
    std::string body;
    for (const auto& line : waiting) body += line + "\n";
    if (waiting.empty())
      reply->send(200, "text/plain", "ready\n");
    else
      reply->send(503, "text/plain", "not ready:\n" + body);
  } else {
    double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    auto facts = metrics::read_daemon_facts(started_wall_, uptime, SUP_PROJECT_VERSION);
    reply->send(200, std::string(metrics::kContentType), metrics::render(*supervisor_, facts));
  }
  return true;
}

void Daemon::stream_tail(const std::string& path, logging::ChannelLog* follow, std::shared_ptr<http::Reply> reply) {
  logging::ReadResult r = logging::read_log(path, -1024, 0);
  reply->start_stream(200, "text/plain;charset=utf-8", {{"X-Accel-Buffering", "no"}});
  if (r.ok() && !r.data.empty()) reply->write_chunk(r.data);
  if (!follow) {
    // The main log: follow lines as they are written.
    int id = log::follow([reply](std::string_view line) {
      if (!reply->closed() && reply->pending_bytes() < (1u << 20)) reply->write_chunk(line);
    });
    reply->set_on_close([id] { log::unfollow(id); });
    return;
  }
  // A child log: follow the channel. The channel may go away with its group.
  auto alive = std::make_shared<bool>(true);
  int id = follow->follow([reply](std::string_view data) {
    if (!reply->closed() && reply->pending_bytes() < (1u << 20)) reply->write_chunk(data);
  });
  std::string spec_path = follow->path();
  reply->set_on_close([this, id, spec_path] {
    if (!supervisor_) return;
    for (Process* p : supervisor_->all_processes_by_name())
      for (logging::ChannelLog* l : {p->stdout_log(), p->stderr_log()})
        if (l && l->path() == spec_path) l->unfollow(id);
  });
}

int Daemon::run() {
  config::SupervisordConfig& s = cfg_.supervisord;
  if (Status st = drop_privileges(s); !st) {
    usage_error(opts_.argv0, st.error());
    return 2;
  }
  if (Status st = raise_limits(s); !st) {
    usage_error(opts_.argv0, st.error());
    return 2;
  }
  ::umask(s.umask);
  s.pidfile = absolute(s.pidfile);
  s.logfile = absolute(s.logfile);
  pid_t holder = 0;
  if (pidfile_held(s.pidfile, &holder)) {
    std::fprintf(stderr, "Error: Another supervisord (pid %d) holds the pidfile %s. Shut it down first.\n",
                 static_cast<int>(holder), s.pidfile.c_str());
    return 2;
  }
  log::Options lo{s.logfile, s.logfile_maxbytes, s.logfile_backups, log::level_from_number(s.loglevel),
                  s.nodaemon && !s.silent};
  if (Status st = log::init(lo); !st) {
    std::fprintf(stderr, "Error: %s\n", st.error().c_str());
    return 2;
  }
  if (::geteuid() == 0 && s.user.empty())
    log::critical("Supervisor is running as root.  Privileges were not dropped because no user is specified "
                  "in the config file.  If you intend to run as root, you can set user=root in the config file "
                  "to avoid this message.");
  for (const auto& w : cfg_.warnings) log::warn("{}", w);
  for (const auto& f : cfg_.included_files) log::info("Included extra file \"{}\" during parsing", f);

  if (Status st = bind_sockets(); !st) {
    usage_error(opts_.argv0, st.error());
    log::critical("{}", st.error());
    return 2;
  }
  if (Status st = start_generation(); !st) {
    usage_error(opts_.argv0, st.error());
    log::critical("{}", st.error());
    stop_generation();
    return 2;
  }
  if (!s.nocleanup) logging::cleanup_auto_logs(s.childlogdir, s.identifier);

  if (!s.nodaemon) {
    log::info("daemonizing the supervisord process");
    std::cout.flush();
    std::fflush(nullptr);
    io_.notify_fork(boost::asio::execution_context::fork_prepare);
    pid_t pid = ::fork();
    if (pid < 0) {
      std::fprintf(stderr, "Error: could not fork: %s\n", std::strerror(errno));
      return 2;
    }
    if (pid > 0) {
      // The parent leaves the sockets to the child: don't unlink them.
      _exit(0);
    }
    io_.notify_fork(boost::asio::execution_context::fork_child);
    ::setsid();
    if (!s.directory.empty() && ::chdir(s.directory.c_str()) != 0)
      log::critical("can't chdir into {}: {}", s.directory, std::strerror(errno));
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::close(devnull);
    }
  }
  if (Status st = write_pidfile(s.pidfile); !st)
    log::critical("{}", st.error());
  else
    pidfile_written_ = true;
  log::info("supervisord started with pid {}", ::getpid());
  become_subreaper();

  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGQUIT);
  signals_.add(SIGHUP);
  signals_.add(SIGUSR2);
  signals_.add(SIGCHLD);
  arm_signals();
  reap();  // anything that exited before the handler was installed
  // Systemd's watchdog, if it asked for one (after daemonizing: the final pid).
  if (notifier_) notifier_->start_watchdog(io_);
  supervisor_->start([this] { on_launched(); });
  release_free_memory();
  io_.run();

  // Every child has been stopped and reaped by now.
  // AUTO child logs are removed at shutdown unless nocleanup=true (issue 3's
  // rule; supervisord 4.2.5 only removes them at the next start or reload,
  // which we do as well).
  if (pidfile_written_) ::unlink(cfg_.supervisord.pidfile.c_str());
  if (!cfg_.supervisord.nocleanup)
    logging::cleanup_auto_logs(cfg_.supervisord.childlogdir, cfg_.supervisord.identifier);
  log::info("supervisord exiting (status {})", exit_code_);
  return exit_code_;
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
  // A write to a closed pipe or socket is an error code, never a signal; a
  // log file over RLIMIT_FSIZE is a write error (EFBIG), not death.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
  // Responses (an XML-RPC process list is ~1.1 kB per process) come from
  // the heap up to 16 MiB (about 14000 processes): a mapping of their own
  // would cost a fresh mmap and zeroed pages on every call, more than the
  // call itself for 100 processes, and a fifth of it for 5000. What a
  // burst of clients leaves in the heap is returned by the trim a second
  // after the last one left (see start_generation).
  // Fixed, so that glibc's sliding threshold can't grow past it; and the
  // heap's top is not given back at every free either (the next response
  // would fault the same pages in again).
  ::mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024);
  ::mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
  // Before anything copies the environment: children must not inherit
  // systemd's NOTIFY_SOCKET / WATCHDOG_* (those with ready=notify get their
  // own NOTIFY_SOCKET from lib/health).
  std::unique_ptr<SystemdNotifier> notifier = SystemdNotifier::take_from_environment();
  auto cfg = config::load_config(options.config_path, config::current_environment());
  if (!cfg) {
    usage_error(options.argv0, cfg.error());
    return 2;
  }
  if (Status st = apply_overrides(options, cfg->supervisord); !st) {
    usage_error(options.argv0, st.error());
    return 2;
  }
  boost::asio::io_context io(1);
  Daemon d(io, options, std::move(*cfg), std::move(notifier));
  return d.run();
}

}  // namespace sup
