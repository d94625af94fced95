// Helpers for the logging tests: a temp dir that removes itself, whole-file
// reads, and stdout/stderr capture through a file.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <functional>
#include <string>

namespace logtest {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sup-logging-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

inline long long file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Redirects fd (1 or 2) into a file for the lifetime of the object.
class CaptureFd {
 public:
  CaptureFd(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    saved_ = ::dup(fd_);
    int f = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(f, fd_);
    ::close(f);
  }
  ~CaptureFd() { restore(); }
  std::string restore() {
    if (saved_ >= 0) {
      ::dup2(saved_, fd_);
      ::close(saved_);
      saved_ = -1;
    }
    return read_file(path_);
  }

 private:
  int fd_;
  std::string path_;
  int saved_ = -1;
};

// Runs fn in a forked child (for process-wide changes such as rlimits or
// setuid) and returns what it returned, or "child failed" text.
inline std::string run_in_child(const std::function<std::string()>& fn) {
  std::cout.flush();
  std::fflush(nullptr);
  int p[2];
  if (::pipe(p) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    std::string out = fn();
    const char* d = out.data();
    std::size_t left = out.size();
    while (left > 0) {
      ssize_t n = ::write(p[1], d, left);
      if (n <= 0) break;
      d += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed: " + out;
  return out;
}

}  // namespace logtest
