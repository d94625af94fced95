// INI reading with the rules of Python's RawConfigParser as supervisord 4.2.5
// configures it (inline_comment_prefixes=(';','#'), strict=False):
//   - full-line comments start with ';' or '#'; inline comments only when the
//     ';'/'#' follows whitespace;
//   - '=' and ':' delimit key and value; keys are lower-cased, section names
//     are case-sensitive;
//   - a line indented deeper than its option line continues the value, the
//     parts (blank lines included) are joined with "\n";
//   - a later duplicate key replaces the earlier one, a duplicate section
//     merges into the earlier one (also across files);
//   - [DEFAULT] keys are visible in every section;
//   - a key without a delimiter is an error, so is text before any section.
// Lines of any length are kept intact (Debian's inih cuts lines at 200 bytes,
// see DEPENDENCIES.md section 6; the reader hands such lines over through a
// side table).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace sup::config {

// One option value and where it was (last) set.
struct IniValue {
  std::string value;
  std::string file;  // the file that set it, as given to read_file()
  int line = 0;      // line of the key
};

struct IniSection {
  std::string name;
  std::string file;  // the file in which the section first appeared
  int line = 0;
  std::vector<std::pair<std::string, IniValue>> options;  // lower-cased keys, first-set order
};

// An ordered INI document built from one or more files. Reading a second file
// merges into the document like RawConfigParser.read() does.
class IniDocument {
 public:
  // Parses `path` into the document. Errors: unreadable file, or a syntax
  // error ("... (file: '...', line N): ...").
  Status read_file(const std::string& path);
  // Parses `text` as if it were the content of a file named `source`.
  Status read_string(const std::string& text, const std::string& source);

  // Section names in first-appearance order, [DEFAULT] excluded.
  std::vector<std::string> section_names() const;
  bool has_section(const std::string& name) const;
  const IniSection* section(const std::string& name) const;
  // The section's own value, else the [DEFAULT] value, else nullptr.
  const IniValue* find(const std::string& section, const std::string& key) const;
  std::optional<std::string> get(const std::string& section, const std::string& key) const;
  // Keys of the section followed by [DEFAULT] keys it does not override.
  std::vector<std::string> options(const std::string& section) const;
  const IniSection& defaults() const { return defaults_; }

  // Used by the inih callbacks (ini_reader.cpp); not part of the contract.
  IniSection& open_section(const std::string& name, const std::string& file, int line);
  void set_option(IniSection& section, const std::string& key, IniValue value);

 private:
  std::vector<IniSection> sections_;
  std::unordered_map<std::string, std::size_t> index_;  // name -> position in sections_
  IniSection defaults_{"DEFAULT", "", 0, {}};
};

}  // namespace sup::config
