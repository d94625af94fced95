#!/usr/bin/python3
"""Tour: a web service that takes its listening socket from the supervisor
(fd 3, socket activation), answers /healthz, and on SIGTERM stops accepting,
finishes the requests in flight and exits: a restart refuses no connection."""
import http.server
import os
import signal
import socket
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("ok\n" if self.path == "/healthz" else "hello from pid %d\n" % os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


def main():
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        raise SystemExit("expected a socket from the supervisor (socket= in the config)")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=3)
    server.block_on_close = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("serving on the supervisor's socket, pid %d" % os.getpid(), flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    print("drained, pid %d exits" % os.getpid(), flush=True)


if __name__ == "__main__":
    main()
