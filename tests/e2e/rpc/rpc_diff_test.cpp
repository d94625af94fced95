// Differential test of the XML-RPC control plane: for each scenario, Debian's
// supervisord 4.2.5 (/usr/bin/supervisord, the behavioural oracle) and ours
// ($SUPERVISORD) run in the foreground on equivalent configurations in two
// temp dirs; tests/e2e/rpc/rpc_calls.py drives both with Python's
// xmlrpc.client over the unix socket and prints every result or fault as
// one normalised JSON line. The two transcripts must be identical, line by
// line (see rpc_calls.py for what normalisation removes, and why).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"

#ifndef RPC_CALLS_SCRIPT
#error "RPC_CALLS_SCRIPT must be defined by the build (path of rpc_calls.py)"
#endif

namespace {

using namespace std::chrono_literals;

constexpr const char* kRealSupervisord = "/usr/bin/supervisord";
constexpr const char* kPython = "/usr/bin/python3";

// Programs covering every kind of process the API distinguishes: a long
// sleeper, one exiting too fast (FATAL), autostart=false ones (one with a
// missing command, one not executable, one failing), a heterogeneous
// group, numprocs=2, known stdout/stderr output, redirect_stderr, and a
// `cat` for sendProcessStdin.
// The quickly exiting programs use startsecs=5: supervisord notices a
// child's exit up to a second late (its select() is not woken by SIGCHLD),
// and with startsecs=1 it would sometimes count the exit as "Bad exit
// code" after RUNNING instead of "Exited too quickly".
constexpr const char* kPrograms = R"(
[program:sleeper]
command=/bin/sleep 1000
priority=10

[program:fastexit]
command=/bin/sh -c "exit 3"
startretries=0
startsecs=5

[program:manual]
command=/bin/sleep 1000
autostart=false

[program:quick]
command=/bin/sleep 1000
autostart=false
startsecs=0

[program:slow]
command=/bin/sleep 1000
autostart=false
startsecs=8

[program:missing]
command=/nonexistent/no-such-binary --flag
autostart=false

[program:notexec]
command=@DIR@/notexec.sh
autostart=false

[program:failing]
command=/bin/sh -c "exit 7"
autostart=false
startretries=0
startsecs=5

[program:talker]
command=/bin/sh -c "printf 'out-1\nout-2\n'; printf 'err-1\n' >&2; exec /bin/sleep 1000"
stdout_logfile=@DIR@/talker.out
stderr_logfile=@DIR@/talker.err
startsecs=0

[program:merged]
command=/bin/sh -c "echo merged-out; echo merged-err >&2; exec /bin/sleep 1000"
redirect_stderr=true
startsecs=0

[program:catter]
command=/bin/cat
startsecs=0

[program:multi]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=2
startsecs=0

[program:xa]
command=/bin/sleep 1000
startsecs=0

[program:xb]
command=/bin/sleep 1000
startsecs=0
autostart=false

[group:x]
programs=xa,xb
priority=20
)";

// The configuration reloadConfig finds after an edit: `manual` removed,
// `sleeper` changed, `newprog` and group `y` added.
std::string next_programs() {
  std::string body = kPrograms;
  auto cut = [&](const std::string& section) {
    std::size_t at = body.find(section);
    REQUIRE(at != std::string::npos);
    std::size_t end = body.find("\n[", at + 1);
    body.erase(at, end == std::string::npos ? std::string::npos : end + 1 - at);
  };
  cut("[program:manual]");
  std::size_t at = body.find("command=/bin/sleep 1000\npriority=10");
  REQUIRE(at != std::string::npos);
  body.replace(at, std::strlen("command=/bin/sleep 1000"), "command=/bin/sleep 2000");
  body += R"(
[program:newprog]
command=/bin/sleep 1000
startsecs=0

[program:ya]
command=/bin/sleep 1000
startsecs=0

[group:y]
programs=ya
)";
  return body;
}

// A configuration supervisord refuses: a program without a command.
std::string broken_programs() { return std::string(kPrograms) + "\n[program:bad]\nautostart=false\n"; }

// One daemon (ours or the real one) with its directory and extra files.
struct Side {
  e2e::TempDir dir;
  e2e::Daemon daemon;
  explicit Side(const char* prefix) : dir(prefix), daemon(dir, kPrograms) {
    e2e::write_file(dir.file("notexec.sh"), "#!/bin/sh\nexec /bin/sleep 1000\n", 0644);
    e2e::write_file(dir.file("next.conf"), e2e::make_config(dir.path(), next_programs()));
    e2e::write_file(dir.file("broken.conf"), e2e::make_config(dir.path(), broken_programs()));
  }
};

// The harness launches $SUPERVISORD; the oracle is started by pointing it at
// /usr/bin/supervisord for the duration of start() only.
void start_with(e2e::Daemon& d, const std::string& exe) {
  const char* old = std::getenv("SUPERVISORD");
  std::string saved = old ? old : "";
  ::setenv("SUPERVISORD", exe.c_str(), 1);
  d.start({"-n"}, false);
  if (old)
    ::setenv("SUPERVISORD", saved.c_str(), 1);
  else
    ::unsetenv("SUPERVISORD");
}

// A running rpc_calls.py with stdout/stderr in files of the side's dir.
struct Script {
  pid_t pid = 0;
  std::string out_path, err_path;
};

Script launch_script(const Side& side, const std::string& scenario) {
  Script s;
  s.out_path = side.dir.file("rpc_calls.stdout");
  s.err_path = side.dir.file("rpc_calls.stderr");
  std::vector<std::string> args{kPython, RPC_CALLS_SCRIPT, side.daemon.socket_path(), side.dir.path(), scenario};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  REQUIRE_MESSAGE(pid >= 0, "fork: " << std::strerror(errno));
  if (pid == 0) {
    // Plain fds, no stdio: the parent's unflushed stdout buffer must not be
    // written out a second time by the child.
    int out = ::open(s.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(s.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) ::_exit(126);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  s.pid = pid;
  return s;
}

// Exit status of the script (WEXITSTATUS or 128+signal), -1 at the deadline
// (the script is then killed).
int wait_script(const Script& s) {
  int status = 0;
  bool done = e2e::wait_until([&] { return ::waitpid(s.pid, &status, WNOHANG) == s.pid; }, 300s);
  if (!done) {
    ::kill(s.pid, SIGKILL);
    ::waitpid(s.pid, &status, 0);
    return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool oracle_available() {
  if (::access(kRealSupervisord, X_OK) != 0 || ::access(kPython, X_OK) != 0) {
    MESSAGE("skipped: " << kRealSupervisord << " or " << kPython << " is missing (no oracle to compare with)");
    return false;
  }
  return true;
}

// Runs `scenario` against both daemons and compares the transcripts.
// `after` (optional) checks the daemons once both transcripts are in.
void compare_scenario(const std::string& scenario, const std::function<void(Side& real, Side& ours)>& after = {}) {
  if (!oracle_available()) return;
  Side real("rpc-real");
  Side ours("rpc-ours");
  start_with(real.daemon, kRealSupervisord);
  ours.daemon.start({"-n"}, false);
  REQUIRE_MESSAGE(real.daemon.wait_ready(), "the real supervisord did not come up:\n" << real.daemon.captured_stderr());
  REQUIRE_MESSAGE(ours.daemon.wait_ready(), "our supervisord did not come up:\n"
                                                << ours.daemon.captured_stderr() << "\nlog: " << ours.daemon.log());

  // Both transcripts are produced concurrently: the scenarios wait for
  // startsecs and stops, and the two daemons don't interact.
  Script real_script = launch_script(real, scenario);
  Script ours_script = launch_script(ours, scenario);
  int real_rc = wait_script(real_script);
  int ours_rc = wait_script(ours_script);
  REQUIRE_MESSAGE(real_rc == 0, "rpc_calls.py against the real supervisord exited " << real_rc << ":\n"
                                                                                   << e2e::read_file(real_script.err_path));
  REQUIRE_MESSAGE(ours_rc == 0, "rpc_calls.py against our supervisord exited " << ours_rc << ":\n"
                                                                              << e2e::read_file(ours_script.err_path));

  const std::string real_text = e2e::read_file(real_script.out_path);
  const std::string ours_text = e2e::read_file(ours_script.out_path);
  // For investigating a difference: E2E_RPC_TRANSCRIPTS=<dir> keeps both
  // transcripts as <dir>/<scenario>.real and .ours (diff them).
  if (const char* keep = std::getenv("E2E_RPC_TRANSCRIPTS"); keep && *keep) {
    e2e::write_file(std::string(keep) + "/" + scenario + ".real", real_text);
    e2e::write_file(std::string(keep) + "/" + scenario + ".ours", ours_text);
  }
  std::vector<std::string> want = e2e::split_lines(real_text);
  std::vector<std::string> got = e2e::split_lines(ours_text);
  REQUIRE_MESSAGE(want.size() > 5, "the real supervisord's transcript is suspiciously short");
  std::size_t diffs = 0;
  for (std::size_t i = 0; i < std::max(want.size(), got.size()); ++i) {
    const std::string w = i < want.size() ? want[i] : "<missing>";
    const std::string g = i < got.size() ? got[i] : "<missing>";
    if (w == g) continue;
    ++diffs;
    CHECK_MESSAGE(g == w, "scenario " << scenario << ", line " << i + 1);
  }
  CHECK(got.size() == want.size());
  if (diffs) MESSAGE(diffs << " differing lines out of " << want.size());
  if (after) after(real, ours);
}

}  // namespace

TEST_CASE("rpc introspection: versions, introspection, arity, main log, process info") { compare_scenario("introspection"); }

TEST_CASE("rpc control: start, stop, signal (single, group, all)") { compare_scenario("control"); }

TEST_CASE("rpc logs: process logs, tail, clear, stdin, remote comm events") { compare_scenario("logs"); }

TEST_CASE("rpc multicall: system.multicall") { compare_scenario("multicall"); }

TEST_CASE("rpc reload: reloadConfig, addProcessGroup, removeProcessGroup") { compare_scenario("reload"); }

TEST_CASE("rpc shutdown: restart and shutdown") {
  compare_scenario("shutdown", [](Side& real, Side& ours) {
    // After supervisor.shutdown both daemons exit by themselves, cleanly.
    std::optional<int> real_exit = real.daemon.wait_exit();
    std::optional<int> ours_exit = ours.daemon.wait_exit();
    REQUIRE(real_exit.has_value());
    CHECK_MESSAGE(ours_exit.has_value(), "our supervisord still runs after supervisor.shutdown");
    if (ours_exit) CHECK(*ours_exit == *real_exit);
  });
}
