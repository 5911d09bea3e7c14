"""Golden image benchmark: guest ready with the golden image vs installing at first boot.

    .venv/bin/python tests/bench/golden_bench.py [--runs 3] [--arches x86_64,aarch64] [--ways baseline,golden]

With the local provider (cluster "goldbench": one x86_64 and one aarch64 host, as
examples/local.yml; --arches ppc64le,s390x adds guest_boot_bench.py's POWER9 and s390x types
on hosts with the IBM emulators, whose test bed images have no boot loader, so the builder
and every guest boot the image's kernel directly), per architecture, same base image, same
host, one guest at a time, the two ways alternating, --runs times each (medians reported):

- baseline, the upstream way: the base image (its firmware and boot loader) and a seed
  whose cloud-init installs the packages at first boot (`packages`: Debian's containerd,
  runc, conntrack, socat, ebtables, ethtool); ready when cloud-init has finished;
- golden: playbooks/golden_images.yml builds the images first, one architecture at a time
  (--limit its host and the control planes; --together: all in one run; each build's time
  is printed, not part of the ratio), then checks them
  as tests/local/test_golden.py does: the manifest names image, kernel and initrd with
  checksums that match the fetched files, the kernel is one the architecture's machine
  boots directly (x86 bzImage, arm64 Image, the ELF vmlinux of pseries, the s390 image), the
  builder left no domain or file behind, a rerun changes nothing; then the guest boots from
  it as guests.yml does by default: its kernel directly (the golden one, named in the
  domain), q8s-firstboot instead of cloud-init (not a line of cloud-init on its console);
  ready when q8s-firstboot says so (after the network and SSH are up).

--ways golden skips the baseline (its first-boot install is the slow part under TCG; the
base image's own boot is guest_boot_bench.py's figure). The load average is printed with
every figure.

Each guest is made by guests.yml. "Guest ready" is the guest's own first boot: from the
domain's start (libvirt's QEMU log) to its ready line on the serial console, both read
on the host's clock; the ratio baseline / golden of it is the result (goal: at least 5x).
The whole guests.yml run (Ansible's own tasks and waits included, the same on both sides)
is printed beside it. Both ways end with the packages in the guest (dpkg over SSH).
The Kubernetes packages are left out (q8s_kubernetes_skip_binaries=true): pkgs.k8s.io is
not reachable here. Guests fetch the Debian packages through their host's NAT.
"""

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from guest_boot_bench import ARCHES, CONSOLE, ROOT, arch_of, boot_once, playbook, remove_guest, spec

PACKAGES = ["containerd", "runc", "conntrack", "socat", "ebtables", "ethtool"]
WAYS = ("baseline", "golden")
# The test bed images each architecture needs (build-images.sh targets).
IMAGES = {"x86_64": ["amd64"], "aarch64": ["arm64"], "ppc64le": ["ppc64el", "host-ibm"], "s390x": ["s390x", "host-ibm"]}
# The s390 kernel image: its IPL PSW and two channel command words (file(1)'s "Linux S390").
S390_IPL = bytes.fromhex("0200001860000050" + "0200006860000050")


def kernel_arch(header):
    """The architecture whose machine boots this kernel file directly, from its first 0x210
    bytes: an x86 bzImage, an arm64 Image, a 64-bit little-endian PowerPC ELF (pseries loads
    the ELF vmlinux), an s390 image; None for anything else (a compressed vmlinuz, a ppc64
    zImage wrapper, an initrd)."""
    if header[0x202:0x206] == b"HdrS":
        return "x86_64"
    if header[0x38:0x3C] == b"ARM\x64":
        return "aarch64"
    if header[:6] == b"\x7fELF\x02\x01" and int.from_bytes(header[18:20], "little") == 21:
        return "ppc64le"
    if header[8:24] == S390_IPL:
        return "s390x"
    return None


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def check_manifest(golden_dir, arch, packages):
    """The golden manifest of `arch`: its image, kernel and initrd exist with the checksums it
    names, the kernel boots on the architecture's machine, the recipe has the packages, the
    command line names the root file system by UUID; returns the manifest."""
    found = sorted(Path(golden_dir).glob("golden-%s-k*.json" % arch))
    if len(found) != 1:
        raise SystemExit("%s: expected one golden manifest in %s, found %s" % (arch, golden_dir, [f.name for f in found]))
    manifest = json.loads(found[0].read_text())
    problems = []
    for label, item in (("image", manifest), ("kernel", manifest.get("kernel") or {}), ("initrd", manifest.get("initrd") or {})):
        source = item.get("source")
        if not source or not Path(source).is_file():
            problems.append("%s %s missing" % (label, source))
        elif sha256(source) != item.get("checksum"):
            problems.append("%s %s does not match its checksum %s" % (label, source, item.get("checksum")))
    if not problems:
        with open(manifest["kernel"]["source"], "rb") as handle:
            kind = kernel_arch(handle.read(0x210))
        if kind != arch:
            problems.append("kernel %s boots on %s, not %s" % (manifest["kernel"]["source"], kind, arch))
    if manifest.get("firstboot") is not True:
        problems.append("firstboot is %r" % manifest.get("firstboot"))
    if not re.match(r"^root=UUID=[0-9a-f-]+ ro$", manifest.get("cmdline", "")):
        problems.append("cmdline %r" % manifest.get("cmdline"))
    if (manifest.get("recipe") or {}).get("packages") != packages:
        problems.append("recipe packages %r" % (manifest.get("recipe") or {}).get("packages"))
    if problems:
        raise SystemExit("%s golden manifest %s: %s" % (arch, found[0], "; ".join(problems)))
    return manifest


def check_golden_boot(host, guest, arch):
    """The guest booted the golden kernel directly, with q8s-firstboot and without cloud-init."""
    xml = subprocess.run(["podman", "exec", host, "virsh", "dumpxml", guest], capture_output=True, text=True, check=True).stdout
    kernel = re.search(r"<kernel>([^<]*)</kernel>", xml)
    cmdline = re.search(r"<cmdline>([^<]*)</cmdline>", xml)
    console = subprocess.run(["podman", "exec", host, "cat", CONSOLE % guest], capture_output=True, text=True, check=False).stdout
    problems = []
    if not kernel or "-golden-%s-k" % arch not in kernel.group(1):
        problems.append("domain kernel %s is not the golden one" % (kernel.group(1) if kernel else None))
    if not cmdline or not {"q8s.firstboot", "cloud-init=disabled"} <= set(cmdline.group(1).split()):
        problems.append("cmdline %s" % (cmdline.group(1) if cmdline else None))
    if "q8s-firstboot: ready" not in console or "Cloud-init v." in console:
        problems.append("console: q8s-firstboot ready %s, cloud-init lines %s" % ("q8s-firstboot: ready" in console, "Cloud-init v." in console))
    if problems:
        raise SystemExit("%s golden guest %s: %s" % (arch, guest, "; ".join(problems)))


def load():
    """The 1-minute load average, as printed beside each figure."""
    return os.getloadavg()[0]


def assert_packages(state_dir, user, address, label, packages):
    """Both ways must end with the packages installed in the guest: ask dpkg over SSH."""
    cmd = ["ssh", "-i", str(state_dir / "id_ed25519"), "-p", "2222", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
    cmd += ["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "%s@%s" % (user, address)]
    cmd += ["dpkg-query -W -f '${Package} ${db:Status-Status}\\n' " + " ".join(packages)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    installed = {line.split()[0] for line in proc.stdout.splitlines() if line.endswith(" installed")}
    missing = sorted(set(packages) - installed)
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
    parser.add_argument("--arches", default="x86_64,aarch64", help="comma-separated, of %s (default x86_64,aarch64)" % ", ".join(ARCHES))
    parser.add_argument("--ways", default=",".join(WAYS), help="baseline,golden (default) or golden")
    parser.add_argument("--packages", default=",".join(PACKAGES), help="comma-separated Debian packages (default %(default)s)")
    parser.add_argument("--together", action="store_true", help="build every architecture's image in one run (in parallel), not one at a time")
    args = parser.parse_args()
    arches = [a.strip() for a in args.arches.split(",") if a.strip()]
    if not arches or set(arches) - set(ARCHES):
        parser.error("--arches: pick from %s" % ", ".join(ARCHES))
    ways_wanted = [w.strip() for w in args.ways.split(",") if w.strip()]
    if "golden" not in ways_wanted or set(ways_wanted) - set(WAYS):
        parser.error("--ways: baseline,golden or golden")
    packages = [p.strip() for p in args.packages.split(",") if p.strip()]
    subprocess.run([str(ROOT / "tests" / "testbed" / "prepare.sh")], check=True, stdout=subprocess.DEVNULL)
    targets = ["host"] + sorted(set(t for a in arches for t in IMAGES[a]))
    subprocess.run([str(ROOT / "tests" / "testbed" / "build-images.sh"), *targets], check=True, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = spec(tmp / "state", arches)
        data.update(cluster_name="goldbench", remote_ip_prefix="10.89.82.0/24")
        data["local"]["network"] = "q8s-goldbench"
        spec_file = tmp / "goldbench.yml"
        spec_file.write_text(yaml.safe_dump(data))
        golden_dir = tmp / "images"
        common = ["-e", "q8s_golden_dir=%s" % golden_dir, "-e", "q8s_kubernetes_skip_binaries=true", "-e", json.dumps({"q8s_golden_packages": packages})]
        # the upstream way: the spec's base image, cloud-init installs the packages
        ways = {
            "baseline": ["-e", "q8s_golden_use=false", "-e", json.dumps({"emulated_worker_cloud_config": {"package_update": True, "packages": packages}})],
            "golden": [],
        }
        ways = {way: extra for way, extra in ways.items() if way in ways_wanted}
        try:
            playbook(spec_file, "provision.yml")
            hosts = json.loads((tmp / "state" / "hosts.json").read_text())["hosts"]
            pairs = []
            for type_name in sorted(data["cluster_definition"]["worker"]):
                guest = "goldbench--%s-1" % type_name
                pairs.append((arch_of(data, type_name), guest, guest + "-host"))
            pairs.sort(key=lambda pair: ARCHES.index(pair[0]))
            # One architecture at a time (each builder has the machine to itself), or with
            # --together all in one run.
            for batch in [pairs] if args.together else [[pair] for pair in pairs]:
                t0, load0 = time.monotonic(), load()
                # the control planes too: golden_images.yml's hosts.yml sets them up (nat_bridge),
                # else the rerun below would be their first run and change them
                limit = ",".join([host for _arch, _guest, host in batch] + ["q8s_control_plane"])
                playbook(spec_file, "golden_images.yml", *common, "--limit", limit)
                names = " ".join(arch for arch, _guest, _host in batch)
                print("golden image %s built in %.1f s (not part of the ratio), load %.2f -> %.2f" % (names, time.monotonic() - t0, load0, load()), flush=True)
            for arch, _guest, host in pairs:
                left = builder_left(host)
                if left:
                    raise SystemExit("golden_images.yml left its builder behind on %s: %s" % (host, " ".join(left)))
                manifest = check_manifest(golden_dir, arch, packages)
                print(
                    "  manifest: image, kernel and initrd match their checksums; kernel %s boots on %s; %s"
                    % (Path(manifest["kernel"]["source"]).name, arch, manifest["cmdline"]),
                    flush=True,
                )
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
                        load0 = load()
                        _ssh_s, done_s, guest_s = boot_once(spec_file, host, hosts[host], *common, *extra, guest=guest)
                        assert_packages(tmp / "state", data["guest_user"], hosts[host], "%s %s" % (arch, way), packages)
                        console = subprocess.run(["podman", "exec", host, "cat", CONSOLE % guest], capture_output=True, text=True, check=False).stdout
                        if (way == "golden") != ("q8s-firstboot: ready" in console):
                            raise SystemExit("%s %s: booted the wrong way (q8s-firstboot is for golden guests only)" % (arch, way))
                        if way == "golden":
                            check_golden_boot(host, guest, arch)
                        times[way, arch].append((guest_s, done_s, load0, load()))
                        print(
                            "run %d %-8s %-8s guest ready after %6.1f s, guests.yml %6.1f s, load %.2f -> %.2f"
                            % (run, arch, way, guest_s, done_s, load0, load()),
                            flush=True,
                        )
            print()
            print("guest ready (domain start -> first boot done, packages present), median of %d: first-boot install vs golden image" % args.runs)
            for arch, _guest, _host in pairs:
                med = {way: statistics.median(t[0] for t in times[way, arch]) for way in ways}
                loads = [t[k] for way in ways for t in times[way, arch] for k in (2, 3)]
                ratio = "   ratio %.1fx (goal: at least 5x)" % (med["baseline"] / med["golden"]) if "baseline" in med else ""
                base = "baseline %7.1f s   " % med["baseline"] if "baseline" in med else ""
                print("  %-8s %sgolden %6.1f s%s   load %.2f-%.2f" % (arch, base, med["golden"], ratio, min(loads), max(loads)))
            print("the whole guests.yml run (Ansible's tasks and waits included, the same on both sides), median of %d:" % args.runs)
            for arch, _guest, _host in pairs:
                med = {way: statistics.median(t[1] for t in times[way, arch]) for way in ways}
                ratio = "   playbook ratio %.1fx" % (med["baseline"] / med["golden"]) if "baseline" in med else ""
                base = "baseline %7.1f s   " % med["baseline"] if "baseline" in med else ""
                print("  %-8s %sgolden %6.1f s%s" % (arch, base, med["golden"], ratio))
        finally:
            playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")


if __name__ == "__main__":
    main()
