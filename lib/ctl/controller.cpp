#include "ctl/controller.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "ctl/format.hpp"
#include "ctl/json.hpp"

namespace sup::ctl {
namespace {

// A transport failure the command does not handle.
struct TransportFailure {
  xmlrpc::TransportError error;
};
// Any other failure supervisorctl reports as "error: <class ...>, ...".
struct PyError {
  std::string line;
};

// Source lines of supervisorctl.py 4.2.5 that raise for unknown result codes
// and read confirmations (they appear in its error messages).
constexpr int kStartResultLine = 761;
constexpr int kSignalResultLine = 835;
constexpr int kClearResultLine = 1260;
constexpr int kUsernamePromptLine = 212;
constexpr int kShutdownPromptLine = 987;
constexpr int kReloadPromptLine = 1027;

std::vector<std::string> strings_of(const xmlrpc::Value& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& e : v.as_array()) out.push_back(py_str(e));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// The scheme urlparse() finds (lower-cased), or "" when there is none.
std::string url_scheme(const std::string& url) {
  std::size_t colon = url.find(':');
  if (colon == std::string::npos || colon == 0 || !std::isalpha(static_cast<unsigned char>(url[0]))) return "";
  std::string scheme = url.substr(0, colon);
  for (auto& c : scheme) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return "";
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return scheme;
}

// A copy, so that `for (x : array_of(call_value(...)))` never dangles.
xmlrpc::Array array_of(const xmlrpc::Value& v) { return v.is_array() ? v.as_array() : xmlrpc::Array{}; }

}  // namespace

struct Controller::Command {
  const char* name;
  Handler handler;
};

Controller::Controller(CtlOptions options, RpcFactory factory, Terminal terminal)
    : options_(std::move(options)), factory_(std::move(factory)), term_(std::move(terminal)) {}

Controller::~Controller() = default;

const std::vector<std::string>& Controller::vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> v = {"help"};
    for (const auto& c : documented_commands()) v.push_back(c);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return words;
}

void Controller::output(const std::string& line) { *term_.out << line << '\n'; }

Rpc& Controller::rpc() {
  if (!rpc_) {
    const bool auth = options_.username.has_value() && options_.password.has_value();
    rpc_ = factory_(options_.serverurl, auth ? *options_.username : std::string(),
                    auth ? *options_.password : std::string());
  }
  return *rpc_;
}

CallResult Controller::call(const std::string& method, xmlrpc::Array params) {
  if (!starts_with(options_.serverurl, "http://") && !starts_with(options_.serverurl, "unix://"))
    throw PyError{bad_url_error_line(options_.serverurl)};
  CallResult r = rpc().call(method, params);
  if (r.kind == CallResult::Kind::Transport) {
    if (r.transport.kind == xmlrpc::TransportError::Kind::Interrupted) throw Interrupted{};
    throw TransportFailure{r.transport};
  }
  return r;
}

xmlrpc::Value Controller::call_value(const std::string& method, xmlrpc::Array params) {
  CallResult r = call(method, std::move(params));
  if (r.kind == CallResult::Kind::Fault) throw PyError{fault_error_line(r.fault)};
  return std::move(r.value);
}

xmlrpc::Array Controller::all_process_info() {
  xmlrpc::Value v = call_value("supervisor.getAllProcessInfo");
  return array_of(v);
}

void Controller::set_exit_from_fault(int code, std::optional<int> ignored) {
  if ((ignored && code == *ignored) || code == fault::kSuccess) return;
  if (code == fault::kSpawnError || code == fault::kAbnormalTermination || code == fault::kNotRunning)
    exit_status_ = exit_code::kNotRunning;
  else
    exit_status_ = exit_code::kGeneric;
}

void Controller::print_help(const std::string& command) {
  if (auto lines = command_help(command))
    for (const auto& l : *lines) output(l);
}

bool Controller::upcheck() {
  CallResult r;
  try {
    r = call("supervisor.getVersion");
  } catch (const TransportFailure& f) {
    using Kind = xmlrpc::TransportError::Kind;
    if (f.error.kind == Kind::Refused) {
      output(options_.serverurl + " refused connection");
      exit_status_ = exit_code::kInsufficientPrivileges;
      return false;
    }
    if (f.error.kind == Kind::NoSuchFile) {
      output(options_.serverurl + " no such file");
      exit_status_ = exit_code::kNotRunning;
      return false;
    }
    if (f.error.kind != Kind::AuthRequired) exit_status_ = exit_code::kGeneric;
    throw;
  }
  if (r.kind == CallResult::Kind::Fault) {
    if (r.fault.code == fault::kUnknownMethod) {
      output(
          "Sorry, supervisord responded but did not recognize the supervisor namespace commands that "
          "supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is "
          "enabled in the configuration file (see sample.conf).");
      exit_status_ = exit_code::kUnimplementedFeature;
      return false;
    }
    exit_status_ = exit_code::kGeneric;
    throw PyError{fault_error_line(r.fault)};
  }
  if (!(r.value.is_string() && r.value.as_string() == "3.0")) {
    output("Sorry, this version of supervisorctl expects to talk to a server with API version 3.0, but the "
           "remote version is " +
           py_str(r.value) + ".");
    exit_status_ = exit_code::kNotInstalled;
    return false;
  }
  return true;
}

bool Controller::run(const std::string& cmd, const std::string& arg) {
  static const Command kCommands[] = {
      {"help", &Controller::do_help},         {"EOF", &Controller::do_eof},
      {"add", &Controller::do_add},           {"avail", &Controller::do_avail},
      {"clear", &Controller::do_clear},       {"exit", &Controller::do_quit},
      {"fg", &Controller::do_fg},             {"maintail", &Controller::do_maintail},
      {"open", &Controller::do_open},         {"pid", &Controller::do_pid},
      {"quit", &Controller::do_quit},         {"reload", &Controller::do_reload},
      {"remove", &Controller::do_remove},     {"reread", &Controller::do_reread},
      {"restart", &Controller::do_restart},   {"shutdown", &Controller::do_shutdown},
      {"signal", &Controller::do_signal},     {"start", &Controller::do_start},
      {"status", &Controller::do_status},     {"stop", &Controller::do_stop},
      {"tail", &Controller::do_tail},         {"update", &Controller::do_update},
      {"version", &Controller::do_version},
  };
  for (const auto& c : kCommands) {
    if (cmd == c.name) {
      quit_ = false;
      (this->*c.handler)(arg);
      return quit_;
    }
  }
  return false;
}

bool Controller::onecmd(const std::string& raw_line) {
  // cmd.Cmd.parseline: '?' means help; the command is the leading run of
  // identifier characters, the argument the stripped rest.
  std::string line(strip(raw_line));
  if (line.empty()) return false;
  if (line[0] == '?') line = "help " + line.substr(1);
  if (line[0] == '!') {
    output("*** Unknown syntax: " + line);
    exit_status_ = exit_code::kGeneric;
    return false;
  }
  std::size_t i = 0;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) ++i;
  const std::string cmd = line.substr(0, i);
  const std::string arg(strip(std::string_view(line).substr(i)));
  complete_info_.reset();
  const bool known = cmd == "EOF" || cmd == "help" || contains(documented_commands(), cmd);
  if (cmd.empty() || !known) {
    output("*** Unknown syntax: " + line);
    exit_status_ = exit_code::kGeneric;
    return false;
  }
  try {
    try {
      return run(cmd, arg);
    } catch (const TransportFailure& f) {
      if (f.error.kind != xmlrpc::TransportError::Kind::AuthRequired) {
        exit_status_ = exit_code::kGeneric;
        throw;
      }
      output("Server requires authentication");
      if (options_.interactive) {
        auto username = term_.read_line("Username:");
        if (!username) throw PyError{eof_error_line(kUsernamePromptLine)};
        auto password = term_.read_secret("Password:");
        output("");
        options_.username = *username;
        options_.password = password.value_or("");
        rpc_.reset();
        return onecmd(line);
      }
      exit_status_ = exit_code::kGeneric;
    }
    // supervisorctl runs the command a second time after reporting a 401 in
    // one-shot mode; that attempt's failure is what ends up printed.
    run(cmd, arg);
  } catch (const TransportFailure& f) {
    output(transport_error_line(f.error, options_.serverurl));
    exit_status_ = exit_code::kGeneric;
  } catch (const PyError& e) {
    output(e.line);
    exit_status_ = exit_code::kGeneric;
  }
  return false;
}

void Controller::do_help(const std::string& arg) {
  if (strip(arg) == "help") {
    print_help("help");
    return;
  }
  if (arg.empty()) {
    for (const auto& l : help_index_lines()) output(l);
    return;
  }
  if (contains(documented_commands(), arg)) {
    print_help(arg);
    return;
  }
  output("*** No help on " + arg);
}

void Controller::do_eof(const std::string&) {
  output("");
  quit_ = true;
}

void Controller::do_quit(const std::string& arg) { do_eof(arg); }

void Controller::do_status(const std::string& arg) {
  if (!upcheck()) {
    exit_status_ = exit_code::kInsufficientPrivileges;  // "unknown" for status
    return;
  }
  xmlrpc::Array infos = all_process_info();
  std::vector<std::string> names = split_words(arg);
  // --json (extension): the matching getProcessInfo structs as a JSON array
  // on stdout, errors on stderr so that stdout stays parseable; same exit status.
  const bool json = std::erase(names, std::string("--json")) > 0;
  std::vector<xmlrpc::Value> matching;
  if (names.empty() || contains(names, "all")) {
    matching.assign(infos.begin(), infos.end());
  } else {
    for (const auto& name : names) {
      auto [group, process] = split_namespec(name);
      bool found = false;
      for (const auto& info : infos) {
        bool match = member_str(info, "group") == group;
        if (process) match = match && member_str(info, "name") == *process;
        if (match) {
          found = true;
          matching.push_back(info);
        }
      }
      if (!found) {
        std::string error = process ? name + ": ERROR (no such process)" : group + ": ERROR (no such group)";
        if (json)
          *term_.err << error << '\n';
        else
          output(error);
        exit_status_ = exit_code::kInsufficientPrivileges;
      }
    }
  }
  if (json)
    output(json_lines_array(matching));
  else
    for (const auto& l : status_lines(matching)) output(l);
  for (const auto& info : matching)
    if (is_stopped_state(member_int(info, "state"))) exit_status_ = exit_code::kUnimplementedFeature;
}

void Controller::do_start(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> names = split_words(arg);
  if (names.empty()) {
    output("Error: start requires a process name");
    exit_status_ = exit_code::kInvalidArgs;
    print_help("start");
    return;
  }
  auto report = [&](const xmlrpc::Value& result) {
    const std::string name = make_namespec(member_str(result, "group"), member_str(result, "name"));
    const int code = static_cast<int>(member_int(result, "status"));
    auto msg = start_result_message(code, name);
    if (!msg) throw PyError{unknown_result_error_line(code, name, kStartResultLine)};
    output(*msg);
    set_exit_from_fault(code, fault::kAlreadyStarted);
  };
  if (contains(names, "all")) {
    for (const auto& r : array_of(call_value("supervisor.startAllProcesses"))) report(r);
    return;
  }
  for (const auto& name : names) {
    auto [group, process] = split_namespec(name);
    if (!process) {
      CallResult r = call("supervisor.startProcessGroup", {group});
      if (r.kind == CallResult::Kind::Fault) {
        if (r.fault.code != fault::kBadName) {
          exit_status_ = exit_code::kGeneric;
          throw PyError{fault_error_line(r.fault)};
        }
        output(group + ": ERROR (no such group)");
        exit_status_ = exit_code::kInvalidArgs;
        continue;
      }
      for (const auto& res : array_of(r.value)) report(res);
      continue;
    }
    CallResult r = call("supervisor.startProcess", {name});
    const std::string spec = make_namespec(group, *process);
    if (r.kind == CallResult::Kind::Fault) {
      auto msg = start_result_message(r.fault.code, spec);
      if (!msg) throw PyError{unknown_result_error_line(r.fault.code, spec, kStartResultLine)};
      output(*msg);
      set_exit_from_fault(r.fault.code, fault::kAlreadyStarted);
    } else {
      output(spec + ": started");
    }
  }
}

void Controller::do_stop(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> names = split_words(arg);
  if (names.empty()) {
    output("Error: stop requires a process name");
    exit_status_ = exit_code::kGeneric;
    print_help("stop");
    return;
  }
  auto report = [&](int code, const std::string& name, const std::string& description) {
    auto msg = signal_result_message(code, name, description, "stopped");
    if (!msg) throw PyError{unknown_result_error_line(code, name, kSignalResultLine)};
    output(*msg);
    set_exit_from_fault(code, fault::kNotRunning);
  };
  auto report_struct = [&](const xmlrpc::Value& res) {
    report(static_cast<int>(member_int(res, "status")),
           make_namespec(member_str(res, "group"), member_str(res, "name")), member_str(res, "description"));
  };
  if (contains(names, "all")) {
    for (const auto& r : array_of(call_value("supervisor.stopAllProcesses"))) report_struct(r);
    return;
  }
  for (const auto& name : names) {
    auto [group, process] = split_namespec(name);
    if (!process) {
      CallResult r = call("supervisor.stopProcessGroup", {group});
      if (r.kind == CallResult::Kind::Fault) {
        exit_status_ = exit_code::kGeneric;
        if (r.fault.code != fault::kBadName) throw PyError{fault_error_line(r.fault)};
        output(group + ": ERROR (no such group)");
        continue;
      }
      for (const auto& res : array_of(r.value)) report_struct(res);
      continue;
    }
    CallResult r = call("supervisor.stopProcess", {name});
    const std::string spec = make_namespec(group, *process);
    if (r.kind == CallResult::Kind::Fault)
      report(r.fault.code, spec, r.fault.message);
    else
      output(spec + ": stopped");
  }
}

void Controller::do_signal(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> args = split_words(arg);
  if (args.size() < 2) {
    output("Error: signal requires a signal name and a process name");
    print_help("signal");
    exit_status_ = exit_code::kGeneric;
    return;
  }
  const std::string sig = args[0];
  std::vector<std::string> names(args.begin() + 1, args.end());
  auto report = [&](int code, const std::string& name, const std::string& description) {
    auto msg = signal_result_message(code, name, description, "signalled");
    if (!msg) throw PyError{unknown_result_error_line(code, name, kSignalResultLine)};
    output(*msg);
    set_exit_from_fault(code);
  };
  auto report_struct = [&](const xmlrpc::Value& res) {
    report(static_cast<int>(member_int(res, "status")),
           make_namespec(member_str(res, "group"), member_str(res, "name")), member_str(res, "description"));
  };
  if (contains(names, "all")) {
    for (const auto& r : array_of(call_value("supervisor.signalAllProcesses", {sig}))) report_struct(r);
    return;
  }
  for (const auto& name : names) {
    auto [group, process] = split_namespec(name);
    if (!process) {
      CallResult r = call("supervisor.signalProcessGroup", {group, sig});
      if (r.kind == CallResult::Kind::Fault) {
        if (r.fault.code != fault::kBadName) throw PyError{fault_error_line(r.fault)};
        output(group + ": ERROR (no such group)");
        exit_status_ = exit_code::kGeneric;
        continue;
      }
      for (const auto& res : array_of(r.value)) report_struct(res);
      continue;
    }
    CallResult r = call("supervisor.signalProcess", {name, sig});
    const std::string spec = make_namespec(group, *process);
    if (r.kind == CallResult::Kind::Fault)
      report(r.fault.code, spec, r.fault.message);
    else
      output(spec + ": signalled");
  }
}

void Controller::do_restart(const std::string& arg) {
  if (!upcheck()) return;
  if (split_words(arg).empty()) {
    output("Error: restart requires a process name");
    exit_status_ = exit_code::kGeneric;
    print_help("restart");
    return;
  }
  std::vector<std::string> words = split_words(arg);
  if (words.front() == "--rolling") {
    words.erase(words.begin());
    do_rolling_restart(words);
    return;
  }
  do_stop(arg);
  do_start(arg);
}

// restart --rolling: supervisor.rollingRestart for each name, one roll after another.
void Controller::do_rolling_restart(const std::vector<std::string>& names) {
  if (names.empty()) {
    output("Error: restart --rolling requires a process name");
    exit_status_ = exit_code::kGeneric;
    print_help("restart");
    return;
  }
  for (const auto& name : names) {
    CallResult r = call("supervisor.rollingRestart", {name});
    if (r.kind == CallResult::Kind::Fault) {
      exit_status_ = exit_code::kGeneric;
      if (r.fault.code != fault::kBadName) throw PyError{fault_error_line(r.fault)};
      auto [group, process] = split_namespec(name);
      output(process ? name + ": ERROR (no such process)" : group + ": ERROR (no such group)");
      continue;
    }
    for (const auto& res : array_of(r.value)) {
      const std::string spec = make_namespec(member_str(res, "group"), member_str(res, "name"));
      if (member_int(res, "status") == fault::kSuccess) {
        output(spec + ": restarted");
      } else {
        output(spec + ": ERROR (" + member_str(res, "description") + ")");
        exit_status_ = exit_code::kGeneric;
      }
    }
  }
}

void Controller::do_pid(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> names = split_words(arg);
  if (names.empty()) {
    output(py_str(call_value("supervisor.getPID")));
    return;
  }
  if (contains(names, "all")) {
    for (const auto& info : all_process_info()) output(member_str(info, "pid"));
    return;
  }
  for (const auto& name : names) {
    CallResult r = call("supervisor.getProcessInfo", {name});
    if (r.kind == CallResult::Kind::Fault) {
      exit_status_ = exit_code::kGeneric;
      if (r.fault.code != fault::kBadName) throw PyError{fault_error_line(r.fault)};
      output("No such process " + name);
      continue;
    }
    output(member_str(r.value, "pid"));
    if (member_int(r.value, "pid") == 0) exit_status_ = exit_code::kNotRunning;
  }
}

void Controller::do_avail(const std::string& arg) {
  const bool json = arg == "--json";  // extension: getAllConfigInfo as a JSON array
  if (!arg.empty() && !json) {
    output("Error: avail accepts no arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("avail");
    return;
  }
  CallResult r = call("supervisor.getAllConfigInfo");
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code != fault::kShutdownState) throw PyError{fault_error_line(r.fault)};
    output("ERROR: supervisor shutting down");
    return;
  }
  if (json) {
    output(json_lines_array(array_of(r.value)));
    return;
  }
  for (const auto& ci : array_of(r.value)) output(avail_line(ci));
}

void Controller::do_reread(const std::string& arg) {
  if (!arg.empty()) {
    output("Error: reread accepts no arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("reread");
    return;
  }
  CallResult r = call("supervisor.reloadConfig");
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code == fault::kShutdownState)
      output("ERROR: supervisor shutting down");
    else if (r.fault.code == fault::kCantReread)
      output("ERROR: " + r.fault.message);
    else
      throw PyError{fault_error_line(r.fault)};
    return;
  }
  const xmlrpc::Array& outer = array_of(r.value);
  const xmlrpc::Array lists = outer.empty() ? xmlrpc::Array{} : array_of(outer[0]);
  auto list = [&](std::size_t i) { return i < lists.size() ? strings_of(lists[i]) : std::vector<std::string>{}; };
  for (const auto& l : reread_lines(list(0), list(1), list(2))) output(l);
}

void Controller::do_add(const std::string& arg) {
  for (const auto& name : split_words(arg)) {
    CallResult r = call("supervisor.addProcessGroup", {name});
    if (r.kind != CallResult::Kind::Fault) {
      output(name + ": added process group");
      continue;
    }
    switch (r.fault.code) {
      case fault::kShutdownState:
        output("ERROR: shutting down");
        exit_status_ = exit_code::kGeneric;
        break;
      case fault::kAlreadyAdded: output("ERROR: process group already active"); break;
      case fault::kBadName:
        output("ERROR: no such process/group: " + name);
        exit_status_ = exit_code::kGeneric;
        break;
      default: exit_status_ = exit_code::kGeneric; throw PyError{fault_error_line(r.fault)};
    }
  }
}

void Controller::do_remove(const std::string& arg) {
  for (const auto& name : split_words(arg)) {
    CallResult r = call("supervisor.removeProcessGroup", {name});
    if (r.kind != CallResult::Kind::Fault) {
      output(name + ": removed process group");
      continue;
    }
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code == fault::kStillRunning)
      output("ERROR: process/group still running: " + name);
    else if (r.fault.code == fault::kBadName)
      output("ERROR: no such process/group: " + name);
    else
      throw PyError{fault_error_line(r.fault)};
  }
}

void Controller::do_update(const std::string& arg) {
  CallResult r = call("supervisor.reloadConfig");
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code == fault::kShutdownState) {
      output("ERROR: already shutting down");
      return;
    }
    throw PyError{fault_error_line(r.fault)};
  }
  const xmlrpc::Array& outer = array_of(r.value);
  const xmlrpc::Array lists = outer.empty() ? xmlrpc::Array{} : array_of(outer[0]);
  auto list = [&](std::size_t i) { return i < lists.size() ? strings_of(lists[i]) : std::vector<std::string>{}; };
  const std::vector<std::string> added = list(0), changed = list(1), removed = list(2);

  // Requested group names, without repeats, in the order given; "all" means every group.
  std::vector<std::string> wanted;
  for (const auto& w : split_words(arg))
    if (!contains(wanted, w)) wanted.push_back(w);
  if (contains(wanted, "all")) wanted.clear();
  if (!wanted.empty()) {
    std::set<std::string> groups(added.begin(), added.end());
    for (const auto& info : all_process_info()) groups.insert(member_str(info, "group"));
    for (const auto& g : wanted) {
      if (!groups.count(g)) {
        output("ERROR: no such group: " + g);
        exit_status_ = exit_code::kGeneric;
      }
    }
  }
  auto selected = [&](const std::string& g) { return wanted.empty() || contains(wanted, g); };
  for (const auto& g : removed) {
    if (!selected(g)) continue;
    xmlrpc::Value results = call_value("supervisor.stopProcessGroup", {g});
    output(g + ": stopped");
    bool failed = false;
    for (const auto& res : array_of(results))
      if (member_int(res, "status") == fault::kFailed) failed = true;
    if (failed) {
      output(g + ": has problems; not removing");
      exit_status_ = exit_code::kGeneric;
      continue;
    }
    call_value("supervisor.removeProcessGroup", {g});
    output(g + ": removed process group");
  }
  for (const auto& g : changed) {
    if (!selected(g)) continue;
    call_value("supervisor.stopProcessGroup", {g});
    output(g + ": stopped");
    call_value("supervisor.removeProcessGroup", {g});
    call_value("supervisor.addProcessGroup", {g});
    output(g + ": updated process group");
  }
  for (const auto& g : added) {
    if (!selected(g)) continue;
    call_value("supervisor.addProcessGroup", {g});
    output(g + ": added process group");
  }
}

void Controller::do_clear(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> names = split_words(arg);
  if (names.empty()) {
    output("Error: clear requires a process name");
    exit_status_ = exit_code::kGeneric;
    print_help("clear");
    return;
  }
  auto report = [&](int code, const std::string& name) {
    auto msg = clear_result_message(code, name);
    if (!msg) throw PyError{unknown_result_error_line(code, name, kClearResultLine)};
    output(*msg);
    set_exit_from_fault(code);
  };
  if (contains(names, "all")) {
    for (const auto& res : array_of(call_value("supervisor.clearAllProcessLogs")))
      report(static_cast<int>(member_int(res, "status")),
             make_namespec(member_str(res, "group"), member_str(res, "name")));
    return;
  }
  for (const auto& name : names) {
    auto [group, process] = split_namespec(name);
    // supervisorctl names a "group:*" argument "group:None" here.
    const std::string spec = make_namespec(group, process.value_or("None"));
    CallResult r = call("supervisor.clearProcessLogs", {name});
    if (r.kind == CallResult::Kind::Fault)
      report(r.fault.code, spec);
    else
      output(spec + ": cleared");
  }
}

void Controller::do_open(const std::string& arg) {
  const std::string url(strip(arg));
  const std::string scheme = url_scheme(url);
  if (scheme != "unix" && scheme != "http") {
    output("ERROR: url must be http:// or unix://");
    exit_status_ = exit_code::kGeneric;
    return;
  }
  options_.serverurl = url;
  rpc_.reset();
  const int saved = exit_status_;
  do_status("");
  exit_status_ = saved;
}

void Controller::do_version(const std::string& arg) {
  if (!arg.empty()) {
    output("Error: version accepts no arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("version");
    return;
  }
  if (!upcheck()) return;
  output(py_str(call_value("supervisor.getSupervisorVersion")));
}

void Controller::do_shutdown(const std::string& arg) {
  if (!arg.empty()) {
    output("Error: shutdown accepts no arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("shutdown");
    return;
  }
  if (options_.interactive) {
    auto answer = term_.read_line("Really shut the remote supervisord process down y/N? ");
    if (!answer) throw PyError{eof_error_line(kShutdownPromptLine)};
    if (answer->empty() || ((*answer)[0] != 'y' && (*answer)[0] != 'Y')) return;
  }
  CallResult r;
  try {
    r = call("supervisor.shutdown");
  } catch (const TransportFailure& f) {
    using Kind = xmlrpc::TransportError::Kind;
    if (f.error.kind == Kind::AuthRequired) throw;
    exit_status_ = exit_code::kGeneric;
    if (f.error.kind == Kind::Refused)
      output("ERROR: " + options_.serverurl + " refused connection (already shut down?)");
    else if (f.error.kind == Kind::NoSuchFile)
      output("ERROR: " + options_.serverurl + " no such file (already shut down?)");
    else
      throw;
    return;
  }
  if (r.kind == CallResult::Kind::Fault) {
    if (r.fault.code == fault::kShutdownState) {
      output("ERROR: already shutting down");
      return;
    }
    exit_status_ = exit_code::kGeneric;
    throw PyError{fault_error_line(r.fault)};
  }
  output("Shut down");
}

void Controller::do_reload(const std::string& arg) {
  if (!arg.empty()) {
    output("Error: reload accepts no arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("reload");
    return;
  }
  if (options_.interactive) {
    auto answer = term_.read_line("Really restart the remote supervisord process y/N? ");
    if (!answer) throw PyError{eof_error_line(kReloadPromptLine)};
    if (answer->empty() || ((*answer)[0] != 'y' && (*answer)[0] != 'Y')) return;
  }
  CallResult r = call("supervisor.restart");
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code != fault::kShutdownState) throw PyError{fault_error_line(r.fault)};
    output("ERROR: already shutting down");
    return;
  }
  output("Restarted supervisord");
}

void Controller::stream(const std::string& path) {
  output("==> Press Ctrl-C to exit <==");
  term_.out->flush();
  xmlrpc::TransportError err;
  auto write = [this](std::string_view data) {
    term_.out->write(data.data(), static_cast<std::streamsize>(data.size()));
    term_.out->flush();
    return true;
  };
  if (!starts_with(options_.serverurl, "http://") && !starts_with(options_.serverurl, "unix://")) {
    *term_.err << options_.serverurl << path << " Cannot connect, error: unsupported URL\n";
    return;
  }
  if (rpc().stream_get(path, write, &err)) return;
  using Kind = xmlrpc::TransportError::Kind;
  if (err.kind == Kind::Interrupted) {
    output("");
    if (term_.clear_interrupt) term_.clear_interrupt();
    return;
  }
  if (err.http_status != 0) {
    *term_.err << options_.serverurl << path << " Cannot read, status code " << err.http_status << "\n";
    return;
  }
  *term_.err << options_.serverurl << path << " Cannot connect, error: " << err.message << "\n";
}

void Controller::do_tail(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> args = split_words(arg);
  if (args.empty() || args.size() > 3) {
    output(args.empty() ? "Error: too few arguments" : "Error: too many arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("tail");
    return;
  }
  std::optional<std::string> modifier;
  if (args[0][0] == '-') {
    modifier = args[0];
    args.erase(args.begin());
  }
  std::string name;
  std::string channel = "stdout";
  if (args.size() == 1) {
    name = args[0];
  } else if (!args.empty()) {
    name = args[0];
    channel = args.back();
    for (auto& c : channel) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (channel != "stderr" && channel != "stdout") {
      output("Error: bad channel " + py_repr(channel));
      exit_status_ = exit_code::kGeneric;
      return;
    }
  } else {
    output("Error: tail requires process name");
    exit_status_ = exit_code::kGeneric;
    return;
  }
  std::int64_t bytes = 1600;
  bool follow = false;
  bool overflow = false;
  if (modifier) {
    const std::string what = modifier->substr(1);
    if (what == "f") {
      follow = true;
    } else {
      PyInt n = py_int(what);
      if (!n.ok) {
        output("Error: bad argument " + *modifier);
        exit_status_ = exit_code::kGeneric;
        return;
      }
      overflow = n.overflow;
      bytes = n.value;
    }
  }
  if (follow) {
    stream("/logtail/" + name + "/" + channel);
    return;
  }
  if (overflow || -bytes < INT32_MIN || -bytes > INT32_MAX) throw PyError{xmlrpc_overflow_error_line()};
  const std::string method = channel == "stdout" ? "supervisor.readProcessStdoutLog" : "supervisor.readProcessStderrLog";
  CallResult r = call(method, {name, static_cast<int>(-bytes), 0});
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code == fault::kNoFile)
      output(name + ": ERROR (no log file)");
    else if (r.fault.code == fault::kFailed)
      output(name + ": ERROR (unknown error reading log)");
    else if (r.fault.code == fault::kBadName)
      output(name + ": ERROR (no such process name)");
    else
      throw PyError{fault_error_line(r.fault)};
    return;
  }
  output(py_str(r.value));
}

void Controller::do_maintail(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> args = split_words(arg);
  std::int64_t bytes = 1600;
  if (args.size() > 1) {
    output("Error: too many arguments");
    exit_status_ = exit_code::kGeneric;
    print_help("maintail");
    return;
  }
  if (args.size() == 1) {
    if (args[0][0] != '-') {
      output("Error: bad argument " + args[0]);
      exit_status_ = exit_code::kGeneric;
      return;
    }
    const std::string what = args[0].substr(1);
    if (what == "f") {
      stream("/mainlogtail");
      return;
    }
    PyInt n = py_int(what);
    if (!n.ok) {
      output("Error: bad argument " + args[0]);
      exit_status_ = exit_code::kGeneric;
      return;
    }
    if (n.overflow) throw PyError{xmlrpc_overflow_error_line()};
    bytes = n.value;
  }
  if (-bytes < INT32_MIN || -bytes > INT32_MAX) throw PyError{xmlrpc_overflow_error_line()};
  CallResult r = call("supervisor.readLog", {static_cast<int>(-bytes), 0});
  if (r.kind == CallResult::Kind::Fault) {
    exit_status_ = exit_code::kGeneric;
    if (r.fault.code == fault::kNoFile)
      output("supervisord: ERROR (no log file)");
    else if (r.fault.code == fault::kFailed)
      output("supervisord: ERROR (unknown error reading log)");
    else
      throw PyError{fault_error_line(r.fault)};
    return;
  }
  output(py_str(r.value));
}

void Controller::do_fg(const std::string& arg) {
  if (!upcheck()) return;
  std::vector<std::string> names = split_words(arg);
  if (names.empty()) {
    output("ERROR: no process name supplied");
    exit_status_ = exit_code::kGeneric;
    print_help("fg");
    return;
  }
  if (names.size() > 1) {
    output("ERROR: too many process names supplied");
    exit_status_ = exit_code::kGeneric;
    return;
  }
  const std::string name = names[0];
  CallResult info = call("supervisor.getProcessInfo", {name});
  if (info.kind == CallResult::Kind::Fault) {
    if (info.fault.code == fault::kBadName) {
      output("ERROR: bad process name supplied");
      exit_status_ = exit_code::kGeneric;
    } else {
      output("ERROR: <Fault " + std::to_string(info.fault.code) + ": " + py_repr(info.fault.message) + ">");
    }
    return;
  }
  if (member_int(info.value, "state") != state::kRunning) {
    output("ERROR: process not running");
    exit_status_ = exit_code::kGeneric;
    return;
  }
  output("==> Press Ctrl-C to exit <==");
  term_.out->flush();

  // Two helper threads copy the process's stdout and stderr logs to our
  // stdout while this thread forwards typed lines to its stdin. They stop
  // when `stop` is set and they are poked with SIGINT (so recv() returns).
  std::atomic<bool> stop{false};
  std::mutex out_mutex;
  auto follow = [&](const std::string& channel) {
    const bool auth = options_.username.has_value() && options_.password.has_value();
    std::unique_ptr<Rpc> conn = make_xmlrpc_rpc(options_.serverurl, auth ? *options_.username : std::string(),
                                                auth ? *options_.password : std::string(),
                                                [&stop] { return stop.load(); });
    xmlrpc::TransportError err;
    conn->stream_get("/logtail/" + name + "/" + channel,
                     [&](std::string_view data) {
                       if (stop.load()) return false;
                       std::lock_guard<std::mutex> lock(out_mutex);
                       term_.out->write(data.data(), static_cast<std::streamsize>(data.size()));
                       term_.out->flush();
                       return true;
                     },
                     &err);
  };
  std::thread out_thread(follow, "stdout");
  std::thread err_thread(follow, "stderr");
  auto finish = [&] {
    stop.store(true);
    for (std::thread* t : {&out_thread, &err_thread}) {
      if (!t->joinable()) continue;
      ::pthread_kill(t->native_handle(), SIGINT);
      t->join();
    }
    if (term_.clear_interrupt) term_.clear_interrupt();
  };
  try {
    for (;;) {
      auto line = term_.read_line("");
      if (!line || (term_.interrupted && term_.interrupted())) {
        {
          std::lock_guard<std::mutex> lock(out_mutex);
          output("Exiting foreground");
        }
        finish();
        return;
      }
      CallResult sent = call("supervisor.sendProcessStdin", {name, *line + "\n"});
      std::string problem;
      if (sent.kind == CallResult::Kind::Fault) {
        problem = sent.fault.code == fault::kNotRunning
                      ? "Process got killed"
                      : "ERROR: <Fault " + std::to_string(sent.fault.code) + ": " + py_repr(sent.fault.message) + ">";
      } else if (member_int(call_value("supervisor.getProcessInfo", {name}), "state") != state::kRunning) {
        problem = "Process got killed";
      }
      if (!problem.empty()) {
        std::lock_guard<std::mutex> lock(out_mutex);
        output(problem);
        output("Exiting foreground");
        break;
      }
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
}

std::vector<std::string> Controller::complete(const std::string& text, const std::string& line) {
  auto actions = [&] {
    std::vector<std::string> out;
    for (const auto& a : vocabulary())
      if (starts_with(a, text)) out.push_back(a + " ");
    return out;
  };
  auto infos = [&]() -> const xmlrpc::Array& {
    if (!complete_info_) {
      try {
        complete_info_ = all_process_info();
      } catch (...) {
        complete_info_ = xmlrpc::Array{};
      }
    }
    return *complete_info_;
  };
  if (strip(line).empty()) return actions();
  std::vector<std::string> words = split_words(line);
  const std::string& action = words[0];
  if (words.size() == 1 && !line.empty() && line.back() != ' ') return actions();
  if (action == "help") return actions();
  std::vector<std::string> candidates;
  if (action == "add" || action == "remove" || action == "update") {
    for (const auto& info : infos()) {
      std::string g = member_str(info, "group");
      if (!contains(candidates, g)) candidates.push_back(g);
    }
  } else if (action == "clear" || action == "fg" || action == "pid" || action == "restart" || action == "signal" ||
             action == "start" || action == "status" || action == "stop" || action == "tail") {
    for (const auto& info : infos()) {
      const std::string g = member_str(info, "group");
      const std::string n = member_str(info, "name");
      if (text.find(':') != std::string::npos || n != g) {
        candidates.push_back(g + ":" + n);
        if (!contains(candidates, g + ":*")) candidates.push_back(g + ":*");
      } else {
        candidates.push_back(n);
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& c : candidates)
    if (starts_with(c, text)) out.push_back(c + " ");
  return out;
}

}  // namespace sup::ctl
