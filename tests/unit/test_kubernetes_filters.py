"""The Kubernetes-layer decisions of plugins/filter/q8s_kubernetes.py."""

import tomllib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_kubernetes as k


@pytest.mark.parametrize(
    "version, tag",
    [
        ("1.30.5", "3.9"),
        ("1.31", "3.10"),
        ("v1.33.2", "3.10"),
        ("1.34.1", "3.10.1"),
        ("1.35", "3.10.1"),
        ("1.40", "3.10.1"),  # past the table: its last entry
        ("1.20", "3.9"),  # before it: its first
    ],
)
def test_pause_version_follows_kubeadm(version, tag):
    assert k.pause_version(version) == tag


def test_pause_image_uses_the_repository():
    assert k.pause_image("1.34.1") == "registry.k8s.io/pause:3.10.1"
    assert k.pause_image("1.31", "mirror.example:5000/k8s/") == "mirror.example:5000/k8s/pause:3.10"


@pytest.mark.parametrize("bad", ["latest", "1", "", "1.x"])
def test_pause_image_refuses_a_bad_version(bad):
    with pytest.raises(AnsibleFilterError, match="must look like 1.31"):
        k.pause_image(bad)


@pytest.mark.parametrize(
    "image, registry",
    [
        ("registry.k8s.io/pause:3.10", "registry.k8s.io"),
        ("ghcr.io/flannel-io/flannel:v0.27.4", "ghcr.io"),
        ("mirror:5000/x/y", "mirror:5000"),
        ("library/busybox", "docker.io"),
        ("busybox", "docker.io"),
        ("localhost/q8s", "localhost"),
    ],
)
def test_image_registry(image, registry):
    assert k.image_registry(image) == registry


def test_hosts_toml_lists_mirrors_then_upstream():
    text = k.containerd_hosts_toml("registry.k8s.io", ["https://m1.example:5000", {"url": "http://m2", "skip_verify": True}])
    data = tomllib.loads(text)
    assert data["server"] == "https://registry.k8s.io"
    assert list(data["host"]) == ["https://m1.example:5000", "http://m2"]
    assert data["host"]["https://m1.example:5000"]["capabilities"] == ["pull", "resolve"]
    assert data["host"]["http://m2"]["skip_verify"] is True


def test_hosts_toml_default_and_docker_hub():
    assert k.containerd_hosts_toml("_default", ["https://m"]) == '[host."https://m"]\ncapabilities = ["pull", "resolve"]\n'
    assert tomllib.loads(k.containerd_hosts_toml("docker.io", []))["server"] == "https://registry-1.docker.io"


@pytest.mark.parametrize("registry, mirrors", [("a/b", []), ("r", "https://m"), ("r", ["ftp://m"]), ("r", ["m:5000"])])
def test_hosts_toml_refuses_bad_input(registry, mirrors):
    with pytest.raises(AnsibleFilterError):
        k.containerd_hosts_toml(registry, mirrors)


def test_flannel_iface_default_is_the_default_route():
    assert k.flannel_iface_args("", with_guests=True, guest_iface="eth0") == []
    assert k.flannel_iface_args([], [], "eth0", True) == []


def test_flannel_iface_adds_the_guests_interface_only_with_guests():
    assert k.flannel_iface_args("ens3", guest_iface="eth0", with_guests=False) == ["--iface=ens3"]
    assert k.flannel_iface_args("ens3", guest_iface="eth0", with_guests=True) == ["--iface=ens3", "--iface=eth0"]
    assert k.flannel_iface_args(["eth0", "ens3"], guest_iface="eth0", with_guests=True) == ["--iface=eth0", "--iface=ens3"]
    assert k.flannel_iface_args("ens3,10.0.0.5", ["^enp"], "eth0", True) == ["--iface=ens3", "--iface=10.0.0.5", "--iface=eth0", "--iface-regex=^enp"]


def test_flannel_mtu():
    assert k.flannel_mtu(1450) == 1400
    assert k.flannel_mtu("1500", "host-gw") == 1500


@pytest.mark.parametrize(
    "setting, planes, want",
    [("auto", ["a"], False), ("auto", ["a", "b", "c"], True), (True, ["a"], True), ("false", ["a", "b"], False)],
)
def test_api_lb_enabled(setting, planes, want):
    assert k.api_lb_enabled(setting, planes) is want


def test_api_lb_enabled_refuses_nonsense():
    with pytest.raises(AnsibleFilterError, match="auto, true or false"):
        k.api_lb_enabled("maybe", [])


SETTINGS = {
    "kubernetes": True,
    "skip_binaries": False,
    "kubernetes_version": "1.34.1",
    "kubernetes_repo_key_url": "https://pkgs.k8s.io/core:/stable:/{minor}/deb/Release.key",
    "containerd_source": "distro",
    "docker_repo_key_url": "https://download.docker.com/linux/debian/gpg",
    "image_repositories": ["registry.k8s.io", "ghcr.io/flannel-io", "registry.k8s.io/coredns"],
    "registry_mirrors": {},
    "guest_images": {
        "x86_64": {"source": "https://cloud.debian.org/x.qcow2"},
        "aarch64": {"source": "/var/cache/q8s/arm.qcow2"},
    },
}


def test_required_sources_full_run():
    got = k.required_sources(SETTINGS)
    assert [(s["where"], s["url"]) for s in got] == [
        ("controller", "https://cloud.debian.org/x.qcow2"),
        ("nodes", "https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key"),
        ("nodes", "https://registry.k8s.io/v2/"),
        ("nodes", "https://ghcr.io/v2/"),
    ]
    assert "k8s_common_kubernetes_repo_url" in got[1]["fix"] and "--skip-tags kubernetes" in got[1]["fix"]
    assert "q8s_registry_mirrors" in got[2]["fix"]


def test_required_sources_without_kubernetes_or_binaries():
    assert [s["where"] for s in k.required_sources(dict(SETTINGS, kubernetes=False))] == ["controller"]
    urls = [s["url"] for s in k.required_sources(dict(SETTINGS, skip_binaries=True))]
    assert urls == ["https://cloud.debian.org/x.qcow2"]


def test_required_sources_follow_mirrors_and_docker():
    got = k.required_sources(dict(SETTINGS, containerd_source="docker", registry_mirrors={"_default": ["http://127.0.0.1:5000/"]}))
    urls = [s["url"] for s in got]
    assert "https://download.docker.com/linux/debian/gpg" in urls
    assert urls.count("http://127.0.0.1:5000/v2/") == 2
    assert "https://registry.k8s.io/v2/" not in urls


def test_required_sources_only_for_architectures_in_use():
    got = k.required_sources(dict(SETTINGS, architectures=["aarch64"]))
    assert [s["where"] for s in got].count("controller") == 0
    got = k.required_sources(dict(SETTINGS, architectures=["x86_64"]))
    assert [s["url"] for s in got if s["where"] == "controller"] == ["https://cloud.debian.org/x.qcow2"]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("edge zone #1", "edge_zone__1"),
        ("--ab c!!", "ab_c"),
        (True, "True"),
        (2, "2"),
        ("", ""),
        ("a" * 70, "a" * 63),
        ("a" * 62 + "-b", "a" * 62),  # cut at 63, then no '-' at the end
        ("ü", ""),
    ],
)
def test_label_value_is_valid(value, expected):
    assert k.label_value(value) == expected


def test_worker_labels_order_and_sanitising():
    spec = {"architecture": "aarch64", "cpu_model": "cortex-a57", "labels": {}}
    labels = k.worker_labels("q8s.io", spec, "arm-small", {"example.com/gpu": 2}, {"team": "a b", "q8s.io/vm-type": "mine"}, {"team": "c"})
    assert labels == {
        "q8s.io/emulated": "true",
        "q8s.io/architecture": "aarch64",
        "q8s.io/cpu-model": "cortex-a57",
        "q8s.io/vm-type": "mine",  # the spec's labels win over q8s's own
        "q8s.io/extended-resource-example.com-gpu": "2",
        "team": "c",  # extra labels win over the spec's
    }
    assert k.worker_labels("p", None, None) == {
        "p/emulated": "true",
        "p/architecture": "unknown",
        "p/cpu-model": "unknown",
        "p/vm-type": "unknown",
    }


def test_kubelet_labels_leave_restricted_keys_to_the_control_plane():
    labels = {
        "q8s.io/emulated": "true",
        "kubernetes.io/hostname": "h",
        "x.k8s.io/a": "b",
        "foo.kubernetes.io/bar": "z",
        "node.kubernetes.io/zone": "edge",
        "kubelet.kubernetes.io/x": "y",
        "team": "a",
    }
    assert k.kubelet_labels(labels) == [
        "kubelet.kubernetes.io/x=y",
        "node.kubernetes.io/zone=edge",
        "q8s.io/emulated=true",
        "team=a",
    ]


def test_taint_strings():
    taints = [{"key": "a", "value": "b", "effect": "NoExecute"}, {"key": "c"}, "d=e:NoSchedule", {"key": "f", "value": ""}]
    assert k.taint_strings(taints) == ["a=b:NoExecute", "c:NoSchedule", "d=e:NoSchedule", "f:NoSchedule"]
    assert k.taint_strings([], "q8s.io/flannel-pending") == ["q8s.io/flannel-pending=true:NoExecute"]
    assert k.taint_strings(None) == []


def test_not_ready_nodes_names_the_layer():
    gate = "q8s.io/flannel-pending"
    rows = [
        "cp\tTrue\t\tkubelet is posting ready status",
        "gated\tFalse\t%s node.kubernetes.io/not-ready\tcontainer runtime network not ready" % gate,
        "cni\tFalse\tnode.kubernetes.io/not-ready\tcontainer runtime network not ready: NetworkReady=false",
        "kubelet\tUnknown\t\tKubelet stopped posting node status.",
        "bare",  # a row without the other fields
        "prefix\tFalse\t%s-other\t" % gate,  # a different taint key is not the gate
    ]
    lines = k.not_ready_nodes(rows, ["cp", "gated", "cni", "kubelet", "bare", "prefix", "missing"], gate, "10.0.0.10:6443")
    assert lines == [
        "gated: registered but still gated (layer: q8s network step: Flannel public-ip annotations not set, taint %s not removed)" % gate,
        "cni: NotReady (layer: CNI/Flannel: container runtime network not ready: NetworkReady=false)",
        "kubelet: NotReady (layer: kubelet or container runtime: Kubelet stopped posting node status.)",
        "bare: NotReady (layer: kubelet or container runtime: no Ready condition)",
        "prefix: NotReady (layer: kubelet or container runtime: no Ready condition)",
        "missing: never registered (layer: join: kubeadm join or kubelet on the node, or its path to the API server "
        "10.0.0.10:6443 through NAT on its QEMU host)",
    ]
    assert not k.not_ready_nodes(rows[:1], ["cp"], gate, "e")
