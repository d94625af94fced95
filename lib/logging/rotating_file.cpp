#include "logging/rotating_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

namespace sup::logging {
namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

// The fd number a path names directly (/dev/stdout -> 1), or -1.
int named_fd(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  std::string_view rest;
  if (path.starts_with("/dev/fd/")) {
    rest = std::string_view(path).substr(8);
  } else if (path.starts_with("/proc/self/fd/")) {
    rest = std::string_view(path).substr(14);
  } else {
    return -1;
  }
  int n = -1;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
  if (ec != std::errc() || end != rest.data() + rest.size() || n < 0) return -1;
  return n;
}

}  // namespace

std::string errno_symbol(int err) {
  if (const char* name = ::strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

RotatingFile::RotatingFile(std::string path, std::int64_t maxbytes, int backups)
    : path_(std::move(path)), maxbytes_(maxbytes < 0 ? 0 : maxbytes), backups_(backups < 0 ? 0 : backups) {}

RotatingFile::~RotatingFile() { close_fd(); }

sup::Result<std::unique_ptr<RotatingFile>> RotatingFile::open(std::string path, std::int64_t maxbytes,
                                                              int backups, int* open_errno) {
  if (open_errno) *open_errno = 0;
  if (path.empty()) {
    if (open_errno) *open_errno = ENOENT;
    return sup::Error{"cannot open log file '': empty path"};
  }
  std::unique_ptr<RotatingFile> file(new RotatingFile(std::move(path), maxbytes, backups));
  if (int err = file->open_fd(false)) {
    if (open_errno) *open_errno = err;
    return sup::Error{"cannot open log file '" + file->path_ + "': " + errno_text(err)};
  }
  return file;
}

int RotatingFile::open_fd(bool truncate) {
  const int direct_fd = named_fd(path_);
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
  // Truncation is only ever wanted for regular files we rotate ourselves.
  if (truncate && direct_fd < 0) flags |= O_TRUNC;
  int fd = -1;
  if (direct_fd >= 0) {
    // /dev/stdout and friends share the daemon's own descriptor (and so its
    // file offset): a separately opened description would overwrite the
    // daemon's lines, and they ours, when stdout is a `> file` redirect
    // without O_APPEND; and a socket cannot be opened by name at all.
    fd = ::fcntl(direct_fd, F_DUPFD_CLOEXEC, 3);
  }
  if (fd < 0) {
    do {
      fd = ::open(path_.c_str(), flags, 0666);
    } while (fd < 0 && errno == EINTR);
  }
  if (fd < 0) return errno;
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  close_fd();
  fd_ = fd;
  special_ = direct_fd >= 0 || !regular;
  return 0;
}

void RotatingFile::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RotatingFile::write(std::string_view data) {
  if (data.empty()) return;
  if (fd_ < 0) {
    // A previous reopen or rotation failed: try again, the cause may be gone.
    if (int err = open_fd(false)) {
      note_dropped(data.size(), err);
      return;
    }
  }
  std::size_t done = 0;
  bool retried_after_rotation = false;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int err = n < 0 ? errno : EIO;
    if (err == EFBIG && rotates() && !retried_after_rotation) {
      // The file hit RLIMIT_FSIZE before maxbytes: rotate early and retry once.
      retried_after_rotation = true;
      rotate();
      if (fd_ >= 0) continue;
    }
    note_dropped(data.size() - done, err);
    break;
  }
  if (done == data.size()) note_success();
  if (fd_ >= 0 && rotates()) {
    // With O_APPEND the offset after a write is the end of the file, even if
    // another writer appended or logrotate's copytruncate shrank it.
    off_t pos = ::lseek(fd_, 0, SEEK_CUR);
    if (pos >= 0 && pos >= maxbytes_) rotate();
  }
}

void RotatingFile::rotate() {
  int failed_err = 0;
  if (backups_ > 0) {
    for (int i = backups_ - 1; i >= 0 && failed_err == 0; --i) {
      std::string src = i == 0 ? path_ : path_ + "." + std::to_string(i);
      std::string dst = path_ + "." + std::to_string(i + 1);
      // dst goes first, as supervisord does it: a rename over an existing
      // file makes ext4 (auto_da_alloc) allocate and start writing back all
      // of src right there, in the daemon, for every backup at every
      // rotation (issue 3: 3-4 ms of CPU per rotation of 50 MB files). A
      // missing src or dst is fine (never created, or removed by a cleanup
      // script).
      if (::access(src.c_str(), F_OK) != 0) continue;
      if (::unlink(dst.c_str()) != 0 && errno != ENOENT) failed_err = errno;
      else if (::rename(src.c_str(), dst.c_str()) != 0 && errno != ENOENT) failed_err = errno;
    }
  }
  if (failed_err) {
    if (!rotate_failing_) {
      rotate_failing_ = true;
      report("cannot rotate log file '" + path_ + "': " + errno_text(failed_err) +
             "; writing on without rotating");
    }
    return;
  }
  rotate_failing_ = false;
  if (int err = open_fd(true)) {
    // The old fd now names NAME.1 (or a full file): stop writing there.
    close_fd();
    note_dropped(0, err);
  }
}

sup::Status RotatingFile::reopen() {
  if (int err = open_fd(false)) {
    // Keep writing to the old descriptor, if any: better than losing output.
    return sup::Error{"cannot reopen log file '" + path_ + "': " + errno_text(err)};
  }
  return sup::Status::Ok();
}

sup::Status RotatingFile::clear() {
  if (special_) return reopen();
  close_fd();
  std::string unlink_error;
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
    unlink_error = "cannot remove log file '" + path_ + "': " + errno_text(errno);
  if (int err = open_fd(false)) {
    return sup::Error{unlink_error.empty() ? "cannot reopen log file '" + path_ + "': " + errno_text(err)
                                           : unlink_error};
  }
  if (!unlink_error.empty()) return sup::Error{unlink_error};
  return sup::Status::Ok();
}

void RotatingFile::report(const std::string& message) {
  if (on_error_) {
    on_error_(message);
    return;
  }
  std::string line = message + "\n";
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

void RotatingFile::note_dropped(std::size_t n, int err) {
  dropped_total_ += n;
  dropped_episode_ += n;
  if (write_failing_) return;
  write_failing_ = true;
  report("cannot write to log file '" + path_ + "': " + errno_text(err) +
         "; dropping output until writing works again");
}

void RotatingFile::note_success() {
  if (!write_failing_) return;
  write_failing_ = false;
  report("writing to log file '" + path_ + "' works again; " + std::to_string(dropped_episode_) +
         " bytes were dropped");
  dropped_episode_ = 0;
}

}  // namespace sup::logging
