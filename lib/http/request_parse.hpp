// The request-parsing half of the HTTP server as pure functions over bytes,
// for tests and fuzzing (tests/fuzz/http_request_fuzz.cpp). The server reads
// from its socket with the same Beast parser, configured by the same code,
// and shares the error classification, the conversion into HttpRequest and
// the Basic authentication check with these functions (server.cpp), so what
// is exercised here is what the daemon runs. No Beast in this header.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/server.hpp"

namespace sup::http {

struct ParsedRequest {
  HttpRequest request;            // method, target, headers, body (username and connection_id unset)
  bool keep_alive = false;        // the connection may carry another request
  bool http10 = false;            // HTTP/1.0 request
  bool expect_continue = false;   // sent "Expect: 100-continue"
  std::size_t consumed = 0;       // bytes of the input this request took
};

struct ParseOutcome {
  enum class Kind {
    Request,     // `parsed` holds the first complete request
    Incomplete,  // more bytes are needed (only when !at_eof)
    Error,       // the request stream is unusable
  };
  Kind kind = Kind::Incomplete;
  ParsedRequest parsed;
  int status = 0;      // Error: 400, 413 or 431 answered before closing; 0: closed without an answer
  std::string reason;  // Error: the parser's message
};

// Parses the first request of `bytes` under `limits` (header_limit,
// body_limit) the way a server session does. `at_eof`: the client sends
// nothing more, so a truncated request is an Error rather than Incomplete.
ParseOutcome parse_request(std::string_view bytes, const Limits& limits, bool at_eof);

// Checks an Authorization header value (nullptr: none was sent) for Basic
// credentials matching username and password (plain, or "{SHA}" + hex
// SHA-1). On success *user is the user name.
bool check_basic_auth(const std::string* header, const std::string& username, const std::string& password,
                      std::string* user);

}  // namespace sup::http
