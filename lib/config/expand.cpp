#include "config/expand.hpp"

#include <cstdio>
#include <optional>

namespace sup::config {
namespace {

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alt = false;
  std::optional<size_t> width;
  std::optional<size_t> precision;
  char conversion = 0;
};

std::string pad(std::string body, const Spec& spec, size_t sign_len, bool numeric) {
  size_t width = spec.width.value_or(0);
  if (body.size() >= width) return body;
  size_t fill = width - body.size();
  if (spec.left) return body + std::string(fill, ' ');
  if (numeric && spec.zero) return body.substr(0, sign_len) + std::string(fill, '0') + body.substr(sign_len);
  return std::string(fill, ' ') + body;
}

std::string format_integer(long long v, const Spec& spec) {
  unsigned long long mag = v < 0 ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  char buf[64];
  std::string prefix;
  switch (spec.conversion) {
    case 'o':
      std::snprintf(buf, sizeof buf, "%llo", mag);
      if (spec.alt) prefix = "0o";
      break;
    case 'x':
      std::snprintf(buf, sizeof buf, "%llx", mag);
      if (spec.alt) prefix = "0x";
      break;
    case 'X':
      std::snprintf(buf, sizeof buf, "%llX", mag);
      if (spec.alt) prefix = "0X";
      break;
    default:
      std::snprintf(buf, sizeof buf, "%llu", mag);
      break;
  }
  std::string digits(buf);
  if (spec.precision && digits.size() < *spec.precision) {
    digits.insert(0, *spec.precision - digits.size(), '0');
  }
  std::string sign = v < 0 ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  std::string head = sign + prefix;
  return pad(head + digits, spec, head.size(), true);
}

std::string format_float(double v, const Spec& spec) {
  std::string fmt = "%";
  if (spec.left) fmt += '-';
  if (spec.zero) fmt += '0';
  if (spec.plus) fmt += '+';
  if (spec.space) fmt += ' ';
  if (spec.alt) fmt += '#';
  if (spec.width) fmt += std::to_string(*spec.width);
  fmt += '.' + std::to_string(spec.precision.value_or(6));
  fmt += spec.conversion;
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt.c_str(), v);
  return buf;
}

std::string type_name(const ExpansionValue& v) { return std::holds_alternative<long long>(v) ? "int" : "str"; }

Result<std::string> convert(const ExpansionValue& value, const Spec& spec) {
  const auto* text = std::get_if<std::string>(&value);
  const auto* number = std::get_if<long long>(&value);
  switch (spec.conversion) {
    case 's':
    case 'r':
    case 'a': {
      std::string s = text ? *text : std::to_string(*number);
      if (spec.conversion != 's' && text) s = "'" + s + "'";
      if (spec.precision && s.size() > *spec.precision) s.resize(*spec.precision);
      return pad(s, spec, 0, false);
    }
    case 'd':
    case 'i':
    case 'u':
      if (!number) return Error{std::string("%") + spec.conversion + " format: a real number is required, not " + type_name(value)};
      return format_integer(*number, spec);
    case 'o':
    case 'x':
    case 'X':
      if (!number) return Error{std::string("%") + spec.conversion + " format: an integer is required, not " + type_name(value)};
      return format_integer(*number, spec);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      if (!number) return Error{"must be real number, not " + type_name(value)};
      return format_float(static_cast<double>(*number), spec);
    case 'c':
      if (number && *number >= 0 && *number < 128) return pad(std::string(1, static_cast<char>(*number)), spec, 0, false);
      if (text && text->size() == 1) return pad(*text, spec, 0, false);
      return Error{"%c requires int or char"};
    default:
      return Error{"unsupported format character"};
  }
}

std::string repr(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

Result<std::string> expand(std::string_view format, const Expansions& names, std::string_view what) {
  auto r = expand_value(format, names);
  if (r) return r;
  return Error{"Format string " + repr(format) + " for " + repr(what) + " " + r.error()};
}

Result<std::string> expand_value(std::string_view format, const Expansions& names) {
  auto bad = [&](const std::string& why) { return Error{"is badly formatted: " + why}; };
  std::string out;
  size_t i = 0;
  while (i < format.size()) {
    char c = format[i];
    if (c != '%') {
      out += c;
      ++i;
      continue;
    }
    size_t start = i++;
    if (i >= format.size()) return bad("incomplete format");
    if (format[i] == '%') {
      out += '%';
      ++i;
      continue;
    }
    if (format[i] != '(') {
      return bad("a '%' must be followed by '(name)' or be doubled as '%%' (at index " + std::to_string(start) + ")");
    }
    // The name runs to the matching ')', nested parentheses included.
    int depth = 1;
    size_t name_start = ++i;
    while (i < format.size() && depth > 0) {
      if (format[i] == '(') ++depth;
      else if (format[i] == ')') --depth;
      ++i;
    }
    if (depth > 0) return bad("incomplete format key");
    std::string name(format.substr(name_start, i - 1 - name_start));
    auto it = names.find(name);
    if (it == names.end()) {
      std::string available;
      for (const auto& [key, value] : names) {
        if (!available.empty()) available += ", ";
        available += key;
      }
      return Error{"contains names (" + repr(name) + ") which cannot be expanded. Available names: " + available};
    }
    Spec spec;
    for (; i < format.size(); ++i) {
      char f = format[i];
      if (f == '-') spec.left = true;
      else if (f == '0') spec.zero = true;
      else if (f == '+') spec.plus = true;
      else if (f == ' ') spec.space = true;
      else if (f == '#') spec.alt = true;
      else break;
    }
    auto read_number = [&]() -> std::optional<size_t> {
      if (i >= format.size() || format[i] < '0' || format[i] > '9') return std::nullopt;
      size_t n = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        n = n * 10 + static_cast<size_t>(format[i] - '0');
        if (n > 4096) n = 4096;
        ++i;
      }
      return n;
    };
    if (i < format.size() && format[i] == '*') return bad("* wants int");
    spec.width = read_number();
    if (i < format.size() && format[i] == '.') {
      ++i;
      if (i < format.size() && format[i] == '*') return bad("* wants int");
      spec.precision = read_number().value_or(0);
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
    if (i >= format.size()) return bad("incomplete format");
    spec.conversion = format[i];
    auto converted = convert(it->second, spec);
    if (!converted) {
      if (converted.error() == "unsupported format character") {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned char>(spec.conversion));
        return bad("unsupported format character '" + std::string(1, spec.conversion) + "' (" + hex +
                   ") at index " + std::to_string(i));
      }
      return bad(converted.error());
    }
    out += *converted;
    ++i;
  }
  return out;
}

Expansions environment_expansions(const std::map<std::string, std::string>& env) {
  Expansions names;
  for (const auto& [k, v] : env) names["ENV_" + k] = v;
  return names;
}

}  // namespace sup::config
