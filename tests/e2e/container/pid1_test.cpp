// supervisord as PID 1 of a PID namespace (`unshare --pid --fork
// --mount-proc`, what a container runtime does): orphans are adopted and
// reaped, a critical program ends the whole namespace with its status, and
// the log goes to /dev/stdout without rotation. Where unshare is not
// permitted, the same programs run under a daemon that is not PID 1 (the
// child subreaper path), and the test says so.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "e2e/harness.hpp"

using namespace e2e;

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

std::string unshare_path() {
  for (const char* p : {"/usr/bin/unshare", "/bin/unshare"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// unshare with a new PID and mount namespace, killing the namespace's init
// (and with it everything inside) if unshare itself is killed.
std::vector<std::string> unshare_prefix() {
  return {unshare_path(), "--pid", "--fork", "--mount-proc", "--kill-child"};
}

// True when this environment lets us create a PID namespace.
bool can_unshare() {
  if (unshare_path().empty()) return false;
  std::vector<std::string> argv = unshare_prefix();
  argv.push_back("/bin/true");
  return run_command(argv, {}, 30s).status == 0;
}

// The configuration of a container: the daemon log on /dev/stdout (no
// rotation there: logfile_maxbytes=0, as supervisord requires), silent so
// that -n does not echo each line a second time.
std::string container_config(const TempDir& dir, const std::string& body) {
  std::string text = make_config(dir.path(), body, "silent=true");
  return replace_all(text, "logfile=" + dir.path() + "/supervisord.log\n", "logfile=/dev/stdout\nlogfile_maxbytes=0\n");
}

// Runs supervisord -n on the configuration, as PID 1 of a new PID namespace
// when `as_pid1`; returns when it exits.
CommandResult run_daemon(const TempDir& dir, const std::string& config, bool as_pid1) {
  write_file(dir.file("supervisord.conf"), config);
  std::vector<std::string> argv;
  if (as_pid1) argv = unshare_prefix();
  for (const std::string& a : {supervisord_path(), std::string("-n"), std::string("-c"), dir.file("supervisord.conf")})
    argv.push_back(a);
  return run_command(argv, {}, 180s);
}

// spawner.sh double-forks gc.sh and exits; gc.sh blocks on a FIFO until
// checker.sh has seen it adopted by the daemon (its ppid is checker's
// parent: 1 in the namespace), then exits; checker.sh waits until it is
// reaped and no zombie is left (in the whole namespace with "all", among
// the daemon's children otherwise), writes what it saw to checker.out and
// exits 3. Any other checker status names the step that failed.
void write_orphan_scripts(const TempDir& dir) {
  ::mkfifo(dir.file("fifo").c_str(), 0600);
  write_file(dir.file("spawner.sh"),
             "#!/bin/sh\n"
             "/bin/sh -c '/bin/sh " + dir.file("gc.sh") + " & echo $! > " + dir.file("gc.pid.tmp") + "; mv " +
                 dir.file("gc.pid.tmp") + " " + dir.file("gc.pid") + "'\n"
             "exit 0\n",
             0755);
  write_file(dir.file("gc.sh"), "#!/bin/sh\nread line < " + dir.file("fifo") + "\nexit 0\n", 0755);
  write_file(dir.file("checker.sh"),
             "#!/bin/sh\n"
             "out=" + dir.file("checker.out") + "\n"
             "scope=$1\n"
             "i=0\n"
             "while :; do\n"
             "  gc=$(cat " + dir.file("gc.pid") + " 2>/dev/null)\n"
             "  ppid=\n"
             "  [ -n \"$gc\" ] && ppid=$(sed 's/^.*) . \\([0-9]*\\) .*$/\\1/' /proc/$gc/stat 2>/dev/null)\n"
             "  [ -n \"$ppid\" ] && [ \"$ppid\" = \"$PPID\" ] && break\n"
             "  i=$((i+1)); if [ $i -gt 2400 ]; then echo \"not adopted: gc=$gc ppid=$ppid\" > $out; exit 10; fi\n"
             "  sleep 0.05\n"
             "done\n"
             "echo go > " + dir.file("fifo") + "\n"
             "i=0\n"
             "while :; do\n"
             "  if [ \"$scope\" = all ]; then\n"
             "    zombies=$(grep -l ') Z ' /proc/[0-9]*/stat 2>/dev/null)\n"
             "  else\n"
             "    zombies=$(grep -l \") Z $PPID \" /proc/[0-9]*/stat 2>/dev/null)\n"
             "  fi\n"
             "  [ ! -e /proc/$gc ] && [ -z \"$zombies\" ] && break\n"
             "  i=$((i+1)); if [ $i -gt 2400 ]; then echo \"not reaped: gc=$gc zombies=$zombies\" > $out; exit 11; fi\n"
             "  sleep 0.05\n"
             "done\n"
             "echo \"gc=$gc adopted_by=$PPID pid1=$(tr '\\0' ' ' < /proc/1/cmdline)\" > $out\n"
             "exit 3\n",
             0755);
}

std::string orphan_programs(const std::string& scope) {
  return R"(
[program:spawner]
command=/bin/sh @DIR@/spawner.sh
startsecs=0
autorestart=false

[program:other]
command=/bin/sleep 1000

[program:checker]
command=/bin/sh @DIR@/checker.sh )" + scope + R"(
startsecs=0
critical=true
priority=1000
)";
}

}  // namespace

TEST_CASE("as PID 1: orphans are reaped and a critical program's exit status ends the namespace") {
  TempDir dir;
  write_orphan_scripts(dir);
  const bool as_pid1 = can_unshare();
  if (!as_pid1)
    MESSAGE("unshare --pid is not permitted here: checking the child subreaper path (daemon not PID 1) instead");
  CommandResult r = run_daemon(dir, container_config(dir, orphan_programs(as_pid1 ? "all" : "children")), as_pid1);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err << "\nchecker: " << read_file(dir.file("checker.out")));
  REQUIRE_FALSE(r.timed_out);
  // The checker saw the orphan adopted and reaped and exited 3: the
  // daemon (and with it unshare) exits 3.
  CHECK(r.status == 3);
  std::string seen = read_file(dir.file("checker.out"));
  REQUIRE(seen.rfind("gc=", 0) == 0);
  if (as_pid1) {
    CHECK(seen.find("adopted_by=1 ") != std::string::npos);
    CHECK(seen.find("supervisord") != std::string::npos);  // PID 1 is our daemon
    CHECK(r.out.find("running as PID 1") != std::string::npos);
  }
  // The orphan's exit was collected by the daemon's reaper.
  std::string gc = e2e::split_lines(read_file(dir.file("gc.pid"))).at(0);
  LogLines log(r.out);
  CHECK(log.find("reaped unknown pid " + gc + " (exit status 0)"));
  // Critical exit: logged once with the reason, then the others are stopped
  // in the usual way before the daemon exits with the program's status.
  auto crit = log.find("CRIT critical program checker exited (exit status 3); shutting down");
  REQUIRE(crit);
  CHECK(log.find_all("CRIT critical program checker").size() == 1);
  auto stopped = log.find("stopped: other (terminated by SIGTERM)", crit->index);
  CHECK(stopped);
  auto exiting = log.find("supervisord exiting (status 3)", crit->index);
  CHECK(exiting);
  if (stopped && exiting) CHECK(stopped->index < exiting->index);
  CHECK(log.find_all("spawned: 'checker'").size() == 1);
  // /dev/stdout is never rotated: no rotation errors on stdout or stderr.
  CHECK(r.out.find("rotate") == std::string::npos);
  CHECK(r.err.find("rotate") == std::string::npos);
}

TEST_CASE("as PID 1: a critical program that goes FATAL ends the namespace with status 1") {
  TempDir dir;
  const bool as_pid1 = can_unshare();
  if (!as_pid1) MESSAGE("unshare --pid is not permitted here: running the daemon without a PID namespace");
  CommandResult r = run_daemon(dir, container_config(dir, R"(
[program:other]
command=/bin/sleep 1000

[program:init]
command=/bin/sh -c 'exit 0'
startsecs=1
startretries=0
critical=true
)"),
                               as_pid1);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.status == 1);
  LogLines log(r.out);
  auto crit = log.find(
      "CRIT critical program init entered FATAL state: Exited too quickly (process log may have details); "
      "shutting down (supervisord will exit with status 1)");
  REQUIRE(crit);
  CHECK(log.find("stopped: other (terminated by SIGTERM)", crit->index));
  CHECK(log.find("supervisord exiting (status 1)", crit->index));
  // startretries=0: one attempt only.
  CHECK(log.find_all("spawned: 'init'").size() == 1);
}

TEST_CASE("as PID 1: SIGTERM, SIGINT and SIGQUIT from inside the namespace shut the daemon down cleanly") {
  // The kernel drops signals to a namespace's init that it has no handler
  // for: the daemon must handle these itself, or it would never exit.
  if (!can_unshare()) {
    MESSAGE("unshare --pid is not permitted here: PID 1 signal handling not checked");
    return;
  }
  for (const char* sig : {"TERM", "INT", "QUIT"}) {
    CAPTURE(sig);
    TempDir dir;
    // killer.sh signals PID 1 once `other` runs sleep (so that its stop is
    // the shutdown's doing); it gives up after a generous wait.
    write_file(dir.file("killer.sh"),
               "#!/bin/sh\n"
               "i=0\n"
               "until grep -q '^[0-9]* (sleep) . 1 ' /proc/[0-9]*/stat 2>/dev/null; do\n"
               "  i=$((i+1)); [ $i -gt 2400 ] && exit 9\n"
               "  sleep 0.05\n"
               "done\n"
               "kill -" + std::string(sig) + " 1\n"
               "exec /bin/sleep 1000\n",
               0755);
    CommandResult r = run_daemon(dir, container_config(dir, R"(
[program:other]
command=/bin/sleep 1000

[program:killer]
command=/bin/sh @DIR@/killer.sh
)"),
                                 true);
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.status == 0);
    LogLines log(r.out);
    auto got = log.find(std::string("WARN received SIG") + sig + " indicating exit request");
    REQUIRE(got);
    CHECK(log.find("stopped: other (terminated by SIGTERM)", got->index));
    CHECK(log.find("supervisord exiting (status 0)", got->index));
  }
}
