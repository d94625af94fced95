#!/usr/bin/python3
"""Differential XML-RPC client for the e2e_rpc test.

Runs one scenario (a fixed sequence of XML-RPC calls) against a supervisord
listening on a unix socket, the way a real client does it: Python's
xmlrpc.client.ServerProxy (allow_none=False) over a unix-socket transport,
one persistent HTTP connection. Every call's outcome is printed as one JSON
line {"step": ..., "result": ...}, already normalised, so that the outputs
obtained from Debian's supervisord 4.2.5 and from ours can be compared line
by line.

Normalisation removes only what legitimately differs between two daemons
started at different moments in different directories:
  * the temp dir path (-> <DIR>) and the random part of AUTO log file names;
  * pids (non-zero -> "<pid>"), start/stop/now timestamps (non-zero ->
    "<time>"), uptimes and stop times inside descriptions;
  * supervisord's own pid (getPID: type only) and the main log's contents
    (readLog: type only, faults compared exactly);
  * system.methodHelp texts (the wording is each implementation's own: only
    "a non-empty string" is compared);
  * the order of the per-process result structs {name, group, status,
    description} returned by start/stop/signal of groups and of everything:
    supervisord itself appends a result when that process's start or stop
    completes, so the order depends on how fast children start and die
    (the arrays are sorted by group, name).
Everything else (values, types, struct keys, fault codes and strings, order)
is printed verbatim.

Usage: rpc_calls.py SOCKET_PATH TEMP_DIR SCENARIO
Waits poll with generous deadlines; a wait that times out prints a TIMEOUT
line (which then shows up as a difference) instead of aborting.
"""

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import xmlrpc.client

# Our methods beyond supervisord's API (a deliberate extension): left out of
# method-name lists so that everything else can still be compared.
EXTENSION_METHODS = {"supervisor.rollingRestart"}
RESULT_KEYS = {"name", "group", "status", "description"}
DEADLINE = 30.0  # seconds for every wait: far beyond what an idle machine needs


def describe_param(p):
    """JSON stand-in for parameters json can't encode (xmlrpc.client.Binary)."""
    if isinstance(p, xmlrpc.client.Binary):
        return "Binary(%r)" % p.data
    return repr(p)


class UnixTransport(xmlrpc.client.Transport):
    """HTTP over a unix socket (what supervisorctl does for unix:// URLs)."""

    def __init__(self, path):
        super().__init__()
        self._path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        conn = http.client.HTTPConnection("localhost", timeout=120)
        path = self._path

        def connect():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(120)
            sock.connect(path)
            conn.sock = sock

        conn.connect = connect
        self._connection = host, conn
        return conn


class Runner:
    def __init__(self, sock_path, temp_dir):
        self.sock_path = sock_path
        self.dir = temp_dir
        self.proxy = self._new_proxy()

    def _new_proxy(self):
        return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=UnixTransport(self.sock_path),
                                         allow_none=False)

    # -- raw calls ---------------------------------------------------------

    def raw(self, method, *params):
        """('ok', value) | ('fault', code, string) | ('error', text)."""
        try:
            return ("ok", getattr(self.proxy, method)(*params))
        except xmlrpc.client.Fault as f:
            return ("fault", f.faultCode, f.faultString)
        except xmlrpc.client.ProtocolError as e:
            self.proxy = self._new_proxy()
            return ("error", "ProtocolError %d %s" % (e.errcode, e.errmsg))
        except (OSError, http.client.HTTPException, xmlrpc.client.ResponseError) as e:
            self.proxy = self._new_proxy()
            return ("error", "transport %s" % type(e).__name__)

    # -- normalisation -----------------------------------------------------

    def norm_str(self, s):
        s = s.replace(self.dir, "<DIR>")
        s = re.sub(r"---supervisor-[A-Za-z0-9_]+\.log", "---supervisor-<RND>.log", s)
        s = re.sub(r"^pid \d+, uptime (\d+ days?, )?\d+:\d\d:\d\d$", "pid <pid>, uptime <uptime>", s)
        s = re.sub(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M$", "<stoptime>", s)
        return s

    def norm(self, v, key=None):
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            if key in ("pid", "start", "stop", "now") and v != 0:
                return "<pid>" if key == "pid" else "<time>"
            return v
        if isinstance(v, str):
            return self.norm_str(v)
        if isinstance(v, list):
            items = [self.norm(x) for x in v if not (isinstance(x, str) and x in EXTENSION_METHODS)]
            if items and all(isinstance(x, dict) and set(x) == RESULT_KEYS for x in items):
                items.sort(key=lambda x: (x["group"], x["name"]))
            return items
        if isinstance(v, dict):
            return {k: self.norm(x, k) for k, x in sorted(v.items())}
        return "<%s %r>" % (type(v).__name__, v)

    def emit(self, step, result):
        print(json.dumps({"step": step, "result": result}, sort_keys=True), flush=True)

    def outcome(self, r, shape=None):
        if r[0] == "ok":
            v = r[1]
            if shape == "type":
                return {"ok-type": type(v).__name__}
            if shape == "nonempty-str":
                return {"ok-type": type(v).__name__, "nonempty": bool(isinstance(v, str) and v.strip())}
            return {"ok": self.norm(v)}
        if r[0] == "fault":
            return {"fault": [r[1], self.norm_str(r[2])]}
        return {"error": r[1]}

    # -- steps ---------------------------------------------------------------

    def call(self, method, *params, shape=None, label=None):
        """One call, printed; returns the raw outcome."""
        r = self.raw(method, *params)
        step = label or "%s%s" % (method, json.dumps(list(params), default=describe_param))
        self.emit(step, self.outcome(r, shape))
        return r

    def wait(self, label, pred):
        """Polls pred() (which makes calls) until true; prints ok or TIMEOUT."""
        end = time.monotonic() + DEADLINE
        last = None
        while True:
            ok, last = pred()
            if ok:
                self.emit("wait " + label, "ok")
                return True
            if time.monotonic() > end:
                self.emit("wait " + label, "TIMEOUT (last: %s)" % (last,))
                return False
            time.sleep(0.05)

    def state_of(self, name):
        r = self.raw("supervisor.getProcessInfo", name)
        return r[1]["statename"] if r[0] == "ok" else repr(r)

    def wait_states(self, expected):
        def pred():
            states = {n: self.state_of(n) for n in expected}
            return states == expected, states

        return self.wait("states %s" % json.dumps(expected, sort_keys=True), pred)

    def wait_log(self, name, channel, needle):
        method = "supervisor.tailProcessStderrLog" if channel == "stderr" else "supervisor.tailProcessStdoutLog"

        def pred():
            r = self.raw(method, name, 0, 100000)
            return r[0] == "ok" and needle in r[1][0], r

        return self.wait("%s %s contains %r" % (name, channel, needle), pred)

    def install_config(self, name):
        """Replaces supervisord.conf by the prepared variant <dir>/<name>."""
        os.replace(os.path.join(self.dir, name), os.path.join(self.dir, "supervisord.conf"))
        self.emit("install config " + name, "ok")


STABLE = {
    "sleeper": "RUNNING",
    "fastexit": "FATAL",
    "manual": "STOPPED",
    "quick": "STOPPED",
    "slow": "STOPPED",
    "missing": "STOPPED",
    "notexec": "STOPPED",
    "failing": "STOPPED",
    "talker": "RUNNING",
    "merged": "RUNNING",
    "catter": "RUNNING",
    "multi:multi_00": "RUNNING",
    "multi:multi_01": "RUNNING",
    "x:xa": "RUNNING",
    "x:xb": "STOPPED",
}

# Methods the arity sweep doesn't call without arguments: with none they
# would act (shut down, restart, start/stop/clear everything, reread); they
# are exercised on purpose elsewhere. All others are read-only or fail.
NOT_CALLED_WITHOUT_ARGS = {
    "supervisor.shutdown", "supervisor.restart", "supervisor.startAllProcesses",
    "supervisor.stopAllProcesses", "supervisor.clearAllProcessLogs", "supervisor.clearLog",
    "supervisor.reloadConfig",
}


def scenario_introspection(r):
    r.wait_states(STABLE)
    r.call("supervisor.getAPIVersion")
    r.call("supervisor.getVersion")
    r.call("supervisor.getSupervisorVersion")
    r.call("supervisor.getIdentification")
    r.call("supervisor.getState")
    r.call("supervisor.getPID", shape="type")
    methods = r.call("system.listMethods")
    names = [n for n in methods[1] if n not in EXTENSION_METHODS] if methods[0] == "ok" else []
    for name in names:
        r.call("system.methodHelp", name, shape="nonempty-str")
        r.call("system.methodSignature", name)
    for bad in ("nope", "supervisor.nope", "system.listMethods.x", ""):
        r.call("system.methodHelp", bad)
        r.call("system.methodSignature", bad)
    # Unknown methods and names supervisord refuses to traverse.
    for bad in ("supervisor.nope", "system.nope", "nope", "a.b.c", "supervisor._update",
                "supervisor.getState.x", "nope.getState", "supervisor."):
        r.call(bad)
    # Wrong arity: one argument too many for every method, none for those
    # that take some.
    for name in names:
        sig = r.raw("system.methodSignature", name)
        if sig[0] != "ok":
            continue
        r.call(name, *(["x"] * len(sig[1])), label="%s with %d args" % (name, len(sig[1])))
        if name not in NOT_CALLED_WITHOUT_ARGS:
            r.call(name, label="%s with 0 args" % name, shape="type" if name == "supervisor.getPID" else None)
    r.call("supervisor.getProcessInfo", "a", "b")
    r.call("supervisor.readLog", 0)
    # Main log: contents differ (timestamps, pids, wording), offsets rules don't.
    for args in ((0, 0), (-10, 0), (0, 5), (-5, 1), (0, -1), (-1, -1), (10 ** 6, 0), (10 ** 6, 10)):
        r.call("supervisor.readLog", *args, shape=None if args[0] == 10 ** 6 else "type")
        r.call("supervisor.readMainLog", *args, shape=None if args[0] == 10 ** 6 else "type")
    r.call("supervisor.readLog", "0", "5", shape="type")
    r.call("supervisor.clearLog")
    r.call("supervisor.readLog", 0, 0, shape="type")
    # Process info.
    for name in ("sleeper", "fastexit", "manual", "missing", "talker", "merged", "x:xa", "x:xb",
                 "multi:multi_00", "sleeper:sleeper", "nope", "x:*", "x:", "xa", "multi", "x:nope",
                 "nope:xa", ":", ""):
        r.call("supervisor.getProcessInfo", name)
    r.call("supervisor.getAllProcessInfo")
    r.call("supervisor.getAllConfigInfo")


def scenario_control(r):
    r.wait_states(STABLE)
    # startProcess.
    r.call("supervisor.startProcess", "manual")
    r.call("supervisor.getProcessInfo", "manual")
    r.call("supervisor.startProcess", "manual")
    r.call("supervisor.startProcess", "manual", False)
    r.call("supervisor.startProcess", "quick", False)
    r.wait_states({"quick": "RUNNING"})
    r.call("supervisor.startProcess", "nope")
    r.call("supervisor.startProcess", "x:nope")
    r.call("supervisor.startProcess", "missing")
    r.call("supervisor.getProcessInfo", "missing")
    r.call("supervisor.startProcess", "notexec")
    r.call("supervisor.startProcess", "failing")
    # Right after SPAWN_ERROR supervisord may still show BACKOFF for an
    # instant (startretries=0: FATAL on its next transition).
    r.wait_states({"failing": "FATAL"})
    r.call("supervisor.getProcessInfo", "failing")
    # (No startProcess(wait=False) of a failing program: supervisord reaps
    # right after spawning, so whether it answers true or SPAWN_ERROR
    # depends on how fast the child dies.)
    r.call("supervisor.startProcess", "fastexit")
    # ABNORMAL_TERMINATION: a waiting startProcess whose process is stopped
    # (from another connection) before it reaches RUNNING.
    waiting = {}

    def start_slow():
        waiting["result"] = Runner(r.sock_path, r.dir).raw("supervisor.startProcess", "slow")

    starter = threading.Thread(target=start_slow)
    starter.start()
    r.wait_states({"slow": "STARTING"})
    r.call("supervisor.stopProcess", "slow")
    starter.join(DEADLINE)
    r.emit("concurrent supervisor.startProcess[\"slow\"]", r.outcome(waiting.get("result", ("error", "no answer"))))
    r.call("supervisor.startProcess", "x:*")
    r.call("supervisor.getProcessInfo", "x:xb")
    r.call("supervisor.startProcess", "x:*")
    r.call("supervisor.startProcess", "x:")
    # stopProcess.
    r.call("supervisor.stopProcess", "manual")
    r.call("supervisor.getProcessInfo", "manual")
    r.call("supervisor.stopProcess", "manual")
    r.call("supervisor.stopProcess", "fastexit")
    r.call("supervisor.stopProcess", "nope")
    r.call("supervisor.stopProcess", "quick", False)
    r.wait_states({"quick": "STOPPED"})
    r.call("supervisor.stopProcess", "x:*")
    r.call("supervisor.stopProcess", "x:*")
    # Groups.
    r.call("supervisor.startProcessGroup", "x")
    r.call("supervisor.startProcessGroup", "x")
    r.call("supervisor.startProcessGroup", "nope")
    r.call("supervisor.startProcessGroup", "x:xa")
    r.call("supervisor.stopProcessGroup", "x")
    r.call("supervisor.stopProcessGroup", "x")
    r.call("supervisor.stopProcessGroup", "nope")
    r.call("supervisor.startProcessGroup", "x", False)
    r.wait_states({"x:xa": "RUNNING", "x:xb": "RUNNING"})
    r.call("supervisor.stopProcessGroup", "x", False)
    r.wait_states({"x:xa": "STOPPED", "x:xb": "STOPPED"})
    # Signals (CONT/WINCH leave sleep running: the states stay put).
    r.call("supervisor.signalProcess", "sleeper", "CONT")
    r.call("supervisor.signalProcess", "sleeper", "SIGCONT")
    r.call("supervisor.signalProcess", "sleeper", "18")
    r.call("supervisor.signalProcess", "sleeper", "winch")
    r.call("supervisor.signalProcess", "sleeper", "NOPE")
    r.call("supervisor.signalProcess", "sleeper", "999")
    r.call("supervisor.signalProcess", "sleeper", "")
    r.call("supervisor.signalProcess", "manual", "CONT")
    r.call("supervisor.signalProcess", "manual", "NOPE")
    r.call("supervisor.signalProcess", "nope", "CONT")
    r.call("supervisor.signalProcess", "multi:*", "CONT")
    r.call("supervisor.signalProcessGroup", "multi", "CONT")
    r.call("supervisor.signalProcessGroup", "multi", "NOPE")
    r.call("supervisor.signalProcessGroup", "x", "CONT")
    r.call("supervisor.signalProcessGroup", "nope", "CONT")
    r.call("supervisor.signalAllProcesses", "CONT")
    r.call("supervisor.signalAllProcesses", "NOPE")
    r.call("supervisor.getProcessInfo", "sleeper")
    # Everything: stop all, start all (with the failing ones), stop all again.
    r.call("supervisor.stopAllProcesses")
    r.call("supervisor.getAllProcessInfo")
    r.call("supervisor.stopAllProcesses")
    r.call("supervisor.startAllProcesses")
    r.call("supervisor.getAllProcessInfo")
    r.call("supervisor.stopAllProcesses", False)
    r.wait_states({n: "STOPPED" for n in STABLE if n not in ("fastexit", "failing")})
    # Without wait, the failing programs' results would be racy (see above):
    # they leave first.
    r.call("supervisor.removeProcessGroup", "failing")
    r.call("supervisor.removeProcessGroup", "fastexit")
    rest = {n: s for n, s in STABLE.items() if n not in ("fastexit", "failing")}
    r.call("supervisor.startAllProcesses", False)
    r.wait_states({n: "STOPPED" if n in ("missing", "notexec") else "RUNNING" for n in rest})
    r.call("supervisor.getAllProcessInfo")
    r.call("supervisor.stopAllProcesses", False)
    r.wait_states({n: "STOPPED" for n in rest})
    r.call("supervisor.getAllProcessInfo")


def scenario_logs(r):
    r.wait_states(STABLE)
    r.wait_log("talker", "stdout", "out-2\n")
    r.wait_log("talker", "stderr", "err-1\n")
    r.wait_log("merged", "stdout", "merged-err\n")
    for method in ("supervisor.readProcessStdoutLog", "supervisor.readProcessLog",
                   "supervisor.readProcessStderrLog"):
        for args in ((0, 0), (0, 3), (2, 3), (-4, 0), (-4, 1), (0, -1), (-100, 0), (100, 0), (100, 5),
                     (12, 0), ("1", "2")):
            r.call(method, "talker", *args)
        for name in ("merged", "sleeper", "fastexit", "manual", "nope", "x:*"):
            r.call(method, name, 0, 0)
    for method in ("supervisor.tailProcessStdoutLog", "supervisor.tailProcessLog",
                   "supervisor.tailProcessStderrLog"):
        for args in ((0, 100), (0, 3), (5, 3), (5, 100), (12, 100), (100, 10), (0, 0), (-5, 3), (3, -1)):
            r.call(method, "talker", *args)
        for name in ("merged", "sleeper", "manual", "nope", "x:*"):
            r.call(method, name, 0, 100)
    # stdin.
    r.call("supervisor.sendProcessStdin", "catter", "hello\n")
    r.call("supervisor.sendProcessStdin", "catter", "h\u00e9llo \u2603\n")
    r.wait_log("catter", "stdout", "h\u00e9llo \u2603\n")
    r.call("supervisor.readProcessStdoutLog", "catter", 0, 0)
    r.call("supervisor.sendProcessStdin", "catter", "")
    r.call("supervisor.sendProcessStdin", "catter", 5)
    r.call("supervisor.sendProcessStdin", "catter", ["a", 1, True, {"k": "it's"}])
    r.call("supervisor.sendProcessStdin", "catter", 2.5)
    r.call("supervisor.sendProcessStdin", "catter", xmlrpc.client.Binary(b"binary\n"))
    r.wait_log("catter", "stdout", "binary\n")
    r.call("supervisor.sendProcessStdin", "manual", "x")
    r.call("supervisor.sendProcessStdin", "fastexit", "x")
    r.call("supervisor.sendProcessStdin", "nope", "x")
    r.call("supervisor.sendProcessStdin", "x:*", "x")
    r.call("supervisor.sendRemoteCommEvent", "mytype", "mydata")
    r.call("supervisor.sendRemoteCommEvent", "", "")
    # Clearing.
    r.call("supervisor.clearProcessLogs", "talker")
    r.call("supervisor.readProcessStdoutLog", "talker", 0, 0)
    r.call("supervisor.readProcessStderrLog", "talker", 0, 0)
    r.call("supervisor.tailProcessStdoutLog", "talker", 0, 100)
    r.call("supervisor.clearProcessLog", "merged")
    r.call("supervisor.readProcessStdoutLog", "merged", 0, 0)
    r.call("supervisor.clearProcessLogs", "nope")
    r.call("supervisor.clearProcessLogs", "x:*")
    r.call("supervisor.clearProcessLogs", "manual")
    r.call("supervisor.sendProcessStdin", "catter", "again\n")
    r.wait_log("catter", "stdout", "again\n")
    r.call("supervisor.clearAllProcessLogs")
    r.call("supervisor.readProcessStdoutLog", "catter", 0, 0)


def scenario_multicall(r):
    r.wait_states(STABLE)
    mc = "system.multicall"

    def c(name, *params):
        return {"methodName": name, "params": list(params)}

    r.call(mc, [])
    r.call(mc, [c("supervisor.getAPIVersion"), c("supervisor.getProcessInfo", "nope"),
                c("supervisor.getState"), c("supervisor.nope"), c("supervisor.getProcessInfo", "sleeper")])
    r.call(mc, [c("supervisor.startProcess", "manual"), c("supervisor.getProcessInfo", "manual"),
                c("supervisor.startProcess", "manual"), c("supervisor.stopProcess", "manual"),
                c("supervisor.getProcessInfo", "manual")])
    r.call(mc, [c("supervisor.startProcessGroup", "x"), c("supervisor.stopProcessGroup", "x"),
                c("supervisor.startProcess", "failing"), c("supervisor.startProcess", "missing")])
    r.call(mc, [c(mc, []), c(mc, [c("supervisor.getAPIVersion")])])
    r.call(mc, [{"params": []}, {"methodName": "supervisor.getAPIVersion"},
                {"methodName": "supervisor.getAPIVersion", "params": 5},
                c("supervisor.getAPIVersion", 1), c("supervisor.getProcessInfo")])
    r.call(mc, [c("system.listMethods"), c("system.methodSignature", "system.multicall"),
                c("system.methodHelp", "nope")])
    r.call(mc, [{"methodName": "supervisor.getProcessInfo", "params": "sleeper"},
                {"methodName": "supervisor.getProcessInfo", "params": {"sleeper": 1}},
                {"methodName": "supervisor.getProcessInfo", "params": ""}])
    r.call(mc, 5)
    r.call(mc, "")
    r.call(mc)
    # Not compared: supervisord answers HTTP 500 (a Python traceback) for a
    # non-struct call entry or a non-string methodName.


def scenario_reload(r):
    r.wait_states(STABLE)
    r.call("supervisor.reloadConfig")
    r.install_config("next.conf")
    r.call("supervisor.reloadConfig")
    r.call("supervisor.reloadConfig")
    r.call("supervisor.getProcessInfo", "newprog")
    r.call("supervisor.addProcessGroup", "newprog")
    r.call("supervisor.addProcessGroup", "newprog")
    r.call("supervisor.addProcessGroup", "nope")
    r.call("supervisor.addProcessGroup", "sleeper")
    r.wait_states({"newprog": "RUNNING"})
    r.call("supervisor.getProcessInfo", "newprog")
    r.call("supervisor.addProcessGroup", "y")
    r.wait_states({"y:ya": "RUNNING"})
    r.call("supervisor.getAllConfigInfo")
    r.call("supervisor.removeProcessGroup", "newprog")
    r.call("supervisor.stopProcessGroup", "newprog")
    r.call("supervisor.removeProcessGroup", "newprog")
    r.call("supervisor.removeProcessGroup", "newprog")
    r.call("supervisor.getProcessInfo", "newprog")
    r.call("supervisor.removeProcessGroup", "nope")
    r.call("supervisor.removeProcessGroup", "manual")
    r.call("supervisor.removeProcessGroup", "fastexit")
    r.call("supervisor.reloadConfig")
    r.call("supervisor.getAllProcessInfo")
    r.install_config("broken.conf")
    reload = r.raw("supervisor.reloadConfig")
    # The detail after "CANT_REREAD: " is each parser's own wording.
    if reload[0] == "fault":
        reload = ("fault", reload[1], reload[2].split(":", 1)[0])
    r.emit("supervisor.reloadConfig (broken config)", r.outcome(reload))
    r.call("supervisor.getState")


def scenario_shutdown(r):
    r.wait_states(STABLE)
    r.call("supervisor.restart")

    # During the restart the daemon refuses (SHUTDOWN_STATE) or is briefly
    # unreachable; either way it comes back with the same configuration.
    def back():
        s = r.raw("supervisor.getState")
        return s[0] == "ok" and s[1]["statename"] == "RUNNING", s

    r.wait("running again after restart", back)
    r.wait_states(STABLE)
    r.call("supervisor.getAllProcessInfo")
    r.call("supervisor.shutdown")

    def gone():
        s = r.raw("supervisor.getState")
        return (s[0] == "error" or (s[0] == "fault" and s[1] == 6)), s

    r.wait("SHUTDOWN_STATE or connection closed", gone)


SCENARIOS = {
    "introspection": scenario_introspection,
    "control": scenario_control,
    "logs": scenario_logs,
    "multicall": scenario_multicall,
    "reload": scenario_reload,
    "shutdown": scenario_shutdown,
}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in SCENARIOS:
        sys.stderr.write("usage: rpc_calls.py SOCKET_PATH TEMP_DIR {%s}\n" % "|".join(SCENARIOS))
        return 2
    SCENARIOS[sys.argv[3]](Runner(sys.argv[1], sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
