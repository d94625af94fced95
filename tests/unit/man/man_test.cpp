// The manual pages in man/: each renders with man(1) without a single
// warning, and each mentions everything a user must be able to look up
// (every command-line option, every supervisorctl command, every option the
// config loader accepts).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/format.hpp"

extern char** environ;

namespace {

std::string man_dir() {
  const char* d = std::getenv("MAN_DIR");
  return d != nullptr ? d : "";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The man(1) executable on PATH, or "" when it is not installed.
std::string find_man() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/man";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct Rendered {
  int status = -1;   // exit status of man, -1 when it could not run
  std::string out;   // the page as text (overstrike sequences removed)
  std::string err;   // everything man/groff wrote on stderr
};

// Drops "X\bX" / "_\bX" overstriking in case the formatter keeps it.
std::string plain_text(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\b') {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out += c;
  }
  return out;
}

// man --warnings -l -E UTF-8 PAGE with MANWIDTH=80 and stdout on a pipe
// (so no pager is involved); stderr goes to a temporary file.
Rendered render(const std::string& man, const std::string& page) {
  Rendered r;
  char err_path[] = "/tmp/unit_man_stderr_XXXXXX";
  int err_fd = ::mkstemp(err_path);
  REQUIRE_MESSAGE(err_fd >= 0, "mkstemp: " << std::strerror(errno));
  ::unlink(err_path);
  int out_pipe[2];
  REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    for (const char* drop : {"MANWIDTH=", "MANPAGER=", "PAGER=", "MAN_KEEP_FORMATTING=", "MANROFFOPT="}) {
      if (kv.rfind(drop, 0) == 0) kv.clear();
    }
    if (!kv.empty()) env.push_back(kv);
  }
  env.emplace_back("MANWIDTH=80");
  env.emplace_back("MANPAGER=cat");
  std::vector<char*> envp;
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);

  std::vector<std::string> args = {man, "--warnings", "-l", "-E", "UTF-8", page};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, man.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_fd);
    FAIL("could not run " << man << ": " << std::strerror(rc));
  }
  char buf[8192];
  ssize_t n = 0;
  while ((n = ::read(out_pipe[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) r.out.append(buf, static_cast<size_t>(n));
  }
  ::close(out_pipe[0]);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  ::lseek(err_fd, 0, SEEK_SET);
  while ((n = ::read(err_fd, buf, sizeof buf)) > 0) r.err.append(buf, static_cast<size_t>(n));
  ::close(err_fd);
  r.out = plain_text(r.out);
  return r;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

// `word` occurs in `text` as a whole token: not glued to letters, digits,
// '_', '-' or '.' on either side ("-c" does not match inside "--config").
bool mentions(const std::string& text, const std::string& word) {
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool left_ok = at == 0 || !word_char(text[at - 1]);
    size_t end = at + word.size();
    // A sentence may end right after the word.
    bool right_ok = end == text.size() || !word_char(text[end]) ||
                    (text[end] == '.' && (end + 1 == text.size() || !word_char(text[end + 1])));
    if (left_ok && right_ok) return true;
  }
  return false;
}

// The text between the heading line `from` and the next line starting with
// a letter in column 0 or 3 (the next .SH or .SS heading).
std::string section_text(const std::string& text, const std::string& heading) {
  size_t at = text.find("\n" + heading + "\n");
  if (at == std::string::npos) return "";
  at += heading.size() + 1;  // keep the newline: entries are found as "\n<indent>word"
  size_t end = at;
  while (end < text.size()) {
    size_t nl = text.find('\n', end);
    if (nl == std::string::npos) return text.substr(at);
    size_t line = nl + 1;
    bool heading_line = line < text.size() && (std::isalpha(static_cast<unsigned char>(text[line])) ||
                                               (text.compare(line, 3, "   ") == 0 && line + 3 < text.size() &&
                                                std::isalpha(static_cast<unsigned char>(text[line + 3]))));
    if (heading_line) return text.substr(at, line - at);
    end = line;
  }
  return text.substr(at);
}

// Renders `page` and checks what every page must satisfy.
Rendered render_checked(const std::string& name) {
  std::string dir = man_dir();
  REQUIRE_MESSAGE(!dir.empty(), "MAN_DIR is not set (the meson test sets it)");
  std::string page = dir + "/" + name;
  struct stat st {};
  REQUIRE_MESSAGE(::stat(page.c_str(), &st) == 0, page << " does not exist");
  std::string man = find_man();
  REQUIRE_MESSAGE(!man.empty(), "man(1) is not installed: install man-db and groff-base (scripts/deps.txt)");
  Rendered r = render(man, page);
  CHECK_MESSAGE(r.status == 0, name << ": man exited with " << r.status << "; stderr:\n" << r.err);
  std::istringstream lines(r.err);
  std::string line;
  while (std::getline(lines, line)) {
    CHECK_MESSAGE(line.find_first_not_of(" \t\r") == std::string::npos, name << ": formatter warning: " << line);
  }
  for (const char* heading : {"NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"}) {
    if (std::string(heading) == "SYNOPSIS" && name == "supervisord.conf.5") continue;
    CHECK_MESSAGE(r.out.find("\n" + std::string(heading) + "\n") != std::string::npos, name << " lacks " << heading);
  }
  // MANWIDTH=80 is honoured: nothing runs past column 80.
  std::istringstream out(r.out);
  while (std::getline(out, line)) {
    size_t columns = 0;
    for (unsigned char c : line) columns += (c & 0xC0) != 0x80;  // UTF-8 code points
    CHECK_MESSAGE(columns <= 80, name << ": line wider than 80 columns: " << line);
  }
  return r;
}

// The quoted strings of `known_program_keys()` in the config loader: every
// key a [program:x]-like section accepts.
std::vector<std::string> loader_program_keys() {
  std::string src = read_file(man_dir() + "/../lib/config/loader.cpp");
  REQUIRE_MESSAGE(!src.empty(), "cannot read lib/config/loader.cpp next to MAN_DIR");
  size_t begin = src.find("known_program_keys() {");
  REQUIRE_MESSAGE(begin != std::string::npos, "loader.cpp no longer defines known_program_keys()");
  size_t end = src.find("return keys;", begin);
  REQUIRE(end != std::string::npos);
  std::vector<std::string> keys;
  std::string body = src.substr(begin, end - begin);
  // Skip comments so that quoted words in them are not taken for keys.
  std::string code;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) code += line.substr(0, line.find("//")) + "\n";
  for (size_t q = code.find('"'); q != std::string::npos; q = code.find('"', q + 1)) {
    size_t close = code.find('"', q + 1);
    REQUIRE(close != std::string::npos);
    keys.push_back(code.substr(q + 1, close - q - 1));
    q = close;
  }
  return keys;
}

}  // namespace

TEST_CASE("supervisord.8 renders cleanly and documents every option, signal and exit status") {
  Rendered r = render_checked("supervisord.8");
  const std::vector<std::string> options = {
      "-c", "--configuration", "-n", "--nodaemon", "-s", "--silent", "-h", "--help", "-v", "--version",
      "-u", "--user", "-m", "--umask", "-d", "--directory", "-l", "--logfile", "-y", "--logfile_maxbytes",
      "-z", "--logfile_backups", "-e", "--loglevel", "-j", "--pidfile", "-i", "--identifier", "-q",
      "--childlogdir", "-k", "--nocleanup", "-a", "--minfds", "-t", "--strip_ansi", "--minprocs",
      "--profile_options", "--echo-config"};
  std::string opts = section_text(r.out, "OPTIONS");
  REQUIRE_FALSE(opts.empty());
  for (const auto& o : options) CHECK_MESSAGE(mentions(opts, o), "OPTIONS lacks " << o);
  std::string sigs = section_text(r.out, "SIGNALS");
  for (const char* s : {"SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR2", "SIGCHLD"})
    CHECK_MESSAGE(mentions(sigs, s), "SIGNALS lacks " << s);
  std::string exits = section_text(r.out, "EXIT STATUS");
  for (const char* code : {"0", "2"}) CHECK_MESSAGE(mentions(exits, code), "EXIT STATUS lacks " << code);
  std::string search = section_text(r.out, "CONFIGURATION SEARCH PATH");
  for (const char* p : {"/etc/supervisord.conf", "/etc/supervisor/supervisord.conf", "etc/supervisord.conf"})
    CHECK_MESSAGE(search.find(p) != std::string::npos, "search path lacks " << p);
  std::string log = section_text(r.out, "DAEMON LOG FORMAT");
  for (const char* level : {"CRIT", "ERRO", "WARN", "INFO", "DEBG", "TRAC", "BLAT"})
    CHECK_MESSAGE(mentions(log, level), "log format lacks level " << level);
  CHECK_FALSE(section_text(r.out, "FILES").empty());
}

TEST_CASE("supervisorctl.1 renders cleanly and documents every option, command and exit code") {
  Rendered r = render_checked("supervisorctl.1");
  std::string opts = section_text(r.out, "OPTIONS");
  REQUIRE_FALSE(opts.empty());
  for (const char* o : {"-c", "--configuration", "-s", "--serverurl", "-u", "--username", "-p", "--password", "-i",
                        "--interactive", "-r", "--history-file", "-h", "--help"})
    CHECK_MESSAGE(mentions(opts, o), "OPTIONS lacks " << o);
  std::string cmds = section_text(r.out, "COMMANDS");
  REQUIRE_FALSE(cmds.empty());
  // Every command the client lists in "help" has an entry of its own: a
  // line that starts with the command name.
  const auto& documented = sup::ctl::documented_commands();
  CHECK(documented.size() >= 21);
  for (const auto& c : documented) {
    const bool has_entry = cmds.find("\n       " + c + "\n") != std::string::npos ||
                           cmds.find("\n       " + c + " ") != std::string::npos;
    CHECK_MESSAGE(has_entry, "COMMANDS lacks an entry for " << c);
  }
  CHECK_MESSAGE(cmds.find("restart --rolling") != std::string::npos, "COMMANDS lacks restart --rolling");
  std::string names = section_text(r.out, "NAMES");
  for (const char* form : {"group:name", "group:*", "all"}) CHECK_MESSAGE(mentions(names, form), "NAMES lacks " << form);
  std::string exits = section_text(r.out, "EXIT STATUS");
  for (int code : {sup::ctl::exit_code::kGeneric, sup::ctl::exit_code::kInvalidArgs,
                   sup::ctl::exit_code::kUnimplementedFeature, sup::ctl::exit_code::kInsufficientPrivileges,
                   sup::ctl::exit_code::kNotInstalled, sup::ctl::exit_code::kNotRunning, 0}) {
    const std::string entry = "\n       " + std::to_string(code);
    const bool has_entry = exits.find(entry + "\n") != std::string::npos || exits.find(entry + " ") != std::string::npos;
    CHECK_MESSAGE(has_entry, "EXIT STATUS lacks an entry for " << code);
  }
}

TEST_CASE("supervisord.conf.5 renders cleanly and documents every section and option the loader accepts") {
  Rendered r = render_checked("supervisord.conf.5");
  struct Section {
    std::string heading;
    std::vector<std::string> keys;
  };
  const std::vector<Section> sections = {
      {"SECTION [supervisord]",
       {"logfile", "logfile_maxbytes", "logfile_backups", "loglevel", "pidfile", "umask", "nodaemon", "silent",
        "minfds", "minprocs", "nocleanup", "childlogdir", "user", "directory", "strip_ansi", "environment",
        "identifier"}},
      {"SECTION [group:x]", {"programs", "priority"}},
      {"SECTION [include]", {"files"}},
      {"SECTION [unix_http_server]", {"file", "chmod", "chown", "username", "password"}},
      {"SECTION [inet_http_server]", {"port", "username", "password"}},
      {"SECTION [supervisorctl]", {"serverurl", "username", "password", "prompt", "history_file"}},
      {"SECTION [rpcinterface:x]", {"supervisor.rpcinterface_factory"}},
      {"SECTION [eventlistener:x]", {"events", "buffer_size", "result_handler", "priority", "redirect_stderr"}},
      {"SECTION [fcgi-program:x]", {"socket", "socket_backlog", "socket_owner", "socket_mode"}},
  };
  for (const auto& s : sections) {
    std::string body = section_text(r.out, s.heading);
    CHECK_MESSAGE(!body.empty(), "no section " << s.heading);
    for (const auto& k : s.keys) CHECK_MESSAGE(mentions(body, k), s.heading << " lacks " << k);
  }

  // Every key a program section accepts, read from the loader itself, is
  // documented either as a supervisord option or as an extension.
  std::string program = section_text(r.out, "SECTION [program:x]");
  std::string listener = section_text(r.out, "SECTION [eventlistener:x]");
  std::string fcgi = section_text(r.out, "SECTION [fcgi-program:x]");
  std::string extensions = section_text(r.out, "EXTENSIONS");
  REQUIRE_FALSE(program.empty());
  REQUIRE_FALSE(extensions.empty());
  // The .SS subsections of EXTENSIONS are indented headings: collect the
  // whole chapter up to the next .SH.
  size_t ext_at = r.out.find("\nEXTENSIONS\n");
  size_t ext_end = r.out.find("\nEXAMPLE\n", ext_at);
  REQUIRE(ext_at != std::string::npos);
  REQUIRE(ext_end != std::string::npos);
  extensions = r.out.substr(ext_at, ext_end - ext_at);
  std::string not_yet = section_text(r.out, "   Not yet available");
  const std::set<std::string> extension_keys = {
      "restart_delay", "backoff", "backoff_max", "backoff_reset", "restart_limit", "healthcheck",
      "healthcheck_interval", "healthcheck_timeout", "healthcheck_retries", "healthcheck_start_period",
      "healthcheck_action", "ready", "watchdog_sec", "depends_on", "critical"};
  std::vector<std::string> keys = loader_program_keys();
  CHECK(keys.size() >= 40);
  for (const auto& k : keys) {
    bool documented = mentions(program, k) || mentions(listener, k) || mentions(fcgi, k) || mentions(extensions, k);
    CHECK_MESSAGE(documented, "option " << k << " accepted by the loader is not documented");
    CHECK_MESSAGE(!mentions(not_yet, k), "option " << k << " exists in the loader but is documented as not yet available");
    if (extension_keys.count(k)) CHECK_MESSAGE(mentions(extensions, k), "extension " << k << " not under EXTENSIONS");
  }
  // Extensions the loader does not know yet must be marked as such.
  for (const auto& k : extension_keys) {
    bool in_loader = std::find(keys.begin(), keys.end(), k) != keys.end();
    if (!in_loader) CHECK_MESSAGE(mentions(not_yet, k), "extension " << k << " is not in the loader: mark it as not yet available");
  }
  // socket= of [program:x] is an extension too (fcgi-program has its own).
  for (const char* k : {"socket", "socket_owner", "socket_mode", "socket_backlog"})
    CHECK_MESSAGE(mentions(extensions, k), "EXTENSIONS lacks " << k);

  std::string expansions = section_text(r.out, "EXPANSIONS");
  for (const char* e : {"%(here)s", "%(program_name)s", "%(group_name)s", "%(process_num)d", "%(numprocs)d",
                        "%(host_node_name)s"})
    CHECK_MESSAGE(expansions.find(e) != std::string::npos, "EXPANSIONS lacks " << e);
  CHECK(expansions.find("%(ENV_") != std::string::npos);
  std::string logs = section_text(r.out, "LOG FILES AND ROTATION");
  for (const char* w : {"AUTO", "NONE", "syslog"}) CHECK_MESSAGE(mentions(logs, w), "log section lacks " << w);
  CHECK_FALSE(section_text(r.out, "FILE SYNTAX").empty());
}
