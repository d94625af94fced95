// XML-RPC values, shared by the server (lib/rpc) and the client (lib/ctl).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xmlrpc {

class Value;
using Array = std::vector<Value>;
// Struct members keep insertion order (what Python's dict does on the wire).
using Struct = std::vector<std::pair<std::string, Value>>;

struct Nil {
  bool operator==(const Nil&) const = default;
};
struct Binary {
  std::string bytes;
  bool operator==(const Binary&) const = default;
};
struct DateTime {
  std::string iso8601;  // as written on the wire, e.g. 20260101T10:00:00
  bool operator==(const DateTime&) const = default;
};

class Value {
 public:
  enum class Type { Nil, Bool, Int, Double, String, Binary, DateTime, Array, Struct };

  Value() : v_(Nil{}) {}
  Value(Nil) : v_(Nil{}) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<std::int64_t>(i)) {}
  Value(long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(long long i) : v_(static_cast<std::int64_t>(i)) {}
  Value(unsigned i) : v_(static_cast<std::int64_t>(i)) {}
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Binary b) : v_(std::move(b)) {}
  Value(DateTime d) : v_(std::move(d)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Struct s) : v_(std::move(s)) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_nil() const { return type() == Type::Nil; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_int() const { return type() == Type::Int; }
  bool is_double() const { return type() == Type::Double; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_struct() const { return type() == Type::Struct; }

  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_double() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Binary& as_binary() const { return std::get<Binary>(v_); }
  const DateTime& as_datetime() const { return std::get<DateTime>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Struct& as_struct() const { return std::get<Struct>(v_); }
  Struct& as_struct() { return std::get<Struct>(v_); }

  // Struct member lookup; nullptr when absent or not a struct.
  const Value* find(const std::string& key) const {
    if (!is_struct()) return nullptr;
    for (const auto& [k, v] : as_struct())
      if (k == key) return &v;
    return nullptr;
  }

  bool operator==(const Value& o) const { return v_ == o.v_; }

 private:
  std::variant<Nil, bool, std::int64_t, double, std::string, Binary, DateTime, Array, Struct> v_;
};

// A fault as XML-RPC carries it.
struct Fault {
  int code = 0;
  std::string message;
};

}  // namespace xmlrpc
