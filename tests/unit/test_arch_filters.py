"""Architecture names for packages and images (plugins/filter/q8s_arch.py, table in q8s_models)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_arch as a


@pytest.mark.parametrize(
    "value, arch, debian, kubernetes",
    [
        ("x86_64", "x86_64", "amd64", "amd64"),
        ("amd64", "x86_64", "amd64", "amd64"),
        ("aarch64", "aarch64", "arm64", "arm64"),
        ("arm_64", "aarch64", "arm64", "arm64"),
        # uname -m / ansible_facts.architecture on the guests, and the spec's aliases
        ("ppc64le", "ppc64le", "ppc64el", "ppc64le"),
        ("ppc64el", "ppc64le", "ppc64el", "ppc64le"),
        ("powerpc64le", "ppc64le", "ppc64el", "ppc64le"),
        ("s390x", "s390x", "s390x", "s390x"),
    ],
)
def test_arch_names(value, arch, debian, kubernetes):
    assert a.arch_names(value) == {"architecture": arch, "debian": debian, "kubernetes": kubernetes}


@pytest.mark.parametrize("value", ["riscv64", "ppc64", "", None, 64])
def test_arch_names_refuses_what_q8s_does_not_emulate(value):
    with pytest.raises(AnsibleFilterError, match="arch_names: .* is not an architecture q8s emulates"):
        a.arch_names(value)


HOSTVARS = {
    "c--cp-0": {"q8s_node": {"role": "control_plane"}},
    "c--p9-1": {"q8s_node": {"role": "guest", "vm_type_spec": {"architecture": "ppc64le"}}},
    "c--z-1": {"q8s_node": {"role": "guest", "vm_type_spec": {"architecture": "s390x"}}},
    "c--x-1": {"q8s_node": {"role": "guest", "vm_type_spec": {"architecture": "x86_64"}}},
    "other": {},
}


def test_node_architectures_takes_the_types_of_emulated_workers():
    nodes = ["c--cp-0", "c--p9-1", "c--z-1", "c--x-1", "other", "not-in-inventory"]
    assert a.node_architectures(nodes, HOSTVARS) == {"c--p9-1": "ppc64le", "c--z-1": "s390x", "c--x-1": "x86_64"}
    assert a.node_architectures([], HOSTVARS) == {}


def test_arch_unsupported_by_kubernetes_name():
    nodes = {"c--cp-0": "x86_64", "c--p9-1": "ppc64le", "c--z-1": "s390x"}
    flannel = ["amd64", "arm", "arm64", "ppc64le", "s390x", "mips64le"]
    assert a.arch_unsupported(nodes, flannel) == []
    # Debian's name is not the image's: a list written with ppc64el misses the POWER node.
    assert a.arch_unsupported(nodes, ["amd64", "ppc64el", "s390x"]) == ["c--p9-1 (ppc64le)"]
    assert a.arch_unsupported(nodes, ["amd64"]) == ["c--p9-1 (ppc64le)", "c--z-1 (s390x)"]


def test_arch_unsupported_by_debian_name():
    nodes = {"w1": "ppc64le", "w2": "aarch64"}
    assert a.arch_unsupported(nodes, ["amd64", "arm64", "ppc64el", "s390x"], "debian") == []
    assert a.arch_unsupported(nodes, ["amd64", "arm64", "ppc64le"], "debian") == ["w1 (ppc64el)"]
    with pytest.raises(AnsibleFilterError, match="name must be kubernetes or debian"):
        a.arch_unsupported(nodes, [], "goarch")
