#include "logging/child_log.hpp"

#include <algorithm>

#include <dirent.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>
#include <system_error>
#include <vector>

#include "logging/daemon_log.hpp"

namespace sup::logging {
namespace {

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, min = 0x10000;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    std::uint32_t cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Python's repr() of a str (for the process name) or, with bytes_prefix, of
// a bytes object: quotes chosen as Python does, control bytes escaped.
std::string python_repr(std::string_view s, bool bytes_prefix) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out = bytes_prefix ? "b" : "";
  out.push_back(quote);
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f || (bytes_prefix && c >= 0x80)) {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back(quote);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string random_suffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
  static std::mt19937 gen{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, sizeof kChars - 2);
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(kChars[pick(gen)]);
  return s;
}

}  // namespace

std::string strip_ansi_escapes(std::string_view data, bool* in_sequence) {
  static constexpr std::string_view kTerminators = "HfABCDRsuJKhlpm";
  std::string out;
  out.reserve(data.size());
  std::size_t i = 0;
  while (i < data.size()) {
    if (*in_sequence) {
      std::size_t end = data.find_first_of(kTerminators, i);
      if (end == std::string_view::npos) return out;  // still inside at chunk end
      *in_sequence = false;
      i = end + 1;
      continue;
    }
    std::size_t esc = data.find("\x1b[", i);
    if (esc == std::string_view::npos) {
      out.append(data.substr(i));
      break;
    }
    out.append(data.substr(i, esc - i));
    *in_sequence = true;
    i = esc + 2;
  }
  return out;
}

ChannelLog::ChannelLog(const config::LogTarget& target, std::string process_name, std::string_view channel,
                       bool strip_ansi)
    : process_name_(std::move(process_name)),
      maxbytes_(target.maxbytes),
      backups_(target.backups),
      stderr_(channel == "stderr"),
      syslog_(target.syslog || target.kind == config::LogTarget::Kind::Syslog),
      strip_ansi_(strip_ansi) {
  using Kind = config::LogTarget::Kind;
  if (target.kind == Kind::File || target.kind == Kind::Auto) {
    has_file_ = true;
    path_ = target.path;
  }
}

ChannelLog::~ChannelLog() = default;

sup::Status ChannelLog::open_file() {
  open_attempted_ = true;
  if (path().empty()) {
    // AUTO without a name: the caller forgot make_auto_log_path.
    return sup::Error{"unknown error making dispatchers for '" + process_name_ + "': ENOENT"};
  }
  int err = 0;
  auto file = RotatingFile::open(path(), maxbytes_, backups_, &err);
  if (!file) {
    // The spawnerr keeps supervisord's wording (the errno name, not the
    // path); the main log says which file could not be opened and why.
    sup::log::error("{} {}: {}", process_name_, channel(), file.error());
    return sup::Error{"unknown error making dispatchers for '" + process_name_ + "': " + errno_symbol(err)};
  }
  if (file_) dropped_earlier_ += file_->dropped_bytes();
  file_ = std::move(*file);
  std::string().swap(path_);  // the open file holds the path from now on
  if (on_error_) {
    file_->set_error_callback(on_error_);
  } else {
    // Only a pointer captured: no allocation per log file (issue 7). The
    // file is ours, so it never calls back after we are gone.
    file_->set_error_callback([this](const std::string& message) {
      sup::log::error("{} {}: {}", process_name_, channel(), message);
    });
  }
  return sup::Status::Ok();
}

sup::Status ChannelLog::prepare() {
  if (!has_file_) return sup::Status::Ok();
  return open_file();
}

void ChannelLog::write(std::string_view data) {
  std::string stripped;
  if (strip_ansi_) {
    stripped = strip_ansi_escapes(data, &in_escape_);
    data = stripped;
  }
  if (data.empty()) return;
  if (has_file_ && !file_ && !open_attempted_) (void)open_file();  // prepare() was not called
  if (file_) {
    file_->write(data);
  } else if (has_file_) {
    dropped_earlier_ += data.size();
  }
  if (syslog_) {
    // One record per line, trailing newlines dropped, empty lines kept.
    std::string_view text = data;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    std::size_t start = 0;
    while (true) {
      std::size_t nl = text.find('\n', start);
      std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
      std::string record = process_name_ + " ";
      record.append(line);
      ::syslog(LOG_INFO, "%s", record.c_str());
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
  }
  if (sup::log::enabled(sup::log::Level::Debug)) {
    std::string text = valid_utf8(data) ? std::string(data) : "Undecodable: " + python_repr(data, true);
    sup::log::write(sup::log::Level::Debug,
                    python_repr(process_name_, false) + " " + std::string(channel()) + " output:\n" + text);
  }
  if (!followers_.empty()) {
    // Ids first: a follower may unfollow (itself or others) while we iterate.
    std::vector<int> ids;
    ids.reserve(followers_.size());
    for (const auto& [id, f] : followers_) ids.push_back(id);
    for (int id : ids) {
      auto it = std::find_if(followers_.begin(), followers_.end(), [id](const auto& e) { return e.first == id; });
      if (it == followers_.end()) continue;
      Follower f = it->second;  // a copy survives unfollow() inside the call
      f(data);
    }
  }
}

int ChannelLog::follow(Follower f) {
  int id = next_follower_++;
  followers_.emplace_back(id, std::move(f));
  return id;
}

void ChannelLog::unfollow(int id) {
  std::erase_if(followers_, [id](const auto& e) { return e.first == id; });
}

sup::Status ChannelLog::reopen() {
  if (file_) return file_->reopen();
  return sup::Status::Ok();  // nothing open yet: the next spawn opens the path anyway
}

sup::Status ChannelLog::clear() {
  in_escape_ = false;
  if (file_) return file_->clear();
  // Not open (never spawned): still empty the file a user sees.
  if (has_file_ && !path_.empty() && ::unlink(path_.c_str()) != 0 && errno != ENOENT)
    return sup::Error{"cannot remove log file '" + path_ + "': " + std::generic_category().message(errno)};
  return sup::Status::Ok();
}

std::uint64_t ChannelLog::dropped_bytes() const {
  return dropped_earlier_ + (file_ ? file_->dropped_bytes() : 0);
}

void ChannelLog::set_error_callback(RotatingFile::ErrorCallback cb) {
  on_error_ = std::move(cb);
  if (file_ && on_error_) file_->set_error_callback(on_error_);
}

std::string make_auto_log_path(const std::string& childlogdir, const std::string& procname,
                               const std::string& channel, const std::string& identifier) {
  std::string dir = childlogdir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string prefix = dir + "/" + procname + "-" + channel + "---" + identifier + "-";
  std::string name = prefix + "XXXXXX.log";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  int fd = ::mkstemps(buf.data(), 4);
  if (fd >= 0) {
    ::close(fd);
    return std::string(buf.data());
  }
  int err = errno;
  std::string fallback = prefix + random_suffix() + ".log";
  sup::log::warn("cannot create AUTO log file in {}: {}", dir, std::generic_category().message(err));
  return fallback;
}

bool is_auto_log_name(std::string_view name, std::string_view identifier) {
  std::string marker = "---" + std::string(identifier) + "-";
  // .+? needs at least one character before the marker.
  for (std::size_t p = name.find(marker, 1); p != std::string_view::npos; p = name.find(marker, p + 1)) {
    std::size_t rest = p + marker.size();
    // \S+ then ".log": a run of non-space characters of length >= 1 followed by ".log".
    for (std::size_t j = rest; j < name.size() && !is_space(name[j]); ++j) {
      if (j > rest && name.substr(j, 4) == ".log") return true;
    }
  }
  return false;
}

std::size_t cleanup_auto_logs(const std::string& childlogdir, const std::string& identifier) {
  DIR* dir = ::opendir(childlogdir.c_str());
  if (!dir) {
    sup::log::warn("Could not clear childlog dir");
    return 0;
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (is_auto_log_name(name, identifier)) names.emplace_back(name);
  }
  ::closedir(dir);
  std::size_t removed = 0;
  for (const auto& name : names) {
    std::string path = childlogdir + (childlogdir.ends_with('/') ? "" : "/") + name;
    if (::unlink(path.c_str()) == 0) {
      ++removed;
    } else {
      sup::log::warn("Failed to clean up {}", python_repr(path, false));
    }
  }
  return removed;
}

}  // namespace sup::logging
