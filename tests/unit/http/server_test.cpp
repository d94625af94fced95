// sup::http::HttpServer on temp unix sockets (and one TCP port), driven by
// xmlrpc::Client and by raw sockets for what a well-behaved client never sends.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "http/server.hpp"
#include "xmlrpc/client.hpp"

using namespace sup::http;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 20s;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/http_server_XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

sup::config::HttpServerConfig unix_config(const fs::path& sock) {
  sup::config::HttpServerConfig cfg;
  cfg.kind = sup::config::HttpServerConfig::Kind::Unix;
  cfg.section = "unix_http_server";
  cfg.file = sock.string();
  return cfg;
}

// Polls a condition (for state only observable by polling, e.g. a file
// mode); gives up after the deadline.
template <class F>
bool eventually(F f) {
  auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

// A blocking raw client for bytes a real client would not send.
class RawConn {
 public:
  explicit RawConn(const fs::path& sock) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, sock.c_str(), sizeof sa.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    timeval tv{static_cast<time_t>(kDeadline.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until `marker` is seen, EOF, or the deadline; returns all read so far.
  std::string read_until(std::string_view marker) {
    while (buf_.find(marker) == std::string::npos) {
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) {
        // Closed by the peer: EOF, or a reset when it closed with our
        // request unread. A receive timeout (EAGAIN) is neither.
        eof_ = n == 0 || errno == ECONNRESET;
        break;
      }
      buf_.append(tmp, static_cast<std::size_t>(n));
    }
    return buf_;
  }
  std::string read_to_eof() { return read_until(std::string_view("\x01\x02never", 7)); }
  bool saw_eof() const { return eof_; }
  void clear() { buf_.clear(); }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

std::string rpc_body(const std::string& method, const xmlrpc::Array& params = {}) {
  return xmlrpc::encode_call(method, params);
}

std::string raw_post(const std::string& body, const std::string& extra = "") {
  return "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Runs an HttpServer on an io_context thread with a test application:
//   POST /RPC2 echo(x)        -> x
//   POST /RPC2 whoami()       -> {connection, user}
//   POST /RPC2 hold()         -> answered later by release(v) from another client
//   POST /RPC2 release(v)     -> true, and hold() answers v
//   POST /RPC2 boom()         -> handler throws
//   POST /RPC2 drop()         -> reply dropped unanswered
//   POST /RPC2 shutdown()     -> true, then HttpServer::close() from the handler
//   GET  /stream              -> "one", "two", "three" chunks posted one by one, then end
//   GET  /follow              -> "hello", then stays open; on_close is recorded
class Fixture {
 public:
  explicit Fixture(Limits limits = {}) : guard_(asio::make_work_guard(io_)) {
    server_ = std::make_unique<HttpServer>(
        io_, [this](const HttpRequest& req, std::shared_ptr<Reply> reply) { handle(req, std::move(reply)); },
        [this](int level, const std::string& m) {
          std::lock_guard lock(mutex_);
          logs_.push_back(std::to_string(level) + " " + m);
        },
        limits);
    thread_ = std::thread([this] { io_.run(); });
  }
  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  ~Fixture() {
    on_io([this] {
      server_->close();
      server_.reset();
      return 0;
    });
    guard_.reset();
    io_.stop();
    thread_.join();
  }

  sup::Status listen_unix(const sup::config::HttpServerConfig& cfg) {
    return on_io([&] { return server_->listen_unix(cfg); });
  }
  std::size_t connections() {
    return on_io([&] { return server_->connection_count(); });
  }
  HttpServer& server() { return *server_; }
  std::vector<std::string> logs() {
    std::lock_guard lock(mutex_);
    return logs_;
  }

  std::promise<void> held_promise;    // set when hold() is parked
  std::promise<void> follow_closed;   // set when /follow's on_close fires
  std::atomic<int> follow_close_count{0};

 private:
  void handle(const HttpRequest& req, std::shared_ptr<Reply> reply) {
    if (req.method == "GET" && req.target == "/stream") {
      reply->start_stream(200, "text/plain;charset=utf-8", {{"X-Accel-Buffering", "no"}});
      stream_step(reply, 0);
      return;
    }
    if (req.method == "GET" && req.target == "/follow") {
      reply->start_stream(200, "text/plain");
      reply->write_chunk("hello");
      reply->set_on_close([this] {
        if (follow_close_count++ == 0) follow_closed.set_value();
      });
      followers_.push_back(reply);
      return;
    }
    if (req.method != "POST" || req.target != "/RPC2") {
      reply->send(404, "text/plain", "not found");
      return;
    }
    auto call = xmlrpc::decode_call(req.body);
    if (!call) {
      reply->send(400, "text/plain", call.error());
      return;
    }
    auto answer = [&](const xmlrpc::Value& v) { reply->send(200, "text/xml", xmlrpc::encode_response(v)); };
    if (call->method == "echo" && call->params.size() == 1) return answer(call->params[0]);
    if (call->method == "whoami")
      return answer(xmlrpc::Struct{{"connection", xmlrpc::Value(static_cast<long long>(req.connection_id))},
                                   {"user", xmlrpc::Value(req.username)}});
    if (call->method == "hold") {
      held_ = reply;
      held_promise.set_value();
      return;
    }
    if (call->method == "release" && call->params.size() == 1 && held_) {
      held_->send(200, "text/xml", xmlrpc::encode_response(call->params[0]));
      held_.reset();
      return answer(true);
    }
    if (call->method == "boom") throw std::runtime_error("boom");
    if (call->method == "drop") return;  // the reply is dropped unanswered
    if (call->method == "shutdown") {  // answers, then closes the server at once
      answer(true);
      server_->close();
      return;
    }
    reply->send(200, "text/xml", xmlrpc::encode_fault({1, "UNKNOWN_METHOD"}));
  }

  // Each chunk is written from a separate io_context turn, as a log follower does.
  void stream_step(std::shared_ptr<Reply> reply, int i) {
    static const char* kParts[] = {"one", "two", "three"};
    if (i == 3) return reply->end_stream();
    reply->write_chunk(kParts[i]);
    asio::post(io_, [this, reply, i] { stream_step(reply, i + 1); });
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> logs_;
  std::shared_ptr<Reply> held_;
  std::vector<std::shared_ptr<Reply>> followers_;
};

xmlrpc::Value call_ok(xmlrpc::Client& c, const std::string& method, const xmlrpc::Array& params = {}) {
  xmlrpc::Response r;
  xmlrpc::TransportError err;
  bool ok = c.call(method, params, &r, &err);
  REQUIRE_MESSAGE(ok, err.message);
  REQUIRE_FALSE(r.is_fault);
  return r.value;
}

}  // namespace

TEST_CASE("sha1_hex matches the standard test vectors") {
  CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(sha1_hex("hunter2") == "f3bbbd66a63d4bf1747940578ec3d0103530e21d");
  CHECK(sha1_hex(std::string(1000, 'a')) == "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST_CASE("keep-alive: one client reuses one connection") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  auto first = call_ok(client, "whoami");
  for (int i = 0; i < 20; ++i) {
    CHECK(call_ok(client, "echo", {xmlrpc::Value("x<" + std::to_string(i))}) == xmlrpc::Value("x<" + std::to_string(i)));
    CHECK(*call_ok(client, "whoami").find("connection") == *first.find("connection"));
  }
  CHECK(fx.connections() == 1);
  CHECK(*first.find("user") == xmlrpc::Value(""));
}

TEST_CASE("deferred reply is sent when the application answers later") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  std::string url = "unix://" + (dir.path / "sock").string();
  auto held = fx.held_promise.get_future();
  auto waiter = std::async(std::launch::async, [&] {
    xmlrpc::Client c(url);
    return call_ok(c, "hold");
  });
  REQUIRE(held.wait_for(kDeadline) == std::future_status::ready);
  // The held call is still unanswered while another client is served.
  CHECK(waiter.wait_for(0s) == std::future_status::timeout);
  xmlrpc::Client other(url);
  CHECK(call_ok(other, "release", {xmlrpc::Value("later")}) == xmlrpc::Value(true));
  REQUIRE(waiter.wait_for(kDeadline) == std::future_status::ready);
  CHECK(waiter.get() == xmlrpc::Value("later"));
}

TEST_CASE("chunked stream is read by Client::stream_get") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  std::string got;
  int pieces = 0;
  xmlrpc::TransportError err;
  REQUIRE_MESSAGE(client.stream_get("/stream",
                                    [&](std::string_view d) {
                                      got.append(d);
                                      ++pieces;
                                      return true;
                                    },
                                    &err),
                  err.message);
  CHECK(got == "onetwothree");
  CHECK(pieces >= 1);

  // On the wire: chunked, with the extra header, and the connection stays usable.
  RawConn raw(dir.path / "sock");
  REQUIRE(raw.send("GET /stream HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  std::string text = raw.read_until("0\r\n\r\n");
  CHECK(text.find("HTTP/1.1 200 OK\r\n") == 0);
  CHECK(text.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(text.find("X-Accel-Buffering: no\r\n") != std::string::npos);
  CHECK(text.find("Server: supervisor-cpp\r\n") != std::string::npos);
  CHECK(text.find("\r\n3\r\none\r\n") != std::string::npos);
  CHECK(text.find("\r\n5\r\nthree\r\n0\r\n\r\n") != std::string::npos);

  // HTTP/1.0 clients get the raw body and a close.
  RawConn old(dir.path / "sock");
  REQUIRE(old.send("GET /stream HTTP/1.0\r\n\r\n"));
  std::string body = old.read_to_eof();
  CHECK(old.saw_eof());
  CHECK(body.find("Transfer-Encoding") == std::string::npos);
  CHECK(body.substr(body.size() - 11) == "onetwothree");
}

TEST_CASE("client disconnect mid-stream fires on_close") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  auto closed = fx.follow_closed.get_future();
  std::string got;
  xmlrpc::TransportError err;
  // Stops after the first data: the client closes its connection.
  REQUIRE(client.stream_get("/follow", [&](std::string_view d) {
    got.append(d);
    return false;
  }, &err));
  CHECK(got == "hello");
  REQUIRE(closed.wait_for(kDeadline) == std::future_status::ready);
  CHECK(fx.follow_close_count == 1);
  CHECK(eventually([&] { return fx.connections() == 0; }));
}

TEST_CASE("Basic authentication guards every path") {
  TempDir dir;
  Fixture fx;
  auto plain = unix_config(dir.path / "plain.sock");
  plain.username = "alice";
  plain.password = "s3cret";
  auto sha = unix_config(dir.path / "sha.sock");
  sha.username = "bob";
  sha.password = "{SHA}" + sha1_hex("hunter2");
  REQUIRE(fx.listen_unix(plain).ok());
  REQUIRE(fx.listen_unix(sha).ok());
  std::string plain_url = "unix://" + plain.file, sha_url = "unix://" + sha.file;
  xmlrpc::Response r;
  xmlrpc::TransportError err;

  for (auto* url : {&plain_url, &sha_url}) {
    xmlrpc::Client none(*url);
    CHECK_FALSE(none.call("echo", {xmlrpc::Value(1)}, &r, &err));
    CHECK(err.kind == xmlrpc::TransportError::Kind::AuthRequired);
    CHECK_FALSE(none.stream_get("/stream", [](std::string_view) { return true; }, &err));
    CHECK(err.kind == xmlrpc::TransportError::Kind::AuthRequired);
  }
  xmlrpc::Client wrong_pass(plain_url, "alice", "nope");
  CHECK_FALSE(wrong_pass.call("echo", {xmlrpc::Value(1)}, &r, &err));
  CHECK(err.kind == xmlrpc::TransportError::Kind::AuthRequired);
  xmlrpc::Client wrong_user(plain_url, "mallory", "s3cret");
  CHECK_FALSE(wrong_user.call("echo", {xmlrpc::Value(1)}, &r, &err));
  CHECK(err.kind == xmlrpc::TransportError::Kind::AuthRequired);
  // The hash itself is not a password.
  xmlrpc::Client hash_as_pass(sha_url, "bob", sha.password);
  CHECK_FALSE(hash_as_pass.call("echo", {xmlrpc::Value(1)}, &r, &err));
  CHECK(err.kind == xmlrpc::TransportError::Kind::AuthRequired);

  xmlrpc::Client alice(plain_url, "alice", "s3cret");
  CHECK(*call_ok(alice, "whoami").find("user") == xmlrpc::Value("alice"));
  std::string streamed;
  CHECK(alice.stream_get("/stream", [&](std::string_view d) {
    streamed.append(d);
    return true;
  }, &err));
  CHECK(streamed == "onetwothree");
  xmlrpc::Client bob(sha_url, "bob", "hunter2");
  CHECK(*call_ok(bob, "whoami").find("user") == xmlrpc::Value("bob"));

  // On the wire: a challenge, and no handler ran for an unknown path either.
  RawConn raw(dir.path / "plain.sock");
  REQUIRE(raw.send("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string text = raw.read_to_eof();
  CHECK(text.find("HTTP/1.1 401 Unauthorized\r\n") == 0);
  CHECK(text.find("WWW-Authenticate: Basic realm=\"default\"\r\n") != std::string::npos);
  for (const auto& line : fx.logs()) {
    CHECK(line.find("s3cret") == std::string::npos);
    CHECK(line.find("hunter2") == std::string::npos);
  }
}

TEST_CASE("unix socket: configured mode, ownership, stale and live sockets") {
  TempDir dir;
  fs::path sock = dir.path / "sock";

  SUBCASE("mode is the configured chmod, whatever the umask") {
    for (mode_t mode : {mode_t(0700), mode_t(0660), mode_t(0777)}) {
      Fixture fx;
      auto cfg = unix_config(sock);
      cfg.chmod = mode;
      REQUIRE(fx.listen_unix(cfg).ok());
      struct stat st{};
      REQUIRE(::stat(sock.c_str(), &st) == 0);
      CHECK(S_ISSOCK(st.st_mode));
      CHECK((st.st_mode & 07777) == mode);
      // The temporary name is gone.
      CHECK_FALSE(fs::exists(sock.string() + "." + std::to_string(::getpid())));
      fx.on_io([&] {
        fx.server().close();
        return 0;
      });
      CHECK_FALSE(fs::exists(sock));  // close() unlinks what it created
    }
  }

  SUBCASE("chown is applied") {
    if (::geteuid() != 0) {
      MESSAGE("skipped: chown to another user needs root");
      return;
    }
    Fixture fx;
    auto cfg = unix_config(sock);
    cfg.chown_uid = 65534;
    cfg.chown_gid = 65534;
    REQUIRE(fx.listen_unix(cfg).ok());
    struct stat st{};
    REQUIRE(::stat(sock.c_str(), &st) == 0);
    CHECK(st.st_uid == 65534);
    CHECK(st.st_gid == 65534);
  }

  SUBCASE("a stale socket file is replaced") {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, sock.c_str(), sizeof sa.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    ::close(fd);  // the file stays, nobody answers
    Fixture fx;
    auto status = fx.listen_unix(unix_config(sock));
    REQUIRE_MESSAGE(status.ok(), status.error());
    xmlrpc::Client client("unix://" + sock.string());
    CHECK(call_ok(client, "echo", {xmlrpc::Value(5)}) == xmlrpc::Value(5));
    bool logged = false;
    for (const auto& l : fx.logs()) logged |= l.find("Unlinking stale socket " + sock.string()) != std::string::npos;
    CHECK(logged);
  }

  SUBCASE("a live socket is not taken over") {
    Fixture first;
    REQUIRE(first.listen_unix(unix_config(sock)).ok());
    {
      Fixture second;
      auto status = second.listen_unix(unix_config(sock));
      REQUIRE_FALSE(status.ok());
      CHECK(status.error() ==
            "Another program is already listening on a port that one of our HTTP servers is configured to use.  "
            "Shut this program down first before starting supervisord.");
    }
    // The first server still owns and serves its socket.
    xmlrpc::Client client("unix://" + sock.string());
    CHECK(call_ok(client, "echo", {xmlrpc::Value("still")}) == xmlrpc::Value("still"));
  }

  SUBCASE("a regular file or a missing directory is an error") {
    std::ofstream(sock) << "data";
    Fixture fx;
    auto status = fx.listen_unix(unix_config(sock));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().find("exists and is not a socket") != std::string::npos);
    CHECK(fs::exists(sock));  // left alone
    auto missing = fx.listen_unix(unix_config(dir.path / "nodir" / "sock"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error() == "Cannot open an HTTP server: socket.error reported errno.ENOENT (2)");
  }
}

TEST_CASE("malformed requests get 400 and the server keeps serving") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9\r\n\r\n",
      "POST /RPC2 HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
  };
  for (const char* req : bad) {
    RawConn raw(dir.path / "sock");
    REQUIRE(raw.send(req));
    std::string text = raw.read_to_eof();
    CHECK_MESSAGE(text.find("HTTP/1.1 400 Bad Request\r\n") == 0, req);
    CHECK(raw.saw_eof());
  }
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  CHECK(call_ok(client, "echo", {xmlrpc::Value(1)}) == xmlrpc::Value(1));

  // A handler that throws yields 500, and the connection still serves.
  RawConn raw(dir.path / "sock");
  REQUIRE(raw.send(raw_post(rpc_body("boom"))));
  CHECK(raw.read_until("</html>\n").find("HTTP/1.1 500 Internal Server Error\r\n") == 0);
  raw.clear();
  REQUIRE(raw.send(raw_post(rpc_body("echo", {xmlrpc::Value(9)}))));
  CHECK(raw.read_until("</methodResponse>\n").find("<int>9</int>") != std::string::npos);
  // A handler that drops its reply unanswered also yields 500.
  raw.clear();
  REQUIRE(raw.send(raw_post(rpc_body("drop"))));
  CHECK(raw.read_until("</html>\n").find("HTTP/1.1 500 Internal Server Error\r\n") == 0);
}

TEST_CASE("request limits: oversized body and header") {
  TempDir dir;
  Limits limits;
  limits.body_limit = 64 * 1024;
  Fixture fx(limits);
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  {
    RawConn raw(dir.path / "sock");
    std::string body(limits.body_limit + 1, 'x');
    raw.send(raw_post(body));
    std::string text = raw.read_to_eof();
    CHECK(text.find("HTTP/1.1 413 Payload Too Large\r\n") == 0);
  }
  {
    RawConn raw(dir.path / "sock");
    raw.send("GET / HTTP/1.1\r\nX-Big: " + std::string(10 * 1024, 'h') + "\r\n\r\n");
    std::string text = raw.read_to_eof();
    CHECK(text.find("HTTP/1.1 431 ") == 0);
  }
  // Just under the limit is fine.
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  std::string big(limits.body_limit - 400, 'y');
  CHECK(call_ok(client, "echo", {xmlrpc::Value(big)}) == xmlrpc::Value(big));
}

TEST_CASE("Expect: 100-continue is honoured") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  RawConn raw(dir.path / "sock");
  std::string body = rpc_body("echo", {xmlrpc::Value("go")});
  REQUIRE(raw.send("POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n"));
  CHECK(raw.read_until("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  raw.clear();
  REQUIRE(raw.send(body));
  CHECK(raw.read_until("</methodResponse>\n").find("<string>go</string>") != std::string::npos);
}

TEST_CASE("idle connections are closed and the client reconnects") {
  TempDir dir;
  Limits limits;
  limits.idle_timeout = 300ms;
  Fixture fx(limits);
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  RawConn silent(dir.path / "sock");
  silent.read_to_eof();
  CHECK(silent.saw_eof());

  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  auto first = call_ok(client, "whoami");
  REQUIRE(eventually([&] { return fx.connections() == 0; }));
  // The kept-alive connection was closed by the server: the client retries
  // on a new one transparently.
  auto second = call_ok(client, "whoami");
  CHECK(*second.find("connection") != *first.find("connection"));
}

TEST_CASE("200 concurrent connections are served; beyond the limit new ones are closed") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 200; ++i) {
    conns.push_back(std::make_unique<RawConn>(dir.path / "sock"));
    REQUIRE(conns.back()->connected());
  }
  for (int i = 0; i < 200; ++i) REQUIRE(conns[i]->send(raw_post(rpc_body("echo", {xmlrpc::Value(i)}))));
  for (int i = 0; i < 200; ++i) {
    std::string text = conns[i]->read_until("</methodResponse>\n");
    CHECK(text.find("<int>" + std::to_string(i) + "</int>") != std::string::npos);
  }
  CHECK(fx.connections() == 200);

  TempDir dir2;
  Limits limits;
  limits.max_connections = 5;
  Fixture small(limits);
  REQUIRE(small.listen_unix(unix_config(dir2.path / "sock")).ok());
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<RawConn>(dir2.path / "sock"));
    REQUIRE(held.back()->send(raw_post(rpc_body("echo", {xmlrpc::Value(i)}))));
    REQUIRE(held.back()->read_until("</methodResponse>\n").find("200 OK") != std::string::npos);
  }
  RawConn extra(dir2.path / "sock");
  extra.send(raw_post(rpc_body("echo", {xmlrpc::Value(1)})));
  std::string text = extra.read_to_eof();
  CHECK(extra.saw_eof());
  CHECK(text.empty());
  held.pop_back();  // one leaves: a new connection is served again
  REQUIRE(eventually([&] { return small.connections() == 4; }));
  xmlrpc::Client client("unix://" + (dir2.path / "sock").string());
  CHECK(call_ok(client, "echo", {xmlrpc::Value(7)}) == xmlrpc::Value(7));
}

TEST_CASE("close() drops pending replies and fires on_close") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  std::string url = "unix://" + (dir.path / "sock").string();
  auto closed = fx.follow_closed.get_future();
  auto follower = std::async(std::launch::async, [&] {
    xmlrpc::Client c(url);
    xmlrpc::TransportError err;
    bool ok = c.stream_get("/follow", [](std::string_view) { return true; }, &err);
    return std::make_pair(ok, err);
  });
  REQUIRE(eventually([&] { return fx.connections() == 1; }));
  fx.on_io([&] {
    fx.server().close();
    return 0;
  });
  REQUIRE(closed.wait_for(kDeadline) == std::future_status::ready);
  REQUIRE(follower.wait_for(kDeadline) == std::future_status::ready);
  auto [ok, err] = follower.get();
  CHECK_FALSE(ok);  // the chunked body ended without its last chunk
  CHECK_FALSE(fs::exists(dir.path / "sock"));
}

TEST_CASE("an answer queued before close() is still delivered") {
  TempDir dir;
  Fixture fx;
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  xmlrpc::Client client("unix://" + (dir.path / "sock").string());
  CHECK(call_ok(client, "shutdown") == xmlrpc::Value(true));
  // The answer may reach us before the handler's close() returns.
  CHECK(eventually([&] { return !fs::exists(dir.path / "sock"); }));
  xmlrpc::Response r;
  xmlrpc::TransportError err;
  CHECK_FALSE(client.call("echo", {xmlrpc::Value(1)}, &r, &err));
  CHECK(err.kind == xmlrpc::TransportError::Kind::NoSuchFile);
}

TEST_CASE("inet listener on an ephemeral port") {
  Fixture fx;
  sup::config::HttpServerConfig cfg;
  cfg.kind = sup::config::HttpServerConfig::Kind::Inet;
  cfg.section = "inet_http_server";
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  REQUIRE(fx.on_io([&] { return fx.server().listen_inet(cfg); }).ok());
  int port = fx.on_io([&] { return fx.server().inet_port(); });
  REQUIRE(port > 0);
  xmlrpc::Client client("http://127.0.0.1:" + std::to_string(port));
  CHECK(call_ok(client, "echo", {xmlrpc::Value(3.5)}) == xmlrpc::Value(3.5));

  // The same port again is "already listening".
  cfg.port = port;
  Fixture other;
  auto status = other.on_io([&] { return other.server().listen_inet(cfg); });
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().find("Another program is already listening") == 0);
}

TEST_CASE("supervisorctl's own Python transport talks to the server") {
  const char* python = "/usr/bin/python3";
  if (::access(python, X_OK) != 0 ||
      std::system("/usr/bin/python3 -c 'import supervisor.xmlrpc' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 with the supervisor module is absent");
    return;
  }
  TempDir dir;
  Fixture fx;
  auto cfg = unix_config(dir.path / "sock");
  cfg.username = "alice";
  cfg.password = "{SHA}" + sha1_hex("pw");
  REQUIRE(fx.listen_unix(cfg).ok());
  fs::path script = dir.path / "client.py";
  std::ofstream(script) << R"PY(
import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
url = 'unix://' + sys.argv[1]
proxy = xmlrpc.client.ServerProxy('http://127.0.0.1', SupervisorTransport('alice', 'pw', url))
ids = set()
for i in range(50):
    s = 'x%d <&> \t' % i
    assert proxy.echo(s) == s, 'echo'
    ids.add(proxy.whoami()['connection'])
bad = xmlrpc.client.ServerProxy('http://127.0.0.1', SupervisorTransport('alice', 'nope', url))
try:
    bad.echo(1)
    print('no error')
except xmlrpc.client.ProtocolError as e:
    print('connections=%d status=%d' % (len(ids), e.errcode))
)PY";
  std::string cmd = std::string(python) + " " + script.string() + " " + cfg.file;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  CHECK(out == "connections=1 status=401\n");
}

TEST_CASE("refused requests: one log line each with peer and user, bounded per window, never the password") {
  TempDir dir;
  std::optional<Fixture> fx(std::in_place);
  auto cfg = unix_config(dir.path / "sock");
  cfg.username = "alice";
  cfg.password = "s3cret-Pw";
  REQUIRE(fx->listen_unix(cfg).ok());
  constexpr int kRefused = 100;
  for (int i = 0; i < kRefused; ++i) {
    xmlrpc::Client c("unix://" + cfg.file, i % 2 ? "alice" : "bob", "wrong-Pw-" + std::to_string(i));
    xmlrpc::Response r;
    xmlrpc::TransportError err;
    REQUIRE_FALSE(c.call("echo", {xmlrpc::Value(1)}, &r, &err));
    REQUIRE(err.kind == xmlrpc::TransportError::Kind::AuthRequired);
  }
  // close() reports the refusals not logged yet.
  fx->on_io([&] {
    fx->server().close();
    return 0;
  });
  auto logs = fx->logs();
  fx.reset();
  int lines = 0;
  long long unlogged = 0;
  const std::string peer = "from unix peer pid " + std::to_string(::getpid()) + " uid " + std::to_string(::geteuid());
  for (const auto& l : logs) {
    CHECK(l.find("s3cret") == std::string::npos);
    CHECK(l.find("wrong-Pw") == std::string::npos);
    if (l.find("refused (401)") != std::string::npos) {
      ++lines;
      CHECK(l.rfind("30 HTTP request POST /RPC2 " + peer + " refused (401): wrong credentials for user '", 0) == 0);
    }
    if (auto at = l.find(" more refused HTTP request(s) or connection(s) not logged"); at != std::string::npos)
      unlogged += std::stoll(l.substr(3, at - 3));
  }
  // 20 lines per 10-second window; the 100 requests take one window, two
  // on a very slow machine.
  CHECK(lines >= 20);
  CHECK(lines <= 40);
  CHECK(lines + unlogged == kRefused);
}

TEST_CASE("allowed_uids: only listed uids (and root) get a connection") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: connecting as other uids needs root");
    return;
  }
  TempDir dir;
  ::chmod(dir.path.c_str(), 0755);
  Fixture fx;
  auto cfg = unix_config(dir.path / "sock");
  cfg.chmod = 0777;
  cfg.allowed_uids = {4242};
  REQUIRE(fx.listen_unix(cfg).ok());
  // A child connects as `uid` and reports what it got: 'A' for an HTTP
  // answer, 'C' for a connection closed without one.
  auto try_as = [&](uid_t uid) {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Only system calls here: the parent has other threads.
      if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(3);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, cfg.file.c_str(), sizeof sa.sun_path - 1);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) ::_exit(4);
      const char req[] = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
      (void)::send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
      char buf[16];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      char verdict = n > 0 && std::memcmp(buf, "HTTP/1.1 404", 12) == 0 ? 'A' : 'C';
      (void)::write(pipefd[1], &verdict, 1);
      ::_exit(0);
    }
    ::close(pipefd[1]);
    char verdict = '?';
    CHECK(::read(pipefd[0], &verdict, 1) == 1);
    ::close(pipefd[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    return verdict;
  };
  CHECK(try_as(4242) == 'A');
  CHECK(try_as(0) == 'A');  // root always
  CHECK(try_as(65534) == 'C');
  bool logged = false;
  for (const auto& l : fx.logs())
    logged |= l.find("HTTP connection on " + cfg.file + " from pid ") != std::string::npos &&
              l.find(" uid 65534 refused: uid not in allowed_uids") != std::string::npos;
  CHECK(logged);
  CHECK(eventually([&] { return fx.connections() == 0; }));
}

TEST_CASE("set_on_idle: called once after the last connection closes, not while one is open") {
  TempDir dir;
  Fixture fx;
  std::atomic<int> idle{0};
  fx.on_io([&] {
    fx.server().set_on_idle([&] { ++idle; }, 50ms);
    return 0;
  });
  REQUIRE(fx.listen_unix(unix_config(dir.path / "sock")).ok());
  {
    RawConn a(dir.path / "sock");
    RawConn b(dir.path / "sock");
    REQUIRE(a.connected());
    REQUIRE(b.connected());
    REQUIRE(eventually([&] { return fx.connections() == 2; }));
    a.send(raw_post(rpc_body("echo", {xmlrpc::Value("x")}), "Connection: close\r\n"));
    a.read_to_eof();
    REQUIRE(eventually([&] { return fx.connections() == 1; }));
    // b is still open: a burst is not over. Its own close, below, is what
    // the server waits for; a call now would be early by definition.
    CHECK(idle == 0);
  }
  REQUIRE(eventually([&] { return idle == 1; }));
  // A later burst gets its own call.
  {
    RawConn c(dir.path / "sock");
    REQUIRE(c.connected());
    REQUIRE(eventually([&] { return fx.connections() == 1; }));
  }
  REQUIRE(eventually([&] { return idle == 2; }));
}
