// Control requests a user makes every day: start/stop semantics, numprocs,
// stdin, working directory, shutdown by RPC and by other signals, log reopen.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("startProcess waits for startsecs; starting a RUNNING program is ALREADY_STARTED") {
  TempDir dir;
  Daemon d(dir, R"(
[program:slow]
command=/bin/sleep 1000
startsecs=2
autostart=false
)");
  d.start();
  const auto asked = std::chrono::steady_clock::now();
  RpcResult r = d.call("supervisor.startProcess", {"slow"});
  const auto took = std::chrono::steady_clock::now() - asked;
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(r.value() == xmlrpc::Value(true));
  // The answer comes once the process has been up for startsecs.
  CHECK(took >= 1900ms);
  CHECK(d.state_of("slow") == "RUNNING");

  RpcResult again = d.call("supervisor.startProcess", {"slow"});
  REQUIRE(again.is_fault());
  CHECK(again.fault_code() == 60);
  CHECK(again.fault_string() == "ALREADY_STARTED: slow");

  RpcResult unknown = d.call("supervisor.startProcess", {"nosuch"});
  REQUIRE(unknown.is_fault());
  CHECK(unknown.fault_code() == 10);
  CHECK(unknown.fault_string() == "BAD_NAME: nosuch");

  // wait=false answers at once, with the process still STARTING.
  const pid_t pid = d.pid_of("slow");
  REQUIRE(wait_exec(pid, "/bin/sleep"));
  REQUIRE(d.call("supervisor.stopProcess", {"slow"}).ok());
  RpcResult nowait = d.call("supervisor.startProcess", {"slow", false});
  REQUIRE_MESSAGE(nowait.ok(), nowait.describe());
  CHECK(d.state_of("slow") == "STARTING");
  CHECK(d.wait_state("slow", "RUNNING"));
}

TEST_CASE("numprocs runs several numbered copies of a program") {
  TempDir dir;
  Daemon d(dir, R"(
[program:worker]
command=/bin/sh -c 'echo $SUPERVISOR_PROCESS_NAME > @DIR@/%(process_num)d.name; exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs=3
numprocs_start=1
startsecs=0
)");
  d.start();
  for (const char* spec : {"worker:worker_01", "worker:worker_02", "worker:worker_03"})
    CHECK_MESSAGE(d.wait_state(spec, "RUNNING"), spec);
  RpcResult all = d.call("supervisor.getAllProcessInfo");
  REQUIRE_MESSAGE(all.ok(), all.describe());
  CHECK(all.value().as_array().size() == 3);
  CHECK(wait_until([&] { return read_file(dir.file("3.name")) == "worker_03\n"; }));
  CHECK(read_file(dir.file("1.name")) == "worker_01\n");
  CHECK_FALSE(file_exists(dir.file("0.name")));
  // Each copy is its own process.
  CHECK(d.pid_of("worker:worker_01") != d.pid_of("worker:worker_02"));
}

TEST_CASE("sendProcessStdin reaches the child's stdin") {
  TempDir dir;
  Daemon d(dir, R"(
[program:echoer]
command=/bin/cat
startsecs=0
stdout_logfile=@DIR@/echoer.out
)");
  d.start();
  REQUIRE(d.wait_state("echoer", "RUNNING"));
  RpcResult r = d.call("supervisor.sendProcessStdin", {"echoer", "hello\nworld\n"});
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(wait_until([&] { return read_file(dir.file("echoer.out")) == "hello\nworld\n"; }));
  REQUIRE(d.call("supervisor.stopProcess", {"echoer"}).ok());
  RpcResult stopped = d.call("supervisor.sendProcessStdin", {"echoer", "late\n"});
  REQUIRE(stopped.is_fault());
  CHECK(stopped.fault_code() == 70);  // NOT_RUNNING
}

TEST_CASE("directory= and umask= set the child's working directory and umask") {
  TempDir dir;
  ::mkdir(dir.file("work").c_str(), 0755);
  Daemon d(dir, R"(
[program:placed]
command=/bin/sh -c 'pwd; umask; touch made; exec sleep 1000'
directory=@DIR@/work
umask=027
startsecs=0
stdout_logfile=@DIR@/placed.out
)");
  d.start();
  REQUIRE(wait_until([&] { return file_exists(dir.file("work/made")); }));
  CHECK(wait_until([&] { return read_file(dir.file("placed.out")) == dir.file("work") + "\n0027\n"; }));
  struct stat st {};
  REQUIRE(::stat(dir.file("work/made").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("supervisor.shutdown stops the children and ends the daemon with status 0") {
  TempDir dir;
  Daemon d(dir, R"(
[program:stubborn]
command=/bin/sh -c 'trap "" TERM; echo $$ > @DIR@/stubborn.pid; while :; do sleep 0.2; done'
startsecs=0
stopwaitsecs=1
)");
  d.start();
  pid_t pid = 0;
  REQUIRE(wait_until([&] { return (pid = read_pid_file(dir.file("stubborn.pid"))) > 0; }));
  RpcResult r = d.call("supervisor.shutdown");
  REQUIRE_MESSAGE(r.ok(), r.describe());
  CHECK(r.value() == xmlrpc::Value(true));
  auto status = d.wait_exit();
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK_FALSE(pid_alive(pid));
  // The child ignored SIGTERM: it was killed after stopwaitsecs.
  CHECK(d.log_count("killing 'stubborn' (" + std::to_string(pid) + ") with SIGKILL") == 1);
  CHECK_FALSE(file_exists(d.socket_path()));
  CHECK_FALSE(file_exists(d.pidfile_path()));
}

TEST_CASE("SIGINT and SIGQUIT shut the daemon down like SIGTERM") {
  for (int sig : {SIGINT, SIGQUIT}) {
    CAPTURE(sig);
    TempDir dir;
    Daemon d(dir, R"(
[program:child]
command=/bin/sleep 1000
startsecs=0
)");
    d.start();
    REQUIRE(d.wait_state("child", "RUNNING"));
    const pid_t pid = d.pid_of("child");
    REQUIRE(wait_exec(pid, "/bin/sleep"));
    d.signal(sig);
    auto status = d.wait_exit();
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    CHECK_FALSE(pid_alive(pid));
    CHECK(d.log_count(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGQUIT") +
                      " indicating exit request") == 1);
  }
}

TEST_CASE("SIGHUP with a broken configuration stops the children and exits with status 2") {
  TempDir dir;
  const std::string body = R"(
[program:child]
command=/bin/sleep 1000
startsecs=0
)";
  Daemon d(dir, body);
  d.start();
  REQUIRE(d.wait_state("child", "RUNNING"));
  const pid_t pid = d.pid_of("child");
  REQUIRE(wait_exec(pid, "/bin/sleep"));
  d.rewrite_config(body + "startretries=many\n");
  d.signal(SIGHUP);
  auto status = d.wait_exit();
  REQUIRE_MESSAGE(status.has_value(), "supervisord kept running after reloading a broken configuration");
  CHECK(*status == 2);
  CHECK_FALSE(pid_alive(pid));
  CHECK_MESSAGE(d.captured_stderr().find("'many'") != std::string::npos, d.captured_stderr());
}

TEST_CASE("SIGUSR2 reopens the main log and the child logs") {
  TempDir dir;
  Daemon d(dir, R"(
[program:talker]
command=/bin/sh -c 'while :; do echo tick; sleep 0.1; done'
startsecs=0
stdout_logfile=@DIR@/talker.out
)");
  d.start();
  REQUIRE(d.wait_state("talker", "RUNNING"));
  REQUIRE(wait_until([&] { return !read_file(dir.file("talker.out")).empty(); }));
  // What logrotate does: move the files away, then ask for a reopen.
  REQUIRE(std::rename(d.log_path().c_str(), dir.file("old.log").c_str()) == 0);
  REQUIRE(std::rename(dir.file("talker.out").c_str(), dir.file("talker.out.old").c_str()) == 0);
  d.signal(SIGUSR2);
  CHECK(wait_until([&] { return read_file(dir.file("talker.out")).find("tick\n") != std::string::npos; }));
  CHECK(wait_until([&] { return file_exists(d.log_path()); }));
  // The daemon still logs to the new main log.
  REQUIRE(d.call("supervisor.stopProcess", {"talker"}).ok());
  CHECK(d.wait_log("stopped: talker"));
  CHECK(count_occurrences(read_file(dir.file("old.log")), "stopped: talker") == 0);
}

TEST_CASE("child logs rotate at stdout_logfile_maxbytes keeping stdout_logfile_backups") {
  TempDir dir;
  // Writes 40 lines (~640 bytes) for every line read from stdin.
  Daemon d(dir, R"(
[program:chatty]
command=/bin/sh -c 'while read n; do i=10; while [ $i -lt 50 ]; do echo "burst $n line $i"; i=$((i+1)); done; done'
startsecs=0
stdout_logfile=@DIR@/chatty.out
stdout_logfile_maxbytes=1KB
stdout_logfile_backups=2
)");
  d.start();
  REQUIRE(d.wait_state("chatty", "RUNNING"));
  auto all_logs = [&] {
    return read_file(dir.file("chatty.out.2")) + read_file(dir.file("chatty.out.1")) +
           read_file(dir.file("chatty.out"));
  };
  // One burst at a time, each one logged before the next is asked for.
  for (int burst = 1; burst <= 8; ++burst) {
    CAPTURE(burst);
    REQUIRE(d.call("supervisor.sendProcessStdin", {"chatty", std::to_string(burst) + "\n"}).ok());
    const std::string last = "burst " + std::to_string(burst) + " line 49\n";
    REQUIRE(wait_until([&] { return all_logs().find(last) != std::string::npos; }));
  }
  auto sizes = [&] {
    std::string s;
    for (const char* f : {"chatty.out", "chatty.out.1", "chatty.out.2", "chatty.out.3"})
      s += std::string(" ") + f + "=" + (file_exists(dir.file(f)) ? std::to_string(read_file(dir.file(f)).size()) : "none");
    return s + "\nlog:\n" + d.log();
  };
  INFO("files:" << sizes());
  // The last write may still be rotating (two renames and an open): wait
  // for the files to settle, then look.
  CHECK(wait_until([&] {
    return file_exists(dir.file("chatty.out.1")) && file_exists(dir.file("chatty.out.2")) &&
           read_file(dir.file("chatty.out")).size() < 1024;
  }));
  CHECK_FALSE(file_exists(dir.file("chatty.out.3")));
  // A file is rotated once it reaches maxbytes, not before; it overshoots
  // by at most one write (here at most one burst).
  for (const char* f : {"chatty.out.1", "chatty.out.2"}) {
    CAPTURE(f);
    std::size_t size = read_file(dir.file(f)).size();
    CHECK(size >= 1024);
    CHECK(size < 1024 + 640);
  }
  // Oldest backup first, the files hold one contiguous tail of the output.
  std::string expected;
  for (int burst = 1; burst <= 8; ++burst)
    for (int i = 10; i < 50; ++i) expected += "burst " + std::to_string(burst) + " line " + std::to_string(i) + "\n";
  std::string kept = all_logs();
  REQUIRE(kept.size() <= expected.size());
  CHECK(expected.compare(expected.size() - kept.size(), kept.size(), kept) == 0);
}
