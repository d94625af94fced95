#include "spawn/spawner.hpp"

#include "util/nss.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

namespace sup {
namespace {

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

// Everything the child needs, prepared by the parent: the child runs on a
// borrowed stack in the parent's memory (clone with CLONE_VM|CLONE_VFORK,
// the way posix_spawn works) until it execs, so it may only make system
// calls: no allocation, no locks, no glibc wrapper that thinks about threads
// (setuid/setgroups go to the kernel directly; the group list is looked up
// by the parent).
struct ChildArgs {
  const SpawnSpec* spec;
  int in_read, out_write, err_write;
  char* const* argv;
  char* const* envp;
  char* listen_pid = nullptr;  // "LISTEN_PID=" followed by room for the digits
  pid_t parent = 0;            // the daemon's pid, taken before the clone
  const gid_t* groups = nullptr;  // supplementary groups when spec->uid is set
  std::size_t n_groups = 0;
  sigset_t parent_mask;        // restored in the parent; the child starts from empty
  const int* pass_fds = nullptr;  // descriptors for 3, 4, ...
  int n_pass = 0;
  int stdin_source = -1;       // instead of in_read, when >= 0
  // Nonzero: cloned with CLONE_FILES; the child's private table keeps
  // descriptors [0, copy_below) only.
  unsigned copy_below = 0;
};

// Low descriptor numbers owned by the spawner, holding /dev/null between
// spawns. For a spawn, the child's pipe ends and passed descriptors are
// parked in them, so that the child needs a copy of the descriptors below
// the highest slot only, however many the daemon holds. Taken once, when
// the daemon holds few descriptors; more are taken (at whatever number is
// free) only for a program passing many sockets.
class SlotTable {
 public:
  // Parks fds[i] in slot i; returns false (nothing parked) if /dev/null or
  // a slot cannot be had.
  bool park(const std::vector<int>& fds) {
    if (null_ < 0) {
      null_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null_ < 0) return false;
    }
    while (slots_.size() < fds.size()) {
      int s = ::fcntl(null_, F_DUPFD_CLOEXEC, 3);  // above stdio, which the child overwrites
      if (s < 0) return false;
      slots_.push_back(s);
      if (static_cast<unsigned>(s) >= top_) top_ = static_cast<unsigned>(s) + 1;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (::dup3(fds[i], slots_[i], O_CLOEXEC) < 0) {
        release(i);
        return false;
      }
    }
    used_ = fds.size();
    return true;
  }
  int slot(std::size_t i) const { return slots_[i]; }
  unsigned top() const { return top_; }
  // Points the used slots back at /dev/null: the daemon must not keep the
  // child's pipe ends (the pipes would never report EOF).
  void release() { release(used_); }

 private:
  void release(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) ::dup3(null_, slots_[i], O_CLOEXEC);
    used_ = 0;
  }
  int null_ = -1;
  std::vector<int> slots_;
  unsigned top_ = 0;
  std::size_t used_ = 0;
};

SlotTable& slot_table() {
  static SlotTable table;
  return table;
}

void write_decimal(char* out, unsigned long v) {
  char tmp[24];
  int k = 0;
  do tmp[k++] = static_cast<char>('0' + v % 10), v /= 10;
  while (v);
  while (k) *out++ = tmp[--k];
  *out = 0;
}

[[noreturn]] void child_main(const ChildArgs& a) {
  const SpawnSpec* spec = a.spec;
  // The child was cloned sharing the daemon's descriptor table (copying a
  // table of thousands of pipes for every spawn cost more than the rest of
  // the spawn: issue 7, 5000 programs). Before touching any descriptor it
  // takes a private table holding only the low ones, where the parent
  // parked everything the child needs (see SlotTable). Kernels before 5.9
  // lack CLOSE_RANGE_UNSHARE: copy the whole table then.
  if (a.copy_below && ::syscall(SYS_close_range, a.copy_below, ~0U, CLOSE_RANGE_UNSHARE) != 0 &&
      ::syscall(SYS_unshare, CLONE_FILES) != 0) {
    child_error("couldn't unshare the descriptor table", "", errno);
    child_fail();
  }
  // Default signal state (asio installed handlers, SIGPIPE is ignored). The
  // parent blocked every signal before the clone, so no handler of the
  // daemon's can run here; the handler table is the child's own (no
  // CLONE_SIGHAND).
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    ::signal(s, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Own process group: signals to the daemon's group don't reach the child,
  // and stopasgroup/killasgroup can signal kill(-pid).
  ::setpgid(0, 0);
  // Passed descriptors first go above everything we still need...
  int n_pass = a.n_pass;
  int high[64];  // the config loader allows at most 64 sockets per program
  if (n_pass > 64) n_pass = 64;
  for (int i = 0; i < n_pass; ++i) high[i] = ::fcntl(a.pass_fds[i], F_DUPFD_CLOEXEC, 3 + n_pass + 16);
  // Our own pid, in the slot the parent reserved in envp. The parent is
  // suspended until the exec, and reads nothing of it afterwards.
  if (a.listen_pid) write_decimal(a.listen_pid + sizeof("LISTEN_PID=") - 1, static_cast<unsigned long>(::getpid()));
  int stdin_src = a.in_read;
  if (a.stdin_source >= 0) {
    // Like the passed descriptors: moved above the range we overwrite.
    stdin_src = ::fcntl(a.stdin_source, F_DUPFD_CLOEXEC, 3 + n_pass + 16);
  }
  if (!place_fd(stdin_src, 0) || !place_fd(a.out_write, 1) ||
      !place_fd(spec->redirect_stderr ? a.out_write : a.err_write, 2)) {
    child_error("couldn't set up stdio", "", errno);
    child_fail();
  }
  // ...then land on 3, 4, ... (socket activation layout).
  for (int i = 0; i < n_pass; ++i) place_fd(high[i], 3 + i);
  // Nothing else crosses exec.
  ::syscall(SYS_close_range, 3 + n_pass, ~0U, CLOSE_RANGE_CLOEXEC);

  if (spec->uid) {
    char uidbuf[24];
    write_decimal(uidbuf, *spec->uid);
    gid_t gid = spec->gid ? *spec->gid : 0;
    if (::syscall(SYS_setgroups, a.n_groups, a.groups) != 0 || ::syscall(SYS_setgid, gid) != 0 ||
        ::syscall(SYS_setuid, *spec->uid) != 0) {
      child_error("couldn't setuid to ", uidbuf, errno);
      child_fail();
    }
  }
  // Issue 9: the child dies with the daemon (kill -9 of supervisord, a
  // crash), so that a restarted daemon does not find the previous
  // generation still running. The kernel sends the signal when the thread
  // that cloned the child ends; the daemon spawns from its main thread (the
  // event loop; Asio's internal resolver thread, used by health checks,
  // never spawns), so that is when the daemon ends. Set after setuid/setgid,
  // which clear it. A daemon that died before this point is noticed by the
  // ppid check: the child was already reparented.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (::getppid() != a.parent) _exit(127);
  if (!spec->directory.empty() && ::chdir(spec->directory.c_str()) != 0) {
    child_error("couldn't chdir to ", spec->directory.c_str(), errno);
    child_fail();
  }
  if (spec->umask) ::umask(*spec->umask);
  ::execve(spec->filename.c_str(), a.argv, a.envp);
  child_error("couldn't exec ", spec->argv.empty() ? "" : spec->argv[0].c_str(), errno);
  child_fail();
}

int child_entry(void* arg) { child_main(*static_cast<const ChildArgs*>(arg)); }

// The child's stack while it shares the parent's memory. Only the main
// thread spawns, one child at a time (the parent is suspended until the
// child has exec'd or exited), so one is enough.
alignas(64) char child_stack[64 * 1024];

// clone(CLONE_VM|CLONE_VFORK): no page tables copied and no copy-on-write
// faults for the daemon afterwards, which fork() costs in proportion to the
// daemon's size (issue 7: spawning 1000 programs). Returns the pid, or -1
// with errno.
pid_t clone_child(ChildArgs& args) {
  int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  if (args.copy_below) flags |= CLONE_FILES;
#ifdef SUP_SPAWN_UNDER_VALGRIND
  // Only in the build scripts/symbol-order profiles: callgrind follows a
  // clone that shares memory or nothing, not the descriptor table. The child
  // then starts from a copy of the whole table, and its
  // close_range(CLOSE_RANGE_UNSHARE) just closes what lies above the slots.
  flags &= ~CLONE_FILES;
#endif
  sigset_t all;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &args.parent_mask);
#if defined(__SANITIZE_ADDRESS__)
  // The previous child's frames left their red zones poisoned.
  __asan_unpoison_memory_region(child_stack, sizeof child_stack);
#endif
  pid_t pid = ::clone(child_entry, child_stack + sizeof child_stack, flags, &args);
  int e = errno;
  ::pthread_sigmask(SIG_SETMASK, &args.parent_mask, nullptr);
  errno = e;
  return pid;
}

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

  // initgroups' work, done here: the child can't look users up.
  std::vector<gid_t> groups;
  if (spec.uid) groups = nss::group_list(spec.user, spec.gid ? *spec.gid : 0);

  ChildArgs args;
  args.spec = &spec;
  args.parent = ::getpid();
  args.in_read = in.read.get();
  args.out_write = out.write.get();
  args.err_write = spec.redirect_stderr ? out.write.get() : err.write.get();
  args.argv = argv.data();
  args.envp = envp.data();
  if (spec.listen_pid) args.listen_pid = listen_pid.data();
  args.groups = groups.data();
  args.n_groups = groups.size();
  args.stdin_source = spec.stdin_source;
  args.pass_fds = spec.pass_fds.data();
  args.n_pass = static_cast<int>(spec.pass_fds.size());

  // Everything the child reads, parked in the spawner's low slots (order:
  // stdin, stdout, stderr, passed descriptors).
  std::vector<int> wanted{spec.stdin_source >= 0 ? spec.stdin_source : args.in_read, args.out_write,
                          args.err_write};
  wanted.insert(wanted.end(), spec.pass_fds.begin(), spec.pass_fds.end());
  SlotTable& slots = slot_table();
  std::vector<int> parked_pass;
  bool parked = slots.park(wanted);
  if (parked) {
    if (spec.stdin_source >= 0) args.stdin_source = slots.slot(0);
    else args.in_read = slots.slot(0);
    args.out_write = slots.slot(1);
    args.err_write = slots.slot(2);
    for (std::size_t i = 0; i < spec.pass_fds.size(); ++i) parked_pass.push_back(slots.slot(3 + i));
    args.pass_fds = parked_pass.data();
    args.copy_below = slots.top();
  }
  // Otherwise (no /dev/null, no free descriptor): a child with a copy of
  // the whole table, as fork gives.

  pid_t pid = clone_child(args);
  if (parked) slots.release();
  if (pid < 0) {
    int e = errno;
    if (e == EAGAIN) return Error{"Too many processes in process table to spawn '" + process_name + "'"};
    return Error{"unknown error during fork for '" + process_name + "': " +
                 (strerrorname_np(e) ? strerrorname_np(e) : std::to_string(e))};
  }
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
