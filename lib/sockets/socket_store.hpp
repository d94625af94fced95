// SocketStore: the listening sockets of socket= (issue 6), owned by the
// daemon for its whole life so that they survive every stop, start, restart
// and crash of the programs using them, and every SIGHUP reload.
//
// Sockets are keyed by canonical address and claimed by owners (process
// group names). A socket is closed (and a unix socket's file removed) when
// its last owner releases it, or when the store is destroyed. Descriptors
// are O_CLOEXEC: the spawner puts them on fd 3, 4, ... in the child only.
// Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/model.hpp"
#include "sockets/address.hpp"
#include "util/result.hpp"
#include "util/unique_fd.hpp"

namespace sup::sockets {

struct SocketOptions {
  int backlog = 0;  // 0: the system maximum
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  std::optional<mode_t> mode;
};

// The system's maximum listen backlog (/proc/sys/net/core/somaxconn).
int system_max_backlog();

class SocketStore {
 public:
  SocketStore() = default;
  ~SocketStore();
  SocketStore(const SocketStore&) = delete;
  SocketStore& operator=(const SocketStore&) = delete;

  // Binds and listens on every address of pc (or reuses the socket already
  // held for it), claims them for owner, and returns the descriptors in
  // pc.sockets order. On error nothing new stays open and the message names
  // the address ("could not bind tcp://127.0.0.1:80: Permission denied").
  Result<std::vector<int>> acquire(const std::string& owner, const config::ProcessConfig& pc);
  // Drops owner's claims except on the addresses in keep (canonical text);
  // closes the sockets nobody claims any more.
  void release(const std::string& owner, const std::set<std::string>& keep = {});
  // A reload (SIGHUP) re-claims from scratch: begin_reload() forgets every
  // claim but keeps the sockets open, the new generation acquires what it
  // configures, and end_reload() closes what nobody claimed again.
  void begin_reload();
  void end_reload();

  // The descriptor held for a canonical address, or -1.
  int find(const std::string& address) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    SocketAddress address;
    UniqueFd fd;
    SocketOptions options;
    std::set<std::string> owners;
  };
  Result<int> open(const std::string& key, const SocketAddress& a, const SocketOptions& o);
  void close_unowned();

  std::map<std::string, Entry> entries_;
};

}  // namespace sup::sockets
