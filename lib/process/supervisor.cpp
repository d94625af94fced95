#include "process/supervisor.hpp"

#include <algorithm>
#include <set>

#include "config/diff.hpp"
#include "logging/child_log.hpp"
#include "logging/daemon_log.hpp"
#include "sockets/socket_store.hpp"

namespace sup {

ProcessGroup::ProcessGroup(std::shared_ptr<const config::GroupConfig> config) : config_(std::move(config)) {}

void ProcessGroup::add(std::unique_ptr<Process> p) { processes_.push_back(std::move(p)); }

void ProcessGroup::sort() {
  std::stable_sort(processes_.begin(), processes_.end(), [](const auto& a, const auto& b) {
    if (a->config().priority != b->config().priority) return a->config().priority < b->config().priority;
    return a->name() < b->name();
  });
}

Process* ProcessGroup::find(const std::string& name) const {
  for (const auto& p : processes_)
    if (p->name() == name) return p.get();
  return nullptr;
}

namespace {

// supervisord's stop during shutdown/restart: RUNNING/STARTING -> STOPPING,
// BACKOFF -> FATAL; other states are left as they are.
void stop_for_shutdown(Process& p, const std::string& why) {
  switch (p.state()) {
    case ProcessState::Running:
    case ProcessState::Starting:
      p.stop(why);  // -> STOPPING
      break;
    case ProcessState::Backoff:
      p.give_up();  // BACKOFF -> FATAL
      log::info("gave up: {} entered FATAL state ({})", p.name(), why);
      break;
    case ProcessState::Stopped:
    case ProcessState::Stopping:
    case ProcessState::Exited:
    case ProcessState::Fatal:
    case ProcessState::Unknown:
      break;
  }
}

}  // namespace

void ProcessGroup::stop_all(const std::string& why) {
  // Descending priority: the reverse of start order.
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) stop_for_shutdown(**it, why);
}

std::vector<Process*> ProcessGroup::unstopped() const {
  std::vector<Process*> out;
  for (const auto& p : processes_)
    if (!is_stopped_state(p->state())) out.push_back(p.get());
  return out;
}

Supervisor::Supervisor(Runtime& rt, config::Config config,
                       std::vector<std::pair<std::string, std::string>> env)
    : rt_(rt), config_(std::move(config)), env_(std::move(env)) {
  set_configured(std::move(config_.groups));
  config_.groups.clear();
  // [supervisord] environment= is layered over the daemon's own environment.
  for (const auto& [k, v] : config_.supervisord.environment) {
    // (clang 14 cannot capture a structured binding: name it in an init-capture.)
    auto it = std::find_if(env_.begin(), env_.end(), [&key = k](const auto& p) { return p.first == key; });
    if (it != env_.end())
      it->second = v;
    else
      env_.emplace_back(k, v);
  }
}

Supervisor::~Supervisor() {
  *alive_ = false;
  // Processes must not call back into a half-destroyed supervisor.
  listeners_.clear();
  group_index_.clear();
  groups_.clear();
}

void Supervisor::sort_groups() {
  std::stable_sort(groups_.begin(), groups_.end(), [](const auto& a, const auto& b) {
    if (a->priority() != b->priority()) return a->priority() < b->priority();
    return a->name() < b->name();
  });
}

void Supervisor::set_configured(std::vector<config::GroupConfig> groups) {
  configured_.clear();
  configured_.reserve(groups.size());
  for (auto& g : groups) configured_.push_back(std::make_shared<const config::GroupConfig>(std::move(g)));
}

std::shared_ptr<const config::GroupConfig> Supervisor::find_configured(const std::string& name) const {
  for (const auto& c : configured_)
    if (c->name == name) return c;
  return nullptr;
}

std::unique_ptr<ProcessGroup> Supervisor::make_group(const std::shared_ptr<const config::GroupConfig>& shared) {
  const config::GroupConfig& gc = *shared;
  auto group = std::make_unique<ProcessGroup>(shared);
  for (const auto& pc : gc.processes) {
    // Shares the group's copy (aliasing: keeps the whole group alive).
    auto proc = std::make_unique<Process>(std::shared_ptr<const config::ProcessConfig>(shared, &pc), rt_, *this);
    auto make_log = [&](const config::LogTarget& target, const char* channel)
        -> std::unique_ptr<logging::ChannelLog> {
      config::LogTarget t = target;
      if (t.kind == config::LogTarget::Kind::Auto) {
        t.kind = config::LogTarget::Kind::File;
        t.path = logging::make_auto_log_path(config_.supervisord.childlogdir, pc.name, channel,
                                             config_.supervisord.identifier);
      }
      return std::make_unique<logging::ChannelLog>(t, pc.name, channel,
                                                   config_.supervisord.strip_ansi);
    };
    auto out = make_log(pc.stdout_log, "stdout");
    std::unique_ptr<logging::ChannelLog> err;
    if (!pc.redirect_stderr) err = make_log(pc.stderr_log, "stderr");
    proc->set_logs(std::move(out), std::move(err));
    group->add(std::move(proc));
  }
  group->sort();
  return group;
}

void Supervisor::start(std::function<void()> launched) {
  on_launched_ = std::move(launched);
  for (const auto& gc : configured_) {
    if (find_group(gc->name)) continue;
    if (Status st = claim_sockets(*gc); !st) log::error("{}", st.error());
    groups_.push_back(make_group(gc));
    group_index_[gc->name] = groups_.back().get();
    log::info("added process group {}", gc->name);
  }
  sort_groups();
  // Autostart in priority order (lower first, within and across groups), in
  // batches so that the control socket keeps answering during a mass start.
  autostart_queue_.clear();
  for (const auto& g : groups_)
    for (const auto& p : g->processes()) autostart_queue_.push_back(g->name() + ":" + p->name());
  autostart_step();
}

void Supervisor::autostart_step() {
  // A batch ends after ~2 ms (at least one spawn), so a request waiting on
  // the control socket is served between batches even when forks are slow.
  constexpr auto kBatchTime = std::chrono::milliseconds(2);
  const TimePoint batch_end = rt_.now() + kBatchTime;
  int n = 0;
  while (!autostart_queue_.empty() && (n == 0 || rt_.now() < batch_end)) {
    std::string spec = std::move(autostart_queue_.front());
    autostart_queue_.pop_front();
    if (Process* p = find_process(spec)) {
      p->transition();
      ++n;
    }
  }
  if (autostart_queue_.empty()) {
    if (auto done = std::exchange(on_launched_, nullptr)) done();
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  rt_.post([this, alive] {
    if (auto a = alive.lock(); a && *a) autostart_step();
  });
}

ProcessGroup* Supervisor::find_group(const std::string& name) const {
  auto it = group_index_.find(name);
  return it == group_index_.end() ? nullptr : it->second;
}

Process* Supervisor::find_process(const std::string& namespec) const {
  auto colon = namespec.find(':');
  if (colon == std::string::npos) {
    ProcessGroup* g = find_group(namespec);
    return g ? g->find(namespec) : nullptr;
  }
  ProcessGroup* g = find_group(namespec.substr(0, colon));
  return g ? g->find(namespec.substr(colon + 1)) : nullptr;
}

std::vector<Process*> Supervisor::all_processes_by_name() const {
  std::vector<Process*> all;
  for (const auto& g : groups_)
    for (const auto& p : g->processes()) all.push_back(p.get());
  std::sort(all.begin(), all.end(), [](const Process* a, const Process* b) {
    if (a->group() != b->group()) return a->group() < b->group();
    return a->name() < b->name();
  });
  return all;
}

void Supervisor::shutdown(std::function<void()> done) { begin_stop(SupervisorState::Shutdown, std::move(done)); }
void Supervisor::restart(std::function<void()> done) { begin_stop(SupervisorState::Restarting, std::move(done)); }

void Supervisor::begin_stop(SupervisorState mood, std::function<void()> done) {
  if (mood_ == SupervisorState::Shutdown) return;  // already shutting down: ignore
  bool already_stopping = mood_ == SupervisorState::Restarting;
  mood_ = mood;
  stop_done_ = std::move(done);
  if (already_stopping) return;  // the stop in progress continues, with the new outcome
  stop_queue_.clear();
  waiting_.clear();  // nothing starts any more
  for (const auto& g : groups_) stop_queue_.push_back(g->name());  // ascending: back is stopped first
  advance_stop();
}

void Supervisor::advance_stop() {
  if (mood_ == SupervisorState::Running || advancing_) return;
  advancing_ = true;
  const char* why = mood_ == SupervisorState::Shutdown ? "supervisord shutting down"
                                                        : "supervisord restarting";
  while (!stop_queue_.empty()) {
    ProcessGroup* g = find_group(stop_queue_.back());
    if (!g) {
      stop_queue_.pop_back();
      continue;
    }
    // Descending priority, except that a process outlives its dependents.
    for (auto it = g->processes().rbegin(); it != g->processes().rend(); ++it)
      stop_after_dependents(**it, why, 0);
    auto left = g->unstopped();
    if (!left.empty()) {
      std::string names;
      for (auto* p : left) names += (names.empty() ? "" : ", ") + p->name();
      if (names != waiting_logged_) {
        log::info("waiting for {} to die", names);
        waiting_logged_ = names;
      }
      advancing_ = false;
      return;
    }
    stop_queue_.pop_back();
  }
  // Groups added while stopping, or processes restarted meanwhile, are stopped too.
  for (const auto& g : groups_) {
    if (!g->unstopped().empty()) {
      stop_queue_.push_back(g->name());
      advancing_ = false;
      advance_stop();
      return;
    }
  }
  advancing_ = false;
  if (stop_done_ && !stop_done_posted_) {
    stop_done_posted_ = true;
    rt_.post([this] {
      stop_done_posted_ = false;
      auto done = std::move(stop_done_);
      stop_done_ = nullptr;
      if (done) done();
    });
  }
}

void Supervisor::on_child_exit(pid_t pid, int wait_status) {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) {
    if (rt_.claim_exit(pid, wait_status)) return;  // a health probe's child
    log::info("reaped unknown pid {} ({})", pid, ExitStatus::from_wait_status(wait_status).describe());
    return;
  }
  Process* p = it->second;
  p->on_exit(wait_status);
}

config::ConfigDiff Supervisor::reload_config(config::Config fresh) {
  std::vector<config::GroupConfig> active;
  for (const auto& g : groups_) active.push_back(g->config());
  config::ConfigDiff diff = config::diff_groups(active, fresh.groups);
  // Only the group definitions are taken from a reread; [supervisord] settings
  // need a restart, as with supervisord.
  set_configured(std::move(fresh.groups));
  return diff;
}

Supervisor::AddResult Supervisor::add_group(const std::string& name) {
  std::shared_ptr<const config::GroupConfig> gc = find_configured(name);
  if (!gc) return AddResult::NoSuchGroup;
  if (find_group(name)) return AddResult::AlreadyAdded;
  // A bind failure is reported here and again as the process's spawn error.
  if (Status st = claim_sockets(*gc); !st) log::error("{}", st.error());
  groups_.push_back(make_group(gc));
  group_index_[name] = groups_.back().get();
  sort_groups();
  log::info("added process group {}", name);
  if (ProcessGroup* g = find_group(name))
    for (const auto& p : g->processes()) p->transition();
  return AddResult::Added;
}

Supervisor::RemoveResult Supervisor::remove_group(const std::string& name) {
  auto it = std::find_if(groups_.begin(), groups_.end(), [&](const auto& g) { return g->name() == name; });
  if (it == groups_.end()) return RemoveResult::NoSuchGroup;
  if (!(*it)->unstopped().empty()) return RemoveResult::StillRunning;
  for (const auto& p : (*it)->processes()) {
    if (p->pid()) by_pid_.erase(p->pid());
    waiting_.erase(key(*p));
  }
  group_index_.erase(name);
  groups_.erase(it);
  if (sockets_) {
    // A group that is still configured (update of a changed program: remove,
    // then add) keeps the sockets its configuration still lists, so that
    // changing the command refuses no connections. The others are closed
    // unless another group uses them.
    std::set<std::string> keep;
    if (auto c = find_configured(name))
      for (const auto& pc : c->processes) keep.insert(pc.sockets.begin(), pc.sockets.end());
    sockets_->release(name, keep);
  }
  log::info("removed process group {}", name);
  return RemoveResult::Removed;
}

int Supervisor::subscribe(StateListener listener) {
  int id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void Supervisor::unsubscribe(int id) { listeners_.erase(id); }

void Supervisor::reopen_logs() {
  for (const auto& g : groups_)
    for (const auto& p : g->processes()) {
      // A failed reopen keeps writing to the old file; say so, once per SIGUSR2.
      for (auto* l : {p->stdout_log(), p->stderr_log()})
        if (l)
          if (Status st = l->reopen(); !st) log::error("{}: {}", p->name(), st.error());
    }
}

std::vector<std::pair<std::string, std::string>> Supervisor::base_environment(const Process&) const {
  return env_;
}

std::string Supervisor::auto_server_url() const {
  for (const auto& s : config_.servers)
    if (s.kind == config::HttpServerConfig::Kind::Unix) return "unix://" + s.file;
  for (const auto& s : config_.servers)
    if (s.kind == config::HttpServerConfig::Kind::Inet)
      return "http://" + (s.host.empty() || s.host == "*" ? std::string("localhost") : s.host) + ":" +
             std::to_string(s.port);
  return "";
}

void Supervisor::on_state_change(Process& p, ProcessState from, ProcessState to) {
  // Listeners may unsubscribe (or subscribe) while being called.
  std::vector<int> ids;
  ids.reserve(listeners_.size());
  for (const auto& [id, fn] : listeners_) ids.push_back(id);
  for (int id : ids) {
    auto it = listeners_.find(id);
    if (it != listeners_.end()) {
      auto fn = it->second;  // copy: the listener may erase itself
      fn(p, from, to);
    }
  }
  if (to == ProcessState::Running && !waiting_.empty() && may_start()) {
    // Posted: the new RUNNING state is logged ("success: ...") before any
    // dependent is spawned.
    std::weak_ptr<bool> alive = alive_;
    rt_.post([this, alive] {
      if (auto a = alive.lock(); a && *a && may_start()) start_waiters();
    });
  }
  if (to == ProcessState::Fatal && !waiting_.empty())
    abandon_waiters(p, "dependency '" + p.name() + "' entered FATAL state");
  // Stopped by hand on its way up: what waited for it will not start either.
  // Posted: a health restart passes through STOPPED on its way to STARTING.
  if (to == ProcessState::Stopped && from != ProcessState::Stopped && !waiting_.empty() &&
      mood_ == SupervisorState::Running) {
    std::weak_ptr<bool> alive = alive_;
    rt_.post([this, alive, spec = key(p)] {
      auto a = alive.lock();
      if (!a || !*a || mood_ != SupervisorState::Running) return;
      Process* dep = find_process(spec);
      if (dep && dep->state() == ProcessState::Stopped)
        abandon_waiters(*dep, "dependency '" + dep->name() + "' was stopped");
    });
  }
  if (mood_ != SupervisorState::Running && is_stopped_state(to)) advance_stop();
}

size_t Supervisor::process_count() const {
  size_t n = 0;
  for (const auto& g : groups_) n += g->processes().size();
  return n;
}

std::vector<Process*> Supervisor::dependencies_of(const Process& p) const {
  std::vector<Process*> out;
  auto add = [&](Process* d) {
    if (d != &p && std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  };
  for (const std::string& entry : p.config().depends_on) {
    if (entry.size() > 2 && entry.compare(entry.size() - 2, 2, ":*") == 0) {
      if (ProcessGroup* g = find_group(entry.substr(0, entry.size() - 2)))
        for (const auto& q : g->processes()) add(q.get());
      continue;
    }
    for (const auto& g : groups_)
      for (const auto& q : g->processes())
        if (q->config().program == entry) add(q.get());
  }
  return out;
}

std::vector<Process*> Supervisor::dependents_of(const Process& p) const {
  std::vector<Process*> out;
  for (const auto& g : groups_)
    for (const auto& q : g->processes()) {
      if (q->config().depends_on.empty()) continue;
      auto deps = dependencies_of(*q);
      if (std::find(deps.begin(), deps.end(), &p) != deps.end()) out.push_back(q.get());
    }
  return out;
}

bool Supervisor::request_start(Process& p) { return start_with_dependencies(p, 0); }

bool Supervisor::start_with_dependencies(Process& p, size_t depth) {
  bool ready = true;
  for (Process* d : dependencies_of(p)) {
    if (d->state() == ProcessState::Running) continue;
    ready = false;
    // STARTING/BACKOFF/STOPPING ones, and those already waiting, get there by themselves.
    // The depth bound only matters for a cycle across configuration generations.
    bool startable = d->state() == ProcessState::Stopped || d->state() == ProcessState::Exited ||
                     d->state() == ProcessState::Fatal;
    if (startable && !is_waiting(*d) && depth < process_count()) {
      log::info("starting {}: {} depends on it", d->name(), p.name());
      start_with_dependencies(*d, depth + 1);
    }
  }
  if (ready) {
    waiting_.erase(key(p));
    p.spawn();
    return true;
  }
  if (waiting_.insert(key(p)).second) log::info("waiting: {} starts once its dependencies are RUNNING", p.name());
  return false;
}

// A turn of the event loop spends at most ~2 ms spawning automatic restarts
// (at least one); the rest wait in a queue drained in later turns, with
// the reactor (pipes, signals, the control socket) running in between.
void Supervisor::open_respawn_turn() {
  respawn_turn_open_ = true;
  respawn_turn_end_ = rt_.now() + std::chrono::milliseconds(2);
  std::weak_ptr<bool> alive = alive_;
  rt_.post([this, alive] {
    auto a = alive.lock();
    if (!a || !*a) return;
    respawn_turn_open_ = false;
    if (!respawn_queue_.empty()) respawn_step();
  });
}

bool Supervisor::admit_respawn(Process& p) {
  if (respawn_draining_) return true;
  if (!respawn_turn_open_) open_respawn_turn();
  if (respawn_queue_.empty() && rt_.now() < respawn_turn_end_) return true;
  if (respawn_queued_.insert(key(p)).second) respawn_queue_.push_back(key(p));
  return false;
}

void Supervisor::respawn_step() {
  open_respawn_turn();
  int n = 0;
  while (!respawn_queue_.empty() && (n == 0 || rt_.now() < respawn_turn_end_)) {
    std::string k = std::move(respawn_queue_.front());
    respawn_queue_.pop_front();
    respawn_queued_.erase(k);
    Process* p = find_process(k);
    if (!p) continue;  // removed meanwhile
    respawn_draining_ = true;
    p->transition();
    respawn_draining_ = false;
    ++n;
  }
}

bool Supervisor::admit_autostart(Process& p) {
  bool ready = true;
  for (Process* d : dependencies_of(p)) {
    if (d->state() == ProcessState::Running) continue;
    if (d->state() == ProcessState::Fatal) {
      waiting_.erase(key(p));
      p.abandon_start("dependency '" + d->name() + "' is in FATAL state");
      return false;
    }
    ready = false;
    // A dependency that will not start by itself (autostart=false, or stopped
    // earlier) is pulled in, as a start request would; autostart ones that
    // have not run yet come in their own turn.
    const bool startable = d->state() == ProcessState::Stopped || d->state() == ProcessState::Exited;
    const bool autostart_pending = d->config().autostart && d->laststart() == 0;
    if (startable && !autostart_pending && !is_waiting(*d)) {
      log::info("starting {}: {} depends on it", d->name(), p.name());
      start_with_dependencies(*d, 1);
    }
  }
  if (ready) {
    waiting_.erase(key(p));
    return true;
  }
  if (waiting_.insert(key(p)).second) log::info("waiting: {} starts once its dependencies are RUNNING", p.name());
  return false;
}

void Supervisor::start_waiters() {
  // Spawning changes states, which may call back here: work on a copy.
  std::vector<std::string> keys(waiting_.begin(), waiting_.end());
  for (const std::string& k : keys) {
    if (!waiting_.count(k) || !may_start()) continue;
    Process* w = find_process(k);
    if (!w || !is_stopped_state(w->state())) {  // removed, or started some other way
      waiting_.erase(k);
      continue;
    }
    auto deps = dependencies_of(*w);
    if (std::all_of(deps.begin(), deps.end(), [](Process* d) { return d->state() == ProcessState::Running; })) {
      waiting_.erase(k);
      log::info("dependencies of {} are RUNNING: starting it", w->name());
      w->spawn();
    }
  }
}

void Supervisor::abandon_waiters(const Process& dep, const std::string& why) {
  std::vector<std::string> keys(waiting_.begin(), waiting_.end());
  for (const std::string& k : keys) {
    if (!waiting_.count(k)) continue;
    Process* w = find_process(k);
    if (!w) {
      waiting_.erase(k);
      continue;
    }
    auto deps = dependencies_of(*w);
    if (std::find(deps.begin(), deps.end(), &dep) == deps.end()) continue;
    waiting_.erase(k);
    w->abandon_start(why);
    // Whatever waited for w will not start either.
    abandon_waiters(*w, "dependency '" + w->name() + "' did not start: " + why);
  }
}

void Supervisor::stop_after_dependents(Process& p, const std::string& why, size_t depth) {
  auto dependents = dependents_of(p);
  if (depth < process_count()) {
    for (Process* d : dependents)
      if (!is_stopped_state(d->state())) stop_after_dependents(*d, why, depth + 1);
    for (Process* d : dependents)
      if (!is_stopped_state(d->state())) return;  // p is stopped once they are
  }
  stop_for_shutdown(p, why);
}

Status Supervisor::claim_sockets(const config::GroupConfig& gc) {
  for (const auto& pc : gc.processes) {
    if (pc.sockets.empty()) continue;
    if (!sockets_) return Error{"program '" + pc.program + "' has socket= but the daemon holds no sockets"};
    auto fds = sockets_->acquire(gc.name, pc);
    if (!fds) return Error{"program '" + pc.program + "': " + fds.error()};
  }
  return {};
}

Result<std::vector<int>> Supervisor::listen_fds(const Process& p) {
  if (p.config().sockets.empty()) return std::vector<int>{};
  if (!sockets_) return Error{"the daemon holds no sockets for '" + p.name() + "'"};
  return sockets_->acquire(p.group(), p.config());
}

void Supervisor::on_pid_change(Process& p, pid_t old_pid, pid_t new_pid) {
  if (old_pid) by_pid_.erase(old_pid);
  if (new_pid) by_pid_[new_pid] = &p;
}

}  // namespace sup
