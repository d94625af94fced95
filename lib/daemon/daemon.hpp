// Daemon: one io_context, the signal set, the supervisor, the control API and
// the HTTP servers; start-up (rlimits, daemonize, pidfile), reload on SIGHUP,
// ordered shutdown. supervisord/main.cpp parses the command line into
// DaemonOptions and calls run().
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace sup {

// Command-line settings; each one set overrides the configuration file.
struct DaemonOptions {
  std::string config_path;
  std::string argv0 = "supervisord";  // for "For help, use <argv0> -h"
  std::optional<bool> nodaemon, silent, nocleanup, strip_ansi;
  std::optional<std::string> user, directory, logfile, pidfile, identifier, childlogdir;
  std::optional<std::string> umask, logfile_maxbytes, logfile_backups, loglevel, minfds, minprocs;
};

// Returns the process exit status (0 after a clean shutdown, 2 for usage or
// configuration errors, as supervisord).
int run_daemon(const DaemonOptions& options);

}  // namespace sup
