"""plugins/module_utils/q8s_verify.py: the comparison of what a cluster shows with its spec,
on facts recorded from the test bed's guests (tests/unit/fixtures/verify/) and on
Kubernetes node objects as kubectl prints them."""

import copy
import json
from pathlib import Path

import pytest

from ansible_collections.q8s.cluster.plugins.filter import q8s_verify as filters
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_verify as v

FIXTURES = Path(__file__).parent / "fixtures" / "verify"

X86 = {"architecture": "x86_64", "cpu_model": "EPYC-Rome", "num_cpus": 2, "ram": 1024, "storage": 4, "network": {"bandwidth_mbit": 40}}
ARM = {"architecture": "aarch64", "cpu_model": "cortex-a57", "num_cpus": 2, "ram": 1536, "storage": 5, "network": None}


def facts(name):
    return json.loads((FIXTURES / name).read_text())


def fields(mismatches):
    return [(m["node"], m["layer"], m["field"]) for m in mismatches]


def test_recorded_x86_guest_matches_its_spec():
    assert v.check_guest("g1", X86, facts("guest-x86_64.json")) == []


def test_recorded_aarch64_guest_matches_its_spec():
    assert v.check_guest("g2", ARM, facts("guest-aarch64.json")) == []


@pytest.mark.parametrize(
    "change, field",
    [
        ({"nproc": 1}, "num_cpus"),
        ({"uname_m": "aarch64"}, "architecture"),
        ({"memtotal_kb": 768 * 1024}, "ram"),
        ({"memtotal_kb": 1025 * 1024}, "ram"),
        ({"node_address": False}, "node_address"),
        ({"tc_qdiscs": [], "tc_classes": ""}, "link_profile"),
    ],
)
def test_each_changed_fact_is_one_mismatch_naming_node_layer_and_field(change, field):
    data = dict(facts("guest-x86_64.json"), **change)
    found = v.check_guest("g1", X86, data)
    assert [m["field"] for m in found] == [field]
    assert v.mismatch_line(found[0]).startswith("MISMATCH g1: layer ")


def test_disk_cpu_and_ssh():
    data = facts("guest-x86_64.json")
    data["lsblk"]["blockdevices"][0]["size"] = 5 * 1024**3
    data["cpuinfo"] = data["cpuinfo"].replace("EPYC-Rome", "EPYC-Milan")
    assert fields(v.check_guest("g1", X86, data)) == [("g1", "guest", "cpu_model"), ("g1", "guest", "storage")]
    assert fields(v.check_guest("g1", X86, {"ssh": False})) == [("g1", "guest", "ssh")]
    assert fields(v.check_guest("g1", X86, {"ssh": False, "host_error": "gone"})) == [("g1", "host", "qemu_host"), ("g1", "guest", "ssh")]


def test_memory_tolerance_measured_on_the_test_bed():
    # 1024 MiB x86_64 guest: MemTotal recorded in the fixture is within the range
    low, high = v.memory_range_mb(1024)
    mem = facts("guest-x86_64.json")["memtotal_kb"] / 1024
    assert low <= mem <= high
    assert v.memory_range_mb(1024)[0] == pytest.approx(1024 - 122.88)
    assert v.memory_range_mb(256)[0] == 256 - 64


def test_cpu_models_as_guests_report_them():
    assert v.cpu_matches("x86_64", "EPYC-Rome", "AMD EPYC-Rome Processor")
    assert v.cpu_matches("x86_64", "Skylake-Server-IBRS", "Intel Xeon Processor (Skylake, IBRS)")
    assert v.cpu_matches("x86_64", "SandyBridge", "Intel Xeon E312xx (Sandy Bridge)")
    assert v.cpu_matches("x86_64", "qemu64", "QEMU Virtual CPU version 2.5+")
    assert v.cpu_matches("x86_64", "Opteron_G5", "AMD Opteron 63xx class CPU")
    assert not v.cpu_matches("x86_64", "EPYC-Rome", "AMD EPYC-Milan Processor")
    assert not v.cpu_matches("x86_64", "Haswell", "QEMU Virtual CPU version 2.5+")
    assert v.cpu_matches("x86_64", "max", "anything at all")
    arm = v.reported_cpu("aarch64", facts("guest-aarch64.json")["cpuinfo"])
    assert arm.startswith("cortex-a57 ")
    assert v.cpu_matches("aarch64", "cortex-a57", arm)
    assert not v.cpu_matches("aarch64", "cortex-a72", arm)
    assert v.reported_cpu("aarch64", "CPU implementer\t: 0x99\nCPU part\t: 0x123\n") == "implementer 0x99, part 0x123"


def test_link_profile_from_tc_json():
    qdiscs = [
        {"kind": "htb", "handle": "1:", "root": True},
        {
            "kind": "netem",
            "handle": "10:",
            "parent": "1:1",
            "options": {"limit": 20000, "delay": {"delay": 0.01, "jitter": 0.002}, "loss-random": {"loss": 0.01}},
        },
    ]
    classes = "class htb 1:1 root leaf 10: prio 0 rate 40Mbit ceil 40Mbit burst 50000b cburst 50000b \n"
    assert v.tc_profile(qdiscs, classes) == {"latency_ms": 20.0, "jitter_ms": 4.0, "loss_percent": 1.0, "bandwidth_mbit": 40.0}
    assert v.tc_profile([{"kind": "fq_codel", "handle": "0:", "root": True}], "") == {}
    assert v.tc_profile([], "class htb 1:1 root prio 0 rate 500Kbit ceil 500Kbit burst 1600b cburst 1600b") == {"bandwidth_mbit": 0.5}
    assert v.profile_text({}) == "unshaped"
    assert v.profile_text({"latency_ms": 20, "jitter_ms": 4, "bandwidth_mbit": 40}) == "20 ms +/- 4, 40 Mbit/s"


def test_round_trip_against_the_configured_latency():
    spec = dict(X86, network={"latency_ms": 100})
    base = dict(facts("guest-x86_64.json"), tc_qdiscs=[{"kind": "netem", "options": {"delay": {"delay": 0.05}}}], tc_classes="")
    assert v.check_guest("g", spec, dict(base, rtt_ms=104.2)) == []
    assert fields(v.check_guest("g", spec, dict(base, rtt_ms=3.1))) == [("g", "network", "latency_ms")]
    assert fields(v.check_guest("g", spec, dict(base, rtt_ms=400))) == [("g", "network", "latency_ms")]
    assert fields(v.check_guest("g", X86, dict(facts("guest-x86_64.json"), bandwidth_mbit=12.0))) == [("g", "network", "bandwidth_mbit")]
    assert v.check_guest("g", X86, dict(facts("guest-x86_64.json"), bandwidth_mbit=37.5)) == []


def nodes_json():
    return json.loads((FIXTURES / "nodes.json").read_text())


EXPECTED = {
    "demo--cp-0": {"role": "control_plane"},
    "demo--x86-small-1": {
        "role": "guest",
        "vm_type": "x86-small",
        "spec": dict(
            X86,
            labels={"team": "sched"},
            taints=[{"key": "q8s.io/emulated", "value": "true", "effect": "NoSchedule"}],
            extended_resources={"example.com/fpga": 2},
        ),
    },
    "demo--arm-small-1": {"role": "guest", "vm_type": "arm-small", "spec": ARM},
}


def test_recorded_nodes_match():
    assert v.check_kubernetes(nodes_json(), EXPECTED) == []


def test_kubernetes_mismatches_name_node_and_field():
    data = nodes_json()
    x86 = next(n for n in data["items"] if n["metadata"]["name"] == "demo--x86-small-1")
    arm = next(n for n in data["items"] if n["metadata"]["name"] == "demo--arm-small-1")
    x86["status"]["conditions"][-1]["status"] = "False"
    del x86["metadata"]["labels"]["q8s.io/cpu-model"]
    x86["status"]["capacity"]["cpu"] = "1"
    x86["spec"]["taints"] = []
    del arm["spec"]["podCIDR"]
    arm["status"]["capacity"]["memory"] = "786432Ki"
    arm["spec"]["taints"] = [{"key": "q8s.io/flannel-pending", "value": "true", "effect": "NoExecute"}]
    data["items"] = [n for n in data["items"] if n["metadata"]["name"] != "demo--cp-0"]
    assert fields(v.check_kubernetes(data, EXPECTED)) == [
        ("demo--arm-small-1", "kubernetes", "podCIDR"),
        ("demo--arm-small-1", "kubernetes", "taints"),
        ("demo--arm-small-1", "kubernetes", "capacity memory"),
        ("demo--cp-0", "kubernetes", "registered"),
        ("demo--x86-small-1", "kubernetes", "Ready"),
        ("demo--x86-small-1", "kubernetes", "label q8s.io/cpu-model"),
        ("demo--x86-small-1", "kubernetes", "taint q8s.io/emulated=true:NoSchedule"),
        ("demo--x86-small-1", "kubernetes", "capacity cpu"),
    ]
    spec = copy.deepcopy(EXPECTED)
    spec["demo--x86-small-1"]["spec"]["extended_resources"] = {"example.com/fpga": 4}
    assert fields(v.check_kubernetes(nodes_json(), spec)) == [("demo--x86-small-1", "kubernetes", "capacity example.com/fpga")]


# Kubernetes' architecture names (GOARCH, the kubernetes.io/arch label) of the platforms
# Kubernetes builds its node binaries and images for.
GOARCH_NAMES = {"amd64", "arm64", "ppc64le", "s390x", "riscv64"}


def test_every_spec_architecture_has_one_kubernetes_name():
    """q8s_models.KUBERNETES_ARCH is the one home of the mapping: every architecture the spec
    accepts has a name there, each a GOARCH name, no two alike (riscv64 has one as soon as
    the spec accepts it)."""
    assert set(models.KUBERNETES_ARCH) == set(models.ARCHITECTURES)
    assert set(models.KUBERNETES_ARCH.values()) <= GOARCH_NAMES
    assert len(set(models.KUBERNETES_ARCH.values())) == len(models.KUBERNETES_ARCH)


@pytest.mark.parametrize(
    "spelling, goarch, uname",
    [
        ("x86_64", "amd64", "x86_64"),
        ("amd64", "amd64", "x86_64"),
        ("aarch64", "arm64", "aarch64"),
        ("arm_64", "arm64", "aarch64"),
        ("ppc64le", "ppc64le", "ppc64le"),
        ("ppc64el", "ppc64le", "ppc64le"),
        ("s390x", "s390x", "s390x"),
    ],
)
def test_workload_pod_per_architecture(spelling, goarch, uname):
    (pod,) = v.workload_pods([spelling])
    assert (pod["goarch"], pod["pod"], pod["uname"]) == (goarch, "q8s-verify-" + goarch, uname)
    overrides = json.loads(pod["overrides"])["spec"]
    assert overrides["nodeSelector"] == {"kubernetes.io/arch": goarch}
    assert overrides["tolerations"] == [{"operator": "Exists"}]


def test_workload_pods_one_per_architecture_and_unknown_ones_refused():
    pods = v.workload_pods(["x86_64", "aarch64", "x86_64", "s390x", "ppc64le"])
    assert [p["goarch"] for p in pods] == ["amd64", "arm64", "ppc64le", "s390x"]
    with pytest.raises(ValueError, match="riscv64"):
        v.workload_pods(["riscv64"])


def ran(node, printed):
    return {"pod": {"spec": {"nodeName": node}, "status": {"phase": "Succeeded"}}, "log": printed + "\n"}


def test_workload_pods():
    arches = ["x86_64", "aarch64", "ppc64le", "s390x"]
    results = {"amd64": ran("x", "x86_64"), "arm64": ran("a", "aarch64"), "ppc64le": ran("p", "ppc64le"), "s390x": ran("z", "s390x")}
    assert v.check_workload(results, arches) == []
    results["s390x"] = ran("z", "x86_64")
    results["arm64"] = {"pod": None, "log": None}
    results["ppc64le"] = {
        "pod": {
            "spec": {},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}]},
        },
        "log": None,
    }
    found = v.check_workload(results, arches)
    assert fields(found) == [
        ("pod q8s-verify-arm64", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=arm64)"),
        ("pod q8s-verify-ppc64le", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=ppc64le)"),
        ("z", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=s390x)"),
    ]
    assert [m["observed"] for m in found] == [
        "nothing printed (no pod object)",
        "nothing printed (pod Pending, not scheduled: 0/3 nodes are available)",
        "x86_64",
    ]
    del results["amd64"]
    assert fields(v.check_workload(results, ["x86_64"])) == [
        ("pod q8s-verify-amd64", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=amd64)")
    ]


def test_filters_wrap_the_decisions():
    data = facts("guest-x86_64.json")
    assert filters.verify_guest(data, "g1", X86) == []
    observed = filters.verify_observed(data, X86)
    assert observed["architecture"] == "x86_64" and observed["num_cpus"] == 2 and observed["disk_gb"] == 4.0
    assert observed["link"] == {"bandwidth_mbit": 40.0}
    assert filters.verify_lines([{"node": "n", "layer": "guest", "field": "ram", "expected": 1, "observed": 2}]) == [
        "MISMATCH n: layer guest, field ram: expected 1, observed 2"
    ]
    assert set(filters.FilterModule().filters()) == {
        "verify_guest_facts",
        "verify_guest",
        "verify_kubernetes",
        "verify_workload",
        "verify_workload_pods",
        "verify_lines",
        "verify_observed",
    }


def test_guest_facts_script_output_is_parsed():
    """guest-x86_64.out: what playbooks/files/q8s_guest_facts.sh printed on the recorded guest."""
    parsed = filters.verify_guest_facts((FIXTURES / "guest-x86_64.out").read_text())
    recorded = facts("guest-x86_64.json")
    assert parsed == {key: recorded[key] for key in ("ssh", "uname_m", "nproc", "memtotal_kb", "cpuinfo", "lsblk")}
    assert v.parse_guest_facts("== nproc\nnot a number\n== lsblk\n{broken") == {"ssh": True}
