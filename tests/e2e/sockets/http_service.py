#!/usr/bin/python3
"""Test HTTP service for the socket= end-to-end tests (issue 6).

Listens on the socket passed as fd 3 (systemd socket activation: checks
LISTEN_PID and LISTEN_FDS), or with --port N binds 127.0.0.1:N itself, the
way services run under supervisord today. Every request sleeps a little so
that some are in flight when a restart comes. On SIGTERM it stops accepting,
finishes the requests in flight and exits 0.

--startup-delay S: time spent "initialising" before serving (both modes).
"""
import argparse
import http.server
import os
import signal
import socket
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    # A connection that never sends its request must not hold up the drain.
    timeout = 3

    def do_GET(self):
        time.sleep(0.005)
        body = ("pid=%d\n" % os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # server_close() waits for the requests in flight.
    daemon_threads = False
    block_on_close = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--startup-delay", type=float, default=0.3)
    args = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    if args.port:
        server = Server(("127.0.0.1", args.port), Handler, bind_and_activate=False)
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        time.sleep(args.startup_delay)
        server.server_bind()
        server.server_activate()
    else:
        if os.environ.get("LISTEN_PID") != str(os.getpid()) or os.environ.get("LISTEN_FDS") != "1":
            sys.stderr.write("not socket-activated: LISTEN_PID=%s (pid %d) LISTEN_FDS=%s\n"
                             % (os.environ.get("LISTEN_PID"), os.getpid(), os.environ.get("LISTEN_FDS")))
            return 3
        server = Server(("127.0.0.1", 0), Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = socket.socket(fileno=3)  # family and type from the descriptor
        time.sleep(args.startup_delay)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    print("serving pid=%d" % os.getpid(), flush=True)
    while not stop.wait(1.0):
        pass
    server.shutdown()      # no more accept()
    server.server_close()  # joins the request threads
    print("drained pid=%d" % os.getpid(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
