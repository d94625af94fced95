// Python's repr() of a str, as supervisord and supervisorctl print names,
// paths and fault texts in some messages: single quotes unless the text has
// one and no double quote; backslash escapes for quotes, backslashes and
// control characters; other bytes (UTF-8 included) pass through.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace sup {

inline std::string py_repr(std::string_view s) {
  const char quote = (s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos) ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

}  // namespace sup
