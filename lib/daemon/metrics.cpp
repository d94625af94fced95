#include "daemon/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "process/supervisor.hpp"

namespace sup::metrics {

namespace {

constexpr std::array kProcessStates = {ProcessState::Stopped, ProcessState::Starting, ProcessState::Running,
                                       ProcessState::Backoff, ProcessState::Stopping, ProcessState::Exited,
                                       ProcessState::Fatal,   ProcessState::Unknown};
constexpr std::array kDaemonStates = {SupervisorState::Fatal, SupervisorState::Running, SupervisorState::Restarting,
                                      SupervisorState::Shutdown};
// Indexed by Process::Health; the same names getProcessInfo's "health" uses.
constexpr std::array<std::string_view, 4> kHealthNames = {"none", "starting", "healthy", "unhealthy"};

std::string_view health_name(Process::Health h) { return kHealthNames[static_cast<std::size_t>(h)]; }

// The version of the supervisord API this daemon answers for (getSupervisorVersion).
constexpr std::string_view kSupervisordVersion = "4.2.5";

// Per-process families: each writes one sample per process (or one per
// process and label value) so that the family stays contiguous.
void per_process(TextWriter& w, const std::vector<Process*>& procs, std::string_view name, TextWriter::Type type,
                 std::string_view help, double (*value)(const Process&)) {
  w.begin_family(name, type, help);
  for (const Process* p : procs) w.sample({{"group", p->group()}, {"name", p->name()}}, value(*p));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values up to 2^53 print exactly, without exponent or fraction.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0)
    return std::to_string(static_cast<long long>(value));
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void TextWriter::begin_family(std::string_view name, Type type, std::string_view help) {
  family_ = std::string(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += type == Type::Counter ? " counter\n" : " gauge\n";
}

void TextWriter::sample(const Labels& labels, double value) {
  out_ += family_;
  if (!labels.empty()) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_ += ',';
      first = false;
      out_ += k;
      out_ += "=\"";
      out_ += escape_label_value(v);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

DaemonFacts read_daemon_facts(double start_time, double uptime, std::string version) {
  DaemonFacts f;
  f.start_time = start_time;
  f.uptime = uptime;
  f.version = std::move(version);
  // statm: size resident shared ... in pages.
  std::ifstream statm("/proc/self/statm");
  long long size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) f.resident_bytes = resident_pages * ::sysconf(_SC_PAGESIZE);
  if (DIR* d = ::opendir("/proc/self/fd")) {
    std::int64_t n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    f.open_fds = n - 1;  // the directory stream's own descriptor
  }
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    f.max_fds = static_cast<std::int64_t>(rl.rlim_cur);
  return f;
}

std::string render(const Supervisor& sup, const DaemonFacts& facts) {
  using Type = TextWriter::Type;
  TextWriter w;
  const std::vector<Process*> procs = sup.all_processes_by_name();

  // --- the daemon ---
  w.begin_family("supervisord_build_info", Type::Gauge,
                 "Build of this daemon (always 1); supervisord_version is the supervisord release it replaces.");
  w.sample({{"version", facts.version}, {"supervisord_version", kSupervisordVersion}}, 1);
  w.begin_family("supervisord_start_time_seconds", Type::Gauge, "When the daemon started, in seconds since the epoch.");
  w.sample({}, facts.start_time);
  w.begin_family("supervisord_uptime_seconds", Type::Gauge, "Seconds since the daemon started.");
  w.sample({}, facts.uptime);
  w.begin_family("supervisord_state", Type::Gauge,
                 "The daemon's state as getState names it: 1 for the current state, 0 for the others.");
  for (SupervisorState s : kDaemonStates) w.sample({{"state", to_string(s)}}, sup.mood() == s ? 1 : 0);
  if (facts.resident_bytes) {
    w.begin_family("process_resident_memory_bytes", Type::Gauge, "Resident memory of the daemon in bytes.");
    w.sample({}, static_cast<double>(*facts.resident_bytes));
  }
  if (facts.open_fds) {
    w.begin_family("process_open_fds", Type::Gauge, "File descriptors the daemon has open.");
    w.sample({}, static_cast<double>(*facts.open_fds));
  }
  if (facts.max_fds) {
    w.begin_family("process_max_fds", Type::Gauge, "The daemon's limit of open file descriptors (RLIMIT_NOFILE).");
    w.sample({}, static_cast<double>(*facts.max_fds));
  }
  w.begin_family("supervisord_processes", Type::Gauge, "Number of supervised processes in each state.");
  for (ProcessState s : kProcessStates) {
    auto n = std::count_if(procs.begin(), procs.end(), [s](const Process* p) { return p->state() == s; });
    w.sample({{"state", to_string(s)}}, static_cast<double>(n));
  }

  // --- each process (labels group, name) ---
  w.begin_family("supervisord_process_state", Type::Gauge,
                 "Process state as getProcessInfo's statename: 1 for the current state, 0 for the others.");
  for (const Process* p : procs)
    for (ProcessState s : kProcessStates)
      w.sample({{"group", p->group()}, {"name", p->name()}, {"state", to_string(s)}}, p->state() == s ? 1 : 0);
  per_process(w, procs, "supervisord_process_state_code", Type::Gauge,
              "Process state as getProcessInfo's numeric state (0 STOPPED ... 20 RUNNING ... 1000 UNKNOWN).",
              [](const Process& p) { return static_cast<double>(static_cast<int>(p.state())); });
  per_process(w, procs, "supervisord_process_up", Type::Gauge, "1 when the process is RUNNING, else 0.",
              [](const Process& p) { return p.state() == ProcessState::Running ? 1.0 : 0.0; });
  per_process(w, procs, "supervisord_process_pid", Type::Gauge, "Process id, 0 when the process is not running.",
              [](const Process& p) { return static_cast<double>(p.pid()); });
  per_process(w, procs, "supervisord_process_start_time_seconds", Type::Gauge,
              "When the process was last started, in seconds since the epoch; 0 if never.",
              [](const Process& p) { return p.laststart(); });
  per_process(w, procs, "supervisord_process_restarts_total", Type::Counter,
              "Automatic restarts (autorestart, start retries, health restarts) since the process was added.",
              [](const Process& p) { return static_cast<double>(p.restarts()); });
  per_process(w, procs, "supervisord_process_exit_code", Type::Gauge,
              "Exit status of the last exit (-1 when killed by a signal), 0 before any.",
              [](const Process& p) { return static_cast<double>(p.exitstatus()); });
  w.begin_family("supervisord_process_health", Type::Gauge,
                 "Health-check state (none without healthcheck=): 1 for the current one, 0 for the others.");
  for (const Process* p : procs)
    for (std::string_view h : kHealthNames)
      w.sample({{"group", p->group()}, {"name", p->name()}, {"health", h}}, health_name(p->health()) == h ? 1 : 0);
  return w.take();
}

std::vector<std::string> unready(const Supervisor& sup) {
  std::vector<std::string> out;
  if (sup.mood() != SupervisorState::Running)
    out.push_back("supervisord " + std::string(to_string(sup.mood())));
  for (const Process* p : sup.all_processes_by_name()) {
    const config::ProcessConfig& c = p->config();
    if (!c.autostart) continue;
    ProcessState s = p->state();
    if (s == ProcessState::Running) continue;
    bool finished = s == ProcessState::Exited && !p->restart_pending() &&
                    c.autorestart != config::AutoRestart::True &&
                    std::find(c.exitcodes.begin(), c.exitcodes.end(), p->exitstatus()) != c.exitcodes.end();
    if (finished) continue;
    out.push_back(p->namespec() + " " + std::string(to_string(s)));
  }
  return out;
}

}  // namespace sup::metrics
