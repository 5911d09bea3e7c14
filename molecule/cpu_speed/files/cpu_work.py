"""Time the same CPU-bound workload in guests of different cpu_speed_percent, compare.

    python3 cpu_work.py --key KEY [--iterations N] [--runs R] [--tolerance 0.10] [--json FILE]
                NAME=HOST:PORT:PERCENT ...

Each run runs the workload (a fixed count of iterations of a pure-Python loop, one
thread) in one guest after the other, over SSH (HOST:PORT, the guest's forwarded port on
its host). It is timed twice: inside the guest (time.monotonic around the loop) and here,
between the arrival of the guest's "start" and "end" lines (so SSH's and Python's start-up
are not counted). Throughput is iterations per second; the guest with the highest percent
is the reference. Per guest, the median of the runs; the throughput ratio to the
reference must be within --tolerance (relative) of PERCENT / reference PERCENT, for both
timings. Prints one line per guest; exit status 1 when a ratio is off.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# Runs in the guest: python3 - N
WORKLOAD = r"""
import sys, time
n = int(sys.argv[1])
print("start", flush=True)
t0 = time.monotonic()
x = 0
for i in range(n):
    x = (x * 31 + i) & 0xFFFFFFFF
print("end %.6f %d" % (time.monotonic() - t0, x), flush=True)
"""


def run_once(key, host, port, iterations, user):
    cmd = [
        "ssh",
        "-i",
        key,
        "-p",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",
        "%s@%s" % (user, host),
        "python3",
        "-",
        str(iterations),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    proc.stdin.write(WORKLOAD)
    proc.stdin.close()
    started = guest_s = host_s = None
    for line in proc.stdout:
        now = time.monotonic()
        if line.startswith("start"):
            started = now
        elif line.startswith("end") and started is not None:
            host_s = now - started
            guest_s = float(line.split()[1])
    err = proc.stderr.read()
    if proc.wait() != 0 or host_s is None:
        raise SystemExit("workload on %s:%s failed (rc %s): %s" % (host, port, proc.returncode, err.strip()))
    return guest_s, host_s


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", default="q8s")
    parser.add_argument("--iterations", type=int, default=2000000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.10)
    parser.add_argument("--json")
    parser.add_argument("guests", nargs="+", metavar="NAME=HOST:PORT:PERCENT")
    args = parser.parse_args(argv)
    guests = []
    for spec in args.guests:
        name, dummy, where = spec.partition("=")
        host, port, percent = where.rsplit(":", 2)
        guests.append({"name": name, "host": host, "port": int(port), "percent": int(percent), "guest_s": [], "host_s": []})
    for run in range(args.runs):
        for guest in guests:
            guest_s, host_s = run_once(args.key, guest["host"], guest["port"], args.iterations, args.user)
            guest["guest_s"].append(guest_s)
            guest["host_s"].append(host_s)
            print(
                "run %d %-18s %3d%%  guest %7.2f s  host %7.2f s  load %s"
                % (
                    run + 1,
                    guest["name"],
                    guest["percent"],
                    guest_s,
                    host_s,
                    " ".join("%.2f" % x for x in os.getloadavg()),
                ),
                flush=True,
            )
    ref = max(guests, key=lambda g: g["percent"])
    failed = []
    for guest in guests:
        want = guest["percent"] / float(ref["percent"])
        for clock in ("guest_s", "host_s"):
            # Throughput ratio = reference seconds / own seconds (same iteration count).
            ratio = statistics.median(ref[clock]) / statistics.median(guest[clock])
            guest[clock.replace("_s", "_ratio")] = ratio
            off = abs(ratio / want - 1)
            if off > args.tolerance:
                failed.append("%s: throughput ratio %.3f (%s) is %.0f %% off the configured %.3f" % (guest["name"], ratio, clock[:-2], off * 100, want))
        print(
            "median %-18s %3d%%  guest %7.2f s  host %7.2f s  ratio guest %.3f host %.3f  configured %.3f"
            % (
                guest["name"],
                guest["percent"],
                statistics.median(guest["guest_s"]),
                statistics.median(guest["host_s"]),
                guest["guest_ratio"],
                guest["host_ratio"],
                want,
            )
        )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"iterations": args.iterations, "runs": args.runs, "guests": guests}, handle, indent=1)
    for line in failed:
        print("FAILED " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
