// What to spawn and what came of it. Pure data, shared by the real spawner
// (spawn/spawner.cpp) and the fakes in tests.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "util/unique_fd.hpp"

namespace sup {

struct SpawnSpec {
  std::string filename;            // resolved executable path
  std::vector<std::string> argv;   // argv[0] as written in the config
  std::vector<std::string> env;    // complete environment, "KEY=value"
  std::string directory;           // "" = inherit the daemon's
  std::optional<mode_t> umask;
  std::optional<uid_t> uid;        // set only when the daemon runs as root
  std::optional<gid_t> gid;
  std::string user;                // for initgroups
  bool redirect_stderr = false;    // child's fd 2 goes to the stdout pipe
  // Extra descriptors passed to the child as fd 3, 4, ... (socket handover).
  std::vector<int> pass_fds;
  // Socket activation: the spawner adds LISTEN_PID=<the child's own pid>,
  // written by the child between fork and exec (the parent can't know it).
  bool listen_pid = false;
  // A descriptor to use as the child's fd 0 instead of the stdin pipe
  // ([fcgi-program:x] sockets); -1: the pipe.
  int stdin_source = -1;
};

struct SpawnedChild {
  pid_t pid = 0;
  UniqueFd stdin_fd;   // write end of the child's stdin
  UniqueFd stdout_fd;  // read end of the child's stdout
  UniqueFd stderr_fd;  // read end of the child's stderr (invalid when redirected)
};

}  // namespace sup
