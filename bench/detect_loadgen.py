#!/usr/bin/env python3
"""Load generator for `medguard watch`: sends N syslog messages over TCP with RFC 6587 octet
counting, as fast as the receiver accepts them (TCP back-pressure), to a loopback address only.
Prints: messages seconds."""
import socket
import sys
import time

def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not host.startswith("127."):
        sys.exit("loopback only")
    msgs = []
    for i in range(1000):
        m = (f"<38>Nov 28 10:00:{i % 60:02d} fw01 sshd[{i}]: Failed password for admin from 10.0.{i % 256}.{i % 200 + 1} port 4{i % 10000} ssh2"
             if i % 2 else
             f"<134>1 2026-11-28T10:00:00Z nas01 filterlog - - - action=block src=10.1.{i % 256}.9 dst=192.0.2.10 dport=445").encode()
        msgs.append(str(len(m)).encode() + b" " + m)
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
    print(sent, f"{time.perf_counter() - t:.3f}")

if __name__ == "__main__":
    main()
