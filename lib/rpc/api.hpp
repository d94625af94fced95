// Api: supervisord 4.2's XML-RPC interface (supervisor.* and system.*) as a
// thin adapter over the Supervisor. Calls that wait (startProcess with
// wait=true, stopProcess, the group variants, multicall) are answered when
// the state change they wait for happens: the Api re-checks pending calls on
// every process state change, never on a timer. Event-loop thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/model.hpp"
#include "util/result.hpp"
#include "xmlrpc/codec.hpp"

namespace sup {
class Supervisor;
}

namespace sup::rpc {

class ApiImpl;

// What the Api needs from the daemon beyond the Supervisor.
class DaemonControl {
 public:
  virtual ~DaemonControl() = default;
  virtual void request_shutdown(const std::string& why) = 0;
  virtual void request_restart(const std::string& why) = 0;
  // Parses the configuration file again (reread).
  virtual Result<config::Config> reread_config() = 0;
  virtual std::string main_log_path() const = 0;  // "" when none
  virtual Status clear_main_log() = 0;
  virtual pid_t daemon_pid() const = 0;
};

class Api {
 public:
  using Reply = std::function<void(const xmlrpc::Response&)>;
  // A call in progress: returns a result when done, nullopt while waiting.
  using Outcome = std::variant<xmlrpc::Value, xmlrpc::Fault>;
  using Deferred = std::function<std::optional<Outcome>()>;
  using Result = std::variant<xmlrpc::Value, xmlrpc::Fault, Deferred>;

  Api(Supervisor& sup, DaemonControl& daemon);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Runs one call; reply is called exactly once (maybe later), unless the
  // caller cancels via the returned token going out of scope first... the
  // reply must tolerate a closed connection.
  void call(const xmlrpc::Call& call, Reply reply);

  // Runs one call synchronously up to the point where it would wait.
  Result invoke(const std::string& method, const xmlrpc::Array& params);

  std::vector<std::string> method_names() const;

 private:
  struct Pending {
    Deferred check;
    Reply reply;
  };
  void recheck_pending();
  void schedule_recheck();

  Supervisor& sup_;
  DaemonControl& daemon_;
  std::unique_ptr<ApiImpl> impl_;
  std::list<Pending> pending_;
  int listener_ = 0;
  bool recheck_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sup::rpc
