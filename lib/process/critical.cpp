#include "process/critical.hpp"

namespace sup {

int critical_exit_status(const ExitStatus& last_exit) {
  if (last_exit.signal > 0) return 128 + last_exit.signal;
  if (last_exit.code > 0 && last_exit.code < 256) return last_exit.code;
  return 1;
}

std::optional<CriticalExit> critical_exit(ProcessState from, ProcessState to, const ExitStatus& last_exit,
                                          const std::string& spawnerr) {
  if (to == ProcessState::Fatal) {
    CriticalExit c;
    c.reason = "entered FATAL state";
    if (!spawnerr.empty()) c.reason += ": " + spawnerr;
    c.exit_status = 1;
    return c;
  }
  if (to == ProcessState::Exited && from == ProcessState::Running) {
    CriticalExit c;
    c.reason = "exited (" + last_exit.describe() + ")";
    c.exit_status = critical_exit_status(last_exit);
    return c;
  }
  return std::nullopt;
}

}  // namespace sup
