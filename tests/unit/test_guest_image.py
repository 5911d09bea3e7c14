"""A guest image's direct kernel boot: the spec fields (kernel, initrd, cmdline, firstboot of
guest_images[arch], q8s_spec) and the image choice of playbooks/vars/guest_image.yml
(module_utils/q8s_guest_image.py, filter q8s.cluster.guest_image)."""

import copy
import os

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.filter.q8s_guest_image import guest_image
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_guest_image
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SUM = "sha256:" + "a" * 64
IMAGE = {"source": "file:///srv/images/debian-12-amd64.qcow2", "checksum": SUM}
KERNEL = {"source": "file:///srv/images/debian-12-amd64.vmlinuz", "checksum": "sha256:file:///srv/images/debian-12-amd64.vmlinuz.sha256"}
INITRD = {"source": "file:///srv/images/debian-12-amd64.initrd", "checksum": "sha256:" + "b" * 64}
FAST = dict(IMAGE, kernel=KERNEL, initrd=INITRD, cmdline="root=LABEL=root ro", firstboot=True)


def spec_with(image):
    with open(os.path.join(ROOT, "examples", "cluster.yml")) as handle:
        raw = yaml.safe_load(handle)
    raw["guest_images"] = {"x86_64": image}
    return raw


def test_spec_keeps_the_direct_boot_fields():
    spec = normalise(spec_with(copy.deepcopy(FAST)))[0]
    assert spec["guest_images"]["x86_64"] == FAST


def test_spec_without_them_is_unchanged():
    spec = normalise(spec_with(dict(IMAGE)))[0]
    assert spec["guest_images"]["x86_64"] == IMAGE


def test_firstboot_defaults_to_false():
    image = copy.deepcopy(FAST)
    del image["firstboot"]
    assert normalise(spec_with(image))[0]["guest_images"]["x86_64"]["firstboot"] is False


def test_examples_local_boots_the_fast_path():
    """examples/local.yml names the kernel and initrd build-images.sh exports beside each image."""
    with open(os.path.join(ROOT, "examples", "local.yml")) as handle:
        spec = normalise(yaml.safe_load(handle))[0]
    for arch, deb in (("x86_64", "amd64"), ("aarch64", "arm64")):
        image = spec["guest_images"][arch]
        assert image["firstboot"] is True and image["cmdline"].startswith("root=LABEL=root ro")
        # a busy host starves the emulated x86_64 CPU during the kernel's IO-APIC timer check
        assert ("no_timer_check" in image["cmdline"].split()) is (arch == "x86_64")
        for key, ext in (("kernel", "vmlinuz"), ("initrd", "initrd")):
            assert image[key]["source"] == "file:///var/cache/q8s/images/debian-12-%s.%s" % (deb, ext)
            assert image[key]["checksum"] == "sha256:" + image[key]["source"] + ".sha256"


def without(key):
    image = copy.deepcopy(FAST)
    del image[key]
    return image


INVALID = [
    (without("initrd"), "guest_images.x86_64.initrd", "is required with kernel", "give the image's kernel and initrd"),
    (without("kernel"), "guest_images.x86_64.kernel", "is required with", "give the image's kernel and initrd"),
    (dict(IMAGE, firstboot=True), "guest_images.x86_64.kernel", "is required with firstboot", "or none of them"),
    (without("cmdline"), "guest_images.x86_64.cmdline", "must name the root file system", "root=LABEL=root ro"),
    (dict(FAST, cmdline="ro quiet"), "guest_images.x86_64.cmdline", "(got 'ro quiet')", "root=LABEL=root ro"),
    (dict(FAST, cmdline=["root=/dev/vda1"]), "guest_images.x86_64.cmdline", "must be a string", "quote the value"),
    (dict(FAST, cmdline="root=/dev/vda1 console=ttyS0"), "guest_images.x86_64.cmdline", "must not set console=", "remove console="),
    (dict(FAST, firstboot="yes"), "guest_images.x86_64.firstboot", "must be true or false (got 'yes')", "q8s-firstboot"),
    (dict(FAST, kernel="file:///vmlinuz"), "guest_images.x86_64.kernel", "must be a mapping", "key: value"),
    (dict(FAST, kernel={"source": "file:///vmlinuz"}), "guest_images.x86_64.kernel.checksum", "is required", "set guest_images.x86_64.kernel.checksum"),
    (dict(FAST, initrd=dict(INITRD, checksum="sha256:abc")), "guest_images.x86_64.initrd.checksum", "64 hex digits", "SUMS file"),
    (dict(FAST, initrd=dict(INITRD, url="x")), "guest_images.x86_64.initrd.url", "unknown field", "source, checksum"),
    (dict(FAST, kernal=KERNEL), "guest_images.x86_64.kernal", "unknown field", "did you mean 'kernel'?"),
]


@pytest.mark.parametrize("image,field,problem,fix", INVALID, ids=["%s:%s" % (c[1], c[2][:24]) for c in INVALID])
def test_invalid_direct_boot_names_field_value_and_fix(image, field, problem, fix):
    with pytest.raises(SpecError) as info:
        normalise(spec_with(image))
    matching = [m for m in info.value.errors if m.startswith(field + ":")]
    assert len(matching) == 1, info.value.errors
    message, dummy, fixed = matching[0].partition(" Fix: ")
    assert problem in message and fix in fixed, matching[0]


# The image choice.

GOLDEN = {
    "source": "/home/u/.q8s/images/golden-x86_64-k1.34.1-0123456789ab.qcow2",
    "checksum": "sha256:" + "c" * 64,
    "kernel": {"source": "/home/u/.q8s/images/golden-x86_64-k1.34.1-0123456789ab.vmlinuz", "checksum": "sha256:" + "d" * 64},
    "initrd": {"source": "/home/u/.q8s/images/golden-x86_64-k1.34.1-0123456789ab.initrd", "checksum": "sha256:" + "e" * 64},
    "cmdline": "root=UUID=1234 ro",
    "firstboot": True,
    "recipe": {},
}


def test_cache_name_is_the_one_the_hosts_have():
    """The name guest_image.yml computed in Jinja before (checked with its hash filter): <arch>-<sha256('source checksum')[:12]>-<basename>."""
    assert q8s_guest_image.cache_name("x86_64", IMAGE) == "x86_64-2acdf5f747f9-debian-12-amd64.qcow2"


def test_base_image_without_boot_files_boots_its_boot_loader():
    out = guest_image(IMAGE, "x86_64")
    assert out["golden"] is False and out["image"] == IMAGE and out["boot"] == {}
    assert out["name"] == out["base_name"] == q8s_guest_image.cache_name("x86_64", IMAGE)
    assert out["cache_entries"] == [dict(IMAGE, name=out["name"])]


def test_base_image_with_boot_files_boots_them():
    out = guest_image(FAST, "x86_64")
    assert out["image"] == IMAGE and out["name"] == q8s_guest_image.cache_name("x86_64", IMAGE)
    assert out["boot"] == {
        "kernel": dict(KERNEL, name=out["name"] + ".vmlinuz"),
        "initrd": dict(INITRD, name=out["name"] + ".initrd"),
        "cmdline": "root=LABEL=root ro",
        "firstboot": True,
    }
    assert out["cache_entries"] == [dict(IMAGE, name=out["name"]), out["boot"]["kernel"], out["boot"]["initrd"]]


def test_a_new_kernel_is_a_new_cache_file():
    other = guest_image(dict(FAST, kernel=dict(KERNEL, checksum=SUM)), "x86_64")
    assert other["boot"]["kernel"]["checksum"] == SUM
    # named after the image, which did not change: the host's cache replaces the file only
    # when a new image (so a new name) comes with it, so compare the entries' checksums
    assert other["cache_entries"][1] != guest_image(FAST, "x86_64")["cache_entries"][1]


@pytest.mark.parametrize("base", [IMAGE, FAST], ids=["boot loader base", "fast base"])
def test_current_golden_image_wins(base):
    golden = dict(GOLDEN, base=base)
    out = guest_image(base, "x86_64", golden=golden)
    assert out["golden"] is True
    assert out["image"] == {"source": GOLDEN["source"], "checksum": GOLDEN["checksum"]}
    assert out["name"].endswith("-golden-x86_64-k1.34.1-0123456789ab.qcow2")
    assert out["base_name"] == q8s_guest_image.cache_name("x86_64", IMAGE)
    assert out["boot"]["kernel"] == dict(GOLDEN["kernel"], name=out["name"] + ".vmlinuz")
    assert out["boot"]["cmdline"] == "root=UUID=1234 ro" and out["boot"]["firstboot"] is True


@pytest.mark.parametrize("why", ["other base", "opt out", "no manifest"])
def test_golden_image_ignored_then_the_base_boots_its_own_fast_path(why):
    golden = {"other base": dict(GOLDEN, base=IMAGE), "opt out": dict(GOLDEN, base=FAST), "no manifest": {}}[why]
    out = guest_image(FAST, "x86_64", golden=golden, golden_use=why != "opt out")
    assert out["golden"] is False and out["image"] == IMAGE
    assert out["boot"]["kernel"]["source"] == KERNEL["source"]


def test_golden_manifest_without_a_kernel_boots_the_golden_disk():
    """A manifest from before golden images exported their kernel: the golden disk's boot
    loader, not the base image's kernel (it may not match the golden disk's modules)."""
    golden = {key: GOLDEN[key] for key in ("source", "checksum")}
    out = guest_image(FAST, "x86_64", golden=dict(golden, base=FAST))
    assert out["golden"] is True and out["boot"] == {}


@pytest.mark.parametrize("base", [FAST, "golden"], ids=["fast base", "golden"])
def test_direct_boot_off_boots_the_boot_loader(base):
    golden = dict(GOLDEN, base=FAST) if base == "golden" else {}
    out = guest_image(FAST, "x86_64", golden=golden, direct_boot=False)
    assert out["boot"] == {} and len(out["cache_entries"]) == 1


def test_not_an_image():
    with pytest.raises(Exception, match="source and checksum"):
        guest_image({"source": "x"}, "x86_64")
