// critical= (issue 8): a boolean of every program-like section, false by
// default; a bad value is a one-line error naming file, section and value.
#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

const std::map<std::string, std::string> kEnv = {{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}};

sup::Result<Config> load(const TempDir& dir, const std::string& sections) {
  std::string text = "[supervisord]\nlogfile=" + (dir / "d.log") + "\npidfile=" + (dir / "d.pid") + "\n" + sections;
  return load_config(dir.write("supervisord.conf", text), kEnv);
}

const ProcessConfig& find(const Config& c, const std::string& name) {
  for (const auto& g : c.groups)
    for (const auto& p : g.processes)
      if (p.name == name) return p;
  throw std::runtime_error("no process " + name);
}

}  // namespace

TEST_SUITE("critical option") {
  TEST_CASE("defaults to false and reads every boolean spelling") {
    TempDir dir;
    auto r = load(dir,
                  "[program:plain]\ncommand=/bin/cat\n"
                  "[program:a]\ncommand=/bin/cat\ncritical=true\n"
                  "[program:b]\ncommand=/bin/cat\ncritical=Yes\n"
                  "[program:c]\ncommand=/bin/cat\ncritical=1\n"
                  "[program:d]\ncommand=/bin/cat\ncritical=off\n");
    INFO((r.ok() ? "" : r.error()));
    REQUIRE(r.ok());
    CHECK_FALSE(find(*r, "plain").critical);
    CHECK(find(*r, "a").critical);
    CHECK(find(*r, "b").critical);
    CHECK(find(*r, "c").critical);
    CHECK_FALSE(find(*r, "d").critical);
    // A known key: not kept among the unrecognised ones.
    CHECK(find(*r, "a").extra->count("critical") == 0);
  }

  TEST_CASE("applies to every process of numprocs and is expanded like other options") {
    TempDir dir;
    auto r = load(dir,
                  "[program:w]\ncommand=/bin/cat\nnumprocs=2\nprocess_name=w%(process_num)d\n"
                  "critical=%(ENV_CRIT)s\n");
    // %(ENV_CRIT)s is not in the environment: an expansion error, naming the key.
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("critical") != std::string::npos);
    auto env = kEnv;
    env["CRIT"] = "true";
    std::string text = "[supervisord]\nlogfile=" + (dir / "d.log") + "\npidfile=" + (dir / "d.pid") +
                       "\n[program:w]\ncommand=/bin/cat\nnumprocs=2\nprocess_name=w%(process_num)d\n"
                       "critical=%(ENV_CRIT)s\n";
    auto r2 = load_config(dir.write("supervisord.conf", text), env);
    INFO((r2.ok() ? "" : r2.error()));
    REQUIRE(r2.ok());
    CHECK(find(*r2, "w0").critical);
    CHECK(find(*r2, "w1").critical);
  }

  TEST_CASE("an invalid value is a one-line error naming file, section, option and value") {
    TempDir dir;
    auto r = load(dir, "[program:web]\ncommand=/bin/cat\ncritical=sometimes\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "invalid value for 'critical' in section 'program:web' (file: '" + (dir / "supervisord.conf") +
                           "'): 'sometimes': not a valid boolean value (expected true/false, yes/no, on/off or 1/0)");
    CHECK(r.error().find('\n') == std::string::npos);
  }

  TEST_CASE("is accepted in [fcgi-program:x] and [eventlistener:x] too") {
    TempDir dir;
    auto r = load(dir,
                  "[fcgi-program:f]\ncommand=/bin/cat\nsocket=unix://" + (dir / "f.sock") + "\ncritical=true\n"
                  "[eventlistener:l]\ncommand=/bin/cat\nevents=TICK_5\ncritical=true\n");
    INFO((r.ok() ? "" : r.error()));
    REQUIRE(r.ok());
    CHECK(find(*r, "f").critical);
    CHECK(find(*r, "l").critical);
  }

  TEST_CASE("a changed critical= makes reread report the group as changed") {
    TempDir dir;
    auto before = load(dir, "[program:web]\ncommand=/bin/cat\n");
    auto after = load(dir, "[program:web]\ncommand=/bin/cat\ncritical=true\n");
    REQUIRE(before.ok());
    REQUIRE(after.ok());
    CHECK_FALSE(before->groups == after->groups);
  }
}
