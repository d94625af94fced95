// Process and supervisor states with supervisord's names and numeric codes
// (they are part of the XML-RPC wire contract).
#pragma once

#include <string_view>

namespace sup {

enum class ProcessState {
  Stopped = 0,
  Starting = 10,
  Running = 20,
  Backoff = 30,
  Stopping = 40,
  Exited = 100,
  Fatal = 200,
  Unknown = 1000,
};

constexpr std::string_view to_string(ProcessState s) {
  switch (s) {
    case ProcessState::Stopped: return "STOPPED";
    case ProcessState::Starting: return "STARTING";
    case ProcessState::Running: return "RUNNING";
    case ProcessState::Backoff: return "BACKOFF";
    case ProcessState::Stopping: return "STOPPING";
    case ProcessState::Exited: return "EXITED";
    case ProcessState::Fatal: return "FATAL";
    case ProcessState::Unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}

// supervisord's STOPPED_STATES.
constexpr bool is_stopped_state(ProcessState s) {
  return s == ProcessState::Stopped || s == ProcessState::Exited || s == ProcessState::Fatal ||
         s == ProcessState::Unknown;
}
// supervisord's RUNNING_STATES.
constexpr bool is_running_state(ProcessState s) {
  return s == ProcessState::Running || s == ProcessState::Backoff || s == ProcessState::Starting;
}
// supervisord's SIGNALLABLE_STATES.
constexpr bool is_signallable_state(ProcessState s) {
  return s == ProcessState::Running || s == ProcessState::Starting || s == ProcessState::Stopping;
}

// The daemon's mood (getState): FATAL 2, RUNNING 1, RESTARTING 0, SHUTDOWN -1.
enum class SupervisorState { Fatal = 2, Running = 1, Restarting = 0, Shutdown = -1 };

constexpr std::string_view to_string(SupervisorState s) {
  switch (s) {
    case SupervisorState::Fatal: return "FATAL";
    case SupervisorState::Running: return "RUNNING";
    case SupervisorState::Restarting: return "RESTARTING";
    case SupervisorState::Shutdown: return "SHUTDOWN";
  }
  return "UNKNOWN";
}

}  // namespace sup
