// The daemon's HTTP/1.1 server: unix and inet listeners on the caller's
// io_context, Basic authentication, keep-alive, request limits, deferred
// replies and chunked streaming. The implementation (server.cpp) is the
// project's only Boost.Beast translation unit; this header stays light.
//
// Threading: everything runs on the io_context's single thread. Handlers,
// Reply methods and on_close callbacks are called on that thread and must
// be called only from it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/model.hpp"
#include "util/result.hpp"

namespace boost::asio {
class io_context;
}

namespace sup::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent, e.g. "/RPC2" or "/logtail/foo/stderr?x=1"
  std::string body;
  Headers headers;     // names lower-cased, values as sent
  std::string username;  // the authenticated user, empty without authentication
  std::uint64_t connection_id = 0;  // same for requests on one connection (for logs)

  // First header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
      if (k == lower_name) return &v;
    return nullptr;
  }
};

// The answer to one request. A handler may answer at once or keep the
// shared_ptr and answer later (deferred XML-RPC results), or stream.
// Exactly one of send() or start_stream()...end_stream() is used per reply;
// other uses are programming errors, logged and ignored. After the client
// has gone away every method is a harmless no-op and closed() is true.
class Reply {
 public:
  virtual ~Reply() = default;

  // A complete response with Content-Length. extra_headers are added as given.
  virtual void send(int status, std::string content_type, std::string body, Headers extra_headers = {}) = 0;

  // A streamed response: chunked for HTTP/1.1 clients; for HTTP/1.0 clients
  // the body is raw and the connection closes at end_stream().
  virtual void start_stream(int status, std::string content_type, Headers extra_headers = {}) = 0;
  virtual void write_chunk(std::string_view data) = 0;  // empty data is ignored
  virtual void end_stream() = 0;

  // True once nothing more can be sent: the connection was lost or closed
  // (also after the reply completed).
  virtual bool closed() const = 0;

  // Called once if the connection is lost or the server closes it before
  // the reply completed (not after a completed send()/end_stream()).
  // Called at once (synchronously) if that has already happened.
  virtual void set_on_close(std::function<void()> on_close) = 0;

  // Bytes queued for writing and not yet accepted by the socket: a
  // streaming producer can pause while this is large (slow client).
  virtual std::size_t pending_bytes() const = 0;
};

using Handler = std::function<void(const HttpRequest&, std::shared_ptr<Reply>)>;

// level uses supervisord's numbers: 50 critical, 40 error, 30 warn,
// 20 info, 10 debug, 5 trace, 3 blather.
using LogFn = std::function<void(int level, const std::string& message)>;

struct Limits {
  std::size_t header_limit = 8 * 1024;           // request line + headers; beyond: 431, close
  std::size_t body_limit = 1024 * 1024;          // beyond: 413, close
  std::chrono::milliseconds idle_timeout{60000};  // no complete request for this long: close
  std::size_t max_connections = 256;             // beyond: new connections are closed at once
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, Handler handler, LogFn log, Limits limits = {});
  ~HttpServer();  // calls close()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Creates the socket with cfg.chmod from the start (never more open),
  // applies chown, replaces a stale socket file when nothing answers on it,
  // and refuses when a server answers. Errors read like supervisord's.
  // With cfg.allowed_uids, connections from other uids (SO_PEERCRED; root
  // and the daemon's own uid always pass) are closed at once and logged.
  // Refusals (401s and uids) are logged at most 20 lines per 10 s, the
  // rest counted.
  sup::Status listen_unix(const sup::config::HttpServerConfig& cfg);
  // host "" or "*" means all interfaces. cfg.port 0 picks a free port
  // (see inet_port()).
  sup::Status listen_inet(const sup::config::HttpServerConfig& cfg);

  // Paths (exact, query ignored) that GET and HEAD requests may fetch
  // without credentials on the listeners whose configuration has
  // probes_public=true; elsewhere they need credentials like any path.
  // Applies to listeners opened after the call.
  void set_public_paths(std::vector<std::string> paths);

  // Port of the most recent inet listener (useful when port 0 was asked).
  int inet_port() const;

  // Stops accepting, closes every session (pending replies see on_close)
  // and unlinks the unix sockets this server created. Idempotent.
  void close();

  std::size_t connection_count() const;

  // Called `delay` after the last open connection closed (a burst of
  // clients is over), at most once per delay; a one-shot timer, armed only
  // while a call is due.
  void set_on_idle(std::function<void()> on_idle, std::chrono::milliseconds delay);

  struct State;  // implementation detail, defined in server.cpp

 private:
  std::shared_ptr<State> state_;
};

// Lower-case hex SHA-1 of data (for {SHA} passwords).
std::string sha1_hex(std::string_view data);

}  // namespace sup::http
