#include "config/datatypes.hpp"

#include "util/nss.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <csignal>
#include <cstdlib>
#include <limits>

namespace sup::config {
namespace {

bool py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         (c >= '\x1c' && c <= '\x1f');
}

std::string_view py_strip(std::string_view s) {
  while (!s.empty() && py_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && py_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}


int digit_value(char c, int base) {
  int d = -1;
  if (c >= '0' && c <= '9') d = c - '0';
  else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
  else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
  return d < base ? d : -1;
}

// Python int(s, base) for base 8 or 10, limited to long long.
std::optional<long long> py_int(std::string_view s, int base) {
  s = py_strip(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (base == 8 && s.size() >= 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    s.remove_prefix(2);
    if (!s.empty() && s[0] == '_') s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  unsigned long long value = 0;
  bool last_underscore = true;  // no leading '_'
  for (char c : s) {
    if (c == '_') {
      if (last_underscore) return std::nullopt;
      last_underscore = true;
      continue;
    }
    int d = digit_value(c, base);
    if (d < 0) return std::nullopt;
    if (value > (static_cast<unsigned long long>(std::numeric_limits<long long>::max()) - d) / base) {
      return std::nullopt;
    }
    value = value * base + static_cast<unsigned long long>(d);
    last_underscore = false;
  }
  if (last_underscore) return std::nullopt;  // trailing '_'
  long long v = static_cast<long long>(value);
  return negative ? -v : v;
}

struct SignalEntry {
  const char* name;
  int number;
};

const std::vector<SignalEntry>& signal_table() {
  static const std::vector<SignalEntry> table = {
      {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},
      {"TRAP", SIGTRAP},   {"ABRT", SIGABRT},     {"IOT", SIGIOT},     {"BUS", SIGBUS},
      {"FPE", SIGFPE},     {"KILL", SIGKILL},     {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},   {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},    {"CONT", SIGCONT},
      {"STOP", SIGSTOP},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},
      {"URG", SIGURG},     {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
      {"PROF", SIGPROF},   {"WINCH", SIGWINCH},   {"IO", SIGIO},       {"POLL", SIGPOLL},
      {"PWR", SIGPWR},     {"SYS", SIGSYS},       {"RTMIN", SIGRTMIN}, {"RTMAX", SIGRTMAX},
  };
  return table;
}

bool path_is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// os.path.dirname: everything before the last '/', trailing slashes removed
// unless the result is all slashes.
std::string py_dirname(const std::string& p) {
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return "";
  std::string head = p.substr(0, slash + 1);
  if (head.find_first_not_of('/') != std::string::npos) {
    while (!head.empty() && head.back() == '/') head.pop_back();
  }
  return head;
}

std::optional<uid_t> lookup_user(std::string_view s, std::string& why) {
  std::string name(s);
  if (auto num = py_int(name, 10)) {
    if (*num < 0 || *num > std::numeric_limits<uid_t>::max() - 1) {
      why = "Invalid user id " + name;
      return std::nullopt;
    }
    if (!nss::user_with_id(static_cast<uid_t>(*num))) {
      why = "Invalid user id " + name;
      return std::nullopt;
    }
    return static_cast<uid_t>(*num);
  }
  auto user = nss::user_named(name);
  if (!user) {
    why = "Invalid user name " + name;
    return std::nullopt;
  }
  return user->uid;
}

std::optional<gid_t> lookup_group(std::string_view s, std::string& why) {
  std::string name(s);
  if (auto num = py_int(name, 10)) {
    if (*num < 0 || *num > std::numeric_limits<gid_t>::max() - 1 ||
        !nss::group_exists(static_cast<gid_t>(*num))) {
      why = "Invalid group id " + name;
      return std::nullopt;
    }
    return static_cast<gid_t>(*num);
  }
  auto gid = nss::group_named(name);
  if (!gid) {
    why = "Invalid group name " + name;
    return std::nullopt;
  }
  return gid;
}

}  // namespace

Result<bool> parse_boolean(std::string_view s) {
  std::string v = lower(s);
  if (v == "yes" || v == "true" || v == "on" || v == "1") return true;
  if (v == "no" || v == "false" || v == "off" || v == "0") return false;
  return Error{"not a valid boolean value (expected true/false, yes/no, on/off or 1/0)"};
}

Result<long long> parse_integer(std::string_view s) {
  if (auto v = py_int(s, 10)) return *v;
  return Error{"not an integer"};
}

Result<std::int64_t> parse_byte_size(std::string_view s) {
  std::string v = lower(s);
  std::int64_t multiplier = 1;
  if (v.size() >= 2) {
    std::string_view suffix = std::string_view(v).substr(v.size() - 2);
    if (suffix == "kb") multiplier = 1024;
    else if (suffix == "mb") multiplier = 1024 * 1024;
    else if (suffix == "gb") multiplier = 1024LL * 1024 * 1024;
    if (multiplier != 1) v.resize(v.size() - 2);
  }
  auto n = py_int(v, 10);
  if (!n) return Error{"not a byte size (an integer, optionally followed by KB, MB or GB)"};
  if (*n > std::numeric_limits<std::int64_t>::max() / multiplier ||
      *n < std::numeric_limits<std::int64_t>::min() / multiplier) {
    return Error{"byte size out of range"};
  }
  return *n * multiplier;
}

Result<mode_t> parse_octal(std::string_view s) {
  auto n = py_int(s, 8);
  if (!n || *n < 0 || *n > 07777) return Error{"not an octal number (e.g. 022 or 0700)"};
  return static_cast<mode_t>(*n);
}

Result<int> parse_signal(std::string_view s) {
  int number = 0;
  if (auto n = py_int(s, 10)) {
    for (const auto& e : signal_table()) {
      if (e.number == *n) return e.number;
    }
    return Error{"not a valid signal number"};
  }
  std::string name = upper(py_strip(s));
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  for (const auto& e : signal_table()) {
    if (name == e.name) number = e.number;
  }
  if (number == 0) return Error{"not a valid signal name"};
  return number;
}

std::string signal_name(int sig) {
  for (const auto& e : signal_table()) {
    if (e.number == sig) return e.name;
  }
  return "signal " + std::to_string(sig);
}

Result<std::vector<int>> parse_exitcodes(std::string_view s) {
  std::vector<int> codes;
  if (s.empty()) return codes;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string_view item = s.substr(start, comma == std::string_view::npos ? s.npos : comma - start);
    auto n = py_int(item, 10);
    if (!n || *n < 0 || *n > 255) {
      return Error{"not a valid list of exit codes (comma-separated integers 0-255)"};
    }
    codes.push_back(static_cast<int>(*n));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return codes;
}

Result<AutoRestart> parse_autorestart(std::string_view s) {
  std::string v = lower(s);
  if (v == "unexpected") return AutoRestart::Unexpected;
  auto b = parse_boolean(v);
  if (!b) return Error{"not a valid autorestart value (expected true, false or unexpected)"};
  return *b ? AutoRestart::True : AutoRestart::False;
}

Result<int> parse_log_level(std::string_view s) {
  static const std::array<std::pair<const char*, int>, 7> levels = {{
      {"critical", 50}, {"error", 40}, {"warn", 30}, {"info", 20},
      {"debug", 10}, {"trace", 5}, {"blather", 3},
  }};
  std::string v = lower(s);
  for (const auto& [name, level] : levels) {
    if (v == name) return level;
  }
  return Error{"not a valid log level (critical, error, warn, info, debug, trace or blather)"};
}

Result<UserIds> parse_user(std::string_view s) {
  std::string why;
  auto uid = lookup_user(s, why);
  if (!uid) return Error{why};
  auto user = nss::user_with_id(*uid);
  if (!user) return Error{"Invalid user id " + std::string(s)};
  return UserIds{*uid, user->gid};
}

Result<OwnerIds> parse_user_group(std::string_view s) {
  std::string why;
  size_t colon = s.find(':');
  auto uid = lookup_user(s.substr(0, colon), why);
  if (!uid) return Error{"invalid user:group definition: " + why};
  OwnerIds ids{*uid, std::nullopt};
  if (colon != std::string_view::npos) {
    auto gid = lookup_group(s.substr(colon + 1), why);
    if (!gid) return Error{"invalid user:group definition: " + why};
    ids.gid = *gid;
  }
  return ids;
}

Result<std::vector<uid_t>> parse_allowed_uids(std::string_view s) {
  std::vector<uid_t> uids;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = s.find(',', start);
    std::string item(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.pop_back();
    std::size_t lead = 0;
    while (lead < item.size() && std::isspace(static_cast<unsigned char>(item[lead]))) ++lead;
    item.erase(0, lead);
    if (item.empty()) return Error{"empty user name in list"};
    uid_t uid;
    if (auto num = py_int(item, 10)) {
      if (*num < 0 || *num > std::numeric_limits<uid_t>::max() - 1) return Error{"Invalid user id " + item};
      uid = static_cast<uid_t>(*num);
    } else {
      auto user = nss::user_named(item);
      if (!user) return Error{"Invalid user name " + item};
      uid = user->uid;
    }
    if (std::find(uids.begin(), uids.end(), uid) == uids.end()) uids.push_back(uid);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return uids;
}

namespace {

// Python shlex in non-POSIX mode as supervisord configures it for
// environment=: word characters extended with "/.+-():", '#' comments,
// quotes kept in the token, every other character a token by itself.
Result<std::vector<std::string>> shlex_nonposix(std::string_view s) {
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '/' || c == '.' || c == '+' || c == '-' || c == '(' || c == ')' || c == ':';
  };
  auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  auto is_quote = [](char c) { return c == '\'' || c == '"'; };
  std::vector<std::string> tokens;
  size_t i = 0;
  auto skip_comment = [&] {
    size_t nl = s.find('\n', i);
    i = nl == std::string_view::npos ? s.size() : nl + 1;
  };
  while (i < s.size()) {
    char c = s[i++];
    if (is_ws(c)) continue;
    if (c == '#') {
      skip_comment();
      continue;
    }
    std::string token(1, c);
    if (is_quote(c)) {
      bool closed = false;
      while (i < s.size()) {
        char q = s[i++];
        token += q;
        if (q == c) {
          closed = true;
          break;
        }
      }
      if (!closed) return Error{"No closing quotation"};
    } else if (is_word(c)) {
      while (i < s.size()) {
        char n = s[i];
        if (is_ws(n)) {
          ++i;
          break;
        }
        if (n == '#') {  // a comment inside a word skips the line, the word goes on
          ++i;
          skip_comment();
          continue;
        }
        if (is_word(n) || is_quote(n)) {
          token += n;
          ++i;
          continue;
        }
        break;  // punctuation ends the word and is read again
      }
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

std::string strip_quotes(const std::string& v) {
  size_t b = v.find_first_not_of("'\"");
  if (b == std::string::npos) return "";
  size_t e = v.find_last_not_of("'\"");
  return v.substr(b, e - b + 1);
}

}  // namespace

Result<EnvList> parse_environment(std::string_view s) {
  auto tokens = shlex_nonposix(s);
  if (!tokens) return Error{tokens.error()};
  EnvList env;
  const auto& t = *tokens;
  for (size_t i = 0; i < t.size(); i += 4) {
    if (i + 2 >= t.size() || t[i + 1] != "=") {
      return Error{"Unexpected end of key/value pairs in value '" + std::string(s) + "'"};
    }
    merge_environment(env, {{t[i], strip_quotes(t[i + 2])}});
  }
  return env;
}

void merge_environment(EnvList& base, const EnvList& over) {
  for (const auto& [k, v] : over) {
    bool found = false;
    for (auto& [bk, bv] : base) {
      if (bk == k) {
        bv = v;
        found = true;
        break;
      }
    }
    if (!found) base.emplace_back(k, v);
  }
}

Result<InetAddress> parse_inet_address(std::string_view s) {
  InetAddress addr;
  std::string_view port = s;
  size_t colon = s.rfind(':');
  if (colon != std::string_view::npos) {
    addr.host = lower(s.substr(0, colon));
    port = s.substr(colon + 1);
    if (port.empty()) return Error{"no port number specified"};
  }
  auto n = py_int(port, 10);
  if (!n || *n < 1 || *n > 65535) return Error{"not a valid port number (1-65535)"};
  addr.port = static_cast<int>(*n);
  if (addr.host == "*") addr.host.clear();
  return addr;
}

Result<LogfileValue> parse_logfile(std::string_view s) {
  std::string v = lower(s);
  if (v == "none" || v == "off") return LogfileValue{LogTarget::Kind::None, ""};
  if (v == "auto") return LogfileValue{LogTarget::Kind::Auto, ""};
  if (v == "syslog") return LogfileValue{LogTarget::Kind::Syslog, ""};
  auto path = parse_existing_dirpath(s);
  if (!path) return Error{path.error()};
  return LogfileValue{LogTarget::Kind::File, *path};
}

Result<std::string> parse_url(std::string_view s) {
  // urlsplit: a scheme is a leading ASCII letter followed by letters, digits,
  // '+', '-', '.' up to the first ':'.
  size_t colon = s.find(':');
  bool has_scheme = colon != std::string_view::npos && colon > 0 &&
                    ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
  for (size_t i = 0; has_scheme && i < colon; ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '-' || c == '.';
    if (!ok) has_scheme = false;
  }
  if (has_scheme) {
    std::string_view rest = s.substr(colon + 1);
    size_t end = rest.find_first_of("?#");
    std::string_view before = rest.substr(0, end);
    if (!before.empty() && !(before == "//")) return std::string(s);
  }
  return Error{"not a URL (expected e.g. unix:///path/to/sock or http://host:port)"};
}

Result<std::vector<std::string>> split_command(std::string_view s) {
  auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  std::vector<std::string> words;
  std::string token;
  bool in_word = false;  // a token is under way (possibly empty but quoted)
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i++];
    if (is_ws(c)) {
      if (in_word) words.push_back(std::move(token));
      token.clear();
      in_word = false;
    } else if (c == '\\') {
      if (i >= s.size()) return Error{"No escaped character"};
      token += s[i++];
      in_word = true;
    } else if (c == '\'') {
      size_t close = s.find('\'', i);
      if (close == std::string_view::npos) return Error{"No closing quotation"};
      token.append(s.substr(i, close - i));
      i = close + 1;
      in_word = true;
    } else if (c == '"') {
      bool closed = false;
      while (i < s.size()) {
        char d = s[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\') {
          if (i >= s.size()) return Error{"No escaped character"};
          char e = s[i++];
          // Inside double quotes only '"' and '\' are escaped.
          if (e != '"' && e != '\\') token += '\\';
          token += e;
          continue;
        }
        token += d;
      }
      if (!closed) return Error{"No closing quotation"};
      in_word = true;
    } else {
      token += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(token));
  return words;
}

Result<std::string> parse_process_name(std::string_view s) {
  std::string name(py_strip(s));
  for (char c : std::string_view(" :/")) {
    if (name.find(c) != std::string::npos) {
      return Error{"invalid name '" + std::string(s) + "' because of character '" + std::string(1, c) +
                   "' (names may not contain space, ':' or '/')"};
    }
  }
  return name;
}

std::vector<std::string> parse_list_of_strings(std::string_view s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.emplace_back(py_strip(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string expand_user(std::string_view path) {
  if (path.empty() || path[0] != '~') return std::string(path);
  size_t slash = path.find('/');
  std::string_view user = path.substr(1, slash == std::string_view::npos ? path.npos : slash - 1);
  std::string home;
  if (user.empty()) {
    if (const char* h = std::getenv("HOME")) {
      home = h;
    } else if (auto self = nss::user_with_id(::getuid())) {
      home = self->home;
    } else {
      return std::string(path);
    }
  } else {
    auto named = nss::user_named(std::string(user));
    if (!named) return std::string(path);
    home = named->home;
  }
  while (home.size() > 1 && home.back() == '/') home.pop_back();
  std::string rest = slash == std::string_view::npos ? "" : std::string(path.substr(slash));
  if (home == "/" && !rest.empty()) home.clear();
  return home + rest;
}

Result<std::string> parse_existing_directory(std::string_view s) {
  std::string p = expand_user(s);
  if (path_is_dir(p)) return p;
  return Error{"not an existing directory"};
}

Result<std::string> parse_existing_dirpath(std::string_view s) {
  std::string p = expand_user(s);
  std::string dir = py_dirname(p);
  if (dir.empty() || path_is_dir(dir)) return p;
  return Error{"the directory named as part of the path does not exist"};
}

std::string normalize_path(std::string_view p) {
  std::string path = expand_user(p);
  if (path.empty() || path[0] != '/') {
    char buf[4096];
    std::string cwd = ::getcwd(buf, sizeof buf) ? buf : ".";
    path = path.empty() ? cwd : cwd + "/" + path;
  }
  // normpath: collapse '//' and '.', resolve '..' lexically.
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(i, slash - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

}  // namespace sup::config
