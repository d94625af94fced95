// AsioRuntime: the real Runtime, on the daemon's io_context.
#pragma once

#include "process/runtime.hpp"

namespace boost::asio {
class io_context;
}

namespace sup {

class AsioRuntime : public Runtime {
 public:
  explicit AsioRuntime(boost::asio::io_context& io) : io_(io) {}
  TimePoint now() const override;
  double wall_time() const override;
  std::unique_ptr<Timer> make_timer() override;
  void post(std::function<void()> fn) override;
  Result<SpawnedChild> spawn(const SpawnSpec& spec) override;
  int kill(pid_t pid, int sig, bool group) override;
  std::unique_ptr<OutputWatch> watch_output(UniqueFd fd, std::function<void(std::string_view)> on_data,
                                            std::function<void()> on_eof) override;
  std::unique_ptr<health::ProbeHandle> start_probe(const ProbeRequest& req, health::ProbeDone done) override;
  bool claim_exit(pid_t pid, int wait_status) override;
  Result<std::unique_ptr<health::NotifyListener>> open_notify(
      std::function<void(std::string_view)> on_datagram) override;
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context& io_;
  health::ExecProbes exec_probes_{io_};
};

}  // namespace sup
