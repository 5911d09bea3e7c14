"""roles/link_profile's host state on a QEMU host (Molecule link_profile): the guest's
domain, its profile file, and the qdiscs on its tap and ifb device.

TestApplied: the link carries the profile of the guest's vm type (q8s_node.vm_type_spec.network).
TestCleared: the profile was removed from the spec: no profile file, no q8s qdisc, no ifb.
verify.yml names the class that holds at each point of its sequence."""

import re

import pytest
from q8s_testinfra import htb_rates, ifb_name, load_yaml

ROLE = "link_profile"
NETEM_KEYS = ("latency_ms", "jitter_ms", "loss_percent")


@pytest.fixture(scope="module")
def node(var):
    return var("q8s_node")


@pytest.fixture(scope="module")
def guest(node):
    return node["guest"]


@pytest.fixture(scope="module")
def tap(host, guest):
    """The guest's tap (the first interface virsh lists)."""
    lines = host.check_output("virsh -c qemu:///system -q domiflist %s", guest).splitlines()
    assert lines, "%s has no interface" % guest
    return lines[0].split()[0]


@pytest.fixture(scope="module")
def profile(node):
    """The link profile of the guest's vm type (TestApplied needs one with bandwidth_mbit)."""
    profile = node["vm_type_spec"].get("network") or {}
    assert profile.get("bandwidth_mbit"), "these checks need a vm type with network.bandwidth_mbit"
    return profile


@pytest.fixture(scope="module")
def paths(role_var, guest):
    hook = load_yaml("roles", ROLE, "vars", "main.yml")["__link_profile_hook"]
    hook_dir = role_var(ROLE, "link_profile_hook_dir")
    return {
        "conf": "%s/%s.conf" % (role_var(ROLE, "link_profile_config_dir"), guest),
        "script": role_var(ROLE, "link_profile_script"),
        "hook": hook.replace("{{ link_profile_hook_dir }}", hook_dir),
    }


class Common:
    """Checks that hold with and without a profile."""

    def test_guest_domain_running(self, host, guest):
        assert host.check_output("virsh -c qemu:///system domstate %s", guest) == "running"

    def test_script_and_hook_installed(self, host, paths):
        for name in ("script", "hook"):
            installed = host.file(paths[name])
            assert installed.is_file, paths[name]
            assert (installed.user, installed.group, installed.mode) == ("root", "root", 0o755), paths[name]


class TestApplied(Common):
    def test_profile_file(self, host, paths, profile):
        conf = host.file(paths["conf"])
        assert (conf.user, conf.group, conf.mode) == ("root", "root", 0o644)
        values = dict(line.split("=", 1) for line in conf.content_string.splitlines() if line and not line.startswith("#"))
        assert float(values["BANDWIDTH_MBIT"]) == float(profile["bandwidth_mbit"])
        for key in NETEM_KEYS:
            assert float(values[key.upper()]) == float(profile.get(key, 0)), key

    def test_host_to_guest_shaped_on_the_tap(self, host, tap, profile):
        qdiscs = host.check_output("tc qdisc show dev %s", tap)
        assert re.search(r"^qdisc htb 1: root", qdiscs, re.M), qdiscs
        assert ("qdisc netem" in qdiscs) == any(profile.get(k) for k in NETEM_KEYS), qdiscs
        assert htb_rates(host.check_output("tc class show dev %s", tap)) == [profile["bandwidth_mbit"] * 1e6]

    def test_guest_to_host_redirected_to_the_ifb(self, host, tap, guest):
        assert re.search(r"^qdisc ingress ffff:", host.check_output("tc qdisc show dev %s", tap), re.M)
        assert "Redirect to device %s)" % ifb_name(guest) in host.check_output("tc filter show dev %s parent ffff:", tap)

    def test_guest_to_host_shaped_on_the_ifb(self, host, guest, profile):
        ifb = host.interface(ifb_name(guest))
        assert ifb.exists
        assert re.search(r"^qdisc htb 1: root", host.check_output("tc qdisc show dev %s", ifb.name), re.M)
        assert htb_rates(host.check_output("tc class show dev %s", ifb.name)) == [profile["bandwidth_mbit"] * 1e6]


class TestCleared(Common):
    def test_no_profile_file(self, host, paths):
        assert not host.file(paths["conf"]).exists

    def test_no_q8s_qdisc_on_the_tap(self, host, tap):
        qdiscs = host.check_output("tc qdisc show dev %s", tap)
        assert not re.search(r"^qdisc (htb|netem) 1: root|^qdisc ingress ffff:", qdiscs, re.M), qdiscs

    def test_no_ifb_device(self, host, guest):
        assert not host.interface(ifb_name(guest)).exists
