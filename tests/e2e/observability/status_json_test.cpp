// supervisorctl status --json: a JSON array that says field by field what
// getAllProcessInfo says, against our daemon and Debian's supervisord, with
// plain status's exit statuses.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>

#include "json_parser.hpp"
#include "support.hpp"

using namespace e2e;

namespace {

std::string supervisorctl_path() {
  const char* p = std::getenv("SUPERVISORCTL");
  REQUIRE_MESSAGE(p != nullptr, "SUPERVISORCTL is not set: run through meson test");
  return p;
}

// Runs the daemon under test as `exe` for the scope (the harness launches $SUPERVISORD).
class DaemonExe {
 public:
  explicit DaemonExe(const std::string& exe) {
    const char* old = std::getenv("SUPERVISORD");
    if (old) saved_ = old;
    ::setenv("SUPERVISORD", exe.c_str(), 1);
  }
  ~DaemonExe() {
    if (saved_.empty()) ::unsetenv("SUPERVISORD");
    else ::setenv("SUPERVISORD", saved_.c_str(), 1);
  }

 private:
  std::string saved_;
};

// A program with a health check makes our daemon add its extra fields
// (health, ready, restarts ...); supervisord ignores the option.
const char* const kPrograms = R"(
[group:svc]
programs=run,idle

[program:run]
command=/bin/sleep 1000
startsecs=0

[program:idle]
command=/bin/sleep 1000
autostart=false
; quotes and backslashes reach the JSON through the log paths
stdout_logfile=@DIR@/say "hi"\there.log

[program:crash]
command=/bin/sh -c 'exit 3'
startsecs=1
startretries=0
autorestart=false

[program:checked]
command=/bin/sleep 1000
startsecs=0
healthcheck=exec:/bin/true
healthcheck_interval=1
)";

CommandResult ctl(const Daemon& d, const std::vector<std::string>& args) {
  std::vector<std::string> argv{supervisorctl_path(), "-c", d.config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

json::Value parse_json(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::ParseError& e) {
    FAIL("not JSON: " << e.what() << "\n" << text);
  }
  return {};
}

// One JSON object against one getProcessInfo struct: same keys in the same
// order, same values. Time-dependent members may differ by the seconds
// between the two calls.
void compare(const json::Value& j, const xmlrpc::Value& info) {
  INFO("process " << str_field(info, "group") << ":" << str_field(info, "name"));
  REQUIRE(j.is_object());
  const auto& obj = j.as_object();
  const auto& st = info.as_struct();
  REQUIRE(obj.size() == st.size());
  for (std::size_t i = 0; i < st.size(); ++i) {
    const std::string& key = st[i].first;
    const auto& v = st[i].second;
    INFO("field " << key);
    CHECK(obj[i].first == key);
    const json::Value& jv = obj[i].second;
    if (v.is_int()) {
      REQUIRE(jv.is_number());
      if (key == "now")
        CHECK(std::fabs(jv.as_number() - static_cast<double>(v.as_int())) <= 5);
      else
        CHECK(jv.as_number() == static_cast<double>(v.as_int()));
    } else if (v.is_bool()) {
      REQUIRE(jv.is_bool());
      CHECK(jv.as_bool() == v.as_bool());
    } else if (v.is_string()) {
      REQUIRE(jv.is_string());
      if (key == "description" && str_field(info, "statename") == "RUNNING") {
        // "pid N, uptime H:MM:SS": the uptime moves on between the calls.
        std::string prefix = "pid " + std::to_string(int_field(info, "pid")) + ", uptime ";
        CHECK(jv.as_string().rfind(prefix, 0) == 0);
      } else {
        CHECK(jv.as_string() == v.as_string());
      }
    } else {
      FAIL("unexpected XML-RPC type for " << key);
    }
  }
}

void check_status_json(Daemon& d, bool ours) {
  d.start();
  REQUIRE(d.wait_state("svc:run", "RUNNING"));
  REQUIRE(d.wait_state("checked", "RUNNING"));
  REQUIRE(d.wait_state("crash", "FATAL"));

  CommandResult r = ctl(d, {"status", "--json"});
  CHECK(r.status == 3);  // svc:idle is STOPPED, crash FATAL
  CHECK(r.err.empty());
  CHECK(r.out.find(R"(say \"hi\"\\there.log")") != std::string::npos);  // escaped in the text
  json::Value all = parse_json(r.out);
  RpcResult infos = d.call("supervisor.getAllProcessInfo");
  REQUIRE(infos.ok());
  REQUIRE(all.is_array());
  REQUIRE(all.as_array().size() == infos.value().as_array().size());
  for (std::size_t i = 0; i < all.as_array().size(); ++i) compare(all.as_array()[i], infos.value().as_array()[i]);

  // Our daemon sends the health fields for the program with a health check;
  // supervisord sends none: the JSON has them exactly when the server sent them.
  const json::Value* checked = nullptr;
  for (const auto& p : all.as_array())
    if (p.find("name")->as_string() == "checked") checked = &p;
  REQUIRE(checked != nullptr);
  CHECK((checked->find("health") != nullptr) == ours);
  CHECK(checked->find("logfile") != nullptr);

  r = ctl(d, {"status", "--json", "svc:run"});
  CHECK(r.status == 0);
  json::Value one = parse_json(r.out);
  REQUIRE(one.as_array().size() == 1);
  compare(one.as_array()[0], d.process_info("svc:run"));

  r = ctl(d, {"status", "--json", "nosuch"});
  CHECK(r.status == 4);
  CHECK(r.err == "nosuch: ERROR (no such process)\n");
  CHECK(parse_json(r.out).as_array().empty());

  r = ctl(d, {"avail", "--json"});
  CHECK(r.status == 0);
  json::Value avail = parse_json(r.out);
  RpcResult configs = d.call("supervisor.getAllConfigInfo");
  REQUIRE(configs.ok());
  REQUIRE(avail.as_array().size() == configs.value().as_array().size());
  for (std::size_t i = 0; i < avail.as_array().size(); ++i) {
    const json::Value& j = avail.as_array()[i];
    const xmlrpc::Value& c = configs.value().as_array()[i];
    CHECK(j.as_object().size() == c.as_struct().size());
    CHECK(j.find("name")->as_string() == str_field(c, "name"));
    CHECK(j.find("inuse")->as_bool() == c.find("inuse")->as_bool());
  }
}

}  // namespace

TEST_CASE("status --json against our daemon matches getAllProcessInfo field by field") {
  TempDir dir;
  Daemon d(dir, kPrograms);
  check_status_json(d, true);
}

TEST_CASE("status --json against Debian's supervisord 4.2.5 matches getAllProcessInfo field by field") {
  if (::access("/usr/bin/supervisord", X_OK) != 0) {
    MESSAGE("skipped: /usr/bin/supervisord is not installed");
    return;
  }
  DaemonExe reference("/usr/bin/supervisord");
  TempDir dir;
  Daemon d(dir, kPrograms);
  check_status_json(d, false);
}
