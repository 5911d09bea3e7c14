"""missing_packages (module_utils/q8s_packages.py, the filter plugins/filter/q8s_packages.py): the roles skip apt when dpkg shows
every package installed, and must never skip it when one is not."""

import glob
import os
import subprocess

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.filter import q8s_packages as f
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_packages as p


@pytest.mark.parametrize(
    "output, wanted, missing",
    [
        ("ii  iptables\nii  libvirt-daemon-system\n", ["iptables", "libvirt-daemon-system"], []),
        ("hi  iptables\n", ["iptables"], []),  # held, installed
        ("", ["iptables"], ["iptables"]),  # dpkg does not know it (its message is on stderr)
        ("un  iptables\n", ["iptables"], ["iptables"]),  # known, never installed
        ("rc  iptables\n", ["iptables"], ["iptables"]),  # removed, its configuration left
        ("iU  iptables\n", ["iptables"], ["iptables"]),  # unpacked, not configured
        ("iF  iptables\n", ["iptables"], ["iptables"]),  # configuration failed
        ("iiR iptables\n", ["iptables"], ["iptables"]),  # needs a reinstall
        ("ii  libc6\n", ["libc6:amd64"], ["libc6:amd64"]),  # dpkg drops the architecture: apt decides
        ("ii  iptables\n", ["iptables=1.8.9-2"], ["iptables=1.8.9-2"]),  # a pin: apt decides
        ("ii  b\nii  a\n", ["c", "a", "b", "d"], ["c", "d"]),  # in the order given
        ("ii  iptables", [], []),
        (None, ["x"], ["x"]),
    ],
)
def test_missing_packages(output, wanted, missing):
    assert p.missing_packages(output, wanted) == missing


def test_the_format_is_dpkg_querys():
    """The roles pass DPKG_QUERY_FORMAT's text to dpkg-query; on this Debian machine a
    package that is installed (dpkg itself) reads as installed, an unknown one as missing."""
    out = subprocess.run(["dpkg-query", "-W", "-f=" + p.DPKG_QUERY_FORMAT, "dpkg", "q8s-no-such-package"], capture_output=True, text=True, check=False)
    assert out.returncode == 1
    assert p.missing_packages(out.stdout, ["dpkg", "q8s-no-such-package"]) == ["q8s-no-such-package"]


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUARDED = ["qemu_host", "nat_bridge", "link_profile", "api_lb"]


def tasks_of(role):
    for path in sorted(glob.glob(os.path.join(ROOT, "roles", role, "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            yield from yaml.safe_load(handle) or []


@pytest.mark.parametrize("role", GUARDED)
def test_the_roles_ask_dpkg_about_what_apt_installs(role):
    """Each role asks dpkg about the very list its apt task installs - with a command in
    the format the filter reads, or through host_state, which reads it the same way - and
    runs apt only when a package of that list is missing."""
    packages = "__%s_packages" % role
    tasks = list(tasks_of(role))
    commands = [t for t in tasks if "dpkg-query" in str(t.get("ansible.builtin.command", {}).get("argv", ""))]
    probes = [t for t in tasks if "q8s.cluster.host_state" in t]
    installs = [t for t in tasks if "ansible.builtin.apt" in t]
    assert len(commands + probes) == 1 and installs, role
    if commands:
        with open(os.path.join(ROOT, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
            assert yaml.safe_load(handle)["__%s_dpkg_format" % role] == p.DPKG_QUERY_FORMAT
        assert commands[0]["ansible.builtin.command"]["argv"] == "{{ ['dpkg-query', '-W', '-f=' ~ __%s_dpkg_format] + %s }}" % (role, packages)
        missing = "%s.stdout | q8s.cluster.missing_packages(%s) | length > 0" % (commands[0]["register"], packages)
    else:
        assert packages in probes[0]["q8s.cluster.host_state"]["packages"], role
        missing = "%s.missing_packages | length > 0" % probes[0]["register"]
    for task in installs:
        assert task["ansible.builtin.apt"]["name"] == "{{ %s }}" % packages, task["name"]
        when = task["when"] if isinstance(task["when"], list) else [task["when"]]
        assert missing in when, task["name"]


def test_the_filter_is_module_utils_function():
    assert f.FilterModule().filters()["missing_packages"] is p.missing_packages
