#!/usr/bin/python3
"""Log capture throughput: our supervisord and Debian's 4.2.5 side by side.

A program `sh -c 'head -c BYTES /dev/zero'` (autostart=false, startsecs=0,
autorestart=false) is started with supervisor.startProcess(name, False); the
clock runs from that call until the log file(s) hold exactly BYTES bytes
(st_size polled every millisecond: page cache, no fsync). Modes:
  pipe  : the physical reference on the same disk: sh -c 'head -c BYTES /dev/zero | cat > FILE'
  norot : stdout_logfile_maxbytes=0
  rot   : stdout_logfile_maxbytes=ROT_MAXBYTES stdout_logfile_backups=ROT_BACKUPS
          (bytes summed over out.log and out.log.1..N; exact while
          BYTES <= (N+1) x maxbytes, which the defaults satisfy)
For each daemon mode the daemon's CPU seconds (utime+stime of /proc/PID/stat,
all threads) between the start call and the last byte.

Usage (from the repository root):
    python3 tests/bench/logs.py                      # ours vs /usr/bin/supervisord, one run
    LOG_BYTES=64MiB RUNS=3 python3 tests/bench/logs.py
    SUPERVISORD=/path/to/supervisord python3 tests/bench/logs.py   # one implementation only
                                                     # (how tests/bench/bench.py calls it)
Environment:
  OURS_SUPERVISORD  our binary (default: the first of build*/supervisord/supervisord)
  REF_SUPERVISORD   the reference (default /usr/bin/supervisord; skipped if missing)
  SUPERVISORD       if set: measure only this command (shlex-split), keys logs_<mode>_*
  LOG_BYTES         bytes to write (default 512MiB; suffixes KiB MiB GiB KB MB GB)
  ROT_MAXBYTES      default 50MB (supervisord's byte-size syntax: MB = 1024*1024)
  ROT_BACKUPS       default 10
  RUNS              runs per mode and implementation (medians are reported), default 1
  BENCH_TMP         where the temp dirs go (default /tmp)
Last line: key=value pairs (MB = 10^6 bytes). Side by side: pipe_MBps,
ours_<mode>_MBps, ref_<mode>_MBps, <mode>_ratio (ours/ref throughput),
ours_<mode>_vs_pipe, ours_<mode>_cpu_s, ref_<mode>_cpu_s, *_bytes_ok.
"""
import glob
import http.client
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLK_TCK = os.sysconf("SC_CLK_TCK")
TMP = os.environ.get("BENCH_TMP", "/tmp")


def parse_bytes(text, mb_is_mib=False):
    s = text.strip().upper()
    units = [("KIB", 1024), ("MIB", 1024 ** 2), ("GIB", 1024 ** 3),
             ("KB", 1024 if mb_is_mib else 1000), ("MB", 1024 ** 2 if mb_is_mib else 10 ** 6),
             ("GB", 1024 ** 3 if mb_is_mib else 10 ** 9)]
    for suffix, mult in units:
        if s.endswith(suffix):
            return int(float(s[:-len(suffix)]) * mult)
    return int(s)


NBYTES = parse_bytes(os.environ.get("LOG_BYTES", "512MiB"))
ROT_MAXBYTES_TEXT = os.environ.get("ROT_MAXBYTES", "50MB")
ROT_MAXBYTES = parse_bytes(ROT_MAXBYTES_TEXT, mb_is_mib=True)
ROT_BACKUPS = int(os.environ.get("ROT_BACKUPS", "10"))
RUNS = int(os.environ.get("RUNS", "1"))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixConnection(self.path)


def rpc(sock):
    return xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(sock))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    # fields 14 and 15 (utime, stime); rest[0] is field 3
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def total_size(paths):
    n = 0
    for p in paths:
        try:
            n += os.stat(p).st_size
        except OSError:
            pass
    return n


class Daemon:
    """supervisord -n -c CONF in its own temp dir, one writer program."""

    def __init__(self, argv, mode):
        self.dir = tempfile.mkdtemp(prefix="logbench-", dir=TMP)
        self.sock = os.path.join(self.dir, "sock")
        self.out = os.path.join(self.dir, "out.log")
        if mode == "rot":
            logopts = "stdout_logfile_maxbytes=%s\nstdout_logfile_backups=%d\n" % (ROT_MAXBYTES_TEXT, ROT_BACKUPS)
        else:
            logopts = "stdout_logfile_maxbytes=0\nstdout_logfile_backups=0\n"
        conf = os.path.join(self.dir, "supervisord.conf")
        with open(conf, "w") as f:
            f.write("""[supervisord]
logfile=%(d)s/supervisord.log
pidfile=%(d)s/supervisord.pid
childlogdir=%(d)s
[unix_http_server]
file=%(d)s/sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[program:writer]
command=sh -c 'head -c %(n)d /dev/zero'
autostart=false
autorestart=false
startsecs=0
stdout_logfile=%(out)s
stderr_logfile=%(d)s/err.log
%(logopts)s""" % dict(d=self.dir, n=NBYTES, out=self.out, logopts=logopts))
        self.proc = subprocess.Popen(argv + ["-n", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.paths = [self.out]
        if mode == "rot":
            self.paths += ["%s.%d" % (self.out, i) for i in range(1, ROT_BACKUPS + 1)]
        deadline = time.monotonic() + 30
        while True:
            try:
                if rpc(self.sock).supervisor.getState()["statename"] == "RUNNING":
                    break
            except (OSError, xmlrpc.client.Error, http.client.HTTPException):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s did not start" % argv[0])
            time.sleep(0.02)

    def measure(self):
        """(seconds, daemon CPU seconds, exact byte count reached)"""
        expect = NBYTES
        c0 = cpu_seconds(self.proc.pid)
        t0 = time.monotonic()
        rpc(self.sock).supervisor.startProcess("writer", False)
        last, last_change = -1, t0
        while True:
            size = total_size(self.paths)
            now = time.monotonic()
            if size >= expect:
                break
            if size != last:
                last, last_change = size, now
            elif now - last_change > 10:
                log("stalled at %d of %d bytes" % (size, expect))
                return None, cpu_seconds(self.proc.pid) - c0, False
            time.sleep(0.001)
        t = now - t0
        cpu = cpu_seconds(self.proc.pid) - c0
        return t, cpu, total_size(self.paths) == expect

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def run_pipe():
    d = tempfile.mkdtemp(prefix="logbench-pipe-", dir=TMP)
    f = os.path.join(d, "out.log")
    try:
        t0 = time.monotonic()
        subprocess.run(["sh", "-c", "head -c %d /dev/zero | cat > %s" % (NBYTES, shlex.quote(f))], check=True)
        t = time.monotonic() - t0
        return t, 0.0, os.stat(f).st_size == NBYTES
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_daemon(argv, mode):
    d = Daemon(argv, mode)
    try:
        return d.measure()
    finally:
        d.stop()


def summarize(results):
    ts = [t for t, _, _ in results if t is not None]
    cpus = [c for t, c, _ in results if t is not None]
    ok = all(o for _, _, o in results)
    if not ts:
        return None, None, ok
    return NBYTES / statistics.median(ts) / 1e6, statistics.median(cpus), ok


def measure(label, fn):
    results = []
    for r in range(RUNS):
        res = fn()
        t, cpu, ok = res
        log("%-18s run %d: %s  daemon CPU %.3f s  bytes_ok=%s" % (
            label, r, "%.3f s %.0f MB/s" % (t, NBYTES / t / 1e6) if t else "stalled", cpu, ok))
        results.append(res)
    return summarize(results)


def default_ours():
    for p in sorted(glob.glob(os.path.join(ROOT, "build*", "supervisord", "supervisord"))):
        if os.access(p, os.X_OK):
            return p
    return None


def main():
    log("logs: %d bytes per run, rotation %s x %d, %d run(s) per figure, temp dirs in %s" % (
        NBYTES, ROT_MAXBYTES_TEXT, ROT_BACKUPS, RUNS, TMP))
    if NBYTES > (ROT_BACKUPS + 1) * ROT_MAXBYTES:
        sys.exit("LOG_BYTES must be <= (ROT_BACKUPS+1) x ROT_MAXBYTES for an exact byte count with rotation")
    out = {}
    single = os.environ.get("SUPERVISORD")
    if single:
        impls = [("", shlex.split(single))]
    else:
        ours = os.environ.get("OURS_SUPERVISORD") or default_ours()
        if not ours:
            sys.exit("no build*/supervisord/supervisord: build it or set OURS_SUPERVISORD")
        impls = [("ours_", [ours])]
        ref = os.environ.get("REF_SUPERVISORD", "/usr/bin/supervisord")
        if os.access(ref, os.X_OK):
            impls.append(("ref_", [ref]))
        else:
            log("%s not installed: ours only" % ref)

    pipe_mbps, _, pipe_ok = measure("pipe | cat", run_pipe)
    out["pipe_MBps"] = pipe_mbps
    out["pipe_bytes_ok"] = int(pipe_ok)
    for mode in ("norot", "rot"):
        for prefix, argv in impls:
            label = "%s%s" % (prefix or "", mode)
            mbps, cpu, ok = measure(label, lambda argv=argv, mode=mode: run_daemon(argv, mode))
            out["%s%s_MBps" % (prefix, mode)] = mbps
            out["%s%s_cpu_s" % (prefix, mode)] = cpu
            out["%s%s_bytes_ok" % (prefix, mode)] = int(ok)
            if mbps and pipe_mbps:
                out["%s%s_vs_pipe" % (prefix, mode)] = mbps / pipe_mbps
        if not single and len(impls) == 2:
            o, r = out.get("ours_%s_MBps" % mode), out.get("ref_%s_MBps" % mode)
            if o and r:
                out["%s_ratio" % mode] = o / r
            oc, rc = out.get("ours_%s_cpu_s" % mode), out.get("ref_%s_cpu_s" % mode)
            if oc is not None and rc:
                out["%s_cpu_ratio" % mode] = oc / rc

    # A readable table, then the machine-readable line.
    print("%-8s %-14s %12s %10s %10s %9s" % ("mode", "impl", "MB/s", "x pipe", "CPU s", "bytes_ok"))
    print("%-8s %-14s %12.0f %10s %10s %9d" % ("pipe", "head|cat", pipe_mbps or 0, "1.00", "-", pipe_ok))
    for mode in ("norot", "rot"):
        for prefix, argv in impls:
            name = {"": os.path.basename(argv[0]), "ours_": "ours", "ref_": "supervisord"}[prefix]
            mbps = out.get("%s%s_MBps" % (prefix, mode))
            print("%-8s %-14s %12s %10s %10.3f %9d" % (
                mode, name, "%.0f" % mbps if mbps else "stalled",
                "%.2f" % out["%s%s_vs_pipe" % (prefix, mode)] if mbps and pipe_mbps else "-",
                out["%s%s_cpu_s" % (prefix, mode)], out["%s%s_bytes_ok" % (prefix, mode)]))
        if "%s_ratio" % mode in out:
            print("%-8s %-14s %12.2f %10s %10s" % (mode, "ours/sup", out["%s_ratio" % mode], "",
                                                   "%.2f" % out["%s_cpu_ratio" % mode]
                                                   if "%s_cpu_ratio" % mode in out else "-"))
    out["log_bytes"] = NBYTES
    out["runs"] = RUNS
    prefix = "logs_" if single else ""
    print(" ".join("%s%s=%s" % (prefix, k, ("%.4g" % v) if isinstance(v, float) else v)
                   for k, v in out.items() if v is not None))
    failed = [k for k, v in out.items() if k.endswith("bytes_ok") and v != 1]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
