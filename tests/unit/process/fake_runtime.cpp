#include "fake_runtime.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <stdexcept>

#include "logging/daemon_log.hpp"
#include "process/supervisor.hpp"

namespace sup {

std::ostream& operator<<(std::ostream& os, ProcessState s) { return os << to_string(s); }

}  // namespace sup

namespace sup::testing {

int exited_with(int code) { return W_EXITCODE(code, 0); }

int killed_by(int sig, bool core) { return sig | (core ? WCOREFLAG : 0); }

// Shared between a FakeTimer (its owner) and the runtime's list; the
// runtime holds it weakly, so a destroyed timer simply disappears.
struct FakeRuntime::TimerEntry {
  bool armed = false;
  TimePoint deadline{};
  std::uint64_t seq = 0;
  std::function<void()> fire;
};

class FakeRuntime::FakeTimer : public Timer {
 public:
  FakeTimer(FakeRuntime& rt, std::shared_ptr<TimerEntry> entry) : rt_(rt), entry_(std::move(entry)) {}
  ~FakeTimer() override { cancel(); }
  void arm(Duration after, std::function<void()> fire) override {
    if (after < Duration(0)) throw std::logic_error("Timer::arm with a negative delay");
    entry_->armed = true;
    entry_->deadline = rt_.now_ + after;
    entry_->seq = rt_.next_seq_++;
    entry_->fire = std::move(fire);
  }
  void cancel() override {
    entry_->armed = false;
    entry_->fire = nullptr;
  }
  bool armed() const override { return entry_->armed; }

 private:
  FakeRuntime& rt_;
  std::shared_ptr<TimerEntry> entry_;
};

FakeRuntime::FakeRuntime() : start_(SteadyClock::now()), now_(start_) {}

FakeRuntime::~FakeRuntime() = default;

double FakeRuntime::wall_time() const {
  return kWallStart + std::chrono::duration<double>(now_ - start_).count();
}

std::unique_ptr<Timer> FakeRuntime::make_timer() {
  auto entry = std::make_shared<TimerEntry>();
  timers_.push_back(entry);
  return std::make_unique<FakeTimer>(*this, std::move(entry));
}

void FakeRuntime::post(std::function<void()> fn) { posted_.push_back(std::move(fn)); }

void FakeRuntime::run_posted() {
  // A state machine that keeps posting work to itself would hang a real
  // daemon's loop at full CPU; here it fails the test instead.
  int budget = 100000;
  while (!posted_.empty()) {
    if (--budget == 0) throw std::runtime_error("posted functions keep posting more work");
    auto fn = std::move(posted_.front());
    posted_.pop_front();
    fn();
  }
}

void FakeRuntime::advance(Duration d) {
  if (d < Duration(0)) throw std::logic_error("FakeRuntime::advance with a negative duration");
  const TimePoint target = now_ + d;
  run_posted();
  for (;;) {
    std::erase_if(timers_, [](const auto& w) { return w.expired(); });
    std::shared_ptr<TimerEntry> due;
    for (const auto& w : timers_) {
      auto e = w.lock();
      if (!e || !e->armed || e->deadline > target) continue;
      if (!due || e->deadline < due->deadline || (e->deadline == due->deadline && e->seq < due->seq))
        due = e;
    }
    if (!due) break;
    now_ = std::max(now_, due->deadline);
    auto fire = std::move(due->fire);
    due->armed = false;
    due->fire = nullptr;
    if (fire) fire();
    run_posted();
  }
  now_ = target;
  run_posted();
}

Duration FakeRuntime::elapsed() const { return std::chrono::duration_cast<Duration>(now_ - start_); }

std::size_t FakeRuntime::armed_timers() const {
  std::size_t n = 0;
  for (const auto& w : timers_)
    if (auto e = w.lock(); e && e->armed) ++n;
  return n;
}

std::optional<Duration> FakeRuntime::next_deadline() const {
  std::optional<Duration> best;
  for (const auto& w : timers_) {
    auto e = w.lock();
    if (!e || !e->armed) continue;
    auto left = std::chrono::duration_cast<Duration>(e->deadline - now_);
    if (!best || left < *best) best = left;
  }
  return best;
}

Result<SpawnedChild> FakeRuntime::spawn(const SpawnSpec& spec) {
  SpawnCall call{spec, 0, elapsed()};
  if (spawn_error) {
    spawns.push_back(std::move(call));
    return Error{*spawn_error};
  }
  SpawnedChild child;
  child.pid = next_pid_++;
  call.pid = child.pid;
  spawns.push_back(std::move(call));
  return child;
}

int FakeRuntime::kill(pid_t pid, int sig, bool group) {
  kills.push_back(KillCall{pid, sig, group});
  return kill_errno;
}

std::unique_ptr<OutputWatch> FakeRuntime::watch_output(UniqueFd, std::function<void(std::string_view)>,
                                                       std::function<void()>) {
  return nullptr;
}

namespace {
class FakeProbeHandle : public health::ProbeHandle {
 public:
  explicit FakeProbeHandle(std::shared_ptr<FakeRuntime::ProbeCall> call) : call_(std::move(call)) {}
  ~FakeProbeHandle() override {
    if (!call_->finished) call_->cancelled = true;
  }

 private:
  std::shared_ptr<FakeRuntime::ProbeCall> call_;
};
}  // namespace

std::unique_ptr<health::ProbeHandle> FakeRuntime::start_probe(const ProbeRequest& req, health::ProbeDone done) {
  auto call = std::make_shared<ProbeCall>();
  call->req = req;
  call->at = elapsed();
  call->done = std::move(done);
  probes.push_back(call);
  return std::make_unique<FakeProbeHandle>(call);
}

bool FakeRuntime::claim_exit(pid_t, int) { return false; }

namespace {
class FakeNotifyListener : public health::NotifyListener {
 public:
  explicit FakeNotifyListener(std::shared_ptr<FakeRuntime::NotifyEntry> e) : entry_(std::move(e)) {}
  ~FakeNotifyListener() override { entry_->open = false; }
  const std::string& address() const override { return entry_->address; }

 private:
  std::shared_ptr<FakeRuntime::NotifyEntry> entry_;
};
}  // namespace

Result<std::unique_ptr<health::NotifyListener>> FakeRuntime::open_notify(
    std::function<void(std::string_view)> on_datagram) {
  auto e = std::make_shared<NotifyEntry>();
  e->address = "@fake-notify/" + std::to_string(notify_listeners.size() + 1);
  e->on_datagram = std::move(on_datagram);
  notify_listeners.push_back(e);
  return std::unique_ptr<health::NotifyListener>(std::make_unique<FakeNotifyListener>(e));
}

void FakeRuntime::notify(const std::string& datagram) {
  for (auto it = notify_listeners.rbegin(); it != notify_listeners.rend(); ++it) {
    if (!(*it)->open) continue;
    auto cb = (*it)->on_datagram;
    cb(datagram);
    run_posted();
    return;
  }
  throw std::logic_error("FakeRuntime::notify: no open notify listener");
}

std::size_t FakeRuntime::open_notify_listeners() const {
  std::size_t n = 0;
  for (const auto& e : notify_listeners) n += e->open ? 1 : 0;
  return n;
}

FakeRuntime::ProbeCall* FakeRuntime::pending_probe() const {
  for (auto it = probes.rbegin(); it != probes.rend(); ++it)
    if (!(*it)->cancelled && !(*it)->finished) return it->get();
  return nullptr;
}

void FakeRuntime::finish_probe(bool ok, const std::string& detail) {
  ProbeCall* call = pending_probe();
  if (!call) throw std::logic_error("FakeRuntime::finish_probe: no pending probe");
  call->finished = true;
  auto done = call->done;
  done(health::ProbeOutcome{ok, detail});
  run_posted();
}

void FakeRuntime::exit(pid_t pid, int wait_status) {
  if (!supervisor_) throw std::logic_error("FakeRuntime::exit before attach()");
  supervisor_->on_child_exit(pid, wait_status);
  run_posted();
}

pid_t FakeRuntime::last_pid() const {
  for (auto it = spawns.rbegin(); it != spawns.rend(); ++it)
    if (it->pid != 0) return it->pid;
  return 0;
}

std::size_t FakeRuntime::successful_spawns() const {
  return static_cast<std::size_t>(
      std::count_if(spawns.begin(), spawns.end(), [](const SpawnCall& c) { return c.pid != 0; }));
}

config::ProcessConfig program(const std::string& name, std::vector<std::string> argv) {
  config::ProcessConfig p;
  p.name = name;
  p.group = name;
  p.program = name;
  p.argv = std::move(argv);
  for (const auto& a : p.argv) p.command += (p.command.empty() ? "" : " ") + a;
  p.stdout_log.kind = config::LogTarget::Kind::None;
  p.stderr_log.kind = config::LogTarget::Kind::None;
  return p;
}

config::GroupConfig group_of(config::ProcessConfig p) {
  config::GroupConfig g;
  g.name = p.group;
  g.priority = p.priority;
  g.processes.push_back(std::move(p));
  return g;
}

config::GroupConfig group(const std::string& name, int priority, std::vector<config::ProcessConfig> procs) {
  config::GroupConfig g;
  g.name = name;
  g.priority = priority;
  g.heterogeneous = true;
  for (auto& p : procs) p.group = name;
  g.processes = std::move(procs);
  return g;
}

config::Config config_of(std::vector<config::GroupConfig> groups) {
  config::Config c;
  c.path = "/etc/supervisor/supervisord.conf";
  c.groups = std::move(groups);
  return c;
}

std::ostream& operator<<(std::ostream& os, const Transition& t) {
  return os << t.namespec << ": " << to_string(t.from) << " -> " << to_string(t.to);
}

Harness::Harness(config::Config config, Env env, bool start_now)
    : sup(std::make_unique<Supervisor>(rt, std::move(config), std::move(env))) {
  // The daemon log would repeat every transition on stderr; failures are what matter here.
  log::set_level(log::Level::Critical);
  rt.attach(*sup);
  sup->subscribe([this](Process& p, ProcessState from, ProcessState to) {
    transitions.push_back(Transition{p.namespec(), from, to});
  });
  if (start_now) start();
}

void Harness::start() {
  sup->start();
  rt.run_posted();
}

Process& Harness::proc(const std::string& namespec) const {
  Process* p = sup->find_process(namespec);
  if (!p) throw std::runtime_error("no process named '" + namespec + "'");
  return *p;
}

std::vector<Transition> Harness::transitions_of(const std::string& namespec) const {
  std::vector<Transition> out;
  for (const auto& t : transitions)
    if (t.namespec == namespec) out.push_back(t);
  return out;
}

std::string Harness::edges_of(const std::string& namespec) const {
  std::string out;
  for (const auto& t : transitions) {
    if (t.namespec != namespec) continue;
    if (!out.empty()) out += ' ';
    out += std::string(to_string(t.from)) + "->" + std::string(to_string(t.to));
  }
  return out;
}

}  // namespace sup::testing
