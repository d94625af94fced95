#include "config/diff.hpp"

#include <map>

namespace sup::config {

ConfigDiff diff_groups(const std::vector<GroupConfig>& old_groups, const std::vector<GroupConfig>& new_groups) {
  std::map<std::string, const GroupConfig*> old_by_name, new_by_name;
  for (const auto& g : old_groups) old_by_name.emplace(g.name, &g);
  for (const auto& g : new_groups) new_by_name.emplace(g.name, &g);
  ConfigDiff diff;
  for (const auto& g : new_groups) {
    auto it = old_by_name.find(g.name);
    if (it == old_by_name.end()) {
      diff.added.push_back(g.name);
    } else if (!(*it->second == g)) {
      diff.changed.push_back(g.name);
    }
  }
  for (const auto& g : old_groups) {
    if (new_by_name.count(g.name) == 0) diff.removed.push_back(g.name);
  }
  return diff;
}

}  // namespace sup::config
