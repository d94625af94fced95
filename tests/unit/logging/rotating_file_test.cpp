#include "logging/rotating_file.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "test_util.hpp"

using sup::logging::RotatingFile;
using logtest::exists;
using logtest::file_size;
using logtest::read_file;
using logtest::TempDir;

namespace {

std::unique_ptr<RotatingFile> must_open(const std::string& path, std::int64_t maxbytes, int backups) {
  auto r = RotatingFile::open(path, maxbytes, backups);
  REQUIRE_MESSAGE(r.ok(), r.error());
  return std::move(*r);
}

}  // namespace

TEST_CASE("RotatingFile writes raw bytes exactly, binary and without added newlines") {
  TempDir dir;
  std::string path = dir / "raw.log";
  auto f = must_open(path, 0, 0);
  std::string binary("\0\x01\xff\r\n\x1b[0m", 9);
  f->write("no newline");
  f->write(binary);
  f->write("");
  f->write("tail");
  CHECK(read_file(path) == "no newline" + binary + "tail");
  CHECK(f->dropped_bytes() == 0);
  CHECK_FALSE(f->special());
}

TEST_CASE("RotatingFile creates files with 0666 under the umask, like supervisord's open(path, 'ab')") {
  TempDir dir;
  mode_t old = ::umask(027);
  auto f = RotatingFile::open(dir / "mode.log", 0, 0);
  ::umask(old);
  REQUIRE(f.ok());
  struct stat st {};
  REQUIRE(::stat((dir / "mode.log").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
}

TEST_CASE("RotatingFile appends to an existing file") {
  TempDir dir;
  std::string path = dir / "existing.log";
  logtest::write_file(path, "before\n");
  auto f = must_open(path, 0, 0);
  f->write("after\n");
  CHECK(read_file(path) == "before\nafter\n");
}

TEST_CASE("rotation at 20 bytes with 2 backups: write first, rotate at >= maxbytes, shift .1 -> .2") {
  TempDir dir;
  std::string path = dir / "f";
  auto f = must_open(path, 20, 2);
  CHECK(f->rotates());
  f->write("AAAAAAAA");  // 8
  f->write("BBBBBBBB");  // 16
  CHECK_FALSE(exists(path + ".1"));
  f->write("CCCCCCCC");  // 24 >= 20: the whole write lands, then f -> f.1
  CHECK(read_file(path + ".1") == "AAAAAAAABBBBBBBBCCCCCCCC");
  CHECK(file_size(path) == 0);
  f->write("DDDDDDDD");
  f->write("EEEEEEEE");
  f->write("FFFFFFFF");  // rotate again: f.1 -> f.2, f -> f.1
  f->write("GGGGGGGG");
  CHECK(read_file(path) == "GGGGGGGG");
  CHECK(read_file(path + ".1") == "DDDDDDDDEEEEEEEEFFFFFFFF");
  CHECK(read_file(path + ".2") == "AAAAAAAABBBBBBBBCCCCCCCC");
  f->write("HHHHHHHH");
  f->write("IIIIIIII");  // third rotation: the oldest backup is dropped
  CHECK(file_size(path) == 0);
  CHECK(read_file(path + ".1") == "GGGGGGGGHHHHHHHHIIIIIIII");
  CHECK(read_file(path + ".2") == "DDDDDDDDEEEEEEEEFFFFFFFF");
  CHECK_FALSE(exists(path + ".3"));
}

TEST_CASE("a write of exactly maxbytes rotates; one byte less does not") {
  TempDir dir;
  std::string path = dir / "edge.log";
  auto f = must_open(path, 10, 1);
  f->write("123456789");
  CHECK_FALSE(exists(path + ".1"));
  f->write("0");
  CHECK(read_file(path + ".1") == "1234567890");
  CHECK(file_size(path) == 0);
}

TEST_CASE("backups=0 truncates the file in place") {
  TempDir dir;
  std::string path = dir / "trunc.log";
  auto f = must_open(path, 10, 0);
  f->write("0123456789AB");
  CHECK(file_size(path) == 0);
  f->write("xyz");
  CHECK(read_file(path) == "xyz");
  CHECK_FALSE(exists(path + ".1"));
}

TEST_CASE("maxbytes=0 never rotates") {
  TempDir dir;
  std::string path = dir / "grow.log";
  auto f = must_open(path, 0, 5);
  CHECK_FALSE(f->rotates());
  std::string chunk(1000, 'x');
  for (int i = 0; i < 50; ++i) f->write(chunk);
  CHECK(file_size(path) == 50000);
  CHECK_FALSE(exists(path + ".1"));
}

TEST_CASE("rotation survives a log file deleted by an outside tool") {
  TempDir dir;
  std::string path = dir / "gone.log";
  auto f = must_open(path, 10, 2);
  f->write("abc");
  REQUIRE(::unlink(path.c_str()) == 0);
  f->write("0123456789");  // lands in the unlinked inode, then rotation reopens the path
  CHECK(exists(path));
  CHECK(file_size(path) == 0);
  f->write("new");
  CHECK(read_file(path) == "new");
}

TEST_CASE("reopen() after an outside mv recreates the file at the original path") {
  TempDir dir;
  std::string path = dir / "app.log";
  auto f = must_open(path, 0, 0);
  f->write("one ");
  REQUIRE(::rename(path.c_str(), (dir / "app.log.moved").c_str()) == 0);
  f->write("two ");  // still the moved file until reopened, as with supervisord
  CHECK_FALSE(exists(path));
  REQUIRE(f->reopen().ok());
  f->write("three");
  CHECK(read_file(path) == "three");
  CHECK(read_file(dir / "app.log.moved") == "one two ");
}

TEST_CASE("clear() unlinks the current file (not its backups) and reopens it empty") {
  TempDir dir;
  std::string path = dir / "c.log";
  auto f = must_open(path, 5, 1);
  f->write("123456");  // -> c.log.1
  f->write("abc");
  REQUIRE(f->clear().ok());
  CHECK(exists(path));
  CHECK(file_size(path) == 0);
  CHECK(read_file(path + ".1") == "123456");
  f->write("aft");
  CHECK(read_file(path) == "aft");
}

TEST_CASE("open() errors are one line naming the path, with the errno for spawnerr") {
  TempDir dir;
  int err = 0;
  auto missing = RotatingFile::open(dir / "no/such/dir/x.log", 0, 0, &err);
  REQUIRE_FALSE(missing.ok());
  CHECK(err == ENOENT);
  CHECK(missing.error() == "cannot open log file '" + (dir / "no/such/dir/x.log") +
                               "': No such file or directory");
  CHECK(missing.error().find('\n') == std::string::npos);
  CHECK(sup::logging::errno_symbol(ENOENT) == "ENOENT");
  CHECK(sup::logging::errno_symbol(EACCES) == "EACCES");

  logtest::write_file(dir / "plainfile", "x");
  auto notdir = RotatingFile::open(dir / "plainfile/x.log", 0, 0, &err);
  REQUIRE_FALSE(notdir.ok());
  CHECK(err == ENOTDIR);
  CHECK(notdir.error().find(dir / "plainfile/x.log") != std::string::npos);
}

TEST_CASE("open() in an unwritable directory fails with EACCES") {
  TempDir dir;
  std::string ro = dir / "ro";
  REQUIRE(::mkdir(ro.c_str(), 0555) == 0);
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  // Root ignores directory permissions: try as nobody in a child.
  std::string result = logtest::run_in_child([&]() -> std::string {
    if (::geteuid() == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) return "setuid failed";
    }
    int err = 0;
    auto r = RotatingFile::open(ro + "/x.log", 0, 0, &err);
    if (r.ok()) return "opened";
    return sup::logging::errno_symbol(err) + "|" + r.error();
  });
  CHECK(result == "EACCES|cannot open log file '" + ro + "/x.log': Permission denied");
}

TEST_CASE("special files: a FIFO is written but never rotated nor unlinked") {
  TempDir dir;
  std::string fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(reader >= 0);
  auto f = must_open(fifo, 10, 2);
  CHECK(f->special());
  CHECK_FALSE(f->rotates());
  f->write("0123456789ABCDEF");
  f->write("more");
  char buf[64];
  ssize_t n = ::read(reader, buf, sizeof buf);
  CHECK(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) == "0123456789ABCDEFmore");
  CHECK_FALSE(exists(fifo + ".1"));
  REQUIRE(f->clear().ok());
  struct stat st {};
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
  ::close(reader);
}

TEST_CASE("special files: /dev/fd/N is never rotated even when it is a regular file") {
  TempDir dir;
  std::string path = dir / "viafd.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  auto f = must_open("/dev/fd/" + std::to_string(fd), 5, 2);
  CHECK(f->special());
  f->write("0123456789");
  CHECK(read_file(path) == "0123456789");
  CHECK_FALSE(exists(path + ".1"));
  ::close(fd);
}

TEST_CASE("write errors are reported once, counted, and the recovery is reported once") {
  TempDir dir;
  std::string path = dir / "limited.log";
  // RLIMIT_FSIZE is process-wide: run in a child. SIGXFSZ ignored as in the daemon.
  std::string result = logtest::run_in_child([&]() -> std::string {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim {};
    ::getrlimit(RLIMIT_FSIZE, &lim);
    struct rlimit small = lim;
    small.rlim_cur = 100;
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) return "setrlimit failed";
    std::vector<std::string> reports;
    auto r = RotatingFile::open(path, 0, 0);
    if (!r.ok()) return r.error();
    auto& f = *r;
    f->set_error_callback([&](const std::string& m) { reports.push_back(m); });
    f->write(std::string(80, 'a'));
    f->write(std::string(50, 'b'));  // 20 fit, 30 dropped (EFBIG)
    f->write(std::string(10, 'c'));  // dropped, no second report
    std::string out = std::to_string(reports.size()) + " " + std::to_string(f->dropped_bytes()) + "\n";
    ::setrlimit(RLIMIT_FSIZE, &lim);
    f->write("dd");  // works again
    f->write("ee");
    out += std::to_string(reports.size()) + " " + std::to_string(f->dropped_bytes()) + "\n";
    for (const auto& m : reports) out += m + "\n";
    return out;
  });
  std::string expected = "1 40\n2 40\n"
                         "cannot write to log file '" + path +
                         "': File too large; dropping output until writing works again\n"
                         "writing to log file '" + path + "' works again; 40 bytes were dropped\n";
  CHECK(result == expected);
  CHECK(read_file(path) == std::string(80, 'a') + std::string(20, 'b') + "ddee");
}

TEST_CASE("a file-size limit below maxbytes triggers an early rotation instead of losing output") {
  TempDir dir;
  std::string path = dir / "early.log";
  std::string result = logtest::run_in_child([&]() -> std::string {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small {};
    ::getrlimit(RLIMIT_FSIZE, &small);
    small.rlim_cur = 100;
    if (::setrlimit(RLIMIT_FSIZE, &small) != 0) return "setrlimit failed";
    int reports = 0;
    auto r = RotatingFile::open(path, 1000, 1);
    if (!r.ok()) return r.error();
    (*r)->set_error_callback([&](const std::string&) { ++reports; });
    (*r)->write(std::string(80, 'a'));
    (*r)->write(std::string(50, 'b'));
    return std::to_string(reports) + " " + std::to_string((*r)->dropped_bytes());
  });
  CHECK(result == "0 0");
  CHECK(read_file(path + ".1") == std::string(80, 'a') + std::string(20, 'b'));
  CHECK(read_file(path) == std::string(30, 'b'));
}

TEST_CASE("writes after a failed reopen are dropped and counted, then resume when the path works") {
  TempDir dir;
  std::string sub = dir / "sub";
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  std::string path = sub + "/x.log";
  std::vector<std::string> reports;
  auto f = must_open(path, 0, 0);
  f->set_error_callback([&](const std::string& m) { reports.push_back(m); });
  f->write("1");
  // rmdir the directory: clear() cannot recreate the file.
  REQUIRE(::unlink(path.c_str()) == 0);
  REQUIRE(::rmdir(sub.c_str()) == 0);
  CHECK_FALSE(f->clear().ok());
  f->write("lost");
  f->write("lost too");
  CHECK(f->dropped_bytes() == 12);
  CHECK(reports.size() == 1);
  REQUIRE(::mkdir(sub.c_str(), 0755) == 0);
  f->write("back");
  CHECK(read_file(path) == "back");
  REQUIRE(reports.size() == 2);
  CHECK(reports[1] == "writing to log file '" + path + "' works again; 12 bytes were dropped");
}

// As supervisord's doRollover: a backup whose predecessor is gone (removed
// by a cleanup script) is not touched, the others shift, and every shift
// onto an existing name replaces it.
TEST_CASE("rotation shifts the backups that exist and keeps one whose predecessor was removed") {
  TempDir dir;
  std::string path = dir / "gap.log";
  logtest::write_file(path + ".1", "old one");
  logtest::write_file(path + ".3", "old three");
  auto f = must_open(path, 10, 3);
  f->write("0123456789");  // reaches maxbytes: rotates
  CHECK(read_file(path + ".1") == "0123456789");
  CHECK(read_file(path + ".2") == "old one");
  CHECK(read_file(path + ".3") == "old three");  // no .2 to shift onto it
  CHECK(file_size(path) == 0);
  f->write("abcdefghij");
  CHECK(read_file(path + ".1") == "abcdefghij");
  CHECK(read_file(path + ".2") == "0123456789");
  CHECK(read_file(path + ".3") == "old one");  // replaced "old three"
  CHECK_FALSE(exists(path + ".4"));
}
