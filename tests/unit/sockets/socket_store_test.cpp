// SocketStore and socket= address parsing: what a program sees on fd 3.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "sockets/address.hpp"
#include "sockets/socket_store.hpp"

using sup::sockets::parse_socket_address;
using sup::sockets::SocketStore;

namespace {

int bound_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  return ntohs(sa.sin_port);
}

// A port that is free right now.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  int port = bound_port(fd);
  ::close(fd);
  return port;
}

bool connects(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

sup::config::ProcessConfig program(std::vector<std::string> sockets) {
  sup::config::ProcessConfig pc;
  pc.name = pc.program = pc.group = "web";
  pc.sockets = std::move(sockets);
  return pc;
}

}  // namespace

TEST_CASE("socket= addresses parse into canonical text") {
  CHECK(parse_socket_address("tcp://127.0.0.1:8080")->to_string() == "tcp://127.0.0.1:8080");
  CHECK(parse_socket_address("tcp://LocalHost:80")->to_string() == "tcp://localhost:80");
  CHECK(parse_socket_address("tcp://[::1]:8080")->to_string() == "tcp://[::1]:8080");
  CHECK(parse_socket_address("tcp://*:8080")->host == "*");
  CHECK(parse_socket_address("unix:///run/app.sock")->path == "/run/app.sock");
  CHECK(parse_socket_address("tcp://::1:80").error() == "an IPv6 address must be written in brackets");
  CHECK(parse_socket_address("tcp://host:0").error() == "port must be 1-65535");
  CHECK(parse_socket_address("tcp://host:http").error().rfind("expected tcp://HOST:PORT", 0) == 0);
  CHECK(parse_socket_address("unix://x.sock").error() == "unix socket path is not absolute");
  CHECK(!parse_socket_address("http://host:80"));
}

TEST_CASE("the store binds once, shares a socket between owners and closes it with the last one") {
  int port = free_port();
  std::string addr = "tcp://127.0.0.1:" + std::to_string(port);
  SocketStore store;
  auto a = store.acquire("web", program({addr}));
  REQUIRE(a);
  REQUIRE(a->size() == 1);
  int fd = a->front();
  CHECK(bound_port(fd) == port);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);  // only the spawner hands it on
  CHECK(connects(port));
  // A second acquire (another spawn, another owner) gets the same socket.
  auto b = store.acquire("web", program({addr}));
  auto c = store.acquire("other", program({addr}));
  REQUIRE(b);
  REQUIRE(c);
  CHECK(b->front() == fd);
  CHECK(c->front() == fd);
  store.release("web");
  CHECK(store.find(addr) == fd);
  CHECK(connects(port));
  store.release("other");
  CHECK(store.find(addr) == -1);
  CHECK(!connects(port));
}

TEST_CASE("a reload keeps re-claimed sockets and closes the others") {
  int p1 = free_port(), p2 = free_port();
  std::string a1 = "tcp://127.0.0.1:" + std::to_string(p1), a2 = "tcp://127.0.0.1:" + std::to_string(p2);
  SocketStore store;
  REQUIRE(store.acquire("one", program({a1})));
  REQUIRE(store.acquire("two", program({a2})));
  int fd1 = store.find(a1);
  store.begin_reload();
  CHECK(store.size() == 2);  // nothing closes until the new generation has claimed
  REQUIRE(store.acquire("one", program({a1})));
  store.end_reload();
  CHECK(store.find(a1) == fd1);
  CHECK(store.find(a2) == -1);
  CHECK(connects(p1));
  CHECK(!connects(p2));
}

TEST_CASE("bind errors name the address; a failed acquire leaves nothing new open") {
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  int busy = bound_port(holder);
  int free = free_port();
  std::string ok = "tcp://127.0.0.1:" + std::to_string(free), taken = "tcp://127.0.0.1:" + std::to_string(busy);
  SocketStore store;
  auto r = store.acquire("web", program({ok, taken}));
  REQUIRE(!r);
  CHECK(r.error() == "could not bind " + taken + ": Address already in use");
  CHECK(store.size() == 0);
  CHECK(!connects(free));
  ::close(holder);
}

TEST_CASE("unix sockets get their mode, replace a stale socket file and are removed when closed") {
  std::string dir = std::filesystem::temp_directory_path() / ("unit_sockets." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = dir + "/app.sock";
  {
    // A stale socket file left by an earlier daemon.
    int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un su{};
    su.sun_family = AF_UNIX;
    std::strcpy(su.sun_path, path.c_str());
    REQUIRE(::bind(stale, reinterpret_cast<sockaddr*>(&su), sizeof su) == 0);
    ::close(stale);
  }
  {
    SocketStore store;
    auto pc = program({"unix://" + path});
    pc.socket_mode = 0640;
    auto r = store.acquire("web", pc);
    REQUIRE(r);
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0640);
  }
  CHECK(!std::filesystem::exists(path));
  // A regular file in the way is not ours to remove.
  { std::FILE* f = std::fopen(path.c_str(), "w"); std::fclose(f); }
  SocketStore store;
  auto r = store.acquire("web", program({"unix://" + path}));
  REQUIRE(!r);
  CHECK(r.error() == "could not bind unix://" + path + ": the path exists and is not a socket");
  CHECK(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

TEST_CASE("release keeps the claims on the addresses the owner still configures") {
  int p1 = free_port(), p2 = free_port();
  std::string a1 = "tcp://127.0.0.1:" + std::to_string(p1), a2 = "tcp://127.0.0.1:" + std::to_string(p2);
  SocketStore store;
  REQUIRE(store.acquire("web", program({a1, a2})));
  int fd1 = store.find(a1);
  store.release("web", {a1});
  CHECK(store.find(a1) == fd1);
  CHECK(store.find(a2) == -1);
  CHECK(connects(p1));
  store.release("web");
  CHECK(store.find(a1) == -1);
}

TEST_CASE("an IPv6 address in brackets binds an IPv6-only socket") {
  int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  if (probe < 0 || ::bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (probe >= 0) ::close(probe);
    MESSAGE("skipped: no IPv6 loopback on this machine");
    return;
  }
  socklen_t len = sizeof sa;
  ::getsockname(probe, reinterpret_cast<sockaddr*>(&sa), &len);
  int port = ntohs(sa.sin6_port);
  ::close(probe);
  SocketStore store;
  auto r = store.acquire("web", program({"tcp://[::1]:" + std::to_string(port)}));
  REQUIRE(r);
  sockaddr_storage ss{};
  len = sizeof ss;
  REQUIRE(::getsockname(r->front(), reinterpret_cast<sockaddr*>(&ss), &len) == 0);
  CHECK(ss.ss_family == AF_INET6);
  CHECK(ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port) == port);
}
