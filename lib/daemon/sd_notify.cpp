#include "daemon/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "logging/daemon_log.hpp"

namespace sup {

struct SystemdNotifier::Watchdog {
  explicit Watchdog(boost::asio::io_context& io) : timer(io) {}
  boost::asio::steady_timer timer;
  std::chrono::microseconds interval{0};
};

namespace {

// A decimal number made only of digits; -1 otherwise (as sd_watchdog_enabled
// treats garbage: as no watchdog).
long long parse_decimal(const char* s) {
  if (s == nullptr || *s == '\0') return -1;
  long long v = 0;
  for (const char* p = s; *p; ++p) {
    if (*p < '0' || *p > '9') return -1;
    if (v > (1LL << 60) / 10) return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

std::string take_env(const char* name) {
  const char* v = std::getenv(name);
  std::string value = v != nullptr ? v : "";
  ::unsetenv(name);
  return value;
}

long long monotonic_usec() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
}

}  // namespace

std::unique_ptr<SystemdNotifier> SystemdNotifier::take_from_environment() {
  std::string address = take_env("NOTIFY_SOCKET");
  std::string usec = take_env("WATCHDOG_USEC");
  std::string pid = take_env("WATCHDOG_PID");
  if (address.empty()) return nullptr;
  long long watchdog_usec = parse_decimal(usec.c_str());
  long long watchdog_pid = parse_decimal(pid.c_str());
  return std::unique_ptr<SystemdNotifier>(new SystemdNotifier(
      std::move(address), watchdog_usec > 0 ? watchdog_usec : 0,
      watchdog_pid > 0 ? static_cast<pid_t>(watchdog_pid) : pid.empty() ? 0 : -1));
}

SystemdNotifier::SystemdNotifier(std::string address, long long watchdog_usec, pid_t watchdog_pid)
    : address_(std::move(address)), watchdog_usec_(watchdog_usec), watchdog_pid_(watchdog_pid) {
  // One socket for the daemon's life; it survives daemonizing (the fork
  // keeps it) and is never inherited by children (CLOEXEC).
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

SystemdNotifier::~SystemdNotifier() {
  stop_watchdog();
  if (fd_ >= 0) ::close(fd_);
}

bool SystemdNotifier::send(std::string_view message) {
  auto fail = [&](const std::string& why) {
    if (!warned_) log::warn("sd_notify: cannot notify systemd via NOTIFY_SOCKET={}: {}", address_, why);
    warned_ = true;
    return false;
  };
  if (fd_ < 0) return fail("socket: " + std::string(std::strerror(errno)));
  struct sockaddr_un sa {};
  sa.sun_family = AF_UNIX;
  socklen_t len = 0;
  if (address_[0] == '@' || address_[0] == '/') {
    // "@name": the abstract namespace (a leading NUL, no terminator).
    if (address_.size() > sizeof sa.sun_path) return fail("address too long");
    std::memcpy(sa.sun_path, address_.data(), address_.size());
    if (address_[0] == '@') sa.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + address_.size());
  } else {
    return fail("unsupported address (expected an absolute path or @name)");
  }
  ssize_t n;
  do {
    n = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<struct sockaddr*>(&sa), len);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(std::strerror(errno));
  // Keep-alives are not logged: one every few seconds would drown the log.
  if (message != "WATCHDOG=1") log::debug("sd_notify: sent {}", std::string(message.substr(0, message.find('\n'))));
  return true;
}

void SystemdNotifier::ready(std::string_view status) {
  send("READY=1\nMAINPID=" + std::to_string(::getpid()) + "\nSTATUS=" + std::string(status));
}

void SystemdNotifier::reloading(std::string_view status) {
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\nSTATUS=" + std::string(status));
}

void SystemdNotifier::stopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + std::string(status)); }

std::chrono::microseconds SystemdNotifier::watchdog_interval() const {
  if (watchdog_usec_ <= 0) return std::chrono::microseconds(0);
  // WATCHDOG_PID names the process the watchdog is meant for; another
  // process (e.g. the parent before daemonizing) keeps quiet.
  if (watchdog_pid_ != 0 && watchdog_pid_ != ::getpid()) return std::chrono::microseconds(0);
  return std::chrono::microseconds(watchdog_usec_ / 2 > 0 ? watchdog_usec_ / 2 : 1);
}

void SystemdNotifier::start_watchdog(boost::asio::io_context& io) {
  if (watchdog_) return;
  std::chrono::microseconds interval = watchdog_interval();
  if (interval.count() == 0) {
    if (watchdog_usec_ > 0)
      log::info("sd_notify: WATCHDOG_PID={} is not this process ({}); no watchdog keep-alives", watchdog_pid_,
                ::getpid());
    return;
  }
  watchdog_ = std::make_unique<Watchdog>(io);
  watchdog_->interval = interval;
  log::info("sd_notify: systemd watchdog of {} ms; sending WATCHDOG=1 every {} ms", watchdog_usec_ / 1000,
            interval.count() / 1000);
  send("WATCHDOG=1");
  // The handler re-arms itself; stop_watchdog() cancels and drops it.
  struct Tick {
    SystemdNotifier* self;
    void operator()(const boost::system::error_code& ec) const {
      if (ec || !self->watchdog_) return;
      self->send("WATCHDOG=1");
      self->watchdog_->timer.expires_after(self->watchdog_->interval);
      self->watchdog_->timer.async_wait(*this);
    }
  };
  watchdog_->timer.expires_after(interval);
  watchdog_->timer.async_wait(Tick{this});
}

void SystemdNotifier::stop_watchdog() {
  if (!watchdog_) return;
  // A handler already queued sees ec == operation_aborted, or (had the
  // timer just fired) a null watchdog_: either way it does nothing.
  watchdog_->timer.cancel();
  watchdog_.reset();
}

}  // namespace sup
