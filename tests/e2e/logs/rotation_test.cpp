// Rotation of child logs: names, sizes and contents after rotation, compared
// with supervisord's documented rule (write first, then rotate when the file
// has reached maxbytes) and, when Debian's supervisord 4.2.5 is installed,
// with what it produces for the same program and configuration.
#include <dirent.h>

#include <csignal>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "common.hpp"
#include "pattern.hpp"

using namespace e2e;
using namespace e2e_logs;

namespace {

// NAME, NAME.1, NAME.2, ...: content of each file that exists ("" key = NAME).
using LogSet = std::map<std::string, std::string>;

LogSet collect(const std::string& base, int max_suffix) {
  LogSet set;
  if (auto c = try_read_file(base)) set[""] = *c;
  for (int i = 1; i <= max_suffix; ++i)
    if (auto c = try_read_file(base + "." + std::to_string(i))) set["." + std::to_string(i)] = *c;
  return set;
}

// supervisord's rule: each chunk is appended; then, if the file size is >=
// maxbytes, NAME.(n-1) -> NAME.n ... NAME -> NAME.1 and NAME starts empty
// (backups 0: NAME is truncated). maxbytes 0 never rotates.
LogSet expected_rotation(const std::vector<std::string>& chunks, std::size_t maxbytes, int backups) {
  std::vector<std::string> files(1);  // files[0] = NAME, files[i] = NAME.i
  for (const std::string& c : chunks) {
    files[0] += c;
    if (maxbytes == 0 || files[0].size() < maxbytes) continue;
    if (backups > 0) {
      files.insert(files.begin(), std::string());
      if (static_cast<int>(files.size()) > backups + 1) files.resize(backups + 1);
    } else {
      files[0].clear();
    }
  }
  LogSet set;
  for (std::size_t i = 0; i < files.size(); ++i) set[i == 0 ? "" : "." + std::to_string(i)] = files[i];
  return set;
}

std::string describe(const LogSet& set) {
  std::string s;
  for (const auto& [suffix, content] : set) s += "NAME" + suffix + "=" + std::to_string(content.size()) + " ";
  return s;
}

std::string join_sizes(const std::vector<std::size_t>& sizes) {
  std::string s;
  for (std::size_t n : sizes) s += " " + std::to_string(n);
  return s;
}

// Runs `log_writer records` (one write per record, each logged before the
// next) under the supervisord at exe and returns the log files it left.
LogSet run_records(const std::string& exe, const std::vector<std::size_t>& sizes, std::size_t maxbytes,
                   int backups) {
  TempDir dir("e2e-rot");
  const std::string log = dir.file("rot.log");
  UseSupervisord use(exe);
  Daemon d(dir, "[program:rot]\ncommand=" + quoted(writer()) + " records " + log + " " + std::to_string(backups) +
                    join_sizes(sizes) + "\nstdout_logfile=" + log +
                    "\nstdout_logfile_maxbytes=" + std::to_string(maxbytes) +
                    "\nstdout_logfile_backups=" + std::to_string(backups) +
                    "\nstartsecs=0\nautorestart=false\n");
  d.start();
  bool exited = d.wait_state("rot", "EXITED", std::chrono::seconds(120));
  CHECK_MESSAGE(exited, exe << ": the writer did not finish; state " << d.state_of("rot"));
  // 0: every record was seen in the log before the next one was written.
  CHECK_MESSAGE(int_field(d.process_info("rot"), "exitstatus") == 0,
                exe << ": the writer timed out waiting for a record to be logged");
  return collect(log, backups + 3);
}

const std::vector<std::size_t> kSizes{300, 450, 120, 999, 1000, 1500, 10, 700, 333, 333, 333,
                                      50,  2000, 640, 640, 12,  999, 1,  400, 400, 400};

std::vector<std::string> chunks_of(const std::vector<std::size_t>& sizes) {
  std::vector<std::string> chunks;
  for (std::size_t k = 0; k < sizes.size(); ++k) chunks.push_back(record_bytes(k, sizes[k]));
  return chunks;
}

}  // namespace

TEST_CASE("rotation at a small maxbytes: NAME, NAME.1 .. NAME.N with write-then-rotate sizes") {
  const std::size_t maxbytes = 1000;
  const int backups = 3;
  // 1 is below the tag's size: record_bytes makes it the tag alone.
  LogSet want = expected_rotation(chunks_of(kSizes), maxbytes, backups);
  REQUIRE(want.size() == 4);  // the data is long enough to fill every backup
  LogSet ours = run_records(supervisord_path(), kSizes, maxbytes, backups);
  CHECK_MESSAGE(ours == want, "ours: " << describe(ours) << "\nrule: " << describe(want));
  // Some file went over maxbytes by one write, as supervisord allows.
  bool over = false;
  for (const auto& [suffix, content] : ours) over = over || content.size() > maxbytes;
  CHECK(over);

  const std::string oracle = oracle_supervisord();
  if (oracle.empty()) {
    MESSAGE("Debian's /usr/bin/supervisord is not installed: compared with the documented rule only");
    return;
  }
  LogSet theirs = run_records(oracle, kSizes, maxbytes, backups);
  CHECK_MESSAGE(ours == theirs, "ours: " << describe(ours) << "\nsupervisord 4.2.5: " << describe(theirs));
}

TEST_CASE("backups=0 truncates the log in place instead of keeping NAME.1") {
  // Records below maxbytes (log_writer's backups=0 handshake needs that).
  const std::vector<std::size_t> sizes{300, 450, 120, 999, 10, 700, 333, 333, 333, 50, 640, 640, 12, 400, 77};
  const std::size_t maxbytes = 1000;
  LogSet want = expected_rotation(chunks_of(sizes), maxbytes, 0);
  REQUIRE(want.size() == 1);
  REQUIRE(!want[""].empty());
  LogSet ours = run_records(supervisord_path(), sizes, maxbytes, 0);
  CHECK_MESSAGE(ours == want, "ours: " << describe(ours) << "\nrule: " << describe(want));

  const std::string oracle = oracle_supervisord();
  if (oracle.empty()) {
    MESSAGE("Debian's /usr/bin/supervisord is not installed: compared with the documented rule only");
    return;
  }
  LogSet theirs = run_records(oracle, sizes, maxbytes, 0);
  CHECK_MESSAGE(ours == theirs, "ours: " << describe(ours) << "\nsupervisord 4.2.5: " << describe(theirs));
}

TEST_CASE("maxbytes=0 never rotates") {
  std::vector<std::size_t> sizes(60, 1000);
  LogSet ours = run_records(supervisord_path(), sizes, 0, 5);
  REQUIRE(ours.size() == 1);
  CHECK(ours[""].size() == 60000);
  std::string all;
  for (const std::string& c : chunks_of(sizes)) all += c;
  CHECK(ours[""] == all);
}

TEST_CASE("AUTO logs are named <childlogdir>/<name>-<channel>---<identifier>-XXXXXX.log and removed at startup, reload and shutdown") {
  TempDir dir;
  // Leftovers of an earlier run: the startup cleanup removes the AUTO-named
  // ones of this identifier (backups included) and nothing else.
  const std::vector<std::string> stale{"old-stdout---supervisor-abc123.log", "old-stderr---supervisor-x_9.log.3"};
  const std::vector<std::string> kept{"keep.log", "other-stdout---otherid-abc123.log", "note.txt"};
  for (const auto& n : stale) write_file(dir.file(n), "stale\n");
  for (const auto& n : kept) write_file(dir.file(n), "keep\n");

  const std::string body = R"([program:auto]
command=/bin/sh -c 'printf auto-out; printf auto-err >&2; exec sleep 1000'
)";
  std::string out_path, err_path;
  {
    Daemon d(dir, body);
    d.start();
    for (const auto& n : stale) CHECK_MESSAGE(!file_exists(dir.file(n)), n << " survived the startup cleanup");
    for (const auto& n : kept) CHECK_MESSAGE(file_exists(dir.file(n)), n << " was removed");
    REQUIRE(d.wait_state("auto", "RUNNING"));
    xmlrpc::Value info = d.process_info("auto");
    out_path = str_field(info, "stdout_logfile");
    err_path = str_field(info, "stderr_logfile");
    const std::regex out_re(dir.path() + "/auto-stdout---supervisor-[A-Za-z0-9_]{6,}\\.log");
    const std::regex err_re(dir.path() + "/auto-stderr---supervisor-[A-Za-z0-9_]{6,}\\.log");
    CHECK_MESSAGE(std::regex_match(out_path, out_re), out_path);
    CHECK_MESSAGE(std::regex_match(err_path, err_re), err_path);
    CHECK(wait_until([&] { return read_file(out_path) == "auto-out" && read_file(err_path) == "auto-err"; }));
    // A restart of the process keeps the same AUTO file (made once per group).
    REQUIRE(d.call("supervisor.stopProcess", {"auto"}).ok());
    REQUIRE(d.call("supervisor.startProcess", {"auto"}).ok());
    CHECK(str_field(d.process_info("auto"), "stdout_logfile") == out_path);
    CHECK(wait_until([&] { return read_file(out_path) == "auto-outauto-out"; }));
    // A reload (SIGHUP) is a fresh start: the old AUTO files go, new ones come.
    d.signal(SIGHUP);
    REQUIRE(wait_until([&] {
      std::string now = str_field(d.process_info("auto"), "stdout_logfile");
      return !now.empty() && now != out_path;
    }));
    CHECK(!file_exists(out_path));
    CHECK(!file_exists(err_path));
    out_path = str_field(d.process_info("auto"), "stdout_logfile");
    err_path = str_field(d.process_info("auto"), "stderr_logfile");
    CHECK(wait_until([&] { return read_file(out_path) == "auto-out"; }));
    d.signal(SIGTERM);
    REQUIRE(d.wait_exit() == 0);
  }
  // AUTO logs are removed at shutdown (unless nocleanup=true)...
  CHECK(!file_exists(out_path));
  CHECK(!file_exists(err_path));
  {
    // ... and the next start makes new ones, leaving other identifiers' files alone.
    Daemon d(dir, body);
    d.start();
    REQUIRE(d.wait_state("auto", "RUNNING"));
    std::string fresh = str_field(d.process_info("auto"), "stdout_logfile");
    CHECK(fresh != out_path);
    CHECK(file_exists(fresh));
    for (const auto& n : kept) CHECK(file_exists(dir.file(n)));
  }
}

TEST_CASE("nocleanup=true keeps AUTO logs at shutdown") {
  TempDir dir;
  std::string out_path;
  {
    Daemon d(dir, "[program:auto]\ncommand=/bin/sh -c 'echo kept; exec sleep 1000'\n", "nocleanup=true");
    d.start();
    REQUIRE(d.wait_state("auto", "RUNNING"));
    out_path = str_field(d.process_info("auto"), "stdout_logfile");
    CHECK(wait_until([&] { return read_file(out_path) == "kept\n"; }));
    d.signal(SIGTERM);
    REQUIRE(d.wait_exit() == 0);
  }
  CHECK(read_file(out_path) == "kept\n");
}

TEST_CASE("nocleanup=true keeps old AUTO logs at startup") {
  TempDir dir;
  write_file(dir.file("old-stdout---supervisor-abc123.log"), "stale\n");
  Daemon d(dir, "[program:auto]\ncommand=/bin/sleep 1000\n", "nocleanup=true");
  d.start();
  REQUIRE(d.wait_state("auto", "RUNNING"));
  CHECK(read_file(dir.file("old-stdout---supervisor-abc123.log")) == "stale\n");
}
