#!/usr/bin/python3
"""The project's benchmark: our supervisord/supervisorctl pair and Debian's
supervisord 4.2.5 pair through the same scenarios in one run, side by side.

Started by tests/bench/run (which installs and builds what is missing).  Knobs
(environment): see tests/bench/README.md.  Prints a table
    metric | ours | supervisord | ratio | target | met?
and writes every raw number to the results file (BENCH_OUT).
"""
import multiprocessing
import os
import platform
import random
import re
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (Daemon, Impl, become_subreaper, cleanup_all, context_switches, cpu_ticks,
                      CLK_TCK, env_float, env_int, log, median, memory_kb, percentile,
                      raw_call, request_bytes, sleep_programs, spawn_wait, _connect,
                      _read_http_response, BENCH_TMP)

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK = os.environ.get("QUICK", "0") == "1"


def knob(name, full, quick):
    """env override, else the full or QUICK default"""
    v = os.environ.get(name)
    if v is not None:
        return type(full)(v)
    return quick if QUICK else full


ALL_SCENARIOS = ["startup", "respawn", "ctl", "idle", "stop", "crashloop_status", "scale", "logs"]


# ------------------------------------------------------------------ startup
def _probe(sock, conn, stop_evt, interval):
    """child process: getState on a new connection every `interval` s until
    stop_evt; sends back [(issue time, latency)] for the calls that connected"""
    req = request_bytes("supervisor.getState")
    out = []
    while not stop_evt.is_set():
        t0 = time.monotonic()
        try:
            s = _connect(sock, 120)
        except OSError:
            time.sleep(0.001)
            continue
        try:
            s.sendall(req)
            _read_http_response(s)
            out.append((t0, time.monotonic() - t0))
        except (OSError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            s.close()
        time.sleep(interval)
    conn.send(out)
    conn.close()


def startup_once(impl, n, settle, poll):
    """launch with n programs (startsecs=0); time to all RUNNING, getState
    latency while they start, then memory once settled"""
    ctx = multiprocessing.get_context("fork")
    d = Daemon(impl, sleep_programs(n), "start%d" % n)
    stop_evt = ctx.Event()
    rx, tx = ctx.Pipe(duplex=False)
    prober = ctx.Process(target=_probe, args=(d.sock, tx, stop_evt, env_float("PROBE_MS", 10) / 1000))
    prober.start()
    try:
        t0 = d.launch()
        t_sock = d.wait_socket()
        t_run = d.wait_running(n, interval=poll)
        stop_evt.set()
        calls = rx.recv() if rx.poll(300) else []
        prober.join(30)
        during = [lat for (t, lat) in calls if t < t_run]
        time.sleep(settle)
        m = memory_kb(d.pid)
        r = {"sock_s": t_sock - t0, "run_s": t_run - t0,
             "getstate_max_ms": max(during) * 1000 if during else float("nan"),
             "getstate_p50_ms": median(during) * 1000 if during else float("nan"),
             "getstate_calls": len(during),
             "rss_kb": m["rss"], "pss_kb": m["pss"], "anon_kb": m["anon"], "hwm_kb": m["hwm"],
             "threads": m["threads"]}
        log("%s n=%d socket %.3fs, all RUNNING %.3fs, getState max %.1f ms over %d calls, "
            "RSS %d kB Pss %d kB RssAnon %d kB" % (impl.name, n, r["sock_s"], r["run_s"],
                                                   r["getstate_max_ms"], len(during), m["rss"],
                                                   m["pss"], m["anon"]))
        return r
    finally:
        stop_evt.set()
        prober.join(5)
        if prober.is_alive():
            prober.kill()
            prober.join()
        d.stop()


def scenario_startup(impl):
    ns = [int(x) for x in knob("STARTUP_NS", "1 100 1000", "1 100 1000").split()]
    runs = knob("RUNS", 3, 1)
    settle = knob("SETTLE", 2.0, 1.0)
    poll = knob("POLL_MS", 5.0, 5.0) / 1000
    out = {}
    for n in ns:
        rs = [startup_once(impl, n, settle, poll) for _ in range(runs)]
        for k in rs[0]:
            out["%s_n%d" % (k, n)] = median([r[k] for r in rs])
    for n in ns:
        if n > 1 and "rss_kb_n1" in out:
            for k in ("rss", "pss", "anon"):
                out["%s_per_prog_kb_n%d" % (k, n)] = (out["%s_kb_n%d" % (k, n)] - out["%s_kb_n1" % k]) / (n - 1)
    return out


# ------------------------------------------------------------------ respawn
def scenario_respawn(impl):
    kills = knob("KILLS", 30, 10)
    jmin, jmax = knob("JITTER_MIN", 0.05, 0.05), knob("JITTER_MAX", 1.05, 1.05)
    rnd = random.Random(env_int("SEED", 1))
    d = Daemon(impl, [], "respawn")
    starts = os.path.join(d.dir, "starts")
    # each instance stamps its own start (CLOCK_REALTIME, microseconds)
    cmd = "bash -c 'echo \"$$ $EPOCHREALTIME\" >> %s; exec sleep infinity'" % starts
    with open(d.conf, "a") as f:
        f.write("\n[program:crash]\ncommand=%s\nstartsecs=0\nautorestart=true\nstartretries=100\n" % cmd)

    def read_starts():
        try:
            with open(starts) as f:
                rows = [line.split() for line in f.read().splitlines()]
            return [(int(r[0]), float(r[1])) for r in rows if len(r) == 2]
        except (OSError, ValueError):
            return []

    def wait_stamp(count, timeout):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            s = read_starts()
            if len(s) >= count:
                return s[count - 1]
            time.sleep(0.0005)
        return None

    def wait_running(pid, timeout=30):
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            i = d.call("supervisor.getProcessInfo", "crash")
            if i["statename"] == "RUNNING" and i["pid"] == pid:
                return
            time.sleep(0.01)
        raise RuntimeError("%s: instance %d never RUNNING" % (impl.name, pid))

    lat = []
    try:
        d.start()
        cur = wait_stamp(1, 60)
        if cur is None:
            raise RuntimeError("%s: the program never started" % impl.name)
        for k in range(kills):
            wait_running(cur[0])
            # random phase, so kills are not locked to a periodic daemon loop
            time.sleep(rnd.uniform(jmin, jmax))
            t_kill = time.time()
            os.kill(cur[0], signal.SIGKILL)
            nxt = wait_stamp(k + 2, 30)
            if nxt is None:
                raise RuntimeError("%s: no respawn within 30 s of kill %d" % (impl.name, k))
            lat.append((nxt[1] - t_kill) * 1000)
            cur = nxt
    finally:
        d.stop()
    log("%s respawn ms: %s" % (impl.name, " ".join("%.1f" % x for x in lat)))
    return {"ms_median": median(lat), "ms_p95": percentile(lat, 95), "ms_min": min(lat),
            "ms_max": max(lat), "kills": len(lat)}


# ------------------------------------------------------------------ control
def scenario_ctl(impl):
    runs, warm = knob("CTL_RUNS", 30, 15), 3
    calls = knob("RPC_CALLS", 200, 100)
    out = {}
    for n in (1, 100):
        d = Daemon(impl, sleep_programs(n), "ctl%d" % n)
        try:
            d.start()
            d.wait_running(n)
            time.sleep(0.5)
            r = d.ctl("status")
            lines = r.stdout.decode(errors="replace").strip().splitlines()
            running = sum(1 for line in lines if " RUNNING " in line)
            if r.returncode != 0 or running != n:
                raise RuntimeError("%s: `status` rc=%d with %d RUNNING lines of %d" %
                                   (impl.name, r.returncode, running, n))
            ts = []
            for i in range(warm + runs):
                t, rc = spawn_wait(d.ctl_argv("status"))
                if rc != 0:
                    raise RuntimeError("%s: `status` exited %d" % (impl.name, rc))
                if i >= warm:
                    ts.append(t * 1000)
            out["status_ms_median_n%d" % n] = median(ts)
            out["status_ms_p95_n%d" % n] = percentile(ts, 95)
            out["status_ms_min_n%d" % n] = min(ts)
            req = request_bytes("supervisor.getAllProcessInfo")
            body = raw_call(d.sock, req)
            if body.count(b"<name>statename</name>") != n:
                raise RuntimeError("%s: getAllProcessInfo did not list %d processes" % (impl.name, n))
            ts = []
            for i in range(calls):
                t0 = time.perf_counter()
                raw_call(d.sock, req)
                ts.append((time.perf_counter() - t0) * 1000)
            out["rpc_all_ms_median_n%d" % n] = median(ts)
            out["rpc_all_ms_p95_n%d" % n] = percentile(ts, 95)
            out["rpc_all_bytes_n%d" % n] = len(body)
            log("%s n=%d status median %.2f ms, getAllProcessInfo median %.3f ms" % (
                impl.name, n, out["status_ms_median_n%d" % n], out["rpc_all_ms_median_n%d" % n]))
        finally:
            d.stop()
    return out


# ------------------------------------------------------------------ idle
def scenario_idle(impl):
    n = knob("IDLE_N", 100, 100)
    secs = knob("IDLE_SECS", 10.0, 10.0)
    settle = knob("IDLE_SETTLE", 3.0, 2.0)
    d = Daemon(impl, sleep_programs(n), "idle")
    try:
        d.start()
        d.wait_running(n)
        time.sleep(settle)
        c0, (v0, nv0), t0 = cpu_ticks(d.pid), context_switches(d.pid), time.monotonic()
        time.sleep(secs)
        c1, (v1, nv1), t1 = cpu_ticks(d.pid), context_switches(d.pid), time.monotonic()
    finally:
        d.stop()
    dt = t1 - t0
    out = {"wakeups_per_s_n%d" % n: (v1 - v0 + nv1 - nv0) / dt,
           "vcsw_n%d" % n: v1 - v0, "nvcsw_n%d" % n: nv1 - nv0,
           "cpu_ticks_n%d" % n: c1 - c0, "secs": dt, "clk_tck": CLK_TCK}
    log("%s idle n=%d over %.1fs: %d+%d context switches, %d CPU ticks" % (
        impl.name, n, dt, v1 - v0, nv1 - nv0, c1 - c0))
    return out


# ------------------------------------------------------------------ stop
def scenario_stop(impl):
    runs = knob("STOP_RUNS", 5, 2)
    out = {}
    cases = [("term", 100, sleep_programs(100)),
             ("ign", 10, sleep_programs(10, command="sh -c 'trap \"\" TERM; exec sleep infinity'",
                                        stopwaitsecs=1))]
    for label, n, progs in cases:
        d = Daemon(impl, progs, "stop" + label)
        ts = []
        try:
            d.start()
            for r in range(runs):
                d.wait_running(n, timeout=120)
                time.sleep(0.3)
                t, rc = spawn_wait(d.ctl_argv("stop", "all"))
                states = [i["statename"] for i in d.call("supervisor.getAllProcessInfo")]
                stopped = states.count("STOPPED")
                if stopped != n:
                    raise RuntimeError("%s: %d/%d STOPPED after `stop all` (rc=%d)" % (impl.name, stopped, n, rc))
                ts.append(t)
                if r + 1 < runs:
                    # left STOPPED after the last run: the daemon's own shutdown
                    # (group by group) then has nothing to wait for
                    d.call("supervisor.startAllProcesses", False)
        finally:
            d.stop()
        out["%s_s_median_n%d" % (label, n)] = median(ts)
        out["%s_s_min_n%d" % (label, n)] = min(ts)
        out["%s_s_max_n%d" % (label, n)] = max(ts)
        log("%s stop all (%s, n=%d): %s s" % (impl.name, label, n, " ".join("%.3f" % t for t in ts)))
    return out


# ------------------------------------------------------------------ crashloop
def scenario_crashloop_status(impl):
    """CRASH_N programs running /bin/false (startsecs=1, endless retries,
    autorestart): each implementation's own `supervisorctl status` while they
    crash-loop, median/max of CRASH_RUNS calls, all CRASH_N lines required"""
    n = knob("CRASH_N", 1000, 1000)
    runs = knob("CRASH_RUNS", 15, 7)
    progs = [("c%04d" % i, "/bin/false", {"startsecs": 1, "startretries": 1000000, "autorestart": "true",
                                          "stdout_logfile": "NONE", "stderr_logfile": "NONE"})
             for i in range(n)]
    d = Daemon(impl, progs, "crashloop")
    ts = []
    try:
        d.start()
        # the loop is on: every program has spawned at least twice
        log_path = os.path.join(d.dir, "supervisord.log")
        t_end = time.monotonic() + 300
        while True:
            d.check_alive()
            with open(log_path, "rb") as f:
                if f.read().count(b"spawned: 'c") >= 2 * n:
                    break
            if time.monotonic() > t_end:
                raise RuntimeError("%s: the crash loop never got going" % impl.name)
            time.sleep(0.2)
        out_path = os.path.join(d.dir, "status.out")
        for i in range(runs):
            t, rc = spawn_wait(d.ctl_argv("status"), out_path)
            with open(out_path, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            if len(lines) != n:
                raise RuntimeError("%s: `status` printed %d lines of %d (rc=%d)" % (impl.name, len(lines), n, rc))
            ts.append(t * 1000)
    finally:
        d.stop()
    log("%s crashloop status ms: %s" % (impl.name, " ".join("%.0f" % t for t in ts)))
    return {"ms_median_n%d" % n: median(ts), "ms_max_n%d" % n: max(ts), "calls": len(ts)}


# ------------------------------------------------------------------ scale
def scenario_scale(impl):
    """SCALE_N programs (sleep infinity, startsecs=0, logs NONE) plus one that
    stamps its start: time to all RUNNING, daemon RSS, `supervisorctl status`
    (all lines required), and respawn of the stamping one after SIGKILL while
    the others run"""
    n = knob("SCALE_N", 5000, 5000)
    runs = knob("SCALE_RUNS", 5, 3)
    progs = sleep_programs(n, stdout_logfile="NONE", stderr_logfile="NONE")
    saved = os.environ.get("MINFDS")
    os.environ["MINFDS"] = str(3 * n + 512)  # 3 pipes per program, under a 20000 hard limit
    try:
        d = Daemon(impl, progs, "scale")
    finally:
        if saved is None:
            del os.environ["MINFDS"]
        else:
            os.environ["MINFDS"] = saved
    starts = os.path.join(d.dir, "starts")
    cmd = "bash -c 'echo \"$$ $EPOCHREALTIME\" >> %s; exec sleep infinity'" % starts
    with open(d.conf, "a") as f:
        f.write("\n[program:crash]\ncommand=%s\nstartsecs=0\nautorestart=true\nstartretries=100\n"
                "stdout_logfile=NONE\nstderr_logfile=NONE\n" % cmd)

    def read_starts():
        try:
            with open(starts) as f:
                rows = [line.split() for line in f.read().splitlines()]
            return [(int(r[0]), float(r[1])) for r in rows if len(r) == 2]
        except (OSError, ValueError):
            return []

    out = {}
    try:
        t0 = d.launch()
        d.wait_socket(600)
        t_run = d.wait_running(n + 1, timeout=1200, interval=0.05)
        out["run_s"] = t_run - t0
        time.sleep(2)
        out["rss_kb"] = memory_kb(d.pid)["rss"]
        out_path = os.path.join(d.dir, "status.out")
        ts = []
        for _ in range(runs):
            t, rc = spawn_wait(d.ctl_argv("status"), out_path)
            with open(out_path, "rb") as f:
                lines = f.read().decode(errors="replace").strip().splitlines()
            if len(lines) != n + 1:
                raise RuntimeError("%s: `status` printed %d lines of %d (rc=%d)" % (impl.name, len(lines), n + 1, rc))
            ts.append(t * 1000)
        out["status_ms_median"] = median(ts)
        lat = []
        for k in range(runs):
            cur = read_starts()[-1]
            time.sleep(0.3)
            t_kill = time.time()
            os.kill(cur[0], signal.SIGKILL)
            t_end = time.monotonic() + 30
            while len(read_starts()) < k + 2:
                if time.monotonic() > t_end:
                    raise RuntimeError("%s: no respawn within 30 s among %d programs" % (impl.name, n))
                time.sleep(0.0005)
            lat.append((read_starts()[k + 1][1] - t_kill) * 1000)
        out["respawn_ms_median"] = median(lat)
    finally:
        d.stop(timeout=600)
    log("%s scale n=%d: RUNNING in %.2f s, RSS %d kB, status %.0f ms, respawn %.1f ms" %
        (impl.name, n, out["run_s"], out["rss_kb"], out["status_ms_median"], out["respawn_ms_median"]))
    return {"%s_n%d" % (k, n): v for k, v in out.items()}


# ------------------------------------------------------------------ logs
def logs_script():
    for name in ("logs.py", "logs"):
        p = os.path.join(HERE, name)
        if os.path.isfile(p):
            return p
    return None


def scenario_logs(impl):
    """tests/bench/logs.* (log throughput) is its own script: run it for this
    pair and take its last `key=value ...` line"""
    script = logs_script()
    if script is None:
        return {}
    argv = ["/usr/bin/python3", script] if script.endswith(".py") else [script]
    env = dict(os.environ, SUPERVISORD=" ".join(shlex.quote(x) for x in impl.daemon),
               SUPERVISORCTL=" ".join(shlex.quote(x) for x in impl.ctl))
    if QUICK:
        env.setdefault("LOG_BYTES", "128MiB")
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    lines = [line for line in r.stdout.decode(errors="replace").splitlines() if "_MBps=" in line]
    if not lines:
        raise RuntimeError("%s exited %d without a result line" % (os.path.basename(script), r.returncode))
    out = {}
    for tok in lines[-1].split():
        k, _, v = tok.partition("=")
        try:
            out[re.sub(r"^logs_", "", k)] = float(v)
        except ValueError:
            pass
    return out


SCENARIOS = {"startup": scenario_startup, "respawn": scenario_respawn, "ctl": scenario_ctl,
             "idle": scenario_idle, "stop": scenario_stop, "crashloop_status": scenario_crashloop_status,
             "scale": scenario_scale, "logs": scenario_logs}


# ------------------------------------------------------------------ table
def at_most(limit):
    return ("<= %s" % limit, lambda v, res: v <= limit)


def kb_mb(v):
    return v / 1024.0


# (result key, label, unit, display scale, lower is better, target text, predicate)
ROWS = [
    ("startup.rss_kb_n1", "daemon RSS, 1 program", "MB", kb_mb, True, "<= 3 MB", lambda v, r: v <= 3 * 1024),
    ("startup.pss_kb_n1", "daemon Pss, 1 program", "MB", kb_mb, True, None, None),
    ("startup.anon_kb_n1", "daemon RssAnon, 1 program", "MB", kb_mb, True, None, None),
    ("startup.rss_per_prog_kb_n100", "RSS per extra program (100)", "kB", None, True, "<= 4 kB", lambda v, r: v <= 4),
    ("startup.rss_per_prog_kb_n1000", "RSS per extra program (1000)", "kB", None, True, "<= 4 kB", lambda v, r: v <= 4),
    ("startup.rss_kb_n1000", "daemon RSS, 1000 programs", "MB", kb_mb, True, "< 8 MB", lambda v, r: v < 8 * 1024),
    ("startup.pss_kb_n1000", "daemon Pss, 1000 programs", "MB", kb_mb, True, None, None),
    ("startup.run_s_n100", "100 programs to RUNNING (startsecs=0)", "s", None, True, "<= 0.1 s", lambda v, r: v <= 0.1),
    ("startup.run_s_n1000", "1000 programs to RUNNING (startsecs=0)", "s", None, True, "<= 1 s", lambda v, r: v <= 1.0),
    ("startup.getstate_max_ms_n1000", "max getState latency during 1000-program start", "ms", None, True,
     "<= 100 ms", lambda v, r: v <= 100),
    ("respawn.ms_median", "respawn after SIGKILL, median", "ms", None, True, "<= 5 ms", lambda v, r: v <= 5),
    ("respawn.ms_p95", "respawn after SIGKILL, p95", "ms", None, True, "<= 10 ms", lambda v, r: v <= 10),
    ("ctl.status_ms_median_n1", "`supervisorctl status`, 1 program", "ms", None, True, "<= 5 ms", lambda v, r: v <= 5),
    ("ctl.status_ms_median_n100", "`supervisorctl status`, 100 programs", "ms", None, True, "<= 10 ms",
     lambda v, r: v <= 10),
    ("ctl.rpc_all_ms_median_n100", "getAllProcessInfo, 100 programs (raw HTTP)", "ms", None, True, "<= 0.5 ms",
     lambda v, r: v <= 0.5),
    ("idle.wakeups_per_s_n100", "idle wake-ups, 100 programs", "/s", None, True, "0 /s", lambda v, r: v == 0),
    ("stop.term_s_median_n100", "`stop all`, 100 x SIGTERM (with client)", "s", None, True, "<= 0.05 s",
     lambda v, r: v <= 0.05),
    ("crashloop_status.ms_median_n1000", "`supervisorctl status`, 1000 programs crash-looping, median", "ms", None,
     True, "<= 1000 ms", lambda v, r: v <= 1000),
    ("crashloop_status.ms_max_n1000", "`supervisorctl status`, 1000 programs crash-looping, max", "ms", None,
     True, None, None),
    ("scale.run_s_n5000", "5000 programs to RUNNING", "s", None, True, None, None),
    ("scale.rss_kb_n5000", "daemon RSS, 5000 programs", "MB", kb_mb, True, "< 30 MB", lambda v, r: v < 30 * 1024),
    ("scale.status_ms_median_n5000", "`supervisorctl status`, 5000 programs", "ms", None, True, "<= 100 ms",
     lambda v, r: v <= 100),
    ("scale.respawn_ms_median_n5000", "respawn after SIGKILL among 5000 programs, median", "ms", None, True,
     "<= 5 ms", lambda v, r: v <= 5),
    ("stop.ign_s_median_n10", "`stop all`, 10 ignoring TERM, stopwaitsecs=1", "s", None, True, "1.00-1.05 s",
     lambda v, r: 1.0 <= v <= 1.05),
]


def log_rows(res_ours):
    """rows for what tests/bench/logs.py reported (pipe_MBps, <mode>_MBps,
    <mode>_cpu_s, <mode>_bytes_ok)"""
    rows = []
    pipe = res_ours.get("logs.pipe_MBps")
    if isinstance(pipe, float):
        rows.append(("logs.pipe_MBps", "reference `head | cat > file` (no supervisor)", "MB/s", None, None, None, None))
    modes = sorted({k[len("logs."):-len("_MBps")] for k in res_ours
                    if k.startswith("logs.") and k.endswith("_MBps") and k != "logs.pipe_MBps"})
    for m in modes:
        if isinstance(pipe, float):
            rows.append(("logs.%s_MBps" % m, "log capture throughput, %s" % m, "MB/s", None, False,
                         ">= %.0f (0.9 x pipe)" % (0.9 * pipe), lambda v, r, p=pipe: v >= 0.9 * p))
        else:
            rows.append(("logs.%s_MBps" % m, "log capture throughput, %s" % m, "MB/s", None, False, None, None))
        rows.append(("logs.%s_cpu_s" % m, "log capture daemon CPU, %s" % m, "s", None, True, "<= 0.1 s",
                     lambda v, r: v <= 0.1))
        rows.append(("logs.%s_bytes_ok" % m, "log capture exact bytes, %s (1 = yes)" % m, "-", None, None,
                     "1", lambda v, r: v == 1))
    return rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != v:
        return "nan"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def build_table(res):
    """res: {impl name: {"scenario.key": value or "ERR"}}"""
    ours, ref = res.get("ours", {}), res.get("supervisord", {})
    header = ["metric", "ours", "supervisord", "ratio", "target", "met?"]
    rows = []
    for key, label, unit, scale, lower, target, pred in ROWS + log_rows(ours):
        scenario = key.split(".")[0]
        if scenario not in res.get("_ran", ()):
            continue
        o, s = ours.get(key), ref.get(key)
        if o is None and ("error." + scenario) in ours:
            o = "ERR"
        if s is None and ("error." + scenario) in ref:
            s = "ERR"
        num = lambda x: isinstance(x, (int, float)) and x == x
        ratio = "-"
        if num(o) and num(s) and lower is not None:
            a, b = (s, o) if lower else (o, s)
            tag = "s/o" if lower else "o/s"
            if b == 0:
                ratio = "inf (%s)" % tag if a > 0 else "1.0 (%s)" % tag
            else:
                ratio = "%s (%s)" % (fmt(a / b), tag)
        met = "-"
        if pred is not None:
            met = ("yes" if pred(o, ours) else "NO") if num(o) else "n/a"
        show = lambda x: fmt(scale(x)) if num(x) and scale else fmt(x)
        rows.append(["%s [%s]" % (label, unit), show(o), show(s), ratio, target or "-", met])
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def version_of(impl):
    try:
        r = subprocess.run(impl.daemon + ["--version"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=20)
        return r.stdout.decode(errors="replace").strip().splitlines()[0] if r.stdout else "?"
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def main():
    become_subreaper()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    impls = [Impl("ours", shlex.split(os.environ["OURS_SUPERVISORD"]), shlex.split(os.environ["OURS_SUPERVISORCTL"])),
             Impl("supervisord", shlex.split(os.environ.get("REF_SUPERVISORD", "/usr/bin/supervisord")),
                  shlex.split(os.environ.get("REF_SUPERVISORCTL", "/usr/bin/supervisorctl")))]
    only = os.environ.get("IMPLS", "ours supervisord").replace(",", " ").split()
    impls = [i for i in impls if i.name in only]
    wanted = os.environ.get("SCENARIOS", " ".join(ALL_SCENARIOS)).replace(",", " ").split()
    bad = [s for s in wanted if s not in SCENARIOS]
    if bad:
        sys.exit("tests/bench: unknown scenario %s (known: %s)" % (" ".join(bad), " ".join(ALL_SCENARIOS)))
    if "logs" in wanted and logs_script() is None:
        log("no tests/bench/logs.* script: log throughput skipped")
        wanted.remove("logs")
    out_path = os.environ.get("BENCH_OUT") or os.path.join(
        "build", "bench", "results-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)

    with open("/proc/loadavg") as f:
        load0 = " ".join(f.read().split()[:3])
    header = ["# %s host=%s nproc=%d load(start)=%s QUICK=%d" % (
        time.strftime("%Y-%m-%dT%H:%M:%S"), platform.node(), os.cpu_count(), load0, QUICK)]
    for impl in impls:
        header.append("# %s: %s | %s | %s" % (impl.name, " ".join(impl.daemon), " ".join(impl.ctl), version_of(impl)))
    for h in header:
        log(h[2:])

    res = {i.name: {} for i in impls}
    res["_ran"] = wanted
    t_all = time.monotonic()
    killed = 0
    try:
        for sc in wanted:
            for impl in impls:
                t0 = time.monotonic()
                log("== %s: %s" % (sc, impl.name))
                try:
                    r = SCENARIOS[sc](impl)
                    res[impl.name].update({"%s.%s" % (sc, k): v for k, v in r.items()})
                except Exception as e:
                    log("%s %s FAILED: %s" % (sc, impl.name, e))
                    res[impl.name]["error.%s" % sc] = str(e)
                finally:
                    killed += cleanup_all()
                log("   %s %s took %.1f s" % (sc, impl.name, time.monotonic() - t0))
    finally:
        killed += cleanup_all()
    with open("/proc/loadavg") as f:
        load1 = " ".join(f.read().split()[:3])
    header.append("# elapsed %.0f s, load(end)=%s, stray processes killed at cleanup: %d" % (
        time.monotonic() - t_all, load1, killed))
    table = build_table(res)
    notes = ("ratio: (s/o) = supervisord / ours for lower-is-better figures, (o/s) = ours / supervisord "
             "for higher-is-better ones; > 1 means ours is ahead.  Targets apply to ours.")
    with open(out_path, "w") as f:
        f.write("\n".join(header) + "\n")
        for impl in impls:
            for k, v in sorted(res[impl.name].items()):
                f.write("%s %s=%s\n" % (impl.name, k, v if isinstance(v, str) else repr(v)))
        f.write("\n" + table + "\n" + notes + "\n")
    print("\n".join(header))
    print(table)
    print(notes)
    print("raw numbers: %s" % out_path)
    errors = [k for i in impls for k in res[i.name] if k.startswith("error.")]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
