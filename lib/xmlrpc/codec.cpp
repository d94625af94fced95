// XML-RPC codec. The emitter writes the same layout as Python's
// xmlrpc.client.dumps (one element per line), so captures of our traffic
// diff cleanly against supervisord's. The parser is deliberately lenient
// where Python's unmarshaller is (untyped <value>, i4/i8, namespace
// prefixes, <array> without <data>) and strict where it is strict
// (booleans are exactly 0 or 1).
#include "xmlrpc/codec.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace xmlrpc {

using namespace std::string_view_literals;
namespace {

// Deeper documents are refused: decoding recurses once per level and a
// 1 MB request could otherwise exhaust the stack.
constexpr int kMaxDepth = 100;

constexpr char kB64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kB64Alphabet[(n >> 18) & 63];
    out += kB64Alphabet[(n >> 12) & 63];
    out += kB64Alphabet[(n >> 6) & 63];
    out += kB64Alphabet[n & 63];
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    out += kB64Alphabet[(n >> 18) & 63];
    out += kB64Alphabet[(n >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64Alphabet[(n >> 18) & 63];
    out += kB64Alphabet[(n >> 12) & 63];
    out += kB64Alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Whitespace (line breaks from base64.encodebytes) is skipped; padding
// may be present or absent; any other character is an error.
bool base64_decode(std::string_view in, std::string* out) {
  unsigned acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) return false;  // data after padding
    const char* p = std::strchr(kB64Alphabet, c);
    if (c == '\0' || p == nullptr) return false;
    acc = (acc << 6) | static_cast<unsigned>(p - kB64Alphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return bits < 6;  // a lone 6-bit group cannot encode a byte
}

void escape_into(std::string& out, std::string_view s) {
  // Copy unescaped runs in one append: log text is mostly plain.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c > '>') continue;  // the common case: none of the four below
    std::string_view rep;
    switch (c) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      // A raw \r would be normalised to \n by any XML parser.
      case '\r': rep = "&#13;"; break;
      default: continue;
    }
    out.append(s.data() + run, i - run);
    out += rep;
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

void append_int(std::string& out, long long v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(end - buf));
}

std::string format_double(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, end);
  // Python's repr always marks a float as such ("1.0", not "1").
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

void encode_value(std::string& out, const Value& v) {
  out += "<value>"sv;
  switch (v.type()) {
    case Value::Type::Nil: out += "<nil/>"sv; break;
    case Value::Type::Bool: out += v.as_bool() ? "<boolean>1</boolean>"sv : "<boolean>0</boolean>"sv; break;
    case Value::Type::Int:
      out += "<int>"sv;
      append_int(out, v.as_int());
      out += "</int>"sv;
      break;
    case Value::Type::Double:
      out += "<double>"sv;
      out += format_double(v.as_double());
      out += "</double>"sv;
      break;
    case Value::Type::String:
      out += "<string>"sv;
      escape_into(out, v.as_string());
      out += "</string>"sv;
      break;
    case Value::Type::Binary:
      out += "<base64>\n"sv;
      out += base64_encode(v.as_binary().bytes);
      out += "\n</base64>"sv;
      break;
    case Value::Type::DateTime:
      out += "<dateTime.iso8601>"sv;
      escape_into(out, v.as_datetime().iso8601);
      out += "</dateTime.iso8601>"sv;
      break;
    case Value::Type::Array:
      out += "<array><data>\n"sv;
      for (const auto& item : v.as_array()) encode_value(out, item);
      out += "</data></array>"sv;
      break;
    case Value::Type::Struct:
      out += "<struct>\n"sv;
      for (const auto& [name, member] : v.as_struct()) {
        out += "<member>\n<name>"sv;
        escape_into(out, name);
        out += "</name>\n"sv;
        encode_value(out, member);
        out += "</member>\n"sv;
      }
      out += "</struct>"sv;
      break;
  }
  out += "</value>\n"sv;
}

std::string encode_params(const Array& params) {
  std::string out = "<params>\n";
  for (const auto& p : params) {
    out += "<param>\n";
    encode_value(out, p);
    out += "</param>\n";
  }
  out += "</params>\n";
  return out;
}

// ---- decoding ----

// Element name without a namespace prefix ("ex:nil" -> "nil"), as Python's
// unmarshaller compares them.
std::string_view local_name(const pugi::xml_node& n) {
  std::string_view name = n.name();
  auto colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

// Text content: pcdata and cdata children concatenated (entities resolved).
std::string text_of(const pugi::xml_node& n) {
  std::string s;
  for (auto c : n.children())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) s += c.value();
  return s;
}

// Element children only: with parse_ws_pcdata the whitespace between
// elements shows up as pcdata nodes, which carry no meaning there.
std::vector<pugi::xml_node> elements_of(const pugi::xml_node& n) {
  std::vector<pugi::xml_node> out;
  for (auto c : n.children())
    if (c.type() == pugi::node_element) out.push_back(c);
  return out;
}

bool has_non_space_text(const pugi::xml_node& n) {
  for (auto c : n.children()) {
    if (c.type() == pugi::node_cdata) return true;
    if (c.type() == pugi::node_pcdata)
      for (const char* p = c.value(); *p; ++p)
        if (!std::strchr(" \t\r\n", *p)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::strchr(" \t\r\n", s.front())) s.remove_prefix(1);
  while (!s.empty() && std::strchr(" \t\r\n", s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  out += s.size() > kMax ? std::string(s.substr(0, kMax)) + "..." : std::string(s);
  out += "'";
  return out;
}

sup::Result<Value> decode_value(const pugi::xml_node& value_node, int depth);

sup::Result<Value> decode_typed(const pugi::xml_node& t, int depth) {
  std::string_view type = local_name(t);
  if (type == "int" || type == "i4" || type == "i8") {
    std::string raw = text_of(t);
    std::string_view s = trim(raw);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      return sup::Error{"bad <" + std::string(type) + "> value " + quoted(raw)};
    return Value(static_cast<long long>(n));
  }
  if (type == "boolean") {
    std::string raw = text_of(t);
    if (raw == "1") return Value(true);
    if (raw == "0") return Value(false);
    return sup::Error{"bad <boolean> value " + quoted(raw) + " (must be 0 or 1)"};
  }
  if (type == "string") return Value(text_of(t));
  if (type == "double") {
    std::string raw = text_of(t);
    std::string_view s = trim(raw);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      return sup::Error{"bad <double> value " + quoted(raw)};
    return Value(d);
  }
  if (type == "nil") return Value(Nil{});
  if (type == "base64") {
    Binary b;
    if (!base64_decode(text_of(t), &b.bytes)) return sup::Error{"bad <base64> value"};
    return Value(std::move(b));
  }
  if (type == "dateTime.iso8601") return Value(DateTime{std::string(trim(text_of(t)))});
  if (type == "array") {
    // <data> is optional in practice (Python accepts values directly under <array>).
    pugi::xml_node holder = t;
    auto kids = elements_of(t);
    if (kids.size() == 1 && local_name(kids[0]) == "data") holder = kids[0];
    Array arr;
    for (auto& c : elements_of(holder)) {
      if (local_name(c) != "value")
        return sup::Error{"unexpected <" + std::string(c.name()) + "> in <array>"};
      auto v = decode_value(c, depth + 1);
      if (!v) return v;
      arr.push_back(std::move(v).value());
    }
    return Value(std::move(arr));
  }
  if (type == "struct") {
    Struct st;
    for (auto& m : elements_of(t)) {
      if (local_name(m) != "member")
        return sup::Error{"unexpected <" + std::string(m.name()) + "> in <struct>"};
      pugi::xml_node name, value;
      for (auto& c : elements_of(m)) {
        if (local_name(c) == "name") name = c;
        else if (local_name(c) == "value") value = c;
        else return sup::Error{"unexpected <" + std::string(c.name()) + "> in <member>"};
      }
      if (!name) return sup::Error{"<member> without <name>"};
      if (!value) return sup::Error{"<member> " + quoted(text_of(name)) + " without <value>"};
      auto v = decode_value(value, depth + 1);
      if (!v) return v;
      st.emplace_back(text_of(name), std::move(v).value());
    }
    return Value(std::move(st));
  }
  return sup::Error{"unknown value type <" + std::string(t.name()) + ">"};
}

sup::Result<Value> decode_value(const pugi::xml_node& value_node, int depth) {
  if (depth > kMaxDepth)
    return sup::Error{"values nested deeper than " + std::to_string(kMaxDepth) + " levels"};
  auto kids = elements_of(value_node);
  if (kids.empty()) return Value(text_of(value_node));  // untyped <value> is a string
  if (kids.size() > 1) return sup::Error{"<value> holds more than one element"};
  if (has_non_space_text(value_node)) return sup::Error{"<value> mixes text and <" + std::string(kids[0].name()) + ">"};
  return decode_typed(kids[0], depth);
}

sup::Result<pugi::xml_node> load(pugi::xml_document& doc, std::string_view xml, const char* root) {
  auto res = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default | pugi::parse_ws_pcdata,
                             pugi::encoding_utf8);
  if (!res)
    return sup::Error{std::string("malformed XML: ") + res.description() + " at offset " +
                      std::to_string(res.offset)};
  pugi::xml_node top = doc.document_element();
  if (!top) return sup::Error{"malformed XML: no root element"};
  if (local_name(top) != root)
    return sup::Error{std::string("expected <") + root + ">, got <" + top.name() + ">"};
  return top;
}

sup::Result<Array> decode_params(const pugi::xml_node& params) {
  Array out;
  for (auto& p : elements_of(params)) {
    if (local_name(p) != "param") return sup::Error{"unexpected <" + std::string(p.name()) + "> in <params>"};
    auto kids = elements_of(p);
    if (kids.size() != 1 || local_name(kids[0]) != "value") return sup::Error{"<param> must hold one <value>"};
    auto v = decode_value(kids[0], 1);
    if (!v) return sup::Error{v.error()};
    out.push_back(std::move(v).value());
  }
  return out;
}

}  // namespace

std::string encode_call(const std::string& method, const Array& params) {
  std::string out = "<?xml version='1.0'?>\n<methodCall>\n<methodName>";
  escape_into(out, method);
  out += "</methodName>\n";
  out += encode_params(params);
  out += "</methodCall>\n";
  return out;
}

std::string encode_response(const Value& value) {
  // Responses to a client's repeated calls tend to be the same size (a
  // process list): start at the last size and don't regrow.
  thread_local std::size_t last_size = 4096;
  std::string out;
  out.reserve(last_size);
  out += "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n";
  encode_value(out, value);
  out += "</param>\n</params>\n</methodResponse>\n";
  last_size = std::max<std::size_t>(4096, out.size() + out.size() / 8);
  return out;
}

std::string encode_fault(const Fault& fault) {
  std::string out = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n";
  encode_value(out, Value(Struct{{"faultCode", Value(fault.code)}, {"faultString", Value(fault.message)}}));
  out += "</fault>\n</methodResponse>\n";
  return out;
}

sup::Result<Call> decode_call(std::string_view xml) {
  pugi::xml_document doc;
  auto top = load(doc, xml, "methodCall");
  if (!top) return sup::Error{top.error()};
  Call call;
  bool have_name = false;
  for (auto& c : elements_of(*top)) {
    if (local_name(c) == "methodName") {
      call.method = std::string(trim(text_of(c)));
      have_name = true;
    } else if (local_name(c) == "params") {
      auto p = decode_params(c);
      if (!p) return sup::Error{p.error()};
      call.params = std::move(p).value();
    } else {
      return sup::Error{"unexpected <" + std::string(c.name()) + "> in <methodCall>"};
    }
  }
  if (!have_name || call.method.empty()) return sup::Error{"<methodCall> has no <methodName>"};
  return call;
}

sup::Result<Response> decode_response(std::string_view xml) {
  pugi::xml_document doc;
  auto top = load(doc, xml, "methodResponse");
  if (!top) return sup::Error{top.error()};
  auto kids = elements_of(*top);
  if (kids.size() != 1) return sup::Error{"<methodResponse> must hold exactly one <params> or <fault>"};
  Response r;
  if (local_name(kids[0]) == "params") {
    auto p = decode_params(kids[0]);
    if (!p) return sup::Error{p.error()};
    if (p->size() != 1)
      return sup::Error{"<methodResponse> carries " + std::to_string(p->size()) + " values, expected 1"};
    r.value = std::move((*p)[0]);
    return r;
  }
  if (local_name(kids[0]) != "fault")
    return sup::Error{"unexpected <" + std::string(kids[0].name()) + "> in <methodResponse>"};
  auto fv = elements_of(kids[0]);
  if (fv.size() != 1 || local_name(fv[0]) != "value") return sup::Error{"<fault> must hold one <value>"};
  auto v = decode_value(fv[0], 1);
  if (!v) return sup::Error{v.error()};
  const Value* code = v->find("faultCode");
  const Value* message = v->find("faultString");
  if (!v->is_struct() || code == nullptr || !code->is_int())
    return sup::Error{"<fault> is not a struct with an int faultCode"};
  if (message != nullptr && !message->is_string()) return sup::Error{"<fault> faultString is not a string"};
  r.is_fault = true;
  if (code->as_int() < std::numeric_limits<int>::min() || code->as_int() > std::numeric_limits<int>::max())
    return sup::Error{"<fault> faultCode out of range"};
  r.fault.code = static_cast<int>(code->as_int());
  if (message != nullptr) r.fault.message = message->as_string();
  return r;
}

}  // namespace xmlrpc
