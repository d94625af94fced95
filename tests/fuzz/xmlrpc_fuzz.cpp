// Fuzz target: the XML-RPC decoder (lib/xmlrpc/codec), both a methodCall (as
// the daemon receives it) and a methodResponse (as supervisorctl receives
// it) from the same bytes. Whatever decodes must survive a round trip
// through the encoder: what the daemon can read, it can also write back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "xmlrpc/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  if (auto call = xmlrpc::decode_call(xml)) {
    auto again = xmlrpc::decode_call(xmlrpc::encode_call(call->method, call->params));
    FUZZ_CHECK(static_cast<bool>(again));
    FUZZ_CHECK(again->params.size() == call->params.size());
  }
  if (auto response = xmlrpc::decode_response(xml)) {
    auto text = response->is_fault ? xmlrpc::encode_fault(response->fault) : xmlrpc::encode_response(response->value);
    auto again = xmlrpc::decode_response(text);
    FUZZ_CHECK(static_cast<bool>(again));
    FUZZ_CHECK(again->is_fault == response->is_fault);
    if (response->is_fault) FUZZ_CHECK(again->fault.code == response->fault.code);
  }
  return 0;
}
