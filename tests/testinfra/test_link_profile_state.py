"""roles/link_profile's host state on a QEMU host (Molecule link_profile on a podman host,
link_profile_vm on a VM host whose kernel has netem): the guest's domain, its profile file,
and the qdiscs on its tap and ifb device, with the rate, delay and loss the profile asks.

TestApplied: the link carries the profile of the guest's vm type (q8s_node.vm_type_spec.network).
TestCleared: the profile was removed from the spec: no profile file, no q8s qdisc, no ifb.
verify.yml names the class that holds at each point of its sequence."""

import re

import pytest
from q8s_testinfra import htb_rates, ifb_name, load_yaml, netem_delays_ms, netem_losses

ROLE = "link_profile"
NETEM_KEYS = ("latency_ms", "jitter_ms", "loss_percent")


@pytest.fixture(scope="module")
def node(var):
    return var("q8s_node")


@pytest.fixture(scope="module")
def guest(node):
    return node["guest"]


@pytest.fixture(scope="module")
def virsh(role_var):
    """virsh on the role's libvirt connection (qemu:///system, or lxc:///system for the VM
    host's guest stand-in)."""
    return "virsh -c %s " % role_var(ROLE, "link_profile_libvirt_uri")


@pytest.fixture(scope="module")
def tap(host, guest, virsh):
    """The guest's tap (the first interface virsh lists)."""
    lines = host.check_output(virsh + "-q domiflist %s", guest).splitlines()
    assert lines, "%s has no interface" % guest
    return lines[0].split()[0]


@pytest.fixture(scope="module")
def profile(node):
    """The link profile of the guest's vm type."""
    profile = node["vm_type_spec"].get("network") or {}
    assert any(profile.get(k) for k in NETEM_KEYS + ("bandwidth_mbit",)), "these checks need a vm type with a link profile"
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


def delays(profile):
    return bool(profile.get("latency_ms") or profile.get("jitter_ms"))


def needs_ifb(profile):
    """Guest -> host is shaped (on the ifb) when the profile delays or limits the rate."""
    return delays(profile) or bool(profile.get("bandwidth_mbit"))


def check_shaping(host, dev, profile, direction):
    """The root qdisc of `dev`: htb at the profile's rate (netem below it), or netem alone.
    netem delays half the latency (each direction carries half); loss is applied once,
    host -> guest (direction "in")."""
    qdiscs = host.check_output("tc qdisc show dev %s", dev)
    loss = float(profile.get("loss_percent") or 0) if direction == "in" else 0.0
    netem = delays(profile) or loss > 0
    root = "htb" if profile.get("bandwidth_mbit") else "netem"
    assert re.search(r"^qdisc %s 1: root" % root, qdiscs, re.M), qdiscs
    if profile.get("bandwidth_mbit"):
        assert htb_rates(host.check_output("tc class show dev %s", dev)) == [profile["bandwidth_mbit"] * 1e6]
    if not netem:
        assert "qdisc netem" not in qdiscs, qdiscs
        return
    if delays(profile):
        assert netem_delays_ms(qdiscs) == [pytest.approx(float(profile.get("latency_ms") or 0) / 2, abs=0.01)], qdiscs
    assert netem_losses(qdiscs) == [pytest.approx(loss)], qdiscs


class Common:
    """Checks that hold with and without a profile."""

    def test_guest_domain_running(self, host, guest, virsh):
        assert host.check_output(virsh + "domstate %s", guest) == "running"

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
        assert float(values["BANDWIDTH_MBIT"]) == float(profile.get("bandwidth_mbit", 0))
        for key in NETEM_KEYS:
            assert float(values[key.upper()]) == float(profile.get(key, 0)), key

    def test_shaping_modules_loaded(self, host, profile):
        """Where the kernel loads modules (the VM host's Debian kernel), the ones the
        profile uses are loaded; a kernel without /proc/modules has everything built in."""
        if not host.file("/proc/modules").exists:
            pytest.skip("kernel %s has no loadable modules" % host.check_output("uname -r"))
        loaded = set(line.split()[0] for line in host.check_output("cat /proc/modules").splitlines())
        wanted = {"ifb", "act_mirred", "cls_u32"} if needs_ifb(profile) else set()
        wanted |= {"sch_htb"} if profile.get("bandwidth_mbit") else set()
        wanted |= {"sch_netem"} if delays(profile) or profile.get("loss_percent") else set()
        assert wanted <= loaded, sorted(wanted - loaded)

    def test_host_to_guest_shaped_on_the_tap(self, host, tap, profile):
        check_shaping(host, tap, profile, "in")

    def test_guest_to_host_redirected_to_the_ifb(self, host, tap, guest, profile):
        if not needs_ifb(profile):
            pytest.skip("a loss-only profile shapes host -> guest only")
        assert re.search(r"^qdisc ingress ffff:", host.check_output("tc qdisc show dev %s", tap), re.M)
        assert "Redirect to device %s)" % ifb_name(guest) in host.check_output("tc filter show dev %s parent ffff:", tap)

    def test_guest_to_host_shaped_on_the_ifb(self, host, guest, profile):
        ifb = host.interface(ifb_name(guest))
        assert ifb.exists is needs_ifb(profile)
        if ifb.exists:
            check_shaping(host, ifb.name, profile, "out")


class TestCleared(Common):
    def test_no_profile_file(self, host, paths):
        assert not host.file(paths["conf"]).exists

    def test_no_q8s_qdisc_on_the_tap(self, host, tap):
        qdiscs = host.check_output("tc qdisc show dev %s", tap)
        assert not re.search(r"^qdisc (htb|netem) 1: root|^qdisc ingress ffff:", qdiscs, re.M), qdiscs

    def test_no_ifb_device(self, host, guest):
        assert not host.interface(ifb_name(guest)).exists
