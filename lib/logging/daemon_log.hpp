// The daemon's own log (supervisord.log): spdlog underneath, with a sink that
// writes through RotatingFile so backups are named supervisord.log.1, .2...
//
// Line format, local time, one write(2) per line (readLog and tail -f see it
// at once):   2024-05-01 12:00:00,123 INFO message\n
// LEVEL is one of CRIT ERRO WARN INFO DEBG TRAC BLAT (supervisord's names).
// Before init() (or if it is never called) lines go to stderr, level info.
//
// Global state, event-loop thread only (spdlog's sink mutex makes stray calls
// from another thread safe, not ordered). Do not log from an error callback
// of the daemon log's own file: it reports to stderr instead.
#pragma once

#include <fmt/core.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/result.hpp"

namespace sup::log {

// supervisord's numeric levels (loggers.LevelsByName).
enum class Level { Critical = 50, Error = 40, Warn = 30, Info = 20, Debug = 10, Trace = 5, Blather = 3 };

// "critical" "error" "warn" "info" "debug" "trace" "blather", case-insensitive
// (supervisord's logging_level; it has no other aliases: "warning" is rejected).
std::optional<Level> parse_level(std::string_view text);
// The 4-letter tag written in log lines: "CRIT" ... "BLAT".
std::string_view level_tag(Level level);
// The config spelling: "critical" ... "blather".
std::string_view level_name(Level level);
// The Level for a supervisord number (SupervisordConfig::loglevel); numbers
// between two levels round up to the next stricter level.
Level level_from_number(int number);

struct Options {
  std::string path;             // "" = no file; "syslog" = syslog (facility user, ident = program name)
  std::int64_t maxbytes = 50 * 1024 * 1024;  // 0 = never rotate
  int backups = 10;
  Level level = Level::Info;
  bool echo_stdout = false;     // nodaemon and not silent: also write each line to stdout
};

// (Re)configures the log; replaces the previous destinations (also on reload).
// Fails with a one-line message naming the file if it cannot be opened; the
// previous configuration then stays in place.
sup::Status init(const Options& options);

// Back to the state before init(): lines to stderr, level info, file closed.
void reset();

// Writes one line at level (no-op if !enabled(level)). A message containing
// newlines is written as is, after one prefix (supervisord does the same).
void write(Level level, std::string_view message);
bool enabled(Level level);
Level level();
void set_level(Level level);

// SIGUSR2: reopen the file (recreated if moved away). No-op for syslog/none.
sup::Status reopen();
// clearLog: unlink the file and reopen it empty. No-op for syslog/none (the
// RPC layer reports NO_FILE first when the file does not exist, as supervisord).
sup::Status clear();
// The configured path ("" if none, "syslog" for syslog): readLog reads it.
std::string path();

// Followers get every line written to the log file, formatted (/mainlogtail).
int follow(std::function<void(std::string_view)> fn);
void unfollow(int id);

template <class... A>
void critical(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Critical)) write(Level::Critical, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void trace(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Trace)) write(Level::Trace, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void blather(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Blather)) write(Level::Blather, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace sup::log
