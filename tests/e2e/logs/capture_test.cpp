// Child output capture: every byte a child writes to stdout or stderr ends up
// in its log file exactly, whatever the bytes are, however they are split,
// and however late they arrive (just before exit, or from a grandchild that
// still holds the pipe after the child exited).
#include <dirent.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "e2e/harness.hpp"
#include "common.hpp"
#include "pattern.hpp"

using namespace e2e;
using namespace e2e_logs;

namespace {

// Waits until path holds exactly `size` bytes, then returns its content
// ("" with a failed CHECK if it never gets there).
std::string wait_for_size(const std::string& path, std::size_t size) {
  bool reached = wait_until([&] { return file_size(path) == static_cast<long long>(size); });
  CHECK_MESSAGE(reached, path << " has " << file_size(path) << " bytes, expected " << size);
  return read_file(path);
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

}  // namespace

TEST_CASE("stdout and stderr are captured byte for byte into separate files") {
  const std::string w = quoted(writer());
  TempDir dir;
  // stdout: random bytes (all values, '\n' included), every byte value in
  // order, then text without a trailing newline; stderr: other random bytes.
  Daemon d(dir, "[program:bin]\ncommand=/bin/sh -c \"" + w + " pattern 1 300000 1 4096 && " + w +
                    " pattern 2 200000 2 && " + w + " allbytes 1 4 && printf 'no newline at the end'\"\n" +
                    R"(startsecs=0
autorestart=false
stdout_logfile=@DIR@/bin.out
stderr_logfile=@DIR@/bin.err
)");
  d.start();
  REQUIRE(d.wait_state("bin", "EXITED"));
  CHECK(int_field(d.process_info("bin"), "exitstatus") == 0);

  const std::string want_out = pattern_bytes(300000, 1) + all_byte_values(4) + "no newline at the end";
  const std::string want_err = pattern_bytes(200000, 2);
  std::string out = wait_for_size(dir.file("bin.out"), want_out.size());
  std::string err = wait_for_size(dir.file("bin.err"), want_err.size());
  CHECK(out == want_out);
  CHECK(err == want_err);
  // getProcessInfo names the files, as supervisorctl shows them.
  xmlrpc::Value info = d.process_info("bin");
  CHECK(str_field(info, "stdout_logfile") == dir.file("bin.out"));
  CHECK(str_field(info, "stderr_logfile") == dir.file("bin.err"));
}

TEST_CASE("a 1 MB line without any newline is logged whole") {
  const std::string w = quoted(writer());
  TempDir dir;
  // One write(2) of 1 MiB: the daemon reads it in pieces, the log gets it whole.
  Daemon d(dir, "[program:longline]\ncommand=" + w + " pattern 1 1048576 0 1048576\n" + R"(startsecs=0
autorestart=false
stdout_logfile=@DIR@/long.out
stdout_logfile_maxbytes=0
)");
  d.start();
  REQUIRE(d.wait_state("longline", "EXITED"));
  std::string out = wait_for_size(dir.file("long.out"), 1048576);
  CHECK(out == pattern_bytes(1048576, 0));
  CHECK(out.find('\n') == std::string::npos);
}

TEST_CASE("redirect_stderr=true merges stderr into the stdout log in write order") {
  const std::string w = quoted(writer());
  TempDir dir;
  Daemon d(dir, "[program:merged]\ncommand=/bin/sh -c \"" + w + " pattern 1 100000 3 && " + w +
                    " pattern 2 100000 4 && " + w + " pattern 1 5000 5 && " + w + " allbytes 2 1\"\n" +
                    R"(startsecs=0
autorestart=false
redirect_stderr=true
stdout_logfile=@DIR@/merged.out
)");
  d.start();
  REQUIRE(d.wait_state("merged", "EXITED"));
  const std::string want = pattern_bytes(100000, 3) + pattern_bytes(100000, 4) + pattern_bytes(5000, 5) +
                           all_byte_values(1);
  CHECK(wait_for_size(dir.file("merged.out"), want.size()) == want);
  // No stderr log exists: neither a file nor an AUTO log in childlogdir.
  CHECK(str_field(d.process_info("merged"), "stderr_logfile") == "");
  for (const std::string& name : dir_entries(dir.path())) CHECK(name.find("-stderr---") == std::string::npos);
  // And reading it is supervisord's NO_FILE fault.
  RpcResult r = d.call("supervisor.readProcessStderrLog", {"merged", 0, 0});
  REQUIRE(r.is_fault());
  CHECK(r.fault_code() == 20);
}

TEST_CASE("output written just before the child exits is all in the log") {
  const std::string w = quoted(writer());
  TempDir dir;
  // 5 MB, then exit at once: when the daemon reaps the child, the pipe still
  // holds the last bytes.
  Daemon d(dir, "[program:burst]\ncommand=" + w + " pattern 1 5000000 6\n" + R"(startsecs=0
autorestart=false
stdout_logfile=@DIR@/burst.out
stdout_logfile_maxbytes=0
)");
  d.start();
  REQUIRE(d.wait_state("burst", "EXITED"));
  CHECK(wait_for_size(dir.file("burst.out"), 5000000) == pattern_bytes(5000000, 6));
}

TEST_CASE("a grandchild still holding the pipe after the child exited is logged whole") {
  const std::string w = quoted(writer());
  TempDir dir;
  // The supervised process forks and exits at once; its child waits until
  // it has been reparented, then writes 2 MB into the inherited pipe.
  Daemon d(dir, "[program:orphan]\ncommand=" + w + " orphan 2000000 7\n" + R"(startsecs=0
autorestart=false
stdout_logfile=@DIR@/orphan.out
stdout_logfile_maxbytes=0
)");
  d.start();
  REQUIRE(d.wait_state("orphan", "EXITED"));
  CHECK(int_field(d.process_info("orphan"), "exitstatus") == 0);
  CHECK(wait_for_size(dir.file("orphan.out"), 2000000) == pattern_bytes(2000000, 7));
  // The daemon keeps working meanwhile and afterwards.
  CHECK(d.call("supervisor.getState").ok());
}

TEST_CASE("stdout_logfile=NONE writes no file and the child is never blocked") {
  const std::string w = quoted(writer());
  TempDir dir;
  // 4 MB is far beyond a pipe's buffer: if nobody read the pipe, the child
  // would block forever and never reach EXITED.
  Daemon d(dir, "[program:quiet]\ncommand=" + w + " pattern 1 4000000 8\n" + R"(startsecs=0
autorestart=false
stdout_logfile=NONE
stderr_logfile=NONE
)");
  d.start();
  REQUIRE(d.wait_state("quiet", "EXITED"));
  xmlrpc::Value info = d.process_info("quiet");
  CHECK(int_field(info, "exitstatus") == 0);
  CHECK(str_field(info, "stdout_logfile") == "");
  CHECK(str_field(info, "stderr_logfile") == "");
  for (const std::string& name : dir_entries(dir.path())) CHECK(name.find("quiet") == std::string::npos);
  RpcResult r = d.call("supervisor.readProcessStdoutLog", {"quiet", 0, 0});
  REQUIRE(r.is_fault());
  CHECK(r.fault_code() == 20);  // NO_FILE
  // tailProcessStdoutLog answers an empty tail, as supervisord does.
  RpcResult t = d.call("supervisor.tailProcessStdoutLog", {"quiet", 0, 100});
  REQUIRE(t.ok());
  REQUIRE(t.value().is_array());
  REQUIRE(t.value().as_array().size() == 3);
  CHECK(t.value().as_array()[0].as_string() == "");
  CHECK(t.value().as_array()[1].as_int() == 0);
}

TEST_CASE("strip_ansi=true removes ANSI colour escapes before writing; the default keeps them") {
  TempDir dir_on;
  TempDir dir_off;
  const std::string program = R"([program:colour]
command=/bin/sh -c "printf '\033[31mred\033[0m plain \033[1;32mbold green\033[0m\n'; printf '\033[4munder\033[0m\n' >&2"
startsecs=0
autorestart=false
stdout_logfile=@DIR@/colour.out
stderr_logfile=@DIR@/colour.err
)";
  Daemon on(dir_on, program, "strip_ansi=true");
  Daemon off(dir_off, program);
  on.start();
  off.start();
  REQUIRE(on.wait_state("colour", "EXITED"));
  REQUIRE(off.wait_state("colour", "EXITED"));
  CHECK(wait_for_size(dir_on.file("colour.out"), 21) == "red plain bold green\n");
  CHECK(wait_for_size(dir_on.file("colour.err"), 6) == "under\n");
  const std::string raw = "\033[31mred\033[0m plain \033[1;32mbold green\033[0m\n";
  CHECK(wait_for_size(dir_off.file("colour.out"), raw.size()) == raw);
  CHECK(wait_for_size(dir_off.file("colour.err"), 14) == "\033[4munder\033[0m\n");
}
