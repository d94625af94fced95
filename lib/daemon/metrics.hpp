// Observability endpoints of the daemon (issue 8): the Prometheus text
// exposition (GET /metrics) and the readiness report (GET /readyz), both
// rendered from the Supervisor's current state. Pure functions of their
// inputs plus, for DaemonFacts, a read of /proc/self; no I/O otherwise.
// Event-loop thread only (they read the Supervisor).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sup {
class Supervisor;
}

namespace sup::metrics {

// Content-Type of the Prometheus text exposition format 0.0.4.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

// --- Prometheus text format -----------------------------------------------------

// A label value with \ " and newline escaped as \\ \" \n.
std::string escape_label_value(std::string_view value);
// HELP text with \ and newline escaped as \\ \n.
std::string escape_help(std::string_view help);
// A sample value: integers without a fraction, others in the shortest form
// that reads back to the same double; NaN, +Inf, -Inf.
std::string format_value(double value);

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// Writes metric families: begin_family() emits # HELP and # TYPE, then
// sample() adds series of that family (contiguous, as the format requires).
// Names are the caller's constants and must be valid metric/label names.
class TextWriter {
 public:
  enum class Type { Gauge, Counter };
  void begin_family(std::string_view name, Type type, std::string_view help);
  // A series of the current family (labels in the given order).
  void sample(const Labels& labels, double value);
  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
  std::string family_;
};

// --- the daemon's own figures -----------------------------------------------------

struct DaemonFacts {
  double start_time = 0;      // unix seconds when the daemon started
  double uptime = 0;          // seconds since then (monotonic clock)
  std::optional<std::int64_t> resident_bytes;  // /proc/self/statm; nullopt when unreadable
  std::optional<std::int64_t> open_fds;        // entries of /proc/self/fd
  std::optional<std::int64_t> max_fds;         // RLIMIT_NOFILE soft limit (nullopt: unlimited)
  std::string version;        // this build's version
};

// Fills the /proc and rlimit parts of a DaemonFacts for this process.
DaemonFacts read_daemon_facts(double start_time, double uptime, std::string version);

// The whole /metrics answer.
std::string render(const Supervisor& sup, const DaemonFacts& facts);

// --- readiness ------------------------------------------------------------------------

// Processes that keep the daemon from being ready, one line each
// ("web:web_1 STARTING"), in getAllProcessInfo order; empty when ready.
// Ready means: the daemon is RUNNING (not shutting down or restarting) and
// every autostart process is RUNNING (which already includes its readiness
// rule, ready=), or has EXITED with an expected exit code and will not be
// restarted (a finished one-shot task).
std::vector<std::string> unready(const Supervisor& sup);

}  // namespace sup::metrics
