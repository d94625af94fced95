// supervisorctl's command line and its [supervisorctl] config section, with
// supervisorctl 4.2.5's precedence: command line > config file > defaults.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace sup::ctl {

struct CtlOptions {
  std::string progname;                     // as shown in usage errors and -h
  std::optional<std::string> configfile;    // -c, or the first existing search path
  std::string serverurl = "http://localhost:9001";
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string prompt = "supervisor";
  std::optional<std::string> history_file;
  bool interactive = false;                 // -i, or no command given
  std::vector<std::string> args;            // the command and its arguments
};

// Outcome of reading the command line and config: run, or exit right away
// (help: text on stdout, status 0; usage error: "Error: ..." lines on stderr,
// status 2; unreadable config: status 1).
struct Setup {
  bool exit_now = false;
  int exit_status = 0;
  std::string out;
  std::string err;
  CtlOptions options;
};

// The program name supervisorctl would report: argv[0] when it holds a '/',
// else the PATH entry the shell would have run.
std::string resolve_progname(const std::string& argv0, const char* path_env);

// Config files tried when -c is absent (same list as supervisord's).
std::vector<std::string> config_search_paths(const std::string& progname);

// Parses `args` (argv without argv[0]). Options stop at the first non-option
// word, so `supervisorctl tail -f x` passes "-f" to the command.
// env: the process environment (for %(ENV_X)s in the config).
Setup setup_from_command_line(const std::string& progname, const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env);

// Values of the [supervisorctl] section after expansion. Each is nullopt when
// the section lacks the key.
struct CtlSection {
  std::string serverurl;  // default http://localhost:9001; unix:// paths normalised
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::string prompt = "supervisor";
  std::optional<std::string> history_file;  // normalised absolute path
};

// Reads the [supervisorctl] section of `path`. Error kinds: a usage error
// (missing file or section, bad expansion) is reported with usage = true.
struct CtlSectionError {
  bool usage = true;
  std::string message;
};
std::optional<CtlSectionError> read_ctl_section(const std::string& path, const std::map<std::string, std::string>& env,
                                                CtlSection* out);

// Python's os.path.normpath(os.path.abspath(os.path.expanduser(p))).
std::string normalize_path(const std::string& p);

}  // namespace sup::ctl
