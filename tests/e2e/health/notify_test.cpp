// ready=notify end to end: Python children speaking the sd_notify protocol
// over NOTIFY_SOCKET (an abstract unix datagram socket, "@...").
#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

namespace {

// <dir>/notifier.py MODE: the sd_notify client side, as the sdnotify
// library does it. MODE ready: READY=1 after 2 s, then STATUS= and
// WATCHDOG=1 every 0.5 s. never: only STATUS=. lapse: READY=1, then no
// keep-alives once <dir>/stop-watchdog exists.
std::string write_notifier(const TempDir& dir) {
  std::string path = dir.file("notifier.py");
  write_file(path, R"PY(
import os, socket, sys, time
here = os.path.dirname(os.path.abspath(__file__))
addr = os.environ["NOTIFY_SOCKET"]
if addr.startswith("@"):
    addr = "\0" + addr[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
def send(msg):
    s.sendto(msg.encode(), addr)
mode = sys.argv[1]
with open(os.path.join(here, mode + ".env"), "w") as f:
    f.write(os.environ["NOTIFY_SOCKET"] + "\n" + os.environ.get("WATCHDOG_USEC", "") + "\n")
send("STATUS=warming up")
if mode == "never":
    time.sleep(1000)
time.sleep(2 if mode == "ready" else 0)
send("READY=1\nSTATUS=serving requests")
while True:
    if not os.path.exists(os.path.join(here, "stop-watchdog")):
        send("WATCHDOG=1")
    time.sleep(0.5)
)PY");
  return path;
}

std::string subst(std::string text, const std::string& key, const std::string& value) {
  for (size_t pos; (pos = text.find(key)) != std::string::npos;) text.replace(pos, key.size(), value);
  return text;
}

}  // namespace

TEST_CASE("ready=notify: READY=1 makes the program RUNNING and STATUS= shows in its description") {
  TempDir dir;
  std::string notifier = write_notifier(dir);
  Daemon d(dir, subst(R"(
[program:ready]
command=/usr/bin/python3 @N@ ready
startsecs=20
ready=notify
watchdog_sec=3
)", "@N@", notifier));
  d.start();
  REQUIRE(d.wait_state("ready", "RUNNING"));
  LogLines lines(d.log());
  auto spawned = lines.find("spawned: 'ready'");
  auto success = lines.find("success: ready entered RUNNING state, process sent READY=1");
  REQUIRE(spawned);
  REQUIRE(success);
  CHECK(success->millis - spawned->millis >= 2000);  // not before READY=1
  CHECK(success->millis - spawned->millis < 20000);  // not at startsecs either
  xmlrpc::Value info = d.process_info("ready");
  CHECK(str_field(info, "status") == "serving requests");
  CHECK(str_field(info, "description").find(", serving requests") != std::string::npos);
  auto env = split_lines(read_file(dir.file("ready.env")));
  REQUIRE(env.size() == 2);
  CHECK(env[0].rfind("@supervisor-notify/", 0) == 0);
  CHECK(env[1] == "3000000");
}

TEST_CASE("ready=notify: a child that never sends READY=1 fails to start") {
  TempDir dir;
  std::string notifier = write_notifier(dir);
  Daemon d(dir, subst(R"(
[program:never]
command=/usr/bin/python3 @N@ never
startsecs=2
startretries=1
ready=notify
)", "@N@", notifier));
  d.start();
  REQUIRE(d.wait_state("never", "FATAL"));
  CHECK(d.log_count("spawned: 'never'") == 2);
  CHECK(str_field(d.process_info("never"), "spawnerr") == "no READY=1 notification within 2 seconds");
}

TEST_CASE("ready=notify: a child that misses its watchdog is restarted") {
  TempDir dir;
  std::string notifier = write_notifier(dir);
  Daemon d(dir, subst(R"(
[program:lapse]
command=/usr/bin/python3 @N@ lapse
startsecs=10
ready=notify
watchdog_sec=2
)", "@N@", notifier));
  d.start();
  REQUIRE(d.wait_state("lapse", "RUNNING"));
  pid_t old_pid = d.pid_of("lapse");
  write_file(dir.file("stop-watchdog"), "");
  REQUIRE(d.wait_log("lapse: watchdog timeout (no WATCHDOG=1 within 2 seconds); restarting"));
  REQUIRE(d.wait_new_pid("lapse", old_pid));
  CHECK(int_field(d.process_info("lapse"), "restarts") == 1);
}
