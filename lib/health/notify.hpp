// sd_notify receiver (issue 5, ready=notify): a unix datagram socket in the
// abstract namespace that a child finds in NOTIFY_SOCKET ("@name"), as
// systemd provides it. Asio stays in notify.cpp. Event-loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace boost::asio {
class io_context;
}

namespace sup::health {

class NotifyListener {
 public:
  virtual ~NotifyListener() = default;  // closes the socket
  // NOTIFY_SOCKET's value: "@" + the abstract name.
  virtual const std::string& address() const = 0;
};

// Binds a fresh abstract socket named "supervisor-notify/<daemon pid>/<n>";
// on_datagram gets each datagram ("READY=1\nSTATUS=...") from an io_context
// handler. An error is a one-line message.
Result<std::unique_ptr<NotifyListener>> open_notify_listener(
    boost::asio::io_context& io, std::function<void(std::string_view)> on_datagram);

}  // namespace sup::health
