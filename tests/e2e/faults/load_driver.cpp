#include "load_driver.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "xmlrpc/client.hpp"

namespace faults {
namespace {

using Clock = std::chrono::steady_clock;

std::string describe(const std::string& what, const xmlrpc::Response& r) {
  if (r.is_fault) return what + ": fault " + std::to_string(r.fault.code) + " " + r.fault.message;
  return what + ": unexpected value";
}

std::string str_member(const xmlrpc::Value& v, const std::string& key) {
  const xmlrpc::Value* m = v.find(key);
  return m && m->is_string() ? m->as_string() : std::string();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

struct Shared {
  std::mutex mu;
  std::vector<double> latencies_ms;
  LoadReport report;
};

void client_loop(const LoadOptions& o, int index, Clock::time_point end, Shared& shared) {
  // The clients run beside the daemon on the same cores: at a lower
  // priority (Linux: per thread), so that 200 busy client threads measure
  // the daemon rather than starve its single thread.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  std::vector<std::string> mine;
  for (std::size_t i = static_cast<std::size_t>(index); i < o.programs.size(); i += static_cast<std::size_t>(o.clients))
    mine.push_back(o.programs[i]);
  std::map<std::string, bool> running;
  for (const auto& p : mine) {
    auto it = o.initially_running.find(p);
    running[p] = it == o.initially_running.end() || it->second;
  }
  std::mt19937 rng(static_cast<unsigned>(index) * 7919u + 1u);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::vector<double> lat;
  std::uint64_t requests = 0, errors = 0, changes = 0;
  std::vector<std::string> samples;
  auto error = [&](std::string msg) {
    ++errors;
    if (samples.size() < 5) samples.push_back(std::move(msg));
  };
  xmlrpc::Client client(o.url);
  while (Clock::now() < end) {
    const bool toggle = !mine.empty() && coin(rng) >= o.all_info_share;
    xmlrpc::Response resp;
    xmlrpc::TransportError terr;
    std::string name;
    auto t0 = Clock::now();
    bool ok;
    if (toggle) {
      name = mine[std::uniform_int_distribution<std::size_t>(0, mine.size() - 1)(rng)];
      ok = client.call(running[name] ? "supervisor.stopProcess" : "supervisor.startProcess",
                       xmlrpc::Array{xmlrpc::Value(name), xmlrpc::Value(true)}, &resp, &terr);
    } else {
      ok = client.call("supervisor.getAllProcessInfo", {}, &resp, &terr);
    }
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    ++requests;
    if (!ok) {
      error("transport: " + terr.message);
      continue;
    }
    if (toggle) {
      const std::string what = std::string(running[name] ? "stopProcess " : "startProcess ") + name;
      if (resp.is_fault || !resp.value.is_bool() || !resp.value.as_bool()) {
        error(describe(what, resp));
        continue;
      }
      running[name] = !running[name];
      ++changes;
    } else if (resp.is_fault || !resp.value.is_array() || resp.value.as_array().size() != o.programs.size()) {
      error(describe("getAllProcessInfo", resp));
    }
  }
  std::lock_guard<std::mutex> lock(shared.mu);
  shared.latencies_ms.insert(shared.latencies_ms.end(), lat.begin(), lat.end());
  shared.report.requests += requests;
  shared.report.errors += errors;
  shared.report.state_changes += changes;
  for (auto& s : samples)
    if (shared.report.error_samples.size() < 10) shared.report.error_samples.push_back(std::move(s));
  for (const auto& [p, r] : running) shared.report.expected_running[p] = r;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(k, sorted.size() - 1)];
}

}  // namespace

LoadReport run_load(const LoadOptions& o) {
  Shared shared;
  for (const auto& p : o.programs) {
    auto it = o.initially_running.find(p);
    shared.report.expected_running[p] = it == o.initially_running.end() || it->second;
  }
  const auto start = Clock::now();
  const auto end = start + o.duration;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(o.clients));
  for (int i = 0; i < o.clients; ++i) threads.emplace_back(client_loop, std::cref(o), i, end, std::ref(shared));
  for (auto& t : threads) t.join();
  LoadReport r = std::move(shared.report);
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(shared.latencies_ms.begin(), shared.latencies_ms.end());
  r.p50_ms = percentile(shared.latencies_ms, 50);
  r.p99_ms = percentile(shared.latencies_ms, 99);
  r.max_ms = shared.latencies_ms.empty() ? 0 : shared.latencies_ms.back();
  return r;
}

std::map<std::string, std::string> logged_states(const std::string& log) {
  static const std::pair<std::string_view, std::string_view> kinds[] = {
      {"spawned: '", "STARTING"}, {"success: ", "RUNNING"}, {"stopping: ", "STOPPING"},
      {"stopped: ", "STOPPED"},   {"exited: ", "EXITED"},   {"gave up: ", "FATAL"}};
  std::map<std::string, std::string> out;
  for (const std::string& line : split_lines(log)) {
    // "YYYY-MM-DD HH:MM:SS,mmm LEVEL message"
    std::size_t p = line.find(' ');
    if (p != std::string::npos) p = line.find(' ', p + 1);
    if (p != std::string::npos) p = line.find(' ', p + 1);
    if (p == std::string::npos) continue;
    std::string_view msg = std::string_view(line).substr(p + 1);
    for (const auto& [prefix, state] : kinds) {
      if (!msg.starts_with(prefix)) continue;
      std::string_view rest = msg.substr(prefix.size());
      std::size_t end = rest.find(prefix.back() == '\'' ? '\'' : ' ');
      if (end != std::string_view::npos) out[std::string(rest.substr(0, end))] = std::string(state);
      break;
    }
  }
  return out;
}

std::vector<std::string> state_mismatches(const std::map<std::string, bool>& expected,
                                          const xmlrpc::Value& all_info,
                                          const std::map<std::string, std::string>& logged) {
  std::vector<std::string> out;
  std::map<std::string, std::string> reported;
  if (all_info.is_array())
    for (const auto& info : all_info.as_array()) reported[str_member(info, "name")] = str_member(info, "statename");
  for (const auto& [name, running] : expected) {
    const std::string want = running ? "RUNNING" : "STOPPED";
    auto r = reported.find(name);
    auto l = logged.find(name);
    const std::string got = r == reported.end() ? "(missing)" : r->second;
    const std::string last = l == logged.end() ? "(nothing logged)" : l->second;
    if (got != want || last != want)
      out.push_back(name + ": clients left it " + want + ", getAllProcessInfo says " + got + ", the log's last transition " +
                    last);
  }
  if (reported.size() != expected.size())
    out.push_back("getAllProcessInfo lists " + std::to_string(reported.size()) + " processes, expected " +
                  std::to_string(expected.size()));
  return out;
}

}  // namespace faults
