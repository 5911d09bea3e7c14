"""Link profile benchmark: link_profile's figures measured on a kernel that has netem.

    .venv/bin/python tests/bench/link_profile_bench.py

Runs the Molecule scenario link_profile_vm with its full measurement set (NM_LP_FULL=1):
a QEMU/TCG guest of this machine booting Debian bookworm's own kernel is the QEMU host
(tests/testbed/vmhost.sh), a libvirt LXC domain inside it stands in for the emulated
guest, and from a peer node every profile is measured across the shaped path: latency
20 and 100 ms, jitter 10 ms on 50 ms, loss 5% and 20%, bandwidth 20 and 100 Mbit/s each
way, a combined degrade profile, partition and heal, a guest restart and a reboot of the
VM host, and the removal. Prints the table of configured / measured / allowed figures
(the one docs/emulation.md shows) and the scenario's duration; exits non-zero when a
figure is outside its band. Needs root and what the scenario needs (it builds the VM
host image when missing).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROW = re.compile(r"FIGURE \| (.+?) \| (.+?) \| (.+?) \| (.+?) \| (ok|FAIL)")


def main():
    env = dict(
        os.environ,
        NM_LP_FULL="1",
        COLUMNS="1000",  # one FIGURE row per line in molecule's output
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        PATH="%s:%s" % (BIN, os.environ["PATH"]),
    )
    argv = ["flock", "/tmp/q8s/molecule-link_profile_vm.lock", str(BIN / "molecule"), "test", "-s", "link_profile_vm"]
    Path("/tmp/q8s").mkdir(exist_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rows = []
    for line in proc.stdout:
        sys.stdout.write(line)
        m = ROW.search(line)
        if m:
            rows.append([g.strip() for g in m.groups()])
    rc = proc.wait()
    took = time.monotonic() - t0
    print("\nlink_profile on Debian's kernel (netem), measured from a peer across the shaped path")
    print("| what | configured | measured | allowed | |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print("| %s |" % " | ".join(row))
    print("link_profile scenario (full set): %d figures, %d outside their band, %.0f s, rc %d" % (len(rows), sum(r[4] != "ok" for r in rows), took, rc))
    return rc or int(any(r[4] != "ok" for r in rows))


if __name__ == "__main__":
    sys.exit(main())
