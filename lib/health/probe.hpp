// Health probes (issue 5): one asynchronous check of a service, on the
// daemon's io_context. tcp: a connection opens; http: a GET answered with a
// 2xx/3xx status; exec: a command that exits 0. Every probe is cut off at its
// timeout. Asio stays in probe.cpp; this header only forward-declares it.
// Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "spawn/spawn_spec.hpp"

namespace boost::asio {
class io_context;
}

namespace sup::health {

struct ProbeOutcome {
  bool ok = false;
  // What was checked and what came of it, for logs and getProcessInfo:
  // "GET http://127.0.0.1:8080/healthz: timeout after 5s", "GET ...: HTTP 200".
  std::string detail;
};
using ProbeDone = std::function<void(ProbeOutcome)>;

// A running probe. Destroying it cancels the probe: `done` is not called
// afterwards (an exec probe's child is killed).
class ProbeHandle {
 public:
  virtual ~ProbeHandle() = default;
};

// `done` runs exactly once from an io_context handler (never inside the call)
// unless the handle is destroyed first.
std::unique_ptr<ProbeHandle> start_tcp_probe(boost::asio::io_context& io, const std::string& host, int port,
                                             std::chrono::milliseconds timeout, ProbeDone done);
std::unique_ptr<ProbeHandle> start_http_probe(boost::asio::io_context& io, const std::string& host, int port,
                                              const std::string& path, std::chrono::milliseconds timeout,
                                              ProbeDone done);

// Exec probes: children spawned with spawn_child() and reaped by the daemon's
// single SIGCHLD reaper, which hands their pids to on_exit().
class ExecProbes {
 public:
  explicit ExecProbes(boost::asio::io_context& io);
  ~ExecProbes();
  ExecProbes(const ExecProbes&) = delete;
  ExecProbes& operator=(const ExecProbes&) = delete;

  // spec.filename must be resolved; name is used in messages.
  std::unique_ptr<ProbeHandle> start(const SpawnSpec& spec, const std::string& name,
                                     std::chrono::milliseconds timeout, ProbeDone done);
  // True when pid was an exec probe's child (the status is consumed).
  bool on_exit(pid_t pid, int wait_status);

  struct Running;

 private:
  boost::asio::io_context& io_;
  std::map<pid_t, std::shared_ptr<Running>> running_;
};

// "timeout after 5s" / "timeout after 1.5s"
std::string timeout_text(std::chrono::milliseconds timeout);

}  // namespace sup::health
