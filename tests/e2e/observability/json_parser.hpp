// A small strict JSON parser (RFC 8259) for the tests of supervisorctl's
// --json output: rejects trailing data, raw control characters in strings,
// bad escapes, invalid UTF-8 and malformed numbers by throwing ParseError.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace json {

struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // in document order

struct Null {};

struct Value {
  std::variant<Null, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> v;
  bool is_null() const { return std::holds_alternative<Null>(v); }
  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_number() const { return std::holds_alternative<double>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v); }
  bool as_bool() const { return std::get<bool>(v); }
  double as_number() const { return std::get<double>(v); }
  const std::string& as_string() const { return std::get<std::string>(v); }
  const Array& as_array() const { return *std::get<std::shared_ptr<Array>>(v); }
  const Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v); }
  // Member of an object, or nullptr.
  const Value* find(const std::string& key) const;
};

Value parse(std::string_view text);

}  // namespace json
