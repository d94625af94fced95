#include "json_parser.hpp"

#include <cstdlib>
#include <set>

namespace json {

const Value* Value::find(const std::string& key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, val] : as_object())
    if (k == key) return &val;
  return nullptr;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Value document() {
    Value v = value();
    ws();
    if (i_ != t_.size()) fail("trailing data");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError(what + " at offset " + std::to_string(i_));
  }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  Value value() {
    if (++depth_ > 64) fail("nested too deeply");
    ws();
    if (i_ >= t_.size()) fail("unexpected end");
    Value out;
    char c = t_[i_];
    if (c == '{') {
      ++i_;
      auto obj = std::make_shared<Object>();
      std::set<std::string> keys;
      if (!eat('}')) {
        do {
          ws();
          std::string k = string();
          if (!keys.insert(k).second) fail("duplicate key " + k);
          expect(':');
          obj->emplace_back(std::move(k), value());
        } while (eat(','));
        expect('}');
      }
      out.v = obj;
    } else if (c == '[') {
      ++i_;
      auto arr = std::make_shared<Array>();
      if (!eat(']')) {
        do arr->push_back(value());
        while (eat(','));
        expect(']');
      }
      out.v = arr;
    } else if (c == '"') {
      out.v = string();
    } else if (literal("true")) {
      out.v = true;
    } else if (literal("false")) {
      out.v = false;
    } else if (literal("null")) {
      out.v = Null{};
    } else {
      out.v = number();
    }
    --depth_;
    return out;
  }

  double number() {
    std::size_t start = i_;
    auto digits = [&] {
      std::size_t s = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      return i_ - s;
    };
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    if (i_ < t_.size() && t_[i_] == '0') {
      ++i_;
    } else if (digits() == 0) {
      fail("invalid value");
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (digits() == 0) fail("digits expected after '.'");
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (digits() == 0) fail("digits expected in exponent");
    }
    return std::strtod(std::string(t_.substr(start, i_ - start)).c_str(), nullptr);
  }

  unsigned hex4() {
    if (i_ + 4 > t_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void put_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  std::string string() {
    if (i_ >= t_.size() || t_[i_] != '"') fail("expected a string");
    ++i_;
    std::string out;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character in a string");
      if (c == '\\') {
        if (i_ >= t_.size()) fail("unterminated escape");
        char e = t_[i_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            unsigned cp = hex4();
            if (cp >= 0xd800 && cp <= 0xdbff) {
              if (!literal("\\u")) fail("lone high surrogate");
              unsigned lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) fail("bad low surrogate");
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
              fail("lone low surrogate");
            }
            put_utf8(out, cp);
            break;
          }
          default: fail(std::string("invalid escape \\") + e);
        }
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        continue;
      }
      // Validate one UTF-8 sequence.
      std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      if (n == 0 || i_ - 1 + n > t_.size()) fail("invalid UTF-8");
      for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(t_[i_ - 1 + k]) & 0xc0) != 0x80) fail("invalid UTF-8");
      out.append(t_.substr(i_ - 1, n));
      i_ += n - 1;
    }
  }

  std::string_view t_;
  std::size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Value parse(std::string_view text) { return Parser(text).document(); }

}  // namespace json
