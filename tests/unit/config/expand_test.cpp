// Expected strings were produced by Python's `format % dict`, which is what
// supervisord's expand() runs.
#include "config/expand.hpp"

#include <doctest/doctest.h>

using namespace sup::config;

namespace {

const Expansions kNames = {
    {"process_num", 3LL}, {"numprocs", 10LL}, {"program_name", std::string("web")}, {"here", std::string("/etc")}};

std::string ok(const std::string& format) {
  auto r = expand(format, kNames, "program:web.command");
  INFO(format << " -> " << (r.ok() ? "" : r.error()));
  REQUIRE(r.ok());
  return *r;
}

std::string error_of(const std::string& format) {
  auto r = expand(format, kNames, "program:web.command");
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("names expand with printf-style specs") {
  CHECK(ok("%(here)s/log/%(program_name)s.log") == "/etc/log/web.log");
  CHECK(ok("%(process_num)02d") == "03");
  CHECK(ok("%(process_num)d of %(numprocs)d") == "3 of 10");
  CHECK(ok("%(program_name)s_%(process_num)03d") == "web_003");
  CHECK(ok("%(process_num)s") == "3");
  CHECK(ok("%(process_num)5d|") == "    3|");
  CHECK(ok("%(process_num)-4d|") == "3   |");
  CHECK(ok("%(program_name)10s|") == "       web|");
  CHECK(ok("%(program_name)-6s|") == "web   |");
  CHECK(ok("%(program_name).2s") == "we");
  CHECK(ok("%(process_num)x %(process_num)#o") == "3 0o3");
  CHECK(ok("%(process_num)+d") == "+3");
  CHECK(ok("%(numprocs)05.1f") == "010.0");
  CHECK(ok("%(program_name)r") == "'web'");
}

TEST_CASE("%% is a literal percent and plain text passes through") {
  CHECK(ok("100%%") == "100%");
  CHECK(ok("date +%%Y-%%m") == "date +%Y-%m");
  CHECK(ok("no names here") == "no names here");
  CHECK(ok("") == "");
}

TEST_CASE("an unknown name lists the available names, sorted") {
  CHECK(error_of("/bin/true %(foo)s") ==
        "Format string '/bin/true %(foo)s' for 'program:web.command' contains names ('foo') which cannot be "
        "expanded. Available names: here, numprocs, process_num, program_name");
}

TEST_CASE("badly formatted strings are errors") {
  CHECK(error_of("100%").find("is badly formatted: incomplete format") != std::string::npos);
  CHECK(error_of("%(program_name)").find("incomplete format") != std::string::npos);
  CHECK(error_of("%(program_name)z") ==
        "Format string '%(program_name)z' for 'program:web.command' is badly formatted: unsupported format "
        "character 'z' (0x7a) at index 15");
  CHECK(error_of("%(program_name)d").find("a real number is required, not str") != std::string::npos);
  CHECK(error_of("date +%Y").find("badly formatted") != std::string::npos);
}

TEST_CASE("expand_value gives only the reason") {
  auto r = expand_value("%(nope)s", {{"a", std::string("1")}});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "contains names ('nope') which cannot be expanded. Available names: a");
}

TEST_CASE("environment names are ENV_ prefixed") {
  auto names = environment_expansions({{"HOME", "/root"}, {"X", "1"}});
  CHECK(names.size() == 2);
  CHECK(std::get<std::string>(names.at("ENV_HOME")) == "/root");
  auto r = expand("%(ENV_HOME)s/x", names, "t");
  REQUIRE(r.ok());
  CHECK(*r == "/root/x");
}
