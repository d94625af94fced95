#include "common.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace e2e_logs {

std::string writer() {
  const char* p = std::getenv("LOG_WRITER");
  if (!p || !*p) throw std::runtime_error("LOG_WRITER is not set: run through `meson test` or point it at log_writer");
  if (::access(p, X_OK) != 0) throw std::runtime_error(std::string("LOG_WRITER=") + p + " is not executable");
  return p;
}

std::string oracle_supervisord() {
  const char* p = "/usr/bin/supervisord";
  return ::access(p, X_OK) == 0 ? p : "";
}

UseSupervisord::UseSupervisord(const std::string& path) {
  if (const char* old = std::getenv("SUPERVISORD")) {
    had_ = true;
    saved_ = old;
  }
  ::setenv("SUPERVISORD", path.c_str(), 1);
}

UseSupervisord::~UseSupervisord() {
  if (had_)
    ::setenv("SUPERVISORD", saved_.c_str(), 1);
  else
    ::unsetenv("SUPERVISORD");
}

TmpfsMount::TmpfsMount(const std::string& dir, std::size_t size_bytes, bool read_only) : dir_(dir) {
  ::mkdir(dir.c_str(), 0755);
  std::string opts = "size=" + std::to_string(size_bytes) + ",mode=0755";
  unsigned long flags = read_only ? MS_RDONLY : 0;
  if (::mount("tmpfs", dir.c_str(), "tmpfs", flags, opts.c_str()) != 0) {
    error_ = "mount -t tmpfs on " + dir + ": " + std::strerror(errno);
    return;
  }
  mounted_ = true;
}

TmpfsMount::~TmpfsMount() {
  // Lazy: a process that still has a file open there must not keep the
  // temp dir from being removed.
  if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
}

long long file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

std::uint64_t fill_disk(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  std::string block(4096, 'F');
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::write(fd, block.data(), block.size());
    if (n > 0) {
      total += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // ENOSPC: full
  }
  ::close(fd);
  return total;
}

std::string quoted(std::string_view p) {
  std::string out = "'";
  for (char c : p) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  out += "'";
  return out;
}

}  // namespace e2e_logs
