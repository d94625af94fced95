// The seam between supervisorctl's commands and the server: one XML-RPC call
// or one streamed GET. The real implementation wraps xmlrpc::Client; unit
// tests script a fake.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "xmlrpc/client.hpp"
#include "xmlrpc/value.hpp"

namespace sup::ctl {

// What one call produced: a value, a fault, or a transport failure.
struct CallResult {
  enum class Kind { Value, Fault, Transport };
  Kind kind = Kind::Value;
  xmlrpc::Value value;
  xmlrpc::Fault fault;
  xmlrpc::TransportError transport;

  static CallResult of(xmlrpc::Value v) {
    CallResult r;
    r.value = std::move(v);
    return r;
  }
  static CallResult of_fault(int code, std::string message) {
    CallResult r;
    r.kind = Kind::Fault;
    r.fault = {code, std::move(message)};
    return r;
  }
  static CallResult of_transport(xmlrpc::TransportError e) {
    CallResult r;
    r.kind = Kind::Transport;
    r.transport = std::move(e);
    return r;
  }
};

class Rpc {
 public:
  virtual ~Rpc() = default;
  virtual CallResult call(const std::string& method, const xmlrpc::Array& params) = 0;
  // Streams the body of GET `path` to on_data until the server closes, an
  // interrupt is requested (see xmlrpc::Client::set_interrupt_check) or
  // on_data returns false. False with *err filled on failure.
  virtual bool stream_get(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                          xmlrpc::TransportError* err) = 0;
};

// Builds a transport for a server URL (as given: unix:///path or http://host:port).
using RpcFactory =
    std::function<std::unique_ptr<Rpc>(const std::string& url, const std::string& username, const std::string& password)>;

// The real transport. `interrupted` is consulted when a blocking syscall is
// interrupted by a signal (Ctrl-C during tail -f); it may be empty.
std::unique_ptr<Rpc> make_xmlrpc_rpc(const std::string& url, const std::string& username,
                                     const std::string& password, std::function<bool()> interrupted);

}  // namespace sup::ctl
