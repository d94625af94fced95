// spawn_child: forks and executes a child as supervisord does (own process
// group, pipes on 0/1/2, user, directory, umask, clean signal state, no
// inherited descriptors beyond 0-2 and the passed ones). Built on
// clone(CLONE_VM|CLONE_VFORK), as posix_spawn is, rather than Boost.Process's
// fork(): fork copies the daemon's page tables and leaves it copy-on-write
// faults, a cost that grows with the daemon (issue 7), and Boost.Process v1
// offers no vfork-style launcher with the set-up done here.
// Beyond supervisord (issue 9): the child gets SIGKILL when the calling
// thread ends (PR_SET_PDEATHSIG), so call it from the daemon's main thread.
#pragma once

#include "spawn/spawn_spec.hpp"
#include "util/result.hpp"

namespace sup {

// Errors are supervisord's spawnerr texts for failures before the child
// exists. Failures inside the child (setuid, chdir, exec) are written to the
// child's stderr as "supervisor: couldn't ..." and end it with status 127.
Result<SpawnedChild> spawn_child(const SpawnSpec& spec, const std::string& process_name);

}  // namespace sup
