// The log directory removed at run time (rm -rf by an operator or a cleanup
// job) while a program logs: the daemon keeps serving, says so once, and
// recovers once the directory is back; a start with the directory missing
// is a spawn error that names the path.
#include <signal.h>

#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "faults_support.hpp"

using namespace e2e;

namespace {

// The last "line N" in text; 0 when none.
long last_line_number(const std::string& text) {
  auto lines = split_lines(text);
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    if (it->rfind("line ", 0) == 0) return std::strtol(it->c_str() + 5, nullptr, 10);
  return 0;
}

}  // namespace

TEST_CASE("log directory removed at run time: one error, the daemon serves on, SIGUSR2 recreates the files") {
  TempDir dir;
  const std::string logs = dir.file("logs");
  std::filesystem::create_directory(logs);
  // stdout: a line every 20 ms, rotating every few hundred bytes (so a write
  // soon needs to create a file in the directory); stderr: a line every 0.5 s,
  // never rotated. The child's own counter goes to a file outside logs/.
  Daemon d(dir, R"(
[program:talker]
command=/bin/sh -c 'i=0; while :; do i=$((i+1)); echo "line $i"; echo $i > @DIR@/count; if [ $((i %% 25)) = 0 ]; then echo "err $i" >&2; fi; sleep 0.02; done'
stdout_logfile=@DIR@/logs/talker.out
stdout_logfile_maxbytes=300
stdout_logfile_backups=1
stderr_logfile=@DIR@/logs/talker.err
stderr_logfile_maxbytes=0
startsecs=1

[program:other]
command=/bin/sleep 1000
startsecs=0
)");
  d.start();
  REQUIRE(d.wait_state("talker", "RUNNING"));
  REQUIRE(wait_until([&] { return file_exists(logs + "/talker.out.1") && file_exists(logs + "/talker.err"); }));
  const pid_t talker = d.pid_of("talker");

  std::filesystem::remove_all(logs);
  const std::string failure = "cannot write to log file '" + logs + "/talker.out'";
  REQUIRE(d.wait_log(failure));
  // Many more writes after the failure: still reported once, not per write.
  const long at_failure = read_pid_file(dir.file("count"));
  REQUIRE(wait_until([&] { return read_pid_file(dir.file("count")) > at_failure + 50; }));
  CHECK_MESSAGE(d.log_count(failure) == 1, d.log());
  // The daemon is as responsive as before and the program undisturbed.
  RpcResult st = d.call("supervisor.getState");
  REQUIRE_MESSAGE(st.ok(), st.describe());
  CHECK(str_field(st.value(), "statename") == "RUNNING");
  CHECK(d.state_of("talker") == "RUNNING");
  CHECK(d.pid_of("talker") == talker);
  CHECK(faults::ctl(d, {"restart", "other"}).out == "other: stopped\nother: started\n");

  // The directory comes back; SIGUSR2 reopens the logs at their paths.
  std::filesystem::create_directory(logs);
  const long before_reopen = read_pid_file(dir.file("count"));
  d.signal(SIGUSR2);
  REQUIRE(wait_until([&] { return last_line_number(read_file(logs + "/talker.out")) > before_reopen; }));
  // stderr never rotates: its file comes back only through the reopen.
  REQUIRE(wait_until([&] { return read_file(logs + "/talker.err").find("err ") != std::string::npos; }));
  const std::string recovery = "writing to log file '" + logs + "/talker.out' works again";
  REQUIRE(d.wait_log(recovery));
  CHECK(d.log_count(recovery) == 1);
  CHECK(d.log_count(failure) == 1);
  CHECK(d.pid_of("talker") == talker);

  // A restart while the directory is missing: a spawn error naming the path.
  std::filesystem::remove_all(logs);
  RpcResult r = d.call("supervisor.stopProcess", {"talker"});
  REQUIRE_MESSAGE(r.ok(), r.describe());
  r = d.call("supervisor.startProcess", {"talker"});
  REQUIRE(r.is_fault());
  CHECK(r.fault_code() == 50);  // SPAWN_ERROR
  REQUIRE(d.wait_state("talker", "FATAL"));
  // getProcessInfo keeps supervisord's wording; the main log names the path.
  CHECK(str_field(d.process_info("talker"), "spawnerr") == "unknown error making dispatchers for 'talker': ENOENT");
  const std::string named = "talker stdout: cannot open log file '" + logs + "/talker.out': No such file or directory";
  CHECK_MESSAGE(d.log_count(named) >= 1, d.log());
  CommandResult ctl_status = faults::ctl(d, {"status", "talker"});
  CHECK(ctl_status.out.find("FATAL") != std::string::npos);
  // Everything else is served as usual.
  CHECK(d.state_of("other") == "RUNNING");
  std::filesystem::create_directory(logs);
  r = d.call("supervisor.startProcess", {"talker"});
  CHECK_MESSAGE(r.ok(), r.describe());
  CHECK(wait_until([&] { return last_line_number(read_file(logs + "/talker.out")) > 0; }));
}
