// Rpc over xmlrpc::Client (blocking HTTP on a unix socket or TCP).
#include <utility>

#include "ctl/rpc.hpp"

namespace sup::ctl {
namespace {

class XmlRpcRpc final : public Rpc {
 public:
  XmlRpcRpc(const std::string& url, const std::string& username, const std::string& password,
            std::function<bool()> interrupted)
      : client_(url, username, password) {
    if (interrupted) client_.set_interrupt_check(std::move(interrupted));
  }

  CallResult call(const std::string& method, const xmlrpc::Array& params) override {
    xmlrpc::Response response;
    xmlrpc::TransportError err;
    if (!client_.call(method, params, &response, &err)) return CallResult::of_transport(std::move(err));
    if (response.is_fault) return CallResult::of_fault(response.fault.code, std::move(response.fault.message));
    return CallResult::of(std::move(response.value));
  }

  bool stream_get(const std::string& path, const std::function<bool(std::string_view)>& on_data,
                  xmlrpc::TransportError* err) override {
    return client_.stream_get(path, on_data, err);
  }

 private:
  xmlrpc::Client client_;
};

}  // namespace

std::unique_ptr<Rpc> make_xmlrpc_rpc(const std::string& url, const std::string& username,
                                     const std::string& password, std::function<bool()> interrupted) {
  return std::make_unique<XmlRpcRpc>(url, username, password, std::move(interrupted));
}

}  // namespace sup::ctl
