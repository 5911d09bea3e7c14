"""First deploy benchmark: `make deploy` of examples/local.yml from empty caches, as a new
user would run it, up to every guest reachable over SSH; then the same command again with
nothing to do; then each guest's first boot through the fast path against the boot loader
and cloud-init.

    .venv/bin/python tests/bench/first_deploy_bench.py [--download] [--boot-runs 1]

Goals (issue 20): cold at most 6 minutes, the rerun at most 40 s. The spec is
examples/local.yml as a cluster of its own ("fdbench", podman network q8s-fdbench,
10.89.86.0/24, a temporary state directory), with its guest images in a temporary cache
(Q8S_CACHE) instead of /var/cache/q8s, which other runs share: scripts/deploy.sh
(`make deploy`) builds the guest disks, exports their kernels and initrds and checksums
everything there, then runs site.yml --skip-tags kubernetes (provision, QEMU hosts, guests:
the guests' SSH is checked from the controller through their hosts). Not cold: the podman
host images (shared, localhost/q8s-host:*; build-images.sh finds them) and, unless
--download, the Debian packages: the rootfs tarballs are linked from /var/cache/q8s/rootfs
(mmdebstrap's download and install, 2-14 minutes per tarball depending on the mirror and
the architecture, is the one step no project code shortens; --download includes it).

Each run's stage table (the phase_report callback's timing.json) is printed; the rerun's
shows where a run with nothing to do spends its time.

Then, per architecture and --boot-runs times, alternating: the guest removed and created
again with guests.yml, once with -e q8s_direct_boot=false (the image's boot loader and
cloud-init, as before the fast path) and once as the spec says (the exported kernel and
q8s-firstboot): the seconds from the domain's start (libvirt's QEMU log) to the ready line
on its serial console, and the whole guests.yml run. Then tears the cluster down. Needs
root and what `make deploy` needs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from guest_boot_bench import boot_once, remove_guest  # noqa: E402  pylint: disable=wrong-import-position

ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
NAME = "fdbench"
SHARED = "/var/cache/q8s"
GOAL_COLD_S = 360
GOAL_RERUN_S = 40


def spec(state_dir, cache):
    text = (ROOT / "examples" / "local.yml").read_text().replace("file://%s/" % SHARED, "file://%s/" % cache)
    data = yaml.safe_load(text)
    data.update(cluster_name=NAME, remote_ip_prefix="10.89.86.0/24", state_dir=str(state_dir), local={"network": "q8s-" + NAME})
    return data


def env(cache, report):
    return dict(
        os.environ,
        Q8S_CACHE=str(cache),
        Q8S_REPORT_DIR=str(report),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH="%s:%s" % (BIN, os.environ["PATH"]),
    )


def deploy(spec_file, cache, report):
    """scripts/deploy.sh (make deploy) up to the Kubernetes steps; (seconds, output)."""
    start = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "deploy.sh"), str(spec_file), "--skip-tags", "kubernetes"],
        cwd=ROOT,
        env=env(cache, report),
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - start
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit("make deploy failed after %.0f s:\n%s" % (took, out[-6000:]))
    return took, out


def stages(report):
    """(stage, seconds, slowest host) of the run's timing.json, slowest first."""
    data = json.loads((report / "timing.json").read_text())
    rows = sorted(data["stages"], key=lambda s: -s["duration_s"])
    return data["total_s"], [(s["stage"], s["duration_s"], s.get("slowest_host", "")) for s in rows]


def changed(out):
    """Sum of changed= over every PLAY RECAP line of the run."""
    total = 0
    for line in out.splitlines():
        if " changed=" in line and " ok=" in line:
            total += int(line.split(" changed=")[1].split()[0])
    return total


def build_log(out):
    return [line for line in out.splitlines() if line.startswith("[build ") or line.startswith("[prepare ")]


def print_run(label, took, out, report):
    total, rows = stages(report)
    print("%s: %.1f s (ansible-playbook %.1f s of it), changed=%d" % (label, took, total, changed(out)), flush=True)
    for line in build_log(out):
        print("    " + line)
    print("    slowest stages:")
    for name, secs, host in rows[:8]:
        print("    %7.1f s  %-70s %s" % (secs, name[:70], host))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download", action="store_true", help="build the rootfs tarballs too (needs the Debian mirror)")
    parser.add_argument("--boot-runs", type=int, default=1, help="boots per architecture and way (0: none)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster and the temporary directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="q8s-first-deploy-", dir="/var/tmp"))
    cache, state, report = tmp / "cache", tmp / "state", tmp / "report"
    (cache / "rootfs").mkdir(parents=True)
    if not args.download:
        for tar in Path(SHARED, "rootfs").glob("*.tar"):
            (cache / "rootfs" / tar.name).symlink_to(tar)
    spec_file = tmp / "fdbench.yml"
    data = spec(state, cache)
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False))
    print("first deploy of examples/local.yml as cluster %s, cache %s (rootfs %s)" % (NAME, cache, "downloaded" if args.download else "linked"))
    try:
        cold, out = deploy(spec_file, cache, report)
        print_run("cold (empty image cache and state)", cold, out, report)
        rerun, out = deploy(spec_file, cache, report)
        print_run("rerun (nothing to do)", rerun, out, report)
        print(
            "first deploy, every guest reachable over SSH in %.1f s cold (goal <= %d s: %s), rerun %.1f s (goal <= %d s: %s)"
            % (cold, GOAL_COLD_S, "met" if cold <= GOAL_COLD_S else "NOT met", rerun, GOAL_RERUN_S, "met" if rerun <= GOAL_RERUN_S else "NOT met"),
            flush=True,
        )
        if args.boot_runs > 0:
            hosts = json.loads((state / "hosts.json").read_text())["hosts"]
            results = {}
            for type_name in sorted(data["cluster_definition"]["worker"]):
                arch = data["vm_types"][type_name]["architecture"]
                guest = "%s--%s-1" % (NAME, type_name)
                host = guest + "-host"
                for i in range(args.boot_runs):
                    for way, extra in (("boot loader + cloud-init", ("-e", "q8s_direct_boot=false")), ("fast path", ())):
                        remove_guest(host, guest)
                        dummy, done_s, guest_s = boot_once(spec_file, host, hosts[host], *extra, guest=guest)
                        results.setdefault((arch, way), []).append((guest_s, done_s))
                        print("%-8s %-24s run %d: guest ready %.1f s after its start, guests.yml %.1f s" % (arch, way, i + 1, guest_s, done_s), flush=True)
            print()
            print("guest first boot, domain start -> ready line (median of %d):" % args.boot_runs)
            for arch in sorted({a for a, dummy in results}):
                slow = [statistics.median(r[k] for r in results[(arch, "boot loader + cloud-init")]) for k in (0, 1)]
                fast = [statistics.median(r[k] for r in results[(arch, "fast path")]) for k in (0, 1)]
                print(
                    "  %-8s boot loader + cloud-init %.1f s, fast path %.1f s: speed-up %.1fx (guests.yml %.1f vs %.1f s)"
                    % (arch, slow[0], fast[0], slow[0] / fast[0], slow[1], fast[1])
                )
    finally:
        if not args.keep:
            down = subprocess.run(
                [str(BIN / "ansible-playbook"), "playbooks/teardown.yml", "-e", "@%s" % spec_file, "-e", "q8s_teardown_confirm=true"],
                cwd=ROOT,
                env=env(cache, report),
                capture_output=True,
                text=True,
                check=False,
            )
            if down.returncode != 0:
                print("teardown failed:\n" + down.stdout[-3000:])
            subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
