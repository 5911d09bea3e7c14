"""playbooks/files/q8s_rtt.py, the round trips verify.yml measures from a control plane:
run as verify.yml runs it (one process, every guest's ADDRESS:PORT), against real TCP
servers on loopback that send an SSH banner, something else, or nothing (a closed port)."""

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "playbooks" / "files" / "q8s_rtt.py"


class Server:
    """A loopback TCP server that sends `banner` after `delay` seconds to each connection,
    one connection at a time (as a guest's sshd answers), and counts them."""

    def __init__(self, banner, delay=0.0):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.banner, self.delay, self.accepts = banner, delay, []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn = self.sock.accept()[0]
            except OSError:
                return
            self.accepts.append(time.monotonic())
            time.sleep(self.delay)
            with conn:
                conn.sendall(self.banner)

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def close(self):
        self.sock.close()


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT)] + list(args), capture_output=True, text=True, timeout=120, check=False)


def test_every_target_in_one_run_keyed_by_address_and_port():
    ssh, other = Server(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"), Server(b"HTTP/1.1 400 Bad Request\r\n")
    closed = "127.0.0.1:%d" % closed_port()
    try:
        proc = run("--count", "3", ssh.target, other.target, closed, ssh.target)
    finally:
        ssh.close()
        other.close()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert sorted(out) == sorted([ssh.target, other.target, closed])
    assert out[ssh.target]["ok"] is True and out[ssh.target]["banner"].startswith("SSH-2.0-OpenSSH")
    assert out[ssh.target]["rtt_ms"] is not None and out[ssh.target]["rtt_ms"] >= 0 and not out[ssh.target]["error"]
    # a target named twice is probed once: 3 probes, each waiting for the banner
    assert len(ssh.accepts) == 3
    assert out[other.target]["ok"] is False and out[other.target]["rtt_ms"] is not None
    assert out[closed] == {"ok": False, "rtt_ms": None, "banner": "", "error": out[closed]["error"]}
    assert out[closed]["error"].startswith("attempt 3: ")


def test_targets_are_probed_side_by_side():
    """Two servers that each take 0.3 s to send their banner, 3 probes each: one target
    after the other, the second server would see its first connection after the first
    server's last; side by side, each sees one before the other's last."""
    first, second = Server(b"SSH-2.0-x\r\n", delay=0.3), Server(b"SSH-2.0-y\r\n", delay=0.3)
    try:
        proc = run("--count", "3", first.target, second.target)
    finally:
        first.close()
        second.close()
    assert proc.returncode == 0, proc.stderr
    assert all(v["ok"] for v in json.loads(proc.stdout).values())
    assert len(first.accepts) == len(second.accepts) == 3
    assert second.accepts[0] < first.accepts[-1] and first.accepts[0] < second.accepts[-1]


def test_a_target_without_a_port_is_refused_before_any_probe():
    for bad in ("100.64.0.3", "100.64.0.3:", ":2222", "100.64.0.3:ssh", "100.64.0.3:70000"):
        proc = run(bad)
        assert proc.returncode == 2 and "is not ADDRESS:PORT" in proc.stderr, (bad, proc.stderr)
    assert "required" in run().stderr
