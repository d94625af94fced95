// Differential test: every case runs Debian's supervisorctl (the reference)
// and ours against one daemon, in the same state, and compares stdout and
// exit status. Only values that legitimately change between two runs are
// normalised (uptimes, stop times).
//
// Environment: SUPERVISORCTL = our binary (set by meson);
// SUPERVISORD_UNDER_TEST = daemon command (default /usr/bin/supervisord);
// REFERENCE_SUPERVISORCTL = reference client (default /usr/bin/supervisorctl).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

bool executable_exists(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

struct Output {
  std::string out;
  int status = -1;
};

// Runs argv with stdin from /dev/null; collects stdout (stderr is dropped);
// kills it after `timeout`.
Output run(const std::vector<std::string>& argv, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  int pipefd[2];
  REQUIRE(::pipe2(pipefd, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  Output o;
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      ::kill(pid, SIGKILL);
      FAIL_CHECK("command timed out: " << argv[0] << " " << (argv.size() > 1 ? argv.back() : ""));
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    o.out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return o;
}

// Replaces what differs between two runs a moment apart.
std::string normalise(const std::string& s) {
  static const std::regex uptime(R"(uptime (\d+ days?, )?\d+:\d\d:\d\d)");
  static const std::regex stop_time(R"([A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M)");
  return std::regex_replace(std::regex_replace(s, uptime, "uptime <T>"), stop_time, "<STOPTIME>");
}

std::string first_lines(const std::string& s, int n) {
  std::size_t pos = 0;
  for (int i = 0; i < n && pos != std::string::npos; ++i) {
    pos = s.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  return pos == std::string::npos ? s : s.substr(0, pos);
}

class Fixture {
 public:
  Fixture() {
    char tmpl[] = "/tmp/e2e_ctl_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    conf_ = dir_ + "/supervisord.conf";
    write_config(false);
  }
  ~Fixture() {
    stop_daemon();
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  const std::string& conf() const { return conf_; }
  const std::string& dir() const { return dir_; }

  // The base config, or one with program `newp` added and `manual` changed.
  void write_config(bool changed) {
    std::ofstream f(conf_);
    f << "[unix_http_server]\nfile=" << dir_ << "/sock\n\n"
      << "[supervisord]\nlogfile=" << dir_ << "/supervisord.log\npidfile=" << dir_
      << "/supervisord.pid\nchildlogdir=" << dir_ << "\n\n"
      << "[rpcinterface:supervisor]\n"
         "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
      << "[supervisorctl]\nserverurl=unix://" << dir_ << "/sock\n\n"
      << "[program:sleeper]\ncommand=/bin/sh -c \"echo hello; echo oops >&2; exec sleep 1000\"\n"
         "stopsignal=KILL\nstartsecs=0\n\n"
      << "[program:fast]\ncommand=/bin/true\nstartretries=0\n\n"
      << "[program:manual]\ncommand=/bin/sleep " << (changed ? "1001" : "1000") << "\nautostart=false\nstartsecs=0\n\n"
      << "[program:multi]\ncommand=/bin/sleep 1000\nprocess_name=%(program_name)s_%(process_num)02d\n"
         "numprocs=2\nstopsignal=KILL\nstartsecs=0\n\n"
      << "[group:grp]\nprograms=ga,gb\n\n"
      << "[program:ga]\ncommand=/bin/sleep 1000\nstopsignal=KILL\nstartsecs=0\n\n"
      << "[program:gb]\ncommand=/bin/sleep 1000\nautostart=false\nstopsignal=KILL\nstartsecs=0\n";
    if (changed) f << "\n[program:newp]\ncommand=/bin/sleep 1000\nstopsignal=KILL\nstartsecs=0\n";
  }

  void start_daemon() {
    const std::string daemon = env_or("SUPERVISORD_UNDER_TEST", "/usr/bin/supervisord");
    daemon_ = ::fork();
    REQUIRE(daemon_ >= 0);
    if (daemon_ == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(daemon.c_str(), daemon.c_str(), "-n", "-c", conf_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    wait_settled();
  }

  // Waits until the daemon answers and no process is in a transient state,
  // and `fast` has reached FATAL.
  void wait_settled() {
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    std::string last;
    while (Clock::now() < deadline) {
      Output o = ref({"status"});
      last = o.out;
      if ((o.status == 0 || o.status == 3) && last.find("STARTING") == std::string::npos &&
          last.find("BACKOFF") == std::string::npos && last.find("STOPPING") == std::string::npos &&
          last.find("FATAL") != std::string::npos)
        return;
      ::poll(nullptr, 0, 50);
    }
    FAIL("daemon did not settle; last status:\n" << last);
  }

  void wait_daemon_exit() {
    if (daemon_ <= 0) return;
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline) {
      int st = 0;
      if (::waitpid(daemon_, &st, WNOHANG) == daemon_) {
        daemon_ = -1;
        return;
      }
      ::poll(nullptr, 0, 50);
    }
    FAIL("daemon did not exit");
  }

  void stop_daemon() {
    if (daemon_ <= 0) return;
    ::kill(daemon_, SIGTERM);
    wait_daemon_exit();
  }

  Output ref(const std::vector<std::string>& args) { return client(reference_, args); }
  Output ours(const std::vector<std::string>& args) { return client(ours_, args); }

  std::string reference_ = env_or("REFERENCE_SUPERVISORCTL", "/usr/bin/supervisorctl");
  std::string ours_ = env_or("SUPERVISORCTL", "");

 private:
  Output client(const std::string& exe, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {exe, "-c", conf_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  std::string dir_;
  std::string conf_;
  pid_t daemon_ = -1;
};

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> w;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) w.push_back(s.substr(i, j - i));
    i = j;
  }
  return w;
}

struct Case {
  Case(std::string command_, std::vector<std::string> before_ = {}, int compare_lines_ = -1,
       bool status_only_ = false, bool any_order_ = false)
      : command(std::move(command_)),
        before(std::move(before_)),
        compare_lines(compare_lines_),
        status_only(status_only_),
        any_order(any_order_) {}
  std::string command;
  std::vector<std::string> before;  // run with the reference client before each of the two runs
  int compare_lines;                // -1: all of stdout; N: the first N lines (our help wording differs)
  bool status_only;                 // help <cmd>: our own wording, same exit status
  bool any_order;                   // lines in the daemon's order, which may differ between runs
  std::function<void()> prepare;    // also run before each of the two runs
};

std::string sorted_lines(const std::string& s) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t nl = s.find('\n', pos);
    if (nl == std::string::npos) nl = s.size();
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

void check_case(Fixture& f, const Case& c) {
  CAPTURE(c.command);
  auto prepare = [&] {
    if (c.prepare) c.prepare();
    for (const auto& b : c.before) (void)f.ref(words(b));
  };
  prepare();
  Output expected = f.ref(words(c.command));
  prepare();
  Output actual = f.ours(words(c.command));
  CHECK(actual.status == expected.status);
  if (c.status_only) {
    CHECK_FALSE(actual.out.empty());
    return;
  }
  std::string want = normalise(expected.out);
  std::string got = normalise(actual.out);
  if (c.any_order) {
    want = sorted_lines(want);
    got = sorted_lines(got);
  }
  if (c.compare_lines >= 0) {
    want = first_lines(want, c.compare_lines);
    got = first_lines(got, c.compare_lines);
  }
  CHECK(got == want);
}

bool prerequisites(Fixture& f) {
  const std::string daemon = env_or("SUPERVISORD_UNDER_TEST", "/usr/bin/supervisord");
  if (!executable_exists(daemon)) {
    MESSAGE("skipped: no supervisord to test against at " << daemon);
    return false;
  }
  if (!executable_exists(f.reference_)) {
    MESSAGE("skipped: reference supervisorctl missing at " << f.reference_);
    return false;
  }
  REQUIRE_MESSAGE(!f.ours_.empty(), "SUPERVISORCTL must name our supervisorctl");
  REQUIRE(executable_exists(f.ours_));
  return true;
}

}  // namespace

TEST_CASE("supervisorctl matches the reference client command by command") {
  Fixture f;
  if (!prerequisites(f)) return;
  f.start_daemon();

  const std::vector<Case> cases = {
      // status, names, groups
      {"status", {}},
      {"status sleeper", {}},
      {"status nosuch", {}},
      {"status grp:*", {}},
      {"status grp:", {}},
      {"status grp:ga manual", {}},
      {"status nogrp:*", {}},
      {"status grp:nope", {}},
      {"status all", {}},
      {"status nosuch sleeper", {}},
      // start / stop / restart
      {"start sleeper", {}},  // already started
      {"start nosuch", {}},
      {"start nogrp:*", {}},
      {"start", {}, 1},
      {"start manual", {"stop manual"}},
      {"start grp:*", {"stop grp:*"}, -1, false, true},  // group results: completion order
      {"start multi:multi_00 grp:gb", {"stop multi:multi_00 grp:gb"}},
      {"stop manual", {"stop manual"}},  // not running
      {"stop nosuch", {}},
      {"stop", {}, 1},
      {"stop sleeper", {"start sleeper"}},
      {"stop grp:*", {"start grp:*"}, -1, false, true},
      {"stop nogrp:*", {}},
      {"restart sleeper", {"start sleeper"}},
      {"restart grp:*", {"start grp:*"}, -1, false, true},
      {"restart", {}, 1},
      {"stop all", {"start sleeper grp:* multi:*"}, -1, false, true},
      {"start sleeper grp:ga multi:*", {"stop all"}, -1, false, true},
      {"status", {}},
      // signal
      {"signal HUP sleeper", {"start sleeper"}},
      {"signal BOGUS sleeper", {"start sleeper"}},
      {"signal HUP manual", {"stop manual"}},
      {"signal HUP nosuch", {}},
      {"signal HUP nogrp:*", {}},
      {"signal USR1 grp:ga multi:*", {"start grp:ga multi:*"}},
      {"signal BOGUS all", {}},
      {"signal HUP", {}, 1},
      // pid
      {"pid", {}},
      {"pid sleeper", {"start sleeper"}},
      {"pid manual", {"stop manual"}},
      {"pid nosuch", {}},
      {"pid all", {}},
      // logs
      {"tail sleeper", {}},
      {"tail sleeper stderr", {}},
      {"tail -3 sleeper", {}},
      {"tail -3 sleeper stderr", {}},
      {"tail nosuch", {}},
      {"tail sleeper bogus", {}},
      {"tail -x sleeper", {}},
      {"tail -f", {}},
      {"tail", {}, 1},
      {"tail a b c d", {}, 1},
      {"maintail -40", {}},
      {"maintail x", {}},
      {"maintail -x", {}},
      {"maintail 1 2", {}, 1},
      {"clear sleeper", {}},
      {"clear nosuch", {}},
      {"clear grp:*", {}},
      {"clear all", {}},
      {"clear", {}, 1},
      // configuration
      {"avail", {}},
      {"avail x", {}, 1},
      {"reread", {}},
      {"reread x", {}, 1},
      {"version", {}},
      {"version x", {}, 1},
      {"add nosuch", {}},
      {"add sleeper", {}},
      {"remove sleeper", {}},
      {"remove nosuch", {}},
      {"update", {}},
      {"update nosuch", {}},
      // shell-level commands
      {"help", {}},
      {"?", {}},
      {"help help", {}, -1, true},
      {"help start", {}, -1, true},
      {"help nosuch", {}},
      {"foo", {}},
      {"foo-bar baz", {}},
      {"STATUS", {}},
      {"EOF", {}},
      {"quit", {}},
      {"exit", {}},
      {"fg", {}, 1},
      {"fg nosuch", {}},
      {"fg manual", {"stop manual"}},
      {"fg a b", {}},
      {"open foo", {}},
      {"open unix:///nonexistent.sock", {}},
  };
  for (const auto& c : cases) check_case(f, c);

  {  // reread, add, remove and update after a config change
    f.write_config(true);
    check_case(f, {"reread", {}});
    check_case(f, {"avail", {}});
    check_case(f, {"add newp", {"stop newp", "remove newp"}});
    check_case(f, {"add newp", {"add newp"}});  // already active
    check_case(f, {"remove newp", {"add newp"}});  // still running
    check_case(f, {"remove newp", {"add newp", "stop newp"}});
    Case update{"update", {}};
    update.prepare = [&f] {  // manual changed, newp new: undo the previous run's update
      f.write_config(false);
      (void)f.ref({"update"});
      f.write_config(true);
    };
    check_case(f, update);
    check_case(f, {"update nosuch newp", {"stop newp", "remove newp"}});
    check_case(f, {"update all", {}});
    Case status{"status", {}};
    status.prepare = [&f] { f.wait_settled(); };
    check_case(f, status);
  }
}

TEST_CASE("reload, shutdown and an absent server match the reference client") {
  Fixture f;
  if (!prerequisites(f)) return;
  f.start_daemon();

  Output expected = f.ref({"reload"});
  f.wait_settled();
  Output actual = f.ours({"reload"});
  f.wait_settled();
  CHECK(actual.out == expected.out);
  CHECK(actual.status == expected.status);

  expected = f.ref({"shutdown"});
  f.wait_daemon_exit();
  f.start_daemon();
  actual = f.ours({"shutdown"});
  f.wait_daemon_exit();
  CHECK(actual.out == expected.out);
  CHECK(actual.status == expected.status);

  // No daemon now: the socket file is gone.
  for (const char* command : {"status", "status x", "start x", "stop x", "pid", "avail", "reread", "update",
                              "add x", "remove x", "reload", "shutdown", "version", "tail x", "maintail", "clear x",
                              "signal HUP x", "fg x", "help"}) {
    check_case(f, {command, {}});
  }
  // A socket file nobody listens on: connection refused.
  {
    const std::string dead = f.dir() + "/sock";
    std::string cmd = "/usr/bin/python3 -c \"import socket; socket.socket(socket.AF_UNIX).bind('" + dead + "')\"";
    REQUIRE(std::system(cmd.c_str()) == 0);
    for (const char* command : {"status", "start x", "pid", "avail", "shutdown", "version"})
      check_case(f, {command, {}});
  }
}
