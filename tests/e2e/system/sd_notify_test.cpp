// supervisord as a systemd Type=notify service (issue 8): the test plays
// systemd's part. It binds its own AF_UNIX datagram socket, starts the real
// supervisord with NOTIFY_SOCKET (and WATCHDOG_USEC) pointing at it and
// checks what arrives, and when.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "e2e/harness.hpp"

using namespace e2e;

namespace {

// systemd's end of NOTIFY_SOCKET: a datagram socket bound to a path, or to
// an abstract name when the address starts with '@'.
class NotifyReceiver {
 public:
  explicit NotifyReceiver(std::string address) : address_(std::move(address)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE_MESSAGE(fd_ >= 0, "socket: " << std::strerror(errno));
    struct sockaddr_un sa {};
    sa.sun_family = AF_UNIX;
    REQUIRE(address_.size() < sizeof sa.sun_path);
    std::memcpy(sa.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') sa.sun_path[0] = '\0';
    auto len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + address_.size());
    REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<struct sockaddr*>(&sa), len) == 0,
                    "bind " << address_ << ": " << std::strerror(errno));
  }
  ~NotifyReceiver() { ::close(fd_); }
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  const std::string& address() const { return address_; }

  // The next datagram, or nullopt when none arrives within the deadline.
  // Every datagram received is also kept in all().
  std::optional<std::string> next(Millis deadline = kDeadline) {
    struct pollfd p {fd_, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(deadline.count()));
    if (n <= 0) return std::nullopt;
    char buf[4096];
    ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
    if (got < 0) return std::nullopt;
    all_.emplace_back(buf, static_cast<size_t>(got));
    return all_.back();
  }
  // The next datagram that is not a WATCHDOG=1 keep-alive.
  std::optional<std::string> next_event(Millis deadline = kDeadline) {
    for (;;) {
      auto m = next(deadline);
      if (!m || *m != "WATCHDOG=1") return m;
    }
  }
  // Reads whatever has already arrived, without waiting.
  void drain() {
    while (next(Millis(0))) {
    }
  }
  const std::vector<std::string>& all() const { return all_; }
  size_t count(const std::string& message) const {
    size_t n = 0;
    for (const auto& m : all_) n += m == message;
    return n;
  }

 private:
  std::string address_;
  int fd_ = -1;
  std::vector<std::string> all_;
};

// Sets environment variables for the daemons started in its lifetime (the
// harness launches supervisord with the test's environment); restores them.
class EnvOverride {
 public:
  void set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~EnvOverride() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        ::unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// "KEY=value" lines of a datagram; the value of key, or nullopt.
std::optional<std::string> field(const std::string& message, const std::string& key) {
  for (const auto& line : split_lines(message))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return std::nullopt;
}

bool has_line(const std::string& message, const std::string& line) {
  for (const auto& l : split_lines(message))
    if (l == line) return true;
  return false;
}

// Every process of getAllProcessInfo has been spawned (a pid, STARTING or RUNNING).
std::string unlaunched(const Daemon& d) {
  RpcResult all = d.call("supervisor.getAllProcessInfo");
  if (!all.ok()) return "getAllProcessInfo: " + all.describe();
  std::string missing;
  for (const auto& info : all.value().as_array()) {
    std::string state = str_field(info, "statename");
    if (int_field(info, "pid") <= 0 || (state != "STARTING" && state != "RUNNING"))
      missing += str_field(info, "name") + "=" + state + " ";
  }
  return missing;
}

// The NAME=... entries of an `env` dump.
std::vector<std::string> env_entries(const std::string& dump, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(dump))
    if (line.rfind(name + "=", 0) == 0) out.push_back(line);
  return out;
}

// Twenty autostart programs: the start-up batch takes several event-loop
// turns, so a READY=1 sent before it ends would be seen with some still
// unspawned. One more dumps its environment; one with ready=notify too.
const char kPrograms[] = R"(
[program:many]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=20
[program:envdump]
command=/bin/sh -c 'env > @DIR@/plain.env.tmp && mv @DIR@/plain.env.tmp @DIR@/plain.env; exec sleep 1000'
[program:notified]
command=/bin/sh -c 'env > @DIR@/notify.env.tmp && mv @DIR@/notify.env.tmp @DIR@/notify.env; exec sleep 1000'
ready=notify
)";

}  // namespace

TEST_CASE("READY=1 comes once the control socket answers and every autostart program is launched") {
  TempDir dir("sdn");
  NotifyReceiver systemd(dir.file("notify"));
  EnvOverride env;
  env.set("NOTIFY_SOCKET", systemd.address());
  ::unsetenv("WATCHDOG_USEC");
  Daemon d(dir, kPrograms);
  d.start({"-n"}, /*wait_ready=*/false);

  auto ready = systemd.next();
  REQUIRE_MESSAGE(ready, "no datagram from supervisord; log:\n" << d.log());
  CHECK_MESSAGE(has_line(*ready, "READY=1"), *ready);
  // Asked right after READY=1: had it been sent early, some of the 22
  // programs would not have a pid yet.
  CHECK_MESSAGE(unlaunched(d).empty(), "not launched at READY=1: " << unlaunched(d));
  CHECK(field(*ready, "MAINPID") == std::to_string(d.pid()));
  auto status = field(*ready, "STATUS");
  REQUIRE(status);
  CHECK(status->find("22 processes") != std::string::npos);

  // Children don't inherit the daemon's NOTIFY_SOCKET; a ready=notify child
  // gets its own.
  REQUIRE(wait_until([&] { return file_exists(dir.file("plain.env")) && file_exists(dir.file("notify.env")); }));
  std::string plain = read_file(dir.file("plain.env"));
  CHECK(plain.find("SUPERVISOR_PROCESS_NAME=envdump") != std::string::npos);
  CHECK(env_entries(plain, "NOTIFY_SOCKET").empty());
  CHECK(env_entries(plain, "WATCHDOG_USEC").empty());
  CHECK(env_entries(plain, "WATCHDOG_PID").empty());
  auto own = env_entries(read_file(dir.file("notify.env")), "NOTIFY_SOCKET");
  REQUIRE(own.size() == 1);
  CHECK(own[0] != "NOTIFY_SOCKET=" + systemd.address());
  CHECK(own[0].rfind("NOTIFY_SOCKET=@supervisor-notify/", 0) == 0);
}

TEST_CASE("SIGHUP: RELOADING=1, then READY=1 for the new generation; SIGTERM: STOPPING=1; no watchdog unasked") {
  TempDir dir("sdn");
  NotifyReceiver systemd(dir.file("notify"));
  EnvOverride env;
  env.set("NOTIFY_SOCKET", systemd.address());
  ::unsetenv("WATCHDOG_USEC");
  Daemon d(dir, R"(
[program:web]
command=/bin/sleep 1000
)");
  d.start({"-n"}, false);
  auto ready = systemd.next();
  REQUIRE(ready);
  REQUIRE_MESSAGE(has_line(*ready, "READY=1"), *ready);
  pid_t first = d.pid_of("web");
  REQUIRE(first > 0);
  // Over a second of daemon life (startsecs=1) without WATCHDOG_USEC: no keep-alives.
  REQUIRE(d.wait_state("web", "RUNNING"));

  d.signal(SIGHUP);
  auto reloading = systemd.next();
  REQUIRE_MESSAGE(reloading, "nothing after SIGHUP; log:\n" << d.log());
  CHECK_MESSAGE(has_line(*reloading, "RELOADING=1"), *reloading);
  auto usec = field(*reloading, "MONOTONIC_USEC");
  REQUIRE(usec);
  CHECK(std::strtoll(usec->c_str(), nullptr, 10) > 0);
  auto again = systemd.next();
  REQUIRE_MESSAGE(again, "no READY=1 after the reload; log:\n" << d.log());
  CHECK_MESSAGE(has_line(*again, "READY=1"), *again);
  // The new generation has launched web again.
  pid_t second = d.pid_of("web");
  CHECK(second > 0);
  CHECK(second != first);
  CHECK(field(*again, "MAINPID") == std::to_string(d.pid()));

  d.signal(SIGTERM);
  auto stopping = systemd.next();
  REQUIRE(stopping);
  CHECK_MESSAGE(has_line(*stopping, "STOPPING=1"), *stopping);
  CHECK(d.wait_exit() == 0);
  systemd.drain();
  CHECK(systemd.count("WATCHDOG=1") == 0);
  CHECK(systemd.all().size() == 4);  // READY, RELOADING, READY, STOPPING
}

TEST_CASE("WATCHDOG_USEC: WATCHDOG=1 keep-alives, unless WATCHDOG_PID names another process") {
  SUBCASE("for this process") {
    TempDir dir("sdn");
    NotifyReceiver systemd(dir.file("notify"));
    EnvOverride env;
    env.set("NOTIFY_SOCKET", systemd.address());
    env.set("WATCHDOG_USEC", "400000");
    Daemon d(dir, R"(
[program:envdump]
command=/bin/sh -c 'env > @DIR@/plain.env.tmp && mv @DIR@/plain.env.tmp @DIR@/plain.env; exec sleep 1000'
)");
    d.start({"-n"}, false);
    // Keep-alives keep coming (every 200 ms) while the daemon is idle.
    REQUIRE(wait_until([&] {
      while (systemd.next(Millis(50))) {
      }
      return systemd.count("WATCHDOG=1") >= 4;
    }));
    CHECK(systemd.count("READY=1\nMAINPID=" + std::to_string(d.pid()) + "\nSTATUS=Supervising 1 processes in 1 groups") ==
          1);
    CHECK(d.log_count("sd_notify: systemd watchdog of 400 ms") == 1);
    // The children do not see the daemon's watchdog settings.
    REQUIRE(wait_until([&] { return file_exists(dir.file("plain.env")); }));
    std::string plain = read_file(dir.file("plain.env"));
    CHECK(plain.find("SUPERVISOR_PROCESS_NAME=envdump") != std::string::npos);
    CHECK(env_entries(plain, "WATCHDOG_USEC").empty());
    CHECK(env_entries(plain, "NOTIFY_SOCKET").empty());
    d.signal(SIGTERM);
    CHECK(d.wait_exit() == 0);
  }
  SUBCASE("WATCHDOG_PID naming this process") {
    TempDir dir("sdn");
    NotifyReceiver systemd(dir.file("notify"));
    // systemd sets WATCHDOG_PID to the main pid: a shell that execs the
    // daemon knows it ($$ survives exec).
    std::string wrapper = dir.file("wrapper.sh");
    write_file(wrapper, "#!/bin/sh\nWATCHDOG_PID=$$ exec " + supervisord_path() + " \"$@\"\n", 0755);
    EnvOverride env;
    env.set("NOTIFY_SOCKET", systemd.address());
    env.set("WATCHDOG_USEC", "400000");
    env.set("SUPERVISORD", wrapper);
    Daemon d(dir, "[program:web]\ncommand=/bin/sleep 1000\n");
    d.start({"-n"}, false);
    REQUIRE(wait_until([&] {
      while (systemd.next(Millis(50))) {
      }
      return systemd.count("WATCHDOG=1") >= 2;
    }));
    CHECK(d.log_count("no watchdog keep-alives") == 0);
  }
  SUBCASE("WATCHDOG_PID of another process") {
    TempDir dir("sdn");
    NotifyReceiver systemd(dir.file("notify"));
    EnvOverride env;
    env.set("NOTIFY_SOCKET", systemd.address());
    env.set("WATCHDOG_USEC", "100000");
    env.set("WATCHDOG_PID", "1");
    Daemon d(dir, "[program:web]\ncommand=/bin/sleep 1000\n");
    d.start({"-n"}, false);
    auto ready = systemd.next_event();
    REQUIRE(ready);
    CHECK(has_line(*ready, "READY=1"));
    // startsecs=1: at least 20 would-be keep-alive intervals pass.
    REQUIRE(d.wait_state("web", "RUNNING"));
    CHECK(d.log_count("no watchdog keep-alives") == 1);
    systemd.drain();
    CHECK(systemd.count("WATCHDOG=1") == 0);
  }
}

TEST_CASE("NOTIFY_SOCKET in the abstract namespace (@name)") {
  TempDir dir("sdn");
  NotifyReceiver systemd("@supervisor-cpp-test/" + std::to_string(::getpid()) + "/" + dir.path().substr(dir.path().rfind('/') + 1));
  EnvOverride env;
  env.set("NOTIFY_SOCKET", systemd.address());
  ::unsetenv("WATCHDOG_USEC");
  Daemon d(dir, "[program:web]\ncommand=/bin/sleep 1000\n");
  d.start({"-n"}, false);
  auto ready = systemd.next();
  REQUIRE_MESSAGE(ready, "nothing on " << systemd.address() << "; log:\n" << d.log());
  CHECK(has_line(*ready, "READY=1"));
  d.signal(SIGTERM);
  auto stopping = systemd.next();
  REQUIRE(stopping);
  CHECK(has_line(*stopping, "STOPPING=1"));
}

TEST_CASE("daemonized: READY=1 names the detached daemon's pid as MAINPID") {
  TempDir dir("sdn");
  NotifyReceiver systemd(dir.file("notify"));
  EnvOverride env;
  env.set("NOTIFY_SOCKET", systemd.address());
  ::unsetenv("WATCHDOG_USEC");
  Daemon d(dir, "[program:web]\ncommand=/bin/sleep 1000\n");
  d.start({}, false);  // no -n: forks, the parent exits
  auto ready = systemd.next();
  REQUIRE_MESSAGE(ready, "nothing from the daemon; log:\n" << d.log());
  pid_t daemon_pid = read_pid_file(d.pidfile_path());
  REQUIRE(daemon_pid > 0);
  d.adopt_pid(daemon_pid);
  CHECK(has_line(*ready, "READY=1"));
  CHECK(daemon_pid != d.launched_pid());
  CHECK(field(*ready, "MAINPID") == std::to_string(daemon_pid));
}
