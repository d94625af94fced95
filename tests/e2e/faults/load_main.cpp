// faults_load: the big concurrent-client run of issue 9 (tests/bench/load).
//   faults_load --supervisord PATH [--clients 200] [--programs 500] [--seconds 30] [--rounds 1] [--keep]
// Starts its own daemon on a fresh temporary directory with `programs`
// programs (sleep infinity, startsecs=0), runs `clients` concurrent clients
// (load_driver.hpp) for `seconds`, then checks that no call failed, that the
// states the clients left agree with getAllProcessInfo and with the last
// transition of every process in the daemon log, and that the daemon's RSS
// came back near its baseline. Prints one summary; exit status 0 when all
// held, 1 otherwise, 2 on bad usage or a daemon that did not come up.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "load_driver.hpp"
#include "xmlrpc/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

bool call(const std::string& url, const std::string& method, xmlrpc::Response* out) {
  xmlrpc::Client c(url);
  xmlrpc::TransportError err;
  return c.call(method, {}, out, &err) && !out->is_fault;
}

int usage(const char* why) {
  std::fprintf(stderr, "faults_load: %s\nusage: faults_load --supervisord PATH [--clients N] [--programs N] "
               "[--seconds S] [--rounds N] [--keep]\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string supervisord;
  int clients = 200, programs = 500;
  double seconds = 30;
  int rounds = 1;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--keep") {
      keep = true;
    } else if ((a == "--supervisord" || a == "--clients" || a == "--programs" || a == "--seconds" ||
                a == "--rounds") &&
               (v = next())) {
      if (a == "--supervisord") supervisord = v;
      if (a == "--clients") clients = std::atoi(v);
      if (a == "--programs") programs = std::atoi(v);
      if (a == "--seconds") seconds = std::atof(v);
      if (a == "--rounds") rounds = std::atoi(v);
    } else {
      return usage(("bad argument " + a).c_str());
    }
  }
  if (supervisord.empty()) return usage("--supervisord is required");
  if (clients < 1 || programs < 1 || seconds <= 0 || rounds < 1)
    return usage("clients, programs, seconds and rounds must be positive");

  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/faults-load-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return usage("cannot create a temporary directory");
  const std::string dir = tmpl;
  const std::string sock = dir + "/sock", conf = dir + "/supervisord.conf", log = dir + "/supervisord.log";
  {
    std::ofstream c(conf);
    c << "[supervisord]\nlogfile=" << log << "\nlogfile_maxbytes=0\npidfile=" << dir << "/supervisord.pid\nchildlogdir="
      << dir << "\nminfds=" << std::max(1024, 8 * programs + 1024) << "\nminprocs=" << programs + 500
      << "\n[unix_http_server]\nfile=" << sock
      << "\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";
  }
  faults::LoadOptions o;
  o.url = "unix://" + sock;
  o.clients = clients;
  {
    std::ofstream c(conf, std::ios::app);
    for (int i = 0; i < programs; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "l%04d", i);
      c << "[program:" << name << "]\ncommand=/bin/sleep infinity\nstartsecs=0\nstdout_logfile=NONE\nstderr_logfile=NONE\n";
      o.programs.push_back(name);
    }
  }

  pid_t daemon = ::fork();
  if (daemon == 0) {
    int out = ::open((dir + "/daemon.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(out, 2);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::execl(supervisord.c_str(), supervisord.c_str(), "-n", "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto stop_daemon = [&] {
    ::kill(daemon, SIGTERM);
    int st = 0;
    ::waitpid(daemon, &st, 0);
    if (!keep) std::filesystem::remove_all(dir);
    return st;
  };
  // Up, and every program RUNNING.
  const auto up_deadline = Clock::now() + 300s;
  bool up = false;
  while (Clock::now() < up_deadline) {
    xmlrpc::Response r;
    if (call(o.url, "supervisor.getAllProcessInfo", &r) && r.value.is_array() &&
        r.value.as_array().size() == o.programs.size()) {
      std::size_t running = 0;
      for (const auto& info : r.value.as_array())
        if (const auto* s = info.find("statename"); s && s->is_string() && s->as_string() == "RUNNING") ++running;
      if (running == o.programs.size()) {
        up = true;
        break;
      }
    }
    int st = 0;
    if (::waitpid(daemon, &st, WNOHANG) == daemon) {
      std::fprintf(stderr, "faults_load: the daemon exited: %s\n", slurp(dir + "/daemon.out").c_str());
      return 2;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (!up) {
    std::fprintf(stderr, "faults_load: the daemon did not bring %d programs to RUNNING\n", programs);
    stop_daemon();
    return 2;
  }

  o.duration = 1000ms;  // warm-up: first-use allocations are not a leak
  faults::LoadReport warm = faults::run_load(o);
  const long rss_before = rss_kb(daemon);
  o.duration = std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  o.initially_running = warm.expected_running;
  faults::LoadReport r = faults::run_load(o);
  // More rounds tell a leak (RSS climbing round after round) from the
  // allocator settling (RSS flat after the first).
  for (int round = 2; round <= rounds; ++round) {
    std::printf("round %d: RSS %ld kB\n", round - 1, rss_kb(daemon));
    o.initially_running = r.expected_running;
    faults::LoadReport next = faults::run_load(o);
    next.errors += r.errors;
    r = std::move(next);
  }

  xmlrpc::Response all;
  bool listed = call(o.url, "supervisor.getAllProcessInfo", &all);
  const std::map<std::string, bool>& expected = r.expected_running;
  auto mismatches = listed ? faults::state_mismatches(expected, all.value, faults::logged_states(slurp(log)))
                           : std::vector<std::string>{"getAllProcessInfo failed after the run"};
  const long margin = std::max(2048L, rss_before / 4);
  long rss_after = rss_kb(daemon);
  for (auto end = Clock::now() + 10s; rss_after > rss_before + margin && Clock::now() < end;) {
    std::this_thread::sleep_for(100ms);
    rss_after = rss_kb(daemon);
  }
  const int exit_status = stop_daemon();

  std::printf("faults_load: %d clients, %d programs, %.1f s\n", clients, programs, r.seconds);
  std::printf("requests served: %llu (%.0f/s), state changes: %llu, errors: %llu\n",
              static_cast<unsigned long long>(r.requests), static_cast<double>(r.requests) / r.seconds,
              static_cast<unsigned long long>(r.state_changes), static_cast<unsigned long long>(r.errors + warm.errors));
  for (const auto& e : r.error_samples) std::printf("  error: %s\n", e.c_str());
  std::printf("latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.p50_ms, r.p99_ms, r.max_ms);
  std::printf("state mismatches (clients / getAllProcessInfo / log): %zu\n", mismatches.size());
  for (std::size_t i = 0; i < mismatches.size() && i < 10; ++i) std::printf("  %s\n", mismatches[i].c_str());
  std::printf("daemon RSS: %ld kB before, %ld kB after (margin %ld kB)\n", rss_before, rss_after, margin);
  std::printf("daemon exit status after SIGTERM: %d\n", WIFEXITED(exit_status) ? WEXITSTATUS(exit_status) : 128 + WTERMSIG(exit_status));
  const bool ok = r.errors + warm.errors == 0 && mismatches.empty() && rss_after <= rss_before + margin;
  std::printf("result: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
