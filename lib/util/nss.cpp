#include "util/nss.hpp"

#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <map>

extern char** environ;

namespace sup::nss {
namespace {

bool g_builtin_only = false;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    std::size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string read_file(const char* path) {
  std::string out;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(fd);
  return out;
}

bool external(std::string_view db) {
  return g_builtin_only && lists_external_sources(read_file("/etc/nsswitch.conf"), db);
}

// getent's standard output when it exits 0 (found), otherwise nothing.
std::optional<std::string> getent(std::initializer_list<std::string> args) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> argv_s{"getent"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "getent", &fa, &at, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(p[0], buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    else if (n == 0 || errno != EINTR) break;
  }
  ::close(p[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

std::string_view first_line(std::string_view s) { return s.substr(0, s.find('\n')); }

User from_passwd(const passwd& pw) { return User{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir}; }

}  // namespace

bool lists_external_sources(std::string_view conf, std::string_view db) {
  while (!conf.empty()) {
    std::string_view line = first_line(conf);
    conf.remove_prefix(std::min(conf.size(), line.size() + 1));
    line = line.substr(0, line.find('#'));
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (name != db) continue;
    // Sources, with [STATUS=action] items between them.
    std::string_view rest = line.substr(colon + 1);
    bool in_action = false;
    std::size_t i = 0;
    while (i < rest.size()) {
      char c = rest[i];
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      if (in_action || c == '[') {
        std::size_t close = rest.find(']', i);
        if (close == std::string_view::npos) break;
        i = close + 1;
        in_action = false;
        continue;
      }
      std::size_t end = rest.find_first_of(" \t\r[", i);
      std::string_view source = rest.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
      if (source != "files" && !(source == "dns" && (db == "hosts" || db == "networks"))) return true;
      i = end == std::string_view::npos ? rest.size() : end;
    }
    return false;
  }
  return false;  // no line: glibc's default is files
}

std::optional<User> parse_passwd_line(std::string_view line) {
  auto f = split(first_line(line), ':');
  if (f.size() < 7 || f[0].empty()) return std::nullopt;
  auto uid = number<uid_t>(f[2]);
  auto gid = number<gid_t>(f[3]);
  if (!uid || !gid) return std::nullopt;
  return User{std::string(f[0]), *uid, *gid, std::string(f[5])};
}

std::optional<gid_t> parse_group_line_gid(std::string_view line) {
  auto f = split(first_line(line), ':');
  if (f.size() < 4 || f[0].empty()) return std::nullopt;
  return number<gid_t>(f[2]);
}

std::vector<gid_t> parse_initgroups_line(std::string_view line) {
  // "name" then the gids, separated by blanks.
  std::vector<gid_t> out;
  line = first_line(line);
  bool first = true;
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t end = line.find_first_of(" \t", i);
    std::string_view word = line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (!first) {
      if (auto g = number<gid_t>(word)) out.push_back(*g);
    }
    first = false;
    i = end == std::string_view::npos ? line.size() : end;
  }
  return out;
}

std::vector<std::string> parse_ahosts(std::string_view out) {
  // "ADDRESS  STREAM|DGRAM|RAW  [name]" per line.
  std::vector<std::string> addrs;
  while (!out.empty()) {
    std::string_view line = first_line(out);
    out.remove_prefix(std::min(out.size(), line.size() + 1));
    std::size_t end = line.find_first_of(" \t");
    std::string addr(line.substr(0, end));
    if (!addr.empty() && std::find(addrs.begin(), addrs.end(), addr) == addrs.end()) addrs.push_back(addr);
  }
  return addrs;
}

std::vector<std::string> host_addresses_elsewhere(const std::string& host) {
  if (host.empty() || !external("hosts")) return {};
  auto out = getent({"ahosts", host});
  return out ? parse_ahosts(*out) : std::vector<std::string>{};
}

std::optional<User> user_named(const std::string& name) {
  if (const passwd* pw = ::getpwnam(name.c_str())) return from_passwd(*pw);
  if (external("passwd"))
    if (auto out = getent({"passwd", name}))
      if (auto u = parse_passwd_line(*out); u && u->name == name) return u;
  return std::nullopt;
}

std::optional<User> user_with_id(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return from_passwd(*pw);
  if (external("passwd"))
    if (auto out = getent({"passwd", std::to_string(uid)}))
      if (auto u = parse_passwd_line(*out); u && u->uid == uid) return u;
  return std::nullopt;
}

std::optional<gid_t> group_named(const std::string& name) {
  if (const group* gr = ::getgrnam(name.c_str())) return gr->gr_gid;
  if (external("group"))
    if (auto out = getent({"group", name})) return parse_group_line_gid(*out);
  return std::nullopt;
}

bool group_exists(gid_t gid) {
  if (::getgrgid(gid) != nullptr) return true;
  if (external("group"))
    if (auto out = getent({"group", std::to_string(gid)})) return parse_group_line_gid(*out) == gid;
  return false;
}

std::vector<gid_t> group_list(const std::string& user, gid_t gid) {
  std::vector<gid_t> groups(32);
  int n = static_cast<int>(groups.size()), r;
  while ((r = ::getgrouplist(user.c_str(), gid, groups.data(), &n)) < 0 && n > static_cast<int>(groups.size()))
    groups.resize(static_cast<std::size_t>(n));
  // A lookup that failed otherwise: gid alone.
  groups.resize(r >= 0 && n > 0 ? static_cast<std::size_t>(n) : 0);
  if (groups.empty()) groups.push_back(gid);
  const std::string conf = g_builtin_only ? read_file("/etc/nsswitch.conf") : std::string();
  if (lists_external_sources(conf, "group") || lists_external_sources(conf, "initgroups")) {
    struct Cached {
      std::chrono::steady_clock::time_point at;
      std::vector<gid_t> gids;
    };
    static std::map<std::string, Cached> cache;
    auto now = std::chrono::steady_clock::now();
    auto it = cache.find(user);
    if (it == cache.end() || now - it->second.at > std::chrono::minutes(1)) {
      auto out = getent({"initgroups", user});
      it = cache.insert_or_assign(user, Cached{now, out ? parse_initgroups_line(*out) : std::vector<gid_t>{}}).first;
    }
    for (gid_t g : it->second.gids)
      if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  }
  return groups;
}

void use_builtin_sources_only() {
  g_builtin_only = true;
  for (const char* db : {"passwd", "group", "initgroups", "shadow"}) ::__nss_configure_lookup(db, "files");
  ::__nss_configure_lookup("hosts", "files dns");
}

}  // namespace sup::nss
