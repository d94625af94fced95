#include "health/notify.hpp"

#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/datagram_protocol.hpp>

namespace sup::health {

namespace {

using Protocol = boost::asio::local::datagram_protocol;

class AsioNotifyListener : public NotifyListener {
 public:
  AsioNotifyListener(boost::asio::io_context& io, std::string name, std::function<void(std::string_view)> cb)
      : socket_(io), address_("@" + name), on_datagram_(std::move(cb)) {}
  ~AsioNotifyListener() override {
    *alive_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  const std::string& address() const override { return address_; }

  boost::system::error_code open(const std::string& name) {
    boost::system::error_code ec;
    socket_.open(Protocol(), ec);
    if (ec) return ec;
    // A leading NUL selects the abstract namespace: nothing to clean up on disk.
    socket_.bind(Protocol::endpoint(std::string(1, '\0') + name), ec);
    return ec;
  }

  void receive() {
    std::weak_ptr<bool> alive = alive_;
    socket_.async_receive(boost::asio::buffer(buffer_), [this, alive](const boost::system::error_code& ec, std::size_t n) {
      if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
      if (!ec) {
        // The callback may destroy this listener: continue only if it didn't.
        on_datagram_(std::string_view(buffer_.data(), n));
        if (alive.expired()) return;
      }
      receive();
    });
  }

 private:
  Protocol::socket socket_;
  std::string address_;
  std::function<void(std::string_view)> on_datagram_;
  std::array<char, 4096> buffer_{};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace

Result<std::unique_ptr<NotifyListener>> open_notify_listener(
    boost::asio::io_context& io, std::function<void(std::string_view)> on_datagram) {
  static unsigned counter = 0;
  std::string name = "supervisor-notify/" + std::to_string(::getpid()) + "/" + std::to_string(++counter);
  auto listener = std::make_unique<AsioNotifyListener>(io, name, std::move(on_datagram));
  if (auto ec = listener->open(name)) return Error{"cannot bind the notify socket @" + name + ": " + ec.message()};
  listener->receive();
  return std::unique_ptr<NotifyListener>(std::move(listener));
}

}  // namespace sup::health
