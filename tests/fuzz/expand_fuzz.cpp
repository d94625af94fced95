// Fuzz target: supervisord's `%(name)s` expansion (lib/config/expand) with
// text and number values of the kinds the loader provides.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/expand.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sup::config::Expansions names = [] {
    sup::config::Expansions n = sup::config::environment_expansions({{"HOME", "/root"}, {"PATH", "/usr/bin:/bin"}, {"X", "%"}});
    n["here"] = std::string("/etc/supervisor");
    n["program_name"] = std::string("web");
    n["group_name"] = std::string("g");
    n["host_node_name"] = std::string("host");
    n["c"] = std::string("c");
    n["empty"] = std::string();
    n["process_num"] = 7LL;
    n["numprocs"] = 12LL;
    n["negative"] = -9223372036854775807LL - 1;
    n["big"] = 9223372036854775807LL;
    return n;
  }();
  const std::string_view format(reinterpret_cast<const char*>(data), size);
  auto r = sup::config::expand(format, names, "program:web.command");
  if (r) {
    // Text without '%' expands to itself.
    if (format.find('%') == std::string_view::npos) FUZZ_CHECK(*r == format);
  } else {
    // Errors are one line and name the format string's owner.
    FUZZ_CHECK(r.error().find("'program:web.command'") != std::string::npos);
  }
  return 0;
}
