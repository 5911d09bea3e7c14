"""What a guest must show from inside to emulate its vm_type: the hardware check of the
suites that boot guests through the product (tests/e2e, tests/local). The expectations are
written here, apart from the product's own verify code, so that a wrong expectation there
cannot hide a wrong guest."""

import re

# One SSH command; its output is what assert_emulates reads.
PROBE = "hostname; uname -m; nproc; grep MemTotal /proc/meminfo; lsblk -bdno SIZE /dev/vda; cat /proc/cpuinfo"

# `uname -m` per spec architecture (with the spec's aliases).
UNAME = {"x86_64": "x86_64", "amd64": "x86_64", "arm_64": "aarch64", "arm64": "aarch64", "aarch64": "aarch64"}

# What /proc/cpuinfo shows of each CPU model the suites' specs name.
CPUINFO = {
    "EPYC-Rome": r"model name\s+: AMD EPYC-Rome",
    "cortex-a57": r"CPU part\s+: 0xd07",
}


def assert_emulates(guest, vm_type, output):
    """The PROBE output of `guest` matches its vm_type: name, architecture, vCPUs, memory
    (the guest kernel keeps some for itself), disk and CPU model."""
    lines = output.splitlines()
    assert lines[0] == guest, (guest, lines[0])
    assert lines[1] == UNAME[vm_type["architecture"]], (guest, lines[1])
    assert int(lines[2]) == vm_type["num_cpus"], (guest, lines[2])
    mem_mb = int(lines[3].split()[1]) / 1024
    assert 0.8 * vm_type["ram"] < mem_mb <= vm_type["ram"], (guest, mem_mb)
    assert int(lines[4]) == vm_type["storage"] * 1024**3, (guest, lines[4])
    cpuinfo = "\n".join(lines[5:])
    assert re.search(CPUINFO[vm_type["cpu_model"]], cpuinfo), (guest, cpuinfo[:500])
