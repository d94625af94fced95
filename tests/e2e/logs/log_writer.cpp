// log_writer: the child program of the e2e_logs tests. Each mode writes
// known bytes with known write(2) calls, so a test can compute exactly what
// the daemon's log must hold. Waits are polls on observable events with a
// 60 s deadline; on a timeout the helper exits with status 3.
//
//   log_writer pattern FD N SEED [CHUNK]  N pattern bytes to FD in CHUNK-byte writes (default 65536)
//   log_writer allbytes FD TIMES           byte values 0..255, TIMES times, one write
//   log_writer records LOG BACKUPS SIZE... record k (SIZE bytes, ends "#k#\n") per write(2), then
//                                          waits until the daemon logged it (LOG or LOG.1 ends with
//                                          it; with BACKUPS 0 also LOG emptied by a truncation)
//   log_writer orphan N SEED               forks; the parent exits at once, the child waits until it
//                                          is reparented, then writes N pattern bytes to stdout
//   log_writer fill N DONEFILE             N bytes (seed 0) to stdout in 64 KiB writes, then creates DONEFILE
//   log_writer waitwrite PREFIX            for k = 1, 2, ...: waits for file PREFIX.k, writes "line-k\n"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pattern.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(60);
constexpr auto kPoll = std::chrono::milliseconds(3);

[[noreturn]] void die(const std::string& msg, int code = 2) {
  std::fprintf(stderr, "log_writer: %s\n", msg.c_str());
  std::exit(code);
}

void write_all(int fd, std::string_view data, std::size_t chunk) {
  std::size_t done = 0;
  while (done < data.size()) {
    std::size_t n = std::min(chunk, data.size() - done);
    ssize_t w = ::write(fd, data.data() + done, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die(std::string("write: ") + std::strerror(errno));
    done += static_cast<std::size_t>(w);
  }
}

// Polls pred until true; exits with status 3 at the deadline.
template <class Pred>
void wait_for(Pred pred, const std::string& what) {
  auto end = Clock::now() + kDeadline;
  while (!pred()) {
    if (Clock::now() > end) die("timed out waiting for " + what, 3);
    std::this_thread::sleep_for(kPoll);
  }
}

// -1 if path cannot be opened.
long long file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

bool ends_with_bytes(const std::string& path, std::string_view tail) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = false;
  if (::fstat(fd, &st) == 0 && static_cast<std::size_t>(st.st_size) >= tail.size()) {
    std::string buf(tail.size(), '\0');
    ssize_t n = ::pread(fd, buf.data(), buf.size(), st.st_size - static_cast<off_t>(tail.size()));
    ok = n == static_cast<ssize_t>(buf.size()) && buf == tail;
  }
  ::close(fd);
  return ok;
}

std::size_t to_size(const char* s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (!end || *end) die(std::string("not a number: ") + s);
  return static_cast<std::size_t>(v);
}

int run_records(const std::string& log, int backups, const std::vector<std::size_t>& sizes) {
  bool last_seen_empty = true;  // before the first record nothing was logged
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    std::string rec = e2e_logs::record_bytes(k, sizes[k]);
    write_all(1, rec, rec.size());
    std::string tag = "#" + std::to_string(k) + "#\n";
    wait_for(
        [&] {
          if (ends_with_bytes(log, tag)) {
            last_seen_empty = false;
            return true;
          }
          if (backups > 0) {
            if (ends_with_bytes(log + ".1", tag)) {
              last_seen_empty = file_size(log) <= 0;
              return true;
            }
            return false;
          }
          // backups=0 truncates in place: an emptied file after a non-empty
          // one is this record's rotation (records are smaller than maxbytes).
          if (!last_seen_empty && file_size(log) == 0) {
            last_seen_empty = true;
            return true;
          }
          return false;
        },
        "record " + std::to_string(k) + " in " + log);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: log_writer MODE ARGS...");
  std::string mode = argv[1];
  if (mode == "pattern" && (argc == 5 || argc == 6)) {
    int fd = static_cast<int>(to_size(argv[2]));
    std::string data = e2e_logs::pattern_bytes(to_size(argv[3]), static_cast<std::uint32_t>(to_size(argv[4])));
    write_all(fd, data, argc == 6 ? to_size(argv[5]) : 65536);
    return 0;
  }
  if (mode == "allbytes" && argc == 4) {
    std::string data = e2e_logs::all_byte_values(to_size(argv[3]));
    write_all(static_cast<int>(to_size(argv[2])), data, data.size());
    return 0;
  }
  if (mode == "records" && argc >= 4) {
    std::vector<std::size_t> sizes;
    for (int i = 4; i < argc; ++i) sizes.push_back(to_size(argv[i]));
    return run_records(argv[2], static_cast<int>(to_size(argv[3])), sizes);
  }
  if (mode == "orphan" && argc == 4) {
    std::string data = e2e_logs::pattern_bytes(to_size(argv[2]), static_cast<std::uint32_t>(to_size(argv[3])));
    pid_t parent = ::getpid();
    pid_t child = ::fork();
    if (child < 0) die(std::string("fork: ") + std::strerror(errno));
    if (child > 0) _exit(0);  // the supervised process exits; its child keeps the pipe
    wait_for([&] { return ::getppid() != parent; }, "reparenting");
    write_all(1, data, 65536);
    return 0;
  }
  if (mode == "fill" && argc == 4) {
    std::string data = e2e_logs::pattern_bytes(to_size(argv[2]), 0);
    write_all(1, data, 65536);
    int fd = ::open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die(std::string("cannot create ") + argv[3] + ": " + std::strerror(errno));
    ::close(fd);
    return 0;
  }
  if (mode == "waitwrite" && argc == 3) {
    for (int k = 1;; ++k) {
      std::string trigger = std::string(argv[2]) + "." + std::to_string(k);
      // Waits as long as it takes: the test decides when the next line is due.
      while (::access(trigger.c_str(), F_OK) != 0) std::this_thread::sleep_for(kPoll);
      std::string line = "line-" + std::to_string(k) + "\n";
      write_all(1, line, line.size());
    }
  }
  die("bad arguments for mode '" + mode + "'");
}
