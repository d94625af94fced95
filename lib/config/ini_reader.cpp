// The file is classified line by line with Python's configparser rules here,
// and inih (ini_parse_stream, raw C API) is fed a canonical line for each
// decision. Anything inih would mangle (values holding ';' or '#', section
// names with ']', lines longer than its 200-byte buffer) travels through a
// side table and the line carries only its index. See DEPENDENCIES.md s. 6.
#include "config/ini_reader.hpp"

#include <ini.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

namespace sup::config {
namespace {

// Reserved names of the canonical lines; they cannot appear in a real key
// because real keys never contain control characters on the direct path.
constexpr char kSideOption[] = "\x01";    // value = side table index of {key, value}
constexpr char kContinuation[] = "\x02";  // value = text to append (or "\x01<idx>")
constexpr char kSectionMark[] = "\x03";   // value = "" (name from inih) or side index
constexpr char kSideRef = '\x01';

// Python's str.isspace() for the ASCII range.
bool py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}

std::string py_strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && py_space(s[b])) ++b;
  while (e > b && py_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool has_any(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

// Where an inline comment starts, following configparser's search: every
// round advances each prefix to its next occurrence and stops at the first
// round in which some occurrence is at column 0 or after whitespace.
std::optional<size_t> inline_comment_start(std::string_view line) {
  const char prefixes[2] = {';', '#'};
  long index[2] = {-1, -1};
  bool alive[2] = {true, true};
  while (alive[0] || alive[1]) {
    std::optional<size_t> found;
    for (int i = 0; i < 2; ++i) {
      if (!alive[i]) continue;
      size_t at = line.find(prefixes[i], static_cast<size_t>(index[i] + 1));
      if (at == std::string_view::npos) {
        alive[i] = false;
        continue;
      }
      index[i] = static_cast<long>(at);
      if (at == 0 || py_space(line[at - 1])) {
        if (!found || at < *found) found = at;
      }
    }
    if (found) return found;
  }
  return std::nullopt;
}

struct CanonicalLine {
  std::string text;
  int lineno;
};

struct SideEntry {
  std::string key;
  std::string value;
};

// State shared by the reader and the handler during one ini_parse_stream().
struct ParseContext {
  IniDocument* doc = nullptr;
  std::string source;
  std::string text;
  size_t pos = 0;
  int physical_line = 0;

  // configparser's state
  bool in_section = false;
  bool has_option = false;
  size_t indent_level = 0;

  std::deque<CanonicalLine> pending;
  int current_line = 0;  // physical line of the canonical line inih is handling
  std::vector<SideEntry> side;

  IniSection* section = nullptr;
  std::string last_key;
  std::optional<std::string> error;

  std::string side_ref(std::string key, std::string value) {
    side.push_back({std::move(key), std::move(value)});
    return std::to_string(side.size() - 1);
  }

  void fail(int line, const std::string& what, std::string_view text_line) {
    if (error) return;
    std::string where = section ? "invalid line in section '" + section->name + "' (file: '" + source + "', line "
                                : "invalid line (file: '" + source + "', line ";
    error = where + std::to_string(line) + "): '" + std::string(text_line) + "': " + what;
  }

  bool next_physical_line(std::string& out) {
    if (pos >= text.size()) return false;
    size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string::npos) {
      out = text.substr(pos);
      pos = text.size();
    } else {
      out = text.substr(pos, end - pos);
      pos = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
    }
    ++physical_line;
    return true;
  }

  // Classifies one physical line and queues zero or more canonical lines.
  void classify(const std::string& line, size_t capacity) {
    std::optional<size_t> comment = inline_comment_start(line);
    std::string stripped = py_strip(line);
    if (!stripped.empty() && (stripped[0] == ';' || stripped[0] == '#')) comment = 0;
    std::string value = py_strip(std::string_view(line).substr(0, comment.value_or(line.size())));
    if (value.empty()) {
      // A blank line inside a value is kept (joined as an empty part); a
      // comment-only line is not.
      if (!comment && in_section && has_option) queue_continuation("", capacity);
      return;
    }
    size_t indent = 0;
    while (indent < line.size() && py_space(line[indent])) ++indent;
    if (in_section && has_option && indent > indent_level) {
      queue_continuation(value, capacity);
      return;
    }
    indent_level = indent;
    size_t close = value.rfind(']');
    if (value[0] == '[' && close != std::string::npos && close >= 2) {
      queue_section(value.substr(1, close - 1), capacity);
      in_section = true;
      has_option = false;
      return;
    }
    if (!in_section) {
      fail(physical_line, "text before the first [section] header", line);
      return;
    }
    size_t delim = value.find_first_of("=:");
    if (delim == std::string::npos) {
      fail(physical_line, "an option needs '=' or ':' and a value", line);
      return;
    }
    std::string key = lower_ascii(py_strip(std::string_view(value).substr(0, delim)));
    if (key.empty()) {
      fail(physical_line, "value without an option name", line);
      return;
    }
    queue_option(std::move(key), py_strip(std::string_view(value).substr(delim + 1)), capacity);
    has_option = true;
  }

  void queue_continuation(const std::string& value, size_t capacity) {
    std::string line = std::string(kContinuation) + "=" + value;
    if (line.size() > capacity || has_any(value, ";#\x01\x02\x03")) {
      line = std::string(kContinuation) + "=" + kSideRef + side_ref("", value);
    }
    pending.push_back({std::move(line), physical_line});
  }

  void queue_section(const std::string& name, size_t capacity) {
    // inih keeps at most 49 bytes of a section name.
    std::string header = "[" + name + "]";
    if (header.size() > capacity || name.size() > 40 || has_any(name, "];#\x01\x02\x03")) {
      pending.push_back({"[" + std::string(1, kSideRef) + "]", physical_line});
      pending.push_back({std::string(kSectionMark) + "=" + side_ref(name, ""), physical_line});
    } else {
      pending.push_back({std::move(header), physical_line});
      pending.push_back({std::string(kSectionMark) + "=", physical_line});
    }
  }

  void queue_option(std::string key, std::string value, size_t capacity) {
    std::string line = key + "=" + value;
    bool direct = line.size() <= capacity && key[0] != '[' && !has_any(key, ";#\x01\x02\x03") &&
                  !has_any(value, ";#\x01\x02\x03");
    if (!direct) line = std::string(kSideOption) + "=" + side_ref(std::move(key), std::move(value));
    pending.push_back({std::move(line), physical_line});
  }
};

char* reader(char* str, int num, void* stream) {
  auto* ctx = static_cast<ParseContext*>(stream);
  if (num < 16) return nullptr;
  // Room for the text, a '\n' inih may look for, and the terminating NUL.
  const size_t capacity = static_cast<size_t>(num) - 2;
  std::string line;
  while (ctx->pending.empty() && !ctx->error) {
    if (!ctx->next_physical_line(line)) return nullptr;
    if (ctx->physical_line == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    ctx->classify(line, capacity);
  }
  if (ctx->error) return nullptr;
  CanonicalLine next = std::move(ctx->pending.front());
  ctx->pending.pop_front();
  ctx->current_line = next.lineno;
  std::memcpy(str, next.text.data(), next.text.size());
  str[next.text.size()] = '\n';
  str[next.text.size() + 1] = '\0';
  return str;
}

std::optional<size_t> side_index(const std::string& value, size_t limit) {
  try {
    size_t used = 0;
    unsigned long idx = std::stoul(value, &used);
    if (used != value.size() || idx >= limit) return std::nullopt;
    return idx;
  } catch (...) {
    return std::nullopt;
  }
}

int handler(void* user, const char* section, const char* name, const char* value) {
  auto* ctx = static_cast<ParseContext*>(user);
  if (name == nullptr) return 1;  // inih built to report new sections: we use our marker
  std::string key(name);
  std::string val(value ? value : "");
  if (key == kSectionMark) {
    std::string sect;
    if (val.empty()) {
      sect = section;
    } else {
      auto idx = side_index(val, ctx->side.size());
      if (!idx) return 0;
      sect = ctx->side[*idx].key;
    }
    ctx->section = &ctx->doc->open_section(sect, ctx->source, ctx->current_line);
    ctx->last_key.clear();
    return 1;
  }
  if (ctx->section == nullptr) return 0;
  if (key == kContinuation) {
    if (!val.empty() && val[0] == kSideRef) {
      auto idx = side_index(val.substr(1), ctx->side.size());
      if (!idx) return 0;
      val = ctx->side[*idx].value;
    }
    for (auto& [k, v] : ctx->section->options) {
      if (k == ctx->last_key) {
        v.value += "\n";
        v.value += val;
        return 1;
      }
    }
    return 0;
  }
  if (key == kSideOption) {
    auto idx = side_index(val, ctx->side.size());
    if (!idx) return 0;
    key = ctx->side[*idx].key;
    val = ctx->side[*idx].value;
  }
  ctx->doc->set_option(*ctx->section, key, IniValue{val, ctx->source, ctx->current_line});
  ctx->last_key = key;
  return 1;
}

// configparser strips the trailing whitespace of a joined multi-line value
// (trailing blank lines vanish).
void rstrip_values(IniSection& s) {
  for (auto& [k, v] : s.options) {
    while (!v.value.empty() && py_space(v.value.back())) v.value.pop_back();
  }
}

}  // namespace

Status IniDocument::read_string(const std::string& text, const std::string& source) {
  ParseContext ctx;
  ctx.doc = this;
  ctx.source = source;
  ctx.text = text;
  int rc = ini_parse_stream(reader, &ctx, handler, &ctx);
  for (auto& s : sections_) rstrip_values(s);
  rstrip_values(defaults_);
  if (ctx.error) return Error{*ctx.error};
  if (rc != 0) {
    return Error{"could not parse file '" + source + "' near line " + std::to_string(ctx.current_line)};
  }
  return {};
}

Status IniDocument::read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{"could not read config file '" + path + "': " + std::strerror(errno)};
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return Error{"could not read config file '" + path + "': " + std::strerror(errno)};
  }
  return read_string(buf.str(), path);
}

IniSection& IniDocument::open_section(const std::string& name, const std::string& file, int line) {
  if (name == "DEFAULT") return defaults_;
  // strict=False: a repeated section merges.
  auto [it, added] = index_.try_emplace(name, sections_.size());
  if (!added) return sections_[it->second];
  sections_.push_back(IniSection{name, file, line, {}});
  return sections_.back();
}

void IniDocument::set_option(IniSection& section, const std::string& key, IniValue value) {
  for (auto& [k, v] : section.options) {
    if (k == key) {
      v = std::move(value);  // strict=False: the later value wins
      return;
    }
  }
  section.options.emplace_back(key, std::move(value));
}

std::vector<std::string> IniDocument::section_names() const {
  std::vector<std::string> names;
  names.reserve(sections_.size());
  for (const auto& s : sections_) names.push_back(s.name);
  return names;
}

bool IniDocument::has_section(const std::string& name) const { return section(name) != nullptr; }

const IniSection* IniDocument::section(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &sections_[it->second];
}

const IniValue* IniDocument::find(const std::string& section_name, const std::string& key) const {
  std::string k = lower_ascii(key);
  if (const IniSection* s = section(section_name)) {
    for (const auto& [name, v] : s->options) {
      if (name == k) return &v;
    }
  } else if (section_name != "DEFAULT") {
    return nullptr;
  }
  for (const auto& [name, v] : defaults_.options) {
    if (name == k) return &v;
  }
  return nullptr;
}

std::optional<std::string> IniDocument::get(const std::string& section_name, const std::string& key) const {
  const IniValue* v = find(section_name, key);
  if (v == nullptr) return std::nullopt;
  return v->value;
}

std::vector<std::string> IniDocument::options(const std::string& section_name) const {
  std::vector<std::string> keys;
  if (const IniSection* s = section(section_name)) {
    for (const auto& [name, v] : s->options) keys.push_back(name);
  }
  for (const auto& [name, v] : defaults_.options) {
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) keys.push_back(name);
  }
  return keys;
}

}  // namespace sup::config
