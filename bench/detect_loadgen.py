#!/usr/bin/env python3
"""Load generator for `medguard watch`: sends N syslog messages over TCP with RFC 6587 octet
counting, as fast as the receiver accepts them (TCP back-pressure), to a loopback address only.
Pre-built blocks of 1000 messages go out with one sendall each, so Python is not the bottleneck.

Usage: detect_loadgen.py HOST PORT N       send N messages; prints: messages seconds
       detect_loadgen.py --capacity N      send N messages to a local discard sink (measures the
                                           generator's own ceiling); prints: messages seconds"""
import socket
import subprocess
import sys
import time

SINK = r"""
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
buf = bytearray(1 << 20)
while c.recv_into(buf):
    pass
"""


def messages():
    msgs = []
    for i in range(1000):
        m = (f"<38>Nov 28 10:00:{i % 60:02d} fw01 sshd[{i}]: Failed password for admin from 10.0.{i % 256}.{i % 200 + 1} port 4{i % 10000} ssh2"
             if i % 2 else
             f"<134>1 2026-11-28T10:00:00Z nas01 filterlog - - - action=block src=10.1.{i % 256}.9 dst=192.0.2.10 dport=445").encode()
        msgs.append(str(len(m)).encode() + b" " + m)
    return msgs


def send(host, port, n):
    if not host.startswith("127."):
        sys.exit("loopback only")
    msgs = messages()
    block = b"".join(msgs)
    s = socket.create_connection((host, port))
    t = time.perf_counter()
    sent = 0
    while sent + 1000 <= n:
        s.sendall(block)
        sent += 1000
    for m in msgs[: n - sent]:
        s.sendall(m)
        sent += 1
    s.close()
    return sent, time.perf_counter() - t


def main():
    if sys.argv[1] == "--capacity":
        n = int(sys.argv[2])
        sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
        port = int(sink.stdout.readline())
        sent, secs = send("127.0.0.1", port, n)
        sink.wait()
    else:
        sent, secs = send(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    print(sent, f"{secs:.3f}")


if __name__ == "__main__":
    main()
