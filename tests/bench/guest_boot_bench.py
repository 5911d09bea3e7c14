"""Guest boot benchmark: from a ready QEMU host to its emulated guest answering SSH.

    .venv/bin/python tests/bench/guest_boot_bench.py [--runs 3]

Builds a small cluster with the local provider (one x86_64 EPYC-Rome and one aarch64
cortex-a57 guest, as examples/local.yml, plus one ppc64le POWER9 and one s390x guest with
one vCPU each, booted directly from the test bed's images on hosts with the IBM emulators;
--arches picks some of them; cluster "bench" on its own podman network), runs
provision.yml and hosts.yml once, then per run and architecture removes the guest (domain,
disk) and times `guests.yml --tags emulated_worker --limit <host>`: the seconds until the
host's port 2222 answers with an SSH banner, and until the playbook is done (cloud-init
finished). The architectures are booted one after the other, so neither competes with the
other for the CPU. Prints the medians and the ratios aarch64, ppc64le and s390x / x86_64
(the cost of emulating the foreign architecture, all measured here in the same run).

Then the round trip the NAT path adds (issue 7, goal: at most 0.2 ms): from another
cluster node (the control-plane container), TCP connects to the host itself (its port 22,
answered by the host's kernel) against connects through the host to the guest's address
(host port 2222, and the guest's node address through the address translation), the
median of many connects each, measured alternately. First with the emulated guest at
the end: that includes its emulated kernel's answer (printed, and its own answer from
its host over the bridge beside it). Then with a native stand-in in the guest's place:
the guest stopped, a network namespace on the same bridge with the guest's address and
MAC answering on ports 22 and 9, so the same DNAT, forwarding and bridge hop are timed
without emulation at the end; the difference to the host is what the NAT path adds.
Then tears the cluster down. Needs root and what `make deploy` needs (it builds missing
images).
"""

import argparse
import contextlib
import datetime
import json
import os
import re
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
# The spec's base image, whatever golden images the controller has (golden_bench.py
# measures those).
BASE_IMAGE = ("-e", "q8s_golden_use=false")


ARCHES = ("x86_64", "aarch64", "ppc64le", "s390x")
# ppc64le and s390x workers (issue 17): Debian's kernel booted directly from the test bed's
# images (build-images.sh ppc64el s390x), q8s-firstboot instead of cloud-init, on hosts with
# the IBM emulators (host-ibm). One vCPU each: TCG guests of these architectures are slow.
IBM_TYPES = {
    "p9": {"architecture": "ppc64le", "cpu_model": "POWER9", "machine_model": "pseries", "num_cpus": 1, "ram": 1024, "storage": 4},
    "z": {"architecture": "s390x", "cpu_model": "qemu", "machine_model": "s390-ccw-virtio", "num_cpus": 1, "ram": 1024, "storage": 4},
}
IBM_IMAGES = {"ppc64le": "debian-12-ppc64el", "s390x": "debian-12-s390x"}
ALIASES = {"arm_64": "aarch64", "arm64": "aarch64", "amd64": "x86_64"}


def test_bed_image(name):
    """A guest_images entry for a test bed image with its kernel and initrd."""
    base = "file:///var/cache/q8s/images/" + name

    def entry(ext):
        return {"source": base + ext, "checksum": "sha256:%s%s.sha256" % (base, ext)}

    return dict(entry(".qcow2"), kernel=entry(".vmlinuz"), initrd=entry(".initrd"), cmdline="root=LABEL=root ro", firstboot=True)


def spec(state_dir, arches=ARCHES):
    data = yaml.safe_load((ROOT / "examples" / "local.yml").read_text())
    data.update(cluster_name=NAME, remote_ip_prefix="10.89.81.0/24", state_dir=str(state_dir), local={"network": "q8s-bench"})
    for type_name, vm_type in IBM_TYPES.items():
        data["vm_types"][type_name] = dict(vm_type)
        data["cluster_definition"]["worker"][type_name] = 1
        data["guest_images"][vm_type["architecture"]] = test_bed_image(IBM_IMAGES[vm_type["architecture"]])
    for type_name, vm_type in list(data["vm_types"].items()):
        if ALIASES.get(vm_type["architecture"], vm_type["architecture"]) not in arches:
            del data["vm_types"][type_name]
            data["cluster_definition"]["worker"].pop(type_name, None)
    if set(IBM_IMAGES) & set(arches):
        data["local"]["qemu_host_image"] = "localhost/q8s-host:virt-ibm"
    return data


def arch_of(data, type_name):
    arch = data["vm_types"][type_name]["architecture"]
    return ALIASES.get(arch, arch)


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
    files = ["/var/lib/libvirt/images/q8s/%s.qcow2" % guest, CONSOLE % guest, QEMU_LOG % guest]
    subprocess.run(["podman", "exec", host, "rm", "-f", *files], check=True)


CONSOLE = "/var/log/libvirt/qemu/%s-console.log"
QEMU_LOG = "/var/log/libvirt/qemu/%s.log"
# What the serial console says when a guest's first boot is done: cloud-init's final
# message, or q8s-firstboot's (a golden image booted without cloud-init).
READY = r"Cloud-init v\. \S+ finished at|q8s-firstboot: ready"


def watch_ready(host, guest, timeout=1800):
    """Start watching the guest's console inside its host; guest_ready() reads the result.
    The host's clock, polled every 0.1 s: the wall time the ready line appeared."""
    script = (
        'f=%s; end=$(($(date +%%s) + %d)); until grep -Eq "%s" "$f" 2>/dev/null; do [ "$(date +%%s)" -lt $end ] || exit 1; sleep 0.1; done; date +%%s.%%N'
        % (
            CONSOLE % guest,
            timeout,
            READY,
        )
    )
    return subprocess.Popen(["podman", "exec", host, "sh", "-c", script], stdout=subprocess.PIPE, text=True)


def guest_ready(host, guest, watcher):
    """Seconds from the domain's start (libvirt's QEMU log) to its ready line on the console."""
    out = watcher.communicate()[0].strip()
    if watcher.returncode != 0 or not out:
        raise SystemExit("%s: no ready line on the console of %s" % (host, guest))
    log = subprocess.run(["podman", "exec", host, "cat", QEMU_LOG % guest], capture_output=True, text=True, check=True).stdout
    starts = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\+0000: starting up", log, re.M)
    if not starts:
        raise SystemExit("%s: no start time in %s" % (host, QEMU_LOG % guest))
    started = datetime.datetime.strptime(starts[-1], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.UTC).timestamp()
    return float(out) - started


def boot_once(spec_file, host, address, *extra, guest=None):
    """Create the host's guest with guests.yml; returns (seconds to SSH, seconds to done),
    both from the playbook's start, and with `guest` also the seconds from the domain's
    start to its ready line on the console (the guest's own first boot, no Ansible)."""
    watcher = watch_ready(host, guest) if guest else None
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
        if watcher:
            watcher.kill()
        raise SystemExit("guests.yml failed for %s:\n%s" % (host, out[-5000:]))
    if ssh_s is None:
        ssh_s = done_s if banner(address) else float("nan")
    if watcher:
        return ssh_s, done_s, guest_ready(host, guest, watcher)
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


STANDIN_UP = r"""
set -e
ip netns add q8s-standin
ip link add q8s-si0 type veth peer name q8s-si1
ip link set q8s-si1 netns q8s-standin
ip link set q8s-si0 master "$BRIDGE" up
ip -n q8s-standin link set lo up
ip -n q8s-standin link set q8s-si1 address "$MAC" mtu "$(cat /sys/class/net/$BRIDGE/mtu)" up
ip -n q8s-standin addr add "$ADDR" dev q8s-si1
ip -n q8s-standin route add default via "$GW"
"""
STANDIN_LISTEN = r"""
import select, socket
socks = []
for port in (22, 9):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4096)
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        s.accept()[0].close()
"""


@contextlib.contextmanager
def standin(host, guest, node, bridge="q8sbr0"):
    """Stop the guest and put a network namespace in its place on the host's guest bridge:
    its address, its MAC, listening on ports 22 and 9 (native kernel, no emulation)."""
    mac = "52:54:00:%02x:%02x:%02x" % tuple(int(x) for x in node["guest_address"].split(".")[1:])
    subprocess.run(["podman", "exec", host, "virsh", "destroy", guest], capture_output=True, check=False)
    env = [
        "-e",
        "BRIDGE=%s" % bridge,
        "-e",
        "MAC=%s" % mac,
        "-e",
        "ADDR=%s/%s" % (node["guest_address"], node["guest_prefix"]),
        "-e",
        "GW=%s" % node["guest_gateway"],
    ]
    subprocess.run(["podman", "exec", *env, host, "sh", "-c", STANDIN_UP], check=True)
    subprocess.run(["podman", "exec", "-d", host, "ip", "netns", "exec", "q8s-standin", "python3", "-c", STANDIN_LISTEN], check=True, stdout=subprocess.DEVNULL)
    try:
        for _attempt in range(50):
            probe = "import socket; socket.create_connection(('%s', 22), timeout=1).close()" % node["guest_address"]
            if subprocess.run(["podman", "exec", host, "python3", "-c", probe], capture_output=True, check=False).returncode == 0:
                break
            time.sleep(0.2)
        yield
    finally:
        subprocess.run(["podman", "exec", host, "ip", "netns", "pids", "q8s-standin"], capture_output=True, check=False)
        subprocess.run(["podman", "exec", host, "sh", "-c", "kill $(ip netns pids q8s-standin) 2>/dev/null; ip netns del q8s-standin"], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arches", default=",".join(ARCHES), help="comma-separated, of %s" % ", ".join(ARCHES))
    args = parser.parse_args()
    arches = [a.strip() for a in args.arches.split(",") if a.strip()]
    if not arches or set(arches) - set(ARCHES):
        parser.error("--arches: pick from %s" % ", ".join(ARCHES))
    subprocess.run([str(ROOT / "tests" / "testbed" / "prepare.sh")], check=True, stdout=subprocess.DEVNULL)
    images = {"x86_64": ["amd64"], "aarch64": ["arm64"], "ppc64le": ["ppc64el", "host-ibm"], "s390x": ["s390x", "host-ibm"]}
    targets = ["host"] + sorted(set(t for a in arches for t in images[a]))
    subprocess.run([str(ROOT / "tests" / "testbed" / "build-images.sh"), *targets], check=True, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "bench.yml"
        data = spec(Path(tmp) / "state", arches)
        spec_file.write_text(yaml.safe_dump(data))
        try:
            playbook(spec_file, "provision.yml")
            playbook(spec_file, "hosts.yml", *BASE_IMAGE)
            hosts = json.loads((Path(tmp) / "state" / "hosts.json").read_text())["hosts"]
            results = {}
            for type_name in sorted(data["cluster_definition"]["worker"]):
                arch = arch_of(data, type_name)
                guest = "%s--%s-1" % (NAME, type_name)
                host = guest + "-host"
                runs = []
                for i in range(args.runs):
                    remove_guest(host, guest)
                    ssh_s, done_s, guest_s = boot_once(spec_file, host, hosts[host], *BASE_IMAGE, guest=guest)
                    runs.append((ssh_s, done_s, guest_s))
                    print(
                        "%-8s run %d: SSH after %.1f s, cloud-init done (playbook end) after %.1f s; the guest's own first boot %.1f s"
                        % (arch, i + 1, ssh_s, done_s, guest_s),
                        flush=True,
                    )
                results[arch] = tuple(statistics.median(r[k] for r in runs) for k in range(3))
            print()
            print("guest boot, host ready -> guest SSH (median of %d runs):" % args.runs)
            for arch, (ssh_s, done_s, guest_s) in sorted(results.items()):
                print("  %-8s SSH %6.1f s   done %6.1f s   (domain start -> cloud-init finished: %.1f s)" % (arch, ssh_s, done_s, guest_s))
            for arch in ARCHES[1:]:
                if "x86_64" in results and arch in results:
                    print("  ratio %s / x86_64 (SSH): %.2f" % (arch, results[arch][0] / results["x86_64"][0]))
            # The NAT path is the same for every architecture: measured on the x86_64 and
            # aarch64 guests only.
            nat_types = [t for t in sorted(data["cluster_definition"]["worker"]) if arch_of(data, t) in ("x86_64", "aarch64")]
            if not nat_types:
                return
            print()
            print("round trip added by the NAT path (TCP connects from %s-cp-0, median of 300 per target in 6 alternating rounds):" % NAME)
            hostvars = inventory(spec_file)["_meta"]["hostvars"]
            for type_name in nat_types:
                host = "%s--%s-1-host" % (NAME, type_name)
                node = {k: plain(v) for k, v in hostvars[host]["q8s_node"].items()}
                targets = {
                    "host": [hosts[host], 22],
                    "guest via host:2222": [hosts[host], 2222],
                    # port 22 of the guest's address is the host's own (not forwarded):
                    # a closed port reaches the guest, whose kernel answers with RST
                    "guest node address:9": [node["guest_address"], 9],
                }
                rtt = nat_rounds("%s--cp-0" % NAME, targets, host, [node["guest_address"], 22])
                for name in targets:
                    added = "" if name == "host" else "   +%.3f ms (the emulated guest's answer included)" % (rtt[name] - rtt["host"])
                    print("  %-10s emulated guest %-24s %.3f ms%s" % (type_name, name, rtt[name], added))
                print(
                    "  %-10s emulated guest %-24s %.3f ms   (its host to it over the bridge, no NAT)"
                    % (type_name, "from its own host", rtt["guest from its host"])
                )
                # The NAT path itself: the guest's place taken by a native endpoint (a network
                # namespace on the same bridge, with the guest's address and MAC), so that the
                # same DNAT, forwarding and bridge hop are measured without an emulated kernel
                # answering at the end.
                guest = "%s--%s-1" % (NAME, type_name)
                with standin(host, guest, node):
                    targets = {
                        "host": [hosts[host], 22],
                        "via host:2222": [hosts[host], 2222],
                        "node address:9": [node["guest_address"], 9],
                    }
                    rtt = nat_rounds("%s--cp-0" % NAME, targets, host, [node["guest_address"], 22])
                for name in targets:
                    added = "" if name == "host" else "   added %.3f ms (goal: at most 0.2 ms)" % (rtt[name] - rtt["host"])
                    print("  %-10s native stand-in %-23s %.3f ms%s" % (type_name, name, rtt[name], added))
        finally:
            playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")


if __name__ == "__main__":
    main()
