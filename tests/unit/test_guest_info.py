"""plugins/modules/guest_info.py, run through Ansible for real: virsh against libvirt's
built-in test driver (test:///default, which has one running domain "test"), qemu-img on a
real qcow2 image, and files that exist or do not."""

import json
import shutil
import subprocess

import pytest

import inventory_cases
from ansible_collections.q8s.cluster.plugins.modules import guest_info

pytestmark = pytest.mark.skipif(not (shutil.which("virsh") and shutil.which("qemu-img")), reason="needs virsh and qemu-img")


def run_module(tmp_path, **args):
    """The module's (rc, result) from an ad-hoc run on localhost."""
    return inventory_cases.run_module("q8s.cluster.guest_info", args)


@pytest.fixture
def guest(tmp_path):
    image = tmp_path / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "3G"], check=True)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"vcpus": 2, "arch": "x86_64"}))
    disk = tmp_path / "disk.qcow2"
    disk.write_text("")
    return {"uri": "test:///default", "image": str(image), "spec_file": str(spec), "disk": str(disk), "seed": str(tmp_path / "seed.iso")}


def test_a_defined_running_guest_with_its_spec_and_disk(tmp_path, guest):
    kernel = tmp_path / "vmlinuz"
    kernel.write_text("")
    rc, out = run_module(tmp_path, name="test", files=[str(kernel), str(tmp_path / "initrd")], **guest)
    assert rc == 0, out
    assert out["changed"] is False
    assert (out["defined"], out["active"], out["autostart"]) == (True, True, False)
    assert out["applied_spec"] == {"vcpus": 2, "arch": "x86_64"}
    assert (out["disk_exists"], out["seed_exists"]) == (True, False)
    assert out["image_virtual_size"] == 3 * 1024**3
    assert out["missing_files"] == [str(tmp_path / "initrd")]


def test_a_guest_libvirt_does_not_know(tmp_path, guest):
    (tmp_path / "spec.json").unlink()
    rc, out = run_module(tmp_path, name="not-there", **guest)
    assert rc == 0, out
    assert (out["defined"], out["active"], out["autostart"]) == (False, False, False)
    assert out["applied_spec"] == {}
    assert out["missing_files"] == []


def test_fails_naming_the_guest_when_the_base_image_cannot_be_read(tmp_path, guest):
    guest["image"] = str(tmp_path / "missing.qcow2")
    rc, out = run_module(tmp_path, name="test", **guest)
    assert rc != 0
    assert out["msg"].startswith("guest test: qemu-img info %s failed" % guest["image"]), out


def test_fails_when_libvirt_cannot_be_asked(tmp_path, guest):
    guest["uri"] = "test:///" + str(tmp_path / "no-such-driver-file.xml")
    rc, out = run_module(tmp_path, name="test", **guest)
    assert rc != 0
    assert "list failed" in out["msg"], out


@pytest.mark.parametrize("content", ["not json", "[1, 2]", ""])
def test_a_spec_file_that_holds_no_object_reads_as_empty(tmp_path, content):
    path = tmp_path / "spec.json"
    path.write_text(content)
    assert guest_info.read_spec(str(path)) == {}


def test_dominfo_fields():
    fields = guest_info.dominfo_fields("Id:             -\nName:           g\nState:          shut off\nAutostart:      enable\n")
    assert fields["State"] == "shut off" and fields["Autostart"] == "enable"
