// Logs under outside events: SIGUSR2 after logrotate-style moves, a full
// disk, an unusable log path, /dev/stdout, and reading logs while they grow
// (XML-RPC tail and the streaming /logtail).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "common.hpp"
#include "pattern.hpp"
#include "xmlrpc/client.hpp"

using namespace e2e;
using namespace e2e_logs;

namespace {

// Makes `log_writer waitwrite <prefix>` write its k-th line.
void trigger(const TempDir& dir, int k) { write_file(dir.file("go." + std::to_string(k)), ""); }

std::string waitwrite_command(const TempDir& dir) {
  return quoted(writer()) + " waitwrite " + dir.file("go");
}

}  // namespace

TEST_CASE("SIGUSR2 reopens every log: output after an outside mv goes to a new file at the original path") {
  TempDir dir;
  Daemon d(dir, "[program:rw]\ncommand=" + waitwrite_command(dir) + R"(
stdout_logfile=@DIR@/rw.out
[program:other]
command=/bin/sleep 1000
autostart=false
)");
  d.start();
  REQUIRE(d.wait_state("rw", "RUNNING"));
  trigger(dir, 1);
  REQUIRE(wait_until([&] { return read_file(dir.file("rw.out")) == "line-1\n"; }));

  // logrotate without copytruncate: move the files away, then signal.
  REQUIRE(::rename(dir.file("rw.out").c_str(), dir.file("rw.out.moved").c_str()) == 0);
  REQUIRE(::rename(d.log_path().c_str(), dir.file("supervisord.log.moved").c_str()) == 0);
  d.signal(SIGUSR2);
  // The daemon notes the signal in the log it has open (the moved one) and
  // then reopens; being single-threaded, it handles anything later after that.
  REQUIRE(wait_until([&] { return read_file(dir.file("supervisord.log.moved")).find("SIGUSR2") != std::string::npos; }));

  trigger(dir, 2);
  REQUIRE(wait_until([&] { return read_file(dir.file("rw.out")) == "line-2\n"; }));
  CHECK(read_file(dir.file("rw.out.moved")) == "line-1\n");

  REQUIRE(d.call("supervisor.startProcess", {"other"}).ok());
  REQUIRE(wait_until([&] { return d.log().find("spawned: 'other'") != std::string::npos; }));
  CHECK(read_file(dir.file("supervisord.log.moved")).find("spawned: 'other'") == std::string::npos);
  // readLog reads the new main log.
  RpcResult r = d.call("supervisor.readLog", {0, 0});
  REQUIRE(r.ok());
  CHECK(r.value().as_string().find("spawned: 'other'") != std::string::npos);
}

TEST_CASE("a full disk: the error is logged once, the child is never blocked, logging resumes with space") {
  TempDir dir;
  const std::string mnt = dir.file("full");
  TmpfsMount tmpfs(mnt, 256 * 1024);
  if (!tmpfs.mounted()) {
    MESSAGE("skipped: a tmpfs cannot be mounted here (" << tmpfs.error() << ")");
    return;
  }
  const std::string log = mnt + "/fill.out";
  const std::size_t total = 8 * 1024 * 1024;
  Daemon d(dir, "[program:fill]\ncommand=/bin/sh -c \"" + quoted(writer()) + " fill " + std::to_string(total) + " " +
                    dir.file("filled") + " && exec " + waitwrite_command(dir) + "\"\nstdout_logfile=" + log + R"(
stdout_logfile_maxbytes=0
autostart=false
[program:other]
command=/bin/sleep 1000
)");
  d.start();
  REQUIRE(d.wait_state("other", "RUNNING"));
  // A filler file takes all the space but 32 KiB: the log gets about that
  // much, then the disk is full.
  const std::uint64_t filled = fill_disk(mnt + "/filler");
  REQUIRE(filled > 64 * 1024);
  REQUIRE(::truncate((mnt + "/filler").c_str(), static_cast<off_t>(filled - 32 * 1024)) == 0);
  REQUIRE(d.call("supervisor.startProcess", {"fill"}).ok());

  // The child finishes writing all 8 MB: the daemon kept reading its pipe.
  REQUIRE(wait_until([&] { return file_exists(dir.file("filled")); }, std::chrono::seconds(60)));
  const std::string failure = "cannot write to log file '" + log + "'";
  REQUIRE(d.wait_log(failure));
  const long long logged = file_size(log);
  CHECK(logged > 0);
  CHECK(logged <= 32 * 1024);

  // Other programs are controlled as usual, and the error was logged once.
  REQUIRE(d.call("supervisor.stopProcess", {"other"}).ok());
  CHECK(d.state_of("other") == "STOPPED");
  REQUIRE(d.call("supervisor.startProcess", {"other"}).ok());
  CHECK(d.state_of("other") == "RUNNING");
  CHECK(d.state_of("fill") == "RUNNING");
  CHECK(d.log_count(failure) == 1);

  // Space returns: the next output is written, and the recovery is logged
  // once with the exact number of bytes lost.
  REQUIRE(::unlink((mnt + "/filler").c_str()) == 0);
  trigger(dir, 1);
  REQUIRE(wait_until([&] {
    std::string c = read_file(log);
    return c.size() >= 7 && c.compare(c.size() - 7, 7, "line-1\n") == 0;
  }));
  CHECK(file_size(log) == logged + 7);
  const std::string recovery = "writing to log file '" + log + "' works again; ";
  REQUIRE(d.wait_log(recovery));
  CHECK_MESSAGE(d.log_count(recovery) == 1, d.log());
  CHECK(d.log_count(recovery + std::to_string(total - static_cast<std::size_t>(logged)) + " bytes were dropped") == 1);
  CHECK(d.log_count(failure) == 1);
  // What did get written is the start of the output, byte for byte.
  std::string content = read_file(log);
  CHECK(content.substr(0, static_cast<std::size_t>(logged)) == pattern_bytes(static_cast<std::size_t>(logged), 0));
}

TEST_CASE("a log path that cannot be opened is a spawn error; the daemon carries on") {
  TempDir dir;
  // Root ignores permission bits, so use paths that fail for root too: an
  // existing directory (EISDIR) and, where mounting works, a read-only
  // filesystem (EROFS).
  REQUIRE(::mkdir(dir.file("isdir").c_str(), 0755) == 0);
  TmpfsMount ro(dir.file("ro"), 64 * 1024, /*read_only=*/true);
  std::string body = R"([program:bad]
command=/bin/sh -c 'echo recovered; exec sleep 1000'
stdout_logfile=@DIR@/isdir
startretries=1
[program:good]
command=/bin/sleep 1000
)";
  if (ro.mounted()) body += "[program:rofs]\ncommand=/bin/sleep 1000\nstartretries=0\nstdout_logfile=@DIR@/ro/x.log\n";
  Daemon d(dir, body);
  d.start();
  REQUIRE(d.wait_state("bad", "FATAL"));
  xmlrpc::Value info = d.process_info("bad");
  CHECK(str_field(info, "spawnerr") == "unknown error making dispatchers for 'bad': EISDIR");
  CHECK(int_field(info, "pid") == 0);
  CHECK(d.log_count("spawnerr: unknown error making dispatchers for 'bad': EISDIR") == 2);  // 1 + startretries
  CHECK(d.log_count("gave up: bad entered FATAL state") == 1);
  CHECK(d.wait_state("good", "RUNNING"));
  if (ro.mounted()) {
    REQUIRE(d.wait_state("rofs", "FATAL"));
    CHECK(str_field(d.process_info("rofs"), "spawnerr") == "unknown error making dispatchers for 'rofs': EROFS");
  } else {
    MESSAGE("read-only filesystem case skipped: " << ro.error());
  }
  // The log is opened per spawn: once the path is usable, a start works.
  REQUIRE(::rmdir(dir.file("isdir").c_str()) == 0);
  RpcResult r = d.call("supervisor.startProcess", {"bad"});
  CHECK_MESSAGE(r.ok(), r.describe());
  CHECK(d.wait_state("bad", "RUNNING"));
  CHECK(wait_until([&] { return read_file(dir.file("isdir")) == "recovered\n"; }));
}

TEST_CASE("stdout_logfile=/dev/stdout: child output appears on the daemon's stdout, never rotated") {
  // supervisord 4.2.5 accepts /dev/stdout with any maxbytes (its docs ask for
  // 0; with a pipe it then fails every rotation check with "Illegal seek").
  // Ours accepts both and never rotates a special file.
  for (const char* maxbytes : {"0", "100"}) {
    CAPTURE(maxbytes);
    TempDir dir;
    Daemon d(dir, R"([program:fg]
command=/bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "child-line-$i to the daemon stdout"; done; exec sleep 1000'
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=)" + std::string(maxbytes) + "\n");
    d.start();
    REQUIRE(d.wait_state("fg", "RUNNING"));
    REQUIRE(wait_until([&] { return d.captured_stdout().find("child-line-10 to the daemon stdout\n") != std::string::npos; }));
    const std::string out = d.captured_stdout();
    for (int i = 1; i <= 10; ++i)
      CHECK(count_occurrences(out, "child-line-" + std::to_string(i) + " to the daemon stdout\n") == 1);
    CHECK(str_field(d.process_info("fg"), "stdout_logfile") == "/dev/stdout");
    CHECK(!file_exists("/dev/stdout.1"));
    const std::string log = d.log();
    CHECK(log.find("ERRO") == std::string::npos);
    CHECK(log.find("rotate") == std::string::npos);
  }
}

TEST_CASE("tailProcessStdoutLog and readProcessStdoutLog see new output as it is written") {
  TempDir dir;
  Daemon d(dir, "[program:rw]\ncommand=" + waitwrite_command(dir) + "\nstdout_logfile=@DIR@/rw.out\n");
  d.start();
  REQUIRE(d.wait_state("rw", "RUNNING"));
  trigger(dir, 1);
  long long offset = -1;
  REQUIRE(wait_until([&] {
    RpcResult r = d.call("supervisor.tailProcessStdoutLog", {"rw", 0, 1000});
    if (!r.ok()) return false;
    const xmlrpc::Array& a = r.value().as_array();
    offset = a[1].as_int();
    return a[0].as_string() == "line-1\n" && !a[2].as_bool();
  }));
  CHECK(offset == 7);
  trigger(dir, 2);
  REQUIRE(wait_until([&] {
    RpcResult r = d.call("supervisor.tailProcessStdoutLog", {"rw", offset, 1000});
    return r.ok() && r.value().as_array()[1].as_int() == 14;
  }));
  // A small length over a bigger gap reports overflow and the last bytes.
  trigger(dir, 3);
  REQUIRE(wait_until([&] { return file_size(dir.file("rw.out")) == 21; }));
  RpcResult t = d.call("supervisor.tailProcessStdoutLog", {"rw", 7, 5});
  REQUIRE(t.ok());
  CHECK(t.value().as_array()[0].as_string() == "ne-3\n");
  CHECK(t.value().as_array()[1].as_int() == 21);
  CHECK(t.value().as_array()[2].as_bool());
  RpcResult all = d.call("supervisor.readProcessStdoutLog", {"rw", 0, 0});
  REQUIRE(all.ok());
  CHECK(all.value().as_string() == "line-1\nline-2\nline-3\n");
  RpcResult part = d.call("supervisor.readProcessStdoutLog", {"rw", 7, 7});
  REQUIRE(part.ok());
  CHECK(part.value().as_string() == "line-2\n");
}

TEST_CASE("GET /logtail/<name> streams new output as it is written") {
  TempDir dir;
  Daemon d(dir, "[program:rw]\ncommand=" + waitwrite_command(dir) + "\nstdout_logfile=@DIR@/rw.out\n");
  d.start();
  REQUIRE(d.wait_state("rw", "RUNNING"));
  trigger(dir, 1);
  REQUIRE(wait_until([&] { return read_file(dir.file("rw.out")) == "line-1\n"; }));

  std::mutex mu;
  std::string received;
  std::atomic<bool> finished{false};
  bool stream_ok = false;
  xmlrpc::TransportError err;
  std::thread reader([&] {
    xmlrpc::Client client(d.url());
    stream_ok = client.stream_get("/logtail/rw", [&](std::string_view data) {
      std::lock_guard<std::mutex> lock(mu);
      received.append(data);
      return received.find("line-3\n") == std::string::npos;  // stop after line 3
    }, &err);
    finished = true;
  });
  auto got = [&](const std::string& s) {
    std::lock_guard<std::mutex> lock(mu);
    return received.find(s) != std::string::npos;
  };
  // The stream starts with the current end of the log, then follows it.
  bool ok = wait_until([&] { return got("line-1\n"); });
  CHECK_MESSAGE(ok, "the stream did not start with the existing output");
  if (ok) {
    trigger(dir, 2);
    ok = wait_until([&] { return got("line-2\n"); });
    CHECK_MESSAGE(ok, "line-2 was not streamed");
  }
  if (ok) {
    trigger(dir, 3);
    ok = wait_until([&] { return finished.load(); });
    CHECK_MESSAGE(ok, "line-3 was not streamed");
  }
  if (!ok) {
    // Unblock the reader: the daemon's exit closes the stream.
    d.signal(SIGTERM);
    d.wait_exit();
  }
  reader.join();
  if (ok) {
    CHECK_MESSAGE(stream_ok, err.message);
    std::lock_guard<std::mutex> lock(mu);
    CHECK(received == "line-1\nline-2\nline-3\n");
  }
}
