"""Which guest image hosts.yml and guests.yml use (playbooks/vars/guest_image.yml): the
golden image of golden_images.yml when its manifest was made from the spec's base image,
else the base image; q8s_golden_use=false ignores the golden image."""

import json

import pytest

from inventory_cases import ROOT, run

BASE = {"source": "file:///srv/images/debian-12-amd64.qcow2", "checksum": "sha256:" + "a" * 64}
PLAY = """
- name: Show the chosen image
  hosts: localhost
  gather_facts: false
  vars_files:
    - %s/playbooks/vars/guest_image.yml
  vars:
    q8s_node: {vm_type_spec: {architecture: x86_64}}
    q8s_cluster:
      kubernetes_version: "1.34.1"
      guest_images: {x86_64: %s}
  tasks:
    - name: Print it
      ansible.builtin.debug:
        msg: "CHOSEN {{ {'image': __q8s_image, 'name': __q8s_image_name} | to_json }}"
"""


def chosen(tmp_path, *extra):
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % (ROOT, json.dumps(BASE)))
    proc = run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", "q8s_golden_dir=%s" % tmp_path, *extra])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "CHOSEN " in line)
    return json.loads(line.split("CHOSEN ", 1)[1].rstrip('"').replace('\\"', '"'))


def manifest(tmp_path, base):
    golden = {"source": str(tmp_path / "golden-x86_64-k1.34.1-0123456789ab.qcow2"), "checksum": "sha256:" + "b" * 64, "base": base, "recipe": {}}
    (tmp_path / "golden-x86_64-k1.34.1.json").write_text(json.dumps(golden))
    return golden


def test_base_image_without_a_golden_image(tmp_path):
    out = chosen(tmp_path)
    assert out["image"] == BASE
    assert out["name"].startswith("x86_64-") and out["name"].endswith("-debian-12-amd64.qcow2")


def test_golden_image_made_from_the_base_image(tmp_path):
    golden = manifest(tmp_path, BASE)
    out = chosen(tmp_path)
    assert out["image"] == {"source": golden["source"], "checksum": golden["checksum"]}
    assert out["name"].endswith("-golden-x86_64-k1.34.1-0123456789ab.qcow2")


@pytest.mark.parametrize("why", ["other base", "opt out"])
def test_golden_image_ignored(tmp_path, why):
    if why == "other base":
        manifest(tmp_path, dict(BASE, checksum="sha256:" + "c" * 64))
        out = chosen(tmp_path)
    else:
        manifest(tmp_path, BASE)
        out = chosen(tmp_path, "-e", "q8s_golden_use=false")
    assert out["image"] == BASE
