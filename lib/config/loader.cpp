// Reading order, expansion names and defaults follow supervisord 4.2.5
// (options.py: ServerOptions.read_config, process_groups_from_parser,
// processes_from_section, server_configs_from_parser). Where supervisord's
// behaviour is observable (which names a value may use, which options are
// expanded twice, what wins on duplicates) it is reproduced; where it is an
// accident of the Python code (a traceback, a misnamed section in a message),
// we report a clear one-line error instead.
#include "config/loader.hpp"

#include <glob.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "config/datatypes.hpp"
#include "config/expand.hpp"
#include "config/ini_reader.hpp"
#include "sockets/address.hpp"

extern char** environ;

// Evaluates a Result-returning expression into `var`, returning its error.
#define SUP_TRY(var, expr) \
  auto var = (expr);       \
  if (!var) return Error{var.error()};

namespace sup::config {
namespace {

constexpr const char* kMainFactory = "supervisor.rpcinterface:make_main_rpcinterface";
constexpr const char* kDefaultResultHandler = "supervisor.dispatchers:default_handler";

// Event type names supervisord knows (events.EventTypes).
const std::set<std::string>& known_event_types() {
  static const std::set<std::string> names = {
      "EVENT", "PROCESS_STATE", "PROCESS_STATE_STOPPED", "PROCESS_STATE_EXITED", "PROCESS_STATE_STARTING",
      "PROCESS_STATE_STOPPING", "PROCESS_STATE_BACKOFF", "PROCESS_STATE_FATAL", "PROCESS_STATE_RUNNING",
      "PROCESS_STATE_UNKNOWN", "PROCESS_COMMUNICATION", "PROCESS_COMMUNICATION_STDOUT",
      "PROCESS_COMMUNICATION_STDERR", "PROCESS_LOG", "PROCESS_LOG_STDOUT", "PROCESS_LOG_STDERR",
      "REMOTE_COMMUNICATION", "SUPERVISOR_STATE_CHANGE", "SUPERVISOR_STATE_CHANGE_RUNNING",
      "SUPERVISOR_STATE_CHANGE_STOPPING", "TICK", "TICK_5", "TICK_60", "TICK_3600", "PROCESS_GROUP",
      "PROCESS_GROUP_ADDED", "PROCESS_GROUP_REMOVED"};
  return names;
}

// Keys a program-like section understands; the others go to ProcessConfig::extra.
const std::set<std::string>& known_program_keys() {
  static const std::set<std::string> keys = {
      "command", "process_name", "numprocs", "numprocs_start", "priority", "autostart", "autorestart",
      "startsecs", "startretries", "exitcodes", "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup",
      "user", "redirect_stderr", "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups",
      "stdout_capture_maxbytes", "stdout_events_enabled", "stdout_syslog", "stderr_logfile",
      "stderr_logfile_maxbytes", "stderr_logfile_backups", "stderr_capture_maxbytes", "stderr_events_enabled",
      "stderr_syslog", "environment", "directory", "umask", "serverurl", "events", "buffer_size",
      "result_handler", "socket", "socket_backlog", "socket_owner", "socket_mode",
      // Issue 5 (beyond supervisord).
      "restart_delay", "backoff", "backoff_max", "backoff_reset", "restart_limit", "healthcheck",
      "healthcheck_interval", "healthcheck_timeout", "healthcheck_retries", "healthcheck_start_period",
      "healthcheck_action", "ready", "watchdog_sec", "depends_on",
      // Issue 8 (beyond supervisord).
      "critical"};
  return keys;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Errors quote values, and a value continued over several lines holds line
// breaks: they are written as \n and \r so that every error stays one line.
template <class T>
Result<T> one_line(Result<T> r) {
  if (r) return r;
  std::string out;
  for (char c : r.error()) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return Error{std::move(out)};
}

// restart_limit=N/SECONDS, both positive.
Result<std::pair<int, int>> parse_restart_limit(std::string_view s) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return Error{"expected N/SECONDS, e.g. 5/60"};
  auto n = parse_integer(s.substr(0, slash));
  auto secs = parse_integer(s.substr(slash + 1));
  if (!n || !secs) return Error{"expected N/SECONDS, e.g. 5/60"};
  if (*n < 1 || *n > 1000000 || *secs < 1 || *secs > 100000000) return Error{"N and SECONDS must be positive"};
  return std::pair<int, int>{static_cast<int>(*n), static_cast<int>(*secs)};
}

// "HOST:PORT" of a tcp:// or http:// health check.
Status parse_host_port(std::string_view s, HealthCheck& hc) {
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return Error{"expected HOST:PORT"};
  std::string host(s.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_integer(s.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return Error{"port must be 1-65535"};
  hc.host = host;
  hc.port = static_cast<int>(*port);
  return {};
}

// healthcheck=http://HOST:PORT/PATH | tcp://HOST:PORT | exec:COMMAND ARGS
Result<HealthCheck> parse_healthcheck(std::string_view s) {
  HealthCheck hc;
  hc.text = std::string(s);
  if (s.rfind("http://", 0) == 0) {
    hc.kind = HealthCheck::Kind::Http;
    std::string_view rest = s.substr(7);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    hc.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (Status st = parse_host_port(authority, hc); !st) return Error{st.error()};
  } else if (s.rfind("tcp://", 0) == 0) {
    hc.kind = HealthCheck::Kind::Tcp;
    std::string_view rest = s.substr(6);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (Status st = parse_host_port(rest, hc); !st) return Error{st.error()};
  } else if (s.rfind("exec:", 0) == 0) {
    hc.kind = HealthCheck::Kind::Exec;
    auto argv = split_command(s.substr(5));
    if (!argv) return Error{argv.error()};
    if (argv->empty()) return Error{"exec: needs a command"};
    hc.argv = std::move(*argv);
  } else {
    return Error{"expected http://HOST:PORT/PATH, tcp://HOST:PORT or exec:COMMAND"};
  }
  return hc;
}

std::string py_dirname(const std::string& p) {
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return "";
  std::string head = p.substr(0, slash + 1);
  if (head.find_first_not_of('/') != std::string::npos) {
    while (!head.empty() && head.back() == '/') head.pop_back();
  }
  return head;
}

std::string py_join(const std::string& a, const std::string& b) {
  if (!b.empty() && b[0] == '/') return b;
  if (a.empty() || a.back() == '/') return a + b;
  return a + "/" + b;
}

std::string abspath(const std::string& p) {
  // normalize_path also expands '~', which abspath does not; config paths
  // handed to us never start with '~' unless the user meant it.
  return normalize_path(p);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

std::string host_node_name() {
  struct utsname u {};
  if (::uname(&u) != 0) return "";
  return u.nodename;
}

bool is_directory(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void add_names(Expansions& into, const Expansions& from) {
  for (const auto& [k, v] : from) into[k] = v;
}

// The loader's state for one load_config() call.
class Loader {
 public:
  Loader(const std::map<std::string, std::string>& env)
      : env_names_(environment_expansions(env)), node_(host_node_name()) {}

  Result<Config> load(const std::string& path);
  Result<CtlConfig> load_ctl(const std::string& path);

 private:
  // Where a value lives, for messages.
  std::string file_of(const std::string& section, const std::string& key) const {
    if (const IniValue* v = doc_.find(section, key)) return v->file;
    if (const IniSection* s = doc_.section(section)) return s->file;
    return main_path_;
  }
  std::string where(const std::string& section, const std::string& key) const {
    return "in section " + quote(section) + " (file: " + quote(file_of(section, key)) + ")";
  }
  Error invalid(const std::string& section, const std::string& key, const std::string& value,
                const std::string& why) const {
    return Error{"invalid value for " + quote(key) + " " + where(section, key) + ": " + quote(value) + ": " + why};
  }
  Error missing(const std::string& section, const std::string& key, const std::string& why) const {
    return Error{"missing value for " + quote(key) + " " + where(section, key) + ": " + why};
  }

  // The raw value (after supervisord's textual %(here)s replacement, which it
  // applies to every value once an [include] section exists).
  std::optional<std::string> raw(const std::string& section, const std::string& key) const {
    const IniValue* v = doc_.find(section, key);
    if (v == nullptr) return std::nullopt;
    if (!here_replaced_) return v->value;
    return replace_all(v->value, "%(here)s", abspath(py_dirname(abspath(v->file))));
  }

  Result<std::string> expand_option(const std::string& section, const std::string& key, const std::string& value,
                                    const Expansions& names) const {
    auto r = expand_value(value, names);
    if (!r) return invalid(section, key, value, r.error());
    return r;
  }

  // saneget(): the value expanded with `names`, or nullopt when unset.
  Result<std::optional<std::string>> get(const std::string& section, const std::string& key,
                                         const Expansions& names) const {
    auto v = raw(section, key);
    if (!v) return std::optional<std::string>{};
    auto e = expand_option(section, key, *v, names);
    if (!e) return Error{e.error()};
    return std::optional<std::string>{*e};
  }

  template <class T, class Parse>
  Result<T> get_typed(const std::string& section, const std::string& key, const Expansions& names,
                      const std::string& fallback, Parse parse) const {
    auto v = get(section, key, names);
    if (!v) return Error{v.error()};
    std::string text = v->value_or(fallback);
    auto parsed = parse(text);
    if (!parsed) return invalid(section, key, text, parsed.error());
    return T(*parsed);
  }

  Result<int> get_int(const std::string& section, const std::string& key, const Expansions& names, int fallback) const {
    auto v = get_typed<long long>(section, key, names, std::to_string(fallback),
                                  [](const std::string& s) { return parse_integer(s); });
    if (!v) return Error{v.error()};
    if (*v < -2147483648LL || *v > 2147483647LL) {
      return invalid(section, key, *raw(section, key), "out of range");
    }
    return static_cast<int>(*v);
  }
  Result<bool> get_bool(const std::string& section, const std::string& key, const Expansions& names,
                        bool fallback) const {
    return get_typed<bool>(section, key, names, fallback ? "true" : "false",
                           [](const std::string& s) { return parse_boolean(s); });
  }
  Result<std::int64_t> get_bytes(const std::string& section, const std::string& key, const Expansions& names,
                                 const std::string& fallback) const {
    return get_typed<std::int64_t>(section, key, names, fallback,
                                   [](const std::string& s) { return parse_byte_size(s); });
  }

  Expansions with_env(Expansions names) const {
    Expansions all = env_names_;
    add_names(all, names);
    return all;
  }

  Status read_main(const std::string& path);
  Status read_includes();
  Status read_supervisord();
  Status read_rpcinterfaces();
  Status read_groups();
  Status check_dependencies(const std::vector<GroupConfig>& groups) const;
  Status read_servers();
  Result<CtlConfig> read_ctl(const std::string& here, bool required);
  Result<std::map<std::string, std::string>> fcgi_socket_options(const std::string& section,
                                                                 const std::string& program);
  Result<std::vector<ProcessConfig>> processes_from_section(const std::string& section, const std::string& group);
  Result<std::string> section_name(const std::string& section) const {
    std::string suffix = section.substr(section.find(':') + 1);
    auto name = parse_process_name(suffix);
    if (!name) {
      return Error{"invalid name in section header " + quote(section) + " (file: " +
                   quote(file_of(section, "")) + "): " + name.error()};
    }
    return name;
  }

  IniDocument doc_;
  Expansions env_names_;  // ENV_*: daemon environment, then [supervisord] environment=
  std::string node_;
  std::string main_path_;
  std::string here_;
  bool here_replaced_ = false;
  Config cfg_;
};

Status Loader::read_main(const std::string& path) {
  main_path_ = abspath(path);
  here_ = abspath(py_dirname(main_path_));
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error{"could not find config file " + quote(path)};
  if (S_ISDIR(st.st_mode)) return Error{"could not read config file " + quote(path) + ": is a directory"};
  Status s = doc_.read_file(main_path_);
  if (!s) return s;
  return {};
}

Status Loader::read_includes() {
  if (!doc_.has_section("include")) return {};
  here_replaced_ = true;
  auto files_raw = raw("include", "files");
  if (!files_raw) {
    return missing("include", "files", "an [include] section needs a files= setting");
  }
  Expansions names = with_env({{"here", here_}, {"host_node_name", node_}});
  auto files = expand_option("include", "files", *files_raw, names);
  if (!files) return Error{files.error()};
  std::vector<std::string> patterns;
  {
    std::string word;
    for (char c : *files + " ") {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        if (!word.empty()) patterns.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
  }
  const std::string base = py_dirname(main_path_);
  for (const auto& p : patterns) {
    std::string pattern = py_join(base, p);
    glob_t g{};
    int rc = ::glob(pattern.c_str(), GLOB_NOESCAPE, nullptr, &g);
    std::vector<std::string> matches;
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (matches.empty()) {
      cfg_.warnings.push_back("No file matches via include \"" + pattern + "\"");
      continue;
    }
    std::sort(matches.begin(), matches.end());
    for (const auto& file : matches) {
      if (is_directory(file)) {
        cfg_.warnings.push_back("Skipped directory \"" + file + "\" matched via include \"" + pattern + "\"");
        continue;
      }
      Status s = doc_.read_file(file);
      if (!s) {
        return Error{"could not read included file " + quote(file) + " (from [include] files= in " +
                     quote(file_of("include", "files")) + "): " + s.error()};
      }
      cfg_.included_files.push_back(file);
    }
  }
  return {};
}

Status Loader::read_supervisord() {
  const std::string sec = "supervisord";
  if (!doc_.has_section(sec)) {
    return Error{"file " + quote(main_path_) + " (with its includes) has no [supervisord] section"};
  }
  SupervisordConfig& s = cfg_.supervisord;
  const Expansions names = with_env({{"here", here_}});

  auto minfds = get_typed<long long>(sec, "minfds", names, "1024", [](const std::string& v) { return parse_integer(v); });
  if (!minfds) return Error{minfds.error()};
  s.minfds = static_cast<long>(*minfds);
  auto minprocs = get_typed<long long>(sec, "minprocs", names, "200", [](const std::string& v) { return parse_integer(v); });
  if (!minprocs) return Error{minprocs.error()};
  s.minprocs = static_cast<long>(*minprocs);

  auto directory = get(sec, "directory", names);
  if (!directory) return Error{directory.error()};
  if (*directory) {
    auto d = parse_existing_directory(**directory);
    if (!d) return invalid(sec, "directory", **directory, d.error());
    s.directory = *d;
  }

  auto user = get(sec, "user", names);
  if (!user) return Error{user.error()};
  if (*user) {
    auto ids = parse_user(**user);
    if (!ids) return invalid(sec, "user", **user, ids.error());
    s.user = **user;
    s.uid = ids->uid;
    s.gid = ids->gid;
  }

  auto umask = get_typed<mode_t>(sec, "umask", names, "022", [](const std::string& v) { return parse_octal(v); });
  if (!umask) return Error{umask.error()};
  s.umask = *umask;

  auto logfile = get_typed<std::string>(sec, "logfile", names, "supervisord.log",
                                        [](const std::string& v) { return parse_existing_dirpath(v); });
  if (!logfile) return Error{logfile.error()};
  s.logfile = *logfile == "syslog" ? *logfile : normalize_path(*logfile);
  auto maxbytes = get_bytes(sec, "logfile_maxbytes", names, "50MB");
  if (!maxbytes) return Error{maxbytes.error()};
  s.logfile_maxbytes = *maxbytes;
  auto backups = get_int(sec, "logfile_backups", names, 10);
  if (!backups) return Error{backups.error()};
  s.logfile_backups = *backups;
  auto level = get_typed<int>(sec, "loglevel", names, "info", [](const std::string& v) { return parse_log_level(v); });
  if (!level) return Error{level.error()};
  s.loglevel = *level;
  auto pidfile = get_typed<std::string>(sec, "pidfile", names, "supervisord.pid",
                                        [](const std::string& v) { return parse_existing_dirpath(v); });
  if (!pidfile) return Error{pidfile.error()};
  s.pidfile = normalize_path(*pidfile);
  auto identifier = get(sec, "identifier", names);
  if (!identifier) return Error{identifier.error()};
  s.identifier = identifier->value_or("supervisor");

  auto nodaemon = get_bool(sec, "nodaemon", names, false);
  if (!nodaemon) return Error{nodaemon.error()};
  s.nodaemon = *nodaemon;
  auto silent = get_bool(sec, "silent", names, false);
  if (!silent) return Error{silent.error()};
  s.silent = *silent;

  const char* tmp = std::getenv("TMPDIR");
  std::string tempdir = (tmp != nullptr && is_directory(tmp)) ? tmp : "/tmp";
  auto childlogdir = get_typed<std::string>(sec, "childlogdir", names, tempdir,
                                            [](const std::string& v) { return parse_existing_directory(v); });
  if (!childlogdir) return Error{childlogdir.error()};
  s.childlogdir = *childlogdir;
  auto nocleanup = get_bool(sec, "nocleanup", names, false);
  if (!nocleanup) return Error{nocleanup.error()};
  s.nocleanup = *nocleanup;
  auto strip_ansi = get_bool(sec, "strip_ansi", names, false);
  if (!strip_ansi) return Error{strip_ansi.error()};
  s.strip_ansi = *strip_ansi;

  // supervisord expands environment= twice: once as an option, once more
  // with host_node_name added (so a literal '%' needs '%%%%').
  auto env_once = get(sec, "environment", names);
  if (!env_once) return Error{env_once.error()};
  std::string env_text = env_once->value_or("");
  auto env_twice = expand_option(sec, "environment", env_text,
                                 with_env({{"here", here_}, {"host_node_name", node_}}));
  if (!env_twice) return Error{env_twice.error()};
  auto env = parse_environment(*env_twice);
  if (!env) return invalid(sec, "environment", *env_twice, env.error());
  s.environment = *env;
  // Later sections may refer to these as %(ENV_X)s.
  for (const auto& [k, v] : s.environment) env_names_["ENV_" + k] = v;
  return {};
}

Status Loader::read_rpcinterfaces() {
  for (const auto& section : doc_.section_names()) {
    if (section.rfind("rpcinterface:", 0) != 0) continue;
    RpcInterfaceConfig rpc;
    rpc.name = section.substr(section.find(':') + 1);
    const std::string key = "supervisor.rpcinterface_factory";
    for (const auto& option : doc_.options(section)) {
      auto v = get(section, option, env_names_);
      if (!v) return Error{v.error()};
      if (option == key) rpc.factory = **v;
      else rpc.extras[option] = **v;
    }
    if (rpc.factory.empty()) {
      return missing(section, key, "an [rpcinterface:x] section needs a factory");
    }
    if (rpc.factory != kMainFactory) {
      cfg_.warnings.push_back("[" + section + "] factory '" + rpc.factory +
                              "' is a Python entry point and cannot be loaded; namespace '" + rpc.name +
                              "' is not available");
    }
    cfg_.rpcinterfaces.push_back(std::move(rpc));
  }
  return {};
}

Result<std::vector<ProcessConfig>> Loader::processes_from_section(const std::string& section,
                                                                 const std::string& group) {
  auto program = section_name(section);
  if (!program) return Error{program.error()};
  // supervisord's `common_expansions` dict: it gains process_num, numprocs
  // and the program's ENV_ names in the loop below, and every option read
  // after that point sees them.
  Expansions common = with_env({{"here", here_},
                                {"program_name", *program},
                                {"host_node_name", node_},
                                {"group_name", group}});

  SUP_TRY(priority, get_int(section, "priority", common, 999));
  SUP_TRY(autostart, get_bool(section, "autostart", common, true));
  SUP_TRY(autorestart, get_typed<AutoRestart>(section, "autorestart", common, "unexpected",
                                              [](const std::string& v) { return parse_autorestart(v); }));
  SUP_TRY(startsecs, get_int(section, "startsecs", common, 1));
  SUP_TRY(startretries, get_int(section, "startretries", common, 3));
  SUP_TRY(stopsignal, get_typed<int>(section, "stopsignal", common, "TERM",
                                     [](const std::string& v) { return parse_signal(v); }));
  SUP_TRY(stopwaitsecs, get_int(section, "stopwaitsecs", common, 10));
  SUP_TRY(stopasgroup, get_bool(section, "stopasgroup", common, false));
  SUP_TRY(killasgroup, get_bool(section, "killasgroup", common, *stopasgroup));
  SUP_TRY(exitcodes, get_typed<std::vector<int>>(section, "exitcodes", common, "0",
                                                 [](const std::string& v) { return parse_exitcodes(v); }));
  SUP_TRY(redirect_stderr, get_bool(section, "redirect_stderr", common, false));
  SUP_TRY(numprocs, get_int(section, "numprocs", common, 1));
  SUP_TRY(numprocs_start, get_int(section, "numprocs_start", common, 0));
  const std::string environment_raw = raw(section, "environment").value_or("");
  SUP_TRY(stdout_cmax, get_bytes(section, "stdout_capture_maxbytes", common, "0"));
  SUP_TRY(stdout_events, get_bool(section, "stdout_events_enabled", common, false));
  SUP_TRY(stderr_cmax, get_bytes(section, "stderr_capture_maxbytes", common, "0"));
  SUP_TRY(stderr_events, get_bool(section, "stderr_events_enabled", common, false));
  SUP_TRY(serverurl_opt, get(section, "serverurl", common));
  // Unset, empty and AUTO (any case) all mean "the daemon's own server".
  std::string serverurl = "AUTO";
  if (*serverurl_opt) {
    std::string up = **serverurl_opt;
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
    up.erase(0, up.find_first_not_of(" \t"));
    up.erase(up.find_last_not_of(" \t") + 1);
    if (!up.empty() && up != "AUTO") serverurl = **serverurl_opt;
  }

  SUP_TRY(user_opt, get(section, "user", common));
  std::optional<UserIds> ids;
  if (*user_opt) {
    auto u = parse_user(**user_opt);
    if (!u) return invalid(section, "user", **user_opt, u.error());
    ids = *u;
  }
  SUP_TRY(umask_opt, get(section, "umask", common));
  std::optional<mode_t> umask;
  if (*umask_opt) {
    auto m = parse_octal(**umask_opt);
    if (!m) return invalid(section, "umask", **umask_opt, m.error());
    umask = *m;
  }

  const std::string process_name_raw = raw(section, "process_name").value_or("%(program_name)s");
  auto checked_name = parse_process_name(process_name_raw);
  if (!checked_name) return invalid(section, "process_name", process_name_raw, checked_name.error());
  const std::string process_name = *checked_name;
  if (*numprocs > 1 && process_name.find("%(process_num)") == std::string::npos) {
    return invalid(section, "process_name", process_name,
                   "must contain %(process_num) when numprocs > 1 (numprocs is " + std::to_string(*numprocs) + ")");
  }
  if (*stopasgroup && !*killasgroup) {
    return invalid(section, "killasgroup", *raw(section, "killasgroup"),
                   "stopasgroup=true requires killasgroup=true");
  }

  // Issue 5 options (beyond supervisord): all non-negative seconds/counts.
  auto non_negative = [&](const std::string& key, int fallback, bool positive = false) -> Result<int> {
    auto v = get_int(section, key, common, fallback);
    if (!v) return Error{v.error()};
    if (*v < 0 || (positive && *v == 0))
      return invalid(section, key, *raw(section, key), positive ? "must be a positive integer" : "must not be negative");
    return *v;
  };
  SUP_TRY(restart_delay, non_negative("restart_delay", 0));
  SUP_TRY(backoff, get_typed<Backoff>(section, "backoff", common, "linear", [](const std::string& v) -> Result<Backoff> {
    if (v == "linear") return Backoff::Linear;
    if (v == "exponential") return Backoff::Exponential;
    return Error{"expected linear or exponential"};
  }));
  SUP_TRY(backoff_max, non_negative("backoff_max", 60, true));
  SUP_TRY(backoff_reset, non_negative("backoff_reset", 600));
  SUP_TRY(restart_limit_opt, get(section, "restart_limit", common));
  std::pair<int, int> restart_limit{0, 0};
  if (*restart_limit_opt) {
    auto rl = parse_restart_limit(**restart_limit_opt);
    if (!rl) return invalid(section, "restart_limit", **restart_limit_opt, rl.error());
    restart_limit = *rl;
  }
  SUP_TRY(hc_interval, non_negative("healthcheck_interval", 10, true));
  SUP_TRY(hc_timeout, non_negative("healthcheck_timeout", 5, true));
  SUP_TRY(hc_retries, non_negative("healthcheck_retries", 3, true));
  SUP_TRY(hc_start_period, non_negative("healthcheck_start_period", 0));
  SUP_TRY(hc_restart, get_typed<bool>(section, "healthcheck_action", common, "restart",
                                      [](const std::string& v) -> Result<bool> {
                                        if (v == "restart") return true;
                                        if (v == "none") return false;
                                        return Error{"expected restart or none"};
                                      }));
  SUP_TRY(ready, get_typed<Readiness>(section, "ready", common, "startsecs", [](const std::string& v) -> Result<Readiness> {
    if (v == "startsecs") return Readiness::Startsecs;
    if (v == "healthcheck") return Readiness::Healthcheck;
    if (v == "notify") return Readiness::Notify;
    return Error{"expected startsecs, healthcheck or notify"};
  }));
  SUP_TRY(watchdog_sec, non_negative("watchdog_sec", 0));
  if (*watchdog_sec > 0 && *ready != Readiness::Notify)
    return invalid(section, "watchdog_sec", *raw(section, "watchdog_sec"), "watchdog_sec requires ready=notify");
  if (*ready == Readiness::Healthcheck && !raw(section, "healthcheck"))
    return invalid(section, "ready", "healthcheck", "ready=healthcheck requires a healthcheck= option");

  // socket= and its options (issue 6), for [program:x] only: [fcgi-program:x]
  // reads its own in fcgi_socket_options().
  std::vector<std::string> sockets;
  int socket_backlog = 0;
  std::optional<OwnerIds> socket_owner;
  std::optional<mode_t> socket_mode;
  if (section.rfind("program:", 0) == 0) {
    SUP_TRY(socket_opt, get(section, "socket", common));
    for (const std::string& text : parse_list_of_strings(socket_opt->value_or(""))) {
      auto a = sockets::parse_socket_address(text);
      if (!a) return invalid(section, "socket", **socket_opt, a.error());
      std::string canonical = a->to_string();
      if (std::find(sockets.begin(), sockets.end(), canonical) != sockets.end())
        return invalid(section, "socket", **socket_opt, "address " + quote(canonical) + " is listed twice");
      sockets.push_back(canonical);
    }
    // A child gets its sockets as fds 3..66: sd_listen_fds users never expect
    // more, and the child set-up has a fixed-size table for them.
    if (sockets.size() > 64)
      return invalid(section, "socket", **socket_opt,
                     "at most 64 addresses per program (" + std::to_string(sockets.size()) + " given)");
    const bool has_unix = std::any_of(sockets.begin(), sockets.end(),
                                      [](const std::string& a) { return a.rfind("unix://", 0) == 0; });
    for (const char* key : {"socket_backlog", "socket_owner", "socket_mode"})
      if (raw(section, key) && sockets.empty())
        return invalid(section, key, *raw(section, key), "needs socket=");
    SUP_TRY(backlog_opt, get(section, "socket_backlog", common));
    if (*backlog_opt) {
      auto n = parse_integer(**backlog_opt);
      if (!n || *n < 1 || *n > 65535)
        return invalid(section, "socket_backlog", **backlog_opt, "must be an integer 1-65535");
      socket_backlog = static_cast<int>(*n);
    }
    SUP_TRY(owner_opt, get(section, "socket_owner", common));
    if (*owner_opt) {
      if (!has_unix) return invalid(section, "socket_owner", **owner_opt, "only applies to a unix:// socket");
      auto o = parse_user_group(**owner_opt);
      if (!o) return invalid(section, "socket_owner", **owner_opt, o.error());
      socket_owner = *o;
    }
    SUP_TRY(mode_opt, get(section, "socket_mode", common));
    if (*mode_opt) {
      if (!has_unix) return invalid(section, "socket_mode", **mode_opt, "only applies to a unix:// socket");
      auto m = parse_octal(**mode_opt);
      if (!m) return invalid(section, "socket_mode", **mode_opt, m.error());
      socket_mode = *m;
    }
  }

  // depends_on= (issue 5), [program:x] only: program names and "group:*",
  // separated by commas and/or spaces. check_dependencies() checks the names
  // against the whole configuration once every section is read.
  std::vector<std::string> depends_on;
  if (section.rfind("program:", 0) == 0) {
    SUP_TRY(deps_opt, get(section, "depends_on", common));
    if (*deps_opt) {
      std::string word;
      auto take = [&]() -> Status {
        if (word.empty()) return {};
        std::string entry = std::move(word);
        word.clear();
        auto colon = entry.find(':');
        std::string name = colon == std::string::npos ? entry : entry.substr(0, colon);
        if (colon != std::string::npos && entry.substr(colon) != ":*")
          return invalid(section, "depends_on", entry, "expected a program name or group:*");
        if (!parse_process_name(name) || name.empty())
          return invalid(section, "depends_on", entry, "not a valid program or group name");
        if (std::find(depends_on.begin(), depends_on.end(), entry) == depends_on.end())
          depends_on.push_back(entry);
        return {};
      };
      for (char c : **deps_opt) {
        if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          if (Status st = take(); !st) return Error{st.error()};
        } else {
          word += c;
        }
      }
      if (Status st = take(); !st) return Error{st.error()};
    }
  }

  // critical= (issue 8): any program-like section.
  SUP_TRY(critical, get_bool(section, "critical", common, false));

  // Unknown keys are kept verbatim for extensions.
  std::map<std::string, std::string> extra;
  for (const auto& key : doc_.options(section)) {
    if (known_program_keys().count(key) == 0) extra[key] = *raw(section, key);
  }

  std::vector<ProcessConfig> processes;
  for (int num = *numprocs_start; num < *numprocs_start + *numprocs; ++num) {
    common["process_num"] = static_cast<long long>(num);
    common["numprocs"] = static_cast<long long>(*numprocs);
    add_names(common, env_names_);

    ProcessConfig pc;
    auto env_text = expand_option(section, "environment", environment_raw, common);
    if (!env_text) return Error{env_text.error()};
    auto env = parse_environment(*env_text);
    if (!env) return invalid(section, "environment", *env_text, env.error());
    pc.environment = *env;
    for (const auto& [k, v] : pc.environment) common["ENV_" + k] = v;

    SUP_TRY(directory, get(section, "directory", common));
    pc.directory = directory->value_or("");

    for (const std::string channel : {"stdout", "stderr"}) {
      LogTarget& target = channel == "stdout" ? pc.stdout_log : pc.stderr_log;
      const std::string lf_key = channel + "_logfile";
      // Like supervisord: expanded as an option and once more by itself.
      SUP_TRY(lf_once, get(section, lf_key, common));
      std::string lf_text = "AUTO";
      if (*lf_once) {
        auto twice = expand_option(section, lf_key, **lf_once, common);
        if (!twice) return Error{twice.error()};
        lf_text = *twice;
      }
      auto lf = parse_logfile(lf_text);
      if (!lf) return invalid(section, lf_key, lf_text, lf.error());
      SUP_TRY(backups, get_int(section, channel + "_logfile_backups", common, 10));
      SUP_TRY(maxbytes, get_bytes(section, channel + "_logfile_maxbytes", common, "50MB"));
      SUP_TRY(syslog, get_bool(section, channel + "_syslog", common, false));
      target.kind = lf->kind;
      target.path = lf->path;
      target.backups = *backups;
      target.maxbytes = *maxbytes;
      target.syslog = *syslog;
      if (lf->kind == LogTarget::Kind::Syslog) {
        // Deprecated spelling of <channel>_syslog=true without a file.
        cfg_.warnings.push_back("For [" + section + "], " + lf_key + "=syslog but this is deprecated and will be removed.  Use " +
                                channel + "_syslog=true to enable syslog instead.");
        target.kind = LogTarget::Kind::None;
        target.syslog = true;
      }
      if (target.kind == LogTarget::Kind::Auto && target.maxbytes == 0) {
        cfg_.warnings.push_back("For [" + section + "], AUTO logging used for " + lf_key +
                                " without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally");
      }
    }
    pc.stdout_log.capture_maxbytes = *stdout_cmax;
    pc.stdout_log.events_enabled = *stdout_events;
    pc.stderr_log.capture_maxbytes = *stderr_cmax;
    pc.stderr_log.events_enabled = *stderr_events;
    if (*redirect_stderr) {
      if (pc.stderr_log.kind == LogTarget::Kind::File) {
        cfg_.warnings.push_back("For [" + section +
                                "], redirect_stderr=true but stderr_logfile has also been set to a filename, the "
                                "filename has been ignored");
      }
      pc.stderr_log.kind = LogTarget::Kind::None;
      pc.stderr_log.path.clear();
    }

    SUP_TRY(command, get(section, "command", common));
    if (!*command) return missing(section, "command", "a program needs a command");
    auto argv = split_command(**command);
    if (!argv) return invalid(section, "command", **command, argv.error());

    auto name = expand_option(section, "process_name", process_name, common);
    if (!name) return Error{name.error()};
    auto checked = parse_process_name(*name);
    if (!checked) return invalid(section, "process_name", *name, checked.error());

    pc.name = *checked;
    pc.group = group;
    pc.program = *program;
    pc.command = **command;
    pc.argv = std::move(*argv);
    pc.priority = *priority;
    pc.autostart = *autostart;
    pc.autorestart = *autorestart;
    pc.startsecs = *startsecs;
    pc.startretries = *startretries;
    pc.exitcodes = *exitcodes;
    pc.stopsignal = *stopsignal;
    pc.stopwaitsecs = *stopwaitsecs;
    pc.stopasgroup = *stopasgroup;
    pc.killasgroup = *killasgroup;
    if (ids) {
      pc.uid = ids->uid;
      pc.gid = ids->gid;
      pc.user = **user_opt;
    }
    pc.redirect_stderr = *redirect_stderr;
    pc.umask = umask;
    pc.serverurl = serverurl;
    pc.restart_delay = *restart_delay;
    pc.backoff = *backoff;
    pc.backoff_max = *backoff_max;
    pc.backoff_reset = *backoff_reset;
    pc.restart_limit_count = restart_limit.first;
    pc.restart_limit_window = restart_limit.second;
    // Expanded per process: a port may use %(process_num)s.
    SUP_TRY(healthcheck_opt, get(section, "healthcheck", common));
    if (*healthcheck_opt) {
      auto hc = parse_healthcheck(**healthcheck_opt);
      if (!hc) return invalid(section, "healthcheck", **healthcheck_opt, hc.error());
      pc.healthcheck = std::move(*hc);
    }
    pc.healthcheck_interval = *hc_interval;
    pc.healthcheck_timeout = *hc_timeout;
    pc.healthcheck_retries = *hc_retries;
    pc.healthcheck_start_period = *hc_start_period;
    pc.healthcheck_restart = *hc_restart;
    pc.ready = *ready;
    pc.watchdog_sec = *watchdog_sec;
    pc.extra = extra;
    pc.sockets = sockets;
    pc.socket_backlog = socket_backlog;
    if (socket_owner) {
      pc.socket_uid = socket_owner->uid;
      pc.socket_gid = socket_owner->gid;
    }
    pc.socket_mode = socket_mode;
    pc.depends_on = depends_on;
    pc.critical = *critical;
    processes.push_back(std::move(pc));
  }
  // Processes are ordered by priority (stable).
  std::stable_sort(processes.begin(), processes.end(),
                   [](const ProcessConfig& a, const ProcessConfig& b) { return a.priority < b.priority; });
  return processes;
}

Status Loader::read_groups() {
  const std::vector<std::string> sections = doc_.section_names();
  auto exists = [&](const std::string& s) { return std::find(sections.begin(), sections.end(), s) != sections.end(); };
  std::set<std::string> in_groups;
  std::vector<GroupConfig> groups;
  const Expansions names = with_env({{"here", here_}});

  for (const auto& section : sections) {
    if (section.rfind("group:", 0) != 0) continue;
    auto name = section_name(section);
    if (!name) return Error{name.error()};
    SUP_TRY(programs_text, get(section, "programs", names));
    std::vector<std::string> programs = parse_list_of_strings(programs_text->value_or(""));
    SUP_TRY(priority, get_int(section, "priority", names, 999));
    GroupConfig g;
    g.name = *name;
    g.priority = *priority;
    g.heterogeneous = true;
    for (const auto& program : programs) {
      const std::string p = "program:" + program;
      const std::string f = "fcgi-program:" + program;
      if (!exists(p) && !exists(f)) {
        return invalid(section, "programs", programs_text->value_or(""),
                       "names unknown program or fcgi-program " + quote(program));
      }
      if (exists(p) && exists(f)) {
        return invalid(section, "programs", programs_text->value_or(""),
                       "name " + quote(program) + " is ambiguous (exists as program and fcgi-program)");
      }
      const std::string member = exists(p) ? p : f;
      in_groups.insert(member);
      SUP_TRY(procs, processes_from_section(member, g.name));
      for (auto& pc : *procs) g.processes.push_back(std::move(pc));
    }
    groups.push_back(std::move(g));
  }

  for (const auto& section : sections) {
    if (section.rfind("program:", 0) != 0 || in_groups.count(section)) continue;
    auto name = section_name(section);
    if (!name) return Error{name.error()};
    GroupConfig g;
    g.name = *name;
    SUP_TRY(priority, get_int(section, "priority", names, 999));
    g.priority = *priority;
    SUP_TRY(procs, processes_from_section(section, g.name));
    g.processes = std::move(*procs);
    groups.push_back(std::move(g));
  }

  for (const auto& section : sections) {
    if (section.rfind("eventlistener:", 0) != 0) continue;
    auto name = section_name(section);
    if (!name) return Error{name.error()};
    GroupConfig g;
    g.name = *name;
    g.kind = GroupKind::EventListener;
    SUP_TRY(priority, get_int(section, "priority", names, -1));
    g.priority = *priority;
    SUP_TRY(buffer_size, get_int(section, "buffer_size", names, 10));
    if (*buffer_size < 1) {
      return invalid(section, "buffer_size", *raw(section, "buffer_size"), "must be at least 1");
    }
    g.buffer_size = *buffer_size;
    SUP_TRY(handler, get(section, "result_handler", names));
    g.result_handler = handler->value_or(kDefaultResultHandler);
    if (g.result_handler != kDefaultResultHandler) {
      cfg_.warnings.push_back("[" + section + "] result_handler '" + g.result_handler +
                              "' is a Python entry point and cannot be loaded; the default handler is used");
    }
    SUP_TRY(events_text, get(section, "events", names));
    for (std::string e : parse_list_of_strings(events_text->value_or(""))) {
      std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::toupper(c); });
      if (known_event_types().count(e) == 0) {
        return invalid(section, "events", events_text->value_or(""), "unknown event type " + quote(e));
      }
      if (std::find(g.events.begin(), g.events.end(), e) == g.events.end()) g.events.push_back(e);
    }
    if (g.events.empty()) return missing(section, "events", "an [eventlistener:x] section needs events=");
    SUP_TRY(redirect, get_bool(section, "redirect_stderr", names, false));
    if (*redirect) {
      return invalid(section, "redirect_stderr", *raw(section, "redirect_stderr"),
                     "not allowed for an event listener (it would interfere with the eventlistener protocol)");
    }
    SUP_TRY(procs, processes_from_section(section, g.name));
    g.processes = std::move(*procs);
    groups.push_back(std::move(g));
  }

  for (const auto& section : sections) {
    if (section.rfind("fcgi-program:", 0) != 0 || in_groups.count(section)) continue;
    auto name = section_name(section);
    if (!name) return Error{name.error()};
    GroupConfig g;
    g.name = *name;
    g.kind = GroupKind::FcgiProgram;
    SUP_TRY(priority, get_int(section, "priority", names, 999));
    g.priority = *priority;
    SUP_TRY(socket_options, fcgi_socket_options(section, *name));
    SUP_TRY(procs, processes_from_section(section, g.name));
    g.processes = std::move(*procs);
    for (auto& pc : g.processes) {
      for (const auto& [k, v] : *socket_options) pc.extra.mut()[k] = v;
      // The same options as socket= fields: the daemon's socket store binds
      // them and the spawner passes the socket as fd 0 (supervisord's fcgi).
      const auto& o = *socket_options;
      pc.sockets = {o.at("socket")};
      pc.socket_as_stdin = true;
      if (auto it = o.find("socket_backlog"); it != o.end()) pc.socket_backlog = std::stoi(it->second);
      if (auto it = o.find("socket_mode"); it != o.end())
        pc.socket_mode = static_cast<mode_t>(std::stoul(it->second, nullptr, 8));
      if (auto it = o.find("socket_owner"); it != o.end()) {
        auto colon = it->second.find(':');
        pc.socket_uid = static_cast<uid_t>(std::stoul(it->second.substr(0, colon)));
        std::string gid = it->second.substr(colon + 1);
        if (gid != "-1") pc.socket_gid = static_cast<gid_t>(std::stoul(gid));
      }
    }
    groups.push_back(std::move(g));
  }

  std::stable_sort(groups.begin(), groups.end(), [](const GroupConfig& a, const GroupConfig& b) {
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.name < b.name;
  });
  // [supervisord] environment= under each program's own environment=.
  for (auto& g : groups) {
    for (auto& pc : g.processes) {
      EnvList env = cfg_.supervisord.environment;
      merge_environment(env, pc.environment);
      pc.environment = std::move(env);
    }
  }
  if (Status st = check_dependencies(groups); !st) return st;
  cfg_.groups = std::move(groups);
  return {};
}

// Every depends_on= entry names a program or a group, and the programs'
// dependency graph (a "group:*" entry stands for each program of the group)
// has no cycle. The first problem, in section order, is the error.
Status Loader::check_dependencies(const std::vector<GroupConfig>& groups) const {
  std::map<std::string, std::vector<std::string>> group_programs;  // group -> programs
  std::map<std::string, const ProcessConfig*> programs;            // program -> its first process
  for (const auto& g : groups)
    for (const auto& pc : g.processes) {
      auto& list = group_programs[g.name];
      if (std::find(list.begin(), list.end(), pc.program) == list.end()) list.push_back(pc.program);
      programs.emplace(pc.program, &pc);
    }
  // program -> (entry, program it needs) edges, in the order written.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> edges;
  for (const auto& [program, pc] : programs) {
    const std::string section = "program:" + program;
    for (const std::string& entry : pc->depends_on) {
      if (entry.size() > 2 && entry.compare(entry.size() - 2, 2, ":*") == 0) {
        std::string group = entry.substr(0, entry.size() - 2);
        auto it = group_programs.find(group);
        if (it == group_programs.end()) return invalid(section, "depends_on", entry, "no such group");
        for (const auto& member : it->second) edges[program].emplace_back(entry, member);
      } else {
        if (!programs.count(entry)) return invalid(section, "depends_on", entry, "no such program");
        edges[program].emplace_back(entry, entry);
      }
    }
  }
  // Depth-first search; `path` is the chain from the root being explored.
  std::map<std::string, int> mark;  // 0 unvisited, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<Status(const std::string&)> visit = [&](const std::string& program) -> Status {
    mark[program] = 1;
    path.push_back(program);
    for (const auto& [entry, next] : edges[program]) {
      if (mark[next] == 1) {
        std::string chain;
        auto from = std::find(path.begin(), path.end(), next);
        for (auto it = from; it != path.end(); ++it) chain += *it + " -> ";
        chain += next;
        return invalid("program:" + *from, "depends_on", raw("program:" + *from, "depends_on").value_or(entry),
                       "dependency cycle: " + chain);
      }
      if (mark[next] == 0)
        if (Status st = visit(next); !st) return st;
    }
    path.pop_back();
    mark[program] = 2;
    return {};
  };
  for (const auto& section : doc_.section_names()) {
    if (section.rfind("program:", 0) != 0) continue;
    std::string program = section.substr(8);
    if (programs.count(program) && mark[program] == 0)
      if (Status st = visit(program); !st) return st;
  }
  return {};
}

Result<std::map<std::string, std::string>> Loader::fcgi_socket_options(const std::string& section,
                                                                       const std::string& program) {
  std::map<std::string, std::string> out;
  const Expansions names = with_env({{"here", here_}});
  SUP_TRY(user, get(section, "user", names));
  std::optional<UserIds> ids;
  if (*user) {
    auto u = parse_user(**user);
    if (!u) return invalid(section, "user", **user, u.error());
    ids = *u;
  }
  SUP_TRY(backlog, get(section, "socket_backlog", names));
  if (*backlog) {
    auto n = parse_integer(**backlog);
    if (!n || *n < 1 || *n > 65535) return invalid(section, "socket_backlog", **backlog, "must be an integer 1-65535");
    out["socket_backlog"] = std::to_string(*n);
  }
  SUP_TRY(owner, get(section, "socket_owner", names));
  if (*owner) {
    auto o = parse_user_group(**owner);
    if (!o) return invalid(section, "socket_owner", **owner, o.error());
    out["socket_owner"] = std::to_string(o->uid) + ":" + (o->gid ? std::to_string(*o->gid) : "-1");
  }
  SUP_TRY(mode, get(section, "socket_mode", names));
  if (*mode) {
    auto m = parse_octal(**mode);
    if (!m) return invalid(section, "socket_mode", **mode, m.error());
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", static_cast<unsigned>(*m));
    out["socket_mode"] = buf;
  }
  SUP_TRY(socket, get(section, "socket", with_env({{"here", here_}, {"program_name", program}})));
  if (!*socket || (*socket)->empty()) return missing(section, "socket", "an [fcgi-program:x] section needs socket=");
  const std::string& sock = **socket;
  const std::string formats = "expected tcp://host:port or unix:///absolute/path";
  if (sock.rfind("unix://", 0) == 0) {
    std::string path = sock.substr(7);
    if (path.empty() || path[0] != '/') return invalid(section, "socket", sock, "unix socket path is not absolute");
    out["socket"] = "unix://" + normalize_path(path);
    if (!*mode) out["socket_mode"] = "0700";
    if (!*owner && ids && ids->uid != ::getuid()) {
      out["socket_owner"] = std::to_string(ids->uid) + ":" + std::to_string(ids->gid);
    }
    return out;
  }
  if (*owner || *mode) {
    return invalid(section, "socket", sock, "socket_owner and socket_mode only apply to a unix socket");
  }
  if (sock.rfind("tcp://", 0) != 0) return invalid(section, "socket", sock, formats);
  const std::string rest = sock.substr(6);
  const size_t colon = rest.find(':');
  if (colon == std::string::npos || colon == 0 || rest.substr(0, colon).find_first_of(" \t\r\n") != std::string::npos) {
    return invalid(section, "socket", sock, formats);
  }
  const std::string port_text = rest.substr(colon + 1);
  if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos) {
    return invalid(section, "socket", sock, formats);
  }
  auto port = parse_integer(port_text);
  if (!port || *port < 1 || *port > 65535) return invalid(section, "socket", sock, "port must be 1-65535");
  std::string host = rest.substr(0, colon);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  out["socket"] = "tcp://" + host + ":" + std::to_string(*port);
  return out;
}

Status Loader::read_servers() {
  std::vector<HttpServerConfig> unix_servers, inet_servers;
  for (const auto& section : doc_.section_names()) {
    const bool is_unix = section.rfind("unix_http_server", 0) == 0;
    const bool is_inet = section.rfind("inet_http_server", 0) == 0;
    if (!is_unix && !is_inet) continue;
    HttpServerConfig server;
    server.section = section;
    SUP_TRY(username, get(section, "username", env_names_));
    SUP_TRY(password, get(section, "password", env_names_));
    if (username->has_value() != password->has_value()) {
      const std::string absent = *username ? "password" : "username";
      return missing(section, absent,
                     "if a username or a password is specified, both the username and password must be specified");
    }
    server.username = username->value_or("");
    server.password = password->value_or("");
    SUP_TRY(probes_public, get_bool(section, "probes_public", env_names_, false));
    server.probes_public = *probes_public;
    if (is_inet) {
      server.kind = HttpServerConfig::Kind::Inet;
      SUP_TRY(port, get(section, "port", env_names_));
      if (!*port) return missing(section, "port", "an [inet_http_server] section needs port=");
      auto addr = parse_inet_address(**port);
      if (!addr) return invalid(section, "port", **port, addr.error());
      server.host = addr->host;
      server.port = addr->port;
      inet_servers.push_back(std::move(server));
      continue;
    }
    server.kind = HttpServerConfig::Kind::Unix;
    SUP_TRY(file, get(section, "file", with_env({{"here", here_}})));
    if (!*file) return missing(section, "file", "a [unix_http_server] section needs file=");
    std::string path = **file;
    while (!path.empty() && std::isspace(static_cast<unsigned char>(path.back()))) path.pop_back();
    server.file = normalize_path(path);
    SUP_TRY(chown, get(section, "chown", env_names_));
    if (*chown) {
      auto ids = parse_user_group(**chown);
      if (!ids) return invalid(section, "chown", **chown, ids.error());
      server.chown_uid = ids->uid;
      server.chown_gid = ids->gid;
    }
    SUP_TRY(chmod, get(section, "chmod", env_names_));
    if (*chmod) {
      auto m = parse_octal(**chmod);
      if (!m) return invalid(section, "chmod", **chmod, m.error());
      server.chmod = *m;
    }
    SUP_TRY(allowed, get(section, "allowed_uids", env_names_));
    if (*allowed) {
      auto uids = parse_allowed_uids(**allowed);
      if (!uids) return invalid(section, "allowed_uids", **allowed, uids.error());
      server.allowed_uids = std::move(*uids);
    }
    unix_servers.push_back(std::move(server));
  }
  cfg_.servers = std::move(unix_servers);
  for (auto& s : inet_servers) cfg_.servers.push_back(std::move(s));
  return {};
}

Result<CtlConfig> Loader::read_ctl(const std::string& here, bool required) {
  CtlConfig ctl;
  const std::string sec = "supervisorctl";
  if (!doc_.has_section(sec)) {
    if (required) return Error{"file " + quote(main_path_) + " has no [supervisorctl] section"};
    return ctl;
  }
  const Expansions with_here = with_env({{"here", here}});
  SUP_TRY(serverurl, get(sec, "serverurl", with_here));
  ctl.serverurl = serverurl->value_or("http://localhost:9001");
  if (ctl.serverurl.rfind("unix://", 0) == 0) ctl.serverurl = "unix://" + normalize_path(ctl.serverurl.substr(7));
  SUP_TRY(prompt, get(sec, "prompt", env_names_));
  ctl.prompt = prompt->value_or("supervisor");
  SUP_TRY(username, get(sec, "username", env_names_));
  ctl.username = username->value_or("");
  SUP_TRY(password, get(sec, "password", env_names_));
  ctl.password = password->value_or("");
  SUP_TRY(history, get(sec, "history_file", with_here));
  if (*history && !(*history)->empty()) ctl.history_file = normalize_path(**history);
  return ctl;
}

Result<Config> Loader::load(const std::string& path) {
  if (Status s = read_main(path); !s) return Error{s.error()};
  cfg_.path = main_path_;
  if (Status s = read_includes(); !s) return Error{s.error()};
  if (Status s = read_supervisord(); !s) return Error{s.error()};
  if (Status s = read_rpcinterfaces(); !s) return Error{s.error()};
  if (Status s = read_groups(); !s) return Error{s.error()};
  if (Status s = read_servers(); !s) return Error{s.error()};
  auto ctl = read_ctl(here_, false);
  if (!ctl) return Error{ctl.error()};
  cfg_.ctl = *ctl;
  return std::move(cfg_);
}

Result<CtlConfig> Loader::load_ctl(const std::string& path) {
  if (Status s = read_main(path); !s) return Error{s.error()};
  // supervisorctl takes `here` from the normalized file path and does not
  // follow [include].
  return read_ctl(py_dirname(main_path_), true);
}

#undef SUP_TRY

}  // namespace

Result<Config> load_config(const std::string& path, const std::map<std::string, std::string>& env) {
  Loader loader(env);
  return one_line(loader.load(path));
}

Result<CtlConfig> load_ctl_config(const std::string& path, const std::map<std::string, std::string>& env) {
  Loader loader(env);
  return one_line(loader.load_ctl(path));
}

std::vector<std::string> default_config_search_paths(const std::string& argv0_dir) {
  const std::string parent = py_dirname(argv0_dir);
  return {py_join(py_join(parent, "etc"), "supervisord.conf"),
          py_join(parent, "supervisord.conf"),
          "supervisord.conf",
          "etc/supervisord.conf",
          "/etc/supervisord.conf",
          "/etc/supervisor/supervisord.conf"};
}

std::optional<std::string> find_config_file(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return p;
  }
  return std::nullopt;
}

std::map<std::string, std::string> current_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

}  // namespace sup::config
