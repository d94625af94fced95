// Fuzz target: the INI reader (lib/config/ini_reader) on arbitrary file text.
// Besides memory safety, it checks that what the reader reports is
// self-consistent: every listed section exists and every listed key of a
// section has a value.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/ini_reader.hpp"
#include "fuzz_check.hpp"

namespace {

void check_consistent(const sup::config::IniDocument& doc) {
  for (const auto& name : doc.section_names()) {
    FUZZ_CHECK(doc.has_section(name));
    FUZZ_CHECK(doc.section(name) != nullptr);
    for (const auto& key : doc.options(name)) {
      FUZZ_CHECK(doc.find(name, key) != nullptr);
      FUZZ_CHECK(doc.get(name, key).has_value());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  sup::config::IniDocument doc;
  auto first = doc.read_string(text, "fuzz.conf");
  check_consistent(doc);
  if (first) {
    // Reading the same text again merges into the document (duplicate
    // sections merge, keys are replaced): valid once, valid twice, and
    // nothing appears or disappears.
    auto names = doc.section_names();
    auto second = doc.read_string(text, "fuzz2.conf");
    FUZZ_CHECK(static_cast<bool>(second));
    FUZZ_CHECK(doc.section_names() == names);
    check_consistent(doc);
  }
  return 0;
}
