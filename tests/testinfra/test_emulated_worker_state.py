"""A QEMU host's state once playbooks/guests.yml has run roles/emulated_worker on it, with
qemu_host and nat_bridge from playbooks/hosts.yml (Molecule default and cpu_speed): the
guest's libvirt domain (running, started at boot, the architecture, machine, CPU model,
vCPUs, memory and emulator of its vm type), its disks, its directories and seed files with
their modes, QEMU running unprivileged, the guest network's MTU, nat_bridge's port forwards
to the guest, and the vCPU limit of the type's cpu_speed_percent where libvirt has the
cgroup CPU controller (Molecule cpu_speed).

What the guest sees from inside (its CPU, memory, disk, login) is checked over SSH by the
scenarios' verify.yml; so are the forwards' answers and the guests' speed."""

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from q8s_testinfra import ROOT, load_yaml, module_utils, render

ROLE = "emulated_worker"
ROLE_VARS = load_yaml("roles", ROLE, "vars", "main.yml")
# The guest's files, as the role names them (vars/main.yml), from these of its inputs.
PATH_INPUTS = ("emulated_worker_disk_dir", "emulated_worker_state_dir")
MIB = 1024 * 1024
CPU_SPEED = module_utils("q8s_cpu_speed")
# Prints "<vCPU thread> <period_us> <quota_us>" per vCPU thread of a guest: what the kernel applies.
with open(os.path.join(ROOT, "tests", "testinfra", "files", "vcpu_quota.py")) as _handle:
    VCPU_QUOTA = _handle.read()


@pytest.fixture(scope="module")
def node(var):
    # Every variable these tests read, in one Ansible call per host (role_var finds them fetched).
    names = {"q8s_node"}
    for role in (ROLE, "qemu_host", "nat_bridge"):
        names |= set(load_yaml("roles", role, "defaults", "main.yml"))
    var.load(sorted(names))
    return var("q8s_node")


@pytest.fixture(scope="module")
def spec(node):
    """The guest's vm type, the spec guests.yml passes to the role."""
    return node["vm_type_spec"]


@pytest.fixture(scope="module")
def virsh(role_var):
    return "virsh -c %s " % role_var(ROLE, "emulated_worker_libvirt_uri")


@pytest.fixture(scope="module")
def paths(role_var, node):
    """The guest's directories and files, keyed like the role's inputs and vars."""
    values = {name: role_var(ROLE, name) for name in PATH_INPUTS}
    values["emulated_worker_name"] = node["guest"]
    found = {name.removeprefix("emulated_worker_"): values[name] for name in PATH_INPUTS}
    for key in ("disk", "seed", "seed_dir", "spec_file"):
        found[key] = render(ROLE_VARS["__emulated_worker_" + key], values)
    return found


@pytest.fixture(scope="module")
def domain(host, virsh, node):
    """The guest's live domain XML."""
    return ET.fromstring(host.check_output(virsh + "dumpxml %s", node["guest"]))


def test_domain_running_and_started_at_boot(host, virsh, node):
    info = {}
    for line in host.check_output(virsh + "dominfo %s", node["guest"]).splitlines():
        key, _sep, value = line.partition(":")
        info[key.strip()] = value.strip()
    assert (info["State"], info["Autostart"]) == ("running", "enable")


def test_domain_has_the_vm_types_hardware(domain, spec):
    arch = ROLE_VARS["__emulated_worker_arch"][spec["architecture"]]
    os_type = domain.find("os/type")
    assert domain.get("type") == ("kvm" if spec.get("accel") == "kvm" else "qemu")
    assert os_type.get("arch") == spec["architecture"]
    # libvirt expands the machine alias to its versioned name (q35 -> pc-q35-7.2, virt -> virt-7.2).
    machine = spec.get("machine_model") or arch["machine"]
    assert re.fullmatch(r"(pc-)?%s(-[0-9.]+)?" % re.escape(machine), os_type.get("machine")), os_type.get("machine")
    assert domain.findtext("cpu/model") == spec["cpu_model"]
    assert domain.find("cpu").get("mode") == "custom"
    assert int(domain.findtext("vcpu")) == int(spec["num_cpus"])
    memory = domain.find("memory")
    assert int(memory.text) * {"KiB": 1024, "MiB": MIB}[memory.get("unit")] == int(spec["ram"]) * MIB
    assert domain.findtext("devices/emulator") == arch["emulator"]


def test_domain_disks_are_the_overlay_and_the_seed(domain, paths):
    disks = {d.find("target").get("dev"): d for d in domain.findall("devices/disk")}
    assert disks["vda"].find("source").get("file") == paths["disk"]
    assert disks["vda"].find("driver").get("type") == "qcow2"
    assert disks["vdb"].find("source").get("file") == paths["seed"]
    assert disks["vdb"].find("readonly") is not None


def test_guest_disk_is_an_overlay_of_the_requested_size(host, paths, spec, role_var):
    info = json.loads(host.check_output("qemu-img info -U --output=json %s", paths["disk"]))
    assert info["format"] == "qcow2"
    assert info["virtual-size"] == int(spec["storage"]) * 1024 * MIB
    # The base image stays in qemu_host's cache, never modified.
    assert info["backing-filename"].startswith(role_var("qemu_host", "qemu_host_image_dir") + "/")


@pytest.fixture(scope="module")
def owners(host, paths):
    """Path -> (user, group, mode) of the guest's directories and files and of the seed
    directory's files, in one command."""
    fmt = "%u %g %m %p\\n"
    found = host.check_output(
        "find %s %s %s %s %s -maxdepth 0 -printf %s; find %s -mindepth 1 -maxdepth 1 -printf %s",
        *(paths[key] for key in ("disk_dir", "state_dir", "seed_dir", "spec_file", "seed")),
        fmt,
        paths["seed_dir"],
        fmt,
    )
    out = {}
    for line in found.splitlines():
        user, group, mode, path = line.split(" ", 3)
        out[path] = (user, group, int(mode, 8))
    return out


@pytest.mark.parametrize(
    "key,mode",
    [("disk_dir", 0o711), ("state_dir", 0o700), ("seed_dir", 0o700), ("spec_file", 0o600), ("seed", None)],
)
def test_guest_files_owned_by_root_with_mode(owners, paths, key, mode):
    """The seed ISO has no mode of the role's: libvirt hands it to the QEMU user while the guest runs."""
    assert paths[key] in owners, "%s is missing" % paths[key]
    if mode is not None:
        user, group, found = owners[paths[key]]
        assert (user, group, oct(found)) == ("root", "root", oct(mode))


def test_seed_files_private(owners, paths):
    seed_files = {path.rsplit("/", 1)[1]: found for path, found in owners.items() if path.startswith(paths["seed_dir"] + "/")}
    assert {"meta-data", "user-data", "network-config"} <= set(seed_files)
    for name, (user, group, mode) in seed_files.items():
        assert (user, group, oct(mode)) == ("root", "root", oct(0o600)), name


def test_qemu_runs_as_the_unprivileged_user(host, spec, role_var):
    emulator = ROLE_VARS["__emulated_worker_arch"][spec["architecture"]]["emulator"]
    users = host.check_output("ps -o user= -C %s", emulator.rsplit("/", 1)[1]).split()
    assert users == [role_var("qemu_host", "qemu_host_qemu_user")]


def test_guest_interface_has_the_bridge_mtu(host, domain, var, role_var):
    bridge = role_var("nat_bridge", "nat_bridge_bridge_name")
    mtu = int(host.file("/sys/class/net/%s/mtu" % bridge).content_string)
    assert mtu == int(role_var("nat_bridge", "nat_bridge_mtu") or mtu)
    (interface,) = domain.findall("devices/interface")
    assert interface.find("source").get("network") == role_var(ROLE, "emulated_worker_network")
    assert int(interface.find("mtu").get("size")) == mtu


def test_live_rules_are_the_wanted_ones(host):
    """q8s-firewall compares the live q8s chains with its rules file."""
    assert host.run("/usr/local/sbin/q8s-firewall check").rc == 0


def test_host_forwards_ssh_to_the_guest(host, node, role_var):
    rules = host.iptables.rules("nat", "Q8S_PREROUTING")
    wanted = "--dport %s -j DNAT --to-destination %s:%s" % (
        role_var("nat_bridge", "nat_bridge_ssh_port"),
        node["guest_address"],
        role_var("nat_bridge", "nat_bridge_guest_ssh_port"),
    )
    assert [r for r in rules if r.startswith("-A Q8S_PREROUTING -d %s/32 " % node["host_address"]) and r.endswith(wanted)], rules


def test_vcpu_limit_is_the_vm_types_cpu_speed(host, virsh, node, spec):
    """libvirt's limit (live and in the definition) and the kernel's quota on each vCPU
    thread are the vm type's cpu_speed_percent (module_utils/q8s_cpu_speed.py)."""
    tune = CPU_SPEED.cputune(spec.get(CPU_SPEED.FIELD))
    for flag in ("--live", "--config"):
        found = host.run(virsh + "schedinfo %s " + flag, node["guest"])
        if found.rc != 0 and "cgroup CPU controller is not mounted" in found.stderr and tune["quota"] == CPU_SPEED.UNLIMITED:
            pytest.skip("no cgroup CPU controller for libvirt on this host, and no limit wanted")
        assert found.rc == 0, found.stderr
        assert CPU_SPEED.schedinfo_changes(found.stdout, tune) == [], (flag, found.stdout)
    threads = [line.split() for line in host.check_output("python3 -c %s %s", VCPU_QUOTA, node["guest"]).splitlines()]
    assert len(threads) == int(spec["num_cpus"]), threads
    assert {int(quota) for _thread, _period, quota in threads} == {tune["quota"]}
