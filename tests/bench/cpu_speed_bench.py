"""CPU speed benchmark (issue 21): guests of one type at 100, 50 and 25 % of a host core.

    .venv/bin/python tests/bench/cpu_speed_bench.py [--runs 3] [--iterations N]

Brings up the Molecule scenario cpu_speed (two QEMU host containers on their own podman
network, each with one x86_64 EPYC-Rome guest of 1 vCPU under TCG: type "full" without a
limit, type "half" with cpu_speed_percent 50), then times the same CPU-bound workload
(molecule/cpu_speed/files/cpu_work.py: a fixed count of iterations of a Python loop, timed
inside the guest and from here) --runs times in each guest, one guest after the other.
Then the scenario's side_effect sets the "half" type to 25 % on the running guest (no
restart), and the workload runs again. Prints per speed the median seconds and the
throughput ratio to the 100 % guest, both timings, against the configured ratio (goal:
within 10 %), and the host's load average while it ran: the limit is a ceiling, so a
host busy with other work slows the 100 % guest too. Then destroys the scenario.
Output also in logs/bench-cpu_speed.json. Needs root and the test bed's images.
"""

import argparse
import fcntl
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCENARIO = ROOT / "molecule" / "cpu_speed"
LOCK = "/tmp/q8s/molecule-cpu_speed.lock"
FULL = ("q8scs-full-1", "10.89.73.11")
HALF = ("q8scs-half-1", "10.89.73.12")


def molecule(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), PATH="%s:%s" % (BIN, os.environ["PATH"]))
    print("+ molecule %s" % " ".join(args), flush=True)
    proc = subprocess.run([str(BIN / "molecule"), *args, "-s", "cpu_speed"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit("molecule %s failed:\n%s" % (" ".join(args), (proc.stdout + proc.stderr)[-6000:]))


def key():
    found = sorted(glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.cpu_speed/state/id_ed25519")), key=os.path.getmtime)
    if not found:
        raise SystemExit("no cluster key of the cpu_speed scenario under ~/.ansible/tmp")
    return found[-1]


def measure(label, half_percent, runs, iterations):
    out = ROOT / "logs" / ("bench-cpu_speed-%s.json" % label)
    guests = ["%s=%s:2222:100" % FULL, "%s=%s:2222:%d" % (HALF[0], HALF[1], half_percent)]
    cmd = [sys.executable, str(SCENARIO / "files" / "cpu_work.py"), "--key", key(), "--runs", str(runs), "--json", str(out)]
    if iterations:
        cmd += ["--iterations", str(iterations)]
    proc = subprocess.run(cmd + guests, text=True, check=False)
    with open(out) as handle:
        data = json.load(handle)
    data["passed"] = proc.returncode == 0
    return data


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=0)
    args = parser.parse_args(argv)
    (ROOT / "logs").mkdir(exist_ok=True)
    subprocess.run([str(ROOT / "tests" / "testbed" / "build-images.sh"), "amd64", "host"], check=True)
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = {}
        try:
            molecule("destroy")
            molecule("converge")
            results["50"] = measure("50", 50, args.runs, args.iterations)
            molecule("side-effect")
            results["25"] = measure("25", 25, args.runs, args.iterations)
        finally:
            molecule("destroy")
            subprocess.run(["podman", "network", "rm", "q8s-cpuspeed"], capture_output=True, check=False)
    with open(ROOT / "logs" / "bench-cpu_speed.json", "w") as handle:
        json.dump(results, handle, indent=1)
    print()
    print("cpu_speed: median of %d runs, throughput ratio to the 100 %% guest (goal: within 10 %% of configured)" % args.runs)
    failed = False
    for data in results.values():
        for guest in data["guests"]:
            print(
                "  %3d %%: guest-timed %6.2f s ratio %.3f, host-timed %6.2f s ratio %.3f (configured %.2f)"
                % (
                    guest["percent"],
                    sorted(guest["guest_s"])[len(guest["guest_s"]) // 2],
                    guest["guest_ratio"],
                    sorted(guest["host_s"])[len(guest["host_s"]) // 2],
                    guest["host_ratio"],
                    guest["percent"] / 100.0,
                )
            )
        failed = failed or not data["passed"]
    print("  result: %s" % ("within 10 %" if not failed else "OFF by more than 10 % (see the lines above; was the host busy?)"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
