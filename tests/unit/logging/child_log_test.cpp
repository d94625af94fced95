#include "logging/child_log.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "logging/daemon_log.hpp"
#include "test_util.hpp"

using sup::config::LogTarget;
using sup::logging::ChannelLog;
using sup::logging::strip_ansi_escapes;
using logtest::exists;
using logtest::read_file;
using logtest::TempDir;

namespace {

LogTarget file_target(const std::string& path, std::int64_t maxbytes = 0, int backups = 0) {
  LogTarget t;
  t.kind = LogTarget::Kind::File;
  t.path = path;
  t.maxbytes = maxbytes;
  t.backups = backups;
  return t;
}

std::string strip(std::string_view s) {
  bool in_seq = false;
  return strip_ansi_escapes(s, &in_seq);
}

struct ResetLog {
  ~ResetLog() { sup::log::reset(); }
};

}  // namespace

TEST_CASE("strip_ansi_escapes matches supervisord's stripEscapes on single chunks") {
  // Expected values computed with supervisor.dispatchers.stripEscapes.
  CHECK(strip("\x1b[31mred\x1b[0m plain") == "red plain");
  CHECK(strip("\x1b[2J\x1b[Hx") == "x");
  CHECK(strip("\x1b[1;32;40mok\x1b[m!") == "ok!");
  CHECK(strip("\x1b[?25lhidden?\x1b[?25h") == "hidden?");
  CHECK(strip("a\x1b[123") == "a");          // unterminated: rest of the chunk dropped
  CHECK(strip("x\x1by") == "x\x1by");        // a lone ESC is kept
  CHECK(strip("e\x1b]0;title\x07z") == "e\x1b]0;title\x07z");  // OSC is not CSI
  CHECK(strip("") == "");
  CHECK(strip("plain\n") == "plain\n");
}

TEST_CASE("strip_ansi_escapes carries an unterminated sequence into the next chunk") {
  bool in_seq = false;
  CHECK(strip_ansi_escapes("a\x1b[3", &in_seq) == "a");
  CHECK(in_seq);
  CHECK(strip_ansi_escapes("1mb", &in_seq) == "b");
  CHECK_FALSE(in_seq);
}

TEST_CASE("ChannelLog writes raw bytes to its file and strips ANSI when asked") {
  TempDir dir;
  ChannelLog plain(file_target(dir / "plain.log"), "web", "stdout", false);
  ChannelLog stripped(file_target(dir / "stripped.log"), "web", "stderr", true);
  REQUIRE(plain.prepare().ok());
  std::string data("\x1b[32mgreen\x1b[0m and \0binary", 26);
  plain.write(data);
  stripped.write(data);
  plain.write("partial line");
  stripped.write("partial line");
  CHECK(read_file(dir / "plain.log") == data + "partial line");
  CHECK(read_file(dir / "stripped.log") == std::string("green and \0binarypartial line", 29));
  CHECK(plain.path() == dir / "plain.log");
  CHECK(stripped.channel() == "stderr");
}

TEST_CASE("ChannelLog rotates with the target's maxbytes and backups") {
  TempDir dir;
  std::string path = dir / "printer.log";
  ChannelLog log(file_target(path, 20, 2), "printer", "stdout", false);
  for (int i = 0; i < 10; ++i) log.write("0123456789\n");  // 11 bytes each
  CHECK(exists(path + ".1"));
  CHECK(exists(path + ".2"));
  CHECK_FALSE(exists(path + ".3"));
  CHECK(read_file(path + ".1") == "0123456789\n0123456789\n");
}

TEST_CASE("ChannelLog without a file (NONE, syslog) still feeds followers") {
  LogTarget none;
  none.kind = LogTarget::Kind::None;
  ChannelLog log(none, "quiet", "stdout", false);
  CHECK(log.path().empty());
  CHECK(log.prepare().ok());
  std::string seen;
  log.follow([&](std::string_view d) { seen.append(d); });
  log.write("abc");
  CHECK(seen == "abc");
  CHECK(log.reopen().ok());
  CHECK(log.clear().ok());

  LogTarget sys;
  sys.kind = LogTarget::Kind::Syslog;
  ChannelLog s(sys, "quiet", "stderr", false);
  CHECK(s.to_syslog());
  CHECK(s.path().empty());
}

TEST_CASE("followers get every chunk until unfollowed, even from inside a callback") {
  TempDir dir;
  ChannelLog log(file_target(dir / "f.log"), "web", "stdout", true);
  std::string a, b;
  int id_b = 0;
  int id_a = log.follow([&](std::string_view d) { a.append(d); });
  id_b = log.follow([&](std::string_view d) {
    b.append(d);
    log.unfollow(id_b);  // one chunk only
  });
  log.write("\x1b[1mone\x1b[0m");
  log.write("two");
  log.unfollow(id_a);
  log.write("three");
  CHECK(a == "onetwo");
  CHECK(b == "one");
  CHECK(read_file(dir / "f.log") == "onetwothree");
}

TEST_CASE("an unopenable log gives supervisord's spawnerr text and drops output") {
  TempDir dir;
  ChannelLog log(file_target(dir / "missing/x.log"), "p", "stdout", false);
  auto st = log.prepare();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error() == "unknown error making dispatchers for 'p': ENOENT");
  log.write("lost");
  CHECK(log.dropped_bytes() == 4);
  // Once the directory exists, the next prepare() (next spawn) opens it.
  REQUIRE(::mkdir((dir / "missing").c_str(), 0755) == 0);
  REQUIRE(log.prepare().ok());
  log.write("kept");
  CHECK(read_file(dir / "missing/x.log") == "kept");
}

TEST_CASE("prepare() reopens per spawn, recreating a log deleted meanwhile; nothing opens before") {
  TempDir dir;
  std::string path = dir / "spawned.log";
  ChannelLog log(file_target(path), "web", "stdout", false);
  CHECK_FALSE(exists(path));  // like supervisord: opened when the process is spawned
  REQUIRE(log.prepare().ok());
  CHECK(exists(path));
  log.write("first run\n");
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(log.prepare().ok());
  log.write("second run\n");
  CHECK(read_file(path) == "second run\n");
}

TEST_CASE("clear() and reopen() on a channel log") {
  TempDir dir;
  std::string path = dir / "c.log";
  ChannelLog log(file_target(path), "web", "stdout", false);
  log.write("old");
  REQUIRE(log.clear().ok());
  CHECK(read_file(path).empty());
  log.write("new");
  REQUIRE(::rename(path.c_str(), (path + ".rotated").c_str()) == 0);
  REQUIRE(log.reopen().ok());
  log.write("fresh");
  CHECK(read_file(path) == "fresh");
  CHECK(read_file(path + ".rotated") == "new");
}

TEST_CASE("at loglevel=debug output is copied to the daemon log as supervisord does") {
  ResetLog reset;
  TempDir dir;
  sup::log::Options o;
  o.path = dir / "supervisord.log";
  o.maxbytes = 0;
  o.level = sup::log::Level::Debug;
  REQUIRE(sup::log::init(o).ok());
  LogTarget none;
  none.kind = LogTarget::Kind::None;
  ChannelLog log(none, "web", "stdout", false);
  log.write("hello\n");
  log.write(std::string("bad \xff\n"));
  std::string text = read_file(dir / "supervisord.log");
  CHECK(text.find(" DEBG 'web' stdout output:\nhello\n\n") != std::string::npos);
  CHECK(text.find(" DEBG 'web' stdout output:\nUndecodable: b'bad \\xff\\n'\n") != std::string::npos);

  // At info nothing is copied.
  o.path = dir / "info.log";
  o.level = sup::log::Level::Info;
  REQUIRE(sup::log::init(o).ok());
  log.write("quiet\n");
  CHECK(read_file(dir / "info.log").empty());
}

TEST_CASE("file errors of a channel log are reported once to the daemon log") {
  ResetLog reset;
  TempDir dir;
  sup::log::Options o;
  o.path = dir / "supervisord.log";
  o.maxbytes = 0;
  REQUIRE(sup::log::init(o).ok());
  std::string sub = dir / "sub";
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  ChannelLog log(file_target(sub + "/w.log"), "web", "stderr", false);
  REQUIRE(log.prepare().ok());
  REQUIRE(::unlink((sub + "/w.log").c_str()) == 0);
  REQUIRE(::rmdir(sub.c_str()) == 0);
  CHECK_FALSE(log.clear().ok());
  log.write("a");
  log.write("b");
  std::string text = read_file(dir / "supervisord.log");
  CHECK(text.find("ERRO web stderr: cannot write to log file '" + sub + "/w.log'") != std::string::npos);
  CHECK(text.find("ERRO", text.find("ERRO") + 1) == std::string::npos);
  CHECK(log.dropped_bytes() == 2);
}

TEST_CASE("make_auto_log_path creates supervisord's AUTO names") {
  TempDir dir;
  std::string a = sup::logging::make_auto_log_path(dir.path(), "web", "stdout", "supervisor");
  std::string b = sup::logging::make_auto_log_path(dir.path() + "/", "web", "stdout", "supervisor");
  static const std::regex re(R"(^(.*)/web-stdout---supervisor-[A-Za-z0-9_]{6,}\.log$)");
  std::smatch m;
  REQUIRE(std::regex_match(a, m, re));
  CHECK(m[1] == dir.path());
  CHECK(std::regex_match(b, re));
  CHECK(a != b);
  struct stat st {};
  REQUIRE(::stat(a.c_str(), &st) == 0);
  CHECK(st.st_size == 0);
  CHECK((st.st_mode & 0777) == 0600);  // mkstemp's mode, as with supervisord
  CHECK(sup::logging::is_auto_log_name(a.substr(dir.path().size() + 1), "supervisor"));

  sup::log::reset();  // warnings to stderr, captured here
  logtest::CaptureFd capture(2, dir / "stderr.txt");
  std::string bad = sup::logging::make_auto_log_path(dir / "nope", "web", "stderr", "supervisor");
  std::string warning = capture.restore();
  CHECK(bad.starts_with(dir / "nope/web-stderr---supervisor-"));
  CHECK_FALSE(exists(bad));
  CHECK(warning.find(" WARN cannot create AUTO log file in " + (dir / "nope") + ": No such file or directory\n") !=
        std::string::npos);
}

TEST_CASE("is_auto_log_name matches supervisord's cleanup regex") {
  // Expected values computed with re.match(r'.+?---supervisor-\S+\.log\.{0,1}\d{0,4}', name).
  using sup::logging::is_auto_log_name;
  CHECK(is_auto_log_name("web-stdout---supervisor-abc123.log", "supervisor"));
  CHECK(is_auto_log_name("web-stdout---supervisor-abc123.log.1", "supervisor"));
  CHECK(is_auto_log_name("web-stdout---supervisor-abc123.log.10", "supervisor"));
  CHECK(is_auto_log_name("web-stdout---supervisor-abc123.logx", "supervisor"));
  CHECK(is_auto_log_name("a---supervisor-x.log", "supervisor"));
  CHECK(is_auto_log_name("a---supervisor-x y---supervisor-z.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("---supervisor-abc.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("a---supervisor-.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("a---supervisor-x y.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("a---other-x.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("other.log", "supervisor"));
  CHECK_FALSE(is_auto_log_name("a---supervisor-x.lo", "supervisor"));
  CHECK_FALSE(is_auto_log_name("web-stdout---supervisor-abc123.txt", "supervisor"));
  CHECK(is_auto_log_name("web-stdout---other-abc123.log", "other"));
}

TEST_CASE("cleanup_auto_logs removes this identifier's AUTO logs and their backups only") {
  TempDir dir;
  std::vector<std::string> doomed = {"web-stdout---supervisor-aaaaaa.log", "web-stdout---supervisor-aaaaaa.log.1",
                                     "web-stderr---supervisor-bbbbbb.log.10"};
  std::vector<std::string> kept = {"other.log", "web-stdout---other-cccccc.log", "notes.txt",
                                   "---supervisor-x.log"};
  for (const auto& n : doomed) logtest::write_file(dir / n, "x");
  for (const auto& n : kept) logtest::write_file(dir / n, "x");
  CHECK(sup::logging::cleanup_auto_logs(dir.path(), "supervisor") == doomed.size());
  for (const auto& n : doomed) CHECK_FALSE(exists(dir / n));
  for (const auto& n : kept) CHECK(exists(dir / n));
}
