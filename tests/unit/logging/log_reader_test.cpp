// Every expected value below was observed with the real supervisord 4.2.5
// (readProcessStdoutLog / tailProcessStdoutLog over XML-RPC) on a stdout log
// holding exactly "abcdefghij0123456789" (20 bytes) and a stderr log holding
// "h\xc3\xa9llo" (6 bytes).
#include "logging/log_reader.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "test_util.hpp"

using sup::logging::read_log;
using sup::logging::ReadErrorKind;
using sup::logging::tail_log;
using logtest::TempDir;

namespace {

struct ReadCase {
  std::int64_t offset, length;
  const char* expected;  // nullptr: BAD_ARGUMENTS
};

struct TailCase {
  std::int64_t offset, length;
  const char* bytes;
  std::int64_t next;
  bool overflow;
};

}  // namespace

TEST_CASE("read_log follows supervisord's readLog offset/length rules") {
  TempDir dir;
  std::string path = dir / "p.out";
  logtest::write_file(path, "abcdefghij0123456789");
  const ReadCase cases[] = {
      {0, 0, "abcdefghij0123456789"},  // offset>=0, length=0: to EOF
      {5, 0, "fghij0123456789"},
      {5, 3, "fgh"},
      {0, 100, "abcdefghij0123456789"},
      {19, 1, "9"},
      {20, 0, ""},  // at or past EOF: empty
      {25, 0, ""},
      {25, 5, ""},
      {-5, 0, "56789"},  // offset<0, length=0: last abs(offset) bytes
      {-100, 0, "abcdefghij0123456789"},
      {-5, 3, nullptr},  // offset<0 with length!=0
      {5, -1, nullptr},  // negative length
      {0, -1, nullptr},
      {-5, -1, nullptr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.offset);
    CAPTURE(c.length);
    auto r = read_log(path, c.offset, c.length);
    if (c.expected) {
      REQUIRE(r.ok());
      CHECK(r.data == c.expected);
    } else {
      CHECK(r.error == ReadErrorKind::BadArguments);
      CHECK(r.data.empty());
    }
  }
}

TEST_CASE("read_log returns raw bytes; a cut multi-byte character is the RPC layer's business") {
  TempDir dir;
  std::string path = dir / "p.err";
  logtest::write_file(path, "h\xc3\xa9llo");
  CHECK(read_log(path, 0, 3).data == "h\xc3\xa9");
  CHECK(read_log(path, -3, 0).data == "llo");
  CHECK(read_log(path, 5, 0).data == "o");
  // supervisord answers HTTP 500 for (2, 3): it starts inside "é".
  auto cut = read_log(path, 2, 3);
  REQUIRE(cut.ok());
  CHECK(cut.data == "\xa9ll");
  CHECK(sup::logging::utf8_sanitize(cut.data) == "\xef\xbf\xbdll");
  CHECK(sup::logging::utf8_sanitize("h\xc3\xa9llo") == "h\xc3\xa9llo");
  CHECK(sup::logging::utf8_sanitize("a\xc3") == "a\xef\xbf\xbd");
  CHECK(sup::logging::utf8_sanitize("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(sup::logging::utf8_sanitize("\xf0\x9f\x98\x80!") == "\xf0\x9f\x98\x80!");
}

TEST_CASE("read_log: missing file is NO_FILE (checked before the arguments), unreadable is FAILED") {
  TempDir dir;
  std::string missing = dir / "gone.log";
  auto r = read_log(missing, 0, 0);
  CHECK(r.error == ReadErrorKind::NoFile);
  CHECK(r.detail == missing);  // supervisord: "NO_FILE: /path"
  CHECK(read_log(missing, -5, 5).error == ReadErrorKind::NoFile);
  CHECK(read_log("", 0, 0).error == ReadErrorKind::NoFile);  // no log configured (stdout_logfile=NONE)
  // A directory exists but cannot be read as a file.
  CHECK(read_log(dir.path(), 0, 0).error == ReadErrorKind::Failed);
}

TEST_CASE("tail_log follows supervisord's tailProcessLog, quirks included") {
  TempDir dir;
  std::string path = dir / "p.out";
  logtest::write_file(path, "abcdefghij0123456789");
  const TailCase cases[] = {
      {0, 0, "", 20, true},
      {0, 5, "56789", 20, true},  // overflow: the last `length` bytes
      {0, 100, "abcdefghij0123456789", 20, false},
      {10, 5, "56789", 20, true},
      {10, 100, "abcdefghij0123456789", 20, false},  // quirk: includes bytes before offset
      {15, 5, "56789", 20, false},
      {19, 1, "9", 20, false},
      {18, 2, "89", 20, false},
      {20, 5, "", 20, false},  // nothing new
      {25, 5, "", 20, false},
      {30, 100, "", 20, false},
      {-5, 3, "789", 20, true},
      {-5, 100, "abcdefghij0123456789", 20, false},
      {5, -3, "", 20, true},
      {0, -1, "", 20, true},
      {-100, 10, "0123456789", 20, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.offset);
    CAPTURE(c.length);
    auto t = tail_log(path, c.offset, c.length);
    CHECK(t.bytes == c.bytes);
    CHECK(t.offset == c.next);
    CHECK(t.overflow == c.overflow);
  }
}

TEST_CASE("tail_log on the 6-byte stderr log, as observed") {
  TempDir dir;
  std::string path = dir / "p.err";
  logtest::write_file(path, "h\xc3\xa9llo");
  auto t = tail_log(path, 0, 2);
  CHECK(t.bytes == "lo");
  CHECK(t.offset == 6);
  CHECK(t.overflow);
  CHECK(tail_log(path, 0, 3).bytes == "llo");
  CHECK(tail_log(path, 2, 2).bytes == "lo");
  auto all = tail_log(path, 0, 100);
  CHECK(all.bytes == "h\xc3\xa9llo");
  CHECK_FALSE(all.overflow);
  // (0, 4) starts inside "é": supervisord fails with HTTP 500 there.
  CHECK(tail_log(path, 0, 4).bytes == "\xa9llo");
}

TEST_CASE("tail_log: missing file or no log gives ['', 0, false] whatever the offset") {
  TempDir dir;
  for (std::int64_t off : {0, 7}) {
    auto t = tail_log(dir / "gone.log", off, 10);
    CHECK(t.bytes.empty());
    CHECK(t.offset == 0);
    CHECK_FALSE(t.overflow);
  }
  auto none = tail_log("", 7, 10);
  CHECK(none.offset == 0);
}

TEST_CASE("tail_log follows a growing file like supervisorctl tail -f") {
  TempDir dir;
  std::string path = dir / "grow.log";
  logtest::write_file(path, "first\n");
  auto t1 = tail_log(path, 0, 1600);
  CHECK(t1.bytes == "first\n");
  std::FILE* f = std::fopen(path.c_str(), "ab");
  REQUIRE(f);
  std::fputs("second\n", f);
  std::fclose(f);
  auto t2 = tail_log(path, t1.offset, 1600);
  // supervisorctl prints only bytes past its offset; the server returns the tail.
  CHECK(t2.offset == 13);
  CHECK(t2.bytes.substr(t2.bytes.size() - 7) == "second\n");
  auto t3 = tail_log(path, t2.offset, 1600);
  CHECK(t3.bytes.empty());
  CHECK(t3.offset == 13);
}
