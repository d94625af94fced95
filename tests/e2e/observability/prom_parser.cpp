#include "prom_parser.hpp"

#include <cerrno>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

namespace prom {

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void fail(std::size_t line_no, const std::string& what, std::string_view line) {
  throw ParseError("line " + std::to_string(line_no) + ": " + what + ": \"" + std::string(line.substr(0, 200)) +
                   "\"");
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// A float as Go's strconv.ParseFloat accepts it in the exposition format
// (decimal notation, NaN, +Inf, -Inf); no hex, no trailing junk.
std::optional<double> parse_float(std::string_view s) {
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  static const std::regex kDecimal(R"([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)");
  std::string str(s);
  if (!std::regex_match(str, kDecimal)) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
  static const std::regex kInt(R"(-?[0-9]+)");
  std::string str(s);
  if (!std::regex_match(str, kInt)) return std::nullopt;
  errno = 0;
  long long v = std::strtoll(str.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return v;
}

// The family a sample name belongs to for a given type (histogram and
// summary samples carry suffixes).
bool belongs(const std::string& sample, const Family& f) {
  if (sample == f.name) return f.type != "histogram";
  auto suffixed = [&](const char* suffix) { return sample == f.name + suffix; };
  if (f.type == "histogram") return suffixed("_bucket") || suffixed("_sum") || suffixed("_count");
  if (f.type == "summary") return suffixed("_sum") || suffixed("_count");
  return false;
}

}  // namespace

bool valid_metric_name(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == '_' || s[0] == ':')) return false;
  for (char c : s)
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == ':')) return false;
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(is_alpha(c) || is_digit(c) || c == '_')) return false;
  return s.substr(0, 2) != "__";  // reserved for Prometheus itself
}

const Family* Exposition::family(const std::string& name) const {
  for (const auto& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

std::optional<double> Exposition::value(const std::string& name, const LabelSet& labels) const {
  for (const auto& f : families)
    for (const auto& s : f.samples)
      if (s.name == name && s.labels == labels) return s.value;
  return std::nullopt;
}

Exposition parse(std::string_view text) {
  Exposition out;
  if (text.empty()) throw ParseError("empty exposition");
  if (text.back() != '\n') throw ParseError("the last line does not end with a newline");
  std::set<std::string> declared;        // families seen (HELP or TYPE)
  std::set<std::string> series;          // name + canonical labels
  // The family samples may belong to now (an index: families grows).
  std::optional<std::size_t> current_index;
  auto current = [&]() -> Family* { return current_index ? &out.families[*current_index] : nullptr; };
  bool current_typed = false;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line.empty()) continue;
    if (line.find('\r') != std::string_view::npos) fail(line_no, "carriage return", line);

    if (line[0] == '#') {
      // "# HELP name text" / "# TYPE name type"; other comments are allowed.
      std::string_view rest = line.substr(1);
      if (rest.empty() || !is_blank(rest[0])) continue;
      while (!rest.empty() && is_blank(rest[0])) rest.remove_prefix(1);
      std::string_view keyword = rest.substr(0, rest.find_first_of(" \t"));
      if (keyword != "HELP" && keyword != "TYPE") continue;
      rest.remove_prefix(keyword.size());
      if (rest.empty() || !is_blank(rest[0])) fail(line_no, "no metric name after " + std::string(keyword), line);
      while (!rest.empty() && is_blank(rest[0])) rest.remove_prefix(1);
      std::size_t name_end = rest.find_first_of(" \t");
      std::string name(rest.substr(0, name_end));
      if (!valid_metric_name(name)) fail(line_no, "invalid metric name '" + name + "'", line);
      std::string_view arg = name_end == std::string_view::npos ? std::string_view() : rest.substr(name_end + 1);
      if (keyword == "HELP") {
        if (declared.count(name)) fail(line_no, "HELP for a family declared before (" + name + ")", line);
        declared.insert(name);
        std::string help;
        for (std::size_t i = 0; i < arg.size(); ++i) {
          if (arg[i] != '\\') {
            help += arg[i];
            continue;
          }
          if (i + 1 == arg.size()) fail(line_no, "dangling backslash in HELP", line);
          char e = arg[++i];
          if (e == '\\') help += '\\';
          else if (e == 'n') help += '\n';
          else fail(line_no, std::string("invalid escape \\") + e + " in HELP", line);
        }
        if (help.empty()) fail(line_no, "empty HELP text", line);
        out.families.push_back(Family{name, help, "", {}});
        current_index = out.families.size() - 1;
        current_typed = false;
      } else {
        if (!current() || current()->name != name || current_typed)
          fail(line_no, "TYPE must follow the family's HELP exactly once (" + name + ")", line);
        std::string type(arg);
        while (!type.empty() && is_blank(type.back())) type.pop_back();
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped")
          fail(line_no, "unknown type '" + type + "'", line);
        current()->type = type;
        current_typed = true;
      }
      continue;
    }

    // A sample: name [{labels}] value [timestamp]
    std::size_t i = 0;
    while (i < line.size() && (is_alpha(line[i]) || is_digit(line[i]) || line[i] == '_' || line[i] == ':')) ++i;
    Sample s;
    s.name = std::string(line.substr(0, i));
    if (!valid_metric_name(s.name)) fail(line_no, "invalid metric name", line);
    if (!current() || !current_typed || !belongs(s.name, *current())) {
      // Either undeclared, or a declared family whose samples are not contiguous.
      fail(line_no, "sample '" + s.name + "' outside its family's block (undeclared or not contiguous)", line);
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t start = i;
        while (i < line.size() && (is_alpha(line[i]) || is_digit(line[i]) || line[i] == '_')) ++i;
        std::string label(line.substr(start, i - start));
        if (!valid_label_name(label)) fail(line_no, "invalid label name '" + label + "'", line);
        if (i >= line.size() || line[i] != '=') fail(line_no, "expected '=' after label name", line);
        ++i;
        if (i >= line.size() || line[i] != '"') fail(line_no, "expected '\"' to open a label value", line);
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value += c;
            continue;
          }
          if (i >= line.size()) break;
          char e = line[i++];
          if (e == '\\') value += '\\';
          else if (e == '"') value += '"';
          else if (e == 'n') value += '\n';
          else fail(line_no, std::string("invalid escape \\") + e + " in a label value", line);
        }
        if (!closed) fail(line_no, "unterminated label value", line);
        if (!s.labels.emplace(label, value).second) fail(line_no, "label '" + label + "' given twice", line);
        if (i < line.size() && line[i] == ',') {
          ++i;
          continue;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        fail(line_no, "expected ',' or '}' after a label", line);
      }
    }
    if (i >= line.size() || !is_blank(line[i])) fail(line_no, "expected a blank before the value", line);
    while (i < line.size() && is_blank(line[i])) ++i;
    std::size_t vend = line.find_first_of(" \t", i);
    std::string_view value_text = line.substr(i, vend == std::string_view::npos ? std::string_view::npos : vend - i);
    auto v = parse_float(value_text);
    if (!v) fail(line_no, "value '" + std::string(value_text) + "' is not a float", line);
    s.value = *v;
    if (vend != std::string_view::npos) {
      std::string_view ts = line.substr(vend);
      while (!ts.empty() && is_blank(ts.front())) ts.remove_prefix(1);
      while (!ts.empty() && is_blank(ts.back())) ts.remove_suffix(1);
      if (!ts.empty()) {
        s.timestamp = parse_int64(ts);
        if (!s.timestamp) fail(line_no, "timestamp '" + std::string(ts) + "' is not an int64", line);
      }
    }
    if (current()->type == "counter" && !(s.value >= 0)) fail(line_no, "negative or NaN counter", line);
    std::string key = s.name + "{";
    for (const auto& [k, val] : s.labels) key += k + "=\"" + val + "\",";
    if (!series.insert(key).second) fail(line_no, "duplicate series", line);
    current()->samples.push_back(std::move(s));
  }
  for (const auto& f : out.families) {
    if (f.type.empty()) throw ParseError("family " + f.name + " has HELP but no TYPE");
    if (f.samples.empty()) throw ParseError("family " + f.name + " has no samples");
  }
  return out;
}

}  // namespace prom
