// critical= (issue 8): whether a state change of a critical process ends the
// daemon, why, and with which exit status. Pure decision; the daemon observes
// the state changes (Supervisor::subscribe) and performs the shutdown.
#pragma once

#include <optional>
#include <string>

#include "process/process.hpp"
#include "process/state.hpp"

namespace sup {

struct CriticalExit {
  std::string reason;  // "exited (exit status 3)", "entered FATAL state: ..." (for the log)
  int exit_status = 1;  // what the daemon exits with
};

// The daemon's exit status for a critical process's last exit: its exit code
// when non-zero, 128+signal when a signal ended it, else 1 (a critical
// process that ends successfully still ends the service).
int critical_exit_status(const ExitStatus& last_exit);

// A critical process ends the daemon when it enters FATAL (exit status 1:
// it never ran, or gave up) or goes from RUNNING to EXITED, i.e. ended
// without a stop request, whatever its autorestart= says (exit status from
// critical_exit_status). std::nullopt for every other transition. The caller
// only asks for processes with critical=true while the daemon is RUNNING
// (not during a shutdown or restart, which stop processes on purpose).
std::optional<CriticalExit> critical_exit(ProcessState from, ProcessState to, const ExitStatus& last_exit,
                                          const std::string& spawnerr);

}  // namespace sup
