// Issue 5 options of [program:x] (beyond supervisord): restart_delay,
// backoff, restart_limit, healthcheck*, ready, watchdog_sec. Unset, they keep
// supervisord's behaviour; bad values are one-line errors naming the option.
#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

const std::map<std::string, std::string> kEnv = {{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}};

sup::Result<Config> load(const TempDir& dir, const std::string& program_body) {
  std::string text = "[supervisord]\nlogfile=" + (dir / "d.log") + "\npidfile=" + (dir / "d.pid") +
                     "\n[program:web]\ncommand=/bin/cat\n" + program_body;
  return load_config(dir.write("supervisord.conf", text), kEnv);
}

ProcessConfig load_web(const std::string& body) {
  TempDir dir;
  auto r = load(dir, body);
  INFO((r.ok() ? "" : r.error()));
  REQUIRE(r.ok());
  REQUIRE(r->groups.size() == 1);
  return r->groups[0].processes.at(0);
}

std::string load_error(const std::string& body) {
  TempDir dir;
  auto r = load(dir, body);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find('\n') == std::string::npos);
  return r.error();
}

}  // namespace

TEST_CASE("without the new options a program keeps supervisord's behaviour") {
  ProcessConfig p = load_web("");
  CHECK(p.restart_delay == 0);
  CHECK(p.backoff == Backoff::Linear);
  CHECK(p.restart_limit_count == 0);
  CHECK(p.healthcheck->kind == HealthCheck::Kind::None);
  CHECK(p.ready == Readiness::Startsecs);
  CHECK(p.extra->empty());
}

TEST_CASE("restart options are read") {
  ProcessConfig p = load_web("restart_delay=7\nbackoff=exponential\nbackoff_max=30\nbackoff_reset=120\nrestart_limit=5/60\n");
  CHECK(p.restart_delay == 7);
  CHECK(p.backoff == Backoff::Exponential);
  CHECK(p.backoff_max == 30);
  CHECK(p.backoff_reset == 120);
  CHECK(p.restart_limit_count == 5);
  CHECK(p.restart_limit_window == 60);
  CHECK(p.extra->empty());  // known keys, not extensions
}

TEST_CASE("healthcheck URLs of the three kinds are parsed") {
  ProcessConfig http = load_web("healthcheck=http://127.0.0.1:8080/healthz?full=1\n");
  CHECK(http.healthcheck->kind == HealthCheck::Kind::Http);
  CHECK(http.healthcheck->host == "127.0.0.1");
  CHECK(http.healthcheck->port == 8080);
  CHECK(http.healthcheck->path == "/healthz?full=1");
  CHECK(load_web("healthcheck=http://localhost:81\n").healthcheck->path == "/");

  ProcessConfig tcp = load_web("healthcheck=tcp://[::1]:6379\nhealthcheck_interval=2\nhealthcheck_timeout=1\n"
                               "healthcheck_retries=5\nhealthcheck_start_period=30\nhealthcheck_action=none\n");
  CHECK(tcp.healthcheck->kind == HealthCheck::Kind::Tcp);
  CHECK(tcp.healthcheck->host == "::1");
  CHECK(tcp.healthcheck->port == 6379);
  CHECK(tcp.healthcheck_interval == 2);
  CHECK(tcp.healthcheck_timeout == 1);
  CHECK(tcp.healthcheck_retries == 5);
  CHECK(tcp.healthcheck_start_period == 30);
  CHECK_FALSE(tcp.healthcheck_restart);

  ProcessConfig exec = load_web("healthcheck=exec:/usr/bin/pg_isready -h 'my host'\nready=healthcheck\n");
  CHECK(exec.healthcheck->kind == HealthCheck::Kind::Exec);
  CHECK(exec.healthcheck->argv == std::vector<std::string>{"/usr/bin/pg_isready", "-h", "my host"});
  CHECK(exec.ready == Readiness::Healthcheck);
}

TEST_CASE("healthcheck ports may use %(process_num)s") {
  TempDir dir;
  auto r = load(dir, "numprocs=2\nprocess_name=web%(process_num)s\nhealthcheck=tcp://127.0.0.1:80%(process_num)02d\n");
  REQUIRE(r.ok());
  CHECK(r->groups[0].processes[0].healthcheck->port == 8000);
  CHECK(r->groups[0].processes[1].healthcheck->port == 8001);
}

TEST_CASE("bad values are one-line errors naming the option and the value") {
  struct Case {
    std::string body, key, value;
  };
  for (const Case& c : std::vector<Case>{
           {"restart_delay=-1\n", "restart_delay", "-1"},
           {"backoff=fibonacci\n", "backoff", "fibonacci"},
           {"backoff_max=0\n", "backoff_max", "0"},
           {"restart_limit=5\n", "restart_limit", "5"},
           {"restart_limit=0/60\n", "restart_limit", "0/60"},
           {"healthcheck=ftp://x:1\n", "healthcheck", "ftp://x:1"},
           {"healthcheck=tcp://127.0.0.1\n", "healthcheck", "tcp://127.0.0.1"},
           {"healthcheck=http://127.0.0.1:99999/\n", "healthcheck", "http://127.0.0.1:99999/"},
           {"healthcheck=exec:\n", "healthcheck", "exec:"},
           {"healthcheck=tcp://a:1\nhealthcheck_interval=0\n", "healthcheck_interval", "0"},
           {"healthcheck=tcp://a:1\nhealthcheck_action=reboot\n", "healthcheck_action", "reboot"},
           {"ready=soon\n", "ready", "soon"},
           {"ready=healthcheck\n", "ready", "healthcheck"},
           {"watchdog_sec=5\n", "watchdog_sec", "5"},
       }) {
    CAPTURE(c.body);
    std::string e = load_error(c.body);
    CAPTURE(e);
    CHECK(e.find("'" + c.key + "'") != std::string::npos);
    CHECK(e.find("'" + c.value + "'") != std::string::npos);
    CHECK(e.find("[program:web]") == std::string::npos);
    CHECK(e.find("program:web") != std::string::npos);
  }
}
