#!/usr/bin/python3
"""Cost of the observability endpoints (issue 8) with many programs.

Our daemon runs N programs (`sleep infinity`, startsecs=0); once all are
RUNNING the driver times SCRAPES requests of GET /metrics (new connection per
scrape, as Prometheus does without keep-alive) and of the getAllProcessInfo
XML-RPC call for comparison, then `supervisorctl status` with and without
--json (our client, and supervisord's for plain status).

Usage (from the repository root, after building build/):
    python3 tests/bench/metrics.py
    N=100 SCRAPES=50 python3 tests/bench/metrics.py
Environment: OURS_SUPERVISORD / OURS_SUPERVISORCTL (default build/...),
REF_SUPERVISORCTL (/usr/bin/supervisorctl), N (1000), SCRAPES (100), BENCH_TMP.
Last line: key=value pairs (times in ms, sizes in bytes).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def get(path, target):
    s = bl._connect(path, 60)
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % target.encode())
        return bl._read_http_response(s)
    finally:
        s.close()


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return bl.median(times), bl.percentile(times, 95)


def main():
    n = bl.env_int("N", 1000)
    scrapes = bl.env_int("SCRAPES", 100)
    ours = bl.Impl("ours", [os.environ.get("OURS_SUPERVISORD", ROOT + "/build/supervisord/supervisord")],
                   [os.environ.get("OURS_SUPERVISORCTL", ROOT + "/build/supervisorctl/supervisorctl")])
    ref_ctl = os.environ.get("REF_SUPERVISORCTL", "/usr/bin/supervisorctl")
    bl.become_subreaper()
    out = {}
    try:
        with bl.Daemon(ours, bl.sleep_programs(n), "metrics") as d:
            d.start()
            d.wait_running(n)
            status, body = get(d.sock, "/metrics")
            assert status == 200, status
            out["metrics_bytes"] = len(body)
            out["metrics_p50_ms"], out["metrics_p95_ms"] = timed(lambda: get(d.sock, "/metrics"), scrapes)
            req = bl.request_bytes("supervisor.getAllProcessInfo")
            out["getallprocessinfo_p50_ms"], out["getallprocessinfo_p95_ms"] = timed(
                lambda: bl.raw_call(d.sock, req), scrapes)
            out["readyz_p50_ms"], _ = timed(lambda: get(d.sock, "/readyz"), scrapes)
            runs = max(3, scrapes // 10)
            out["ctl_status_p50_ms"], _ = timed(lambda: d.ctl("status"), runs)
            out["ctl_status_json_p50_ms"], _ = timed(lambda: d.ctl("status", "--json"), runs)
            ref = bl.Impl("ref", [], [ref_ctl])
            out["ref_ctl_status_p50_ms"], _ = timed(
                lambda: bl.subprocess.run(ref.ctl + ["-c", d.conf, "status"], stdout=bl.subprocess.DEVNULL,
                                          stderr=bl.subprocess.DEVNULL), runs)
    finally:
        bl.cleanup_all()
    print("programs=%d " % n + " ".join("%s=%s" % (k, round(v, 2) if isinstance(v, float) else v)
                                        for k, v in out.items()))


if __name__ == "__main__":
    main()
