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
// Text that comes first is the element's own value (parse_embed_pcdata).
std::string text_of(const pugi::xml_node& n) {
  std::string s = n.value();
  pugi::xml_node c = n.first_child();
  for (; c; c = c.next_sibling())
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) s += c.value();
  return s;
}

bool is_space_text(const char* p) {
  for (; *p; ++p)
    if (!std::strchr(" \t\r\n", *p)) return false;
  return true;
}

// What a node holds, in one pass over its children: whitespace between
// elements may show up as pcdata nodes (see load), which carry no meaning
// there. A walk of a 5000-process list visits a million nodes, so
// no vector per node (issue 7: `status` with 5000 programs).
struct Children {
  pugi::xml_node first;   // the first element child
  std::size_t elements = 0;
  bool text = false;      // cdata, or pcdata that is not all whitespace
};

Children children_of(const pugi::xml_node& n) {
  Children k;
  k.text = !is_space_text(n.value());  // embedded leading text (see load)
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    switch (c.type()) {
      case pugi::node_element:
        if (k.elements++ == 0) k.first = c;
        break;
      case pugi::node_cdata:
        k.text = true;
        break;
      case pugi::node_pcdata:
        if (!k.text && !is_space_text(c.value())) k.text = true;
        break;
      default:
        break;
    }
  }
  return k;
}

// The first element at or after c among its siblings (null if none).
pugi::xml_node element_from(pugi::xml_node c) {
  while (c && c.type() != pugi::node_element) c = c.next_sibling();
  return c;
}

// The element children, for the loops below.
struct Elements {
  pugi::xml_node parent;
  struct iterator {
    pugi::xml_node n;
    pugi::xml_node operator*() const { return n; }
    iterator& operator++() {
      n = element_from(n.next_sibling());
      return *this;
    }
    bool operator!=(const iterator& o) const { return n != o.n; }
  };
  iterator begin() const { return {element_from(parent.first_child())}; }
  iterator end() const { return {pugi::xml_node()}; }
};

Elements elements_of(const pugi::xml_node& n) { return Elements{n}; }

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
    if (Children k = children_of(t); k.elements == 1 && local_name(k.first) == "data") holder = k.first;
    Array arr;
    for (pugi::xml_node c : elements_of(holder)) {
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
    for (pugi::xml_node m : elements_of(t)) {
      if (local_name(m) != "member")
        return sup::Error{"unexpected <" + std::string(m.name()) + "> in <struct>"};
      pugi::xml_node name, value;
      for (pugi::xml_node c : elements_of(m)) {
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
  Children k = children_of(value_node);
  if (k.elements == 0) return Value(text_of(value_node));  // untyped <value> is a string
  if (k.elements > 1) return sup::Error{"<value> holds more than one element"};
  if (k.text) return sup::Error{"<value> mixes text and <" + std::string(k.first.name()) + ">"};
  return decode_typed(k.first, depth);
}

// memmem, not string_view::find: find stops at every '<', a million of
// them in a 5000-process list.
bool contains(std::string_view hay, std::size_t from, const char* needle) {
  if (from >= hay.size()) return false;
  return ::memmem(hay.data() + from, hay.size() - from, needle, std::strlen(needle)) != nullptr;
}

// Whitespace-only text between elements means nothing in XML-RPC, and
// keeping it as nodes doubles the tree (a 5000-process list: issue 7), so
// it is dropped unless it is an element's only text. Beside other text it
// does count (Python reads "a<![CDATA[b]]> " as "ab "), and it can only be
// beside other text when a CDATA section, a comment or a processing
// instruction splits the text: documents with any of those keep it all.
bool splits_text(std::string_view xml) {
  if (contains(xml, 0, "<!")) return true;
  std::size_t first = xml.find('<');
  if (first == std::string_view::npos) return false;
  // The <?xml ...?> prolog, when it is the first markup, is harmless.
  std::size_t from = xml.compare(first, 2, "<?") == 0 ? first + 2 : 0;
  return contains(xml, from, "<?");
}

// in_place: parse xml's own bytes (which must outlive doc and may be
// overwritten) instead of a copy.
sup::Result<pugi::xml_node> load(pugi::xml_document& doc, std::string_view xml, const char* root,
                                 char* in_place = nullptr) {
  // A leaf's text is kept as the element's value rather than as a node of
  // its own: a third fewer nodes for a process list.
  const unsigned flags = pugi::parse_default | pugi::parse_embed_pcdata |
                         (splits_text(xml) ? pugi::parse_ws_pcdata : pugi::parse_ws_pcdata_single);
  auto res = in_place ? doc.load_buffer_inplace(in_place, xml.size(), flags, pugi::encoding_utf8)
                      : doc.load_buffer(xml.data(), xml.size(), flags, pugi::encoding_utf8);
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
  for (pugi::xml_node p : elements_of(params)) {
    if (local_name(p) != "param") return sup::Error{"unexpected <" + std::string(p.name()) + "> in <params>"};
    Children k = children_of(p);
    if (k.elements != 1 || local_name(k.first) != "value") return sup::Error{"<param> must hold one <value>"};
    auto v = decode_value(k.first, 1);
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
  for (pugi::xml_node c : elements_of(*top)) {
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

namespace {

sup::Result<Response> decode_response_impl(std::string_view xml, char* in_place) {
  pugi::xml_document doc;
  auto top = load(doc, xml, "methodResponse", in_place);
  if (!top) return sup::Error{top.error()};
  Children kids = children_of(*top);
  if (kids.elements != 1) return sup::Error{"<methodResponse> must hold exactly one <params> or <fault>"};
  Response r;
  if (local_name(kids.first) == "params") {
    auto p = decode_params(kids.first);
    if (!p) return sup::Error{p.error()};
    if (p->size() != 1)
      return sup::Error{"<methodResponse> carries " + std::to_string(p->size()) + " values, expected 1"};
    r.value = std::move((*p)[0]);
    return r;
  }
  if (local_name(kids.first) != "fault")
    return sup::Error{"unexpected <" + std::string(kids.first.name()) + "> in <methodResponse>"};
  Children fv = children_of(kids.first);
  if (fv.elements != 1 || local_name(fv.first) != "value") return sup::Error{"<fault> must hold one <value>"};
  auto v = decode_value(fv.first, 1);
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

}  // namespace

sup::Result<Response> decode_response(std::string_view xml) { return decode_response_impl(xml, nullptr); }

sup::Result<Response> decode_response_in_place(std::string& xml) {
  return decode_response_impl(xml, xml.data());
}

}  // namespace xmlrpc
