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
        msg: "CHOSEN {{ {'image': __q8s_image, 'name': __q8s_image_name, 'boot': __q8s_boot, 'entries': __q8s_cache_entries} | to_json }}"
"""


def chosen(tmp_path, *extra, base=None, version=True, golden_dir=None):
    playbook = tmp_path / "play.yml"
    play = PLAY % (ROOT, json.dumps(base or BASE))
    playbook.write_text(play if version else play.replace('      kubernetes_version: "1.34.1"\n', ""))
    proc = run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", "q8s_golden_dir=%s" % (golden_dir or tmp_path), *extra])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # No golden image (not even its directory) is the usual case: it is not worth a warning.
    assert "WARNING" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
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


def test_base_image_when_the_golden_directory_does_not_exist(tmp_path):
    out = chosen(tmp_path, golden_dir=tmp_path / "never-made")
    assert out["image"] == BASE


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


def test_without_a_kubernetes_version_no_golden_image(tmp_path):
    """The QEMU layer's tests (molecule default) give q8s_cluster no kubernetes_version."""
    manifest(tmp_path, BASE)
    assert chosen(tmp_path, version=False)["image"] == BASE


FAST = dict(
    BASE,
    kernel={"source": "file:///srv/images/debian-12-amd64.vmlinuz", "checksum": "sha256:" + "d" * 64},
    initrd={"source": "file:///srv/images/debian-12-amd64.initrd", "checksum": "sha256:" + "e" * 64},
    cmdline="root=LABEL=root ro",
    firstboot=True,
)


@pytest.mark.parametrize("direct", [True, False], ids=["fast path", "q8s_direct_boot=false"])
def test_base_image_with_its_kernel(tmp_path, direct):
    """A base image with kernel and initrd (tests/testbed/build-images.sh's): cached beside
    the image and booted directly, unless q8s_direct_boot=false."""
    out = chosen(tmp_path, *([] if direct else ["-e", "q8s_direct_boot=false"]), base=FAST)
    assert out["image"] == BASE
    if not direct:
        assert out["boot"] == {} and [e["name"] for e in out["entries"]] == [out["name"]]
        return
    assert out["boot"]["kernel"] == dict(FAST["kernel"], name=out["name"] + ".vmlinuz")
    assert out["boot"]["initrd"] == dict(FAST["initrd"], name=out["name"] + ".initrd")
    assert out["boot"]["cmdline"] == "root=LABEL=root ro" and out["boot"]["firstboot"] is True
    assert [e["name"] for e in out["entries"]] == [out["name"], out["name"] + ".vmlinuz", out["name"] + ".initrd"]
