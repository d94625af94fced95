// GET /healthz and /readyz: authentication unless probes_public=true, and
// readiness following the autostart programs.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace e2e;

TEST_CASE("/healthz and /readyz need credentials when a password is set and probes_public is off") {
  TempDir dir;
  int port = obs::free_port();
  Daemon d(dir, "");
  write_file(d.config_path(), obs::auth_config(dir.path(), port, false, R"(
[program:web]
command=/bin/sleep 1000
startsecs=0
)"));
  d.start({"-n"}, false);
  REQUIRE_MESSAGE(wait_until([&] { return obs::get(d.socket_path(), "/readyz", true).status == 200; }),
                  "not ready; log:\n" << d.log());
  for (const std::string& address : {d.socket_path(), "127.0.0.1:" + std::to_string(port)}) {
    INFO("server " << address);
    for (const char* path : {"/healthz", "/readyz", "/healthz?verbose=1"}) {
      INFO("path " << path);
      CHECK(obs::get(address, path).status == 401);
      HttpResponse r = obs::get(address, path, true);
      CHECK(r.status == 200);
    }
    HttpResponse ok = obs::get(address, "/healthz", true);
    CHECK(ok.body == "ok\n");
  }
}

TEST_CASE("probes_public=true opens GET /healthz and /readyz only; everything else still needs credentials") {
  TempDir dir;
  int port = obs::free_port();
  Daemon d(dir, "");
  write_file(d.config_path(), obs::auth_config(dir.path(), port, true, R"(
[program:web]
command=/bin/sleep 1000
startsecs=0
)"));
  d.start({"-n"}, false);
  REQUIRE_MESSAGE(wait_until([&] { return obs::get(d.socket_path(), "/readyz").status == 200; }),
                  "not ready; log:\n" << d.log());
  for (const std::string& address : {d.socket_path(), "127.0.0.1:" + std::to_string(port)}) {
    INFO("server " << address);
    HttpResponse h = obs::get(address, "/healthz");
    CHECK(h.status == 200);
    CHECK(h.body == "ok\n");
    HttpResponse r = obs::get(address, "/readyz?x=1");
    CHECK(r.status == 200);
    CHECK(http_request(address, "HEAD", "/healthz").status == 200);
    // Other methods, other paths and paths that merely start alike are not public.
    CHECK(http_request(address, "POST", "/healthz").status == 401);
    CHECK(obs::get(address, "/metrics").status == 401);
    CHECK(obs::get(address, "/healthz/x").status == 401);
    CHECK(obs::get(address, "/logtail/web").status == 401);
    CHECK(http_request(address, "POST", "/RPC2").status == 401);
    // With credentials the probes answer the same.
    CHECK(obs::get(address, "/healthz", true).status == 200);
  }
}

TEST_CASE("/readyz: 503 naming the autostart programs not RUNNING, 200 once they are") {
  TempDir dir;
  // gate is RUNNING only once its health check passes (no deadline: it
  // waits as long as it takes); oneshot finishes with an expected exit
  // code; manual is not autostarted. Only gate keeps the daemon unready.
  Daemon d(dir, R"(
[program:gate]
command=/bin/sleep 1000
startsecs=0
ready=healthcheck
healthcheck=exec:/bin/test -e @DIR@/go
healthcheck_interval=1

[program:oneshot]
command=/bin/sh -c 'exit 0'
startsecs=0
autorestart=false

[program:manual]
command=/bin/sleep 1000
autostart=false
)");
  d.start();
  REQUIRE(d.wait_state("oneshot", "EXITED"));
  REQUIRE(d.state_of("gate") == "STARTING");
  HttpResponse r = obs::get(d.socket_path(), "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready:\ngate STARTING\n");
  CHECK(obs::get(d.socket_path(), "/healthz").status == 200);

  write_file(dir.file("go"), "");
  REQUIRE(d.wait_state("gate", "RUNNING"));
  r = obs::get(d.socket_path(), "/readyz");
  CHECK(r.status == 200);
  CHECK(r.body == "ready\n");

  // A stopped autostart program makes the daemon unready again.
  REQUIRE(d.call("supervisor.stopProcess", {"gate"}).ok());
  r = obs::get(d.socket_path(), "/readyz");
  CHECK(r.status == 503);
  CHECK(r.body == "not ready:\ngate STOPPED\n");
}
