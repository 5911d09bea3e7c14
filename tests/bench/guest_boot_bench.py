"""Guest boot benchmark: from a ready QEMU host to its emulated guest answering SSH.

    .venv/bin/python tests/bench/guest_boot_bench.py [--runs 3]

Builds a small cluster with the local provider (one x86_64 EPYC-Rome and one aarch64
cortex-a57 guest, as examples/local.yml; cluster "bench" on its own podman network), runs
provision.yml and hosts.yml once, then per run and architecture removes the guest (domain,
disk) and times `guests.yml --tags emulated_worker --limit <host>`: the seconds until the
host's port 2222 answers with an SSH banner, and until the playbook is done (cloud-init
finished). The architectures are booted one after the other, so neither competes with the
other for the CPU. Prints the medians and the ratio aarch64 / x86_64 (the cost of
emulating the foreign architecture, both measured here in the same run).

Then the round trip the NAT path adds (issue 7, goal: at most 0.2 ms): from another
cluster node (the control-plane container), TCP connects to the host itself (its port 22:
a SYN answered by the host's kernel, with SYN-ACK or RST) against connects through the host to the guest (host port 2222, and the guest's own node
address through the address translation); the median of many connects each, measured
alternately. A connect that reaches the guest includes its emulated kernel's answer, so
the host also connects to its guest's sshd directly over the libvirt bridge, and the NAT
path alone is via host:2222 minus the host minus that direct connect. Then tears the
cluster down. Needs root and what `make deploy` needs (it
builds missing images).
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAME = "bench"


def spec(state_dir):
    data = yaml.safe_load((ROOT / "examples" / "local.yml").read_text())
    data.update(cluster_name=NAME, remote_ip_prefix="10.89.81.0/24", state_dir=str(state_dir), local={"network": "q8s-bench"})
    return data


def playbook(spec_file, name, *args, check=True):
    cmd = [str(BIN / "ansible-playbook"), "playbooks/" + name, "-e", "@%s" % spec_file, *args]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1", PATH="%s:%s" % (BIN, os.environ["PATH"]))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if not check:
        return proc
    out = proc.communicate()[0]
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (" ".join(cmd), out[-5000:]))
    return out


def inventory(spec_file):
    cmd = [str(BIN / "ansible-inventory"), "--list", "-e", "@%s" % spec_file]
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    return json.loads(subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout)


def plain(value):
    """ansible-inventory --list writes unsafe strings as {"__ansible_unsafe": "..."}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def banner(address, port=2222):
    try:
        with socket.create_connection((address, port), timeout=2) as sock:
            sock.settimeout(3)
            return sock.recv(16).startswith(b"SSH-")
    except OSError:
        return False


def remove_guest(host, guest):
    for cmd in (["virsh", "destroy", guest], ["virsh", "undefine", "--nvram", guest]):
        subprocess.run(["podman", "exec", host, *cmd], capture_output=True, check=False)
    subprocess.run(["podman", "exec", host, "rm", "-f", "/var/lib/libvirt/images/q8s/%s.qcow2" % guest], check=True)


def boot_once(spec_file, host, address, *extra):
    """Create the host's guest with guests.yml; returns (seconds to SSH, seconds to done)."""
    start = time.monotonic()
    proc = playbook(spec_file, "guests.yml", "--tags", "emulated_worker", "--limit", host, *extra, check=False)
    ssh_s = None
    while proc.poll() is None:
        if ssh_s is None and banner(address):
            ssh_s = time.monotonic() - start
        time.sleep(0.5)
    out = proc.stdout.read()
    done_s = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit("guests.yml failed for %s:\n%s" % (host, out[-5000:]))
    if ssh_s is None:
        ssh_s = done_s if banner(address) else float("nan")
    return ssh_s, done_s


# Run inside the other node: median TCP connect time (ms) per target, alternating.
RTT_PROBE = r"""
import json, socket, statistics, sys, time
targets = json.loads(sys.argv[1])
samples = {name: [] for name in targets}
for _ in range(int(sys.argv[2])):
    for name, (addr, port) in targets.items():
        t = time.perf_counter()
        try:
            socket.create_connection((addr, port), timeout=5).close()
        except ConnectionRefusedError:
            pass  # the host's own port 22 may be closed: its RST is a round trip too
        samples[name].append((time.perf_counter() - t) * 1000)
        time.sleep(0.005)
print(json.dumps(samples))
"""


def nat_rtt(node, targets, count=300):
    """TCP connect times in ms from container `node` to each (address, port) target."""
    out = subprocess.run(["podman", "exec", node, "python3", "-c", RTT_PROBE, json.dumps(targets), str(count)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit("RTT probe in %s failed: %s" % (node, out.stderr[-2000:]))
    return json.loads(out.stdout)


def nat_rounds(node, targets, host, direct, rounds=6, count=50):
    """Medians (ms): connects from `node` to `targets`, and from `host` to its guest
    (`direct`), alternating in rounds so that a guest busier in one phase than in
    another weighs on every figure alike."""
    samples = {name: [] for name in [*targets, "guest from its host"]}
    for _round in range(rounds):
        for name, values in nat_rtt(node, targets, count).items():
            samples[name] += values
        samples["guest from its host"] += nat_rtt(host, {"guest from its host": direct}, count)["guest from its host"]
    return {name: statistics.median(values) for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    subprocess.run([str(ROOT / "tests" / "testbed" / "prepare.sh")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(ROOT / "tests" / "testbed" / "build-images.sh"), "host", "amd64", "arm64"], check=True, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "bench.yml"
        data = spec(Path(tmp) / "state")
        spec_file.write_text(yaml.safe_dump(data))
        try:
            playbook(spec_file, "provision.yml")
            playbook(spec_file, "hosts.yml")
            hosts = json.loads((Path(tmp) / "state" / "hosts.json").read_text())["hosts"]
            results = {}
            for type_name in sorted(data["cluster_definition"]["worker"]):
                arch = data["vm_types"][type_name]["architecture"]
                guest = "%s-%s-1" % (NAME, type_name)
                host = guest + "-host"
                runs = []
                for i in range(args.runs):
                    remove_guest(host, guest)
                    ssh_s, done_s = boot_once(spec_file, host, hosts[host])
                    runs.append((ssh_s, done_s))
                    print("%-8s run %d: SSH after %.1f s, cloud-init done (playbook end) after %.1f s" % (arch, i + 1, ssh_s, done_s), flush=True)
                results[arch] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
            print()
            print("guest boot, host ready -> guest SSH (median of %d runs):" % args.runs)
            for arch, (ssh_s, done_s) in sorted(results.items()):
                print("  %-8s SSH %6.1f s   done %6.1f s" % (arch, ssh_s, done_s))
            if "x86_64" in results and "arm_64" in results:
                ratio = results["arm_64"][0] / results["x86_64"][0]
                print("  ratio aarch64 / x86_64 (SSH): %.2f" % ratio)
            print()
            print("round trip added by the NAT path (TCP connects from %s-cp-0, median of 300 per target in 6 alternating rounds):" % NAME)
            hostvars = inventory(spec_file)["_meta"]["hostvars"]
            for type_name in sorted(data["cluster_definition"]["worker"]):
                host = "%s-%s-1-host" % (NAME, type_name)
                targets = {
                    "host": [hosts[host], 22],
                    "guest via host:2222": [hosts[host], 2222],
                    # port 22 of the guest's address is the host's own (not forwarded):
                    # a closed port reaches the guest, whose kernel answers with RST
                    "guest node address:9": [plain(hostvars[host]["q8s_node"]["guest_address"]), 9],
                }
                direct = [plain(hostvars[host]["q8s_node"]["guest_address"]), 22]
                rtt = nat_rounds("%s-cp-0" % NAME, targets, host, direct)
                for name in targets:
                    added = "" if name == "host" else "   added %.3f ms (goal: at most 0.2 ms)" % (rtt[name] - rtt["host"])
                    print("  %-10s %-20s %.3f ms%s" % (type_name, name, rtt[name], added))
                # What the emulated guest itself takes to answer: its host connects to its
                # sshd over the libvirt bridge, no NAT. The rest of the added time is the
                # NAT path (DNAT, forwarding, the second hop).
                direct = rtt["guest from its host"]
                nat_only = rtt["guest via host:2222"] - rtt["host"] - direct
                print("  %-10s %-20s %.3f ms   (the guest's own answer, no NAT)" % (type_name, "guest from its host", direct))
                print("  %-10s NAT path alone: via host:2222 - host - guest from its host = %.3f ms added (goal: at most 0.2 ms)" % (type_name, nat_only))
        finally:
            playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")


if __name__ == "__main__":
    main()
