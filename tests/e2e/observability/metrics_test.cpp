// GET /metrics end to end: the exposition parses under a strict parser and
// its values are those getAllProcessInfo reports; authentication as /RPC2.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include "support.hpp"

using namespace e2e;

namespace {

const char* const kStates[] = {"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"};

// Four programs in four states: svc:run RUNNING, svc:idle STOPPED, done
// EXITED (status 3 after it was RUNNING), broken FATAL (exits too quickly).
const char* const kThree = R"(
[group:svc]
programs=run,idle

[program:run]
command=/bin/sleep 1000
startsecs=0
autorestart=true

[program:idle]
command=/bin/sleep 1000
autostart=false

[program:done]
command=/bin/sh -c 'exit 3'
startsecs=0
autorestart=false

[program:broken]
command=/bin/sh -c 'exit 4'
startsecs=1
startretries=0
)";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

prom::Exposition scrape(const std::string& address, bool with_credentials = false) {
  HttpResponse r = obs::get(address, "/metrics", with_credentials);
  REQUIRE_MESSAGE(r.status == 200, "GET /metrics: " << r.status << " " << r.error << "\n" << r.body);
  const std::string* type = r.header("content-type");
  REQUIRE(type != nullptr);
  CHECK(*type == "text/plain; version=0.0.4; charset=utf-8");
  try {
    return prom::parse(r.body);
  } catch (const prom::ParseError& e) {
    FAIL("the exposition does not parse: " << e.what() << "\n" << r.body);
  }
  return {};
}

double metric(const prom::Exposition& e, const std::string& name, const prom::LabelSet& labels = {}) {
  auto v = e.value(name, labels);
  REQUIRE_MESSAGE(v.has_value(), "no series " << name << " with the expected labels");
  return *v;
}

std::size_t fd_count(pid_t pid) {
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

double resident_bytes(pid_t pid) {
  std::string statm = read_file("/proc/" + std::to_string(pid) + "/statm");
  long long size = 0, resident = 0;
  if (std::sscanf(statm.c_str(), "%lld %lld", &size, &resident) != 2) return -1;
  return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

// Every per-process series agrees with one getProcessInfo struct.
void check_process(const prom::Exposition& e, const xmlrpc::Value& info) {
  const std::string group = str_field(info, "group"), name = str_field(info, "name");
  const std::string statename = str_field(info, "statename");
  INFO("process " << group << ":" << name << " (" << statename << ")");
  prom::LabelSet id{{"group", group}, {"name", name}};
  for (const char* s : kStates) {
    prom::LabelSet l = id;
    l["state"] = s;
    CHECK(metric(e, "supervisord_process_state", l) == (statename == s ? 1 : 0));
  }
  CHECK(metric(e, "supervisord_process_state_code", id) == int_field(info, "state"));
  CHECK(metric(e, "supervisord_process_up", id) == (statename == "RUNNING" ? 1 : 0));
  CHECK(metric(e, "supervisord_process_pid", id) == int_field(info, "pid"));
  CHECK(std::floor(metric(e, "supervisord_process_start_time_seconds", id)) == int_field(info, "start"));
  CHECK(metric(e, "supervisord_process_exit_code", id) == int_field(info, "exitstatus"));
  prom::LabelSet none = id;
  none["health"] = "none";
  CHECK(metric(e, "supervisord_process_health", none) == 1);
}

}  // namespace

TEST_CASE("/metrics: three programs in different states, values as getAllProcessInfo reports them") {
  TempDir dir;
  Daemon d(dir, kThree);
  const double before_start = now_seconds();
  d.start();
  REQUIRE(d.wait_state("svc:run", "RUNNING"));
  REQUIRE(d.wait_state("done", "EXITED"));
  REQUIRE(d.wait_state("broken", "FATAL"));
  REQUIRE(d.state_of("svc:idle") == "STOPPED");

  prom::Exposition e = scrape(d.socket_path());
  RpcResult all = d.call("supervisor.getAllProcessInfo");
  REQUIRE(all.ok());
  REQUIRE(all.value().as_array().size() == 4);
  for (const auto& info : all.value().as_array()) check_process(e, info);
  CHECK(metric(e, "supervisord_process_exit_code", {{"group", "done"}, {"name", "done"}}) == 3);
  CHECK(metric(e, "supervisord_process_pid", {{"group", "svc"}, {"name", "run"}}) > 0);
  for (const char* s : kStates) {
    long long n = 0;
    for (const auto& info : all.value().as_array()) n += str_field(info, "statename") == s;
    CHECK_MESSAGE(metric(e, "supervisord_processes", {{"state", s}}) == n, "state " << s);
  }
  // Every per-process family has exactly one series per process (or one per
  // state / health value): nothing from a process that does not exist.
  for (const auto& f : e.families) {
    if (f.name.rfind("supervisord_process_", 0) != 0) continue;
    std::size_t per = f.name == "supervisord_process_state" ? 8 : f.name == "supervisord_process_health" ? 4 : 1;
    CHECK_MESSAGE(f.samples.size() == 4 * per, f.name);
  }

  // The daemon's own figures.
  const double after = now_seconds();
  double start_time = metric(e, "supervisord_start_time_seconds");
  CHECK(start_time >= before_start - 1);
  CHECK(start_time <= after);
  double uptime = metric(e, "supervisord_uptime_seconds");
  CHECK(uptime >= 0);
  CHECK(uptime <= after - before_start + 1);
  CHECK(metric(e, "supervisord_state", {{"state", "RUNNING"}}) == 1);
  CHECK(metric(e, "supervisord_state", {{"state", "SHUTDOWN"}}) == 0);
  double rss = metric(e, "process_resident_memory_bytes");
  double measured_rss = resident_bytes(d.pid());
  CHECK(rss > 0);
  CHECK(rss > measured_rss / 2);
  CHECK(rss < measured_rss * 2);
  double fds = metric(e, "process_open_fds");
  double measured_fds = static_cast<double>(fd_count(d.pid()));
  // The scrape's own connection was open when the daemon counted.
  CHECK(std::fabs(fds - measured_fds) <= 3);
  const prom::Family* build = e.family("supervisord_build_info");
  REQUIRE(build != nullptr);
  REQUIRE(build->samples.size() == 1);
  CHECK(build->samples[0].value == 1);
  CHECK_FALSE(build->samples[0].labels.at("version").empty());
  RpcResult version = d.call("supervisor.getSupervisorVersion");
  REQUIRE(version.ok());
  CHECK(build->samples[0].labels.at("supervisord_version") == version.value().as_string());

  // A crash is an automatic restart: the counter and the pid follow.
  prom::LabelSet run{{"group", "svc"}, {"name", "run"}};
  CHECK(metric(e, "supervisord_process_restarts_total", run) == 0);
  pid_t old_pid = d.pid_of("svc:run");
  REQUIRE(wait_exec(old_pid, "/bin/sleep"));
  ::kill(old_pid, SIGKILL);
  REQUIRE(d.wait_new_pid("svc:run", old_pid));
  e = scrape(d.socket_path());
  xmlrpc::Value info = d.process_info("svc:run");
  check_process(e, info);
  CHECK(metric(e, "supervisord_process_restarts_total", run) == 1);
  CHECK(metric(e, "supervisord_process_pid", run) == d.pid_of("svc:run"));
  CHECK(metric(e, "supervisord_process_restarts_total", {{"group", "done"}, {"name", "done"}}) == 0);
  CHECK(metric(e, "supervisord_uptime_seconds") >= uptime);
}

TEST_CASE("/metrics requires the credentials of /RPC2 on the unix and the inet server, probes_public or not") {
  for (bool probes_public : {false, true}) {
    INFO("probes_public=" << probes_public);
    TempDir dir;
    int port = obs::free_port();
    Daemon d(dir, "");
    write_file(d.config_path(), obs::auth_config(dir.path(), port, probes_public, R"(
[program:web]
command=/bin/sleep 1000
startsecs=0
)"));
    d.start({"-n"}, false);
    REQUIRE_MESSAGE(wait_until([&] { return obs::get(d.socket_path(), "/healthz", true).status == 200; }),
                    "daemon not answering; log:\n" << d.log());
    for (const std::string& address : {d.socket_path(), "127.0.0.1:" + std::to_string(port)}) {
      INFO("server " << address);
      HttpResponse r = obs::get(address, "/metrics");
      CHECK(r.status == 401);
      REQUIRE(r.header("www-authenticate") != nullptr);
      CHECK(r.body.find("supervisord_") == std::string::npos);
      r = http_request(address, "GET", "/metrics", {{"Authorization", basic_auth(obs::kUser, "wrong")}});
      CHECK(r.status == 401);
      prom::Exposition e = scrape(address, true);
      CHECK(e.family("supervisord_process_up") != nullptr);
    }
  }
}
