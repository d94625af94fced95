// Control socket security (issue 9): the socket's mode and owner from the
// first moment it exists, stale and live sockets, Basic authentication on
// every endpoint (compared with Debian's supervisord and supervisorctl),
// no credential in the log, robustness against malformed requests and
// connection floods, and allowed_uids= (SO_PEERCRED).
//
// Environment: SUPERVISORD, SUPERVISORCTL = our binaries (set by meson);
// REFERENCE_SUPERVISORD / REFERENCE_SUPERVISORCTL = Debian's (default
// /usr/bin/...). Cases needing root or the reference skip with a MESSAGE.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "xmlrpc/client.hpp"

using namespace e2e;

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}
std::string our_ctl() { return env_or("SUPERVISORCTL", ""); }
std::string ref_supervisord() { return env_or("REFERENCE_SUPERVISORD", "/usr/bin/supervisord"); }
std::string ref_ctl() { return env_or("REFERENCE_SUPERVISORCTL", "/usr/bin/supervisorctl"); }
bool executable(const std::string& p) { return !p.empty() && ::access(p.c_str(), X_OK) == 0; }

constexpr char kUser[] = "admin";
constexpr char kPassword[] = "Tr0ub4dor-and-3";
// sha1("Tr0ub4dor-and-3"), as `printf %s Tr0ub4dor-and-3 | sha1sum` prints it.
constexpr char kInUse[] =
    "Error: Another program is already listening on a port that one of our HTTP servers is configured to use.  "
    "Shut this program down first before starting supervisord.\n";

std::string sha1_of_password() {
  CommandResult r = run_command({"/bin/sh", "-c", std::string("printf %s '") + kPassword + "' | sha1sum"});
  REQUIRE(r.status == 0);
  return r.out.substr(0, 40);
}

// A complete configuration (the harness's fixed one has no place for
// [unix_http_server] options): everything inside dir, the socket at
// <dir>/sock with `server_extra` lines, [supervisorctl] with `ctl_extra`.
std::string security_config(const std::string& dir, const std::string& server_extra, const std::string& body,
                            const std::string& ctl_extra = "") {
  return "[supervisord]\nlogfile=" + dir + "/supervisord.log\npidfile=" + dir + "/supervisord.pid\nchildlogdir=" +
         dir + "\nloglevel=info\n\n[unix_http_server]\nfile=" + dir + "/sock\n" + server_extra +
         "\n[rpcinterface:supervisor]\n"
         "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
         "[supervisorctl]\nserverurl=unix://" +
         dir + "/sock\n" + ctl_extra + "\n" + body;
}

std::string auth_lines(const std::string& password_entry) {
  return std::string("username=") + kUser + "\npassword=" + password_entry + "\n";
}

// Starts our daemon on a configuration written by the test, waiting until
// it answers getState with these credentials.
void start_with(Daemon& d, const std::string& config, const std::string& user = "", const std::string& pass = "") {
  write_file(d.config_path(), config);
  d.start({"-n"}, false);
  xmlrpc::Client client(d.url(), user, pass);
  bool ready = wait_until([&] {
    xmlrpc::Response r;
    xmlrpc::TransportError err;
    return client.call("supervisor.getState", {}, &r, &err) && !r.is_fault &&
           str_field(r.value, "statename") == "RUNNING";
  });
  REQUIRE_MESSAGE(ready, "daemon not ready; stderr: " << d.captured_stderr());
}

// A raw unix-socket client for requests no well-behaved client sends.
class Raw {
 public:
  explicit Raw(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~Raw() {
    if (fd_ >= 0) ::close(fd_);
  }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;
  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void end_writing() { ::shutdown(fd_, SHUT_WR); }
  // Reads until marker is seen, the peer closes, or the deadline passes.
  std::string read_until(std::string_view marker, Millis deadline = kDeadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (buf_.find(marker) == std::string::npos) {
      auto left = std::chrono::duration_cast<Millis>(end - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        timed_out_ = true;
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char tmp[8192];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
    return buf_;
  }
  std::string read_to_eof(Millis deadline = kDeadline) { return read_until(std::string_view("\x01\x02\x03", 3), deadline); }
  bool saw_eof() const { return eof_; }
  bool timed_out() const { return timed_out_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  bool timed_out_ = false;
  std::string buf_;
};

std::string basic(const std::string& user, const std::string& pass) {
  // base64 via coreutils keeps this test independent of the code under test.
  CommandResult r = run_command({"/usr/bin/base64", "-w0"}, user + ":" + pass);
  REQUIRE(r.status == 0);
  return r.out;
}

std::string rpc_request(const std::string& method, const std::string& auth_header) {
  std::string body = xmlrpc::encode_call(method, {});
  return "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n" + auth_header +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::atoi(response.c_str() + 9);
}

// Runs a client: stdout, and the exit status.
struct Ctl {
  std::string out;
  int status;
};
Ctl ctl(const std::string& exe, const std::string& conf, std::vector<std::string> args,
        const std::vector<std::string>& prefix = {}) {
  std::vector<std::string> argv = prefix;
  argv.push_back(exe);
  argv.push_back("-c");
  argv.push_back(conf);
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = run_command(argv);
  CHECK_FALSE(r.timed_out);
  return {r.out, r.status};
}

// Debian's supervisord in the foreground on conf (killed by the destructor).
class RefDaemon {
 public:
  explicit RefDaemon(const std::string& conf) {
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::string exe = ref_supervisord();
      ::execl(exe.c_str(), exe.c_str(), "-n", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~RefDaemon() {
    ::kill(pid_, SIGTERM);
    int st = 0;
    if (!wait_until([&] { return ::waitpid(pid_, &st, WNOHANG) == pid_; })) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
    }
  }
  RefDaemon(const RefDaemon&) = delete;
  RefDaemon& operator=(const RefDaemon&) = delete;

 private:
  pid_t pid_;
};

}  // namespace

TEST_CASE("the socket has the configured mode and owner from the moment it exists") {
  const bool root = ::geteuid() == 0;
  if (!root) MESSAGE("not root: chown to another user is not tested");
  for (mode_t mode : {mode_t(0700), mode_t(0770)}) {
    CAPTURE(mode);
    TempDir dir;
    Daemon d(dir, "");
    char mode_text[8];
    std::snprintf(mode_text, sizeof mode_text, "0%o", static_cast<unsigned>(mode));
    std::string extra = std::string("chmod=") + mode_text + "\n";
    if (root) extra += "chown=nobody:nogroup\n";
    std::string config = security_config(dir.path(), extra, "[program:p]\ncommand=/bin/sleep 1000\n");
    // The daemon's umask (000) would make a plainly bound socket 0777.
    config.replace(config.find("loglevel=info\n"), 14, "loglevel=info\numask=000\n");
    write_file(d.config_path(), config);

    // Every name that appears in the directory is examined as soon as
    // inotify reports it: a socket file there must never be more open than
    // the configured mode, and the final path must have exactly that mode
    // (and owner) when it first appears.
    int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    REQUIRE(in >= 0);
    REQUIRE(::inotify_add_watch(in, dir.path().c_str(), IN_CREATE | IN_MOVED_TO) >= 0);
    d.start({"-n"}, false);

    std::optional<struct stat> first;
    int socket_names_seen = 0;
    bool found = wait_until([&] {
      char buf[4096] __attribute__((aligned(__alignof__(inotify_event))));
      ssize_t n = ::read(in, buf, sizeof buf);
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->len == 0) continue;
        std::string name = ev->name;
        struct stat st{};
        if (::lstat(dir.file(name).c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        ++socket_names_seen;
        CHECK_MESSAGE((st.st_mode & 07777 & ~mode) == 0, name << " appeared with mode 0" << std::oct
                                                               << (st.st_mode & 07777));
        if (name == "sock" && !first) first = st;
      }
      return first.has_value();
    });
    ::close(in);
    REQUIRE_MESSAGE(found, "the socket never appeared; stderr: " << d.captured_stderr());
    CHECK((first->st_mode & 07777) == mode);
    if (root) {
      CHECK(first->st_uid == 65534u);
      CHECK(first->st_gid == 65534u);
    }
    CHECK(socket_names_seen >= 1);
    REQUIRE(d.wait_ready());
    struct stat now{};
    REQUIRE(::stat(d.socket_path().c_str(), &now) == 0);
    CHECK((now.st_mode & 07777) == mode);
    // No temporary socket name is left behind.
    CommandResult ls = run_command({"/bin/ls", "-A", dir.path()});
    for (const auto& name : split_lines(ls.out)) CHECK_MESSAGE(name.rfind("sock.", 0) != 0, name);
  }
}

TEST_CASE("a stale socket file is replaced; a live one is refused like supervisord does") {
  TempDir dir;
  // A socket file nobody listens on, as a crashed daemon leaves it.
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, dir.file("sock").c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    ::close(fd);
  }
  Daemon d(dir, "[program:p]\ncommand=/bin/sleep 1000\n");
  d.start();
  CHECK(d.log_count("Unlinking stale socket " + d.socket_path()) == 1);

  // A second daemon configured with the same socket (own log and pidfile).
  TempDir other;
  std::string conf2 = other.file("second.conf");
  std::string text = make_config(other.path(), "");
  std::string mine = "file=" + other.path() + "/sock";
  text.replace(text.find(mine), mine.size(), "file=" + d.socket_path());
  write_file(conf2, text);
  CommandResult ours = run_command({supervisord_path(), "-n", "-c", conf2});
  CHECK(ours.status == 2);
  CHECK(ours.err == kInUse + std::string("For help, use ") + supervisord_path() + " -h\n");
  if (executable(ref_supervisord())) {
    CommandResult ref = run_command({ref_supervisord(), "-n", "-c", conf2});
    CHECK(ref.status == ours.status);
    CHECK(ref.err == kInUse + std::string("For help, use ") + ref_supervisord() + " -h\n");
  } else {
    MESSAGE("reference supervisord not installed: only our daemon checked");
  }
  // The refused daemons left the live socket alone; it still serves.
  RpcResult state = d.call("supervisor.getState");
  CHECK_MESSAGE(state.ok(), state.describe());
  CHECK(file_exists(d.socket_path()));
}

TEST_CASE("with a username, every method and path needs the credentials; the password is never logged") {
  TempDir dir;
  Daemon d(dir, "");
  std::string config = security_config(dir.path(), auth_lines("{SHA}" + sha1_of_password()),
                                       "[program:talker]\ncommand=/bin/sh -c 'echo talker-output; exec sleep 1000'\n"
                                       "startsecs=0\n");
  start_with(d, config, kUser, kPassword);
  REQUIRE(wait_until([&] { return read_file(dir.file("supervisord.log")).find("talker") != std::string::npos; }));

  const std::string good = "Authorization: Basic " + basic(kUser, kPassword) + "\r\n";
  const std::string wrong_pass = "Authorization: Basic " + basic(kUser, "guess") + "\r\n";
  const std::string wrong_user = "Authorization: Basic " + basic("root", kPassword) + "\r\n";
  const std::string hash_as_password = "Authorization: Basic " + basic(kUser, sha1_of_password()) + "\r\n";
  const std::string garbage = "Authorization: Basic !!notbase64!!\r\n";
  const std::string bearer = "Authorization: Bearer abc\r\n";
  // Every endpoint is tried without and with wrong credentials; the other
  // kinds of bad credentials on the RPC endpoint only, so that all the
  // refusals fit in one log window (20 lines) and each is logged.
  const std::vector<std::string> refused_everywhere = {"", wrong_pass};
  const std::vector<std::string> refused_rpc = {"", wrong_pass, wrong_user, hash_as_password, garbage, bearer};

  auto get = [](const std::string& path, const std::string& auth, const std::string& method = "GET") {
    return method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + auth + "\r\n";
  };
  struct Endpoint {
    std::string name;
    std::function<std::string(const std::string&)> request;
    std::string expect_with_good;  // a piece of the body served with good credentials
  };
  const std::vector<Endpoint> endpoints = {
      {"RPC getState", [](const std::string& a) { return rpc_request("supervisor.getState", a); }, "RUNNING"},
      {"logtail", [&](const std::string& a) { return get("/logtail/talker/stdout", a); }, "talker-output"},
      {"mainlogtail", [&](const std::string& a) { return get("/mainlogtail", a); }, "refused (401)"},
      {"other GET", [&](const std::string& a) { return get("/metrics", a); }, ""},
      {"unknown path", [&](const std::string& a) { return get("/no/such/thing", a); }, ""},
      {"HEAD", [&](const std::string& a) { return get("/RPC2", a, "HEAD"); }, ""},
      {"DELETE", [&](const std::string& a) { return get("/RPC2", a, "DELETE"); }, ""},
  };
  int refused = 0;
  for (const auto& ep : endpoints) {
    for (const auto& h : ep.name == "RPC getState" ? refused_rpc : refused_everywhere) {
      CAPTURE(ep.name);
      CAPTURE(h);
      Raw raw(d.socket_path());
      REQUIRE(raw.connected());
      REQUIRE(raw.send(ep.request(h)));
      std::string text = raw.read_to_eof();
      CHECK(status_of(text) == 401);
      CHECK(text.find("\r\nWWW-Authenticate: Basic realm=\"default\"\r\n") != std::string::npos);
      CHECK(text.find(ep.expect_with_good.empty() ? "\x01" : ep.expect_with_good) == std::string::npos);
      CHECK(raw.saw_eof());  // a refused request closes the connection
      ++refused;
    }
    Raw raw(d.socket_path());
    REQUIRE(raw.send(ep.request(good)));
    std::string text = raw.read_until(ep.expect_with_good.empty() ? "\r\n\r\n" : ep.expect_with_good);
    CAPTURE(ep.name);
    CHECK(status_of(text) != 401);
    if (!ep.expect_with_good.empty()) {
      CHECK(status_of(text) == 200);
      CHECK(text.find(ep.expect_with_good) != std::string::npos);
    }
  }
  // One log line per refused request (there are fewer than the per-window
  // bound), naming the peer and the user tried, never the secret.
  REQUIRE(d.wait_log("refused (401)", static_cast<std::size_t>(refused)));
  std::string log = d.log();
  CHECK(count_occurrences(log, "refused (401)") == static_cast<std::size_t>(refused));
  const std::string me = "unix peer pid " + std::to_string(::getpid()) + " uid " + std::to_string(::geteuid());
  CHECK(count_occurrences(log, me) == static_cast<std::size_t>(refused));
  CHECK(refused == 18);
  CHECK(count_occurrences(log, "wrong credentials for user 'admin'") == endpoints.size() + 1);
  CHECK(count_occurrences(log, "wrong credentials for user 'root'") == 1);
  CHECK(count_occurrences(log, ": no credentials") == endpoints.size());
  CHECK(count_occurrences(log, ": malformed credentials") == 1);
  CHECK(count_occurrences(log, ": credentials of an unsupported scheme") == 1);
  CHECK(log.find("POST /RPC2 from unix peer") != std::string::npos);
  CHECK(log.find("GET /logtail/talker/stdout from unix peer") != std::string::npos);
  CHECK(log.find(kPassword) == std::string::npos);
  CHECK(log.find("guess") == std::string::npos);
  CHECK(log.find(basic(kUser, "guess")) == std::string::npos);
  CHECK(log.find(basic(kUser, kPassword)) == std::string::npos);
  CHECK(log.find("notbase64") == std::string::npos);
  CHECK(log.find("Authorization") == std::string::npos);
}

TEST_CASE("a wrong password: supervisorctl (Debian's and ours) reports it as with supervisord") {
  if (!executable(ref_supervisord()) || !executable(ref_ctl())) {
    MESSAGE("skipped: Debian's supervisord/supervisorctl are not installed");
    return;
  }
  REQUIRE(executable(our_ctl()));
  const std::string program = "[program:p]\ncommand=/bin/sleep 1000\nstartsecs=0\n";
  const std::string server = auth_lines(kPassword);
  struct Target {
    std::string name;
    std::string dir;
  };
  TempDir ref_dir, our_dir;
  // Credentials in [supervisorctl] are wrong; the command line may fix them.
  const std::string ctl_wrong = std::string("username=") + kUser + "\npassword=wrong-one\n";
  write_file(ref_dir.file("supervisord.conf"), security_config(ref_dir.path(), server, program, ctl_wrong));
  RefDaemon ref(ref_dir.file("supervisord.conf"));
  Daemon d(our_dir, "");
  start_with(d, security_config(our_dir.path(), server, program, ctl_wrong), kUser, kPassword);
  REQUIRE(wait_until([&] {
    return ctl(ref_ctl(), ref_dir.file("supervisord.conf"), {"-p", kPassword, "status"}).status == 0;
  }));

  const std::vector<std::vector<std::string>> cases = {
      {"status"}, {"pid"}, {"maintail"}, {"tail", "p"}, {"-u", "intruder", "-p", kPassword, "status"},
      {"-p", kPassword, "status"}, {"-p", kPassword, "pid", "p"}};
  for (const auto& args : cases) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    CAPTURE(shown);
    Ctl expected = ctl(ref_ctl(), ref_dir.file("supervisord.conf"), args);
    for (const std::string& client : {ref_ctl(), our_ctl()}) {
      CAPTURE(client);
      Ctl got = ctl(client, our_dir.file("supervisord.conf"), args);
      CHECK(got.status == expected.status);
      if (args.back() == "p" && args.front() == "-p") {
        CHECK(got.out.find_first_not_of("0123456789\n") == std::string::npos);  // a pid, differing
      } else if (args.back() == "status" && expected.status == 0) {
        CHECK(got.out.substr(0, 40) == expected.out.substr(0, 40));  // name + RUNNING, pid/uptime differ
      } else {
        CHECK(got.out == expected.out);
      }
    }
  }
  CHECK(ctl(our_ctl(), our_dir.file("supervisord.conf"), {"status"}).out.find("Server requires authentication") == 0);
  std::string log = d.log();
  CHECK(log.find(kPassword) == std::string::npos);
  CHECK(log.find("wrong-one") == std::string::npos);
  CHECK(log.find("wrong credentials for user 'intruder'") != std::string::npos);
}

TEST_CASE("10,000 malformed, truncated or hostile requests leave the daemon serving") {
  TempDir dir;
  Daemon d(dir, "");
  start_with(d, security_config(dir.path(), auth_lines(kPassword), "[program:p]\ncommand=/bin/sleep 1000\n"),
             kUser, kPassword);
  xmlrpc::Client client(d.url(), kUser, kPassword);
  auto get_pid = [&]() -> long long {
    xmlrpc::Response r;
    xmlrpc::TransportError err;
    if (!client.call("supervisor.getPID", {}, &r, &err) || r.is_fault || !r.value.is_int()) return -1;
    return r.value.as_int();
  };
  const long long pid_before = get_pid();
  REQUIRE(pid_before == d.pid());

  const std::string good = "Authorization: Basic " + basic(kUser, kPassword) + "\r\n";
  const unsigned seed = std::random_device{}();
  MESSAGE("random seed " << seed);
  std::mt19937 rng(seed);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  // Slow clients held open during the run, each having sent part of a request.
  std::vector<std::unique_ptr<Raw>> slow;
  for (int i = 0; i < 32; ++i) {
    slow.push_back(std::make_unique<Raw>(d.socket_path()));
    slow.back()->send("POST /RPC2 HTTP/1.1\r\nHost: x\r\n");
  }
  std::string valid = rpc_request("supervisor.getState", good);
  std::map<int, int> by_status;  // HTTP status -> count; 0: closed without an answer
  constexpr int kRequests = 10000;
  const auto run_start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    std::string req;
    bool abrupt = false;  // close without reading the answer
    switch (i % 12) {
      case 0: req = random_bytes(1 + rng() % 512); break;
      case 1: req = valid.substr(0, rng() % valid.size()); break;  // truncated anywhere
      case 2: req = "POST /RPC2 HTTP/1.1\r\nContent-Length: " + std::string(i % 24 == 2 ? "abc" : "-5") + "\r\n\r\nx"; break;
      case 3: req = "POST /RPC2 HTTP/1.1\r\n" + good + "Content-Length: 99999999999\r\n\r\n<?xml"; break;
      case 4: {
        std::string body = "<?xml version='1.0'?><methodCall><methodName>" + random_bytes(rng() % 40);
        req = "POST /RPC2 HTTP/1.1\r\n" + good + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        break;
      }
      case 5: req = "GET /mainlogtail HTTP/1.1\r\nX-Big: " + std::string(9000 + rng() % 4000, 'h') + "\r\n\r\n"; break;
      case 6: req = "POST /RPC2 HTTP/1.1\r\n" + good + "Content-Length: 500\r\n\r\n<methodCall>"; abrupt = true; break;
      case 7: {  // forged credentials: random base64 text
        static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string cred;
        for (int k = 0; k < 24; ++k) cred += kB64[rng() % 64];
        req = "GET /logtail/p/stdout HTTP/1.1\r\nAuthorization: Basic " + cred + "\r\n\r\n";
        break;
      }
      case 8: req = "POST /RPC2 HTTP/1.1\r\n" + good + "Transfer-Encoding: chunked\r\n\r\nZZZ\r\n"; break;
      case 9: req = std::string(rng() % 3000, '\n') + "GET / HTTP/1.1\r\n" + random_bytes(64) + "\r\n\r\n"; break;
      case 10: req = valid; abrupt = true; break;  // asks, and hangs up before the answer
      case 11: req = "GET /mainlogtail HTTP/1.1\r\n" + good + "\r\n"; abrupt = true; break;  // a stream dropped
    }
    Raw raw(d.socket_path());
    REQUIRE_MESSAGE(raw.connected(), "connection " << i << " refused");
    raw.send(req);
    if (abrupt) {
      ++by_status[-1];
      continue;  // the destructor closes at once
    }
    raw.end_writing();  // the request ends here, however incomplete
    std::string text = raw.read_to_eof();
    REQUIRE_MESSAGE(!raw.timed_out(), "request " << i << " got no answer nor close");
    ++by_status[status_of(text)];
  }
  const auto run_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - run_start).count();
  MESSAGE("the " << kRequests << " requests took " << run_seconds << " s");
  // The slow clients now finish their request: each is answered, or, when
  // the run took longer than the idle limit (a minute), was closed without
  // an answer; none hangs.
  int slow_served = 0, slow_timed_out = 0;
  for (auto& s : slow) {
    std::string body = xmlrpc::encode_call("supervisor.getState", {});
    s->send(good + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    std::string text = s->read_until("</methodResponse>");
    REQUIRE_FALSE(s->timed_out());
    if (status_of(text) == 200) ++slow_served;
    else if (text.empty() && s->saw_eof()) ++slow_timed_out;
  }
  CHECK(slow_served + slow_timed_out == static_cast<int>(slow.size()));
  MESSAGE("slow clients: " << slow_served << " served, " << slow_timed_out << " closed by the idle limit");
  std::string figures;
  for (const auto& [status, n] : by_status)
    figures += (status == -1 ? std::string("hung up") : status == 0 ? std::string("closed") : std::to_string(status)) +
               ": " + std::to_string(n) + "  ";
  MESSAGE(kRequests << " hostile requests: " << figures);
  CHECK(by_status[400] > 0);
  CHECK(by_status[401] > 0);
  CHECK(by_status[413] > 0);
  CHECK(by_status[431] > 0);
  CHECK(by_status.count(500) == 0);
  CHECK(by_status.count(200) == 0);

  CHECK(get_pid() == pid_before);
  CHECK(pid_alive(d.pid()));
  xmlrpc::Response r;
  xmlrpc::TransportError err;
  REQUIRE_MESSAGE(client.call("supervisor.getState", {}, &r, &err), err.message);
  CHECK(str_field(r.value, "statename") == "RUNNING");
  // Refusals were logged within the bound (20 lines per 10 s window + a
  // count of the others), not one line each.
  REQUIRE(d.wait_log("more refused HTTP request(s) or connection(s) not logged"));
  std::string log = d.log();
  const std::size_t refusal_lines = count_occurrences(log, "refused (401)");
  MESSAGE(by_status[401] << " refused requests, " << refusal_lines << " refusal lines logged");
  CHECK(by_status[401] > 500);
  CHECK(refusal_lines <= static_cast<std::size_t>(20 * (run_seconds / 10 + 2)));
  CHECK(log.find(kPassword) == std::string::npos);
}

TEST_CASE("more idle connections than the limit: extra ones are closed, service resumes") {
  TempDir dir;
  Daemon d(dir, "[program:p]\ncommand=/bin/sleep 1000\n");
  d.start();
  constexpr int kLimit = 256;  // documented in supervisord.conf(5)
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < kLimit + 44; ++i) {
    idle.push_back(std::make_unique<Raw>(d.socket_path()));
    REQUIRE(idle.back()->connected());  // the kernel accepts; the daemon decides
  }
  // The daemon closes those beyond the limit at once: 44 see EOF (45 if the
  // connection of the harness's readiness check was still being torn down).
  int closed = 0;
  REQUIRE(wait_until([&] {
    closed = 0;
    for (auto& c : idle) {
      pollfd p{c->fd(), POLLIN, 0};
      if (::poll(&p, 1, 0) == 1) ++closed;
    }
    return closed >= 44;
  }));
  CHECK(closed <= 45);
  // While full, a newcomer is turned away too.
  {
    Raw extra(d.socket_path());
    extra.send(rpc_request("supervisor.getState", ""));
    extra.read_to_eof();
    CHECK(extra.saw_eof());
  }
  CHECK(d.wait_log("connections open, closing new ones"));
  // A connection inside the limit is served.
  std::size_t served = 0;
  for (auto& c : idle) {
    pollfd p{c->fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) continue;
    c->send(rpc_request("supervisor.getState", ""));
    CHECK(status_of(c->read_until("</methodResponse>")) == 200);
    ++served;
    break;
  }
  CHECK(served == 1);
  idle.clear();
  // Once they are gone the daemon serves new clients again.
  CHECK(wait_until([&] { return d.call("supervisor.getState").ok(); }));
}

TEST_CASE("allowed_uids: connections from other uids are closed and logged") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: running clients as other uids needs root");
    return;
  }
  if (!executable("/usr/bin/setpriv")) {
    MESSAGE("skipped: setpriv is not installed");
    return;
  }
  REQUIRE(executable(our_ctl()));
  TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);  // other users may reach the socket
  Daemon d(dir, "");
  // The socket itself is open to everyone: only allowed_uids keeps nobody out.
  start_with(d, security_config(dir.path(), "chmod=0777\nallowed_uids=daemon, 4242\n",
                                "[program:p]\ncommand=/bin/sleep 1000\nstartsecs=0\n"));
  REQUIRE(::chmod(d.config_path().c_str(), 0644) == 0);
  auto as = [](uid_t uid) {
    std::string id = std::to_string(uid);
    return std::vector<std::string>{"/usr/bin/setpriv", "--reuid=" + id, "--regid=" + id, "--clear-groups"};
  };
  // root (this process) is served.
  CHECK(d.call("supervisor.getState").ok());
  // uid 1 (daemon) is in the list: served, with either client.
  for (const std::string& client : {our_ctl(), ref_ctl()}) {
    if (!executable(client)) continue;
    CAPTURE(client);
    Ctl ok = ctl(client, d.config_path(), {"status"}, as(1));
    CHECK(ok.status == 0);
    CHECK(ok.out.find("RUNNING") != std::string::npos);
    // nobody is not: the connection is closed before any answer.
    Ctl no = ctl(client, d.config_path(), {"status"}, as(65534));
    CHECK(no.status != 0);
    CHECK(no.out.find("RUNNING") == std::string::npos);
  }
  REQUIRE(d.wait_log("uid 65534 refused: uid not in allowed_uids"));
  auto refusals = LogLines(d.log()).find_all("uid 65534 refused: uid not in allowed_uids");
  REQUIRE_FALSE(refusals.empty());
  CHECK(refusals[0].text.find("HTTP connection on " + d.socket_path() + " from pid ") != std::string::npos);
  CHECK(LogLines(d.log()).find_all("uid 1 refused").empty());
  // The daemon still serves root.
  CHECK(d.call("supervisor.getState").ok());
}

TEST_CASE("allowed_uids naming an unknown user is a configuration error") {
  TempDir dir;
  Daemon d(dir, "");
  write_file(d.config_path(), security_config(dir.path(), "allowed_uids=root,no-such-user-xq\n", ""));
  CommandResult r = run_command({supervisord_path(), "-n", "-c", d.config_path()});
  CHECK(r.status == 2);
  CHECK(r.err.find("allowed_uids") != std::string::npos);
  CHECK(r.err.find("section 'unix_http_server'") != std::string::npos);
  CHECK(r.err.find(d.config_path()) != std::string::npos);
  CHECK(r.err.find("no-such-user-xq") != std::string::npos);
  CHECK(split_lines(r.err).size() == 2);  // the error and "For help, use ..."
  CHECK_FALSE(file_exists(d.socket_path()));
}
