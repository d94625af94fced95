"""Helpers for the project's benchmark (stdlib only, run with /usr/bin/python3).

An Impl is one supervisord-compatible pair (daemon + client).  A Daemon writes
its own supervisord-format configuration into a fresh temporary directory,
runs the daemon in the foreground (nodaemon=true, `-c CONF`), talks XML-RPC to
it over the unix socket, and on stop terminates the daemon and kills (by pid,
after checking the pid's start time) any descendant still alive.

The driver also makes itself a child subreaper, so a process orphaned by a
daemon that died is re-parented to the driver and killed by cleanup_all().
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client



def _default_tmp():
    """a tmpfs when there is one: creating the AUTO child log files on a busy
    ext4 can cost milliseconds each, which would time the file system rather
    than the daemons"""
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize > 256 << 20:
            return "/dev/shm"
    except OSError:
        pass
    return "/tmp"


BENCH_TMP = os.environ.get("BENCH_TMP") or _default_tmp()
CLK_TCK = os.sysconf("SC_CLK_TCK")
KEEP = os.environ.get("BENCH_KEEP", "0") == "1"

_live_daemons = []


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def env_int(name, default):
    return int(os.environ.get(name, default))


def env_float(name, default):
    return float(os.environ.get(name, default))


class Impl:
    """One implementation under test: its daemon and client argv prefixes."""

    def __init__(self, name, daemon, ctl):
        self.name = name
        self.daemon = list(daemon)
        self.ctl = list(ctl)


# ----------------------------------------------------------------- statistics
def percentile(values, p):
    """nearest-rank percentile (p in 0..100)"""
    v = sorted(values)
    if not v:
        return float("nan")
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def median(values):
    return statistics.median(values) if values else float("nan")


# -------------------------------------------------------------- /proc helpers
def read_status(path):
    d = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            d[k] = v.strip()
    return d


def _kb(field):
    return int(field.split()[0]) if field else 0


def memory_kb(pid):
    """VmRSS, RssAnon (private heap/stack) and Pss (smaps_rollup: shared pages
    divided among their sharers; -1 when unreadable), in kB"""
    s = read_status("/proc/%d/status" % pid)
    pss = -1
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return {"rss": _kb(s.get("VmRSS")), "anon": _kb(s.get("RssAnon")), "pss": pss,
            "hwm": _kb(s.get("VmHWM")), "threads": int(s.get("Threads", "1"))}


def context_switches(pid):
    """(voluntary, nonvoluntary) context switches summed over all threads"""
    v = nv = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            s = read_status("/proc/%d/task/%s/status" % (pid, tid))
        except OSError:
            continue
        v += int(s.get("voluntary_ctxt_switches", 0))
        nv += int(s.get("nonvoluntary_ctxt_switches", 0))
    return v, nv


def _stat_rest(pid):
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    return data[data.rindex(")") + 2:].split()  # rest[0] is field 3 (state)


def cpu_ticks(pid):
    r = _stat_rest(pid)
    return int(r[11]) + int(r[12])  # utime + stime


def start_time(pid):
    try:
        return int(_stat_rest(pid)[19])
    except (OSError, IndexError, ValueError):
        return None


def descendants(pid):
    """all descendants of pid, from the ppid of every process in /proc"""
    parent_of = {}
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                parent_of.setdefault(int(_stat_rest(int(e))[1]), []).append(int(e))
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        for c in parent_of.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_tracked(tracked, sig=signal.SIGKILL):
    """kill the (pid, start time) pairs that are still the same process"""
    n = 0
    for pid, st in tracked:
        if st is not None and start_time(pid) == st:
            try:
                os.kill(pid, sig)
                n += 1
            except ProcessLookupError:
                pass
    return n


def become_subreaper():
    """PR_SET_CHILD_SUBREAPER: orphans of our daemons come back to us"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def cleanup_all():
    """stop every daemon still running, then kill and reap any descendant left;
    returns how many stray processes had to be killed"""
    for d in list(_live_daemons):
        try:
            d.stop()
        except Exception as e:  # keep cleaning up the others
            log("cleanup: %r" % e)
    me = os.getpid()
    strays = track(descendants(me))
    killed = kill_tracked(strays)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if not descendants(me):
                break
            time.sleep(0.01)
    return killed


def track(pids):
    return [(p, start_time(p)) for p in pids]


# ------------------------------------------------------------------ XML-RPC
def _connect(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def _read_http_response(s):
    """read one HTTP response fully; returns (status, body bytes)"""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed in the response header")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdr[k.strip().lower()] = v.strip()
    if "content-length" in hdr:
        want = int(hdr["content-length"])
        while len(body) < want:
            chunk = s.recv(max(65536, want - len(body)))
            if not chunk:
                raise ConnectionError("connection closed in the response body")
            body += chunk
        return status, body[:want]
    if hdr.get("transfer-encoding", "").lower() == "chunked":
        raw, out = body, b""
        while True:
            while b"\r\n" not in raw:
                raw += s.recv(65536)
            size_line, _, raw = raw.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(raw) < size + 2:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed in a chunk")
                raw += chunk
            if size == 0:
                return status, out
            out += raw[:size]
            raw = raw[size + 2:]
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return status, body
        body += chunk


def request_bytes(method, params=()):
    body = xmlrpc.client.dumps(tuple(params), method).encode()
    return (b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)) + body


def raw_call(path, request, timeout=60):
    """one XML-RPC call on a new connection, like supervisorctl does; returns
    the response body (bytes), read fully but not parsed"""
    s = _connect(path, timeout)
    try:
        s.sendall(request)
        status, body = _read_http_response(s)
    finally:
        s.close()
    if status != 200:
        raise RuntimeError("HTTP %d from %s" % (status, path))
    return body


def call(path, method, *params, timeout=60):
    """one parsed XML-RPC call; faults raise xmlrpc.client.Fault"""
    body = raw_call(path, request_bytes(method, params), timeout)
    return xmlrpc.client.loads(body, use_builtin_types=True)[0][0]


# ------------------------------------------------------------------ daemon
def program_section(name, command, opts):
    lines = ["[program:%s]" % name, "command=%s" % command]
    for k, v in opts.items():
        if v is not None:
            lines.append("%s=%s" % (k, v))
    return "\n".join(lines) + "\n"


def sleep_programs(n, command="sleep infinity", **opts):
    opts.setdefault("startsecs", 0)
    return [("p%04d" % i, command, dict(opts)) for i in range(n)]


_RUNNING = re.compile(rb"<name>statename</name>\s*<value>\s*<string>RUNNING</string>")
_STATENAME = re.compile(rb"<name>statename</name>\s*<value>\s*<string>([A-Z]+)</string>")


class Daemon:
    """A supervisord-compatible daemon with its own temp dir, config and socket."""

    def __init__(self, impl, programs, tag):
        """programs: list of (name, command, opts-dict)"""
        self.impl = impl
        self.dir = tempfile.mkdtemp(prefix="supbench-%s-%s-" % (impl.name, tag), dir=BENCH_TMP)
        self.sock = os.path.join(self.dir, "s.sock")
        self.conf = os.path.join(self.dir, "supervisord.conf")
        os.mkdir(os.path.join(self.dir, "log"))
        self.proc = None
        self.pid = None
        self.out = None
        self.tracked = []
        n = len(programs)
        # room for ~5 fds per program (3 pipes + 2 AUTO log files); supervisord
        # also closes fds 3..minfds-1 in every child, so this sets its spawn cost
        minfds = env_int("MINFDS", 0) or max(1024, 8 * n + 256)
        parts = [
            "[unix_http_server]\nfile=%s\nchmod=0700\n" % self.sock,
            "[supervisord]\nnodaemon=true\nlogfile=%s/supervisord.log\n"
            "pidfile=%s/supervisord.pid\nchildlogdir=%s/log\nminfds=%d\nminprocs=%d\n"
            "loglevel=info\n" % (self.dir, self.dir, self.dir, minfds, max(200, n + 100)),
            "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n",
            "[supervisorctl]\nserverurl=unix://%s\n" % self.sock,
        ]
        parts += [program_section(*p) for p in programs]
        with open(self.conf, "w") as f:
            f.write("\n".join(parts))

    def launch(self):
        """start the daemon without waiting; returns the monotonic launch time"""
        self.out = open(os.path.join(self.dir, "daemon.out"), "wb")
        _live_daemons.append(self)
        self.t_launch = time.monotonic()
        self.proc = subprocess.Popen(self.impl.daemon + ["-c", self.conf], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.dir)
        self.pid = self.proc.pid
        return self.t_launch

    def start(self, timeout=120):
        self.launch()
        self.wait_socket(timeout)
        return self

    def check_alive(self):
        if self.proc.poll() is not None:
            tail = ""
            try:
                with open(os.path.join(self.dir, "daemon.out"), "rb") as f:
                    tail = f.read()[-400:].decode(errors="replace").strip()
            except OSError:
                pass
            raise RuntimeError("%s daemon exited rc=%s: %s" % (self.impl.name, self.proc.returncode, tail))

    def wait_socket(self, timeout=120):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            self.check_alive()
            try:
                call(self.sock, "supervisor.getState", timeout=timeout)
                return time.monotonic()
            except (OSError, ConnectionError):
                time.sleep(0.002)
        raise RuntimeError("%s: control socket not answering after %ss" % (self.impl.name, timeout))

    def call(self, method, *params):
        return call(self.sock, method, *params)

    def count_running(self):
        """(RUNNING count, list of all state names) from one getAllProcessInfo,
        matched in the raw response so polling costs the client little"""
        body = raw_call(self.sock, request_bytes("supervisor.getAllProcessInfo"))
        states = _STATENAME.findall(body)
        return len(_RUNNING.findall(body)), states

    def wait_running(self, n, timeout=300, interval=0.005):
        """wait until n processes are RUNNING; returns the monotonic time seen"""
        t_end = time.monotonic() + timeout
        have = None
        while time.monotonic() < t_end:
            self.check_alive()
            try:
                have, states = self.count_running()
            except (OSError, ConnectionError):
                time.sleep(interval)
                continue
            t = time.monotonic()
            if have >= n:
                return t
            if b"FATAL" in states:
                raise RuntimeError("%s: a program went FATAL" % self.impl.name)
            time.sleep(interval)
        raise RuntimeError("%s: timeout waiting for %d RUNNING (have %s)" % (self.impl.name, n, have))

    def ctl_argv(self, *args):
        return self.impl.ctl + ["-c", self.conf] + list(args)

    def ctl(self, *args):
        return subprocess.run(self.ctl_argv(*args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self, timeout=60):
        if self in _live_daemons:
            _live_daemons.remove(self)
        if self.proc is not None:
            try:
                self.tracked = track(descendants(self.pid)) + self.tracked
            except OSError:
                pass
            if self.proc.poll() is None:
                try:
                    os.kill(self.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    log("%s daemon still up %ss after SIGTERM: SIGKILL" % (self.impl.name, timeout))
                    self.proc.kill()
                    self.proc.wait()
            left = kill_tracked(self.tracked)
            if left:
                log("%s: killed %d child processes the daemon left behind" % (self.impl.name, left))
            self.proc = None
        if self.out is not None:
            self.out.close()
            self.out = None
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def spawn_wait(argv, stdout_path=os.devnull):
    """run argv with stdout+stderr to stdout_path; returns (seconds, exit code).
    posix_spawn keeps the client's own start-up the dominant cost."""
    fd = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        acts = [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]
        exe = shutil.which(argv[0]) or argv[0]
        t0 = time.perf_counter()
        pid = os.posix_spawn(exe, argv, os.environ, file_actions=acts)
        _, st = os.waitpid(pid, 0)
        t = time.perf_counter() - t0
    finally:
        os.close(fd)
    return t, os.waitstatus_to_exitcode(st)
