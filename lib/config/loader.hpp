// Loads a supervisord.conf (and its [include] files) into sup::config::Config
// the way supervisord 4.2.5 reads it. Every error is one line naming the file,
// the section, the option and the bad value, e.g.
//   invalid value for 'autorestart' in section 'program:web'
//   (file: '/etc/supervisor/conf.d/web.conf'): 'sometimes': expected true, false or unexpected
// (on one line). Nothing is started from here: the result is plain data.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "util/result.hpp"

namespace sup::config {

// `env` is the daemon's environment; it provides the %(ENV_X)s names and is
// not otherwise consulted. Warnings (no include match, deprecated syslog
// logfile, ...) are returned in Config::warnings.
Result<Config> load_config(const std::string& path, const std::map<std::string, std::string>& env);

// supervisorctl's view of a configuration file: only [supervisorctl] matters
// (no [include] processing). A missing file or a file without a
// [supervisorctl] section is an error, as in supervisorctl.
Result<CtlConfig> load_ctl_config(const std::string& path, const std::map<std::string, std::string>& env);

// supervisord's search list when no -c is given. `argv0_dir` is the directory
// of argv[0] (e.g. "/usr/bin"); the first two entries are relative to its
// parent: <parent>/etc/supervisord.conf, <parent>/supervisord.conf, then
// supervisord.conf, etc/supervisord.conf, /etc/supervisord.conf,
// /etc/supervisor/supervisord.conf.
std::vector<std::string> default_config_search_paths(const std::string& argv0_dir);

// The first path of `paths` that exists, if any.
std::optional<std::string> find_config_file(const std::vector<std::string>& paths);

// The daemon's environment as a map (from `environ`).
std::map<std::string, std::string> current_environment();

}  // namespace sup::config
