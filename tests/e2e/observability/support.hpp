// Shared helpers of the observability suite: configurations with
// authentication, a free TCP port, fetching and parsing /metrics.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "e2e/harness.hpp"
#include "prom_parser.hpp"

namespace obs {

inline constexpr const char* kUser = "alice";
inline constexpr const char* kPassword = "s3cret";

using e2e::free_port;

inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
    text.replace(pos, from.size(), to);
  return text;
}

// A whole configuration whose unix socket (<dir>/sock) and inet server
// (127.0.0.1:port) both require kUser/kPassword; probes_public= on both as
// given. [supervisorctl] carries the credentials. body: program sections,
// "@DIR@" replaced by the directory.
inline std::string auth_config(const std::string& dir, int port, bool probes_public, const std::string& body) {
  std::string pp = probes_public ? "true" : "false";
  return "[supervisord]\nlogfile=" + dir + "/supervisord.log\npidfile=" + dir + "/supervisord.pid\nchildlogdir=" +
         dir + "\nloglevel=info\n\n[unix_http_server]\nfile=" + dir + "/sock\nusername=" + kUser +
         "\npassword=" + kPassword + "\nprobes_public=" + pp + "\n\n[inet_http_server]\nport=127.0.0.1:" +
         std::to_string(port) + "\nusername=" + kUser + "\npassword=" + kPassword + "\nprobes_public=" + pp +
         "\n\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
         "supervisor.rpcinterface:make_main_rpcinterface\n\n[supervisorctl]\nserverurl=unix://" +
         dir + "/sock\nusername=" + kUser + "\npassword=" + kPassword + "\n\n" + replace_all(body, "@DIR@", dir);
}

inline e2e::HttpResponse get(const std::string& address, const std::string& target, bool with_credentials = false) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (with_credentials) headers.emplace_back("Authorization", e2e::basic_auth(kUser, kPassword));
  return e2e::http_request(address, "GET", target, headers);
}

}  // namespace obs
