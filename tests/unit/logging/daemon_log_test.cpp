#include "logging/daemon_log.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <ctime>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace slog = sup::log;
using logtest::exists;
using logtest::read_file;
using logtest::TempDir;

namespace {

// Restores the pre-init state when a test ends, whatever happens.
struct ResetLog {
  ~ResetLog() { slog::reset(); }
};

void init_file(const std::string& path, slog::Level level, std::int64_t maxbytes = 0, int backups = 0) {
  slog::Options o;
  o.path = path;
  o.maxbytes = maxbytes;
  o.backups = backups;
  o.level = level;
  auto st = slog::init(o);
  REQUIRE_MESSAGE(st.ok(), st.error());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string local_now(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

}  // namespace

TEST_CASE("daemon log lines: 'YYYY-MM-DD HH:MM:SS,mmm LEVEL message' in local time, visible at once") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "supervisord.log";
  init_file(path, slog::Level::Info);
  std::string before = local_now("%Y-%m-%d %H:%M");
  slog::info("supervisord started with pid {}", 42);
  std::string after = local_now("%Y-%m-%d %H:%M");
  // No flush call: the line must already be in the file.
  std::string text = read_file(path);
  static const std::regex line_re(R"(^(\d{4}-\d\d-\d\d \d\d:\d\d):\d\d,\d{3} INFO supervisord started with pid 42\n$)");
  std::smatch m;
  REQUIRE(std::regex_match(text, m, line_re));
  CHECK((m[1] == before || m[1] == after));
}

TEST_CASE("all seven supervisord level tags, and level filtering") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "levels.log";
  init_file(path, slog::Level::Blather);
  slog::critical("c");
  slog::error("e");
  slog::warn("w");
  slog::info("i");
  slog::debug("d");
  slog::trace("t");
  slog::blather("b");
  std::vector<std::string> tags;
  for (const auto& line : lines_of(read_file(path))) tags.push_back(line.substr(24));
  CHECK(tags == std::vector<std::string>{"CRIT c", "ERRO e", "WARN w", "INFO i", "DEBG d", "TRAC t", "BLAT b"});

  std::string path2 = dir / "warn.log";
  init_file(path2, slog::Level::Warn);
  CHECK(slog::enabled(slog::Level::Error));
  CHECK(slog::enabled(slog::Level::Warn));
  CHECK_FALSE(slog::enabled(slog::Level::Info));
  slog::info("hidden");
  slog::debug("hidden");
  slog::warn("shown {}", "warn");
  slog::write(slog::Level::Critical, "shown crit");
  std::vector<std::string> got;
  for (const auto& line : lines_of(read_file(path2))) got.push_back(line.substr(24));
  CHECK(got == std::vector<std::string>{"WARN shown warn", "CRIT shown crit"});

  // Trace and blather differ although spdlog has a single trace level.
  std::string path3 = dir / "trace.log";
  init_file(path3, slog::Level::Trace);
  slog::blather("not at trace");
  slog::trace("at trace");
  auto l3 = lines_of(read_file(path3));
  REQUIRE(l3.size() == 1);
  CHECK(l3[0].substr(24) == "TRAC at trace");
}

TEST_CASE("parse_level accepts supervisord's seven names, case-insensitive, nothing else") {
  CHECK(slog::parse_level("critical") == slog::Level::Critical);
  CHECK(slog::parse_level("ERROR") == slog::Level::Error);
  CHECK(slog::parse_level("Warn") == slog::Level::Warn);
  CHECK(slog::parse_level("info") == slog::Level::Info);
  CHECK(slog::parse_level("debug") == slog::Level::Debug);
  CHECK(slog::parse_level("trace") == slog::Level::Trace);
  CHECK(slog::parse_level("blather") == slog::Level::Blather);
  CHECK_FALSE(slog::parse_level("warning").has_value());
  CHECK_FALSE(slog::parse_level("crit").has_value());
  CHECK_FALSE(slog::parse_level("").has_value());
  CHECK(slog::level_from_number(20) == slog::Level::Info);
  CHECK(slog::level_from_number(3) == slog::Level::Blather);
  CHECK(slog::level_from_number(50) == slog::Level::Critical);
  CHECK(slog::level_name(slog::Level::Warn) == "warn");
  CHECK(slog::level_tag(slog::Level::Debug) == "DEBG");
}

TEST_CASE("a multi-line message gets one prefix, like supervisord") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "multi.log";
  init_file(path, slog::Level::Info);
  slog::write(slog::Level::Info, "first\nsecond");
  std::string text = read_file(path);
  REQUIRE(text.size() > 24);
  CHECK(text.substr(24) == "INFO first\nsecond\n");
}

TEST_CASE("daemon log rotation uses supervisord's names: supervisord.log.1, .2") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "supervisord.log";
  init_file(path, slog::Level::Info, 200, 2);
  for (int i = 0; i < 40; ++i) slog::info("line number {:04d} with some padding text", i);
  CHECK(exists(path));
  CHECK(exists(path + ".1"));
  CHECK(exists(path + ".2"));
  CHECK_FALSE(exists(path + ".3"));
  CHECK_FALSE(exists(dir / "supervisord.1.log"));
  for (const auto& name : {path + ".1", path + ".2"}) {
    std::string t = read_file(name);
    CHECK(t.size() >= 200);
    CHECK(t.back() == '\n');
  }
  // The newest line is in the current file (or just rotated into .1).
  std::string newest = read_file(path) + read_file(path + ".1");
  CHECK(newest.find("line number 0039") != std::string::npos);
}

TEST_CASE("reopen() and clear() on the daemon log") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "d.log";
  init_file(path, slog::Level::Info);
  CHECK(slog::path() == path);
  slog::info("before move");
  REQUIRE(::rename(path.c_str(), (dir / "d.log.old").c_str()) == 0);
  REQUIRE(slog::reopen().ok());
  slog::info("after reopen");
  CHECK(read_file(path).find("after reopen") != std::string::npos);
  CHECK(read_file(dir / "d.log.old").find("before move") != std::string::npos);
  REQUIRE(slog::clear().ok());
  CHECK(read_file(path).empty());
  slog::info("after clear");
  CHECK(lines_of(read_file(path)).size() == 1);
}

TEST_CASE("before init (and after reset) lines go to stderr in the same format") {
  ResetLog reset;
  TempDir dir;
  slog::reset();
  logtest::CaptureFd capture(2, dir / "stderr.txt");
  slog::info("early {}", "message");
  slog::debug("not at info");
  std::string text = capture.restore();
  static const std::regex re(R"(^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO early message\n$)");
  CHECK(std::regex_match(text, re));
}

TEST_CASE("echo_stdout copies each line to stdout as well as the file") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "e.log";
  logtest::CaptureFd capture(1, dir / "stdout.txt");
  slog::Options o;
  o.path = path;
  o.maxbytes = 0;
  o.echo_stdout = true;
  REQUIRE(slog::init(o).ok());
  slog::warn("echoed");
  std::string out = capture.restore();
  CHECK(out.size() > 24);
  CHECK(out == read_file(path));
  CHECK(out.substr(24) == "WARN echoed\n");
}

TEST_CASE("init() failure names the file and keeps the previous log") {
  ResetLog reset;
  TempDir dir;
  std::string path = dir / "ok.log";
  init_file(path, slog::Level::Info);
  slog::Options bad;
  bad.path = dir / "missing/dir/s.log";
  auto st = slog::init(bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().find(dir / "missing/dir/s.log") != std::string::npos);
  slog::info("still here");
  CHECK(read_file(path).find("still here") != std::string::npos);
  CHECK(slog::path() == path);
}
