// Deterministic test data shared by the log_writer helper (which a supervised
// child runs) and the e2e_logs tests (which compute what the log must hold).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace e2e_logs {

// n bytes of data for seed:
//   seed 0: "abc...xyzabc..." (letters only: no newline anywhere);
//   otherwise: pseudo-random bytes covering all 256 values, '\n' included.
inline std::string pattern_bytes(std::size_t n, std::uint32_t seed) {
  std::string out(n, '\0');
  if (seed == 0) {
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 26);
    return out;
  }
  std::uint64_t x = 0x9E3779B97F4A7C15ull * seed;
  for (std::size_t i = 0; i < n; ++i) {
    // xorshift64*: cheap, and every byte value shows up quickly.
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    out[i] = static_cast<char>((x * 0x2545F4914F6CDD1Dull) >> 56);
  }
  return out;
}

// Every byte value 0..255 once, in order, `times` times.
inline std::string all_byte_values(std::size_t times) {
  std::string out;
  out.reserve(256 * times);
  for (std::size_t t = 0; t < times; ++t)
    for (int b = 0; b < 256; ++b) out.push_back(static_cast<char>(b));
  return out;
}

// Record k of the rotation tests: `size` bytes ending in "#<k>#\n", so that
// a reader can tell which record a file ends with.
inline std::string record_bytes(std::size_t k, std::size_t size) {
  std::string tag = "#" + std::to_string(k) + "#\n";
  std::string out;
  if (size > tag.size()) out.assign(size - tag.size(), static_cast<char>('A' + k % 26));
  out += tag;
  return out;
}

}  // namespace e2e_logs
