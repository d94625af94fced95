#include "rpc/api.hpp"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cmath>
#include <ctime>
#include <deque>
#include <map>

#include "config/datatypes.hpp"
#include "config/diff.hpp"
#include "logging/child_log.hpp"
#include "logging/daemon_log.hpp"
#include "logging/log_reader.hpp"
#include "process/supervisor.hpp"
#include "rpc/faults.hpp"
#include "util/py_repr.hpp"

namespace sup::rpc {

using xmlrpc::Array;
using xmlrpc::Struct;
using xmlrpc::Value;

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::UnknownMethod: return "UNKNOWN_METHOD";
    case Fault::IncorrectParameters: return "INCORRECT_PARAMETERS";
    case Fault::BadArguments: return "BAD_ARGUMENTS";
    case Fault::SignatureUnsupported: return "SIGNATURE_UNSUPPORTED";
    case Fault::ShutdownState: return "SHUTDOWN_STATE";
    case Fault::BadName: return "BAD_NAME";
    case Fault::BadSignal: return "BAD_SIGNAL";
    case Fault::NoFile: return "NO_FILE";
    case Fault::NotExecutable: return "NOT_EXECUTABLE";
    case Fault::Failed: return "FAILED";
    case Fault::AbnormalTermination: return "ABNORMAL_TERMINATION";
    case Fault::SpawnError: return "SPAWN_ERROR";
    case Fault::AlreadyStarted: return "ALREADY_STARTED";
    case Fault::NotRunning: return "NOT_RUNNING";
    case Fault::Success: return "SUCCESS";
    case Fault::AlreadyAdded: return "ALREADY_ADDED";
    case Fault::StillRunning: return "STILL_RUNNING";
    case Fault::CantReread: return "CANT_REREAD";
  }
  return "UNKNOWN";
}

xmlrpc::Fault make_fault(Fault f) { return xmlrpc::Fault{static_cast<int>(f), fault_name(f)}; }

xmlrpc::Fault make_fault(Fault f, const std::string& extra) {
  return xmlrpc::Fault{static_cast<int>(f), std::string(fault_name(f)) + ": " + extra};
}

namespace {

// A fault raised inside a method body (supervisord's RPCError).
struct RpcError {
  xmlrpc::Fault fault;
};

[[noreturn]] void fail(Fault f) { throw RpcError{make_fault(f)}; }
[[noreturn]] void fail(Fault f, const std::string& extra) { throw RpcError{make_fault(f, extra)}; }

// Parameter access with supervisord's leniency (Python calls func(*params)).
struct Params {
  const Array& a;
  size_t size() const { return a.size(); }
  std::string str(size_t i) const {
    const Value& v = a.at(i);
    if (v.is_string()) return v.as_string();
    if (v.type() == Value::Type::Binary) return v.as_binary().bytes;
    if (v.is_int()) return std::to_string(v.as_int());
    fail(Fault::IncorrectParameters);
  }
  std::int64_t integer(size_t i) const {
    const Value& v = a.at(i);
    if (v.is_int()) return v.as_int();
    if (v.is_bool()) return v.as_bool() ? 1 : 0;
    if (v.is_double()) return static_cast<std::int64_t>(v.as_double());
    if (v.is_string()) {
      // Python's int() of a string: optional sign, digits, surrounding spaces.
      const std::string& s = v.as_string();
      char* end = nullptr;
      errno = 0;
      long long n = std::strtoll(s.c_str(), &end, 10);
      while (end && *end == ' ') ++end;
      if (!s.empty() && end && *end == 0 && errno == 0) return n;
    }
    fail(Fault::IncorrectParameters);
  }
  bool boolean(size_t i, bool dflt) const {
    if (i >= a.size()) return dflt;
    const Value& v = a[i];
    if (v.is_bool()) return v.as_bool();
    if (v.is_int()) return v.as_int() != 0;
    if (v.is_string()) return !v.as_string().empty();
    if (v.is_nil()) return false;
    return true;
  }
};

std::string python_repr(const std::string& s) { return sup::py_repr(s); }

// Python's repr() of a float: the shortest round-trip digits, always with a
// decimal point or an exponent (1.0, 0.1, 1e+16, 1e-05).
std::string python_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  // buf = "d.ddde[+-]XX": Python switches to exponent notation outside [1e-4, 1e16).
  std::string sci = buf;
  auto epos = sci.find('e');
  int exp = std::atoi(sci.c_str() + epos + 1);
  std::string mant = sci.substr(0, epos);
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += e;
  } else if (exp < 0) {
    out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
  } else if (static_cast<int>(digits.size()) <= exp + 1) {
    out = digits + std::string(static_cast<size_t>(exp + 1) - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, static_cast<size_t>(exp + 1)) + "." + digits.substr(static_cast<size_t>(exp + 1));
  }
  return neg ? "-" + out : out;
}

// Python's str() of a decoded XML-RPC value: supervisord puts a rejected
// argument into the fault text this way ("INCORRECT_PARAMETERS: ['a']").
std::string python_str(const Value& v, bool nested = false) {
  switch (v.type()) {
    case Value::Type::Nil: return "None";
    case Value::Type::Bool: return v.as_bool() ? "True" : "False";
    case Value::Type::Int: return std::to_string(v.as_int());
    case Value::Type::Double: return python_float(v.as_double());
    case Value::Type::String: return nested ? python_repr(v.as_string()) : v.as_string();
    // supervisord decodes base64 to a str and dateTime.iso8601 to a datetime.
    case Value::Type::Binary: return nested ? python_repr(v.as_binary().bytes) : v.as_binary().bytes;
    case Value::Type::DateTime: {
      const std::string& t = v.as_datetime().iso8601;  // YYYYMMDDTHH:MM:SS
      std::string text = t.size() >= 17 ? t.substr(0, 4) + "-" + t.substr(4, 2) + "-" + t.substr(6, 2) + " " + t.substr(9)
                                        : t;
      return nested ? "datetime(" + python_repr(text) + ")" : text;
    }
    case Value::Type::Array: {
      std::string out = "[";
      for (const auto& e : v.as_array()) out += (out.size() > 1 ? ", " : "") + python_str(e, true);
      return out + "]";
    }
    case Value::Type::Struct: {
      std::string out = "{";
      for (const auto& [k, e] : v.as_struct())
        out += (out.size() > 1 ? ", " : "") + python_repr(k) + ": " + python_str(e, true);
      return out + "}";
    }
  }
  return "";
}

Value int_array(const std::vector<int>& ints) {
  Array out;
  out.reserve(ints.size());
  for (int i : ints) out.emplace_back(i);
  return Value(std::move(out));
}

// supervisord's make_namespec: "name" when the group is named after its
// only program, else "group:name".
std::string make_namespec(const std::string& group, const std::string& name) {
  return group == name ? name : group + ":" + name;
}

// supervisord's split_namespec: "g:p" -> (g, p); "g:" or "g:*" -> (g, none); "p" -> (p, p).
std::pair<std::string, std::optional<std::string>> split_namespec(const std::string& spec) {
  auto colon = spec.find(':');
  if (colon == std::string::npos) return {spec, spec};
  std::string g = spec.substr(0, colon), p = spec.substr(colon + 1);
  if (p.empty() || p == "*") return {g, std::nullopt};
  return {g, p};
}

std::int64_t capped(double t) {
  double v = std::floor(t);
  if (v > INT_MAX) return INT_MAX;
  if (v < INT_MIN) return INT_MIN;
  return static_cast<std::int64_t>(v);
}

// Python's str(timedelta) for a non-negative number of seconds.
std::string format_uptime(std::int64_t secs) {
  if (secs < 0) secs = 0;
  std::int64_t days = secs / 86400;
  secs %= 86400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>((secs % 3600) / 60), static_cast<long long>(secs % 60));
  if (days == 0) return buf;
  return std::to_string(days) + (days == 1 ? " day, " : " days, ") + buf;
}

std::string describe(const Process& p, std::int64_t start, std::int64_t stop, std::int64_t now) {
  switch (p.state()) {
    case ProcessState::Running:
      return "pid " + std::to_string(p.pid()) + ", uptime " + format_uptime(now - start);
    case ProcessState::Fatal:
    case ProcessState::Backoff:
      if (!p.spawnerr().empty()) return p.spawnerr();
      return "unknown error (try \"tail " + p.name() + "\")";
    case ProcessState::Stopped:
    case ProcessState::Exited: {
      if (!start) return "Not started";
      time_t t = static_cast<time_t>(stop);
      struct tm tm {};
      localtime_r(&t, &tm);
      char buf[64];
      std::strftime(buf, sizeof buf, "%b %d %I:%M %p", &tm);
      return buf;
    }
    case ProcessState::Starting:
    case ProcessState::Stopping:
    case ProcessState::Unknown:
      return "";
  }
  return "";
}

std::string log_path(const logging::ChannelLog* l) { return l ? l->path() : std::string(); }

Value process_info(const Process& p, double now_wall) {
  std::int64_t start = capped(p.laststart()), stop = capped(p.laststop()), now = capped(now_wall);
  std::string out = log_path(p.stdout_log()), err = log_path(p.stderr_log());
  Struct s;
  s.reserve(19);  // every field below: no regrowth (issue 7: getAllProcessInfo)
  s.emplace_back("name", p.name());
  s.emplace_back("group", p.group());
  s.emplace_back("start", Value(static_cast<long long>(start)));
  s.emplace_back("stop", Value(static_cast<long long>(stop)));
  s.emplace_back("now", Value(static_cast<long long>(now)));
  s.emplace_back("state", static_cast<int>(p.state()));
  s.emplace_back("statename", std::string(to_string(p.state())));
  s.emplace_back("spawnerr", p.spawnerr());
  s.emplace_back("exitstatus", p.exitstatus());
  s.emplace_back("logfile", out);
  s.emplace_back("stdout_logfile", out);
  s.emplace_back("stderr_logfile", err);
  s.emplace_back("pid", static_cast<int>(p.pid()));
  std::string desc = describe(p, start, stop, now);
  const config::ProcessConfig& c = p.config();
  bool has_health = c.healthcheck->kind != config::HealthCheck::Kind::None;
  // Issue 5: health is appended to a RUNNING/STARTING description
  // ("pid 12, uptime 0:01:02, unhealthy"), and extra fields that
  // supervisord's clients ignore are added only for programs that use the
  // new options, so plain configurations answer exactly like supervisord.
  static constexpr const char* kHealthNames[] = {"none", "starting", "healthy", "unhealthy"};
  std::string health = kHealthNames[static_cast<int>(p.health())];
  if (has_health && p.pid() != 0 && p.state() == ProcessState::Running) desc += ", " + health;
  // ready=notify: the child's own STATUS= text, as systemctl status shows it.
  if (!p.notify_status().empty() && p.pid() != 0 && is_running_state(p.state())) desc += ", " + p.notify_status();
  s.emplace_back("description", desc);
  if (has_health || c.ready != config::Readiness::Startsecs || c.restart_delay != 0 ||
      c.backoff != config::Backoff::Linear || c.restart_limit_count != 0) {
    s.emplace_back("health", health);
    s.emplace_back("health_detail", p.health_detail());
    s.emplace_back("ready", p.state() == ProcessState::Running);
    s.emplace_back("restarts", p.restarts());
    s.emplace_back("status", p.notify_status());
  }
  return s;
}

struct MethodInfo {
  std::vector<std::string> signature;  // return type, then parameter types
  size_t min_args;
  const char* help;
};

// Signatures are supervisord 4.2.5's (system.methodSignature is wire
// contract); help texts are ours.
const std::map<std::string, MethodInfo>& method_table() {
  static const std::map<std::string, MethodInfo> t = {
      {"supervisor.addProcessGroup", {{"boolean", "string"}, 1, "Update the config for a running process from config file.\n\n@param string name         name of process group to add\n@return boolean result     true if successful"}},
      {"supervisor.clearAllProcessLogs", {{"array"}, 0, "Clear all process log files\n\n@return array result      An array of process status info structs"}},
      {"supervisor.clearLog", {{"boolean"}, 0, "Clear the main log.\n\n@return boolean result always returns True unless error"}},
      {"supervisor.clearProcessLog", {{"boolean", "string"}, 1, "Clear the stdout and stderr logs for the named process and\nreopen them.\n\n@param string name   The name of the process (or 'group:name')\n@return boolean result      Always True unless error"}},
      {"supervisor.clearProcessLogs", {{"boolean", "string"}, 1, "Clear the stdout and stderr logs for the named process and\nreopen them.\n\n@param string name   The name of the process (or 'group:name')\n@return boolean result      Always True unless error"}},
      {"supervisor.getAPIVersion", {{"string"}, 0, "Return the version of the RPC API used by supervisord\n\n@return string version id"}},
      {"supervisor.getAllConfigInfo", {{"array"}, 0, "Get info about all available process configurations. Each struct\nrepresents a single process (i.e. groups get flattened).\n\n@return array result  An array of process config info structs"}},
      {"supervisor.getAllProcessInfo", {{"array"}, 0, "Get info about all processes\n\n@return array result  An array of process status results"}},
      {"supervisor.getIdentification", {{"string"}, 0, "Return identifying string of supervisord\n\n@return string identifier identifying string"}},
      {"supervisor.getPID", {{"int"}, 0, "Return the PID of supervisord\n\n@return int PID"}},
      {"supervisor.getProcessInfo", {{"struct", "string"}, 1, "Get info about a process named name\n\n@param string name The name of the process (or 'group:name')\n@return struct result     A structure containing data about the process"}},
      {"supervisor.getState", {{"struct"}, 0, "Return current state of supervisord as a struct\n\n@return struct A struct with keys int statecode, string statename"}},
      {"supervisor.getSupervisorVersion", {{"string"}, 0, "Return the version of the supervisor package in use by supervisord\n\n@return string version version id"}},
      {"supervisor.getVersion", {{"string"}, 0, "Return the version of the RPC API used by supervisord\n\nThis method name is deprecated; use getAPIVersion.\n\n@return string version id"}},
      {"supervisor.readLog", {{"string", "int", "int"}, 2, "Read length bytes from the main log starting at offset\n\n@param int offset         offset to start reading from.\n@param int length         number of bytes to read from the log.\n@return string result     Bytes of log"}},
      {"supervisor.readMainLog", {{"string", "int", "int"}, 2, "Read length bytes from the main log starting at offset\n\n@param int offset         offset to start reading from.\n@param int length         number of bytes to read from the log.\n@return string result     Bytes of log"}},
      {"supervisor.readProcessLog", {{"string", "string", "int", "int"}, 3, "Read length bytes from name's stdout log starting at offset\n\n@param string name        the name of the process (or 'group:name')\n@param int offset         offset to start reading from.\n@param int length         number of bytes to read from the log.\n@return string result     Bytes of log"}},
      {"supervisor.readProcessStderrLog", {{"string", "string", "int", "int"}, 3, "Read length bytes from name's stderr log starting at offset\n\n@param string name        the name of the process (or 'group:name')\n@param int offset         offset to start reading from.\n@param int length         number of bytes to read from the log.\n@return string result     Bytes of log"}},
      {"supervisor.readProcessStdoutLog", {{"string", "string", "int", "int"}, 3, "Read length bytes from name's stdout log starting at offset\n\n@param string name        the name of the process (or 'group:name')\n@param int offset         offset to start reading from.\n@param int length         number of bytes to read from the log.\n@return string result     Bytes of log"}},
      {"supervisor.reloadConfig", {{"array"}, 0, "Reload the configuration.\n\nThe result contains three arrays containing names of process\ngroups:\n\n* `added` gives the process groups that have been added\n* `changed` gives the process groups whose contents have\n  changed\n* `removed` gives the process groups that are no longer\n  in the configuration\n\n@return array result  [[added, changed, removed]]"}},
      {"supervisor.removeProcessGroup", {{"boolean", "string"}, 1, "Remove a stopped process from the active configuration.\n\n@param string name         name of process group to remove\n@return boolean result     Indicates whether the removal was successful"}},
      {"supervisor.restart", {{"boolean"}, 0, "Restart the supervisor process\n\n@return boolean result  always return True unless error"}},
      {"supervisor.sendProcessStdin", {{"boolean", "string", "string"}, 2, "Send a string of chars to the stdin of the process name.\nIf non-7-bit data is sent (unicode), it is encoded to utf-8\nbefore being sent to the process' stdin.  If chars is not a\nstring or is not unicode, raise INCORRECT_PARAMETERS.  If the\nprocess is not running, raise NOT_RUNNING.  If the process'\nstdin cannot accept input (e.g. it was closed by the child\nprocess), raise NO_FILE.\n\n@param string name        The process name to send to (or 'group:name')\n@param string chars       The character data to send to the process\n@return boolean result    Always return True unless error"}},
      {"supervisor.sendRemoteCommEvent", {{"boolean", "string", "string"}, 2, "Send an event that will be received by event listener\nsubprocesses subscribing to the RemoteCommunicationEvent.\n\n@param  string  type  String for the \"type\" key in the event header\n@param  string  data  Data for the event body\n@return boolean       Always return True unless error"}},
      {"supervisor.shutdown", {{"boolean"}, 0, "Shut down the supervisor process\n\n@return boolean result always returns True unless error"}},
      {"supervisor.signalAllProcesses", {{"array", "string"}, 1, "Send a signal to all processes in the process list\n\n@param string signal    Signal to send, as name ('HUP') or number ('1')\n@return array          An array of process status info structs"}},
      {"supervisor.signalProcess", {{"boolean", "string", "string"}, 2, "Send an arbitrary UNIX signal to the process named by name\n\n@param string name    Name of the process to signal (or 'group:name')\n@param string signal  Signal to send, as name ('HUP') or number ('1')\n@return boolean"}},
      {"supervisor.signalProcessGroup", {{"array", "string", "string"}, 2, "Send a signal to all processes in the group named 'name'\n\n@param string name    The group name\n@param string signal  Signal to send, as name ('HUP') or number ('1')\n@return array"}},
      {"supervisor.startAllProcesses", {{"array", "boolean"}, 0, "Start all processes listed in the configuration file\n\n@param boolean wait    Wait for each process to be fully started\n@return array result   An array of process status info structs"}},
      {"supervisor.startProcess", {{"boolean", "string", "boolean"}, 1, "Start a process\n\n@param string name Process name (or ``group:name``, or ``group:*``)\n@param boolean wait Wait for process to be fully started\n@return boolean result     Always true unless error"}},
      {"supervisor.startProcessGroup", {{"array", "string", "boolean"}, 1, "Start all processes in the group named 'name'\n\n@param string name     The group name\n@param boolean wait    Wait for each process to be fully started\n@return array result   An array of process status info structs"}},
      {"supervisor.stopAllProcesses", {{"array", "boolean"}, 0, "Stop all processes in the process list\n\n@param  boolean wait   Wait for each process to be fully stopped\n@return array result   An array of process status info structs"}},
      {"supervisor.stopProcess", {{"boolean", "string", "boolean"}, 1, "Stop a process named by name\n\n@param string name  The name of the process to stop (or 'group:name')\n@param boolean wait        Wait for the process to be fully stopped\n@return boolean result     Always return True unless error"}},
      {"supervisor.stopProcessGroup", {{"array", "string", "boolean"}, 1, "Stop all processes in the process group named 'name'\n\n@param string name     The group name\n@param boolean wait    Wait for each process to be fully stopped\n@return array result   An array of process status info structs"}},
      {"supervisor.rollingRestart", {{"array", "string"}, 1, "Restart processes one at a time: stop one, start it again and wait\nuntil it is RUNNING (startsecs) before stopping the next. A process\nthat fails to become RUNNING stops the roll; the rest keep running.\n(Beyond supervisord.)\n\n@param string name   'name', 'group:name', 'group:*' or 'all'\n@return array result  An array of process status info structs"}},
      {"supervisor.tailProcessLog", {{"array", "string", "int", "int"}, 3, "Provides a more efficient way to tail the (stdout) log than\nreadProcessStdoutLog().  Use readProcessStdoutLog() to read\nchunks and tailProcessStdoutLog() to tail.\n\n@param string name         the name of the process (or 'group:name')\n@param int offset          offset to start reading from\n@param int length          maximum number of bytes to return\n@return array result       [string bytes, int offset, bool overflow]"}},
      {"supervisor.tailProcessStderrLog", {{"array", "string", "int", "int"}, 3, "Provides a more efficient way to tail the (stderr) log than\nreadProcessStderrLog().\n\n@param string name         the name of the process (or 'group:name')\n@param int offset          offset to start reading from\n@param int length          maximum number of bytes to return\n@return array result       [string bytes, int offset, bool overflow]"}},
      {"supervisor.tailProcessStdoutLog", {{"array", "string", "int", "int"}, 3, "Provides a more efficient way to tail the (stdout) log than\nreadProcessStdoutLog().\n\n@param string name         the name of the process (or 'group:name')\n@param int offset          offset to start reading from\n@param int length          maximum number of bytes to return\n@return array result       [string bytes, int offset, bool overflow]"}},
      {"system.listMethods", {{"array"}, 0, "Return an array listing the available method names\n\n@return array result  An array of method names available (strings)."}},
      {"system.methodHelp", {{"string", "string"}, 1, "Return a string showing the method's documentation\n\n@param string name   The name of the method.\n@return string result The documentation for the method name."}},
      {"system.methodSignature", {{"array", "string"}, 1, "Return an array describing the method signature in the\nform [rtype, ptype, ptype...] where rtype is the return data type\nof the method, and ptypes are the parameter data types that the\nmethod accepts in method argument order.\n\n@param string name  The name of the method.\n@return array result  The result."}},
      {"system.multicall", {{"array", "array"}, 1, "Process an array of calls, and return an array of\nresults. Calls should be structs of the form {'methodName':\nstring, 'params': array}. Each result will either be a\nsingle-item array containing the result value, or a struct of\nthe form {'faultCode': int, 'faultString': string}. This is\nuseful when you need to make lots of small calls without lots\nof round trips.\n\n@param array calls  An array of call requests\n@return array result  An array of results"}},
  };
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------
// The method bodies. Each runs to completion or returns a Deferred.

class ApiImpl {
 public:
  ApiImpl(Supervisor& sup, DaemonControl& daemon) : sup_(sup), d_(daemon) {}
  Api::Result dispatch(const std::string& method, const Array& params);

 private:
  using Res = Api::Result;
  using Outcome = Api::Outcome;
  using Deferred = Api::Deferred;

  void update() {
    if (sup_.mood() != SupervisorState::Running) fail(Fault::ShutdownState);
  }
  // supervisord's _getGroupAndProcess.
  std::pair<ProcessGroup*, Process*> group_and_process(const std::string& name) {
    auto [g, p] = split_namespec(name);
    ProcessGroup* group = sup_.find_group(g);
    if (!group) fail(Fault::BadName, name);
    if (!p) return {group, nullptr};
    Process* proc = group->find(*p);
    if (!proc) fail(Fault::BadName, name);
    return {group, proc};
  }
  Process* find(const std::string& namespec) {
    auto [g, p] = split_namespec(namespec);
    ProcessGroup* group = sup_.find_group(g);
    return group && p ? group->find(*p) : nullptr;
  }
  std::vector<Process*> all_by_priority() {
    std::vector<Process*> out;
    for (const auto& g : sup_.groups())
      for (const auto& p : g->processes()) out.push_back(p.get());
    return out;
  }
  std::vector<Process*> group_processes(ProcessGroup* g) {
    std::vector<Process*> out;
    for (const auto& p : g->processes()) out.push_back(p.get());
    return out;
  }

  Res start_process(const std::string& name, bool wait);
  Res stop_process(const std::string& name, bool wait);
  Res signal_process(const std::string& name, const std::string& sig);
  Res rolling_restart(const std::string& name);
  Res clear_process_logs(const std::string& name);
  // supervisord's make_allfunc: run func for each process matching pred;
  // collect per-process result structs, waiting for deferred ones.
  Res for_all(std::vector<Process*> procs, const std::function<bool(const Process&)>& pred,
              const std::function<Res(const std::string&)>& func);
  Res multicall(const Array& calls);
  Value read_log_result(const std::string& path, const Params& ps, size_t first);

  // getAllConfigInfo shows an AUTO log as its generated path only for the
  // configurations running groups were made from: supervisord resolves AUTO
  // when it instantiates a group (start-up, addProcessGroup), and a reread
  // replaces every configuration by a fresh, unresolved one.
  static std::string log_key(const std::string& group, const std::string& name, int channel) {
    return group + '\0' + name + '\0' + std::to_string(channel);
  }
  void remember_log_paths(const std::string& group_name) {
    if (ProcessGroup* g = sup_.find_group(group_name))
      for (const auto& p : g->processes()) {
        resolved_[log_key(group_name, p->name(), 0)] = log_path(p->stdout_log());
        resolved_[log_key(group_name, p->name(), 1)] = log_path(p->stderr_log());
      }
  }
  Value config_info();

  Supervisor& sup_;
  DaemonControl& d_;
  bool reread_ = false;                          // a reloadConfig replaced the start-up configuration
  std::map<std::string, std::string> resolved_;  // log_key -> path ("" for none)
};

Value ApiImpl::read_log_result(const std::string& path, const Params& ps, size_t first) {
  std::int64_t offset = ps.integer(first), length = ps.integer(first + 1);
  if (path.empty()) fail(Fault::NoFile);  // supervisord: RPCError(NO_FILE, None)
  logging::ReadResult r = logging::read_log(path, offset, length);
  switch (r.error) {
    case logging::ReadErrorKind::None: return logging::utf8_sanitize(r.data);
    case logging::ReadErrorKind::BadArguments: fail(Fault::BadArguments);
    case logging::ReadErrorKind::NoFile: fail(Fault::NoFile, path);
    case logging::ReadErrorKind::Failed: fail(Fault::Failed);
  }
  fail(Fault::Failed);
}

Api::Result ApiImpl::start_process(const std::string& name, bool wait) {
  update();
  auto [group, process] = group_and_process(name);
  if (!process) {
    // "group:*": startProcessGroup.
    update();
    std::vector<Process*> procs = group_processes(group);
    return for_all(procs, [](const Process& p) { return !is_running_state(p.state()); },
                   [this, wait](const std::string& n) { return start_process(n, wait); });
  }
  Process::CommandCheck check = process->check_command();
  if (check.kind == Process::CommandCheck::Kind::NotFound) fail(Fault::NoFile, check.message);
  if (check.kind != Process::CommandCheck::Kind::Ok) fail(Fault::NotExecutable, check.message);
  if (is_running_state(process->state())) fail(Fault::AlreadyStarted, name);
  if (process->state() == ProcessState::Unknown)
    fail(Fault::Failed, name + " is in an unknown process state");
  log::info("start requested: {} (via XML-RPC)", process->namespec());
  // depends_on=: a process whose dependencies are not RUNNING starts them
  // and waits for them (or fails when one of them enters FATAL).
  if (sup_.request_start(*process)) {
    if (!process->spawnerr().empty() && process->state() == ProcessState::Backoff)
      fail(Fault::SpawnError, name);
    // As supervisord does: a transition now makes a startsecs=0 process
    // RUNNING before the reply (and startProcessGroup reports it at once).
    process->transition();
  }
  if (!wait || process->state() == ProcessState::Running) return Value(true);
  // Look the process up again on each check: it may be removed meanwhile.
  std::string n = name;
  return Deferred([this, n]() -> std::optional<Outcome> {
    Process* proc = find(n);
    if (!proc) return Outcome(make_fault(Fault::AbnormalTermination, n));
    if (sup_.is_waiting(*proc)) return std::nullopt;  // for its dependencies
    if (!proc->spawnerr().empty()) return Outcome(make_fault(Fault::SpawnError, n));
    ProcessState st = proc->state();
    if (st != ProcessState::Starting && st != ProcessState::Running)
      return Outcome(make_fault(Fault::AbnormalTermination, n));
    if (st == ProcessState::Running) return Outcome(Value(true));
    return std::nullopt;
  });
}

Api::Result ApiImpl::stop_process(const std::string& name, bool wait) {
  update();
  auto [group, process] = group_and_process(name);
  if (!process) {
    update();
    return for_all(group_processes(group),
                   [](const Process& p) { return is_running_state(p.state()) || p.restart_pending(); },
                   [this, wait](const std::string& n) { return stop_process(n, wait); });
  }
  if (process->restart_pending()) {
    // Issue 5: EXITED while waiting for restart_delay; stopping cancels the restart.
    process->cancel_restart("stop requested via XML-RPC");
    return Value(true);
  }
  if (!is_running_state(process->state())) fail(Fault::NotRunning, name);
  std::string msg = process->stop("stop requested via XML-RPC");
  if (!msg.empty()) fail(Fault::Failed, msg);
  if (!wait || is_stopped_state(process->state())) return Value(true);
  std::string n = name;
  return Deferred([this, n]() -> std::optional<Outcome> {
    Process* proc = find(n);
    if (!proc || is_stopped_state(proc->state())) return Outcome(Value(true));
    return std::nullopt;
  });
}

// One process at a time: stop, start, wait for RUNNING, next. Driven by the
// Api's re-check of pending calls on every state change.
Api::Result ApiImpl::rolling_restart(const std::string& name) {
  update();
  std::vector<Process*> targets;
  if (name == "all") {
    targets = all_by_priority();
  } else {
    auto [group, process] = group_and_process(name);
    if (process)
      targets.push_back(process);
    else
      targets = group_processes(group);
  }
  enum class Phase { Idle, Stopping, Starting };
  struct Roll {
    std::deque<std::pair<std::string, std::string>> queue;  // (group, name)
    std::pair<std::string, std::string> current;
    Phase phase = Phase::Idle;
    Array results;
  };
  auto roll = std::make_shared<Roll>();
  for (Process* p : targets) roll->queue.emplace_back(p->group(), p->name());
  log::info("rolling restart of {} requested (via XML-RPC)", name);

  Deferred step = [this, roll]() -> std::optional<Outcome> {
    auto entry = [&](const std::pair<std::string, std::string>& gn, int status, const std::string& desc) {
      Struct s;
      s.emplace_back("name", gn.second);
      s.emplace_back("group", gn.first);
      s.emplace_back("status", status);
      s.emplace_back("description", desc);
      roll->results.push_back(Value(std::move(s)));
    };
    // The current process failed: the others are left as they are.
    auto abort = [&](Fault f, const std::string& why) -> std::optional<Outcome> {
      const std::string spec = roll->current.first + ":" + roll->current.second;
      entry(roll->current, static_cast<int>(f), why);
      log::warn("rolling restart stopped at {}: {}", spec, why);
      for (const auto& gn : roll->queue)
        entry(gn, static_cast<int>(Fault::Failed), "not restarted: the roll stopped at " + spec);
      roll->queue.clear();
      return Outcome(Value(roll->results));
    };
    for (;;) {
      if (sup_.mood() != SupervisorState::Running) return Outcome(make_fault(Fault::ShutdownState));
      const std::string spec = roll->current.first + ":" + roll->current.second;
      if (roll->phase == Phase::Idle) {
        if (roll->queue.empty()) return Outcome(Value(roll->results));
        roll->current = roll->queue.front();
        roll->queue.pop_front();
        const std::string next = roll->current.first + ":" + roll->current.second;
        Process* p = find(next);
        if (!p) {
          entry(roll->current, static_cast<int>(Fault::BadName), fault_name(Fault::BadName));
          continue;
        }
        roll->phase = Phase::Stopping;
        if (is_running_state(p->state())) {
          log::info("rolling restart: stopping {}", next);
          std::string msg = p->stop("rolling restart");
          if (!msg.empty()) return abort(Fault::Failed, msg);
        }
        continue;
      }
      Process* p = find(spec);
      if (!p) return abort(Fault::AbnormalTermination, "removed during the rolling restart");
      if (roll->phase == Phase::Stopping) {
        if (!is_stopped_state(p->state()) && p->state() != ProcessState::Backoff) return std::nullopt;
        if (p->state() == ProcessState::Unknown) return abort(Fault::Failed, "in an unknown process state");
        Process::CommandCheck check = p->check_command();
        if (check.kind == Process::CommandCheck::Kind::NotFound) return abort(Fault::NoFile, check.message);
        if (check.kind != Process::CommandCheck::Kind::Ok) return abort(Fault::NotExecutable, check.message);
        log::info("rolling restart: starting {}", spec);
        p->spawn();
        roll->phase = Phase::Starting;
        continue;
      }
      // Phase::Starting: ready means RUNNING (startsecs passed).
      ProcessState st = p->state();
      if (st == ProcessState::Running) {
        entry(roll->current, static_cast<int>(Fault::Success), "OK");
        roll->phase = Phase::Idle;
        continue;
      }
      if (!p->spawnerr().empty()) return abort(Fault::SpawnError, p->spawnerr());
      if (st != ProcessState::Starting) return abort(Fault::AbnormalTermination, std::string(to_string(st)));
      return std::nullopt;
    }
  };
  // The first step runs now: an empty or instantly finished roll is answered at once.
  if (auto done = step()) {
    if (auto* v = std::get_if<Value>(&*done)) return *v;
    return std::get<xmlrpc::Fault>(*done);
  }
  return step;
}

Api::Result ApiImpl::signal_process(const std::string& name, const std::string& sig) {
  update();
  auto [group, process] = group_and_process(name);
  if (!process) {
    update();
    return for_all(group_processes(group), [](const Process& p) { return is_signallable_state(p.state()); },
                   [this, sig](const std::string& n) { return signal_process(n, sig); });
  }
  Result<int> signum = config::parse_signal(sig);
  if (!signum) fail(Fault::BadSignal, sig);
  if (!is_signallable_state(process->state())) fail(Fault::NotRunning, name);
  std::string msg = process->signal(*signum);
  if (!msg.empty()) fail(Fault::Failed, msg);
  return Value(true);
}

Api::Result ApiImpl::clear_process_logs(const std::string& name) {
  update();
  auto [group, process] = group_and_process(name);
  (void)group;
  if (!process) fail(Fault::BadName, name);
  bool ok = true;
  for (logging::ChannelLog* l : {process->stdout_log(), process->stderr_log()})
    if (l && !l->path().empty() && !l->clear()) ok = false;
  if (!ok) fail(Fault::Failed, name);
  log::info("cleared logs: {} (via XML-RPC)", process->namespec());
  return Value(true);
}

Api::Result ApiImpl::for_all(std::vector<Process*> procs, const std::function<bool(const Process&)>& pred,
                             const std::function<Res(const std::string&)>& func) {
  struct Waiting {
    std::string group, name;
    Deferred check;
    std::optional<Outcome> done;
  };
  auto results = std::make_shared<Array>();
  auto waiting = std::make_shared<std::vector<Waiting>>();
  for (Process* p : procs) {
    if (!pred(*p)) continue;
    std::string spec = make_namespec(p->group(), p->name());
    auto entry = [&](int status, const std::string& desc) {
      Struct s;
      s.emplace_back("name", p->name());
      s.emplace_back("group", p->group());
      s.emplace_back("status", status);
      s.emplace_back("description", desc);
      results->push_back(Value(std::move(s)));
    };
    try {
      Res r = func(spec);
      if (auto* d = std::get_if<Deferred>(&r)) {
        waiting->push_back({p->group(), p->name(), std::move(*d), std::nullopt});
      } else if (auto* f = std::get_if<xmlrpc::Fault>(&r)) {
        entry(f->code, f->message);
      } else {
        entry(static_cast<int>(Fault::Success), "OK");
      }
    } catch (const RpcError& e) {
      entry(e.fault.code, e.fault.message);
    }
  }
  // Deferred entries are reported in process order once all are done, which
  // is the order supervisord's polling produces when they finish together.
  Deferred all = [results, waiting]() -> std::optional<Outcome> {
    bool pending = false;
    for (auto& w : *waiting) {
      if (!w.done) w.done = w.check();
      if (!w.done) pending = true;
    }
    if (pending) return std::nullopt;
    for (auto& w : *waiting) {
      Struct s;
      s.emplace_back("name", w.name);
      s.emplace_back("group", w.group);
      if (auto* f = std::get_if<xmlrpc::Fault>(&*w.done)) {
        s.emplace_back("status", f->code);
        s.emplace_back("description", f->message);
      } else {
        s.emplace_back("status", static_cast<int>(Fault::Success));
        s.emplace_back("description", "OK");
      }
      results->push_back(Value(std::move(s)));
    }
    waiting->clear();
    return Outcome(Value(*results));
  };
  if (waiting->empty()) return Value(*results);
  if (auto done = all()) {
    if (auto* v = std::get_if<Value>(&*done)) return *v;
  }
  return all;
}

// The argument list of one multicall entry. supervisord calls
// func(*params): a missing list is empty, a string spreads into its
// characters, a struct into its keys, and a scalar is a TypeError
// (INCORRECT_PARAMETERS, nullopt here).
namespace {
std::optional<Array> multicall_params(const Value* params) {
  if (!params) return Array{};
  switch (params->type()) {
    case Value::Type::Array: return params->as_array();
    case Value::Type::Struct: {
      Array keys;
      for (const auto& [k, _] : params->as_struct()) keys.push_back(k);
      return keys;
    }
    case Value::Type::String:
    case Value::Type::Binary: {
      const std::string& s = params->is_string() ? params->as_string() : params->as_binary().bytes;
      Array chars;
      for (size_t i = 0; i < s.size();) {
        // One code point (UTF-8 sequence) per argument.
        size_t n = 1;
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0xf0) n = 4;
        else if (c >= 0xe0) n = 3;
        else if (c >= 0xc0) n = 2;
        chars.push_back(s.substr(i, n));
        i += n;
      }
      return chars;
    }
    default: return std::nullopt;
  }
}
}  // namespace

Api::Result ApiImpl::multicall(const Array& calls) {
  auto remaining = std::make_shared<std::vector<Value>>(calls.begin(), calls.end());
  auto results = std::make_shared<Array>();
  auto current = std::make_shared<Deferred>();
  auto as_value = [](const Outcome& o) -> Value {
    if (auto* f = std::get_if<xmlrpc::Fault>(&o)) {
      Struct s;
      s.emplace_back("faultCode", f->code);
      s.emplace_back("faultString", f->message);
      return s;
    }
    return std::get<Value>(o);
  };
  Deferred multi = [this, remaining, results, current, as_value]() -> std::optional<Outcome> {
    if (*current) {
      std::optional<Outcome> o = (*current)();
      if (!o) return std::nullopt;
      results->push_back(as_value(*o));
      *current = nullptr;
    }
    while (!*current && !remaining->empty()) {
      Value call = std::move(remaining->front());
      remaining->erase(remaining->begin());
      Outcome value;
      const Value* name = call.find("methodName");
      const Value* params = call.find("params");
      if (!name || !name->is_string()) {
        value = make_fault(Fault::IncorrectParameters, "No methodName");
      } else if (name->as_string() == "system.multicall") {
        value = make_fault(Fault::IncorrectParameters, "Recursive system.multicall forbidden");
      } else if (auto ps = multicall_params(params)) {
        Res r = dispatch(name->as_string(), *ps);
        if (auto* d = std::get_if<Deferred>(&r)) {
          *current = std::move(*d);
          continue;
        }
        if (auto* f = std::get_if<xmlrpc::Fault>(&r))
          value = *f;
        else
          value = std::get<Value>(r);
      } else {
        value = make_fault(Fault::IncorrectParameters);
      }
      results->push_back(as_value(value));
    }
    if (*current || !remaining->empty()) return std::nullopt;
    return Outcome(Value(*results));
  };
  if (auto done = multi()) {
    if (auto* v = std::get_if<Value>(&*done)) return *v;
  }
  return multi;
}

Value ApiImpl::config_info() {
  std::vector<std::pair<std::string, Struct>> rows;
  // Every configured process, active or not; inuse tells whether its group
  // is active.
  for (const auto& shared : sup_.configured()) {
    const config::GroupConfig& gc = *shared;
    const ProcessGroup* group = sup_.find_group(gc.name);
    for (const auto& pc : gc.processes) {
      const Process* active = group ? group->find(pc.name) : nullptr;
      auto logfile = [&](const config::LogTarget& t, int channel) -> std::string {
        if (auto it = resolved_.find(log_key(gc.name, pc.name, channel)); it != resolved_.end() && !it->second.empty())
          return it->second;
        if (!reread_ && active) {
          std::string path = log_path(channel == 0 ? active->stdout_log() : active->stderr_log());
          if (!path.empty()) return path;
        }
        switch (t.kind) {
          case config::LogTarget::Kind::Auto: return "auto";
          case config::LogTarget::Kind::File: return t.path;
          case config::LogTarget::Kind::None:
          case config::LogTarget::Kind::Syslog: return "none";
        }
        return "none";
      };
      Struct s;
      s.emplace_back("autostart", pc.autostart);
      s.emplace_back("directory", pc.directory.empty() ? std::string("none") : pc.directory);
      s.emplace_back("uid", pc.uid ? Value(static_cast<long long>(*pc.uid)) : Value("none"));
      s.emplace_back("command", pc.command);
      s.emplace_back("exitcodes", int_array(pc.exitcodes));
      s.emplace_back("group", gc.name);
      s.emplace_back("group_prio", gc.priority);
      s.emplace_back("inuse", group != nullptr);
      s.emplace_back("killasgroup", pc.killasgroup);
      s.emplace_back("name", pc.name);
      s.emplace_back("process_prio", pc.priority);
      s.emplace_back("redirect_stderr", pc.redirect_stderr);
      s.emplace_back("startretries", pc.startretries);
      s.emplace_back("startsecs", pc.startsecs);
      for (int ch = 0; ch < 2; ++ch) {
        const config::LogTarget& t = ch == 0 ? pc.stdout_log : pc.stderr_log;
        std::string pre = ch == 0 ? "stdout_" : "stderr_";
        std::string lf = (ch == 1 && pc.redirect_stderr) ? std::string("none") : logfile(t, ch);
        if (ch == 1) {
          s.emplace_back("stopsignal", pc.stopsignal);
          s.emplace_back("stopwaitsecs", pc.stopwaitsecs);
        }
        s.emplace_back(pre + "capture_maxbytes", Value(static_cast<long long>(t.capture_maxbytes)));
        s.emplace_back(pre + "events_enabled", t.events_enabled);
        s.emplace_back(pre + "logfile", lf);
        s.emplace_back(pre + "logfile_backups", t.backups);
        s.emplace_back(pre + "logfile_maxbytes", Value(static_cast<long long>(t.maxbytes)));
        s.emplace_back(pre + "syslog", t.syslog);
      }
      s.emplace_back("serverurl", pc.serverurl == "AUTO" ? std::string("none") : pc.serverurl);
      rows.emplace_back(pc.name, std::move(s));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Array out;
  for (auto& r : rows) out.push_back(Value(std::move(r.second)));
  return Value(std::move(out));
}

Api::Result ApiImpl::dispatch(const std::string& method, const Array& params) {
  try {
    // supervisord's traverse(): exactly "namespace.method", no leading underscore.
    auto dot = method.find('.');
    if (dot == std::string::npos || method.find('.', dot + 1) != std::string::npos ||
        (method.size() > dot + 1 && method[dot + 1] == '_'))
      fail(Fault::UnknownMethod);
    const auto& table = method_table();
    auto it = table.find(method);
    if (it == table.end()) fail(Fault::UnknownMethod);
    const MethodInfo& info = it->second;
    if (params.size() < info.min_args || params.size() > info.signature.size() - 1)
      fail(Fault::IncorrectParameters);
    Params ps{params};
    const std::string m = method.substr(dot + 1);
    const bool sys = method[0] == 's' && method.rfind("system.", 0) == 0;

    if (sys) {
      if (m == "listMethods") {
        Array names;
        for (const auto& [n, _] : table) names.push_back(n);
        return Value(std::move(names));
      }
      if (m == "methodHelp" || m == "methodSignature") {
        std::string name = ps.str(0);
        auto mi = table.find(name);
        if (mi == table.end()) fail(Fault::SignatureUnsupported);
        if (m == "methodHelp") return Value(std::string(mi->second.help));
        Array sig;
        for (const auto& t : mi->second.signature) sig.push_back(t);
        return Value(std::move(sig));
      }
      if (m == "multicall") {
        // supervisord iterates its argument: an empty string or struct is an
        // empty list of calls; a non-empty one (whose items are no calls)
        // and a scalar are refused.
        const Value& calls = params[0];
        if ((calls.is_string() && calls.as_string().empty()) || (calls.is_struct() && calls.as_struct().empty()))
          return Value(Array{});
        if (!calls.is_array()) fail(Fault::IncorrectParameters);
        return multicall(calls.as_array());
      }
      fail(Fault::UnknownMethod);
    }

    update();  // every supervisor.* method refuses while shutting down
    if (m == "getAPIVersion" || m == "getVersion") return Value("3.0");
    if (m == "getSupervisorVersion") return Value("4.2.5");
    if (m == "getIdentification") return Value(sup_.config().supervisord.identifier);
    if (m == "getState") {
      Struct s;
      s.emplace_back("statecode", static_cast<int>(sup_.mood()));
      s.emplace_back("statename", std::string(to_string(sup_.mood())));
      return Value(std::move(s));
    }
    if (m == "getPID") return Value(static_cast<int>(d_.daemon_pid()));
    if (m == "readLog" || m == "readMainLog") return read_log_result(d_.main_log_path(), ps, 0);
    if (m == "clearLog") {
      if (d_.main_log_path().empty()) fail(Fault::NoFile);
      if (!d_.clear_main_log()) fail(Fault::Failed);
      return Value(true);
    }
    if (m == "shutdown") {
      d_.request_shutdown("shutdown requested via XML-RPC");
      return Value(true);
    }
    if (m == "restart") {
      d_.request_restart("restart requested via XML-RPC");
      return Value(true);
    }
    if (m == "reloadConfig") {
      Result<config::Config> fresh = d_.reread_config();
      if (!fresh) fail(Fault::CantReread, fresh.error());
      config::ConfigDiff diff = sup_.reload_config(std::move(*fresh));
      reread_ = true;
      resolved_.clear();
      Array added, changed, removed;
      for (const auto& n : diff.added) added.push_back(n);
      for (const auto& n : diff.changed) changed.push_back(n);
      for (const auto& n : diff.removed) removed.push_back(n);
      log::info("configuration reread via XML-RPC: {} added, {} changed, {} removed", diff.added.size(),
                diff.changed.size(), diff.removed.size());
      return Value(Array{Value(Array{Value(std::move(added)), Value(std::move(changed)), Value(std::move(removed))})});
    }
    if (m == "addProcessGroup") {
      std::string name = ps.str(0);
      switch (sup_.add_group(name)) {
        case Supervisor::AddResult::Added:
          remember_log_paths(name);
          return Value(true);
        case Supervisor::AddResult::AlreadyAdded: fail(Fault::AlreadyAdded, name);
        case Supervisor::AddResult::NoSuchGroup: fail(Fault::BadName, name);
      }
    }
    if (m == "removeProcessGroup") {
      std::string name = ps.str(0);
      // The removed group's configuration stays resolved (when it is still
      // the one it was made from).
      if (!reread_ && sup_.find_group(name)) remember_log_paths(name);
      switch (sup_.remove_group(name)) {
        case Supervisor::RemoveResult::Removed: return Value(true);
        case Supervisor::RemoveResult::StillRunning: fail(Fault::StillRunning, name);
        case Supervisor::RemoveResult::NoSuchGroup: fail(Fault::BadName, name);
      }
    }
    if (m == "startProcess") return start_process(ps.str(0), ps.boolean(1, true));
    if (m == "startProcessGroup") {
      std::string name = ps.str(0);
      ProcessGroup* g = sup_.find_group(name);
      if (!g) fail(Fault::BadName, name);
      bool wait = ps.boolean(1, true);
      return for_all(group_processes(g), [](const Process& p) { return !is_running_state(p.state()); },
                     [this, wait](const std::string& n) { return start_process(n, wait); });
    }
    if (m == "startAllProcesses") {
      bool wait = ps.boolean(0, true);
      return for_all(all_by_priority(), [](const Process& p) { return !is_running_state(p.state()); },
                     [this, wait](const std::string& n) { return start_process(n, wait); });
    }
    if (m == "stopProcess") return stop_process(ps.str(0), ps.boolean(1, true));
    if (m == "stopProcessGroup") {
      std::string name = ps.str(0);
      ProcessGroup* g = sup_.find_group(name);
      if (!g) fail(Fault::BadName, name);
      bool wait = ps.boolean(1, true);
      return for_all(group_processes(g), [](const Process& p) { return is_running_state(p.state()); },
                     [this, wait](const std::string& n) { return stop_process(n, wait); });
    }
    if (m == "stopAllProcesses") {
      bool wait = ps.boolean(0, true);
      return for_all(all_by_priority(), [](const Process& p) { return is_running_state(p.state()); },
                     [this, wait](const std::string& n) { return stop_process(n, wait); });
    }
    if (m == "rollingRestart") return rolling_restart(ps.str(0));
    if (m == "signalProcess") return signal_process(ps.str(0), ps.str(1));
    if (m == "signalProcessGroup") {
      std::string name = ps.str(0), sig = ps.str(1);
      ProcessGroup* g = sup_.find_group(name);
      if (!g) fail(Fault::BadName, name);
      return for_all(group_processes(g), [](const Process& p) { return is_signallable_state(p.state()); },
                     [this, sig](const std::string& n) { return signal_process(n, sig); });
    }
    if (m == "signalAllProcesses") {
      std::string sig = ps.str(0);
      return for_all(all_by_priority(), [](const Process& p) { return is_signallable_state(p.state()); },
                     [this, sig](const std::string& n) { return signal_process(n, sig); });
    }
    if (m == "getProcessInfo") {
      auto [g, p] = group_and_process(ps.str(0));
      (void)g;
      if (!p) fail(Fault::BadName, ps.str(0));
      return process_info(*p, sup_.runtime().wall_time());
    }
    if (m == "getAllProcessInfo") {
      Array out;
      double now = sup_.runtime().wall_time();
      std::vector<Process*> all = sup_.all_processes_by_name();
      out.reserve(all.size());
      for (Process* p : all) out.push_back(process_info(*p, now));
      return Value(std::move(out));
    }
    if (m == "getAllConfigInfo") return config_info();
    if (m == "readProcessStdoutLog" || m == "readProcessLog" || m == "readProcessStderrLog") {
      auto [g, p] = group_and_process(ps.str(0));
      (void)g;
      if (!p) fail(Fault::BadName, ps.str(0));
      logging::ChannelLog* l = m == "readProcessStderrLog" ? p->stderr_log() : p->stdout_log();
      return read_log_result(log_path(l), ps, 1);
    }
    if (m == "tailProcessStdoutLog" || m == "tailProcessLog" || m == "tailProcessStderrLog") {
      auto [g, p] = group_and_process(ps.str(0));
      (void)g;
      if (!p) fail(Fault::BadName, ps.str(0));
      std::int64_t offset = ps.integer(1), length = ps.integer(2);
      logging::ChannelLog* l = m == "tailProcessStderrLog" ? p->stderr_log() : p->stdout_log();
      std::string path = log_path(l);
      if (path.empty()) return Value(Array{Value(""), Value(0), Value(false)});
      logging::TailResult t = logging::tail_log(path, offset, length);
      return Value(Array{Value(logging::utf8_sanitize(t.bytes)), Value(static_cast<long long>(t.offset)),
                         Value(t.overflow)});
    }
    if (m == "clearProcessLogs" || m == "clearProcessLog") return clear_process_logs(ps.str(0));
    if (m == "clearAllProcessLogs") {
      return for_all(all_by_priority(), [](const Process&) { return true; },
                     [this](const std::string& n) { return clear_process_logs(n); });
    }
    if (m == "sendProcessStdin") {
      const Value& chars = params[1];
      if (!chars.is_string() && chars.type() != Value::Type::Binary)
        fail(Fault::IncorrectParameters, python_str(chars));
      std::string name = ps.str(0);
      auto [g, p] = group_and_process(name);
      (void)g;
      if (!p) fail(Fault::BadName, name);
      if (!p->pid() || p->state() == ProcessState::Stopping) fail(Fault::NotRunning, name);
      if (!p->write_stdin(chars.is_string() ? chars.as_string() : chars.as_binary().bytes))
        fail(Fault::NoFile, name);
      return Value(true);
    }
    if (m == "sendRemoteCommEvent") {
      std::string type = ps.str(0), data = ps.str(1);
      log::debug("remote communication event: type {} ({} bytes)", type, data.size());
      return Value(true);
    }
    fail(Fault::UnknownMethod);
  } catch (const RpcError& e) {
    return e.fault;
  } catch (const std::out_of_range&) {
    return make_fault(Fault::IncorrectParameters);
  }
}

// ---------------------------------------------------------------------------

Api::Api(Supervisor& sup, DaemonControl& daemon)
    : sup_(sup), daemon_(daemon), impl_(std::make_unique<ApiImpl>(sup, daemon)) {
  listener_ = sup_.subscribe([this](Process&, ProcessState, ProcessState) {
    if (!pending_.empty()) schedule_recheck();
  });
}

Api::~Api() {
  *alive_ = false;
  sup_.unsubscribe(listener_);
}

Api::Result Api::invoke(const std::string& method, const Array& params) {
  // Deferred results refer to impl_, which lives as long as the Api.
  return impl_->dispatch(method, params);
}

std::vector<std::string> Api::method_names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : method_table()) out.push_back(n);
  return out;
}

void Api::call(const xmlrpc::Call& c, Reply reply) {
  Result r = invoke(c.method, c.params);
  xmlrpc::Response resp;
  if (auto* d = std::get_if<Deferred>(&r)) {
    pending_.push_back({std::move(*d), std::move(reply)});
    return;
  }
  if (auto* f = std::get_if<xmlrpc::Fault>(&r)) {
    resp.is_fault = true;
    resp.fault = *f;
  } else {
    resp.value = std::get<xmlrpc::Value>(r);
  }
  reply(resp);
}

void Api::schedule_recheck() {
  if (recheck_posted_) return;
  recheck_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  sup_.runtime().post([this, alive] {
    if (auto a = alive.lock(); !a || !*a) return;
    recheck_posted_ = false;
    recheck_pending();
  });
}

void Api::recheck_pending() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    std::optional<Outcome> o = it->check();
    if (!o) {
      ++it;
      continue;
    }
    xmlrpc::Response resp;
    if (auto* f = std::get_if<xmlrpc::Fault>(&*o)) {
      resp.is_fault = true;
      resp.fault = *f;
    } else {
      resp.value = std::get<xmlrpc::Value>(*o);
    }
    Reply reply = std::move(it->reply);
    it = pending_.erase(it);
    reply(resp);
  }
}

}  // namespace sup::rpc
