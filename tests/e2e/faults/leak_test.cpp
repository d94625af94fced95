// A whole daemon lifetime under LeakSanitizer: start, SIGHUP reload,
// reread/update adding and removing programs, start/stop, shutdown. In an
// ASan build (scripts/test sets ASAN_OPTIONS=detect_leaks=1:abort_on_error=1)
// a leak makes the daemon's exit report it on stderr and abort; in a plain
// build the same sequence still has to end with status 0.
// (tests/bench/leakcheck runs the same sequence under valgrind.)
#include <signal.h>

#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "faults_support.hpp"

using namespace e2e;

TEST_CASE("start, SIGHUP, reread/update, start/stop and shutdown: exit 0 with no leak report") {
  if (faults::asan_build()) {
    // Leak detection on, whatever the caller's environment says.
    const char* old = std::getenv("ASAN_OPTIONS");
    std::string opts = old ? old : "";
    if (opts.find("detect_leaks") == std::string::npos) ::setenv("ASAN_OPTIONS", (opts.empty() ? "" : opts + ":").append("detect_leaks=1").c_str(), 1);
  } else {
    MESSAGE("supervisord is not an ASan build: checking the exit status and stderr only");
  }
  TempDir dir;
  const std::string first = R"(
[program:a]
command=/bin/sleep 1001
startsecs=0
[program:b]
command=/bin/sh -c 'echo out; echo err >&2; exec sleep 1002'
startsecs=0
[group:g]
programs=a
)";
  Daemon d(dir, first);
  d.start();
  REQUIRE(d.wait_state("g:a", "RUNNING"));
  REQUIRE(d.wait_state("b", "RUNNING"));
  CHECK(faults::ctl(d, {"status"}).status == 0);
  CHECK(faults::ctl(d, {"tail", "b"}).out.find("out\n") != std::string::npos);

  d.signal(SIGHUP);
  REQUIRE(d.wait_log("supervisord restarted with pid"));
  REQUIRE(d.wait_state("b", "RUNNING"));

  d.rewrite_config(R"(
[program:b]
command=/bin/sh -c 'echo out2; exec sleep 1003'
startsecs=0
[program:c]
command=/bin/sleep 1004
startsecs=0
numprocs=2
process_name=%(program_name)s_%(process_num)d
)");
  CommandResult up = faults::ctl(d, {"update"});
  CHECK(up.status == 0);
  CHECK(up.out.find("g: removed process group") != std::string::npos);
  CHECK(up.out.find("c: added process group") != std::string::npos);
  CHECK(up.out.find("b: updated process group") != std::string::npos);
  REQUIRE(d.wait_state("c:c_0", "RUNNING"));
  REQUIRE(d.wait_state("b", "RUNNING"));
  CHECK(faults::ctl(d, {"stop", "c:*"}).status == 0);
  CHECK(faults::ctl(d, {"start", "all"}).status == 0);
  CHECK(faults::ctl(d, {"restart", "b"}).out == "b: stopped\nb: started\n");
  RpcResult log = d.call("supervisor.readProcessStdoutLog", {"b", 0, 100});
  CHECK(log.ok());
  CHECK(d.call("supervisor.clearAllProcessLogs").ok());

  CommandResult bye = faults::ctl(d, {"shutdown"});
  CHECK(bye.status == 0);
  faults::check_clean_exit(d);
}
