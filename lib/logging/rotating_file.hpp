// RotatingFile: an append-only log file with supervisord's rotation rules,
// written with plain write(2) (no stdio buffer: readers see bytes at once).
//
// Rotation (supervisord's RotatingFileHandler): every write() goes to the file
// first; afterwards, if the file size is >= maxbytes, NAME.(n-1) -> NAME.n ...
// NAME.1 -> NAME.2, NAME -> NAME.1, and NAME is reopened empty. So a file may
// exceed maxbytes by up to one write. backups == 0 truncates NAME in place;
// maxbytes == 0 never rotates. "Special" files are never rotated nor unlinked:
// /dev/stdout, /dev/stderr, /dev/fd/N and anything that is not a regular file
// (pipe, tty, character device).
//
// Errors: write() never throws and never blocks beyond the write(2) itself.
// A failing write (ENOSPC, EIO, EFBIG at RLIMIT_FSIZE, EPIPE...) drops the
// bytes it could not write, counts them in dropped_bytes(), and reports the
// failure once through the error callback; the next successful write reports
// the recovery once. EFBIG on a rotating file triggers an early rotation and
// one retry, so a file-size limit below maxbytes does not stop logging.
//
// PROCESS REQUIREMENT: the daemon must ignore SIGXFSZ (signal(SIGXFSZ,
// SIG_IGN)), otherwise hitting RLIMIT_FSIZE kills the daemon instead of
// making write(2) fail with EFBIG. Because ignored signals survive exec, the
// spawner must reset SIGXFSZ (like SIGPIPE) to SIG_DFL in each child.
//
// Files are created with mode 0666 filtered by the process umask (0644 with
// the usual umask 022), exactly as supervisord's open(path, 'ab') does.
// Not thread-safe: owned and used by one thread (the daemon's event loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sup::logging {

class RotatingFile {
 public:
  using ErrorCallback = std::function<void(const std::string&)>;

  // Opens (creating if needed) path for appending. maxbytes <= 0 disables
  // rotation; backups < 0 is treated as 0. On failure the message is one line
  // naming the path ("cannot open log file '/x/y.log': Permission denied"),
  // and *open_errno (if given) receives the errno, so a caller can build
  // supervisord's spawnerr text (see errno_symbol()).
  static sup::Result<std::unique_ptr<RotatingFile>> open(std::string path, std::int64_t maxbytes,
                                                         int backups, int* open_errno = nullptr);

  ~RotatingFile();
  RotatingFile(const RotatingFile&) = delete;
  RotatingFile& operator=(const RotatingFile&) = delete;

  // Writes all of data (raw bytes, nothing added), then rotates if due.
  void write(std::string_view data);

  // SIGUSR2: closes and reopens the same path, so a file moved or deleted by
  // an outside tool (logrotate) is recreated. On failure writes are dropped
  // (and counted) until a later write manages to reopen the path.
  sup::Status reopen();

  // clearLog / clearProcessLogs: unlinks the current file (not its backups)
  // and reopens it empty. A special file is only reopened, never unlinked.
  sup::Status clear();

  const std::string& path() const { return path_; }
  // Total bytes that could not be written since open().
  std::uint64_t dropped_bytes() const { return dropped_total_; }
  // True when size-based rotation applies (regular file and maxbytes > 0).
  bool rotates() const { return maxbytes_ > 0 && !special_; }
  bool special() const { return special_; }
  std::int64_t maxbytes() const { return maxbytes_; }
  int backups() const { return backups_; }

  // Receives one-line failure and recovery reports. Without a callback they
  // go to stderr. Called synchronously from write()/reopen()/clear().
  void set_error_callback(ErrorCallback cb) { on_error_ = std::move(cb); }

 private:
  RotatingFile(std::string path, std::int64_t maxbytes, int backups);
  // Opens path_ (O_TRUNC when truncate); returns errno or 0. Keeps the old fd on failure.
  int open_fd(bool truncate);
  void close_fd();
  void rotate();
  void report(const std::string& message);
  void note_dropped(std::size_t n, int err);
  void note_success();

  std::string path_;
  std::int64_t maxbytes_;
  int backups_;
  bool special_ = false;  // never rotated or unlinked
  int fd_ = -1;           // -1 after a failed reopen: writes retry the open

  // Failure episodes: reported once when they start and once when they end.
  bool write_failing_ = false;
  bool rotate_failing_ = false;
  std::uint64_t dropped_total_ = 0;
  std::uint64_t dropped_episode_ = 0;
  ErrorCallback on_error_;
};

// "EACCES" for EACCES, as Python's errno.errorcode gives ("errno 1234" if unknown).
std::string errno_symbol(int err);

}  // namespace sup::logging
