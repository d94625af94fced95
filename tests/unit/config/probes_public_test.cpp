// probes_public= of [unix_http_server] and [inet_http_server] (issue 8):
// a boolean, false by default, errors naming file, section, option, value.
#include <doctest/doctest.h>

#include "config/loader.hpp"
#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

sup::Result<Config> load(const TempDir& dir, const std::string& unix_lines, const std::string& inet_lines) {
  std::string path = dir.write("supervisord.conf", "[supervisord]\nlogfile=" + (dir / "l.log") + "\npidfile=" +
                                                       (dir / "p.pid") + "\n[unix_http_server]\nfile=" +
                                                       (dir / "sock") + "\n" + unix_lines +
                                                       "[inet_http_server]\nport=127.0.0.1:9\n" + inet_lines);
  return load_config(path, {{"HOME", "/root"}});
}

}  // namespace

TEST_CASE("probes_public is off by default and set per server") {
  TempDir dir;
  auto plain = load(dir, "", "");
  REQUIRE_MESSAGE(plain.ok(), (plain.ok() ? "" : plain.error()));
  REQUIRE(plain->servers.size() == 2);
  CHECK_FALSE(plain->servers[0].probes_public);
  CHECK_FALSE(plain->servers[1].probes_public);

  auto inet_only = load(dir, "probes_public=no\n", "probes_public=true\n");
  REQUIRE_MESSAGE(inet_only.ok(), (inet_only.ok() ? "" : inet_only.error()));
  CHECK_FALSE(inet_only->servers[0].probes_public);
  CHECK(inet_only->servers[1].probes_public);
  CHECK(inet_only->servers[1].kind == HttpServerConfig::Kind::Inet);
}

TEST_CASE("a probes_public that is not a boolean is a one-line error naming file, section, option and value") {
  TempDir dir;
  auto bad = load(dir, "", "probes_public=maybe\n");
  REQUIRE_FALSE(bad.ok());
  const std::string& e = bad.error();
  CHECK(e.find('\n') == std::string::npos);
  for (const std::string& part : {std::string("'probes_public'"), std::string("inet_http_server"),
                                  std::string("maybe"), dir / "supervisord.conf"})
    CHECK_MESSAGE(e.find(part) != std::string::npos, e << " lacks " << part);
}
