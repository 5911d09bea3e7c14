"""Hostile and careless specs (issue 13): each is refused naming the field, in bounded time.

Three layers, each case asserting the field its message names and the time bound:
* spec data (what a YAML file parses to) through normalise();
* spec text through q8s_specfile, the plugin's own bounded reader;
* the real `ansible-inventory --list -e @spec.yml` under a 1 GB memory limit.
"""

import copy
import json
import os
import resource
import subprocess
import time

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_specfile
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise
from inventory_cases import ROOT, env

# Every spec, whatever it contains, is refused or inventoried within these.
TIME_BOUND = 10.0
MEMORY_BOUND_KB = 1024 * 1024

with open(os.path.join(ROOT, "examples", "cluster.yml")) as _handle:
    BASE_TEXT = _handle.read()
BASE = yaml.safe_load(BASE_TEXT)

_DELETE = object()


def apply(mutations):
    raw = copy.deepcopy(BASE)
    for path, value in mutations.items():
        keys = path.split("|")
        node = raw
        for key in keys[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value
    return raw


def refused(raw, field, fragment, open_to_world=False):
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        normalise(raw, open_to_world=open_to_world)
    elapsed = time.monotonic() - start
    assert elapsed < TIME_BOUND, "took %.1f s" % elapsed
    messages = info.value.errors
    matching = [m for m in messages if m.startswith(field + ":") or m.startswith(field + "[") or m.startswith(field + ".")]
    assert matching, "no message names %s: %s" % (field, messages)
    assert any(fragment in m for m in matching), matching
    for message in messages:
        assert "Fix:" in message, message
        problem, dummy, fix = message.partition("Fix:")
        shown = problem.rpartition("(got ")[2].rstrip(") .")
        # the fix never just repeats the bad value
        if shown and len(shown) > 4:
            assert fix.strip() != "use %s" % shown, message
    return messages


def selfref_list():
    groups = ["default"]
    groups.append(groups)
    return groups


def selfref_dict():
    labels = {"tier": "a"}
    labels["loop"] = labels
    return labels


def laughs(levels=10, width=10):
    value = ["lol"]
    for _level in range(levels):
        value = [value] * width
    return value


def nested(depth):
    value = "deep"
    for _level in range(depth):
        value = {"x": value}
    return value


X86 = "vm_types|x86-small|"
ARM = "vm_types|arm-mid|"

# (mutations, field the message must name, a fragment of it); "|" separates path keys.
DATA_CASES = [
    # --- Accepted, but wrong: cluster_name
    ({"cluster_name": ""}, "cluster_name", "is empty"),
    ({"cluster_name": None}, "cluster_name", "is empty"),
    ({"cluster_name": "   "}, "cluster_name", "is empty"),
    ({"cluster_name": "a" * 200}, "cluster_name", "longer than 30"),
    ({"cluster_name": "Demo" * 50}, "cluster_name", "longer than 30"),
    ({"cluster_name": "-demo"}, "cluster_name", "hostname-safe"),
    ({"cluster_name": "demo-"}, "cluster_name", "hostname-safe"),
    ({"cluster_name": "de mo"}, "cluster_name", "'de-mo'"),
    ({"cluster_name": 42.5}, "cluster_name", "hostname-safe"),
    ({"cluster_name": ["demo"]}, "cluster_name", "must be a string"),
    # --- machine_model: QEMU's names per architecture, nothing that breaks the XML
    ({X86 + "machine_model": "pc-q35-banana"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "q35' type='evil"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": 'q35"/><devices/><x a="'}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "q35&amp;"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "pc-q35-99.9"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "pc-q35-2.3"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "pc-i440fx-1.3"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "pc-q35-"}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "pc-q35-7.2 "}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({X86 + "machine_model": "Q35"}, "vm_types.x86-small.machine_model", "did you mean 'q35'"),
    ({X86 + "machine_model": "virt-9.2"}, "vm_types.x86-small.machine_model", "aarch64 machine"),
    ({X86 + "machine_model": 35}, "vm_types.x86-small.machine_model", "not a QEMU x86_64 machine"),
    ({ARM + "machine_model": "microvm"}, "vm_types.arm-mid.machine_model", "x86_64 machine"),
    ({ARM + "machine_model": "virt-2.5"}, "vm_types.arm-mid.machine_model", "not a QEMU aarch64 machine"),
    ({ARM + "machine_model": "virt-banana"}, "vm_types.arm-mid.machine_model", "not a QEMU aarch64 machine"),
    ({ARM + "machine_model": "pc-q35-7.2"}, "vm_types.arm-mid.machine_model", "x86_64 machine"),
    ({ARM + "machine_model": "virt;reboot"}, "vm_types.arm-mid.machine_model", "not a QEMU aarch64 machine"),
    # --- control_plane_endpoint
    ({"control_plane_endpoint": "10.0.0.5:99999"}, "control_plane_endpoint", "outside 1-65535"),
    ({"control_plane_endpoint": "10.0.0.5:0"}, "control_plane_endpoint", "outside 1-65535"),
    ({"control_plane_endpoint": "vip.example.com:65536"}, "control_plane_endpoint", "outside 1-65535"),
    ({"control_plane_endpoint": "10.0.0.5:"}, "control_plane_endpoint", "host[:port]"),
    ({"control_plane_endpoint": "10.0.0.5:6443:1"}, "control_plane_endpoint", "host[:port]"),
    ({"control_plane_endpoint": "vip'; reboot"}, "control_plane_endpoint", "host[:port]"),
    # --- state_dir: never a system directory, /tmp itself, or a relative path
    ({"state_dir": "/etc"}, "state_dir", "system or shared"),
    ({"state_dir": "/tmp"}, "state_dir", "system or shared"),
    ({"state_dir": "/tmp/"}, "state_dir", "system or shared"),
    ({"state_dir": "/tmp/./"}, "state_dir", "system or shared"),
    ({"state_dir": "//tmp"}, "state_dir", "system or shared"),
    ({"state_dir": "/"}, "state_dir", "system or shared"),
    ({"state_dir": "/etc/q8s"}, "state_dir", "system or shared"),
    ({"state_dir": "/usr/local/q8s"}, "state_dir", "system or shared"),
    ({"state_dir": "/var/tmp"}, "state_dir", "system or shared"),
    ({"state_dir": "/home"}, "state_dir", "system or shared"),
    ({"state_dir": "/root"}, "state_dir", "system or shared"),
    ({"state_dir": "/proc/self"}, "state_dir", "system or shared"),
    ({"state_dir": "~"}, "state_dir", "system or shared"),
    ({"state_dir": "~/"}, "state_dir", "system or shared"),
    ({"state_dir": "../../etc"}, "state_dir", "relative path"),
    ({"state_dir": "state"}, "state_dir", "relative path"),
    ({"state_dir": "~/../../etc"}, "state_dir", "'..'"),
    ({"state_dir": "/srv/q8s/../../etc"}, "state_dir", "'..'"),
    # --- admin_cidr open to the world needs the same opt-in as provisioning
    ({"admin_cidr": "0.0.0.0/0"}, "admin_cidr", "q8s_provision_open_to_world"),
    ({"admin_cidr": "0.0.0.0/1"}, "admin_cidr", "q8s_provision_open_to_world"),
    ({"admin_cidr": "128.0.0.0/2"}, "admin_cidr", "large part of the Internet"),
    # --- address plan: named fields, nothing dropped
    ({"remote_ip_prefix": "10.254.1.0/31"}, "remote_ip_prefix", "no room for servers"),
    ({"remote_ip_prefix": "10.254.1.1/32"}, "remote_ip_prefix", "no room for servers"),
    ({"guest_gateway_offset": 1000}, "guest_gateway_offset", "outside the guest pool"),
    ({"guest_gateway_offset": 255}, "guest_gateway_offset", "outside the guest pool"),
    ({"guest_gateway_offset": 0}, "guest_gateway_offset", "at least 1"),
    ({"guest_gateway_offset": "one"}, "guest_gateway_offset", "whole number"),
    ({"guest_address_pool": "100.64.0.0/31"}, "guest_address_pool", "no room for guests"),
    ({"guest_address_pool": "100.64.0.0/32"}, "guest_address_pool", "no room for guests"),
    # --- pod network against the node count
    ({"pod_network_cidr": "10.244.0.0/25"}, "pod_network_cidr", "smaller than the /24"),
    ({"pod_network_cidr": "10.244.0.0/30"}, "pod_network_cidr", "smaller than the /24"),
    ({"pod_network_cidr": "10.244.0.0/23"}, "pod_network_cidr", "holds 2 node networks"),
    (
        {"remote_ip_prefix": "10.0.0.0/16", "cluster_definition|worker": {"x86-small": 300, "arm-mid": 1}},
        "pod_network_cidr",
        "the default pod_network_cidr 10.244.0.0/16 holds 256",
    ),
    (
        {"remote_ip_prefix": "10.0.0.0/16", "pod_network_cidr": "10.244.0.0/20", "cluster_definition|worker": {"x86-small": 20, "arm-mid": 1}},
        "pod_network_cidr",
        "/19 or larger",
    ),
    # --- misleading messages
    ({"kubernetes_version": "2.0.0"}, "kubernetes_version", "not a Kubernetes 1.x release"),
    ({"kubernetes_version": "0.30.0"}, "kubernetes_version", "not a Kubernetes 1.x release"),
    ({"kubernetes_version": "v3.1.0"}, "kubernetes_version", "not a Kubernetes 1.x release"),
    ({"kubernetes_version": float("nan")}, "kubernetes_version", "YAML read it as a number"),
    ({X86 + "network": {"latency_ms": float("nan")}}, "vm_types.x86-small.network.latency_ms", "not-a-number (.nan)"),
    ({X86 + "network": {"loss_percent": float("nan")}}, "vm_types.x86-small.network.loss_percent", "not-a-number (.nan)"),
    ({X86 + "network": {"latency_ms": float("inf")}}, "vm_types.x86-small.network.latency_ms", "at most 10000"),
    ({X86 + "ram": float("nan")}, "vm_types.x86-small.ram", "(.nan)"),
    ({X86 + "num_cpus": float("inf")}, "vm_types.x86-small.num_cpus", "infinity"),
    ({X86 + "storage": 10.5}, "vm_types.x86-small.storage", "not a decimal number"),
    ({X86 + "cpu_model": "Cortex-A57"}, "vm_types.x86-small.cpu_model", "aarch64 CPU model ('cortex-a57')"),
    ({X86 + "cpu_model": "CORTEX-A72"}, "vm_types.x86-small.cpu_model", "change architecture to aarch64"),
    ({X86 + "cpu_model": "EPYC-ROME"}, "vm_types.x86-small.cpu_model", "write 'EPYC-Rome'"),
    ({X86 + "cpu_model": "cortex-a75"}, "vm_types.x86-small.cpu_model", "aarch64 model 'cortex-a76'"),
    ({X86 + "cpu_model": "skylake"}, "vm_types.x86-small.cpu_model", "Skylake"),
    ({X86 + "cpu_model": "HOST"}, "vm_types.x86-small.cpu_model", "TCG"),
    ({X86 + "cpu_model": "57"}, "vm_types.x86-small.cpu_model", "choose one such as EPYC-Rome"),
    ({ARM + "cpu_model": "epyc-rome"}, "vm_types.arm-mid.cpu_model", "x86_64 CPU model ('EPYC-Rome')"),
    ({ARM + "cpu_model": "Neoverse-N3"}, "vm_types.arm-mid.cpu_model", "neoverse-n"),
    ({ARM + "cpu_model": "Cortex-A57"}, "vm_types.arm-mid.cpu_model", "write 'cortex-a57'"),
    ({ARM + "cpu_model": "skylake-server"}, "vm_types.arm-mid.cpu_model", "x86_64 CPU model ('Skylake-Server')"),
    ({ARM + "cpu_model": "Skylake-Servr"}, "vm_types.arm-mid.cpu_model", "x86_64 model 'Skylake-Server'"),
    # --- names never collide
    ({"vm_types|cp": dict(BASE["vm_types"]["x86-small"]), "cluster_definition|worker|cp": 1}, "vm_types.cp", "reserved"),
    ({"vm_types|x86--small": dict(BASE["vm_types"]["x86-small"])}, "vm_types.x86--small", "'--'"),
    ({"cluster_name": "demo--2"}, "cluster_name", "'--'"),
    ({"name_of_initial_instance": "demo--x86-small-1-host"}, "name_of_initial_instance", "'--'"),
    ({"name_of_initial_instance": "demo--cp-0"}, "name_of_initial_instance", "'--'"),
    ({"name_of_initial_instance": "Master_1"}, "name_of_initial_instance", "'master-1'"),
    ({"name_of_initial_instance": ""}, "name_of_initial_instance", "create demo--cp-0"),
    ({"name_of_initial_instance": "  "}, "name_of_initial_instance", "is empty"),
    ({"name_of_initial_instance": "m" * 64}, "name_of_initial_instance", "longer than 63"),
    ({"vm_types|" + "t" * 64: dict(BASE["vm_types"]["x86-small"])}, "vm_types." + "t" * 64, "longer than 63"),
    # --- bounded cost of the data itself
    ({"cluster_definition|worker|x86-small": 100000, "remote_ip_prefix": "10.0.0.0/8"}, "cluster_definition.worker.x86-small", "at most 2048"),
    (
        {"cluster_definition|worker": {"x86-small": 1000, "arm-mid": 1000}, "remote_ip_prefix": "10.0.0.0/8"},
        "cluster_definition.worker",
        "makes 4001 nodes",
    ),
    ({"security_groups": selfref_list()}, "security_groups[1]", "contains itself"),
    ({X86 + "labels": selfref_dict()}, "vm_types.x86-small.labels.loop", "contains itself"),
    ({"security_groups": laughs()}, "security_groups", "more than 100000 values"),
    ({X86 + "labels": {"tier": laughs(6)}}, "vm_types.x86-small.labels.tier", "more than 100000 values"),
    ({"guest_images": nested(100)}, "guest_images", "nested more than 32"),
]


def _ids(cases):
    return ["%d-%s" % (i, c[1][:40]) for i, c in enumerate(cases)]


@pytest.mark.parametrize("mutations,field,fragment", DATA_CASES, ids=_ids(DATA_CASES))
def test_hostile_data_is_refused_naming_the_field(mutations, field, fragment):
    refused(apply(mutations), field, fragment)


def test_world_open_admin_cidr_with_the_opt_in():
    spec = normalise(apply({"admin_cidr": "0.0.0.0/0"}), open_to_world=True)[0]
    assert spec["admin_cidr"] == "0.0.0.0/0"


def test_address_plan_errors_keep_the_others():
    raw = apply({"guest_address_pool": "100.64.0.0/31", "guest_gateway_offset": 1000, "cluster_name": "Bad_Name", "colour": "blue"})
    messages = refused(raw, "guest_address_pool", "no room for guests")
    fields = sorted(m.partition(":")[0] for m in messages)
    assert fields == ["cluster_name", "colour", "guest_address_pool"], messages
    messages = refused(apply({"remote_ip_prefix": "10.254.1.0/32", "guest_gateway_offset": 1000, "colour": "blue"}), "remote_ip_prefix", "no room")
    assert sorted(m.partition(":")[0] for m in messages) == ["colour", "remote_ip_prefix"], messages
    messages = refused(apply({"guest_gateway_offset": 1000, "colour": "blue"}), "guest_gateway_offset", "use an offset from 1 to 254")
    assert len(messages) == 2, messages


def test_valid_machine_models_and_state_dirs_pass():
    for machine in ("q35", "pc", "microvm", "pc-q35-2.4", "pc-q35-7.2", "pc-i440fx-1.4", "pc-i440fx-9.2", "pc-q35-10.1"):
        assert normalise(apply({X86 + "machine_model": machine}))[0]["vm_types"]["x86-small"]["machine_model"] == machine
    for machine in ("virt", "virt-2.6", "virt-8.2", "virt-10.0"):
        assert normalise(apply({ARM + "machine_model": machine}))[0]["vm_types"]["arm-mid"]["machine_model"] == machine
    for state_dir in ("~/.q8s/demo", "/srv/q8s/demo", "/tmp/q8s-demo", "/var/lib/q8s/demo", "/home/me/q8s"):
        assert normalise(apply({"state_dir": state_dir}))[0]["state_dir"] == state_dir


def test_pod_network_sized_for_the_cluster_passes():
    raw = apply({"remote_ip_prefix": "10.0.0.0/16", "pod_network_cidr": "10.128.0.0/15", "cluster_definition|worker": {"x86-small": 300, "arm-mid": 1}})
    assert normalise(raw)[0]["pod_network_cidr"] == "10.128.0.0/15"


def test_node_cap_itself_passes():
    raw = apply({"remote_ip_prefix": "10.0.0.0/16", "pod_network_cidr": "10.128.0.0/12", "cluster_definition|worker": {"x86-small": 1023, "arm-mid": 999}})
    raw["cluster_definition"]["number_additional_master_nodes"] = 2
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        normalise(raw)
    assert "makes 4047 nodes" in str(info.value) and "at most 1022 workers" in str(info.value)
    raw["cluster_definition"]["worker"] = {"x86-small": 1000, "arm-mid": 22}
    spec = normalise(raw)[0]
    assert sum(spec["worker"].values()) * 2 + 3 == 2047
    assert time.monotonic() - start < TIME_BOUND


# --- spec text through the plugin's bounded reader

BOMB_ANCHORS = "\n".join(['xlol0: &l0 "lol"'] + ["xlol%d: &l%d [%s]" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10)) for i in range(1, 10)])
# The same ten levels inside the field itself.
BOMB_IN_FIELD = "security_groups:\n  - &l0 lol\n" + "\n".join("  - &l%d [%s]" % (i, ", ".join(["*l%d" % (i - 1)] * 10)) for i in range(1, 10))
MERGE_BOMB = "xm0: &m0 {k: v}\n" + "\n".join("xm%d: &m%d {<<: [%s], k%d: v}" % (i, i, ", ".join(["*m%d" % (i - 1)] * 10), i) for i in range(1, 10))


def text_with(extra):
    return BASE_TEXT.rstrip() + "\n" + extra + "\n"


TEXT_CASES = [
    # (spec text, field the message must name, fragment)
    (text_with(BOMB_ANCHORS + "\nsecurity_groups: *l9"), "xlol", "more than 100000 values"),
    (text_with(BOMB_IN_FIELD), "security_groups[", "more than 100000 values"),
    (text_with(MERGE_BOMB + "\nlocal: *m9"), "xm", "more than 100000 values"),
    (text_with("security_groups: &sg [default, *sg]"), "security_groups[1]", "contains itself"),
    (text_with("local: &loc {network: *loc}"), "local.network", "contains itself"),
    (text_with("cluster_name: other"), "cluster_name", "is given twice"),
    (BASE_TEXT.replace("    ram: 2048", "    ram: 2048\n    ram: 4096"), "vm_types.x86-small.ram", "is given twice"),
    (BASE_TEXT.replace("    x86-small: 2", "    x86-small: 2\n    x86-small: 3"), "cluster_definition.worker.x86-small", "is given twice"),
    (text_with("guest_images: " + "[" * 40 + "]" * 40), "(line", "nested more than 32"),
    (text_with("x: " + "{a: " * 40 + "b" + "}" * 40), "(line", "nested more than 32"),
    (text_with("# " + "x" * (1024 * 1024)), "(file)", "more than the 1048576"),
    (
        text_with("x-long: &s '" + "x" * 60000 + "'\n" + "x-many: &m [" + ", ".join(["*s"] * 100) + "]\nsecurity_groups: [" + ", ".join(["*m"] * 100) + "]"),
        "x-many",
        "characters of text",
    ),
    (text_with("---\ncluster_name: second"), "(file)", "not valid YAML"),
    (text_with("security_groups: [*nowhere]"), "(file)", "not valid YAML"),
    (text_with("security_groups: [default"), "(file)", "not valid YAML"),
]


def load_and_validate(text):
    data = q8s_specfile.load_text(text, "spec.yml")
    return normalise(data)


@pytest.mark.parametrize("text,field,fragment", TEXT_CASES, ids=_ids([(None, c[1], None) for c in TEXT_CASES]))
def test_hostile_text_is_refused_naming_the_field(text, field, fragment):
    start = time.monotonic()
    with pytest.raises((q8s_specfile.SpecFileError, SpecError)) as info:
        load_and_validate(text)
    assert time.monotonic() - start < TIME_BOUND
    messages = info.value.errors
    assert any(m.startswith(field) and fragment in m for m in messages), messages
    assert all("Fix:" in m for m in messages), messages


def test_reader_gives_plain_values_and_upstream_tags():
    data = q8s_specfile.load_text("a: !ClusterData {b: [1, 2.5, yes, null, '3']}\nc: &x {d: 1}\ne: {<<: *x, f: 2}\n")
    assert data == {"a": {"b": [1, 2.5, True, None, "3"]}, "c": {"d": 1}, "e": {"d": 1, "f": 2}}
    assert q8s_specfile.load_text(BASE_TEXT) == BASE


def test_many_aliases_within_the_bound_are_fine():
    text = text_with("security_groups: [&g default, *g, *g]")
    assert load_and_validate(text)[0]["security_groups"] == ["default", "default", "default"]


# --- the real command, as a user runs it


def inventory(spec_file, *extra):
    """ansible-inventory --list under a 1 GB address-space limit; (proc, seconds)."""
    limit = 'ulimit -v %d; exec "$@"' % MEMORY_BOUND_KB
    args = ["bash", "-c", limit, "inventory", "ansible-inventory", "--list", "-e", "@" + spec_file] + list(extra)
    start = time.monotonic()
    proc = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, check=False, timeout=120)
    return proc, time.monotonic() - start


# (spec text, what the output must say): the field named, or where Ansible's own loader stopped.
COMMAND_CASES = {
    "billion-laughs": (text_with(BOMB_ANCHORS + "\nsecurity_groups: *l9"), ["problem found, nothing was created", "  - xlol", "more than 100000 values"]),
    "billion-laughs-in-field": (text_with(BOMB_IN_FIELD), ["problem found, nothing was created", "  - security_groups[", "more than 100000 values"]),
    "merge-key-bomb": (text_with(MERGE_BOMB + "\nlocal: *m9"), ["q8s: line 48: YAML merge keys (<<) expand this mapping past 100000 keys"]),
    "self-reference": (text_with("security_groups: &sg [default, *sg]"), ["problem found", "  - security_groups[1]: ", "contains itself"]),
    "duplicate-key": (text_with("cluster_name: other"), ["problem found", "  - cluster_name: is given twice"]),
    "100000-workers": (
        BASE_TEXT.replace("    x86-small: 2", "    x86-small: 100000").replace("10.254.1.0/24", "10.0.0.0/8"),
        ["nothing was created", "  - cluster_definition.worker.x86-small: must be at most 2048 (got 100000)"],
    ),
}


@pytest.mark.parametrize("case", sorted(COMMAND_CASES))
def test_ansible_inventory_refuses_within_bounds(tmp_path, case):
    text, expected = COMMAND_CASES[case]
    spec_file = tmp_path / "spec.yml"
    spec_file.write_text(text)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc, elapsed = inventory(str(spec_file))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    # CPU time is the bound on a shared machine; wall time only guards against a hang.
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert cpu < TIME_BOUND, "used %.1f s of CPU" % cpu
    assert elapsed < 6 * TIME_BOUND, "took %.1f s" % elapsed
    for fragment in expected:
        assert fragment in out, (fragment, out[-3000:])
    assert "MemoryError" not in out and "recursion" not in out, out[-3000:]


def test_json_spec_is_read_by_the_same_reader(tmp_path):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(BASE))
    assert q8s_specfile.looks_like_spec(spec_file.read_text())
    proc, dummy = inventory(str(spec_file))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "demo--cp-0" in json.loads(proc.stdout)["q8s_control_plane"]["hosts"]


def test_other_extra_vars_files_are_not_parsed_as_the_spec(tmp_path):
    other = tmp_path / "other.yml"
    other.write_text("q8s_teardown_confirm: true\n" + "x: &a [1]\n")
    assert not q8s_specfile.looks_like_spec(other.read_text())
