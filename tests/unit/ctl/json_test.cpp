// The --json writer: escaping that keeps any server string valid JSON.
#include <doctest/doctest.h>

#include <limits>

#include "ctl/json.hpp"

using sup::ctl::json_lines_array;
using sup::ctl::json_string;
using sup::ctl::to_json;
using xmlrpc::Array;
using xmlrpc::Struct;
using xmlrpc::Value;

TEST_CASE("json_string escapes quotes, backslashes and control characters") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("l1\nl2\r\t\b\f") == "\"l1\\nl2\\r\\t\\b\\f\"");
  CHECK(json_string(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json_string("\x1b[0m\x7f") == "\"\\u001b[0m\\u007f\"");
}

TEST_CASE("json_string keeps valid UTF-8 and replaces invalid bytes with U+FFFD") {
  CHECK(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  CHECK(json_string("a\xff" "b") == "\"a\\ufffdb\"");
  CHECK(json_string("\xc3") == "\"\\ufffd\"");                 // truncated sequence
  CHECK(json_string("\xc0\xaf") == "\"\\ufffd\\ufffd\"");      // overlong '/'
  CHECK(json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST_CASE("to_json maps every XML-RPC type") {
  Value v(Struct{{"s", Value("x")},
                 {"i", Value(-3)},
                 {"b", Value(true)},
                 {"d", Value(1.5)},
                 {"n", Value()},
                 {"a", Value(Array{Value(1), Value("two")})},
                 {"bin", Value(xmlrpc::Binary{"hi!?"})},
                 {"dt", Value(xmlrpc::DateTime{"20260101T10:00:00"})}});
  CHECK(to_json(v) ==
        "{\"s\": \"x\", \"i\": -3, \"b\": true, \"d\": 1.5, \"n\": null, \"a\": [1, \"two\"], \"bin\": \"aGkhPw==\", "
        "\"dt\": \"20260101T10:00:00\"}");
  CHECK(to_json(Value(std::numeric_limits<double>::infinity())) == "null");
  CHECK(to_json(Value(Struct{{"we\"ird", Value("")}})) == "{\"we\\\"ird\": \"\"}");
}

TEST_CASE("json_lines_array: one element per line, [] when empty") {
  CHECK(json_lines_array({}) == "[]");
  CHECK(json_lines_array({Value(1), Value("b")}) == "[\n  1,\n  \"b\"\n]");
}
