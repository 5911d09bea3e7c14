#!/usr/bin/python3
"""q8s_probe.py tcp|udp|banner HOST PORT: print what the service answers."""
import socket
import sys

kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    for _ in range(3):
        s.sendto(b"ping", (host, port))
        try:
            print(s.recvfrom(512)[0].decode().strip())
            break
        except TimeoutError:
            continue
    else:
        sys.exit("no UDP answer from %s:%d" % (host, port))
else:
    s = socket.create_connection((host, port), timeout=10)
    print(s.recv(512).decode(errors="replace").strip())
