"""How golden_images.yml's builder boots the base image and which kernel it exports
(module_utils/q8s_guest_image.py, choose()['builder']; issue 17): directly from the base
image's own kernel when the spec gives one (ppc64el and s390x images have no boot loader),
always with cloud-init, and the seal exports the kernel file the machine boots directly
(the ELF vmlinux on pseries, vmlinuz elsewhere).

The wiring is checked through golden_images.yml's own play vars and its cloud-config
template, rendered by ansible-playbook, and the seal's kernel choice is run as shell on a
fake /boot."""

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.filter.q8s_guest_image import guest_image
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_guest_image
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_models import ARCHITECTURES, BOOT_KERNEL_FILE
from inventory_cases import ROOT as ROOT_DIR
from inventory_cases import run

SUM = "sha256:" + "a" * 64
IMAGE = {"source": "file:///srv/images/debian-12-ppc64el.qcow2", "checksum": SUM}
KERNEL = {"source": "file:///srv/images/debian-12-ppc64el.vmlinuz", "checksum": "sha256:" + "b" * 64}
INITRD = {"source": "file:///srv/images/debian-12-ppc64el.initrd", "checksum": "sha256:" + "c" * 64}
ROOT = Path(ROOT_DIR)
FAST = dict(IMAGE, kernel=KERNEL, initrd=INITRD, cmdline="root=LABEL=root ro", firstboot=True)
GOLDEN = {
    "source": "/home/u/.q8s/images/golden-ppc64le-k1.34.1-0123456789ab.qcow2",
    "checksum": "sha256:" + "d" * 64,
    "kernel": {"source": "/home/u/.q8s/images/golden-ppc64le-k1.34.1-0123456789ab.vmlinuz", "checksum": "sha256:" + "e" * 64},
    "initrd": {"source": "/home/u/.q8s/images/golden-ppc64le-k1.34.1-0123456789ab.initrd", "checksum": "sha256:" + "f" * 64},
    "cmdline": "root=UUID=1234 ro",
    "firstboot": True,
    "base": FAST,
}


def test_builder_boots_the_base_kernel_with_cloud_init():
    out = guest_image(FAST, "ppc64le")
    base_name = q8s_guest_image.cache_name("ppc64le", IMAGE)
    assert out["builder"]["boot"] == {
        "kernel": dict(KERNEL, name=base_name + ".vmlinuz"),
        "initrd": dict(INITRD, name=base_name + ".initrd"),
        "cmdline": "root=LABEL=root ro",
        # the image carries q8s-firstboot, but the builder needs cloud-init to install
        "firstboot": False,
    }
    # the files hosts.yml caches for the base image (golden_images.yml runs it with golden images off)
    cached = guest_image(FAST, "ppc64le", golden_use=False)["cache_entries"]
    assert out["builder"]["boot"]["kernel"] in cached and out["builder"]["boot"]["initrd"] in cached


def test_builder_boots_the_base_even_when_a_golden_image_is_in_use():
    """A rebuild (other packages) boots the base image, not the current golden image."""
    out = guest_image(FAST, "ppc64le", golden=GOLDEN)
    assert out["golden"] is True and out["boot"]["kernel"]["source"] == GOLDEN["kernel"]["source"]
    assert out["builder"]["boot"]["kernel"]["source"] == KERNEL["source"]
    assert out["builder"]["boot"]["kernel"]["name"].startswith(out["base_name"])


def test_builder_of_a_base_without_kernel_boots_its_boot_loader():
    assert guest_image(IMAGE, "x86_64")["builder"]["boot"] == {}


def test_builder_without_direct_boot_boots_the_boot_loader():
    assert guest_image(FAST, "ppc64le", direct_boot=False)["builder"]["boot"] == {}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_exported_kernel_file(arch):
    """pseries loads the ELF vmlinux (Debian's ppc64el kernel package has no vmlinuz); the
    other machines the boot image vmlinuz."""
    assert guest_image(IMAGE, arch)["builder"]["kernel_file"] == ("vmlinux" if arch == "ppc64le" else "vmlinuz")
    assert set(BOOT_KERNEL_FILE) == set(ARCHITECTURES)


# golden_images.yml's build play vars, with the guest_image choice, rendered for one node
# after the play's first task (q8s-firstboot from emulated_worker's tasks_from: firstboot).
PLAY = """
- name: Render the builder's boot and cloud-config
  hosts: localhost
  gather_facts: false
  vars_files:
    - %(root)s/playbooks/vars/guest_image.yml
  vars: %(vars)s
  tasks:
    - %(first)s
    - name: Print them
      ansible.builtin.debug:
        msg: "OUT {{ {'boot': __q8s_golden_builder_boot, 'kernel_file': __q8s_golden_kernel_file,
                      'cc': lookup('ansible.builtin.template', '%(root)s/playbooks/templates/golden-cloud-config.yml.j2') | from_yaml}
                    | to_json | b64encode }}"
"""


def render(tmp_path, arch, base):
    plays = yaml.safe_load((ROOT / "playbooks" / "golden_images.yml").read_text())
    play = next(play for play in plays if play.get("name") == "Build the golden images")
    play_vars, first = dict(play["vars"]), play["tasks"][0]
    assert first["ansible.builtin.include_role"] == {"name": "q8s.cluster.emulated_worker", "tasks_from": "firstboot"}
    play_vars["q8s_node"] = {"vm_type_spec": {"architecture": arch}}
    play_vars["q8s_cluster"] = {"kubernetes_version": "1.34.1", "guest_images": {arch: base}}
    play_vars["q8s_kubernetes_skip_binaries"] = True
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY % {"root": ROOT, "vars": json.dumps(play_vars), "first": json.dumps(first)})
    proc = run(["ansible-playbook", "-i", "localhost,", "-c", "local", str(playbook), "-e", "q8s_golden_dir=%s" % tmp_path])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "OUT " in line)
    return json.loads(base64.b64decode(line.split("OUT ", 1)[1].strip().strip('"')))


def seal(cloud_config):
    return next(f["content"] for f in cloud_config["write_files"] if f["path"] == "/usr/local/sbin/q8s-golden-seal")


def kernel_choice(script, boot):
    """The seal's lines that pick the kernel and its initrd, run on a fake /boot: prints
    the kernel and version, or the seal's failure."""
    lines = script.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("k=$(ls /boot/"))
    snippet = ["set -e", 'fail() { echo "FAILED: $*"; exit 1; }'] + lines[start : start + 4] + ['echo "$k $v"']
    text = "\n".join(snippet).replace("/boot/", str(boot) + "/")
    return subprocess.run(["sh", "-c", text], capture_output=True, text=True, check=False).stdout.strip()


@pytest.mark.parametrize("arch", ["ppc64le", "s390x", "x86_64"])
def test_golden_images_yml_wires_the_builder(tmp_path, arch):
    out = render(tmp_path, arch, FAST)
    base_name = q8s_guest_image.cache_name(arch, IMAGE)
    assert out["boot"]["kernel"]["name"] == base_name + ".vmlinuz" and out["boot"]["firstboot"] is False
    kernel = BOOT_KERNEL_FILE[arch]
    assert out["kernel_file"] == kernel
    script = seal(out["cc"])
    assert "ls /boot/%s-* " % kernel in script
    # q8s-firstboot and its units, from emulated_worker's tasks_from: firstboot; the seal enables the units
    written = {f["path"]: f for f in out["cc"]["write_files"]}
    files = ROOT / "roles" / "emulated_worker" / "files"
    assert written["/usr/local/sbin/q8s-firstboot"] == {
        "path": "/usr/local/sbin/q8s-firstboot",
        "permissions": "0755",
        "content": (files / "q8s-firstboot").read_text(),
    }
    units = ["q8s-firstboot.service", "q8s-growroot.service", "q8s-ready.service"]
    assert [written["/etc/systemd/system/" + unit]["content"] for unit in units] == [(files / unit).read_text() for unit in units]
    assert "\nsystemctl enable %s\n" % " ".join(units) in script
    # newest of two kernels, with its initrd; the other kernel file (and System.map) ignored
    boot = tmp_path / "boot"
    boot.mkdir()
    other = "vmlinuz" if kernel == "vmlinux" else "vmlinux"
    for name in ("%s-6.1.0-9-x" % kernel, "%s-6.1.0-10-x" % kernel, "%s-6.1.0-11-x" % other, "System.map-6.1.0-10-x", "initrd.img-6.1.0-10-x"):
        (boot / name).write_text("")
    assert kernel_choice(script, boot) == "%s/%s-6.1.0-10-x 6.1.0-10-x" % (boot, kernel)
    (boot / "initrd.img-6.1.0-10-x").unlink()
    assert kernel_choice(script, boot) == "FAILED: no initrd for kernel 6.1.0-10-x"
    for name in ("%s-6.1.0-9-x" % kernel, "%s-6.1.0-10-x" % kernel):
        (boot / name).unlink()
    assert kernel_choice(script, boot) == "FAILED: no %s/%s-* kernel" % (boot, kernel)


def test_golden_images_yml_builder_of_a_boot_loader_image(tmp_path):
    """A base image without kernel fields (a cloud image): the builder boots its boot loader."""
    out = render(tmp_path, "x86_64", IMAGE)
    assert out["boot"] == {}


# golden_bench.py's check of the exported kernel (tests/bench; not part of the collection).
sys.path.insert(0, str(ROOT / "tests" / "bench"))
from golden_bench import check_manifest, kernel_arch  # noqa: E402

TEST_BED = Path("/var/cache/q8s/images")
DEBIAN = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64el", "s390x": "s390x"}


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_kernel_arch_of_the_test_bed_kernels(arch):
    """The kernels build-images.sh exports: each is recognised as its own architecture's."""
    kernel = TEST_BED / ("debian-12-%s.vmlinuz" % DEBIAN[arch])
    if not kernel.exists():
        pytest.skip("no test bed kernel %s (tests/testbed/build-images.sh)" % kernel)
    with open(kernel, "rb") as handle:
        assert kernel_arch(handle.read(0x210)) == arch


def test_kernel_arch_refuses_what_no_machine_boots_directly():
    elf = bytearray(0x210)
    elf[:6] = b"\x7fELF\x02\x01"
    elf[18:20] = (21).to_bytes(2, "little")
    assert kernel_arch(bytes(elf)) == "ppc64le"
    elf[5] = 2  # big-endian ppc64 (the ppc64 flavour, not ppc64el)
    assert kernel_arch(bytes(elf)) is None
    elf[5], elf[18:20] = 1, (62).to_bytes(2, "little")  # an x86_64 ELF vmlinux
    assert kernel_arch(bytes(elf)) is None
    assert kernel_arch(b"\x1f\x8b\x08" + bytes(0x210)) is None  # a gzip (compressed vmlinuz, initrd)
    assert kernel_arch(b"") is None


def test_check_manifest(tmp_path):
    kernel = TEST_BED / "debian-12-ppc64el.vmlinuz"
    if not kernel.exists():
        pytest.skip("no test bed kernel %s" % kernel)
    files = {}
    for suffix, data in ((".qcow2", b"disk"), (".vmlinuz", kernel.read_bytes()[:4096]), (".initrd", b"initrd")):
        path = tmp_path / ("golden-ppc64le-k1.34.1-0123456789ab" + suffix)
        path.write_bytes(data)
        files[suffix] = {"source": str(path), "checksum": "sha256:" + hashlib.sha256(data).hexdigest()}
    manifest = dict(files[".qcow2"], kernel=files[".vmlinuz"], initrd=files[".initrd"], cmdline="root=UUID=0f1e-aa ro", firstboot=True)
    manifest["recipe"] = {"packages": ["socat"]}
    (tmp_path / "golden-ppc64le-k1.34.1.json").write_text(json.dumps(manifest))
    assert check_manifest(tmp_path, "ppc64le", ["socat"])["cmdline"] == "root=UUID=0f1e-aa ro"
    with pytest.raises(SystemExit, match="boots on ppc64le, not s390x"):
        (tmp_path / "golden-s390x-k1.34.1.json").write_text(json.dumps(manifest))
        check_manifest(tmp_path, "s390x", ["socat"])
    Path(files[".initrd"]["source"]).write_bytes(b"other")
    with pytest.raises(SystemExit, match="initrd .* does not match its checksum"):
        check_manifest(tmp_path, "ppc64le", ["socat"])
