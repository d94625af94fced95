// depends_on= (issue 5): the list is read as written; unknown names and
// dependency cycles are one-line configuration errors.
#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

const std::map<std::string, std::string> kEnv = {{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}};

sup::Result<Config> load(const TempDir& dir, const std::string& programs) {
  std::string text = "[supervisord]\nlogfile=" + (dir / "d.log") + "\npidfile=" + (dir / "d.pid") + "\n" + programs;
  return load_config(dir.write("supervisord.conf", text), kEnv);
}

const ProcessConfig& find(const Config& c, const std::string& name) {
  for (const auto& g : c.groups)
    for (const auto& p : g.processes)
      if (p.name == name) return p;
  throw std::runtime_error("no process " + name);
}

}  // namespace

TEST_SUITE("depends_on option") {
  TEST_CASE("names and group:* separated by commas and spaces are kept in order") {
    TempDir dir;
    auto r = load(dir,
                  "[program:db]\ncommand=/bin/cat\n"
                  "[program:cache]\ncommand=/bin/cat\n"
                  "[program:w1]\ncommand=/bin/cat\n"
                  "[group:workers]\nprograms=w1\n"
                  "[program:web]\ncommand=/bin/cat\ndepends_on=db, cache  workers:*,db\n");
    INFO((r.ok() ? "" : r.error()));
    REQUIRE(r.ok());
    CHECK(find(*r, "web").depends_on == std::vector<std::string>{"db", "cache", "workers:*"});
    CHECK(find(*r, "db").depends_on.empty());
  }

  TEST_CASE("an unknown program is an error naming the section and the name") {
    TempDir dir;
    auto r = load(dir, "[program:web]\ncommand=/bin/cat\ndepends_on=db\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "invalid value for 'depends_on' in section 'program:web' (file: '" +
                           (dir / "supervisord.conf") + "'): 'db': no such program");
  }

  TEST_CASE("an unknown group and a malformed entry are errors") {
    TempDir dir;
    auto r = load(dir, "[program:web]\ncommand=/bin/cat\ndepends_on=nogroup:*\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("'nogroup:*': no such group") != std::string::npos);
    auto r2 = load(dir, "[program:db]\ncommand=/bin/cat\n[program:web]\ncommand=/bin/cat\ndepends_on=db:db\n");
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.error().find("'db:db': expected a program name or group:*") != std::string::npos);
  }

  TEST_CASE("a dependency cycle is an error showing the cycle") {
    TempDir dir;
    auto r = load(dir,
                  "[program:web]\ncommand=/bin/cat\ndepends_on=api\n"
                  "[program:api]\ncommand=/bin/cat\ndepends_on=web\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find('\n') == std::string::npos);
    CHECK(r.error().find("in section 'program:web'") != std::string::npos);
    CHECK(r.error().find("dependency cycle: web -> api -> web") != std::string::npos);
  }

  TEST_CASE("a program depending on its own group is a cycle") {
    TempDir dir;
    auto r = load(dir,
                  "[program:a]\ncommand=/bin/cat\n"
                  "[program:b]\ncommand=/bin/cat\ndepends_on=g:*\n"
                  "[group:g]\nprograms=a,b\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("dependency cycle: b -> b") != std::string::npos);
  }
}
