#!/usr/bin/python3
"""Tour: a service that tells the supervisor when it is ready and keeps
proving it is alive (the sd_notify protocol, as systemd's Type=notify):
READY=1 after start-up, STATUS= lines, WATCHDOG=1 keep-alives."""
import os
import socket
import time


def notify(message):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(message.encode(), addr)


time.sleep(2)  # "opening the database"
notify("READY=1\nSTATUS=accepting jobs")
interval = int(os.environ.get("WATCHDOG_USEC", "10000000")) / 2e6
jobs = 0
while True:
    time.sleep(interval)
    jobs += 1
    notify("WATCHDOG=1\nSTATUS=%d jobs done" % jobs)
