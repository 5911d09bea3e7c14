"""Measure a link from this node to an address; print one JSON object.

nm-measure ping ADDR COUNT INTERVAL   round trips of COUNT pings (ms): median,
                                      mean, stdev, p5, p95; loss in percent
nm-measure iperf ADDR SECONDS DIR [UDP_MBIT]
                                      iperf3 to the server at ADDR, DIR "to" (this
                                      node -> ADDR), "from" (-R) or "bidir"; TCP, or
                                      UDP offered at UDP_MBIT; Mbit/s received per
                                      direction
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


def iperf(addr, seconds, direction, udp=None):
    argv = ["iperf3", "-c", addr, "-t", seconds, "-O", "1", "-J"]
    argv += {"to": [], "from": ["-R"], "bidir": ["--bidir"]}[direction]
    if udp:
        argv += ["-u", "-b", udp + "M"]
    end = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)["end"]
    # sum_received: what the receiving end got (the server, or this node with -R).
    key = "from" if direction == "from" else "to"
    res = {key: round(end["sum_received"]["bits_per_second"] / 1e6, 2)}
    if direction == "bidir":
        res["from"] = round(end["sum_received_bidir_reverse"]["bits_per_second"] / 1e6, 2)
    return res


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    res = ping(*args) if cmd == "ping" else iperf(*args)
    print(json.dumps(res, sort_keys=True))


if __name__ == "__main__":
    main()
