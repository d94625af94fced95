#include <functional>
#include <map>
#include "logging/daemon_log.hpp"

#include <syslog.h>
#include <unistd.h>

#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <mutex>
#include <vector>

#include "logging/rotating_file.hpp"

namespace sup::log {
namespace {

// Date, time with milliseconds, then the payload, which write() builds as
// "TAG message": spdlog has 6 levels and fixed level names, supervisord has 7.
constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S,%e %v";

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout/stderr gone (EPIPE, closed): nothing better to do
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Forwards formatted lines to a RotatingFile (supervisord's backup names and
// rotation rules; no buffering, so each line is visible once logged).
class RotatingFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit RotatingFileSink(std::unique_ptr<sup::logging::RotatingFile> file) : file_(std::move(file)) {}
  sup::Status reopen() {
    std::lock_guard lock(mutex_);
    return file_->reopen();
  }
  sup::Status clear() {
    std::lock_guard lock(mutex_);
    return file_->clear();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    file_->write(std::string_view(buf.data(), buf.size()));
    last_line.assign(buf.data(), buf.size());
  }
  void flush_() override {}

 public:
  // The line just written, for followers (/mainlogtail); see write().
  std::string last_line;

 private:
  std::unique_ptr<sup::logging::RotatingFile> file_;
};

// stdout (nodaemon echo) or stderr (before init): write(2) per line, no stdio.
class FdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FdSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    write_all(fd_, buf.data(), buf.size());
  }
  void flush_() override {}

 private:
  int fd_;
};

// logfile=syslog: like supervisord, one syslog record per message line, each
// carrying the full "date LEVEL line" text. Priority follows the level.
class SyslogSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string_view tag = payload.substr(0, std::min<std::size_t>(5, payload.size()));  // "INFO "
    std::string_view text = payload.substr(tag.size());
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    int priority = to_priority(msg.level);
    std::size_t start = 0;
    while (true) {
      std::size_t nl = text.find('\n', start);
      std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
      std::string one(tag);
      one.append(line);
      spdlog::details::log_msg copy(msg);
      copy.payload = one;
      spdlog::memory_buf_t buf;
      formatter_->format(copy, buf);
      std::string formatted(buf.data(), buf.size());
      while (!formatted.empty() && formatted.back() == '\n') formatted.pop_back();
      ::syslog(priority, "%s", formatted.c_str());
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
  }
  void flush_() override {}

 private:
  static int to_priority(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::critical: return LOG_CRIT;
      case spdlog::level::err: return LOG_ERR;
      case spdlog::level::warn: return LOG_WARNING;
      case spdlog::level::info: return LOG_INFO;
      default: return LOG_DEBUG;
    }
  }
};

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::Critical: return spdlog::level::critical;
    case Level::Error: return spdlog::level::err;
    case Level::Warn: return spdlog::level::warn;
    case Level::Info: return spdlog::level::info;
    case Level::Debug: return spdlog::level::debug;
    case Level::Trace:
    case Level::Blather: return spdlog::level::trace;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> make_logger(std::vector<spdlog::sink_ptr> sinks) {
  for (auto& s : sinks) s->set_pattern(kPattern);
  auto logger = std::make_shared<spdlog::logger>("supervisord", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::trace);  // filtering is ours (7 levels)
  logger->flush_on(spdlog::level::off);     // sinks never buffer
  return logger;
}

struct State {
  std::shared_ptr<spdlog::logger> logger = make_logger({std::make_shared<FdSink>(2)});
  std::shared_ptr<RotatingFileSink> file_sink;  // also in logger's sinks; null without a file
  Level level = Level::Info;
  std::string path;
  std::map<int, std::function<void(std::string_view)>> followers;
  int next_follower = 1;
  bool notifying = false;  // a follower that logs must not recurse
};

State& state() {
  static State s;
  return s;
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (Level l : {Level::Critical, Level::Error, Level::Warn, Level::Info, Level::Debug, Level::Trace,
                  Level::Blather}) {
    if (lower == level_name(l)) return l;
  }
  return std::nullopt;
}

std::string_view level_tag(Level level) {
  switch (level) {
    case Level::Critical: return "CRIT";
    case Level::Error: return "ERRO";
    case Level::Warn: return "WARN";
    case Level::Info: return "INFO";
    case Level::Debug: return "DEBG";
    case Level::Trace: return "TRAC";
    case Level::Blather: return "BLAT";
  }
  return "INFO";
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::Critical: return "critical";
    case Level::Error: return "error";
    case Level::Warn: return "warn";
    case Level::Info: return "info";
    case Level::Debug: return "debug";
    case Level::Trace: return "trace";
    case Level::Blather: return "blather";
  }
  return "info";
}

Level level_from_number(int number) {
  for (Level l : {Level::Blather, Level::Trace, Level::Debug, Level::Info, Level::Warn, Level::Error}) {
    if (number <= static_cast<int>(l)) return l;
  }
  return Level::Critical;
}

sup::Status init(const Options& options) {
  std::vector<spdlog::sink_ptr> sinks;
  std::shared_ptr<RotatingFileSink> file_sink;
  if (options.echo_stdout) sinks.push_back(std::make_shared<FdSink>(1));
  if (options.path == "syslog") {
    sinks.push_back(std::make_shared<SyslogSink>());
  } else if (!options.path.empty()) {
    auto file = sup::logging::RotatingFile::open(options.path, options.maxbytes, options.backups);
    if (!file) return sup::Error{file.error()};
    // Problems with the log file itself can only be told on stderr.
    (*file)->set_error_callback([](const std::string& message) {
      std::string line = "supervisord: " + message + "\n";
      write_all(2, line.data(), line.size());
    });
    file_sink = std::make_shared<RotatingFileSink>(std::move(*file));
    sinks.push_back(file_sink);
  }
  State& s = state();
  s.logger = make_logger(std::move(sinks));
  s.file_sink = std::move(file_sink);
  s.level = options.level;
  s.path = options.path;
  return sup::Status::Ok();
}

void reset() {
  State& s = state();
  s.logger = make_logger({std::make_shared<FdSink>(2)});
  s.file_sink.reset();
  s.level = Level::Info;
  s.path.clear();
}

void write(Level level, std::string_view message) {
  if (!enabled(level)) return;
  std::string payload;
  payload.reserve(message.size() + 5);
  payload.append(level_tag(level));
  payload.push_back(' ');
  payload.append(message);
  State& st = state();
  st.logger->log(to_spdlog(level), spdlog::string_view_t(payload.data(), payload.size()));
  if (st.file_sink && !st.followers.empty() && !st.notifying) {
    std::string line = std::move(st.file_sink->last_line);
    st.file_sink->last_line.clear();
    st.notifying = true;
    auto followers = st.followers;  // a follower may unfollow itself
    for (auto& [id, fn] : followers) fn(line);
    st.notifying = false;
  }
}

int follow(std::function<void(std::string_view)> fn) {
  State& st = state();
  int id = st.next_follower++;
  st.followers.emplace(id, std::move(fn));
  return id;
}

void unfollow(int id) { state().followers.erase(id); }

bool enabled(Level level) { return static_cast<int>(level) >= static_cast<int>(state().level); }

Level level() { return state().level; }

void set_level(Level level) { state().level = level; }

sup::Status reopen() {
  State& s = state();
  if (!s.file_sink) return sup::Status::Ok();
  return s.file_sink->reopen();
}

sup::Status clear() {
  State& s = state();
  if (!s.file_sink) return sup::Status::Ok();
  return s.file_sink->clear();
}

std::string path() { return state().path; }

}  // namespace sup::log
