#include "logging/pipe_reader.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

using sup::logging::PipeReader;

namespace {

// Runs the loop until pred() holds or the deadline passes; returns pred().
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred,
               std::chrono::seconds deadline = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!pred() && std::chrono::steady_clock::now() < end) {
    if (io.stopped()) io.restart();
    io.run_one_for(std::chrono::milliseconds(100));
  }
  return pred();
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  std::uint32_t x = 12345;
  for (std::size_t i = 0; i < n; ++i) {
    x = x * 1103515245u + 12345u;
    s[i] = static_cast<char>(x >> 16);  // binary, including NULs and newlines
  }
  return s;
}

void write_all(int fd, const std::string& data, std::size_t chunk) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, std::min(chunk, data.size() - off));
    if (n <= 0) ::_exit(3);
    off += static_cast<std::size_t>(n);
  }
}

pid_t fork_writer(int pipe_fds[2], const std::function<void(int)>& body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    body(pipe_fds[1]);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("PipeReader delivers exactly N bytes from a forked writer, then EOF once") {
  const std::size_t n = 8 * 1024 * 1024 + 17;
  const std::string expected = pattern(n);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  pid_t pid = fork_writer(p, [&](int fd) { write_all(fd, expected, 100000); });
  boost::asio::io_context io;
  std::string got;
  int eofs = 0;
  PipeReader reader(io, p[0], [&](std::string_view d) { got.append(d); }, [&] { ++eofs; });
  CHECK(got.empty());  // nothing is delivered from inside the constructor
  REQUIRE(run_until(io, [&] { return eofs > 0; }));
  CHECK(wait_exit(pid) == 0);
  CHECK(got.size() == n);
  CHECK(got == expected);
  CHECK(reader.bytes_read() == n);
  CHECK_FALSE(reader.open());
  io.restart();
  io.poll();
  CHECK(eofs == 1);
}

TEST_CASE("output still in the pipe after the writer exited is delivered before EOF") {
  const std::string expected = pattern(500000);
  int p[2];
  REQUIRE(::pipe(p) == 0);
  // A 1 MiB pipe holds all of it: the writer exits before anything is read.
  REQUIRE(::fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
  pid_t pid = fork_writer(p, [&](int fd) { write_all(fd, expected, 7000); });
  CHECK(wait_exit(pid) == 0);  // reaped before anything was read
  boost::asio::io_context io;
  std::string got;
  bool eof = false;
  PipeReader reader(io, p[0], [&](std::string_view d) { got.append(d); }, [&] { eof = true; });
  REQUIRE(run_until(io, [&] { return eof; }));
  CHECK(got == expected);
}

TEST_CASE("a grandchild holding the pipe keeps the stream open until it is done") {
  int p[2];
  int control[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(::pipe(control) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    ::close(control[1]);
    if (::fork() == 0) {
      // Grandchild: waits for the go signal, then writes its part.
      char c;
      if (::read(control[0], &c, 1) != 1) ::_exit(4);
      write_all(p[1], "grandchild\n", 64);
      ::_exit(0);
    }
    write_all(p[1], "child\n", 64);
    ::_exit(0);  // the child exits; the grandchild still holds the write end
  }
  ::close(p[1]);
  ::close(control[0]);
  CHECK(wait_exit(pid) == 0);

  boost::asio::io_context io;
  std::string got;
  bool eof = false;
  PipeReader reader(io, p[0], [&](std::string_view d) { got.append(d); }, [&] { eof = true; });
  REQUIRE(run_until(io, [&] { return got == "child\n"; }));
  io.restart();
  io.poll();
  CHECK_FALSE(eof);
  REQUIRE(::write(control[1], "g", 1) == 1);
  ::close(control[1]);
  REQUIRE(run_until(io, [&] { return eof; }));
  CHECK(got == "child\ngrandchild\n");
}

TEST_CASE("close() stops callbacks; destroying the reader from its own callback is safe") {
  ::signal(SIGPIPE, SIG_IGN);  // as in the daemon
  int p[2];
  REQUIRE(::pipe(p) == 0);
  boost::asio::io_context io;
  int calls = 0;
  bool eof = false;
  PipeReader reader(io, p[0], [&](std::string_view) { ++calls; }, [&] { eof = true; });
  REQUIRE(::write(p[1], "first", 5) == 5);
  REQUIRE(run_until(io, [&] { return calls == 1; }));
  reader.close();
  CHECK_FALSE(reader.open());
  REQUIRE(::write(p[1], "x", 1) < 0);  // read end closed: EPIPE (SIGPIPE ignored below)
  ::close(p[1]);
  io.restart();
  io.poll();
  CHECK(calls == 1);
  CHECK_FALSE(eof);

  int q[2];
  REQUIRE(::pipe(q) == 0);
  std::unique_ptr<PipeReader> owned;
  std::string got;
  owned = std::make_unique<PipeReader>(
      io, q[0],
      [&](std::string_view d) {
        got.append(d);
        owned.reset();  // the reader dies inside its own callback
      },
      [&] { eof = true; });
  REQUIRE(::write(q[1], "only", 4) == 4);
  REQUIRE(run_until(io, [&] { return !owned; }));
  REQUIRE(::write(q[1], "more", 4) < 0);
  ::close(q[1]);
  io.restart();
  io.poll();
  CHECK(got == "only");
  CHECK_FALSE(eof);
}

TEST_CASE("PipeReader sets O_NONBLOCK and FD_CLOEXEC on the fd it owns") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  boost::asio::io_context io;
  PipeReader reader(io, sup::UniqueFd(p[0]), [](std::string_view) {}, [] {});
  CHECK((::fcntl(p[0], F_GETFL) & O_NONBLOCK) != 0);
  CHECK((::fcntl(p[0], F_GETFD) & FD_CLOEXEC) != 0);
  ::close(p[1]);
}
