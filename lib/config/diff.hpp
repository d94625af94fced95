// Configuration comparison for reread/update: which groups a new
// configuration adds, changes or removes relative to the running one.
#pragma once

#include <string>
#include <vector>

#include "config/model.hpp"

namespace sup::config {

struct ConfigDiff {
  std::vector<std::string> added;    // in new only, in new's order
  std::vector<std::string> changed;  // in both, GroupConfig differs; in new's order
  std::vector<std::string> removed;  // in old only, in old's order
  bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
};

// Groups are matched by name; any difference in a group's settings or in any
// of its processes' settings makes it "changed".
ConfigDiff diff_groups(const std::vector<GroupConfig>& old_groups, const std::vector<GroupConfig>& new_groups);

}  // namespace sup::config
