# Copyright: q8s developers
# MIT License (see LICENSE)
"""Round trip to each ADDRESS:PORT, run on a control plane by playbooks/verify.yml.

    q8s_rtt.py [--count N] ADDRESS:PORT [ADDRESS:PORT ...]

Each probe opens a TCP connection and reads the server's first bytes (the guest's SSH
banner behind its host's port 2222); the round trip is the connect time, and the result is
the median of the probes. The targets are probed side by side, each target's probes one
after the other (each waits for the banner, so an emulated guest is not answering the
last probe while the next one is timed).

Prints one JSON object, keyed by ADDRESS:PORT: {"ok", "rtt_ms", "banner", "error"}.
"""

import argparse
import json
import socket
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

TIMEOUT_S = 10
MAX_THREADS = 64


def probe(address, port, timeout=TIMEOUT_S):
    """(connect time in ms, the first bytes the server sent)."""
    start = time.monotonic()
    with socket.create_connection((address, port), timeout=timeout) as sock:
        connected = time.monotonic()
        sock.settimeout(timeout)
        banner = sock.recv(64).decode("ascii", "replace").strip()
    return (connected - start) * 1000.0, banner


def measure(target, count):
    """The result for one ADDRESS:PORT."""
    address, port = target.rsplit(":", 1)
    times, banner, error = [], "", ""
    for attempt in range(count):
        try:
            rtt, banner = probe(address, int(port))
            times.append(rtt)
        except OSError as exc:
            error = "attempt %d: %s" % (attempt + 1, exc)
    return {
        "ok": bool(times) and banner.startswith("SSH-2.0"),
        "rtt_ms": round(statistics.median(times), 3) if times else None,
        "banner": banner,
        "error": error,
    }


def target_type(value):
    """ADDRESS:PORT with a port number."""
    address, sep, port = value.rpartition(":")
    if not sep or not address or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("%r is not ADDRESS:PORT" % value)
    return value


def main(argv):
    parser = argparse.ArgumentParser(description="TCP connect round trips, median per target")
    parser.add_argument("--count", type=int, default=9, help="probes per target (default 9)")
    parser.add_argument("targets", nargs="+", type=target_type, metavar="ADDRESS:PORT")
    args = parser.parse_args(argv[1:])
    targets = list(dict.fromkeys(args.targets))
    with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(targets))) as pool:
        results = dict(pool.map(lambda t: (t, measure(t, max(args.count, 1))), targets))
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
