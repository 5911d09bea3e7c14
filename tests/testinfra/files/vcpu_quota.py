"""Print the CFS quota the kernel enforces on each vCPU thread of a guest's QEMU process.

    python3 vcpu_quota.py GUEST      ->  one line per vCPU thread: "<comm> <period_us> <quota_us>"

Reads /proc/<pid>/task/<tid>/cgroup (cgroup v1 "cpu" or v2) and the cgroup's own files,
so it shows what applies, not what libvirt was asked for."""

import os
import sys


def qemu_pid(guest):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                args = handle.read().split(b"\0")
        except OSError:
            continue
        if args and b"qemu-system" in args[0] and any(a.startswith(("guest=%s," % guest).encode()) for a in args):
            return pid
    raise SystemExit("no QEMU process of guest %s" % guest)


def cpu_cgroup(pid, tid):
    with open("/proc/%s/task/%s/cgroup" % (pid, tid)) as handle:
        for line in handle:
            dummy, controllers, path = line.rstrip("\n").split(":", 2)
            if "cpu" in controllers.split(","):
                return path
    return None


def main(guest):
    pid = qemu_pid(guest)
    for tid in sorted(os.listdir("/proc/%s/task" % pid), key=int):
        with open("/proc/%s/task/%s/comm" % (pid, tid)) as handle:
            comm = handle.read().strip()
        if not comm.startswith("CPU "):
            continue
        path = cpu_cgroup(pid, tid)
        # Inside a podman host the mount shows the container's own cgroup: find the
        # directory by its tail (libvirt's .../libvirt/vcpuN).
        tail = "/".join(path.split("/")[-2:])
        found = None
        for root in (entry[0] for entry in os.walk("/sys/fs/cgroup/cpu")):
            if root.endswith("/" + tail):
                found = root
                break
        if found is None:
            print("%s none -1" % comm.replace(" ", "_"))
            continue
        with open(os.path.join(found, "cpu.cfs_period_us")) as handle:
            period = handle.read().strip()
        with open(os.path.join(found, "cpu.cfs_quota_us")) as handle:
            quota = handle.read().strip()
        print("%s %s %s" % (comm.replace(" ", "_").replace("/", "_"), period, quota))


if __name__ == "__main__":
    main(sys.argv[1])
