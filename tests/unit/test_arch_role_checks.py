"""The architecture checks of k8s_common and control_plane, run for real on localhost
(check mode): an IBM Power and an IBM Z worker in the inventory, lists that lack them."""

import json
import os
import subprocess
import sys

import pytest

from inventory_cases import BIN, ROOT, env

INVENTORY = {
    "all": {
        "children": {
            "q8s_control_plane": {"hosts": {"localhost": {"ansible_connection": "local", "q8s_node": {"role": "control_plane", "initial": True}}}},
            "q8s_emulated_workers": {
                "hosts": {
                    "ar--p9-1": {"q8s_node": {"role": "guest", "vm_type_spec": {"architecture": "ppc64le"}}},
                    "ar--z-1": {"q8s_node": {"role": "guest", "vm_type_spec": {"architecture": "s390x"}}},
                }
            },
        }
    }
}

PLAY = """
- hosts: localhost
  gather_facts: true
  tasks:
    - name: The role's step
      ansible.builtin.include_role:
        name: q8s.cluster.{role}
        tasks_from: {tasks}
      vars:
        control_plane_config_dir: {tmp}/out
        control_plane_advertise_address: 10.0.0.1
"""


def run(tmp_path, role, tasks, extra):
    (tmp_path / "inventory.json").write_text(json.dumps(INVENTORY))
    (tmp_path / "play.yml").write_text(PLAY.format(role=role, tasks=tasks, tmp=tmp_path))
    environ = dict(env(), ANSIBLE_INVENTORY_ENABLED="ansible.builtin.yaml", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    args = [os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.json"), str(tmp_path / "play.yml"), "--check"]
    proc = subprocess.run(args + ["-e", json.dumps(extra)], cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_flannel_images_cover_power_and_z(tmp_path):
    rc, out = run(tmp_path, "control_plane", "render", {})
    assert rc == 0, out
    assert "Check that Flannel's images exist for every node's architecture" in out


@pytest.mark.parametrize(
    "arches, missing",
    [
        # Debian's name in a list of image architectures: the POWER worker is named.
        (["amd64", "arm64", "ppc64el", "s390x"], "not for ar--p9-1 (ppc64le)."),
        (["amd64", "arm64"], "not for ar--p9-1 (ppc64le), ar--z-1 (s390x)."),
    ],
)
def test_flannel_without_an_architecture_names_the_nodes(tmp_path, arches, missing):
    rc, out = run(tmp_path, "control_plane", "render", {"control_plane_flannel_architectures": arches})
    assert rc != 0
    assert missing in out
    assert "add it to control_plane_flannel_architectures" in out


def test_kubernetes_repository_without_the_node_architecture(tmp_path):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    others = [a for a in ("amd64", "arm64", "ppc64el", "s390x") if a != arch]
    rc, out = run(tmp_path, "k8s_common", "kubernetes", {"k8s_common_kubernetes_repo_architectures": others})
    assert rc != 0
    assert "(Debian %s), but k8s_common_kubernetes_repo_architectures" % arch in out
    assert "add %s to that list" % arch in out
