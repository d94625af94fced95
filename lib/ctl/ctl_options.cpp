#include "ctl/ctl_options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "ctl/format.hpp"

namespace po = boost::program_options;

namespace sup::ctl {
namespace {

bool path_exists(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0;
}

std::string dirname_of(const std::string& p) {
  std::size_t slash = p.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (!b.empty() && b[0] == '/') return b;
  return a.back() == '/' ? a + b : a + "/" + b;
}

constexpr const char* kUsage =
    "supervisorctl: control the processes of a running supervisord.\n"
    "\n"
    "Usage: %s [options] [command [arguments]]\n"
    "\n"
    "Options:\n"
    "-c/--configuration FILE -- config file to read (default: searched for)\n"
    "-h/--help -- show this text and exit\n"
    "-i/--interactive -- run the interactive shell (also when no command is given)\n"
    "-s/--serverurl URL -- where supervisord listens: unix:///path/to/sock or\n"
    "     http://host:port (default \"http://localhost:9001\")\n"
    "-u/--username USER -- user name for the server's authentication\n"
    "-p/--password PASS -- password for the server's authentication\n"
    "-r/--history-file FILE -- keep the shell's line history in FILE\n"
    "\n"
    "command [arguments] -- one of the commands listed by \"help\"\n"
    "\n"
    "A command such as \"status\" or \"stop web\" runs once and its result is the\n"
    "exit status. Without a command (or with -i), an interactive shell reads\n"
    "commands; type \"help\" there for the list and \"help <command>\" for details.\n";

std::string usage_text(const std::string& progname) {
  std::string text = kUsage;
  std::size_t at = text.find("%s");
  if (at != std::string::npos) text.replace(at, 2, progname);
  return text + "\n";
}

Setup usage_error(const std::string& progname, const std::string& message) {
  Setup s;
  s.exit_now = true;
  s.exit_status = 2;
  s.err = "Error: " + message + "\nFor help, use " + progname + " -h\n";
  return s;
}

// urlparse()'s view of a URL: scheme, and whether netloc or path is present.
bool looks_like_url(const std::string& value) {
  std::size_t colon = value.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  if (!std::isalpha(static_cast<unsigned char>(value[0]))) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    char c = value[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  std::string rest = value.substr(colon + 1);
  std::string netloc;
  if (rest.rfind("//", 0) == 0) {
    std::size_t end = rest.find_first_of("/?#", 2);
    netloc = rest.substr(2, end == std::string::npos ? std::string::npos : end - 2);
    rest = end == std::string::npos ? "" : rest.substr(end);
  }
  std::size_t q = rest.find_first_of("?#");
  std::string path = rest.substr(0, q);
  return !netloc.empty() || !path.empty();
}

// The option getopt complains about for an unrecognised word: the first
// unknown letter of a short-option cluster, or a long name without "=value".
std::string getopt_spelling(const std::string& token) {
  if (token.rfind("--", 0) == 0) return token.substr(0, token.find('='));
  const std::string flags = "hi?";
  const std::string with_value = "csupr";
  for (std::size_t i = 1; i < token.size(); ++i) {
    char c = token[i];
    if (with_value.find(c) != std::string::npos) break;
    if (flags.find(c) == std::string::npos) return std::string("-") + c;
  }
  return token;
}

// Everything from the first word that is not an option on is the command.
std::vector<po::option> stop_at_command(std::vector<std::string>& args) {
  std::vector<po::option> result;
  if (args.empty()) return result;
  const std::string& first = args.front();
  if (!first.empty() && first[0] == '-' && first != "-") return result;
  for (const auto& a : args) {
    po::option o;
    o.value.push_back(a);
    o.original_tokens.push_back(a);
    result.push_back(std::move(o));
  }
  args.clear();
  return result;
}

// Python's '%'-formatting with a mapping, as supervisor expands config values.
std::optional<std::string> expand(const std::string& s, const std::map<std::string, std::string>& names,
                                  const std::string& where, std::string* error) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 1 < s.size() && s[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    std::size_t close = s.find(')', i);
    if (i + 1 < s.size() && s[i + 1] == '(' && close != std::string::npos && close + 1 < s.size() &&
        s[close + 1] == 's') {
      std::string key = s.substr(i + 2, close - i - 2);
      auto it = names.find(key);
      if (it == names.end()) {
        std::string available;
        for (const auto& [k, v] : names) available += (available.empty() ? "" : ", ") + k;
        *error = "Format string " + py_repr(s) + " for " + py_repr(where) + " contains names (" + py_repr(key) +
                 ") which cannot be expanded. Available names: " + available;
        return std::nullopt;
      }
      out += it->second;
      i = close + 1;
      continue;
    }
    *error = "Format string " + py_repr(s) + " for " + py_repr(where) + " is badly formatted: " +
             (i + 1 >= s.size() ? "incomplete format" : "unsupported format character");
    return std::nullopt;
  }
  return out;
}

// The [supervisorctl] section of an INI file, read with RawConfigParser's
// rules (comments, inline comments after whitespace, '='/':' delimiters,
// lower-cased keys, indented continuation lines, last duplicate wins).
// Returns an error message for text RawConfigParser refuses.
std::optional<std::string> read_ini_section(std::istream& in, const std::string& path, const std::string& wanted,
                                            bool* found, std::map<std::string, std::string>* values) {
  std::string line;
  int lineno = 0;
  bool in_any_section = false;
  bool in_wanted = false;
  std::string current_key;
  std::size_t current_indent = 0;
  std::map<std::string, std::vector<std::string>> parts;  // wanted section only
  std::map<std::string, std::vector<std::string>> defaults;
  std::map<std::string, std::vector<std::string>>* target = nullptr;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Inline comment: ';' or '#' preceded by whitespace.
    for (std::size_t i = 1; i < line.size(); ++i) {
      if ((line[i] == ';' || line[i] == '#') && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
        line.erase(i);
        break;
      }
    }
    std::string_view stripped = strip(line);
    if (!stripped.empty() && (stripped[0] == ';' || stripped[0] == '#')) continue;
    std::size_t indent = line.find_first_not_of(" \t");
    if (stripped.empty()) {
      if (target != nullptr && !current_key.empty()) (*target)[current_key].emplace_back();
      continue;
    }
    if (target != nullptr && !current_key.empty() && indent > current_indent) {
      (*target)[current_key].emplace_back(stripped);
      continue;
    }
    if (stripped.front() == '[' && stripped.find(']') != std::string_view::npos && indent == 0) {
      std::size_t close = stripped.rfind(']');
      std::string name(stripped.substr(1, close - 1));
      in_any_section = true;
      in_wanted = name == wanted;
      if (in_wanted) *found = true;
      target = in_wanted ? &parts : (name == "DEFAULT" ? &defaults : nullptr);
      current_key.clear();
      // Sections we do not read still need their keys tracked for continuation lines.
      if (target == nullptr) {
        static std::map<std::string, std::vector<std::string>> ignored;
        ignored.clear();
        target = &ignored;
      }
      continue;
    }
    if (!in_any_section)
      return "File contains no section headers.\nfile: " + py_repr(path) + ", line: " + std::to_string(lineno) +
             "\n" + py_repr(line);
    std::size_t delim = line.find_first_of("=:");
    if (delim == std::string::npos)
      return "Source contains parsing errors: " + py_repr(path) + "\n\t[line " + std::to_string(lineno) +
             "]: " + py_repr(line);
    std::string key(strip(std::string_view(line).substr(0, delim)));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value(strip(std::string_view(line).substr(delim + 1)));
    (*target)[key] = {value};
    current_key = key;
    current_indent = indent;
  }
  auto join = [](const std::vector<std::string>& v) {
    std::size_t n = v.size();
    while (n > 1 && v[n - 1].empty()) --n;  // trailing blank lines do not belong to the value
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i ? "\n" : "") + v[i];
    return s;
  };
  for (const auto& [k, v] : defaults) (*values)[k] = join(v);
  for (const auto& [k, v] : parts) (*values)[k] = join(v);
  return std::nullopt;
}

}  // namespace

std::string normalize_path(const std::string& p) {
  std::string s = p;
  if (!s.empty() && s[0] == '~' && (s.size() == 1 || s[1] == '/')) {
    const char* home = std::getenv("HOME");
    if (home != nullptr) s = std::string(home) + s.substr(1);
  }
  if (s.empty() || s[0] != '/') {
    char buf[4096];
    std::string cwd = ::getcwd(buf, sizeof buf) ? buf : "/";
    s = join_path(cwd, s);
  }
  // normpath: collapse "//", ".", "..".
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& x : parts) out += "/" + x;
  return out.empty() ? "/" : out;
}

std::string resolve_progname(const std::string& argv0, const char* path_env) {
  if (argv0.find('/') != std::string::npos || path_env == nullptr) return argv0;
  std::stringstream ss(path_env);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string candidate = join_path(dir.empty() ? "." : dir, argv0);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return argv0;
}

std::vector<std::string> config_search_paths(const std::string& progname) {
  const std::string here = dirname_of(dirname_of(progname));
  return {join_path(here, "etc/supervisord.conf"),
          join_path(here, "supervisord.conf"),
          "supervisord.conf",
          "etc/supervisord.conf",
          "/etc/supervisord.conf",
          "/etc/supervisor/supervisord.conf"};
}

std::optional<CtlSectionError> read_ctl_section(const std::string& path, const std::map<std::string, std::string>& env,
                                                CtlSection* out) {
  if (!path_exists(path)) return CtlSectionError{true, "could not find config file " + path};
  std::ifstream in(path);
  if (!in) return CtlSectionError{true, "could not read config file " + path};
  bool found = false;
  std::map<std::string, std::string> values;
  if (auto err = read_ini_section(in, path, "supervisorctl", &found, &values)) return CtlSectionError{false, *err};
  if (!found) return CtlSectionError{true, ".ini file does not include supervisorctl section"};

  std::map<std::string, std::string> names;
  for (const auto& [k, v] : env) names["ENV_" + k] = v;
  std::map<std::string, std::string> with_here = names;
  with_here["here"] = dirname_of(normalize_path(path));

  std::string error;
  auto get = [&](const std::string& key, const std::map<std::string, std::string>& vars) -> std::optional<std::string> {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return expand(it->second, vars, "supervisorctl." + key, &error);
  };
  CtlSection section;
  if (values.count("serverurl")) {
    auto v = get("serverurl", with_here);
    if (!v) return CtlSectionError{true, error};
    section.serverurl = *v;
  } else {
    section.serverurl = "http://localhost:9001";
  }
  if (section.serverurl.rfind("unix://", 0) == 0)
    section.serverurl = "unix://" + normalize_path(section.serverurl.substr(7));
  for (const char* key : {"prompt", "username", "password"}) {
    if (!values.count(key)) continue;
    auto v = get(key, names);
    if (!v) return CtlSectionError{true, error};
    if (std::string(key) == "prompt") section.prompt = *v;
    else if (std::string(key) == "username") section.username = *v;
    else section.password = *v;
  }
  if (values.count("history_file")) {
    auto v = get("history_file", with_here);
    if (!v) return CtlSectionError{true, error};
    if (!v->empty()) section.history_file = normalize_path(*v);
  }
  *out = std::move(section);
  return std::nullopt;
}

Setup setup_from_command_line(const std::string& progname, const std::vector<std::string>& raw_args,
                              const std::map<std::string, std::string>& env) {
  // "-?" is a synonym of -h (Boost has no short option named '?').
  std::vector<std::string> args = raw_args;
  for (auto& a : args) {
    if (a.empty() || a[0] != '-' || a == "-") break;
    if (a == "--") break;
    if (a == "-?") a = "-h";
  }

  po::options_description desc;
  desc.add_options()("configuration,c", po::value<std::string>())("help,h", "")("interactive,i", "")(
      "serverurl,s", po::value<std::string>())("username,u", po::value<std::string>())(
      "password,p", po::value<std::string>())("history_file,r", po::value<std::string>())(
      "command", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("command", -1);

  po::parsed_options parsed(&desc);
  try {
    parsed = po::command_line_parser(args)
                 .options(desc)
                 .positional(positional)
                 .extra_style_parser(stop_at_command)
                 .style(po::command_line_style::default_style)
                 .run();
  } catch (const po::unknown_option& e) {
    return usage_error(progname, "option " + getopt_spelling(e.get_option_name()) + " not recognized");
  } catch (const po::ambiguous_option& e) {
    return usage_error(progname, "option " + e.get_option_name() + " not a unique prefix");
  } catch (const po::invalid_command_line_syntax& e) {
    if (e.kind() == po::invalid_command_line_syntax::missing_parameter) {
      // Only the last word can lack its argument; getopt names it as typed
      // (short) or in full (long).
      const std::string& last = args.back();
      std::string name = last.rfind("--", 0) == 0 ? e.get_option_name() : "-" + last.substr(last.size() - 1);
      return usage_error(progname, "option " + name + " requires argument");
    }
    if (e.kind() == po::invalid_command_line_syntax::extra_parameter)
      return usage_error(progname, "option " + e.get_option_name() + " must not have an argument");
    return usage_error(progname, e.what());
  } catch (const po::error& e) {
    return usage_error(progname, e.what());
  }

  Setup setup;
  CtlOptions& o = setup.options;
  o.progname = progname;
  std::optional<std::string> cli_serverurl;
  bool cli_interactive = false;
  std::map<std::string, bool> seen;
  for (const auto& opt : parsed.options) {
    if (opt.string_key == "command") {
      o.args.insert(o.args.end(), opt.value.begin(), opt.value.end());
      continue;
    }
    const std::string& token = opt.original_tokens.empty() ? opt.string_key : opt.original_tokens.front();
    const po::option_description* d = desc.find_nothrow(opt.string_key, false);
    const std::string spelled =
        token.rfind("--", 0) == 0 ? "--" + opt.string_key : "-" + (d ? d->canonical_display_name(
                                                                           po::command_line_style::allow_dash_for_short)
                                                                         .substr(1)
                                                                   : opt.string_key);
    if (opt.string_key == "help") {
      setup.exit_now = true;
      setup.exit_status = 0;
      setup.out = usage_text(progname);
      return setup;
    }
    if (seen[opt.string_key]) return usage_error(progname, "conflicting command line option " + py_repr(spelled));
    seen[opt.string_key] = true;
    const std::string value = opt.value.empty() ? std::string() : opt.value.front();
    if (opt.string_key == "configuration") o.configfile = value;
    else if (opt.string_key == "interactive") cli_interactive = true;
    else if (opt.string_key == "serverurl") {
      if (!looks_like_url(value))
        return usage_error(progname, "invalid value for " + spelled + " " + py_repr(value) + ": value " +
                                         py_repr(value) + " is not a URL");
      cli_serverurl = value;
    } else if (opt.string_key == "username") o.username = value;
    else if (opt.string_key == "password") o.password = value;
    else if (opt.string_key == "history_file") o.history_file = value;
  }

  if (!o.configfile) {
    for (const auto& p : config_search_paths(progname)) {
      if (path_exists(p)) {
        o.configfile = p;
        break;
      }
    }
  }
  if (o.configfile) {
    CtlSection section;
    if (auto err = read_ctl_section(*o.configfile, env, &section)) {
      if (err->usage) return usage_error(progname, err->message);
      Setup s;
      s.exit_now = true;
      s.exit_status = 1;
      s.err = "Error: " + err->message + "\n";
      return s;
    }
    o.serverurl = section.serverurl;
    if (!o.username) o.username = section.username;
    if (!o.password) o.password = section.password;
    o.prompt = section.prompt;
    if (!o.history_file) o.history_file = section.history_file;
  }
  if (cli_serverurl) o.serverurl = *cli_serverurl;
  o.interactive = cli_interactive || o.args.empty();
  return setup;
}

}  // namespace sup::ctl
