// SocketAddress: a socket= address ("tcp://HOST:PORT", "tcp://[V6]:PORT",
// "unix:///PATH"). Header-only so that the config loader can validate
// addresses without linking the socket store.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace sup::sockets {

struct SocketAddress {
  enum class Kind { Tcp, Unix };
  Kind kind = Kind::Tcp;
  std::string host;  // tcp: lower-cased host name or address, no brackets; "" or "*" = every interface
  int port = 0;      // tcp
  std::string path;  // unix: absolute path
  bool ipv6_literal = false;

  // Canonical text: the store's key and the LISTEN_FDNAMES entry.
  std::string to_string() const {
    if (kind == Kind::Unix) return "unix://" + path;
    std::string h = ipv6_literal ? "[" + host + "]" : host;
    return "tcp://" + h + ":" + std::to_string(port);
  }
  bool operator==(const SocketAddress&) const = default;
};

// Parses one address; the error says what is wrong in a few words.
inline Result<SocketAddress> parse_socket_address(std::string_view text) {
  static const char* kFormats = "expected tcp://HOST:PORT, tcp://[IPV6]:PORT or unix:///ABSOLUTE/PATH";
  SocketAddress a;
  if (text.rfind("unix://", 0) == 0) {
    a.kind = SocketAddress::Kind::Unix;
    a.path = std::string(text.substr(7));
    if (a.path.empty() || a.path[0] != '/') return Error{"unix socket path is not absolute"};
    if (a.path.size() >= 108) return Error{"unix socket path is longer than 107 bytes"};
    return a;
  }
  if (text.rfind("tcp://", 0) != 0) return Error{kFormats};
  std::string_view rest = text.substr(6);
  std::string_view host, port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      return Error{kFormats};
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.%") != std::string_view::npos)
      return Error{"invalid IPv6 address"};
    a.ipv6_literal = true;
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return Error{kFormats};
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return Error{"an IPv6 address must be written in brackets"};
  }
  if (host.find_first_of(" \t\r\n/") != std::string_view::npos) return Error{kFormats};
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return Error{kFormats};
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return Error{"port must be 1-65535"};
  a.host = std::string(host);
  std::transform(a.host.begin(), a.host.end(), a.host.begin(), [](unsigned char c) { return std::tolower(c); });
  a.port = p;
  return a;
}

}  // namespace sup::sockets
