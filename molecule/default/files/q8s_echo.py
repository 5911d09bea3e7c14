#!/usr/bin/python3
"""Test echo: TCP 8080 and UDP 5005 answer '<hostname> <peer address>'."""
import os
import socket
import threading

NAME = os.environ.get("Q8S_ECHO_NAME") or socket.gethostname()


def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 8080))
    s.listen(16)
    while True:
        c, peer = s.accept()
        c.sendall(("%s %s\n" % (NAME, peer[0])).encode())
        c.close()


def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("", 5005))
    while True:
        _data, peer = u.recvfrom(512)
        u.sendto(("%s %s\n" % (NAME, peer[0])).encode(), peer)


threading.Thread(target=udp, daemon=True).start()
tcp()
