// xmlrpc::Client against Debian's real supervisord (the behavioural oracle)
// and against local sockets for the transport errors.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "xmlrpc/client.hpp"

using namespace xmlrpc;
namespace fs = std::filesystem;

namespace {

const char* kSupervisord = "/usr/bin/supervisord";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/xmlrpc_client_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

// A real supervisord in the foreground, stopped (SIGTERM + wait) on destruction.
class RealSupervisord {
 public:
  RealSupervisord(const fs::path& dir, const std::string& auth_lines) {
    sock_ = dir / "sock";
    fs::path conf = dir / "supervisord.conf";
    std::ofstream(conf) << "[unix_http_server]\nfile=" << sock_.string() << "\n" << auth_lines
                        << "\n[supervisord]\nlogfile=" << (dir / "supervisord.log").string()
                        << "\npidfile=" << (dir / "supervisord.pid").string()
                        << "\nchildlogdir=" << dir.string()
                        << "\n[rpcinterface:supervisor]\n"
                           "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n"
                           "[program:sleeper]\ncommand=/bin/sleep 1000\nautostart=false\n";
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int devnull = ::open("/dev/null", O_WRONLY);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execl(kSupervisord, kSupervisord, "-n", "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~RealSupervisord() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::string url() const { return "unix://" + sock_.string(); }

  // Waits (up to 30 s) until the socket accepts connections.
  bool wait_ready() const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, sock_.c_str(), sizeof sa.sun_path - 1);
      bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
      ::close(fd);
      if (ok) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return false;  // died
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  fs::path sock_;
  pid_t pid_ = -1;
};

bool have_supervisord() {
  if (::access(kSupervisord, X_OK) == 0) return true;
  MESSAGE("skipped: " << kSupervisord << " is absent, client not checked against the real daemon");
  return false;
}

volatile std::sig_atomic_t g_alarm = 0;
void on_alarm(int) { g_alarm = 1; }

}  // namespace

TEST_CASE("client talks to the real supervisord") {
  if (!have_supervisord()) return;
  TempDir dir;
  RealSupervisord daemon(dir.path, "");
  REQUIRE_MESSAGE(daemon.wait_ready(), "supervisord did not come up; see " << dir.path);

  Client client(daemon.url());
  Response r;
  TransportError err;

  REQUIRE_MESSAGE(client.call("supervisor.getAPIVersion", {}, &r, &err), err.message);
  CHECK_FALSE(r.is_fault);
  CHECK(r.value == Value("3.0"));

  REQUIRE_MESSAGE(client.call("supervisor.getAllProcessInfo", {}, &r, &err), err.message);
  REQUIRE(r.value.is_array());
  REQUIRE(r.value.as_array().size() == 1);
  const Value& info = r.value.as_array()[0];
  REQUIRE(info.find("name") != nullptr);
  CHECK(*info.find("name") == Value("sleeper"));
  CHECK(*info.find("statename") == Value("STOPPED"));
  CHECK(*info.find("pid") == Value(0));

  REQUIRE_MESSAGE(client.call("supervisor.getProcessInfo", {Value("nope")}, &r, &err), err.message);
  CHECK(r.is_fault);
  CHECK(r.fault.code == 10);
  CHECK(r.fault.message == "BAD_NAME: nope");

  // Many calls on one client keep working (keep-alive connection reused).
  for (int i = 0; i < 50; ++i) {
    REQUIRE_MESSAGE(client.call("supervisor.getState", {}, &r, &err), err.message);
    CHECK(*r.value.find("statename") == Value("RUNNING"));
  }

  // Strings with markup and a carriage return survive the real server.
  REQUIRE_MESSAGE(client.call("system.methodSignature", {Value("supervisor.getState")}, &r, &err), err.message);
  CHECK(r.value.is_array());

  // Streaming: the main log is sent chunked; its first piece holds the startup lines.
  std::string log;
  REQUIRE_MESSAGE(client.stream_get("/mainlogtail",
                                    [&](std::string_view d) {
                                      log.append(d);
                                      return log.find("RPC interface 'supervisor' initialized") ==
                                             std::string::npos;
                                    },
                                    &err),
                  err.message);
  CHECK(log.find("RPC interface 'supervisor' initialized") != std::string::npos);

  // A missing log gives the HTTP status.
  CHECK_FALSE(client.stream_get("/logtail/nope", [](std::string_view) { return true; }, &err));
  CHECK(err.kind == TransportError::Kind::Protocol);
  CHECK(err.http_status == 404);

  // The call connection still works after the stream.
  REQUIRE_MESSAGE(client.call("supervisor.getPID", {}, &r, &err), err.message);
  CHECK(r.value.is_int());
}

TEST_CASE("interrupt check aborts a blocked stream") {
  if (!have_supervisord()) return;
  TempDir dir;
  RealSupervisord daemon(dir.path, "");
  REQUIRE(daemon.wait_ready());

  struct sigaction sa{}, old{};
  sa.sa_handler = on_alarm;  // no SA_RESTART: recv() returns EINTR
  ::sigaction(SIGALRM, &sa, &old);
  g_alarm = 0;
  Client client(daemon.url());
  client.set_interrupt_check([] { return g_alarm != 0; });
  TransportError err;
  std::size_t received = 0;
  bool ok = client.stream_get("/mainlogtail", [&](std::string_view d) {
    if (received == 0) {  // the log's tail arrived: now the stream idles; interrupt it
      itimerval t{};
      t.it_value.tv_usec = 200 * 1000;
      ::setitimer(ITIMER_REAL, &t, nullptr);
    }
    received += d.size();
    return true;  // follow forever: only the interruption ends this
  }, &err);
  ::sigaction(SIGALRM, &old, nullptr);
  CHECK_FALSE(ok);
  CHECK(err.kind == TransportError::Kind::Interrupted);
  CHECK(received > 0);
}

TEST_CASE("client authenticates against the real supervisord") {
  if (!have_supervisord()) return;
  TempDir dir;
  RealSupervisord daemon(dir.path, "username=alice\npassword=s3cret\n");
  REQUIRE(daemon.wait_ready());
  Response r;
  TransportError err;

  Client anonymous(daemon.url());
  CHECK_FALSE(anonymous.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::AuthRequired);
  CHECK(err.http_status == 401);
  CHECK(err.message == "Server requires authentication");

  Client wrong(daemon.url(), "alice", "nope");
  CHECK_FALSE(wrong.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::AuthRequired);

  Client right(daemon.url(), "alice", "s3cret");
  REQUIRE_MESSAGE(right.call("supervisor.getAPIVersion", {}, &r, &err), err.message);
  CHECK(r.value == Value("3.0"));
  CHECK_MESSAGE(right.stream_get("/mainlogtail", [](std::string_view) { return false; }, &err), err.message);
}

TEST_CASE("transport errors are classified") {
  TempDir dir;
  Response r;
  TransportError err;

  std::string missing = "unix://" + (dir.path / "missing.sock").string();
  Client no_file(missing);
  CHECK_FALSE(no_file.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::NoSuchFile);
  CHECK(err.err == ENOENT);
  CHECK(err.message == missing + " no such file");

  // A socket file nobody listens on refuses connections.
  fs::path dead = dir.path / "dead.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, dead.c_str(), sizeof sa.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  Client refused("unix://" + dead.string());
  CHECK_FALSE(refused.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::Refused);
  CHECK(err.message == "unix://" + dead.string() + " refused connection");
  ::close(fd);

  // A TCP port with no listener (bind without listen reserves it).
  int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(tcp, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
  socklen_t len = sizeof in;
  ::getsockname(tcp, reinterpret_cast<sockaddr*>(&in), &len);
  std::string http = "http://127.0.0.1:" + std::to_string(ntohs(in.sin_port));
  Client refused_tcp(http);
  CHECK_FALSE(refused_tcp.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::Refused);
  CHECK(err.message == http + " refused connection");
  ::close(tcp);

  Client bad("ftp://x");
  CHECK_FALSE(bad.call("supervisor.getAPIVersion", {}, &r, &err));
  CHECK(err.kind == TransportError::Kind::Other);
  CHECK(err.message.find("bad server URL") != std::string::npos);
  Client bad_port("http://localhost:abc");
  CHECK_FALSE(bad_port.call("x.y", {}, &r, &err));
  CHECK(err.message.find("bad server URL") != std::string::npos);
}
