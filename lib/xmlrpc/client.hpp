// A blocking XML-RPC client over HTTP/1.1 on a unix socket (unix:///path)
// or TCP (http://host:port), with Basic authentication and keep-alive.
// Plain POSIX sockets: supervisorctl must start in milliseconds.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xmlrpc/codec.hpp"

namespace xmlrpc {

// Transport-level failure, described the way supervisorctl reports it.
struct TransportError {
  enum class Kind {
    NoSuchFile,      // unix socket path missing (ENOENT)          -> "unix:///p no such file"
    Refused,         // ECONNREFUSED                               -> "... refused connection"
    AuthRequired,    // HTTP 401                                   -> "Server requires authentication"
    Protocol,        // other non-200 status or malformed response
    Other,           // any other socket error
    Interrupted,     // a syscall saw EINTR and the interrupt check said stop
  };
  Kind kind = Kind::Other;
  int http_status = 0;
  int err = 0;         // errno when relevant
  std::string message;
};

class Client {
 public:
  // url: "unix:///path/to/sock" or "http://host:port" (as in serverurl).
  Client(std::string url, std::string username = {}, std::string password = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Performs one call. On transport failure returns false and fills *err;
  // on success fills *out (which may itself be a fault response).
  bool call(const std::string& method, const Array& params, Response* out, TransportError* err);

  // GET a path and stream the body (chunked or not) to on_data until the
  // body ends or on_data returns false (both return true; the stream's
  // connection is then closed). Used by tail -f / maintail -f. Returns false
  // with *err on transport errors, on a connection lost mid-chunked-body,
  // and on non-200 statuses (401: AuthRequired; others: Protocol with
  // http_status, e.g. 404 for an unknown process or missing log).
  bool stream_get(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                  TransportError* err);

  // Called when a blocking syscall returns EINTR (a signal handler ran, e.g.
  // Ctrl-C during `tail -f`): returning true aborts the current call or
  // stream with Kind::Interrupted; without a check, EINTR is retried.
  void set_interrupt_check(std::function<bool()> interrupted);

  const std::string& url() const { return url_; }

 private:
  struct Impl;
  std::string url_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xmlrpc
