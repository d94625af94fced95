// A small JSON writer for supervisorctl's --json output: XML-RPC values
// (getProcessInfo structs, ...) as JSON text. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xmlrpc/value.hpp"

namespace sup::ctl {

// s as a JSON string literal: quotes, backslash and control characters
// escaped; bytes that are not valid UTF-8 become U+FFFD, so the output is
// always valid JSON whatever the server sent.
std::string json_string(std::string_view s);

// v as compact JSON: struct -> object (members in the order received),
// array -> array, int/double -> number (a non-finite double -> null),
// bool -> true/false, nil -> null, string and dateTime -> string,
// base64 -> string of its base64 text.
std::string to_json(const xmlrpc::Value& v);

// An array of values, one element per line:
//   [
//     {...},
//     {...}
//   ]
// ("[]" when empty).
std::string json_lines_array(const std::vector<xmlrpc::Value>& items);

}  // namespace sup::ctl
