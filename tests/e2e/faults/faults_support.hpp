// Helpers shared by the e2e_faults test files: /proc readings (CPU time,
// RSS, bytes written, process groups, zombies), our supervisorctl, the
// oracle supervisord, ASan detection and the daemon log's transitions.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "e2e/harness.hpp"
#include "load_driver.hpp"

namespace faults {

// $SUPERVISORCTL (our client, set by meson test); REQUIREs it.
std::string ctl_path();
// `supervisorctl -c <config> args...` against d.
e2e::CommandResult ctl(const e2e::Daemon& d, const std::vector<std::string>& args,
                       e2e::Millis deadline = e2e::kDeadline);

// True when the supervisord under test was built with AddressSanitizer.
bool asan_build();
// Waits for d to exit (after a shutdown or SIGTERM the caller sent) and
// checks exit status 0 and no sanitizer report (leak, address, undefined
// behaviour) on its stderr.
void check_clean_exit(e2e::Daemon& d);
// Deadlines and latency bounds are multiplied by this: 3 under ASan (the
// instrumented daemon is several times slower), else 1.
int slowdown();

// utime + stime of pid in seconds; -1 when unreadable.
double cpu_seconds(pid_t pid);
// VmRSS of pid in kB; -1 when unreadable.
long rss_kb(pid_t pid);
// Bytes pid has passed to write(2) and friends (/proc/<pid>/io wchar); -1 when unreadable.
long long bytes_written(pid_t pid);

// Live (non-zombie) processes whose process group is pgid.
std::vector<pid_t> group_members(pid_t pgid);
// Children of pid that are zombies (exited, not yet reaped).
std::size_t zombie_children(pid_t pid);
// Live processes whose command line (argv joined with ' ') is exactly cmdline.
std::vector<pid_t> pids_running(std::string_view cmdline);
// SIGKILLs every pid in pids (ignoring those already gone).
void kill_all(const std::vector<pid_t>& pids);

// Debian's supervisord 4.2.5 (the behavioural oracle); "" when not installed.
std::string oracle_supervisord();
// While alive, e2e::Daemon::start() launches `path` instead of $SUPERVISORD.
class UseSupervisord {
 public:
  explicit UseSupervisord(const std::string& path);
  ~UseSupervisord();
  UseSupervisord(const UseSupervisord&) = delete;
  UseSupervisord& operator=(const UseSupervisord&) = delete;

 private:
  std::string saved_;
  bool had_ = false;
};

}  // namespace faults
