"""Smoke tests of the collection layout: metadata parses and names the collection."""

from __future__ import annotations

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
