#include "health/probe.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <istream>

#include "logging/pipe_reader.hpp"
#include "spawn/spawner.hpp"
#include "util/nss.hpp"

namespace sup::health {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string timeout_text(std::chrono::milliseconds timeout) {
  auto ms = timeout.count();
  if (ms % 1000 == 0) return "timeout after " + std::to_string(ms / 1000) + "s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return std::string("timeout after ") + buf;
}

namespace {

// One network probe: resolve, connect, optionally GET, all under one timer.
// Shared by the handlers and the handle; whoever finishes first calls done.
struct NetProbe : std::enable_shared_from_this<NetProbe> {
  // The status line must fit in 8 KiB: a peer that never sends CRLF fails fast.
  NetProbe(asio::io_context& io) : resolver(io), socket(io), timer(io), response(8192) {}
  tcp::resolver resolver;
  std::vector<tcp::endpoint> endpoints_;
  tcp::socket socket;
  asio::steady_timer timer;
  asio::streambuf response;
  std::string request;
  std::string label;  // "GET http://h:p/path" or "connect h:p"
  bool http = false;
  bool finished = false;
  ProbeDone done;

  void finish(bool ok, const std::string& what) {
    if (finished) return;
    finished = true;
    boost::system::error_code ignored;
    timer.cancel();
    resolver.cancel();
    socket.close(ignored);
    auto cb = std::move(done);
    done = nullptr;
    if (cb) cb(ProbeOutcome{ok, label + ": " + what});
  }

  void start(const std::string& host, int port, std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    timer.expires_after(timeout);
    timer.async_wait([self, timeout](const boost::system::error_code& ec) {
      if (!ec) self->finish(false, timeout_text(timeout));
    });
    resolver.async_resolve(host, std::to_string(port),
                           [self, host, port](const boost::system::error_code& ec,
                                              tcp::resolver::results_type results) {
                             if (self->finished) return;
                             std::vector<tcp::endpoint> endpoints;
                             for (const auto& r : results) endpoints.push_back(r.endpoint());
                             // A name only NSS sources a static daemon can't load know
                             // (util/nss.hpp); rare, so asked synchronously.
                             if (ec)
                               for (const std::string& addr : nss::host_addresses_elsewhere(host)) {
                                 boost::system::error_code bad;
                                 auto ip = asio::ip::make_address(addr, bad);
                                 if (!bad) endpoints.emplace_back(ip, static_cast<unsigned short>(port));
                               }
                             if (endpoints.empty())
                               return self->finish(false, "cannot resolve: " +
                                                              (ec ? ec.message() : std::string("no address")));
                             self->connect(std::move(endpoints));
                           });
  }

  void connect(std::vector<tcp::endpoint> endpoints) {
    auto self = shared_from_this();
    endpoints_ = std::move(endpoints);
    asio::async_connect(socket, endpoints_, [self](const boost::system::error_code& ec, const tcp::endpoint&) {
      if (self->finished) return;
      if (ec) return self->finish(false, ec.message());
      if (!self->http) return self->finish(true, "connected");
      self->send();
    });
  }

  void send() {
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(request), [self](const boost::system::error_code& ec, std::size_t) {
      if (self->finished) return;
      if (ec) return self->finish(false, "send failed: " + ec.message());
      self->read_status();
    });
  }

  void read_status() {
    auto self = shared_from_this();
    asio::async_read_until(socket, response, "\r\n", [self](const boost::system::error_code& ec, std::size_t) {
      if (self->finished) return;
      if (ec) {
        if (ec == asio::error::eof) return self->finish(false, "connection closed without an answer");
        return self->finish(false, ec.message());
      }
      std::istream in(&self->response);
      std::string version;
      int code = 0;
      in >> version >> code;
      if (version.rfind("HTTP/", 0) != 0 || code < 100 || code > 999)
        return self->finish(false, "not an HTTP answer");
      self->finish(code >= 200 && code < 400, "HTTP " + std::to_string(code));
    });
  }
};

class NetHandle : public ProbeHandle {
 public:
  explicit NetHandle(std::shared_ptr<NetProbe> p) : probe_(std::move(p)) {}
  ~NetHandle() override {
    probe_->done = nullptr;  // no callback after the handle is gone
    probe_->finish(false, "cancelled");
  }

 private:
  std::shared_ptr<NetProbe> probe_;
};

std::string host_port(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::unique_ptr<ProbeHandle> start_tcp_probe(asio::io_context& io, const std::string& host, int port,
                                             std::chrono::milliseconds timeout, ProbeDone done) {
  auto p = std::make_shared<NetProbe>(io);
  p->label = "connect " + host_port(host, port);
  p->done = std::move(done);
  p->start(host, port, timeout);
  return std::make_unique<NetHandle>(p);
}

std::unique_ptr<ProbeHandle> start_http_probe(asio::io_context& io, const std::string& host, int port,
                                              const std::string& path, std::chrono::milliseconds timeout,
                                              ProbeDone done) {
  auto p = std::make_shared<NetProbe>(io);
  p->http = true;
  p->label = "GET http://" + host_port(host, port) + path;
  p->request = "GET " + path + " HTTP/1.0\r\nHost: " + host_port(host, port) +
               "\r\nUser-Agent: supervisord-healthcheck\r\nConnection: close\r\n\r\n";
  p->done = std::move(done);
  p->start(host, port, timeout);
  return std::make_unique<NetHandle>(p);
}

// An exec probe's child: running until reaped; its output is drained (and
// the tail kept for the detail) so that it never blocks on a full pipe.
struct ExecProbes::Running {
  Running(asio::io_context& io) : timer(io) {}
  pid_t pid = 0;
  std::string label;
  asio::steady_timer timer;
  std::unique_ptr<logging::PipeReader> out;
  std::unique_ptr<logging::PipeReader> err;
  std::string tail;
  bool finished = false;
  ProbeDone done;

  void finish(bool ok, const std::string& what) {
    if (finished) return;
    finished = true;
    timer.cancel();
    auto cb = std::move(done);
    done = nullptr;
    std::string detail = label + ": " + what;
    // Trim the output tail to its last line, which usually says why.
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    if (auto nl = tail.rfind('\n'); nl != std::string::npos) tail.erase(0, nl + 1);
    if (!ok && !tail.empty()) detail += " (" + tail + ")";
    if (cb) cb(ProbeOutcome{ok, detail});
  }
  void kill_child() {
    if (pid > 0) ::kill(-pid, SIGKILL);
  }
};

namespace {
class ExecHandle : public ProbeHandle {
 public:
  explicit ExecHandle(std::shared_ptr<ExecProbes::Running> r) : running_(std::move(r)) {}
  ~ExecHandle() override {
    running_->done = nullptr;
    if (!running_->finished) {
      running_->finished = true;
      running_->timer.cancel();
      running_->kill_child();  // still reaped through ExecProbes::on_exit
    }
  }

 private:
  std::shared_ptr<ExecProbes::Running> running_;
};
}  // namespace

ExecProbes::ExecProbes(asio::io_context& io) : io_(io) {}

ExecProbes::~ExecProbes() {
  for (auto& [pid, r] : running_) r->kill_child();
}

std::unique_ptr<ProbeHandle> ExecProbes::start(const SpawnSpec& spec, const std::string& name,
                                               std::chrono::milliseconds timeout, ProbeDone done) {
  auto r = std::make_shared<Running>(io_);
  r->label = "exec " + (spec.argv.empty() ? spec.filename : spec.argv[0]);
  r->done = std::move(done);
  Result<SpawnedChild> child = spawn_child(spec, name);
  if (!child) {
    std::string why = child.error();
    asio::post(io_, [r, why] { r->finish(false, why); });
    return std::make_unique<ExecHandle>(r);
  }
  r->pid = child->pid;
  child->stdin_fd.reset();
  std::weak_ptr<Running> weak = r;
  auto keep_tail = [weak](std::string_view data) {
    auto rr = weak.lock();
    if (!rr) return;
    rr->tail.append(data);
    if (rr->tail.size() > 4096) rr->tail.erase(0, rr->tail.size() - 4096);
  };
  if (child->stdout_fd.valid()) r->out = std::make_unique<logging::PipeReader>(io_, std::move(child->stdout_fd), keep_tail, [] {});
  if (child->stderr_fd.valid()) r->err = std::make_unique<logging::PipeReader>(io_, std::move(child->stderr_fd), keep_tail, [] {});
  r->timer.expires_after(timeout);
  r->timer.async_wait([weak, timeout](const boost::system::error_code& ec) {
    auto rr = weak.lock();
    if (ec || !rr || rr->finished) return;
    rr->kill_child();
    rr->finish(false, timeout_text(timeout));
  });
  running_[r->pid] = r;
  return std::make_unique<ExecHandle>(r);
}

bool ExecProbes::on_exit(pid_t pid, int wait_status) {
  auto it = running_.find(pid);
  if (it == running_.end()) return false;
  std::shared_ptr<Running> r = it->second;
  running_.erase(it);
  r->pid = 0;
  if (r->finished) return true;
  // Let buffered output arrive first so the detail can quote it.
  asio::post(io_, [r, wait_status] {
    if (WIFEXITED(wait_status)) {
      int code = WEXITSTATUS(wait_status);
      r->finish(code == 0, "exit status " + std::to_string(code));
    } else if (WIFSIGNALED(wait_status)) {
      r->finish(false, "killed by signal " + std::to_string(WTERMSIG(wait_status)));
    } else {
      r->finish(false, "ended abnormally");
    }
  });
  return true;
}

}  // namespace sup::health
