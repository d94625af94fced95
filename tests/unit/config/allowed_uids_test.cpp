// allowed_uids= of [unix_http_server] (issue 9): names resolved at load,
// numeric uids taken as given, errors naming file, section, option, value.
#include <doctest/doctest.h>
#include <pwd.h>

#include "config/datatypes.hpp"
#include "config/loader.hpp"
#include "test_files.hpp"

using namespace sup::config;
using sup::config::test::TempDir;

namespace {

sup::Result<Config> load(const TempDir& dir, const std::string& server_lines) {
  std::string path = dir.write("supervisord.conf", "[supervisord]\nlogfile=" + (dir / "l.log") + "\npidfile=" +
                                                       (dir / "p.pid") + "\n[unix_http_server]\nfile=" +
                                                       (dir / "sock") + "\n" + server_lines);
  return load_config(path, {{"HOME", "/root"}});
}

}  // namespace

TEST_CASE("parse_allowed_uids resolves names and keeps numeric uids") {
  const passwd* daemon_pw = ::getpwnam("daemon");
  REQUIRE(daemon_pw != nullptr);
  auto r = parse_allowed_uids("root, daemon ,4242,0");
  REQUIRE(r.ok());
  // root and 0 are the same uid: listed once, in first-seen order.
  CHECK(*r == std::vector<uid_t>{0, daemon_pw->pw_uid, 4242});

  auto unknown = parse_allowed_uids("root,no-such-user-xq");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error() == "Invalid user name no-such-user-xq");
  CHECK_FALSE(parse_allowed_uids("root,,daemon").ok());
  CHECK_FALSE(parse_allowed_uids(" ").ok());
  CHECK_FALSE(parse_allowed_uids("-1").ok());
}

TEST_CASE("[unix_http_server] allowed_uids is loaded; without it nothing is restricted") {
  TempDir dir;
  auto none = load(dir, "");
  REQUIRE(none.ok());
  REQUIRE(none->servers.size() == 1);
  CHECK(none->servers[0].allowed_uids.empty());

  auto some = load(dir, "allowed_uids=root,4242\n");
  REQUIRE_MESSAGE(some.ok(), (some.ok() ? "" : some.error()));
  CHECK(some->servers[0].allowed_uids == std::vector<uid_t>{0, 4242});

  auto bad = load(dir, "allowed_uids=no-such-user-xq\n");
  REQUIRE_FALSE(bad.ok());
  const std::string& e = bad.error();
  CHECK(e.find('\n') == std::string::npos);
  for (const std::string& part : {std::string("'allowed_uids'"), std::string("unix_http_server"),
                                  std::string("no-such-user-xq"), dir / "supervisord.conf"})
    CHECK_MESSAGE(e.find(part) != std::string::npos, e << " lacks " << part);
}
