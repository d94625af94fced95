// XML-RPC encoding and decoding (methodCall / methodResponse / fault).
// Parsing uses pugixml with parse_ws_pcdata (whitespace-only strings kept);
// emitting builds strings by hand, escaping like Python's xmlrpc.client.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"
#include "xmlrpc/value.hpp"

namespace xmlrpc {

struct Call {
  std::string method;
  Array params;
};

// A methodResponse: a value, or a fault.
struct Response {
  bool is_fault = false;
  Value value;
  Fault fault;
};

std::string encode_call(const std::string& method, const Array& params);
std::string encode_response(const Value& value);
std::string encode_fault(const Fault& fault);

// Errors are one-line descriptions of what is malformed.
sup::Result<Call> decode_call(std::string_view xml);
sup::Result<Response> decode_response(std::string_view xml);
// The same, parsing in place: xml is overwritten (no copy of a response of
// megabytes, as a 5000-process getAllProcessInfo is).
sup::Result<Response> decode_response_in_place(std::string& xml);

}  // namespace xmlrpc
