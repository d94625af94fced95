#include "process/asio_runtime.hpp"

#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>

#include "logging/pipe_reader.hpp"
#include "spawn/spawner.hpp"

namespace sup {
namespace {

class AsioTimer : public Timer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}
  ~AsioTimer() override { cancel(); }
  void arm(Duration after, std::function<void()> fire) override {
    timer_.expires_after(after);
    armed_ = true;
    unsigned gen = ++generation_;
    timer_.async_wait([this, gen, alive = std::weak_ptr<bool>(alive_),
                       fire = std::move(fire)](const boost::system::error_code& ec) {
      if (ec || alive.expired() || gen != generation_) return;
      armed_ = false;
      fire();
    });
  }
  void cancel() override {
    ++generation_;
    armed_ = false;
    timer_.cancel();
  }
  bool armed() const override { return armed_; }

 private:
  // The io_context's own executor type, not the type-erased default: 32
  // bytes less per timer, one per program (issue 7).
  boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                    boost::asio::io_context::executor_type>
      timer_;
  bool armed_ = false;
  unsigned generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class PipeWatch : public OutputWatch {
 public:
  PipeWatch(boost::asio::io_context& io, UniqueFd fd, std::function<void(std::string_view)> on_data,
            std::function<void()> on_eof)
      : reader_(io, fd.release(), std::move(on_data), std::move(on_eof)) {}

 private:
  logging::PipeReader reader_;
};

}  // namespace

TimePoint AsioRuntime::now() const { return SteadyClock::now(); }

double AsioRuntime::wall_time() const {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::unique_ptr<Timer> AsioRuntime::make_timer() { return std::make_unique<AsioTimer>(io_); }

void AsioRuntime::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

Result<SpawnedChild> AsioRuntime::spawn(const SpawnSpec& spec) {
  std::string name = spec.argv.empty() ? spec.filename : spec.argv[0];
  for (const auto& kv : spec.env)
    if (kv.rfind("SUPERVISOR_PROCESS_NAME=", 0) == 0) name = kv.substr(24);
  return spawn_child(spec, name);
}

int AsioRuntime::kill(pid_t pid, int sig, bool group) {
  if (pid <= 0) return ESRCH;
  if (::kill(group ? -pid : pid, sig) == 0) return 0;
  return errno;
}

std::unique_ptr<OutputWatch> AsioRuntime::watch_output(UniqueFd fd,
                                                       std::function<void(std::string_view)> on_data,
                                                       std::function<void()> on_eof) {
  return std::make_unique<PipeWatch>(io_, std::move(fd), std::move(on_data), std::move(on_eof));
}

std::unique_ptr<health::ProbeHandle> AsioRuntime::start_probe(const ProbeRequest& req, health::ProbeDone done) {
  const config::HealthCheck& hc = req.check;
  switch (hc.kind) {
    case config::HealthCheck::Kind::Tcp:
      return health::start_tcp_probe(io_, hc.host, hc.port, req.timeout, std::move(done));
    case config::HealthCheck::Kind::Http:
      return health::start_http_probe(io_, hc.host, hc.port, hc.path, req.timeout, std::move(done));
    case config::HealthCheck::Kind::Exec:
      return exec_probes_.start(req.exec, req.name, req.timeout, std::move(done));
    case config::HealthCheck::Kind::None:
      break;
  }
  return nullptr;
}

bool AsioRuntime::claim_exit(pid_t pid, int wait_status) { return exec_probes_.on_exit(pid, wait_status); }

Result<std::unique_ptr<health::NotifyListener>> AsioRuntime::open_notify(
    std::function<void(std::string_view)> on_datagram) {
  return health::open_notify_listener(io_, std::move(on_datagram));
}

}  // namespace sup
