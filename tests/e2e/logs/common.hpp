// Helpers shared by the e2e_logs test files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace e2e_logs {

// The log_writer helper binary ($LOG_WRITER, set by meson test). Throws
// std::runtime_error with an explanation when it is missing.
std::string writer();

// Debian's supervisord 4.2.5, the behavioural oracle; "" when not installed.
std::string oracle_supervisord();

// While alive, e2e::Daemon::start() launches `path` instead of $SUPERVISORD
// (the harness reads the variable at each start).
class UseSupervisord {
 public:
  explicit UseSupervisord(const std::string& path);
  ~UseSupervisord();
  UseSupervisord(const UseSupervisord&) = delete;
  UseSupervisord& operator=(const UseSupervisord&) = delete;

 private:
  std::string saved_;
  bool had_ = false;
};

// A tmpfs mounted at dir (created if needed) for the object's lifetime.
// mounted() is false (and error() says why) when mount(2) is not permitted.
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, std::size_t size_bytes, bool read_only = false);
  ~TmpfsMount();
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// Size of path in bytes; -1 when it does not exist.
long long file_size(const std::string& path);

// Fills the filesystem holding path with a file at path until write(2)
// reports ENOSPC. Returns the bytes written.
std::uint64_t fill_disk(const std::string& path);

// "p" with a shell-safe single-quoted form, for command= lines.
std::string quoted(std::string_view p);

}  // namespace e2e_logs
