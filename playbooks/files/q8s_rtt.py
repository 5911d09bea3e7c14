# Copyright: q8s developers
# MIT License (see LICENSE)
"""Round trip to ADDRESS:PORT, run on a control plane by playbooks/verify.yml.

Each probe opens a TCP connection and reads the server's first bytes (the guest's SSH
banner behind its host's port 2222); the round trip is the connect time, and the
result is the median of the probes. Prints JSON: {"ok", "rtt_ms", "banner", "error"}.
"""

import json
import socket
import statistics
import sys
import time


def probe(address, port, timeout):
    start = time.monotonic()
    with socket.create_connection((address, port), timeout=timeout) as sock:
        connected = time.monotonic()
        sock.settimeout(timeout)
        banner = sock.recv(64).decode("ascii", "replace").strip()
    return (connected - start) * 1000.0, banner


def main(argv):
    address, port = argv[1], int(argv[2])
    count = int(argv[3]) if len(argv) > 3 else 9
    times, banner, error = [], "", ""
    for attempt in range(count):
        try:
            rtt, banner = probe(address, port, 10)
            times.append(rtt)
        except OSError as exc:
            error = "attempt %d: %s" % (attempt + 1, exc)
    ok = bool(times) and banner.startswith("SSH-2.0")
    out = {"ok": ok, "rtt_ms": round(statistics.median(times), 3) if times else None, "banner": banner, "error": error}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
