// The daemon's own sd_notify client (issue 8): when systemd starts
// supervisord as a Type=notify service it passes NOTIFY_SOCKET (a path, or
// "@name" for the abstract namespace) and, with WatchdogSec=, WATCHDOG_USEC
// and WATCHDOG_PID. The daemon reports READY=1 / RELOADING=1 / STOPPING=1
// there and, when asked, sends WATCHDOG=1 every half interval.
//
// Not to be confused with lib/health/notify.hpp, the receiving side that
// children with ready=notify talk to. Asio stays in sd_notify.cpp.
// Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace sup {

class SystemdNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes all three
  // from the process environment, so that no child inherits them (a child
  // would otherwise talk to systemd in the daemon's name). Returns nullptr
  // when NOTIFY_SOCKET is unset or empty. Call before anything copies the
  // environment.
  static std::unique_ptr<SystemdNotifier> take_from_environment();

  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // NOTIFY_SOCKET as given.
  const std::string& address() const { return address_; }

  // READY=1 with MAINPID=<getpid()> (after daemonizing, the final daemon's
  // pid) and STATUS=<status>.
  void ready(std::string_view status);
  // RELOADING=1 with MONOTONIC_USEC=<now> (systemd >= 253 requires the
  // timestamp) and STATUS=<status>.
  void reloading(std::string_view status);
  // STOPPING=1 and STATUS=<status>.
  void stopping(std::string_view status);

  // The keep-alive interval systemd asked for (WATCHDOG_USEC / 2), or zero
  // when no watchdog applies to this process (unset, invalid, or
  // WATCHDOG_PID names another pid; checked against getpid() at call time).
  std::chrono::microseconds watchdog_interval() const;
  // Starts the WATCHDOG=1 timer on io when watchdog_interval() is non-zero;
  // the timer does not exist otherwise (no idle wake-ups). Call after
  // daemonizing. Idempotent.
  void start_watchdog(boost::asio::io_context& io);
  // Cancels the timer (at exit, so that io.run() can return).
  void stop_watchdog();

  // Sends one datagram; false (and a logged warning, once) on failure.
  bool send(std::string_view message);

 private:
  struct Watchdog;
  SystemdNotifier(std::string address, long long watchdog_usec, pid_t watchdog_pid);

  std::string address_;
  long long watchdog_usec_ = 0;  // 0: none requested
  pid_t watchdog_pid_ = 0;       // 0: WATCHDOG_PID unset; -1: not a pid (no watchdog)
  int fd_ = -1;
  bool warned_ = false;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace sup
