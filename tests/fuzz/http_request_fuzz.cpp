// Fuzz target: the HTTP server's request parsing (lib/http/request_parse.hpp:
// the server's Beast parser with its limits, error classification and
// request conversion) and its Basic authentication check. The input is
// treated as everything a client sent on one connection: requests are
// parsed one after another while the connection stays open.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/request_parse.hpp"

namespace {

using sup::http::ParseOutcome;

void check_request(const sup::http::ParsedRequest& parsed, std::string_view input, const sup::http::Limits& limits) {
  FUZZ_CHECK(parsed.consumed > 0 && parsed.consumed <= input.size());
  FUZZ_CHECK(parsed.request.body.size() <= limits.body_limit);
  FUZZ_CHECK(!parsed.request.method.empty());
  for (const auto& [name, value] : parsed.request.headers)
    for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  // The session reads in pieces: every prefix of a request is incomplete,
  // never an error and never a (different) request.
  auto partial = sup::http::parse_request(input.substr(0, parsed.consumed - 1), limits, false);
  FUZZ_CHECK(partial.kind == ParseOutcome::Kind::Incomplete);

  std::string user;
  const std::string* auth = parsed.request.header("authorization");
  if (sup::http::check_basic_auth(auth, "user", "123", &user)) FUZZ_CHECK(user == "user");
  user.clear();
  // "{SHA}" + sha1("123")
  if (sup::http::check_basic_auth(auth, "user", "{SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef", &user))
    FUZZ_CHECK(user == "user");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // Small limits, so that short inputs reach the 413 and 431 paths too.
  sup::http::Limits limits;
  limits.header_limit = 2048;
  limits.body_limit = 4096;
  for (int i = 0; i < 32; ++i) {
    auto out = sup::http::parse_request(rest, limits, true);
    FUZZ_CHECK(out.kind != ParseOutcome::Kind::Incomplete);  // at_eof: complete or failed
    if (out.kind == ParseOutcome::Kind::Error) {
      FUZZ_CHECK(out.status == 0 || out.status == 400 || out.status == 413 || out.status == 431);
      FUZZ_CHECK(!out.reason.empty());
      break;
    }
    check_request(out.parsed, rest, limits);
    if (!out.parsed.keep_alive) break;
    rest.remove_prefix(out.parsed.consumed);
  }
  return 0;
}
