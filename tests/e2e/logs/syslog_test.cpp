// stdout_syslog / stderr_syslog: each line a child prints goes to syslog as
// "<program> <line>", as supervisord sends it. The daemon runs in a private
// mount namespace whose /dev/log is the test's own datagram socket, so the
// test sees exactly what was sent and the machine's syslog sees nothing. Run
// side by side with Debian's supervisord when it is installed.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "e2e/harness.hpp"

using namespace e2e;
using namespace std::chrono_literals;

namespace {

// Runs "$REAL args..." with /dev rebuilt on a tmpfs (bind mounts of every
// original entry) plus /dev/log bound to <dir>/log.sock.
constexpr const char* kWrapper = R"(#!/bin/sh
exec unshare --mount --propagation private /bin/sh -c '
set -e
T="$1"; shift
mkdir -p "$T/olddev"
mount --rbind /dev "$T/olddev"
mount -t tmpfs -o mode=0755 devtmp /dev
for e in "$T"/olddev/*; do
  n=${e##*/}
  [ "$n" = log ] && continue
  if [ -L "$e" ]; then cp -P "$e" "/dev/$n"
  elif [ -d "$e" ]; then mkdir "/dev/$n"; mount --rbind "$e" "/dev/$n"
  else : > "/dev/$n"; mount --bind "$e" "/dev/$n"
  fi
done
: > /dev/log
mount --bind "$T/log.sock" /dev/log
exec "$@"
' sh "$SYSLOG_TEST_DIR" "$SYSLOG_TEST_REAL" "$@"
)";

bool namespaces_available() {
  if (::geteuid() != 0) return false;
  CommandResult r = run_command({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/true"});
  return r.status == 0;
}

class SyslogSink {
 public:
  explicit SyslogSink(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(a.sun_path));
    std::copy(path.begin(), path.end(), a.sun_path);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    ::chmod(path.c_str(), 0666);
  }
  ~SyslogSink() { ::close(fd_); }

  // Receives datagrams until pred(messages) holds or the deadline passes.
  bool receive_until(const std::function<bool(const std::vector<std::string>&)>& pred, Millis deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred(raw_)) {
      auto left = std::chrono::duration_cast<Millis>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[8192];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) raw_.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  const std::vector<std::string>& raw() const { return raw_; }

 private:
  int fd_ = -1;
  std::vector<std::string> raw_;
};

// "<14>Nov 23 14:00:00 supervisord: web hello" -> {"<14>", "supervisord", "web hello"}.
struct Record {
  std::string priority, ident, message;
};
Record parse(const std::string& datagram) {
  Record r;
  std::string d = datagram;
  while (!d.empty() && (d.back() == '\0' || d.back() == '\n')) d.pop_back();
  auto gt = d.find('>');
  if (d.empty() || d[0] != '<' || gt == std::string::npos) return r;
  r.priority = d.substr(0, gt + 1);
  // The timestamp "Mmm dd hh:mm:ss " is 16 characters; then "ident: message".
  std::string rest = d.substr(gt + 1);
  if (rest.size() < 16) return r;
  rest = rest.substr(16);
  auto colon = rest.find(": ");
  if (colon == std::string::npos) return r;
  r.ident = rest.substr(0, colon);
  r.message = rest.substr(colon + 2);
  return r;
}

const std::vector<std::string> kExpected = {"talker out one", "talker out two", "talker ", "talker out three",
                                            "talker err one"};

bool has_all(const std::vector<std::string>& raw) {
  std::vector<std::string> msgs;
  for (const auto& d : raw) msgs.push_back(parse(d).message);
  return std::all_of(kExpected.begin(), kExpected.end(), [&](const std::string& e) {
    return std::find(msgs.begin(), msgs.end(), e) != msgs.end();
  });
}

// Runs `real` under the wrapper on the syslog config; the datagrams received.
std::vector<std::string> run_with_private_syslog(const std::string& real) {
  TempDir dir;
  SyslogSink sink(dir.file("log.sock"));
  const std::string wrapper = dir.file("wrap.sh");
  write_file(wrapper, kWrapper, 0755);
  const char* saved = std::getenv("SUPERVISORD");
  const std::string saved_value = saved ? saved : "";
  ::setenv("SYSLOG_TEST_DIR", dir.path().c_str(), 1);
  ::setenv("SYSLOG_TEST_REAL", real.c_str(), 1);
  ::setenv("SUPERVISORD", wrapper.c_str(), 1);
  std::vector<std::string> raw;
  {
    Daemon d(dir, R"(
[program:talker]
command=/bin/sh -c 'printf "out one\nout two\n\nout three"; printf "err one\n" >&2; exec sleep 1000'
stdout_syslog=true
stderr_syslog=true
stdout_logfile=NONE
stderr_logfile=NONE
startsecs=0
)");
    d.start();
    CHECK(sink.receive_until(has_all, 30s));
    raw = sink.raw();
  }
  ::setenv("SUPERVISORD", saved_value.c_str(), 1);
  return raw;
}

}  // namespace

TEST_CASE("stdout_syslog/stderr_syslog send one record per line, tagged with the program name") {
  if (!namespaces_available()) {
    MESSAGE("skipped: needs root and mount namespaces (unshare --mount) for a private /dev/log");
    return;
  }
  const char* ours = std::getenv("SUPERVISORD");
  REQUIRE(ours != nullptr);
  const std::vector<std::string> raw = run_with_private_syslog(ours);
  std::vector<std::string> msgs;
  for (const auto& d : raw) {
    Record r = parse(d);
    CAPTURE(d);
    CHECK(r.priority == "<14>");  // LOG_USER | LOG_INFO
    CHECK(r.ident == "supervisord");
    msgs.push_back(r.message);
  }
  // Every line once, empty lines kept, the unterminated last line too.
  for (const auto& e : kExpected) CHECK(std::count(msgs.begin(), msgs.end(), e) == 1);
  CHECK(msgs.size() == kExpected.size());

  if (::access("/usr/bin/supervisord", X_OK) != 0) {
    MESSAGE("Debian's supervisord is not installed: no side-by-side comparison");
    return;
  }
  std::vector<std::string> ref_msgs;
  for (const auto& d : run_with_private_syslog("/usr/bin/supervisord")) {
    Record r = parse(d);
    CHECK(r.priority == "<14>");
    CHECK(r.ident == "supervisord");
    ref_msgs.push_back(r.message);
  }
  std::sort(msgs.begin(), msgs.end());
  std::sort(ref_msgs.begin(), ref_msgs.end());
  CHECK(msgs == ref_msgs);
}
