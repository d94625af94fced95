// Helpers of the health e2e tests: a free port and a tiny controllable HTTP
// server (a Python script) the supervised programs run.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "e2e/harness.hpp"

namespace e2e::health {

using e2e::free_port;

// Writes <dir>/server.py: `server.py PORT [DELAY]` serves GET /healthz with
// 200 after sleeping DELAY seconds; while <dir>/hang exists it accepts
// connections but never answers (a deadlocked service with its port open).
// It removes <dir>/hang when it starts, so a restarted server is healthy.
inline std::string write_server(const TempDir& dir) {
  std::string path = dir.file("server.py");
  write_file(path, R"PY(
import http.server, os, sys, time
here = os.path.dirname(os.path.abspath(__file__))
hang = os.path.join(here, "hang")
if os.path.exists(hang):
    os.unlink(hang)
if len(sys.argv) > 2:
    time.sleep(float(sys.argv[2]))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        while os.path.exists(hang):
            time.sleep(0.05)
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
)PY");
  return path;
}

// Replaces every @KEY@ of text.
inline std::string subst(std::string text, const std::string& key, const std::string& value) {
  for (size_t pos; (pos = text.find(key)) != std::string::npos;) text.replace(pos, key.size(), value);
  return text;
}

}  // namespace e2e::health
