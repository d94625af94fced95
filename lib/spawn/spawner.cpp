#include "spawn/spawner.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace sup {
namespace {

namespace bp = boost::process;

// Writes "supervisor: <a><b>: <ERRNAME>\n" with async-signal-safe calls only.
void child_error(const char* a, const char* b, int err) {
  char buf[1024];
  size_t n = 0;
  auto add = [&](const char* s) {
    while (*s && n < sizeof(buf) - 2) buf[n++] = *s++;
  };
  add("supervisor: ");
  add(a);
  add(b);
  add(": ");
  const char* name = strerrorname_np(err);
  add(name ? name : "EUNKNOWN");
  buf[n++] = '\n';
  ssize_t r = ::write(2, buf, n);
  (void)r;
}

[[noreturn]] void child_fail() {
  static const char kMsg[] = "supervisor: child process was not spawned\n";
  ssize_t r = ::write(2, kMsg, sizeof(kMsg) - 1);
  (void)r;
  _exit(127);
}

// Puts fd on target without CLOEXEC (dup2 onto itself keeps the flag).
bool place_fd(int fd, int target) {
  if (fd == target) return ::fcntl(fd, F_SETFD, 0) == 0;
  return ::dup2(fd, target) == target;
}

// The child-side set-up, run after fork; must be the last initializer so that
// it runs after Boost's own. Everything here is async-signal-safe.
struct ChildSetup : bp::extend::handler {
  const SpawnSpec* spec;
  int in_read, out_write, err_write;
  char* const* argv;
  char* const* envp;
  char* listen_pid = nullptr;  // "LISTEN_PID=" followed by room for the digits
  pid_t parent = 0;            // the daemon's pid, taken before the fork

  template <class Executor>
  void on_setup(Executor& e) const {
    // argv[0] as written in the config, our own environment (not the daemon's).
    e.exe = spec->filename.c_str();
    e.cmd_line = argv;
    e.env = const_cast<char**>(envp);
  }

  template <class Executor>
  void on_exec_setup(Executor& e) const {
    (void)e;
    // Own process group: signals to the daemon's group don't reach the child,
    // and stopasgroup/killasgroup can signal kill(-pid).
    ::setpgid(0, 0);
    // Default signal state (asio installed handlers, SIGPIPE is ignored).
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) {
      if (s == SIGKILL || s == SIGSTOP) continue;
      ::signal(s, SIG_DFL);
    }
    // Passed descriptors first go above everything we still need...
    int n_pass = static_cast<int>(spec->pass_fds.size());
    int high[64];  // the config loader allows at most 64 sockets per program
    if (n_pass > 64) n_pass = 64;
    for (int i = 0; i < n_pass; ++i) high[i] = ::fcntl(spec->pass_fds[i], F_DUPFD_CLOEXEC, 3 + n_pass + 16);
    if (listen_pid) {
      // Our own pid, in the slot the parent reserved in envp (this is the
      // child's copy of the parent's memory after fork).
      char tmp[24];
      int k = 0;
      unsigned long v = static_cast<unsigned long>(::getpid());
      do tmp[k++] = static_cast<char>('0' + v % 10), v /= 10;
      while (v);
      char* d = listen_pid + sizeof("LISTEN_PID=") - 1;
      while (k) *d++ = tmp[--k];
      *d = 0;
    }
    int stdin_src = in_read;
    if (spec->stdin_source >= 0) {
      // Like the passed descriptors: moved above the range we overwrite.
      stdin_src = ::fcntl(spec->stdin_source, F_DUPFD_CLOEXEC, 3 + n_pass + 16);
    }
    if (!place_fd(stdin_src, 0) || !place_fd(out_write, 1) ||
        !place_fd(spec->redirect_stderr ? out_write : err_write, 2)) {
      child_error("couldn't set up stdio", "", errno);
      child_fail();
    }
    // ...then land on 3, 4, ... (socket activation layout).
    for (int i = 0; i < n_pass; ++i) place_fd(high[i], 3 + i);
    // Nothing else crosses exec (Boost's error pipe stays open until exec).
    ::syscall(SYS_close_range, 3 + n_pass, ~0U, CLOSE_RANGE_CLOEXEC);

    if (spec->uid) {
      char uidbuf[24];
      {
        unsigned v = *spec->uid;
        char tmp[24];
        int k = 0;
        do tmp[k++] = static_cast<char>('0' + v % 10), v /= 10;
        while (v);
        int j = 0;
        while (k) uidbuf[j++] = tmp[--k];
        uidbuf[j] = 0;
      }
      gid_t gid = spec->gid ? *spec->gid : 0;
      if (::initgroups(spec->user.c_str(), gid) != 0 && ::setgroups(0, nullptr) != 0) {
        child_error("couldn't setuid to ", uidbuf, errno);
        child_fail();
      }
      if (::setgid(gid) != 0 || ::setuid(*spec->uid) != 0) {
        child_error("couldn't setuid to ", uidbuf, errno);
        child_fail();
      }
    }
    // Issue 9: the child dies with the daemon (kill -9 of supervisord, a
    // crash), so that a restarted daemon does not find the previous
    // generation still running. The kernel sends the signal when the thread
    // that forked the child ends; the daemon forks from its main thread (the
    // event loop; Asio's internal resolver thread, used by health checks,
    // never forks), so that is when the daemon ends. Set after setuid/setgid,
    // which clear it. A daemon that died before this point is noticed by the
    // ppid check: the child was already reparented.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (::getppid() != parent) _exit(127);
    if (!spec->directory.empty() && ::chdir(spec->directory.c_str()) != 0) {
      child_error("couldn't chdir to ", spec->directory.c_str(), errno);
      child_fail();
    }
    if (spec->umask) ::umask(*spec->umask);
    ::execve(spec->filename.c_str(), argv, envp);
    child_error("couldn't exec ", spec->argv.empty() ? "" : spec->argv[0].c_str(), errno);
    child_fail();
  }
};

struct Pipe {
  UniqueFd read, write;
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read.reset(fds[0]);
    write.reset(fds[1]);
    return true;
  }
};

}  // namespace

Result<SpawnedChild> spawn_child(const SpawnSpec& spec, const std::string& process_name) {
  Pipe in, out, err;
  if (!in.open() || !out.open() || (!spec.redirect_stderr && !err.open())) {
    int e = errno;
    if (e == EMFILE || e == ENFILE) return Error{"too many open files to spawn '" + process_name + "'"};
    return Error{"unknown error making dispatchers for '" + process_name + "': " +
                 (strerrorname_np(e) ? strerrorname_np(e) : std::to_string(e))};
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  std::string listen_pid(sizeof("LISTEN_PID=") - 1 + 24, '\0');
  for (const auto& kv : spec.env) {
    if (spec.listen_pid && kv.rfind("LISTEN_PID=", 0) == 0) continue;  // ours replaces an inherited one
    envp.push_back(const_cast<char*>(kv.c_str()));
  }
  if (spec.listen_pid) {
    std::memcpy(listen_pid.data(), "LISTEN_PID=", sizeof("LISTEN_PID=") - 1);
    envp.push_back(listen_pid.data());
  }
  envp.push_back(nullptr);

  ChildSetup setup;
  setup.spec = &spec;
  setup.parent = ::getpid();
  setup.in_read = in.read.get();
  setup.out_write = out.write.get();
  setup.err_write = spec.redirect_stderr ? out.write.get() : err.write.get();
  setup.argv = argv.data();
  setup.envp = envp.data();
  if (spec.listen_pid) setup.listen_pid = listen_pid.data();

  std::error_code ec;
  bp::child c(bp::exe = spec.filename, setup, ec);
  if (ec || !c.valid()) {
    int e = ec ? ec.value() : EAGAIN;
    if (e == EAGAIN) return Error{"Too many processes in process table to spawn '" + process_name + "'"};
    return Error{"unknown error during fork for '" + process_name + "': " +
                 (strerrorname_np(e) ? strerrorname_np(e) : std::to_string(e))};
  }
  pid_t pid = c.id();
  // ~child() would SIGKILL an attached child: we reap it ourselves (SIGCHLD).
  c.detach();
  // Also from the parent, so kill(-pid) works before the child ran setpgid.
  ::setpgid(pid, pid);

  SpawnedChild sc;
  sc.pid = pid;
  sc.stdin_fd = std::move(in.write);
  sc.stdout_fd = std::move(out.read);
  if (!spec.redirect_stderr) sc.stderr_fd = std::move(err.read);
  // Non-blocking stdin so sendProcessStdin never stalls the loop.
  ::fcntl(sc.stdin_fd.get(), F_SETFL, ::fcntl(sc.stdin_fd.get(), F_GETFL) | O_NONBLOCK);
  return sc;
}

}  // namespace sup
