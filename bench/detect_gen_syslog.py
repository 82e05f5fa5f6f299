#!/usr/bin/env python3
"""Write a synthetic syslog file for the detect benchmark: a mix of what a practice's firewall, NAS,
printers and Linux boxes send (RFC 3164 and 5424, key=value firewall lines), with a few attack lines."""
import random
import sys

def main():
    path, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(42)
    hosts = ["fw01", "nas01", "printer1", "pacs01", "linux-srv"]
    users = ["root", "admin", "drsmith", "frontdesk", "backup"]
    with open(path, "w") as f:
        for i in range(n):
            h = rnd.choice(hosts)
            ip = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
            k = i % 6
            if k == 0:
                f.write(f"<38>Nov 28 10:{i % 60:02d}:{(i // 60) % 60:02d} {h} sshd[{1000 + i % 5000}]: Failed password for {rnd.choice(users)} from {ip} port {rnd.randrange(1024, 65535)} ssh2\n")
            elif k == 1:
                f.write(f"<134>1 2026-11-28T10:{i % 60:02d}:00Z {h} filterlog - - - action=block src={ip} dst=192.0.2.10 proto=tcp dport={rnd.choice([22, 445, 3389, 104])}\n")
            elif k == 2:
                f.write(f"<30>Nov 28 10:00:{i % 60:02d} {h} smbd[{i % 999}]: user={rnd.choice(users)} opened file /share/charts/p{i}.pdf\n")
            elif k == 3:
                f.write(f"<86>1 2026-11-28T10:00:00Z {h} sudo {i % 9999} - - {rnd.choice(users)} : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/systemctl status\n")
            elif k == 4:
                f.write(f"<13>Nov 28 10:00:00 {h} lpd: job {i} printed by {rnd.choice(users)} pages={rnd.randrange(1, 20)}\n")
            else:
                f.write(f"<85>Nov 28 10:00:00 {h} kernel: [ {i}.123] IN=eth0 OUT= SRC={ip} DST=192.0.2.1 LEN=60 PROTO=TCP DPT=23\n")

if __name__ == "__main__":
    main()
