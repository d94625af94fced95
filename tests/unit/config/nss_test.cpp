// lib/util/nss: which nsswitch.conf lines send a static daemon to
// getent(1), and how getent's answers are read.
#include <doctest/doctest.h>
#include <unistd.h>

#include "util/nss.hpp"

using namespace sup::nss;

TEST_CASE("nsswitch.conf: only sources other than files need getent") {
  const char* debian = "# /etc/nsswitch.conf\n\npasswd:         files systemd\ngroup:          files systemd\n"
                       "shadow:         files\nhosts:          files dns\n";
  CHECK(lists_external_sources(debian, "passwd"));
  CHECK(lists_external_sources(debian, "group"));
  CHECK_FALSE(lists_external_sources(debian, "shadow"));
  CHECK_FALSE(lists_external_sources(debian, "initgroups"));  // no line: files
  CHECK_FALSE(lists_external_sources("passwd: files\n", "passwd"));
  CHECK_FALSE(lists_external_sources("passwd:files # sss\n", "passwd"));
  CHECK_FALSE(lists_external_sources("passwd: files [NOTFOUND=return]\n", "passwd"));
  CHECK(lists_external_sources("passwd: files [NOTFOUND=continue] sss\n", "passwd"));
  CHECK(lists_external_sources("passwd: compat\n", "passwd"));
  CHECK(lists_external_sources("\tgroup :\tfiles\tldap\r\n", "group"));
  CHECK_FALSE(lists_external_sources("groups: ldap\n", "group"));
  CHECK_FALSE(lists_external_sources("", "passwd"));
  // dns is built in for hosts only.
  CHECK_FALSE(lists_external_sources(debian, "hosts"));
  CHECK(lists_external_sources("hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n", "hosts"));
  CHECK(lists_external_sources("passwd: files dns\n", "passwd"));
}

TEST_CASE("getent's passwd, group, initgroups and ahosts lines") {
  auto u = parse_passwd_line("ghost:x:4321:4322:The Ghost,,,:/home/ghost:/bin/sh\n");
  REQUIRE(u);
  CHECK(u->name == "ghost");
  CHECK(u->uid == 4321);
  CHECK(u->gid == 4322);
  CHECK(u->home == "/home/ghost");
  CHECK_FALSE(parse_passwd_line("ghost:x:43a1:4322::/:/bin/sh"));
  CHECK_FALSE(parse_passwd_line("ghost:x:4321:4322"));
  CHECK_FALSE(parse_passwd_line(""));

  CHECK(parse_group_line_gid("ghosts:x:4322:ghost,other\n") == 4322u);
  CHECK_FALSE(parse_group_line_gid("ghosts:x::ghost"));

  CHECK(parse_initgroups_line("ghost                4322 27 100\n") == std::vector<gid_t>{4322, 27, 100});
  CHECK(parse_initgroups_line("ghost\n").empty());

  CHECK(parse_ahosts("::1             STREAM localhost\n::1             DGRAM  \n127.0.0.1       STREAM \n") ==
        std::vector<std::string>{"::1", "127.0.0.1"});
  CHECK(parse_ahosts("").empty());
}

TEST_CASE("lookups in a dynamically linked program are glibc's") {
  auto root = user_named("root");
  REQUIRE(root);
  CHECK(root->uid == 0);
  CHECK(user_with_id(0)->name == "root");
  CHECK_FALSE(user_named("no-such-user-for-accounts-test"));
  CHECK(group_named("root") == 0u);
  CHECK(group_exists(0));
  auto groups = group_list("root", 0);
  REQUIRE_FALSE(groups.empty());
  CHECK(groups.front() == 0u);
}
