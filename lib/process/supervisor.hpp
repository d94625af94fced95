// Supervisor: the process groups, the daemon's mood, and the orchestration
// of start-up, ordered shutdown/restart, reread/update. Owns every Process.
// Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.hpp"
#include "process/process.hpp"
#include "process/runtime.hpp"
#include "process/state.hpp"

namespace sup {

namespace config {
struct ConfigDiff;
}
namespace sockets {
class SocketStore;
}

class ProcessGroup {
 public:
  // Shares the configuration its processes were made from (each process's
  // ProcessConfig points into it): no copy per group (issue 7).
  explicit ProcessGroup(std::shared_ptr<const config::GroupConfig> config);
  // The group's configuration as loaded (processes in config order), for
  // reread's diff against a fresh configuration.
  const config::GroupConfig& config() const { return *config_; }
  const std::string& name() const { return config_->name; }
  int priority() const { return config_->priority; }
  // Adds a process; call in config order.
  void add(std::unique_ptr<Process> p);
  // Sorts processes by (priority, name).
  void sort();
  // Sorted by (priority, name).
  std::vector<std::unique_ptr<Process>>& processes() { return processes_; }
  const std::vector<std::unique_ptr<Process>>& processes() const { return processes_; }
  Process* find(const std::string& name) const;
  // supervisord's group stop_all: RUNNING/STARTING -> STOPPING (descending
  // priority), BACKOFF -> FATAL.
  void stop_all(const std::string& why);
  std::vector<Process*> unstopped() const;

 private:
  std::shared_ptr<const config::GroupConfig> config_;
  std::vector<std::unique_ptr<Process>> processes_;
};

class Supervisor : public ProcessHost {
 public:
  using StateListener = std::function<void(Process&, ProcessState from, ProcessState to)>;

  // env: the daemon's environment (children inherit it).
  Supervisor(Runtime& rt, config::Config config, std::vector<std::pair<std::string, std::string>> env);
  ~Supervisor() override;

  Runtime& runtime() { return rt_; }
  // [supervisord] settings and the like; the groups are in configured().
  const config::Config& config() const { return config_; }
  // The groups of the last configuration read (start, or reread), active
  // or not, in its order. Active processes share these settings.
  const std::vector<std::shared_ptr<const config::GroupConfig>>& configured() const { return configured_; }
  SupervisorState mood() const { return mood_; }

  // Adds every configured group and starts the autostart processes.
  // launched (optional) runs once, from the event loop, when the last
  // autostart process has been given its first transition (spawned, or
  // left waiting for its dependencies): the start-up batch is over.
  void start(std::function<void()> launched = {});

  // Groups in (priority, name) order.
  const std::vector<std::unique_ptr<ProcessGroup>>& groups() const { return groups_; }
  ProcessGroup* find_group(const std::string& name) const;
  // "group:name", or "name" for a process whose group has the same name.
  Process* find_process(const std::string& namespec) const;
  // Every process, sorted by (group name, process name) as getAllProcessInfo lists them.
  std::vector<Process*> all_processes_by_name() const;

  // Ordered stop of everything (descending priority, group by group), then
  // done(). mood becomes Shutdown or Restarting. A shutdown request during a
  // restart turns it into a shutdown; a restart request during a shutdown is ignored.
  void shutdown(std::function<void()> done);
  void restart(std::function<void()> done);

  // Reaper entry point.
  void on_child_exit(pid_t pid, int wait_status);

  // reread: remember a freshly parsed configuration and report what differs
  // from the active groups (added, changed, removed group names).
  config::ConfigDiff reload_config(config::Config fresh);
  // update/add: create the group from the last configuration read.
  // Returns false when no such group is configured.
  enum class AddResult { Added, AlreadyAdded, NoSuchGroup };
  AddResult add_group(const std::string& name);
  enum class RemoveResult { Removed, StillRunning, NoSuchGroup };
  RemoveResult remove_group(const std::string& name);

  int subscribe(StateListener listener);
  void unsubscribe(int id);

  // depends_on= (issue 5), resolved against the active groups: the processes
  // p depends on, and the processes that depend on p.
  std::vector<Process*> dependencies_of(const Process& p) const;
  std::vector<Process*> dependents_of(const Process& p) const;
  // A start request (startProcess) honouring depends_on=: spawns p now when
  // every dependency is RUNNING and returns true. Otherwise starts the
  // dependencies that are stopped (theirs first, recursively), returns false,
  // and spawns p once they are all RUNNING; if one enters FATAL, p stays
  // STOPPED with a spawnerr naming it. The caller has checked p's state.
  bool request_start(Process& p);
  // True while p waits for its dependencies before spawning.
  bool is_waiting(const Process& p) const { return waiting_.count(key(p)) != 0; }

  // Reopens every child log (SIGUSR2).
  void reopen_logs();

  // The daemon's socket store (socket=, issue 6). It outlives every
  // Supervisor generation; groups claim their sockets when added and release
  // them when removed. Without a store, programs with socket= can't spawn.
  void set_socket_store(sockets::SocketStore* store) { sockets_ = store; }
  // Binds (or re-claims) the sockets of every process of gc.
  Status claim_sockets(const config::GroupConfig& gc);

  // ProcessHost
  bool may_start() const override { return mood_ == SupervisorState::Running; }
  std::vector<std::pair<std::string, std::string>> base_environment(const Process&) const override;
  std::string auto_server_url() const override;
  void on_state_change(Process& p, ProcessState from, ProcessState to) override;
  void on_pid_change(Process& p, pid_t old_pid, pid_t new_pid) override;
  Result<std::vector<int>> listen_fds(const Process& p) override;
  bool admit_autostart(Process& p) override;
  bool admit_respawn(Process& p) override;

 private:
  void open_respawn_turn();
  void respawn_step();
  std::unique_ptr<ProcessGroup> make_group(const std::shared_ptr<const config::GroupConfig>& gc);
  std::shared_ptr<const config::GroupConfig> find_configured(const std::string& name) const;
  void set_configured(std::vector<config::GroupConfig> groups);
  void begin_stop(SupervisorState mood, std::function<void()> done);
  void advance_stop();
  void sort_groups();
  void autostart_step();
  static std::string key(const Process& p) { return p.group() + ":" + p.name(); }
  bool start_with_dependencies(Process& p, size_t depth);
  void start_waiters();
  void abandon_waiters(const Process& dep, const std::string& why);
  // Ordered stop: stops p's dependents first; p itself once they are stopped.
  void stop_after_dependents(Process& p, const std::string& why, size_t depth);
  size_t process_count() const;

  Runtime& rt_;
  config::Config config_;  // without its groups: see configured_
  std::vector<std::shared_ptr<const config::GroupConfig>> configured_;
  std::vector<std::pair<std::string, std::string>> env_;
  SupervisorState mood_ = SupervisorState::Running;
  std::vector<std::unique_ptr<ProcessGroup>> groups_;
  std::unordered_map<std::string, ProcessGroup*> group_index_;  // name -> groups_ entry
  std::unordered_map<pid_t, Process*> by_pid_;
  std::map<int, StateListener> listeners_;
  int next_listener_ = 1;

  // Ordered stop in progress: groups still to stop, last = next.
  std::vector<std::string> stop_queue_;
  std::function<void()> stop_done_;
  bool stop_done_posted_ = false;
  bool advancing_ = false;
  std::string waiting_logged_;
  // Processes still to be given their first transition by start().
  std::deque<std::string> autostart_queue_;
  std::function<void()> on_launched_;  // start()'s callback, until it runs
  sockets::SocketStore* sockets_ = nullptr;
  // depends_on=: "group:name" of the processes waiting for their dependencies.
  std::set<std::string> waiting_;
  // Automatic restarts beyond one turn's budget, in arrival order.
  std::deque<std::string> respawn_queue_;
  std::set<std::string> respawn_queued_;
  bool respawn_turn_open_ = false;
  bool respawn_draining_ = false;
  TimePoint respawn_turn_end_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sup
