#include "faults_support.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include <doctest/doctest.h>

namespace faults {
namespace {

// Fields of /proc/<pid>/stat after "(comm)": rest[0] is field 3 (state).
std::vector<std::string> stat_rest(pid_t pid) {
  std::string text = e2e::read_file("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(text.substr(close + 1));
  std::vector<std::string> out;
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

std::vector<pid_t> all_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && pid > 0) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(d);
  return out;
}

// The value after "key:" in a /proc "key: value" file; "" when missing.
std::string proc_field(const std::string& path, std::string_view key) {
  for (const std::string& line : e2e::split_lines(e2e::read_file(path))) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':')
      return line.substr(key.size() + 1);
  }
  return "";
}

}  // namespace

std::string ctl_path() {
  const char* p = std::getenv("SUPERVISORCTL");
  REQUIRE_MESSAGE((p && *p), "SUPERVISORCTL must name the supervisorctl binary under test");
  return p;
}

e2e::CommandResult ctl(const e2e::Daemon& d, const std::vector<std::string>& args, e2e::Millis deadline) {
  std::vector<std::string> argv{ctl_path(), "-c", d.config_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return e2e::run_command(argv, {}, deadline);
}

bool asan_build() {
  static const bool yes = e2e::read_file(e2e::supervisord_path()).find("__asan_init") != std::string::npos;
  return yes;
}

int slowdown() { return asan_build() ? 3 : 1; }

void check_clean_exit(e2e::Daemon& d) {
  auto status = d.wait_exit(std::chrono::seconds(60));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  const std::string err = d.captured_stderr();
  CHECK_MESSAGE(err.find("LeakSanitizer") == std::string::npos, err);
  CHECK_MESSAGE(err.find("AddressSanitizer") == std::string::npos, err);
  CHECK_MESSAGE(err.find("runtime error") == std::string::npos, err);
}

double cpu_seconds(pid_t pid) {
  auto rest = stat_rest(pid);
  if (rest.size() < 13) return -1;
  return static_cast<double>(std::stoll(rest[11]) + std::stoll(rest[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

long rss_kb(pid_t pid) {
  std::string v = proc_field("/proc/" + std::to_string(pid) + "/status", "VmRSS");
  return v.empty() ? -1 : std::strtol(v.c_str(), nullptr, 10);
}

long long bytes_written(pid_t pid) {
  std::string v = proc_field("/proc/" + std::to_string(pid) + "/io", "wchar");
  return v.empty() ? -1 : std::strtoll(v.c_str(), nullptr, 10);
}

std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    auto st = e2e::proc_stat(p);
    if (st && st->pgrp == pgid && st->state != 'Z' && st->state != 'X') out.push_back(p);
  }
  return out;
}

std::size_t zombie_children(pid_t pid) {
  std::size_t n = 0;
  for (const e2e::ProcStat& c : e2e::children_of(pid))
    if (c.state == 'Z') ++n;
  return n;
}

std::vector<pid_t> pids_running(std::string_view cmdline) {
  std::vector<pid_t> out;
  for (pid_t p : all_pids()) {
    std::string c = e2e::read_file("/proc/" + std::to_string(p) + "/cmdline");
    if (!c.empty() && c.back() == '\0') c.pop_back();
    for (char& ch : c)
      if (ch == '\0') ch = ' ';
    if (c == cmdline && e2e::pid_alive(p)) out.push_back(p);
  }
  return out;
}

void kill_all(const std::vector<pid_t>& pids) {
  for (pid_t p : pids)
    if (p > 0) ::kill(p, SIGKILL);
}

std::string oracle_supervisord() {
  const char* p = "/usr/bin/supervisord";
  return ::access(p, X_OK) == 0 ? p : "";
}

UseSupervisord::UseSupervisord(const std::string& path) {
  if (const char* old = std::getenv("SUPERVISORD")) {
    had_ = true;
    saved_ = old;
  }
  ::setenv("SUPERVISORD", path.c_str(), 1);
}

UseSupervisord::~UseSupervisord() {
  if (had_)
    ::setenv("SUPERVISORD", saved_.c_str(), 1);
  else
    ::unsetenv("SUPERVISORD");
}

}  // namespace faults
