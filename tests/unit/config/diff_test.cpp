#include "config/diff.hpp"

#include <doctest/doctest.h>

using namespace sup::config;

namespace {

GroupConfig group(const std::string& name, const std::string& command) {
  GroupConfig g;
  g.name = name;
  ProcessConfig p;
  p.name = name;
  p.group = name;
  p.program = name;
  p.command = command;
  p.argv = {command};
  g.processes.push_back(p);
  return g;
}

}  // namespace

TEST_CASE("identical configurations have no differences") {
  std::vector<GroupConfig> a{group("web", "/bin/web"), group("db", "/bin/db")};
  ConfigDiff d = diff_groups(a, a);
  CHECK(d.empty());
}

TEST_CASE("added, changed and removed groups by name") {
  std::vector<GroupConfig> before{group("web", "/bin/web"), group("db", "/bin/db"), group("old", "/bin/old")};
  std::vector<GroupConfig> after{group("web", "/bin/web"), group("db", "/bin/db2"), group("new", "/bin/new")};
  ConfigDiff d = diff_groups(before, after);
  CHECK(d.added == std::vector<std::string>{"new"});
  CHECK(d.changed == std::vector<std::string>{"db"});
  CHECK(d.removed == std::vector<std::string>{"old"});
}

TEST_CASE("any process setting or group setting counts as a change") {
  std::vector<GroupConfig> before{group("web", "/bin/web")};
  auto after = before;
  after[0].processes[0].stopsignal = 2;
  CHECK(diff_groups(before, after).changed == std::vector<std::string>{"web"});
  after = before;
  after[0].priority = 5;
  CHECK(diff_groups(before, after).changed == std::vector<std::string>{"web"});
  after = before;
  after[0].processes[0].environment.emplace_back("A", "1");
  CHECK(diff_groups(before, after).changed == std::vector<std::string>{"web"});
  after = before;
  after[0].processes.push_back(after[0].processes[0]);
  CHECK(diff_groups(before, after).changed == std::vector<std::string>{"web"});
}

TEST_CASE("order of groups alone is not a change") {
  std::vector<GroupConfig> before{group("a", "/bin/a"), group("b", "/bin/b")};
  std::vector<GroupConfig> after{group("b", "/bin/b"), group("a", "/bin/a")};
  CHECK(diff_groups(before, after).empty());
}
