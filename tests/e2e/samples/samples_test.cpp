// The tour configurations in conf.d/tour/ are copy-paste material for users:
// included as they are into a daemon's config, every program in them must
// reach the state the README promises.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "e2e/harness.hpp"

using namespace e2e;
using namespace std::chrono_literals;

namespace {

std::string samples_dir() {
  const char* d = std::getenv("SAMPLES_DIR");
  REQUIRE_MESSAGE(d != nullptr, "SAMPLES_DIR is not set (run through meson test)");
  return d;
}

}  // namespace

TEST_CASE("the tour configs run as shipped: held socket, health checks, sd_notify readiness, dependencies") {
  TempDir dir;
  Daemon d(dir, "[include]\nfiles = " + samples_dir() + "/tour/*.conf\n");
  d.start();
  // queue signals READY=1 after ~2 s; web and flaky wait for it (depends_on).
  REQUIRE(d.wait_state("queue", "RUNNING", 60s));
  CHECK(str_field(d.process_info("queue"), "description").find("accepting jobs") != std::string::npos);
  REQUIRE(d.wait_state("web:web_0", "RUNNING", 60s));
  REQUIRE(d.wait_state("web:web_1", "RUNNING", 60s));
  CHECK(str_field(d.process_info("web:web_0"), "health") == "healthy");
  LogLines log(d.log());
  auto queue_ready = log.find("success: queue entered RUNNING state");
  auto web_spawn = log.find("spawned: 'web_0'");
  REQUIRE(queue_ready);
  REQUIRE(web_spawn);
  CHECK(queue_ready->millis <= web_spawn->millis);
  // The web service answers on the socket the daemon holds.
  HttpResponse r = http_request("127.0.0.1:8765", "GET", "/");
  CHECK(r.status == 200);
  CHECK(r.body.find("hello from pid") != std::string::npos);
  // flaky crashes and comes back with a growing delay.
  CHECK(d.wait_log("spawned: 'flaky'", 3, 60s));
  // A rolling restart of the web group keeps the service answering.
  RpcResult roll = d.call("supervisor.rollingRestart", {xmlrpc::Value("web:*")});
  CHECK(roll.ok());
  HttpResponse after = http_request("127.0.0.1:8765", "GET", "/");
  CHECK(after.status == 200);
}

TEST_CASE("conf.d/container.conf: logs on stdout; the critical app's death ends the daemon with 128+signal") {
  // Runs the shipped file as is (its socket and pidfile are under /tmp).
  TempDir dir;
  const std::string out = dir.file("stdout");
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    const std::string exe = supervisord_path();
    const std::string conf = samples_dir() + "/container.conf";
    ::execl(exe.c_str(), exe.c_str(), "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto output = [&] { return try_read_file(out).value_or(""); };
  REQUIRE(wait_until([&] { return output().find("success: app entered RUNNING state") != std::string::npos; }, 30s));
  REQUIRE(wait_until([&] { return output().find("sidecar alive") != std::string::npos; }, 30s));
  HttpResponse r = http_request("127.0.0.1:8769", "GET", "/");
  CHECK(r.status == 200);
  // The app's own log line, on stdout: it reaches the daemon's stdout after
  // the daemon reads the app's pipe, which may be after the response.
  CHECK(wait_until([&] { return output().find("\"GET / HTTP/1.1\" 200") != std::string::npos; }, 30s));
  // Kill the app: the daemon stops the sidecar and exits with 128+9.
  const pid_t daemon_pid = read_pid_file("/tmp/supervisor-container.pid");
  CHECK(daemon_pid == pid);
  pid_t app = 0;
  for (const ProcStat& c : children_of(pid))
    if (try_read_file("/proc/" + std::to_string(c.pid) + "/comm").value_or("").rfind("python3", 0) == 0) app = c.pid;
  REQUIRE(app > 0);
  ::kill(app, SIGKILL);
  int status = 0;
  bool exited = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 30s);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  REQUIRE(exited);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGKILL);
  CHECK(output().find("critical program app") != std::string::npos);
  CHECK(output().find("stopped: sidecar") != std::string::npos);
  CHECK(output().find("rotat") == std::string::npos);  // no rotation attempt on /dev/stdout
}
