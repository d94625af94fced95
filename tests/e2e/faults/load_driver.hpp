// Concurrent control clients against a running daemon (issue 9's load test;
// used by the e2e test and by the faults_load tool behind tests/bench/load).
//
// Each of `clients` threads has its own persistent XML-RPC connection and
// owns the programs whose index i satisfies i % clients == its number, so no
// two clients race on one program and every call has exactly one right
// answer: startProcess on a program it last left stopped, stopProcess on
// one it last left running (both with wait=true, so each returns true), and
// getAllProcessInfo (must list every program). Any transport failure, fault
// or unexpected value is an error. Deliberately free of the e2e harness and
// doctest: the tool links it alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "xmlrpc/value.hpp"

namespace faults {

struct LoadOptions {
  std::string url;                     // unix:///path/to/sock
  std::vector<std::string> programs;   // namespecs
  // State of programs at the start (true = RUNNING); a program not listed is RUNNING.
  std::map<std::string, bool> initially_running;
  int clients = 50;
  std::chrono::milliseconds duration{5000};
  // Share of calls that are getAllProcessInfo (the rest toggle a program).
  double all_info_share = 0.5;
};

struct LoadReport {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t state_changes = 0;           // successful start/stop calls
  std::vector<std::string> error_samples;    // the first few errors, described
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double seconds = 0;
  // The state every program was left in by its owner: true = RUNNING.
  std::map<std::string, bool> expected_running;
};

LoadReport run_load(const LoadOptions& options);

// Each process's last state as the daemon's main log tells it: "spawned:"
// -> STARTING, "success:" -> RUNNING, "stopping:" -> STOPPING, "stopped:" ->
// STOPPED, "exited:" -> EXITED, "gave up:" -> FATAL; keyed by process name.
std::map<std::string, std::string> logged_states(const std::string& log);

// Every disagreement between what the clients left (expected), what
// getAllProcessInfo reports (all_info) and what the log says last (logged),
// one line each; empty when all three agree.
std::vector<std::string> state_mismatches(const std::map<std::string, bool>& expected,
                                          const xmlrpc::Value& all_info,
                                          const std::map<std::string, std::string>& logged);

}  // namespace faults
