// Replays the fuzz corpora and the recorded crash inputs through every fuzz
// target in the normal test suite (built with the project's compiler, run
// plain and under ASan/UBSan by scripts/test). Each target file is compiled
// with -DLLVMFuzzerTestOneInput=sup_fuzz_<name> (tests/fuzz/meson.build), so
// all targets live in this one executable. A target reports a violated
// property by aborting, a sanitizer by its report: either fails this test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#define SUP_FUZZ_TARGETS(X) X(ini_reader) X(config_loader) X(expand) X(http_request) X(xmlrpc)

#define SUP_FUZZ_DECLARE(name) extern "C" int sup_fuzz_##name(const std::uint8_t* data, std::size_t size);
SUP_FUZZ_TARGETS(SUP_FUZZ_DECLARE)

namespace {

namespace fs = std::filesystem;

using Entry = int (*)(const std::uint8_t*, std::size_t);

// Every regular file of tests/fuzz/corpus/<name> and tests/fuzz/regressions/<name>, sorted.
std::vector<fs::path> inputs_of(const std::string& name) {
  std::vector<fs::path> files;
  for (const char* kind : {"corpus", "regressions"}) {
    fs::path dir = fs::path(SUP_FUZZ_SOURCE_DIR) / kind / name;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void replay(const std::string& name, Entry entry) {
  auto files = inputs_of(name);
  // A target without inputs would pass without testing anything.
  REQUIRE_MESSAGE(!files.empty(), "no corpus for fuzz target " << name);
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot read " << file.string());
    std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO("input: " << file.string());
    // libFuzzer hands a target a pointer to exactly `size` bytes: so does
    // this copy, so that ASan sees any read past the end.
    std::vector<std::uint8_t> exact(bytes);
    CHECK(entry(exact.empty() ? nullptr : exact.data(), exact.size()) == 0);
  }
  MESSAGE(name << ": " << files.size() << " inputs replayed");
}

}  // namespace

#define SUP_FUZZ_CASE(name) \
  TEST_CASE("fuzz replay: " #name) { replay(#name, &sup_fuzz_##name); }
SUP_FUZZ_TARGETS(SUP_FUZZ_CASE)
