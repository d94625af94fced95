#!/usr/bin/python3
"""Restarting a web service under load: what clients see (issue 6).

A test HTTP service (tests/e2e/sockets/http_service.py: 5 ms per request; on
SIGTERM it stops accepting, finishes the requests in flight and exits) runs
under a supervisor while CLIENTS threads send GET requests as fast as they
can, one connection per request, for the whole run. Meanwhile the service is
restarted RESTARTS times (one restart every GAP seconds, each waited for).
Modes:
  ours_rolling   our daemon holds the socket (socket=), numprocs=2,
                 `supervisorctl restart --rolling web:*`
  ours_restart   our daemon holds the socket, numprocs=1, plain `restart web`
  ours_selfbind  our daemon, the service binds its port itself, `restart web`
  ref_selfbind   supervisord 4.2.5, the service binds its port itself (the
                 only way there), `restart web`: what supervisord users see today
For each mode: requests, failed requests (refused/reset connections, non-2xx,
timeouts), and latency p50 / p99 / max in ms over the whole run.

Usage (from the repository root):
    python3 tests/bench/restarts.py                 # all modes
    MODES="ours_rolling ref_selfbind" RESTARTS=3 python3 tests/bench/restarts.py
Environment:
  OURS_SUPERVISORD / OURS_SUPERVISORCTL  our binaries (default build/...)
  REF_SUPERVISORD / REF_SUPERVISORCTL    the reference (default /usr/bin/...)
  CLIENTS (8)  RESTARTS (5)  GAP (1.5 s)  BENCH_TMP (/tmp)
Last line: key=value pairs, <mode>_requests, <mode>_errors, <mode>_p50_ms,
<mode>_p99_ms, <mode>_max_ms.
"""
import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SERVICE = os.path.join(ROOT, "tests", "e2e", "sockets", "http_service.py")
TMP = os.environ.get("BENCH_TMP", "/tmp")
CLIENTS = int(os.environ.get("CLIENTS", "8"))
RESTARTS = int(os.environ.get("RESTARTS", "5"))
GAP = float(os.environ.get("GAP", "1.5"))

OURS_D = os.environ.get("OURS_SUPERVISORD", os.path.join(ROOT, "build", "supervisord", "supervisord"))
OURS_C = os.environ.get("OURS_SUPERVISORCTL", os.path.join(ROOT, "build", "supervisorctl", "supervisorctl"))
REF_D = os.environ.get("REF_SUPERVISORD", "/usr/bin/supervisord")
REF_C = os.environ.get("REF_SUPERVISORCTL", "/usr/bin/supervisorctl")

# mode -> (daemon, ctl, held socket?, numprocs, restart arguments)
MODES = {
    "ours_rolling": (OURS_D, OURS_C, True, 2, ["restart", "--rolling", "web:*"]),
    "ours_restart": (OURS_D, OURS_C, True, 1, ["restart", "web"]),
    "ours_selfbind": (OURS_D, OURS_C, False, 1, ["restart", "web"]),
    "ref_selfbind": (REF_D, REF_C, False, 1, ["restart", "web"]),
}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.path)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(d, port, held, numprocs):
    if held:
        command = "/usr/bin/python3 %s" % SERVICE
        sock = "socket=tcp://127.0.0.1:%d\n" % port
    else:
        command = "/usr/bin/python3 %s --port %d" % (SERVICE, port)
        sock = ""
    name = "process_name=%(program_name)s_%(process_num)d\n" if numprocs > 1 else ""
    text = f"""[unix_http_server]
file={d}/sock
[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://{d}/sock
[program:web]
command={command}
{sock}{name}numprocs={numprocs}
startsecs=1
stopwaitsecs=10
redirect_stderr=true
"""
    path = os.path.join(d, "supervisord.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def wait_all_running(proxy, deadline):
    while time.time() < deadline:
        try:
            infos = proxy.supervisor.getAllProcessInfo()
            if infos and all(i["statename"] == "RUNNING" for i in infos):
                return True
        except (OSError, xmlrpc.client.Error):
            pass
        time.sleep(0.05)
    return False


def wait_serving(port, deadline):
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Load:
    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.latencies = []
        self.errors = 0
        self.error_kinds = {}
        self.threads = [threading.Thread(target=self.run) for _ in range(CLIENTS)]

    def run(self):
        lat, errs, kinds = [], 0, {}
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/")
                r = c.getresponse()
                r.read()
                c.close()
                if not 200 <= r.status < 300:
                    raise RuntimeError("HTTP %d" % r.status)
                lat.append(time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001 - every failure a client would see counts
                errs += 1
                k = type(e).__name__
                kinds[k] = kinds.get(k, 0) + 1
                time.sleep(0.001)
        with self.lock:
            self.latencies += lat
            self.errors += errs
            for k, v in kinds.items():
                self.error_kinds[k] = self.error_kinds.get(k, 0) + v

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def pct(sorted_values, p):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[i]


def run_mode(mode):
    daemon, ctl, held, numprocs, restart_args = MODES[mode]
    d = tempfile.mkdtemp(prefix="supbench-restarts-", dir=TMP)
    port = free_port()
    conf = write_config(d, port, held, numprocs)
    proc = subprocess.Popen(shlex.split(daemon) + ["-n", "-c", conf], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proxy = xmlrpc.client.ServerProxy("http://localhost", transport=UnixTransport(os.path.join(d, "sock")))
        if not wait_all_running(proxy, time.time() + 30) or not wait_serving(port, time.time() + 30):
            raise RuntimeError("%s: the service did not come up" % mode)
        with Load(port) as load:
            time.sleep(GAP)
            for _ in range(RESTARTS):
                r = subprocess.run(shlex.split(ctl) + ["-c", conf] + restart_args, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=120)
                if r.returncode != 0:
                    raise RuntimeError("%s: %s exited %d" % (mode, " ".join(restart_args), r.returncode))
                wait_all_running(proxy, time.time() + 30)
                time.sleep(GAP)
        lat = sorted(load.latencies)
        res = {"requests": len(lat) + load.errors, "errors": load.errors,
               "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000,
               "max_ms": (lat[-1] * 1000) if lat else float("nan")}
        kinds = " ".join("%s:%d" % kv for kv in sorted(load.error_kinds.items())) or "-"
        print("%-14s requests=%d errors=%d (%s) p50=%.1f ms p99=%.1f ms max=%.1f ms" %
              (mode, res["requests"], res["errors"], kinds, res["p50_ms"], res["p99_ms"], res["max_ms"]), flush=True)
        return res
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def main():
    modes = os.environ.get("MODES", " ".join(MODES)).split()
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        sys.exit("restarts.py: unknown mode %s (known: %s)" % (" ".join(unknown), " ".join(MODES)))
    print("restarts under load: %d clients, %d restarts %.1f s apart, service 5 ms/request" %
          (CLIENTS, RESTARTS, GAP), flush=True)
    out = []
    for m in modes:
        if not os.path.exists(shlex.split(MODES[m][0])[0]):
            print("%s: skipped (%s not found)" % (m, MODES[m][0]))
            continue
        for k, v in run_mode(m).items():
            out.append("%s_%s=%s" % (m, k, ("%.2f" % v) if isinstance(v, float) else v))
    print(" ".join(out))


if __name__ == "__main__":
    main()
