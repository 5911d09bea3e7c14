"""The cluster spec: parsing, normalisation and validation."""

import os
import time

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_spec
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def valid():
    with open(os.path.join(ROOT, "examples", "cluster.yml")) as handle:
        return yaml.safe_load(handle)


class _UpstreamLoader(yaml.SafeLoader):
    pass


for _tag in q8s_spec.UPSTREAM_TAGS:
    _UpstreamLoader.add_constructor(_tag, lambda loader, node: loader.construct_mapping(node, deep=True))


def upstream():
    with open(os.path.join(HERE, "fixtures", "upstream-cluster.yaml")) as handle:
        return yaml.load(handle, Loader=_UpstreamLoader)  # noqa: S506 - SafeLoader subclass


_DELETE = object()


def mutate(spec, path, value):
    keys = path.split(".")
    node = spec
    for key in keys[:-1]:
        node = node[int(key) if isinstance(node, list) else key]
    last = int(keys[-1]) if isinstance(node, list) else keys[-1]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return spec


def test_example_normalises():
    spec, warnings = normalise(valid())
    assert spec["cluster_name"] == "demo"
    assert spec["vm_types"]["arm-mid"]["architecture"] == "aarch64"
    assert spec["vm_types"]["arm-mid"]["debian_arch"] == "arm64"
    assert spec["vm_types"]["x86-small"]["machine_model"] == "q35"
    assert spec["guest_pool"] == "100.64.0.0/24"
    assert spec["guest_gateway"] == "100.64.0.1"
    assert spec["host_network"] == "10.254.1.0/24"
    assert spec["cluster_security_group"] == "demo-cluster"
    assert spec["state_dir"] == "~/.q8s/demo"
    assert spec["vm_types"]["arm-mid"]["taints"] == [{"key": "example.com/emulated-arm", "effect": "PreferNoSchedule"}]
    assert spec["vm_types"]["x86-small"]["storage"] == 10
    assert warnings == []


def test_paper_example_normalises():
    with open(os.path.join(ROOT, "examples", "paper-50.yml")) as handle:
        spec = normalise(yaml.safe_load(handle))[0]
    assert spec["worker"] == {"x86-small": 30, "arm-mid": 20}
    assert spec["number_additional_master_nodes"] == 2


def test_upstream_file_is_accepted_unchanged():
    spec, warnings = normalise(upstream())
    assert spec["cluster_name"] == "q8s"
    assert spec["name_of_initial_instance"] == "q8s-master"
    assert spec["vm_types"]["arm-mid"]["architecture"] == "aarch64"
    # upstream's `virt` on x86 is replaced, with a warning; `q8s-cluster` is the cluster's own group
    assert spec["vm_types"]["x86-small"]["machine_model"] == "q35"
    assert spec["cluster_security_group"] == "q8s-cluster"
    assert spec["security_groups"] == []
    text = "\n".join(warnings)
    assert "git_url: ignored" in text
    assert "vm_types.x86-small.qemu_args: ignored" in text
    assert "vm_types.arm-mid.qemu-args: ignored" in text
    assert "machine_model" in text


def test_defaults_fill_new_fields():
    spec = normalise(upstream())[0]
    assert spec["kubernetes_version"] == q8s_spec.DEFAULT_KUBERNETES_VERSION
    assert spec["pod_network_cidr"] == "10.244.0.0/16"
    assert spec["service_cidr"] == "10.96.0.0/12"
    assert set(spec["guest_images"]) == {"x86_64", "aarch64"}
    assert spec["required_tcp_ports"][0] == 22


def test_storage_is_exact_and_machine_model_honoured():
    raw = valid()
    raw["vm_types"]["x86-small"]["machine_model"] = "pc-q35-7.2"
    raw["vm_types"]["x86-small"]["storage"] = 17
    spec = normalise(raw)[0]
    assert spec["vm_types"]["x86-small"]["machine_model"] == "pc-q35-7.2"
    assert spec["vm_types"]["x86-small"]["storage"] == 17


def test_new_fields_labels_taints_images():
    raw = valid()
    raw["guest_images"] = {"arm64": {"source": "/srv/images/arm.qcow2", "checksum": "sha256:" + "a" * 64}}
    raw["guest_address_pool"] = "172.31.7.0/24"
    spec = normalise(raw)[0]
    assert spec["guest_images"]["aarch64"] == {"source": "/srv/images/arm.qcow2", "checksum": "sha256:" + "a" * 64}
    assert spec["guest_pool"] == "172.31.7.0/24"
    assert spec["vm_types"]["x86-small"]["labels"] == {"example.com/tier": "small"}


def test_unused_type_warns_and_is_dropped():
    raw = valid()
    raw["vm_types"]["spare"] = dict(raw["vm_types"]["x86-small"])
    spec, warnings = normalise(raw)
    assert "spare" not in spec["vm_types"]
    assert any(w.startswith("vm_types.spare") for w in warnings)


def test_string_numbers_and_aliases():
    raw = valid()
    raw["vm_types"]["x86-small"]["ram"] = "4096"
    raw["vm_types"]["arm-mid"]["architecture"] = "arm64"
    spec = normalise(raw)[0]
    assert spec["vm_types"]["x86-small"]["ram"] == 4096
    assert spec["vm_types"]["arm-mid"]["architecture"] == "aarch64"


def test_network_profile_and_extended_resources():
    raw = valid()
    raw["vm_types"]["x86-small"]["network"] = {"latency_ms": 40, "jitter_ms": "5", "loss_percent": 0.5, "bandwidth_mbit": 100}
    raw["vm_types"]["x86-small"]["extended_resources"] = {"example.com/fpga": 2, "gpu.example.org/fake-gpu": "0"}
    spec = normalise(raw)[0]
    small = spec["vm_types"]["x86-small"]
    assert small["network"] == {"latency_ms": 40, "jitter_ms": 5, "loss_percent": 0.5, "bandwidth_mbit": 100}
    assert small["extended_resources"] == {"example.com/fpga": 2, "gpu.example.org/fake-gpu": 0}
    # unset (or null): no profile, no extended resources
    assert spec["vm_types"]["arm-mid"]["network"] is None
    assert spec["vm_types"]["arm-mid"]["extended_resources"] == {}
    raw["vm_types"]["x86-small"]["network"] = None
    raw["vm_types"]["x86-small"]["extended_resources"] = None
    small = normalise(raw)[0]["vm_types"]["x86-small"]
    assert small["network"] is None and small["extended_resources"] == {}


def test_network_profile_bandwidth_only():
    raw = valid()
    raw["vm_types"]["arm-mid"]["network"] = {"bandwidth_mbit": 2.5}
    assert normalise(raw)[0]["vm_types"]["arm-mid"]["network"] == {"bandwidth_mbit": 2.5}


def test_local_provider_needs_no_openstack_fields():
    raw = valid()
    for key in ("private_network_id", "default_image_name"):
        del raw[key]
    raw["provider"] = "local"
    del raw["cluster_definition"]["master_node_flavor"]
    spec = normalise(raw)[0]
    assert spec["provider"] == "local"
    assert spec["local"] == {"network": "q8s-demo", "qemu_host_image": "localhost/q8s-host:virt", "control_plane_image": "localhost/q8s-host:base"}
    assert normalise(valid())[0]["local"] is None


# (mutations, field path the message must name, a fragment of the message)
INVALID = [
    ({"cluster_name": "Demo_1"}, "cluster_name", "'demo-1'"),
    ({"bastion": {"user": "jump"}}, "bastion.host", "is required"),
    ({"bastion": {"host": "jump host"}}, "bastion.host", "DNS name or address"),
    ({"bastion": {"host": "203.0.113.10", "port": 70000}}, "bastion.port", "65535"),
    ({"bastion": {"host": "203.0.113.10", "usr": "jump"}}, "bastion.usr", "did you mean 'user'"),
    ({"bastion": "203.0.113.10"}, "bastion", "mapping"),
    ({"cluster_name": "x" * 31}, "cluster_name", "longer than 30"),
    ({"clustr_name": "demo"}, "clustr_name", "did you mean 'cluster_name'"),
    ({"kubernetes_version": 1.3}, "kubernetes_version", "quote it"),
    ({"kubernetes_version": "1.27.3"}, "kubernetes_version", "1.28.0 or newer"),
    ({"kubernetes_version": "latest"}, "kubernetes_version", "major.minor.patch"),
    ({"provider": "aws"}, "provider", "openstack or local"),
    ({"local": {"network": "q8s-x"}}, "local", "only used by the local provider"),
    ({"provider": "local", "local": {"netwrk": "x"}}, "local.netwrk", "did you mean 'network'"),
    ({"provider": "local", "local": {"network": "bad name"}}, "local.network", "podman network name"),
    ({"provider": "local", "bastion": {"host": "203.0.113.10"}}, "bastion", "not used by the local provider"),
    ({"remote_ip_prefix": "10.254.1.0/33"}, "remote_ip_prefix", "is not a CIDR"),
    ({"remote_ip_prefix": "10.254.1.7/24"}, "remote_ip_prefix", "10.254.1.0/24"),
    ({"remote_ip_prefix": _DELETE}, "remote_ip_prefix", "is required"),
    ({"remote_ip_prefix": "10.254.1.0/30"}, "remote_ip_prefix", "has room for 1 servers"),
    ({"guest_address_pool": "100.64.0.0/16"}, "guest_address_pool", "same prefix length"),
    ({"guest_address_pool": "10.254.1.0/24"}, "guest_address_pool", "overlaps remote_ip_prefix"),
    ({"pod_network_cidr": "10.254.0.0/16"}, "pod_network_cidr", "overlaps remote_ip_prefix"),
    ({"service_cidr": "10.244.0.0/16"}, "service_cidr", "overlaps pod_network_cidr"),
    ({"admin_cidr": "everyone"}, "admin_cidr", "is not a CIDR"),
    ({"private_network_id": _DELETE}, "private_network_id", "is required"),
    ({"default_image_name": _DELETE}, "default_image_name", "is required"),
    ({"required_tcp_ports": [22, 70000]}, "required_tcp_ports[1]", "at most 65535"),
    ({"required_udp_ports": "8472"}, "required_udp_ports", "list of port numbers"),
    ({"worker_port_range_min": 40000}, "worker_port_range_min", "swap"),
    ({"security_groups": "default"}, "security_groups", "list of security group names"),
    ({"guest_user": "root"}, "guest_user", "must not be root"),
    ({"host_ssh_user": "Ubuntu User"}, "host_ssh_user", "valid Linux user name"),
    ({"control_plane_endpoint": "https://vip:6443/"}, "control_plane_endpoint", "host[:port]"),
    ({"cluster_definition": _DELETE}, "cluster_definition", "is required"),
    ({"cluster_definition.master_node_flavor": _DELETE}, "cluster_definition.master_node_flavor", "is required"),
    ({"cluster_definition.number_additional_master_nodes": -1}, "cluster_definition.number_additional_master_nodes", "at least 0"),
    ({"cluster_definition.number_additional_master_nodes": "two"}, "cluster_definition.number_additional_master_nodes", "whole number"),
    ({"cluster_definition.worker.x86-smal": 1}, "cluster_definition.worker.x86-smal", "did you mean 'x86-small'"),
    ({"cluster_definition.worker": {"x86-small": 0, "arm-mid": 0}}, "cluster_definition.worker", "no worker"),
    ({"cluster_definition.worker.x86-small": -2}, "cluster_definition.worker.x86-small", "at least 0"),
    ({"cluster_definition.workers": {}}, "cluster_definition.workers", "did you mean 'worker'"),
    ({"vm_types": {}}, "vm_types", "no vm type"),
    ({"vm_types": ["x86-small"]}, "vm_types", "must be a mapping"),
    ({"vm_types.arm-mid.architecture": "riscv64"}, "vm_types.arm-mid.architecture", "x86_64, arm_64, ppc64le or s390x"),
    ({"vm_types.arm-mid.architecture": _DELETE}, "vm_types.arm-mid.architecture", "is required"),
    ({"vm_types.arm-mid.cpu_model": "EPYC-Rome"}, "vm_types.arm-mid.cpu_model", "is an x86_64 CPU model"),
    ({"vm_types.x86-small.cpu_model": "cortex-a72"}, "vm_types.x86-small.cpu_model", "change architecture to aarch64"),
    ({"vm_types.x86-small.cpu_model": "Epyc-rome"}, "vm_types.x86-small.cpu_model", "EPYC-Rome"),
    ({"vm_types.arm-mid.cpu_model": "cortex-a75"}, "vm_types.arm-mid.cpu_model", "cortex-a76"),
    ({"vm_types.x86-small.cpu_model": "host"}, "vm_types.x86-small.cpu_model", "TCG"),
    ({"vm_types.arm-mid.machine_model": "q35"}, "vm_types.arm-mid.machine_model", "virt"),
    ({"vm_types.x86-small.num_cpus": 0}, "vm_types.x86-small.num_cpus", "at least 1"),
    ({"vm_types.x86-small.ram": "2GB"}, "vm_types.x86-small.ram", "without quotes or units"),
    ({"vm_types.x86-small.ram": 128}, "vm_types.x86-small.ram", "at least 256"),
    ({"vm_types.x86-small.storage": 1}, "vm_types.x86-small.storage", "at least 3"),
    ({"vm_types.x86-small.storage": 10.5}, "vm_types.x86-small.storage", "whole number"),
    ({"vm_types.x86-small.openstack_flavor": _DELETE}, "vm_types.x86-small.openstack_flavor", "is required"),
    ({"vm_types.x86-small.cpu": 4}, "vm_types.x86-small.cpu", "did you mean 'cpu_model'"),
    ({"vm_types.x86-small.accel": "hvf"}, "vm_types.x86-small.accel", "tcg"),
    ({"vm_types.x86-small.labels": {"bad key!": "x"}}, "vm_types.x86-small.labels.bad key!", "label key"),
    ({"vm_types.x86-small.labels": {"tier": "a b"}}, "vm_types.x86-small.labels.tier", "label value"),
    ({"vm_types.arm-mid.taints": [{"key": "k", "effect": "NoSchedul"}]}, "vm_types.arm-mid.taints[0].effect", "NoSchedule"),
    ({"vm_types.arm-mid.taints": [{"effect": "NoSchedule"}]}, "vm_types.arm-mid.taints[0].key", "is required"),
    ({"vm_types.x86-small.network": {}}, "vm_types.x86-small.network", "set at least one"),
    ({"vm_types.x86-small.network": "wan"}, "vm_types.x86-small.network", "must be a mapping"),
    ({"vm_types.x86-small.network": {"latency": 10}}, "vm_types.x86-small.network.latency", "did you mean 'latency_ms'"),
    ({"vm_types.x86-small.network": {"latency_ms": -1}}, "vm_types.x86-small.network.latency_ms", "must not be negative"),
    ({"vm_types.x86-small.network": {"latency_ms": "20ms"}}, "vm_types.x86-small.network.latency_ms", "without quotes or units"),
    ({"vm_types.x86-small.network": {"latency_ms": True}}, "vm_types.x86-small.network.latency_ms", "must be a number"),
    ({"vm_types.x86-small.network": {"latency_ms": 20000}}, "vm_types.x86-small.network.latency_ms", "at most 10000"),
    ({"vm_types.x86-small.network": {"latency_ms": 10, "jitter_ms": 20}}, "vm_types.x86-small.network.jitter_ms", "larger than latency_ms"),
    ({"vm_types.x86-small.network": {"jitter_ms": 2}}, "vm_types.x86-small.network.jitter_ms", "raise latency_ms"),
    ({"vm_types.x86-small.network": {"loss_percent": 101}}, "vm_types.x86-small.network.loss_percent", "at most 100"),
    ({"vm_types.x86-small.network": {"bandwidth_mbit": 0}}, "vm_types.x86-small.network.bandwidth_mbit", "nothing through"),
    ({"vm_types.x86-small.extended_resources": ["fpga"]}, "vm_types.x86-small.extended_resources", "must be a mapping"),
    ({"vm_types.x86-small.extended_resources": {"fpga": 1}}, "vm_types.x86-small.extended_resources.fpga", "domain-prefixed"),
    ({"vm_types.x86-small.extended_resources": {"kubernetes.io/gpu": 1}}, "vm_types.x86-small.extended_resources.kubernetes.io/gpu", "reserves"),
    ({"vm_types.x86-small.extended_resources": {"nvidia.k8s.io/gpu": 1}}, "vm_types.x86-small.extended_resources.nvidia.k8s.io/gpu", "reserves"),
    ({"vm_types.x86-small.extended_resources": {"example.com/fpga": -1}}, "vm_types.x86-small.extended_resources.example.com/fpga", "at least 0"),
    ({"vm_types.x86-small.extended_resources": {"example.com/fpga": 1.5}}, "vm_types.x86-small.extended_resources.example.com/fpga", "whole number"),
    (
        {"vm_types.x86-small.extended_resources": {"a-very-long-domain.example.com/" + "x" * 30: 1}},
        "vm_types.x86-small.extended_resources.a-very-long-domain.example.com/" + "x" * 30,
        "too long",
    ),
    ({"guest_images": {"x86_64": {"source": "/img.qcow2", "checksum": "md5:abc"}}}, "guest_images.x86_64.checksum", "sha256"),
    ({"guest_images": {"x86_64": {"source": "/img.qcow2", "checksum": "sha256:abc"}}}, "guest_images.x86_64.checksum", "64 hex digits"),
    ({"guest_images": {"x86_64": {"checksum": "sha256:" + "0" * 64}}}, "guest_images.x86_64.source", "is required"),
    ({"guest_images": {"sparc": {}}}, "guest_images.sparc", "x86_64, aarch64, ppc64le or s390x"),
]


@pytest.mark.parametrize("mutations,field,fragment", INVALID, ids=[c[1] + ":" + c[2][:20] for c in INVALID])
def test_invalid_spec_names_the_field(mutations, field, fragment):
    raw = valid()
    for path, value in mutations.items():
        if "." in path and path.split(".")[0] in raw:
            mutate(raw, path, value)
        elif value is _DELETE:
            del raw[path]
        else:
            raw[path] = value
    start = time.monotonic()
    with pytest.raises(SpecError) as info:
        normalise(raw)
    assert time.monotonic() - start < 10, "validation must finish within 10 s"
    messages = info.value.errors
    matching = [m for m in messages if m.startswith(field + ":") or m.startswith(field + " ")]
    assert matching, "no message names %s: %s" % (field, messages)
    assert any(fragment in m for m in matching), matching
    assert all("Fix:" in m for m in messages)


def test_renamed_vm_type_is_reported_where_used():
    raw = valid()
    raw["vm_types"]["x86_small"] = raw["vm_types"].pop("x86-small")
    with pytest.raises(SpecError) as info:
        normalise(raw)
    text = str(info.value)
    assert "vm_types.x86_small" in text and "'x86-small'" in text


def test_hostname_too_long():
    raw = valid()
    raw["cluster_name"] = "c" * 30
    raw["vm_types"]["t" * 28] = raw["vm_types"].pop("x86-small")
    raw["cluster_definition"]["worker"] = {"t" * 28: 120}
    with pytest.raises(SpecError) as info:
        normalise(raw)
    assert "vm_types.%s" % ("t" * 28) in str(info.value)


def test_all_errors_reported_together():
    raw = valid()
    raw["cluster_name"] = "Bad_Name"
    raw["vm_types"]["x86-small"]["cpu_model"] = "cortex-a57"
    raw["vm_types"]["arm-mid"]["ram"] = "lots"
    raw["pod_network_cidr"] = "10.254.0.0/16"
    raw["colour"] = "blue"
    with pytest.raises(SpecError) as info:
        normalise(raw)
    errors = info.value.errors
    assert len(errors) == 5, errors
    assert str(info.value).startswith("cluster spec: 5 problems found, nothing was created:")


def test_not_a_mapping():
    with pytest.raises(SpecError) as info:
        normalise(["a", "list"])
    assert "(top level)" in str(info.value)


def test_is_spec():
    assert q8s_spec.is_spec(valid())
    assert not q8s_spec.is_spec({"q8s_teardown_confirm": True})
    assert not q8s_spec.is_spec("cluster_definition")


def test_public_guest_pool_warns():
    raw = valid()
    raw["guest_address_pool"] = "192.11.1.0/24"
    warnings = normalise(raw)[1]
    assert any("public address space" in w for w in warnings)


def test_topology_before_provisioning():
    spec = normalise(valid())[0]
    nodes = q8s_spec.topology(spec)
    names = [node[0] for node in nodes]
    assert names == [
        "demo--cp-0",
        "demo--arm-mid-1-host",
        "demo--arm-mid-1",
        "demo--x86-small-1-host",
        "demo--x86-small-1",
        "demo--x86-small-2-host",
        "demo--x86-small-2",
    ]
    by_name = dict((n, (g, v)) for n, g, v in nodes)
    groups, node = by_name["demo--arm-mid-1"]
    assert "q8s_arch_aarch64" in groups and "q8s_type_arm_mid" in groups and "q8s_emulated_workers" in groups
    assert node["qemu_host"] == "demo--arm-mid-1-host" and node["guest_address"] is None
    assert by_name["demo--cp-0"][1]["initial"] is True


def test_topology_with_addresses():
    spec = normalise(valid())[0]
    addresses = {"demo--cp-0": "10.254.1.10", "demo--x86-small-1-host": "10.254.1.21", "demo--x86-small-2-host": "10.254.1.254"}
    nodes = dict((node[0], node[2]) for node in q8s_spec.topology(spec, addresses))
    assert nodes["demo--x86-small-1"]["guest_address"] == "100.64.0.21"
    assert nodes["demo--x86-small-1-host"]["host_address"] == "10.254.1.21"
    assert nodes["demo--x86-small-2"]["guest_address"] == "100.64.0.254"
    assert nodes["demo--arm-mid-1"]["guest_address"] is None
    assert nodes["demo--x86-small-1"]["guest_gateway"] == "100.64.0.1"
    assert nodes["demo--x86-small-1"]["guest_prefix"] == 24


def test_adopted_initial_control_plane():
    spec = normalise(upstream())[0]
    nodes = q8s_spec.topology(spec)
    assert nodes[0][0] == "q8s-master" and nodes[0][2]["adopted"] is True
    assert nodes[1][0] == "q8s--cp-1" and "q8s_control_plane_extra" in nodes[1][1]


def test_plain_strips_subclasses():
    class Tagged(str):
        pass

    value = q8s_spec.plain({Tagged("a"): [Tagged("b"), True, 3]})
    assert value == {"a": ["b", True, 3]}
    assert list(value)[0].__class__ is str and value["a"][0].__class__ is str
