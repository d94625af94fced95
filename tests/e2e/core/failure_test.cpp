// Programs that can't start: too-quick exits, missing commands, bad
// directories, and configuration errors that keep the daemon from starting.
#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("a program that exits at once goes through BACKOFF to FATAL after startretries") {
  TempDir dir;
  Daemon d(dir, R"(
[program:flaky]
command=/bin/sh -c 'echo oops >&2; exit 1'
startsecs=1
startretries=2
stderr_logfile=@DIR@/flaky.err
)");
  d.start();
  // Between attempts the process waits in BACKOFF (1 s, then 2 s).
  CHECK(d.wait_state("flaky", "BACKOFF"));
  REQUIRE(d.wait_state("flaky", "FATAL"));

  xmlrpc::Value info = d.process_info("flaky");
  CHECK(int_field(info, "state") == 200);
  CHECK(str_field(info, "spawnerr") == "Exited too quickly (process log may have details)");
  CHECK(str_field(info, "description") == "Exited too quickly (process log may have details)");
  CHECK(int_field(info, "pid") == 0);
  // 1 first attempt + startretries retries, each one logged.
  CHECK(d.log_count("spawned: 'flaky' with pid ") == 3);
  CHECK(d.log_count("exited: flaky (exit status 1; not expected)") == 3);
  CHECK(d.log_count("gave up: flaky entered FATAL state, too many start retries too quickly") == 1);
  CHECK(d.log_count("success: flaky") == 0);
  // Each attempt's stderr went to the log file.
  CHECK(read_file(dir.file("flaky.err")) == "oops\noops\noops\n");

  // FATAL is terminal: a manual start tries again (and fails the same way).
  RpcResult r = d.call("supervisor.startProcess", {"flaky"});
  REQUIRE(r.is_fault());
  CHECK(r.fault_code() == 50);  // SPAWN_ERROR
  CHECK(r.fault_string() == "SPAWN_ERROR: flaky");
  CHECK(d.wait_state("flaky", "FATAL"));
  CHECK(d.log_count("spawned: 'flaky' with pid ") >= 4);
}

TEST_CASE("commands that can't be run: not found, bad directory, not executable") {
  TempDir dir;
  write_file(dir.file("noexec.sh"), "#!/bin/sh\necho hi\n", 0644);
  Daemon d(dir, R"(
[program:abspath]
command=/nonexistent/prog --flag
startretries=1

[program:relative]
command=no_such_program_e2e
startretries=1

[program:nodir]
command=/bin/sleep 1000
directory=/nonexistent/dir
startretries=1
stderr_logfile=@DIR@/nodir.err

[program:noexec]
command=@DIR@/noexec.sh
startretries=1
)");
  d.start();
  for (const char* name : {"abspath", "relative", "nodir", "noexec"}) CHECK_MESSAGE(d.wait_state(name, "FATAL"), name);

  CHECK(str_field(d.process_info("abspath"), "spawnerr") == "can't find command '/nonexistent/prog'");
  CHECK(str_field(d.process_info("relative"), "spawnerr") == "can't find command 'no_such_program_e2e'");
  CHECK(str_field(d.process_info("noexec"), "spawnerr") ==
        "command at '" + dir.file("noexec.sh") + "' is not executable");
  CHECK(d.log_count("spawnerr: can't find command '/nonexistent/prog'") == 2);
  CHECK(d.log_count("gave up: abspath entered FATAL state, too many start retries too quickly") == 1);
  CHECK(d.log_count("spawned: 'abspath'") == 0);

  // A missing directory is found by the child, which says so on its stderr
  // and exits 127: an ordinary too-quick exit.
  CHECK(str_field(d.process_info("nodir"), "spawnerr") == "Exited too quickly (process log may have details)");
  CHECK(d.log_count("exited: nodir (exit status 127; not expected)") == 2);
  CHECK(count_occurrences(read_file(dir.file("nodir.err")),
                          "supervisor: couldn't chdir to /nonexistent/dir: ENOENT\n"
                          "supervisor: child process was not spawned\n") == 2);

  // startProcess checks the command before spawning.
  RpcResult nf = d.call("supervisor.startProcess", {"abspath"});
  REQUIRE(nf.is_fault());
  CHECK(nf.fault_code() == 20);  // NO_FILE
  CHECK(nf.fault_string() == "NO_FILE: can't find command '/nonexistent/prog'");
  RpcResult nx = d.call("supervisor.startProcess", {"noexec"});
  REQUIRE(nx.is_fault());
  CHECK(nx.fault_code() == 21);  // NOT_EXECUTABLE
  CHECK(nx.fault_string() == "NOT_EXECUTABLE: command at '" + dir.file("noexec.sh") + "' is not executable");
}

namespace {

// Runs supervisord on a configuration with one error next to a valid program
// that would leave a marker file if it ever ran. Returns stderr's first line.
std::string first_error_line(const std::string& bad_line) {
  TempDir dir;
  Daemon d(dir, R"(
[program:good]
command=/bin/sh -c 'touch @DIR@/marker; exec sleep 1000'
startsecs=0

[program:bad]
command=/bin/sleep 1000
)" + bad_line + "\n");
  d.start({"-n"}, /*wait_ready=*/false);
  auto status = d.wait_exit();
  REQUIRE_MESSAGE(status.has_value(), "supervisord kept running on a bad configuration");
  CHECK(*status == 2);
  // Nothing was started or created.
  CHECK_FALSE(file_exists(dir.file("marker")));
  CHECK_FALSE(file_exists(d.socket_path()));
  CHECK_FALSE(file_exists(d.pidfile_path()));
  std::vector<std::string> lines = split_lines(d.captured_stderr());
  REQUIRE_FALSE(lines.empty());
  // The error is one line; at most a usage hint follows.
  CHECK(lines.size() <= 2);
  if (lines.size() == 2) CHECK(lines[1].rfind("For help, use ", 0) == 0);
  std::string first = lines[0];
  CHECK_MESSAGE(first.rfind("Error: ", 0) == 0, first);
  CHECK_MESSAGE(first.find("program:bad") != std::string::npos, first);
  CHECK_MESSAGE(first.find(d.config_path()) != std::string::npos, first);
  return first;
}

}  // namespace

TEST_CASE("a bad configuration stops start-up with status 2 and a one-line error") {
  SUBCASE("bad autorestart") {
    std::string line = first_error_line("autorestart=sometimes");
    CHECK_MESSAGE(line.find("autorestart") != std::string::npos, line);
    CHECK_MESSAGE(line.find("'sometimes'") != std::string::npos, line);
  }
  SUBCASE("not an integer") {
    std::string line = first_error_line("startsecs=abc");
    CHECK_MESSAGE(line.find("'abc'") != std::string::npos, line);
  }
  SUBCASE("bad signal name") {
    std::string line = first_error_line("stopsignal=FOO");
    CHECK_MESSAGE(line.find("'FOO'") != std::string::npos, line);
  }
}
