"""Measure a link from this node to an address; print one JSON object.

nm-measure ping ADDR COUNT INTERVAL   round trips of COUNT pings (ms): median,
                                      mean, stdev, p5, p95; loss in percent
nm-measure iperf ADDR SECONDS DIR [UDP_MBIT]
                                      iperf3 to the server at ADDR, DIR "to" (this
                                      node -> ADDR), "from" (-R) or "bidir" (both at
                                      once, two clients to the servers on 5201 and
                                      5202); TCP, or UDP offered at UDP_MBIT;
                                      Mbit/s received per direction
"""

import json
import re
import statistics
import subprocess
import sys


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def ping(addr, count, interval):
    out = subprocess.run(["ping", "-n", "-c", count, "-i", interval, "-W", "3", addr], capture_output=True, text=True, check=False).stdout
    rtts = [float(x) for x in re.findall(r"time=([0-9.]+) ms", out)]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    sent, received = int(m.group(1)), int(m.group(2))
    res = {"sent": sent, "received": received, "loss": round(100.0 * (sent - received) / sent, 2)}
    if rtts:
        res.update(
            median=round(statistics.median(rtts), 3),
            mean=round(statistics.mean(rtts), 3),
            stdev=round(statistics.pstdev(rtts), 3),
            p5=pct(rtts, 5),
            p95=pct(rtts, 95),
        )
    return res


def iperf_argv(addr, seconds, port, reverse, udp):
    argv = ["iperf3", "-c", addr, "-p", port, "-t", seconds, "-O", "1", "-J"] + (["-R"] if reverse else [])
    return argv + (["-u", "-b", udp + "M"] if udp else [])


def received_mbit(out):
    # sum_received: what the receiving end got (the server, or this node with -R).
    return round(json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6, 2)


def iperf(addr, seconds, direction, udp=None):
    # Both ways at once are two iperf3 processes, not `iperf3 --bidir`: Debian 12's
    # iperf3 (3.12) runs both streams of --bidir in one thread, and in the TCG VM its
    # UDP pacing then overshoots (48 Mbit/s sent for 30 asked) while the reverse
    # stream is starved (12 of 20 Mbit/s received through the shaper); two processes
    # each hold their own rate.
    dirs = {"to": ["to"], "from": ["from"], "bidir": ["to", "from"]}[direction]
    procs = {}
    for d in dirs:
        port = "5202" if direction == "bidir" and d == "from" else "5201"
        argv = iperf_argv(addr, seconds, port, d == "from", udp)
        procs[d] = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)  # pylint: disable=consider-using-with
    res = {}
    for d, proc in procs.items():
        out = proc.communicate()[0]
        if proc.returncode:
            raise SystemExit("iperf3 %s failed (rc %d): %s" % (d, proc.returncode, out[-500:]))
        res[d] = received_mbit(out)
    return res


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    res = ping(*args) if cmd == "ping" else iperf(*args)
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
