#include "ctl/format.hpp"

#include "util/py_repr.hpp"

#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

namespace sup::ctl {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Python source locations supervisorctl 4.2.5 reports for exceptions it does
// not handle (the last traceback frame on Debian 12, Python 3.11).
constexpr const char* kTransportFile = "/usr/lib/python3/dist-packages/supervisor/xmlrpc.py";
constexpr const char* kSocketFile = "/usr/lib/python3.11/socket.py";
constexpr const char* kXmlrpcClientFile = "/usr/lib/python3.11/xmlrpc/client.py";
constexpr const char* kCtlFile = "/usr/lib/python3/dist-packages/supervisor/supervisorctl.py";

std::string error_line(std::string_view cls, std::string_view value, std::string_view file, int line) {
  std::string s = "error: <class '";
  s.append(cls).append("'>, ").append(value).append(": file: ").append(file);
  s += " line: " + std::to_string(line);
  return s;
}

// The OSError subclass Python raises for an errno.
const char* os_error_class(int err) {
  switch (err) {
    case ENOENT: return "FileNotFoundError";
    case ECONNREFUSED: return "ConnectionRefusedError";
    case ECONNRESET: return "ConnectionResetError";
    case ECONNABORTED: return "ConnectionAbortedError";
    case EPIPE: return "BrokenPipeError";
    case EACCES:
    case EPERM: return "PermissionError";
    case ETIMEDOUT: return "TimeoutError";
    case EINTR: return "InterruptedError";
    default: return "OSError";
  }
}

const char* http_reason(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

}  // namespace

bool is_stopped_state(std::int64_t code) {
  return code == state::kStopped || code == state::kExited || code == state::kFatal || code == state::kUnknown;
}

std::string py_repr(std::string_view s) { return sup::py_repr(s); }

std::string py_str(const xmlrpc::Value& v) {
  switch (v.type()) {
    case xmlrpc::Value::Type::String: return v.as_string();
    case xmlrpc::Value::Type::Int: return std::to_string(v.as_int());
    case xmlrpc::Value::Type::Bool: return v.as_bool() ? "True" : "False";
    case xmlrpc::Value::Type::Nil: return "None";
    case xmlrpc::Value::Type::Double: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", v.as_double());
      return buf;
    }
    case xmlrpc::Value::Type::Binary: return v.as_binary().bytes;
    case xmlrpc::Value::Type::DateTime: return v.as_datetime().iso8601;
    case xmlrpc::Value::Type::Array: {
      std::string s = "[";
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) s += ", ";
        first = false;
        s += e.is_string() ? py_repr(e.as_string()) : py_str(e);
      }
      return s + "]";
    }
    case xmlrpc::Value::Type::Struct: {
      std::string s = "{";
      bool first = true;
      for (const auto& [k, e] : v.as_struct()) {
        if (!first) s += ", ";
        first = false;
        s += py_repr(k) + ": " + (e.is_string() ? py_repr(e.as_string()) : py_str(e));
      }
      return s + "}";
    }
  }
  return {};
}

PyInt py_int(std::string_view s) {
  PyInt r;
  s = strip(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return r;
  unsigned __int128 acc = 0;
  bool prev_digit = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      // An underscore must sit between two digits.
      if (!prev_digit || i + 1 >= s.size() || s[i + 1] < '0' || s[i + 1] > '9') return r;
      prev_digit = false;
      continue;
    }
    if (c < '0' || c > '9') return r;
    prev_digit = true;
    if (acc <= (static_cast<unsigned __int128>(1) << 64)) acc = acc * 10 + static_cast<unsigned>(c - '0');
  }
  r.ok = true;
  const unsigned __int128 limit = static_cast<unsigned __int128>(INT64_MAX) + (negative ? 1 : 0);
  if (acc > limit) {
    r.overflow = true;
    return r;
  }
  r.value = negative ? static_cast<std::int64_t>(-static_cast<__int128>(acc)) : static_cast<std::int64_t>(acc);
  return r;
}

std::size_t display_width(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8)
    if ((c & 0xC0) != 0x80) ++n;  // count lead bytes only
  return n;
}

std::string ljust(std::string_view s, std::size_t width) {
  std::string out(s);
  std::size_t w = display_width(s);
  if (w < width) out.append(width - w, ' ');
  return out;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !is_space(s[j])) ++j;
    if (j > i) words.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> columnize(const std::vector<std::string>& words, std::size_t width) {
  std::vector<std::string> lines;
  if (words.empty()) {
    lines.emplace_back("<empty>");
    return lines;
  }
  const std::size_t size = words.size();
  if (size == 1) {
    lines.push_back(words[0]);
    return lines;
  }
  // Fewest rows such that the columns (each as wide as its widest word,
  // separated by two spaces) fit in `width`; one word per row otherwise.
  std::size_t nrows = 1;
  std::vector<std::size_t> colwidths;
  bool fits = false;
  for (; nrows < size && !fits; ++nrows) {
    const std::size_t ncols = (size + nrows - 1) / nrows;
    colwidths.clear();
    long total = -2;
    for (std::size_t col = 0; col < ncols; ++col) {
      std::size_t w = 0;
      for (std::size_t row = 0; row < nrows; ++row) {
        std::size_t i = row + nrows * col;
        if (i >= size) break;
        w = std::max(w, display_width(words[i]));
      }
      colwidths.push_back(w);
      total += static_cast<long>(w) + 2;
      if (total > static_cast<long>(width)) break;
    }
    fits = total <= static_cast<long>(width);
    if (fits) break;
  }
  if (!fits) {
    nrows = size;
    colwidths.assign(1, 0);
  }
  const std::size_t ncols = (size + nrows - 1) / nrows;
  for (std::size_t row = 0; row < nrows; ++row) {
    std::vector<std::string> texts;
    for (std::size_t col = 0; col < ncols; ++col) {
      std::size_t i = row + nrows * col;
      texts.push_back(i < size ? words[i] : std::string());
    }
    while (!texts.empty() && texts.back().empty()) texts.pop_back();
    std::string line;
    for (std::size_t col = 0; col < texts.size(); ++col) {
      if (col > 0) line += "  ";
      line += ljust(texts[col], colwidths[col]);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string make_namespec(std::string_view group, std::string_view name) {
  if (group == name) return std::string(name);
  std::string s(group);
  s += ':';
  s.append(name);
  return s;
}

std::pair<std::string, std::optional<std::string>> split_namespec(std::string_view namespec) {
  std::size_t colon = namespec.find(':');
  if (colon == std::string_view::npos) return {std::string(namespec), std::string(namespec)};
  std::string group(namespec.substr(0, colon));
  std::string_view process = namespec.substr(colon + 1);
  if (process.empty() || process == "*") return {group, std::nullopt};
  return {group, std::string(process)};
}

std::string member_str(const xmlrpc::Value& v, const std::string& key) {
  const xmlrpc::Value* m = v.find(key);
  return m ? py_str(*m) : std::string();
}

std::int64_t member_int(const xmlrpc::Value& v, const std::string& key) {
  const xmlrpc::Value* m = v.find(key);
  if (m == nullptr) return 0;
  if (m->is_int()) return m->as_int();
  if (m->is_bool()) return m->as_bool() ? 1 : 0;
  return 0;
}

std::vector<std::string> status_lines(const std::vector<xmlrpc::Value>& infos) {
  std::vector<std::string> names;
  std::size_t longest = 30;
  for (const auto& info : infos) {
    names.push_back(make_namespec(member_str(info, "group"), member_str(info, "name")));
    longest = std::max(longest, display_width(names.back()));
  }
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < infos.size(); ++i)
    lines.push_back(ljust(names[i], longest + 3) + ljust(member_str(infos[i], "statename"), 10) +
                    member_str(infos[i], "description"));
  return lines;
}

std::string avail_line(const xmlrpc::Value& ci) {
  const xmlrpc::Value* inuse = ci.find("inuse");
  const xmlrpc::Value* autostart = ci.find("autostart");
  auto truthy = [](const xmlrpc::Value* v) {
    if (v == nullptr) return false;
    if (v->is_bool()) return v->as_bool();
    if (v->is_int()) return v->as_int() != 0;
    if (v->is_string()) return !v->as_string().empty();
    return false;
  };
  std::string name = make_namespec(member_str(ci, "group"), member_str(ci, "name"));
  std::string prio = member_str(ci, "group_prio") + ":" + member_str(ci, "process_prio");
  return ljust(name, 32) + " " + ljust(truthy(inuse) ? "in use" : "avail", 9) + " " +
         ljust(truthy(autostart) ? "auto" : "manual", 9) + " " + prio;
}

std::optional<std::string> start_result_message(int code, const std::string& namespec) {
  const char* what = nullptr;
  switch (code) {
    case fault::kSuccess: return namespec + ": started";
    case fault::kBadName: what = "no such process"; break;
    case fault::kNoFile: what = "no such file"; break;
    case fault::kNotExecutable: what = "file is not executable"; break;
    case fault::kAlreadyStarted: what = "already started"; break;
    case fault::kSpawnError: what = "spawn error"; break;
    case fault::kAbnormalTermination: what = "abnormal termination"; break;
    default: return std::nullopt;
  }
  return namespec + ": ERROR (" + what + ")";
}

std::optional<std::string> signal_result_message(int code, const std::string& namespec, const std::string& description,
                                                 std::string_view success_word) {
  switch (code) {
    case fault::kSuccess: return namespec + ": " + std::string(success_word);
    case fault::kBadName: return namespec + ": ERROR (no such process)";
    case fault::kBadSignal: return namespec + ": ERROR (bad signal name)";
    case fault::kNotRunning: return namespec + ": ERROR (not running)";
    case fault::kFailed: return description;
    default: return std::nullopt;
  }
}

std::optional<std::string> clear_result_message(int code, const std::string& namespec) {
  switch (code) {
    case fault::kSuccess: return namespec + ": cleared";
    case fault::kBadName: return namespec + ": ERROR (no such process)";
    case fault::kFailed: return namespec + ": ERROR (failed)";
    default: return std::nullopt;
  }
}

std::vector<std::string> reread_lines(const std::vector<std::string>& added, const std::vector<std::string>& changed,
                                      const std::vector<std::string>& removed) {
  // A name in several lists keeps the last kind (added < changed < removed).
  std::map<std::string, const char*> kinds;
  for (const auto& n : added) kinds[n] = "available";
  for (const auto& n : changed) kinds[n] = "changed";
  for (const auto& n : removed) kinds[n] = "disappeared";
  std::vector<std::string> lines;
  if (kinds.empty()) {
    lines.emplace_back("No config updates to processes");
    return lines;
  }
  for (const auto& [name, kind] : kinds) lines.push_back(name + ": " + kind);
  return lines;
}

const std::vector<std::string>& documented_commands() {
  static const std::vector<std::string> names = {
      "add",    "avail",   "clear",    "exit",   "fg",     "maintail", "open",
      "pid",    "quit",    "reload",   "remove", "reread", "restart",  "shutdown",
      "signal", "start",   "status",   "stop",   "tail",   "update",   "version"};
  return names;
}

std::vector<std::string> help_index_lines() {
  std::vector<std::string> lines;
  const std::string header = "default commands (type help <topic>):";
  lines.emplace_back();
  lines.push_back(header);
  lines.emplace_back(header.size(), '=');
  for (auto& l : columnize(documented_commands(), 79)) lines.push_back(std::move(l));
  lines.emplace_back();
  return lines;
}

std::optional<std::vector<std::string>> command_help(std::string_view command) {
  // Our own wording; the information matches supervisorctl's help.
  static const std::map<std::string, std::vector<std::string>, std::less<>> texts = {
      {"add", {"add <group> [...]\tActivate the config of added processes/groups"}},
      {"avail",
       {"avail\t\t\tList every configured process and whether it is in use",
        "avail --json\t\tThe same as a JSON array of getAllConfigInfo objects"}},
      {"clear",
       {"clear <name>\t\tEmpty the log files of a process", "clear <name> <name>\tEmpty the logs of several processes",
        "clear all\t\tEmpty the logs of every process"}},
      {"exit", {"exit\tLeave the supervisor shell."}},
      {"fg",
       {"fg <process>\tAttach to a running process (its output is shown, typed lines go to its stdin)",
        "\t\tCtrl-C detaches"}},
      {"help", {"help\t\tList the available commands", "help <command>\tShow the help of <command>"}},
      {"maintail",
       {"maintail -f \tFollow the supervisord main log (Ctrl-C stops)",
        "maintail -100\tShow the last 100 bytes of the supervisord main log",
        "maintail\tShow the last 1600 bytes of the supervisord main log"}},
      {"open",
       {"open <url>\tSwitch to another supervisord server.", "\t\t(a UNIX domain socket is unix:///socket/path)"}},
      {"pid",
       {"pid\t\t\tShow the PID of supervisord.", "pid <name>\t\tShow the PID of one child process.",
        "pid all\t\t\tShow the PID of every child process, one per line."}},
      {"quit", {"quit\tLeave the supervisor shell."}},
      {"reload", {"reload \t\tRestart the remote supervisord."}},
      {"remove", {"remove <group> [...]\tDeactivate processes/groups removed from the config"}},
      {"reread", {"reread \t\t\tRe-read the config files and report changes, applying none"}},
      {"restart",
       {"restart <name>\t\tRestart one process", "restart <gname>:*\tRestart every process of a group",
        "restart <name> <name>\tRestart several processes or groups", "restart all\t\tRestart every process",
        "restart --rolling <name>|<gname>:*|all\tOne at a time, each RUNNING again before the next stops",
        "Note: restart keeps the loaded config; use reread and update to apply config changes."}},
      {"shutdown", {"shutdown \tStop the remote supervisord."}},
      {"signal",
       {"signal <signal name> <name>\t\tSend a signal to one process",
        "signal <signal name> <gname>:*\t\tSend a signal to every process of a group",
        "signal <signal name> <name> <name>\tSend a signal to several processes or groups",
        "signal <signal name> all\t\tSend a signal to every process"}},
      {"start",
       {"start <name>\t\tStart one process", "start <gname>:*\t\tStart every process of a group",
        "start <name> <name>\tStart several processes or groups", "start all\t\tStart every process"}},
      {"status",
       {"status <name>\t\tShow the status of one process", "status <gname>:*\tShow the status of a group's processes",
        "status <name> <name>\tShow the status of several processes", "status\t\t\tShow the status of every process",
        "status --json [<name> ...]\tThe same as a JSON array of getProcessInfo objects"}},
      {"stop",
       {"stop <name>\t\tStop one process", "stop <gname>:*\t\tStop every process of a group",
        "stop <name> <name>\tStop several processes or groups", "stop all\t\tStop every process"}},
      {"tail",
       {"tail [-f] <name> [stdout|stderr] (stdout unless given)", "Examples:",
        "tail -f <name>\t\tFollow the stdout log of a process", "\t\t\t(Ctrl-C stops).",
        "tail -100 <name>\tThe last 100 *bytes* of a process's stdout log",
        "tail <name> stderr\tThe last 1600 *bytes* of a process's stderr log"}},
      {"update",
       {"update\t\t\tRe-read the config, add/remove groups as needed, restart the changed ones",
        "update all\t\tSame as update", "update <gname> [...]\tDo that for the given groups only"}},
      {"version", {"version\t\t\tShow the version of the remote supervisord"}},
      {"EOF", {"Type ^D or use the quit command to leave the shell"}},
  };
  auto it = texts.find(command);
  if (it == texts.end()) return std::nullopt;
  return it->second;
}

std::string transport_error_line(const xmlrpc::TransportError& e, const std::string& serverurl) {
  using Kind = xmlrpc::TransportError::Kind;
  const bool unix_socket = serverurl.rfind("unix://", 0) == 0;
  const char* connect_file = unix_socket ? kTransportFile : kSocketFile;
  const int connect_line = unix_socket ? 557 : 836;
  switch (e.kind) {
    case Kind::AuthRequired:
    case Kind::Protocol:
      if (e.http_status != 0) {
        std::string value = "<ProtocolError for 127.0.0.1/RPC2: " + std::to_string(e.http_status) + " " +
                            http_reason(e.http_status) + ">";
        return error_line("xmlrpc.client.ProtocolError", value, kTransportFile, 539);
      }
      return error_line("http.client.HTTPException", e.message, kTransportFile, 534);
    case Kind::NoSuchFile:
      return error_line("FileNotFoundError", "[Errno 2] " + std::string(std::strerror(ENOENT)), connect_file,
                        connect_line);
    case Kind::Refused:
      return error_line("ConnectionRefusedError", "[Errno 111] " + std::string(std::strerror(ECONNREFUSED)),
                        connect_file, connect_line);
    case Kind::Interrupted: return error_line("KeyboardInterrupt", "", kTransportFile, 557);
    case Kind::Other: break;
  }
  if (e.err != 0)
    return error_line(os_error_class(e.err), "[Errno " + std::to_string(e.err) + "] " + std::strerror(e.err),
                      connect_file, connect_line);
  // Name resolution failures carry gai_strerror() text; Python shows the EAI code.
  static const int kEai[] = {EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_FAMILY, EAI_SERVICE, EAI_NODATA, EAI_ADDRFAMILY};
  for (int code : kEai) {
    std::string text = ::gai_strerror(code);
    if (e.message.size() >= text.size() && e.message.compare(e.message.size() - text.size(), text.size(), text) == 0)
      return error_line("socket.gaierror", "[Errno " + std::to_string(code) + "] " + text, kSocketFile, 962);
  }
  return error_line("OSError", e.message, connect_file, connect_line);
}

std::string fault_error_line(const xmlrpc::Fault& f) {
  return error_line("xmlrpc.client.Fault", "<Fault " + std::to_string(f.code) + ": " + py_repr(f.message) + ">",
                    kXmlrpcClientFile, 668);
}

std::string unknown_result_error_line(int code, const std::string& namespec, int line) {
  return error_line("ValueError", "Unknown result code " + std::to_string(code) + " for " + namespec, kCtlFile, line);
}

std::string bad_url_error_line(const std::string& serverurl) {
  return error_line("ValueError", "Unknown protocol for serverurl " + serverurl, kTransportFile, 505);
}

std::string xmlrpc_overflow_error_line() {
  return error_line("OverflowError", "int exceeds XML-RPC limits", kXmlrpcClientFile, 552);
}

std::string eof_error_line(int line) { return error_line("EOFError", "EOF when reading a line", kCtlFile, line); }

}  // namespace sup::ctl
