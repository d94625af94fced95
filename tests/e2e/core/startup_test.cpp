// Start-up: autostart, startsecs, getProcessInfo, priority order, groups,
// daemon mode.
#include <unistd.h>

#include <ctime>
#include <regex>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

using namespace e2e;

TEST_CASE("autostart programs reach RUNNING after startsecs; autostart=false stays STOPPED") {
  TempDir dir;
  Daemon d(dir, R"(
[program:web]
command=/bin/sleep 1000
startsecs=1
stdout_logfile=@DIR@/web.out
stderr_logfile=@DIR@/web.err

[program:manual]
command=/bin/sleep 1001
autostart=false
)");
  d.start();
  REQUIRE(d.wait_state("web", "RUNNING"));

  xmlrpc::Value info = d.process_info("web");
  CHECK(str_field(info, "name") == "web");
  CHECK(str_field(info, "group") == "web");
  CHECK(int_field(info, "state") == 20);
  CHECK(str_field(info, "statename") == "RUNNING");
  CHECK(str_field(info, "spawnerr") == "");
  CHECK(str_field(info, "stdout_logfile") == dir.file("web.out"));
  CHECK(str_field(info, "logfile") == dir.file("web.out"));
  CHECK(str_field(info, "stderr_logfile") == dir.file("web.err"));
  const pid_t pid = static_cast<pid_t>(int_field(info, "pid"));
  REQUIRE(pid > 0);
  // The pid is a real child of the daemon running the configured command.
  auto st = proc_stat(pid);
  REQUIRE(st.has_value());
  CHECK(st->ppid == d.pid());
  CHECK(read_file("/proc/" + std::to_string(pid) + "/cmdline") == std::string("/bin/sleep\0" "1000\0", 16));
  std::smatch m;
  std::string description = str_field(info, "description");
  REQUIRE_MESSAGE(std::regex_match(description, m, std::regex(R"(pid (\d+), uptime 0:00:0(\d))")), description);
  CHECK(std::stol(m[1]) == pid);
  const long long now = static_cast<long long>(std::time(nullptr));
  CHECK(int_field(info, "start") > 0);
  CHECK(int_field(info, "start") <= now);
  CHECK(int_field(info, "now") >= int_field(info, "start"));

  // startsecs is honoured: RUNNING only after the process stayed up > 1 s.
  LogLines log(d.log());
  auto spawned = log.find("spawned: 'web' with pid " + std::to_string(pid));
  auto success =
      log.find("success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)");
  REQUIRE(spawned);
  REQUIRE(success);
  CHECK(success->index > spawned->index);
  // The clock starts at the fork, which precedes the "spawned" line by the
  // time the spawn itself takes (long on a loaded machine): leave a margin.
  CHECK(success->millis - spawned->millis >= 750);

  xmlrpc::Value manual = d.process_info("manual");
  CHECK(str_field(manual, "statename") == "STOPPED");
  CHECK(int_field(manual, "state") == 0);
  CHECK(str_field(manual, "description") == "Not started");
  CHECK(int_field(manual, "pid") == 0);
  CHECK(int_field(manual, "start") == 0);
  CHECK(d.log_count("spawned: 'manual'") == 0);

  // getAllProcessInfo lists both, sorted by name.
  RpcResult all = d.call("supervisor.getAllProcessInfo");
  REQUIRE_MESSAGE(all.ok(), all.describe());
  REQUIRE(all.value().is_array());
  REQUIRE(all.value().as_array().size() == 2);
  CHECK(str_field(all.value().as_array()[0], "name") == "manual");
  CHECK(str_field(all.value().as_array()[1], "name") == "web");

  // And the manual one starts on request.
  RpcResult started = d.call("supervisor.startProcess", {"manual"});
  REQUIRE_MESSAGE(started.ok(), started.describe());
  CHECK(started.value() == xmlrpc::Value(true));
  CHECK(d.state_of("manual") == "RUNNING");
}

TEST_CASE("priority orders start-up across programs and groups; group:process namespecs work") {
  TempDir dir;
  Daemon d(dir, R"(
[program:late]
command=/bin/sleep 1000
priority=300
startsecs=0

[program:early]
command=/bin/sleep 1000
priority=100
startsecs=0

[group:mid]
programs=m_b,m_a
priority=200

[program:m_a]
command=/bin/sleep 1000
startsecs=0

[program:m_b]
command=/bin/sleep 1000
startsecs=0
)");
  d.start();
  for (const char* spec : {"early", "mid:m_a", "mid:m_b", "late"}) CHECK_MESSAGE(d.wait_state(spec, "RUNNING"), spec);

  LogLines log(d.log());
  auto early = log.find("spawned: 'early' ");
  auto m_a = log.find("spawned: 'm_a' ");
  auto m_b = log.find("spawned: 'm_b' ");
  auto late = log.find("spawned: 'late' ");
  REQUIRE(early);
  REQUIRE(m_a);
  REQUIRE(m_b);
  REQUIRE(late);
  // Lower priority first, whatever the order in the file.
  CHECK(early->index < m_a->index);
  CHECK(early->index < m_b->index);
  CHECK(m_a->index < late->index);
  CHECK(m_b->index < late->index);

  // Group members are addressed as group:process and report their group.
  xmlrpc::Value info = d.process_info("mid:m_a");
  CHECK(str_field(info, "name") == "m_a");
  CHECK(str_field(info, "group") == "mid");
  RpcResult bare = d.call("supervisor.getProcessInfo", {"m_a"});
  REQUIRE(bare.is_fault());
  CHECK(bare.fault_code() == 10);  // BAD_NAME: m_a is no group of its own
  CHECK(bare.fault_string() == "BAD_NAME: m_a");

  // getAllProcessInfo: sorted by group, then name.
  RpcResult all = d.call("supervisor.getAllProcessInfo");
  REQUIRE_MESSAGE(all.ok(), all.describe());
  std::vector<std::string> order;
  for (const auto& p : all.value().as_array()) order.push_back(str_field(p, "group") + ":" + str_field(p, "name"));
  CHECK(order == std::vector<std::string>{"early:early", "late:late", "mid:m_a", "mid:m_b"});

  // Control by namespec.
  const pid_t old = d.pid_of("mid:m_b");
  REQUIRE(wait_exec(old, "/bin/sleep"));
  RpcResult stopped = d.call("supervisor.stopProcess", {"mid:m_b"});
  REQUIRE_MESSAGE(stopped.ok(), stopped.describe());
  CHECK(d.state_of("mid:m_b") == "STOPPED");
  CHECK(d.state_of("mid:m_a") == "RUNNING");
  CHECK(wait_until([&] { return !pid_alive(old); }));
  RpcResult started = d.call("supervisor.startProcess", {"mid:m_b"});
  REQUIRE_MESSAGE(started.ok(), started.describe());
  CHECK(d.wait_new_pid("mid:m_b", old));

  // A whole group by name.
  REQUIRE(wait_exec(d.pid_of("mid:m_a"), "/bin/sleep"));
  REQUIRE(wait_exec(d.pid_of("mid:m_b"), "/bin/sleep"));
  RpcResult group_stop = d.call("supervisor.stopProcessGroup", {"mid"});
  REQUIRE_MESSAGE(group_stop.ok(), group_stop.describe());
  REQUIRE(group_stop.value().is_array());
  CHECK(group_stop.value().as_array().size() == 2);
  CHECK(d.state_of("mid:m_a") == "STOPPED");
  CHECK(d.state_of("mid:m_b") == "STOPPED");
  CHECK(d.state_of("early") == "RUNNING");
}

TEST_CASE("daemon mode: the command returns 0, the daemon writes its pid and serves; a second one refuses") {
  TempDir dir;
  const char* body = R"(
[program:sleeper]
command=/bin/sleep 1000
startsecs=0
)";
  Daemon d(dir, body);
  d.start({}, /*wait_ready=*/false);
  // The launcher forks the daemon and leaves at once.
  auto status = d.wait_exit(kDeadline);
  REQUIRE_MESSAGE(status.has_value(), "supervisord without -n did not return");
  CHECK(*status == 0);

  pid_t daemon_pid = 0;
  REQUIRE(wait_until([&] { return (daemon_pid = read_pid_file(d.pidfile_path())) > 0; }));
  d.adopt_pid(daemon_pid);
  CHECK(daemon_pid != d.launched_pid());
  CHECK(pid_alive(daemon_pid));
  REQUIRE(d.wait_ready());
  RpcResult getpid = d.call("supervisor.getPID");
  REQUIRE_MESSAGE(getpid.ok(), getpid.describe());
  CHECK(getpid.value().as_int() == daemon_pid);
  CHECK(d.wait_state("sleeper", "RUNNING"));
  // Detached: its own session, not our child.
  auto st = proc_stat(daemon_pid);
  REQUIRE(st.has_value());
  CHECK(st->ppid != ::getpid());
  CHECK(::getsid(daemon_pid) == daemon_pid);

  // A second supervisord for the same socket (own pidfile and log, so only
  // the socket conflicts) must refuse with status 2 and leave the first alone.
  CommandResult second = run_command({supervisord_path(), "-n", "-c", d.config_path(), "-j", dir.file("second.pid"),
                                      "-l", dir.file("second.log")});
  CHECK_FALSE(second.timed_out);
  CHECK(second.status == 2);
  CHECK_MESSAGE(second.err.find("Another program is already listening") != std::string::npos, second.err);
  CHECK(file_exists(d.socket_path()));
  CHECK(pid_alive(daemon_pid));
  RpcResult again = d.call("supervisor.getPID");
  REQUIRE_MESSAGE(again.ok(), again.describe());
  CHECK(again.value().as_int() == daemon_pid);
  CHECK(read_pid_file(d.pidfile_path()) == daemon_pid);
}

TEST_CASE("supervisord -v prints the version it emulates") {
  CommandResult r = run_command({supervisord_path(), "-v"});
  CHECK(r.status == 0);
  CHECK(r.out == "4.2.5\n");
  CHECK(r.err == "");
}
