"""Smoke tests of the collection layout: metadata parses and names the collection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(relpath: str) -> dict:
    with (ROOT / relpath).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict), f"{relpath} must be a YAML mapping"
    return data


def test_galaxy_names_the_collection() -> None:
    galaxy = _load("galaxy.yml")
    assert galaxy["namespace"] == "q8s"
    assert galaxy["name"] == "cluster"
    assert isinstance(galaxy["version"], str)
    assert galaxy["version"].count(".") == 2


@pytest.mark.parametrize("collection", ["openstack.cloud", "community.libvirt", "community.general", "ansible.posix"])
def test_galaxy_declares_dependencies(collection: str) -> None:
    assert collection in _load("galaxy.yml").get("dependencies", {})


def test_runtime_metadata_parses() -> None:
    runtime = _load("meta/runtime.yml")
    assert "requires_ansible" in runtime
    assert runtime["requires_ansible"].startswith(">=")


def test_checkout_is_linked_as_the_collection() -> None:
    """`make setup` links .collections/ansible_collections/q8s/cluster to this checkout."""
    link = ROOT / ".collections" / "ansible_collections" / "q8s" / "cluster"
    if not link.is_symlink():
        pytest.skip("no .collections link (run `make setup`)")
    assert link.resolve() == ROOT


def test_the_guest_ssh_port_has_one_home() -> None:
    """The port a QEMU host forwards to its guest's SSH is q8s_addressing.GUEST_SSH_PORT: the
    inventory sets it as the guest's ansible_port and the default security group opens it;
    the roles that forward and wait on it default to the same number, and no playbook
    writes the number itself (verify.yml and guests.yml read the guest's ansible_port)."""
    from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing, q8s_spec

    port = q8s_addressing.GUEST_SSH_PORT
    assert port in q8s_spec.DEFAULT_TCP_PORTS
    for role, variable in (("nat_bridge", "nat_bridge_ssh_port"), ("emulated_worker", "emulated_worker_ssh_port")):
        assert _load(f"roles/{role}/defaults/main.yml")[variable] == port, variable
        spec = _load(f"roles/{role}/meta/argument_specs.yml")["argument_specs"]["main"]["options"][variable]
        assert spec["default"] == port, variable
    for playbook in sorted((ROOT / "playbooks").glob("*.yml")):
        with playbook.open(encoding="utf-8") as handle:
            text = json.dumps(yaml.safe_load(handle))
        assert str(port) not in text, f"{playbook.name} writes the guest SSH port {port}; use hostvars[guest].ansible_port"
