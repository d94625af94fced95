#include "sockets/socket_store.hpp"

#include "util/nss.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sup::sockets {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Applies backlog, owner and mode to a bound socket (also when reused with new options).
Status apply_options(int fd, const SocketAddress& a, const SocketOptions& o, const std::string& key) {
  int backlog = o.backlog > 0 ? o.backlog : system_max_backlog();
  if (::listen(fd, backlog) != 0) return Error{"could not listen on " + key + ": " + errno_text(errno)};
  if (a.kind != SocketAddress::Kind::Unix) return {};
  if (o.uid && ::chown(a.path.c_str(), *o.uid, o.gid ? *o.gid : static_cast<gid_t>(-1)) != 0)
    return Error{"could not change the owner of " + key + ": " + errno_text(errno)};
  if (o.mode && ::chmod(a.path.c_str(), *o.mode) != 0)
    return Error{"could not change the mode of " + key + ": " + errno_text(errno)};
  return {};
}

}  // namespace

int system_max_backlog() {
  std::ifstream in("/proc/sys/net/core/somaxconn");
  int n = 0;
  if (in >> n && n > 0) return n;
  return SOMAXCONN;
}

SocketStore::~SocketStore() {
  for (auto& [key, e] : entries_)
    if (e.address.kind == SocketAddress::Kind::Unix) ::unlink(e.address.path.c_str());
}

Result<int> SocketStore::open(const std::string& key, const SocketAddress& a, const SocketOptions& o) {
  UniqueFd fd;
  if (a.kind == SocketAddress::Kind::Unix) {
    struct stat st {};
    if (::lstat(a.path.c_str(), &st) == 0) {
      // A stale socket file from an earlier run is replaced; anything else is not ours.
      if (!S_ISSOCK(st.st_mode)) return Error{"could not bind " + key + ": the path exists and is not a socket"};
      ::unlink(a.path.c_str());
    }
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error{"could not create a socket for " + key + ": " + errno_text(errno)};
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, a.path.c_str(), a.path.size() + 1);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      return Error{"could not bind " + key + ": " + errno_text(errno)};
  } else {
    addrinfo hints{};
    hints.ai_family = a.ipv6_literal ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    const bool any = a.host.empty() || a.host == "*";
    addrinfo* res = nullptr;
    std::string port = std::to_string(a.port);
    int rc = ::getaddrinfo(any ? nullptr : a.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 && !any) {
      // A name only NSS sources a static daemon can't load know (util/nss.hpp).
      addrinfo numeric = hints;
      numeric.ai_flags |= AI_NUMERICHOST;
      for (const std::string& addr : nss::host_addresses_elsewhere(a.host)) {
        res = nullptr;
        if (::getaddrinfo(addr.c_str(), port.c_str(), &numeric, &res) == 0 && res) {
          rc = 0;
          break;
        }
      }
    }
    if (rc != 0 || !res) return Error{"could not resolve " + key + ": " + ::gai_strerror(rc)};
    // The first address (IPv4 first for "*" and names with both families).
    addrinfo* ai = res;
    if (any)
      for (addrinfo* p = res; p; p = p->ai_next)
        if (p->ai_family == AF_INET) {
          ai = p;
          break;
        }
    fd.reset(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd) {
      int e = errno;
      ::freeaddrinfo(res);
      return Error{"could not create a socket for " + key + ": " + errno_text(e)};
    }
    int one = 1;
    // A daemon restart must not wait for TIME_WAIT connections of the old socket.
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int brc = ::bind(fd.get(), ai->ai_addr, ai->ai_addrlen);
    int e = errno;
    ::freeaddrinfo(res);
    if (brc != 0) return Error{"could not bind " + key + ": " + errno_text(e)};
  }
  if (Status st = apply_options(fd.get(), a, o, key); !st) {
    if (a.kind == SocketAddress::Kind::Unix) ::unlink(a.path.c_str());
    return Error{st.error()};
  }
  int raw = fd.get();
  Entry e;
  e.address = a;
  e.fd = std::move(fd);
  e.options = o;
  entries_.emplace(key, std::move(e));
  return raw;
}

Result<std::vector<int>> SocketStore::acquire(const std::string& owner, const config::ProcessConfig& pc) {
  SocketOptions o;
  o.backlog = pc.socket_backlog;
  o.uid = pc.socket_uid;
  o.gid = pc.socket_gid;
  o.mode = pc.socket_mode;
  std::vector<int> fds;
  std::vector<std::string> opened;  // by this call: closed again on error
  auto fail = [&](const std::string& msg) -> Result<std::vector<int>> {
    for (const auto& k : opened) {
      auto it = entries_.find(k);
      if (it == entries_.end()) continue;
      if (it->second.address.kind == SocketAddress::Kind::Unix) ::unlink(it->second.address.path.c_str());
      entries_.erase(it);
    }
    return Error{msg};
  };
  for (const auto& text : pc.sockets) {
    auto a = parse_socket_address(text);
    if (!a) return fail("invalid socket address '" + text + "': " + a.error());
    std::string key = a->to_string();
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      if (!(it->second.options.backlog == o.backlog && it->second.options.uid == o.uid &&
            it->second.options.gid == o.gid && it->second.options.mode == o.mode)) {
        if (Status st = apply_options(it->second.fd.get(), it->second.address, o, key); !st) return fail(st.error());
        it->second.options = o;
      }
      fds.push_back(it->second.fd.get());
      continue;
    }
    auto fd = open(key, *a, o);
    if (!fd) return fail(fd.error());
    opened.push_back(key);
    fds.push_back(*fd);
  }
  for (const auto& text : pc.sockets) {
    auto a = parse_socket_address(text);
    entries_.at(a->to_string()).owners.insert(owner);
  }
  return fds;
}

void SocketStore::close_unowned() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.owners.empty()) {
      ++it;
      continue;
    }
    if (it->second.address.kind == SocketAddress::Kind::Unix) ::unlink(it->second.address.path.c_str());
    it = entries_.erase(it);
  }
}

void SocketStore::release(const std::string& owner, const std::set<std::string>& keep) {
  for (auto& [key, e] : entries_)
    if (keep.count(key) == 0) e.owners.erase(owner);
  close_unowned();
}

void SocketStore::begin_reload() {
  for (auto& [key, e] : entries_) e.owners.clear();
}

void SocketStore::end_reload() { close_unowned(); }

int SocketStore::find(const std::string& address) const {
  auto it = entries_.find(address);
  return it == entries_.end() ? -1 : it->second.fd.get();
}

}  // namespace sup::sockets
