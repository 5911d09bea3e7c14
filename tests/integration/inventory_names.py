"""Node names as the q8s inventory plugin makes them from a spec: tests take them from
here, never type them (the naming scheme belongs to plugins/module_utils)."""

import subprocess
import sys
from pathlib import Path

import inventory_json

ROOT = Path(__file__).resolve().parents[2]


def inventory(env, spec):
    """`ansible-inventory --list` of a spec, as a dict."""
    cmd = [str(Path(sys.executable).with_name("ansible-inventory")), "--list", "-e", "@" + str(spec)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return inventory_json.loads(proc.stdout)


class Names:
    """The groups and hostvars of a spec's inventory."""

    def __init__(self, env, spec):
        inv = inventory(env, spec)
        self.hostvars = inv["_meta"]["hostvars"]
        self.groups = {g: v.get("hosts", []) for g, v in inv.items() if g != "_meta"}

    def group(self, name):
        return list(self.groups.get(name, []))

    @property
    def initial(self):
        return self.group("q8s_control_plane_initial")[0]

    @property
    def control_planes(self):
        return self.group("q8s_control_plane")

    @property
    def qemu_hosts(self):
        return self.group("q8s_qemu_hosts")

    def hosts_of_type(self, vm_type):
        return [h for h in self.qemu_hosts if self.hostvars[h]["q8s_node"]["vm_type"] == vm_type]

    def guest(self, host):
        return self.hostvars[host]["q8s_node"]["guest"]
