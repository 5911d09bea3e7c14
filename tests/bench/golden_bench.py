"""Golden image benchmark: guest ready with the golden image vs installing at first boot.

    .venv/bin/python tests/bench/golden_bench.py [--runs 3]

With the local provider (cluster "goldbench": one x86_64 and one aarch64 host, as
examples/local.yml), per architecture, same base image, same host, one guest at a time,
the two ways alternating, --runs times each (medians reported):

- baseline, the upstream way: the base image (its firmware and boot loader) and a seed
  whose cloud-init installs the packages at first boot (`packages`: Debian's containerd,
  runc, conntrack, socat, ebtables, ethtool); ready when cloud-init has finished;
- golden: playbooks/golden_images.yml builds the images first (the time is printed, not
  part of the ratio; a rerun must change nothing), then the guest boots from it as guests.yml does by default: its kernel
  directly, q8s-firstboot instead of cloud-init; ready when q8s-firstboot says so (after
  the network and SSH are up).

Each guest is made by guests.yml. "Guest ready" is the guest's own first boot: from the
domain's start (libvirt's QEMU log) to its ready line on the serial console, both read
on the host's clock; the ratio baseline / golden of it is the result (goal: at least 5x).
The whole guests.yml run (Ansible's own tasks and waits included, the same on both sides)
is printed beside it. Both ways end with the packages in the guest (dpkg over SSH).
The Kubernetes packages are left out (q8s_kubernetes_skip_binaries=true): pkgs.k8s.io is
not reachable here. Guests fetch the Debian packages through their host's NAT.
"""

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from guest_boot_bench import CONSOLE, ROOT, boot_once, playbook, remove_guest

PACKAGES = ["containerd", "runc", "conntrack", "socat", "ebtables", "ethtool"]


def assert_packages(state_dir, user, address, label):
    """Both ways must end with the packages installed in the guest: ask dpkg over SSH."""
    cmd = ["ssh", "-i", str(state_dir / "id_ed25519"), "-p", "2222", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
    cmd += ["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "%s@%s" % (user, address)]
    cmd += ["dpkg-query -W -f '${Package} ${db:Status-Status}\\n' " + " ".join(PACKAGES)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    installed = {line.split()[0] for line in proc.stdout.splitlines() if line.endswith(" installed")}
    missing = sorted(set(PACKAGES) - installed)
    if missing:
        raise SystemExit("%s: packages missing in the guest: %s (%s)" % (label, " ".join(missing), proc.stderr.strip()))


def builder_left(host):
    """What golden_images.yml's builder left on a host: domains, disks, exports."""
    names = subprocess.run(["podman", "exec", host, "virsh", "list", "--all", "--name"], capture_output=True, text=True, check=True).stdout.split()
    find = ["find", "/var/lib/libvirt/images/q8s", "/var/lib/q8s/golden", "/var/lib/q8s/guests", "-mindepth", "1", "-name", "*golden*"]
    files = subprocess.run(["podman", "exec", host, *find], capture_output=True, text=True, check=False).stdout.split()
    return [n for n in names if "golden" in n] + files


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="boots per way and architecture (default 3)")
    args = parser.parse_args()
    subprocess.run([str(ROOT / "tests" / "testbed" / "prepare.sh")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(ROOT / "tests" / "testbed" / "build-images.sh"), "host", "amd64", "arm64"], check=True, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = yaml.safe_load((ROOT / "examples" / "local.yml").read_text())
        data.update(cluster_name="goldbench", remote_ip_prefix="10.89.82.0/24", state_dir=str(tmp / "state"), local={"network": "q8s-goldbench"})
        spec_file = tmp / "goldbench.yml"
        spec_file.write_text(yaml.safe_dump(data))
        golden_dir = tmp / "images"
        common = ["-e", "q8s_golden_dir=%s" % golden_dir, "-e", "q8s_kubernetes_skip_binaries=true", "-e", json.dumps({"q8s_golden_packages": PACKAGES})]
        # the upstream way: the spec's base image, cloud-init installs the packages
        ways = {
            "baseline": ["-e", "q8s_golden_use=false", "-e", json.dumps({"emulated_worker_cloud_config": {"package_update": True, "packages": PACKAGES}})],
            "golden": [],
        }
        try:
            playbook(spec_file, "provision.yml")
            hosts = json.loads((tmp / "state" / "hosts.json").read_text())["hosts"]
            pairs = []
            for type_name in sorted(data["cluster_definition"]["worker"]):
                guest = "goldbench--%s-1" % type_name
                pairs.append((data["vm_types"][type_name]["architecture"], guest, guest + "-host"))
            t0 = time.monotonic()
            playbook(spec_file, "golden_images.yml", *common)
            print("golden images built (both architectures, once, not part of the ratio): %.1f s" % (time.monotonic() - t0), flush=True)
            for _arch, _guest, host in pairs:
                if builder_left(host):
                    raise SystemExit("golden_images.yml left its builder behind on %s: %s" % (host, " ".join(builder_left(host))))
            rerun = playbook(spec_file, "golden_images.yml", *common)
            if re.search(r"changed=[1-9]", rerun):
                raise SystemExit("golden_images.yml rerun changed something:\n%s" % rerun[-3000:])
            print("golden_images.yml rerun: manifests current, changed=0", flush=True)
            # Alternating, so that a slower or faster phase of the machine or the package
            # mirror weighs on both ways alike.
            times = {(way, arch): [] for way in ways for arch, _guest, _host in pairs}
            for run in range(1, args.runs + 1):
                for arch, guest, host in pairs:
                    for way, extra in ways.items():
                        remove_guest(host, guest)
                        _ssh_s, done_s, guest_s = boot_once(spec_file, host, hosts[host], *common, *extra, guest=guest)
                        assert_packages(tmp / "state", data["guest_user"], hosts[host], "%s %s" % (arch, way))
                        console = subprocess.run(["podman", "exec", host, "cat", CONSOLE % guest], capture_output=True, text=True, check=False).stdout
                        if (way == "golden") != ("q8s-firstboot: ready" in console):
                            raise SystemExit("%s %s: booted the wrong way (q8s-firstboot is for golden guests only)" % (arch, way))
                        times[way, arch].append((guest_s, done_s))
                        print("run %d %-8s %-8s guest ready after %6.1f s, guests.yml %6.1f s" % (run, arch, way, guest_s, done_s), flush=True)
            print()
            print("guest ready (domain start -> first boot done, packages present), median of %d: first-boot install vs golden image" % args.runs)
            for arch, _guest, _host in pairs:
                base, gold = (statistics.median(t[0] for t in times[way, arch]) for way in ("baseline", "golden"))
                print("  %-8s baseline %7.1f s   golden %6.1f s   ratio %.1fx (goal: at least 5x)" % (arch, base, gold, base / gold))
            print("the whole guests.yml run (Ansible's tasks and waits included, the same on both sides), median of %d:" % args.runs)
            for arch, _guest, _host in pairs:
                base, gold = (statistics.median(t[1] for t in times[way, arch]) for way in ("baseline", "golden"))
                print("  %-8s baseline %7.1f s   golden %6.1f s   playbook ratio %.1fx" % (arch, base, gold, base / gold))
        finally:
            playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")


if __name__ == "__main__":
    main()
