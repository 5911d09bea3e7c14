"""Golden image benchmark: guest ready with the golden image vs installing at first boot.

    .venv/bin/python tests/bench/golden_bench.py

With the local provider (cluster "goldbench": one x86_64 and one aarch64 host, as
examples/local.yml), per architecture, same base image, same host, one after the other:

- baseline, the upstream way: the base image (its firmware and boot loader) and a seed
  whose cloud-init installs the packages at first boot (`packages`: Debian's containerd,
  runc, conntrack, socat, ebtables, ethtool); ready when cloud-init has finished;
- golden: playbooks/golden_images.yml builds the image once (its time is printed, not part
  of the ratio), then the guest boots from it as guests.yml does by default: its kernel
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

import json
import re
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


def main():
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
        first_boot = json.dumps({"emulated_worker_cloud_config": {"package_update": True, "packages": PACKAGES}})
        try:
            playbook(spec_file, "provision.yml")
            playbook(spec_file, "hosts.yml", *common)
            hosts = json.loads((tmp / "state" / "hosts.json").read_text())["hosts"]
            pairs = []
            for type_name in sorted(data["cluster_definition"]["worker"]):
                guest = "goldbench-%s-1" % type_name
                pairs.append((data["vm_types"][type_name]["architecture"], guest, guest + "-host"))
            baseline = {}
            for arch, guest, host in pairs:
                remove_guest(host, guest)
                baseline[arch] = boot_once(spec_file, host, hosts[host], "-e", first_boot, *common, guest=guest)
                assert_packages(tmp / "state", data["guest_user"], hosts[host], "%s baseline" % arch)
                print(
                    "%-8s baseline (packages installed at first boot): guest ready after %.1f s, guests.yml %.1f s"
                    % (arch, baseline[arch][2], baseline[arch][1]),
                    flush=True,
                )
                remove_guest(host, guest)
            t0 = time.monotonic()
            playbook(spec_file, "golden_images.yml", *common)
            print("golden images built (both architectures, once): %.1f s" % (time.monotonic() - t0), flush=True)
            for _arch, _guest, host in pairs:
                left = subprocess.run(["podman", "exec", host, "virsh", "list", "--all", "--name"], capture_output=True, text=True, check=True).stdout.split()
                files = subprocess.run(
                    [
                        "podman",
                        "exec",
                        host,
                        "find",
                        "/var/lib/libvirt/images/q8s",
                        "/var/lib/q8s/golden",
                        "/var/lib/q8s/guests",
                        "-mindepth",
                        "1",
                        "-name",
                        "*golden*",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.split()
                if [n for n in left if "golden" in n] or files:
                    raise SystemExit("golden_images.yml left its builder behind on %s: %s" % (host, " ".join(left + files)))
            rerun = playbook(spec_file, "golden_images.yml", *common)
            if re.search(r"changed=[1-9]", rerun):
                raise SystemExit("golden_images.yml rerun changed something:\n%s" % rerun[-3000:])
            print("golden_images.yml rerun: manifests current, changed=0", flush=True)
            golden = {}
            for arch, guest, host in pairs:
                remove_guest(host, guest)
                golden[arch] = boot_once(spec_file, host, hosts[host], *common, guest=guest)
                assert_packages(tmp / "state", data["guest_user"], hosts[host], "%s golden" % arch)
                fast = subprocess.run(
                    ["podman", "exec", host, "grep", "-c", "q8s-firstboot: ready", CONSOLE % guest], capture_output=True, text=True, check=False
                )
                if fast.stdout.strip() in ("", "0"):
                    raise SystemExit("%s golden: the guest did not boot through q8s-firstboot" % arch)
                print("%-8s golden image: guest ready after %.1f s, guests.yml %.1f s" % (arch, golden[arch][2], golden[arch][1]), flush=True)
            print()
            print("guest ready (domain start -> first boot done, packages present): first-boot install vs golden image")
            for arch, _guest, _host in pairs:
                print(
                    "  %-8s baseline %7.1f s   golden %6.1f s   ratio %.1fx (goal: at least 5x)"
                    % (arch, baseline[arch][2], golden[arch][2], baseline[arch][2] / golden[arch][2])
                )
            print("the whole guests.yml run (Ansible's tasks and waits included, the same on both sides):")
            for arch, _guest, _host in pairs:
                print(
                    "  %-8s baseline %7.1f s   golden %6.1f s   playbook ratio %.1fx"
                    % (arch, baseline[arch][1], golden[arch][1], baseline[arch][1] / golden[arch][1])
                )
        finally:
            playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")


if __name__ == "__main__":
    main()
