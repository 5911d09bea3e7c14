# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Which image, kernel and initrd a QEMU host's guest boots (playbooks/vars/guest_image.yml).

Pure functions over plain data. The inputs: the spec's base image of the guest's
architecture (``guest_images[arch]``: source and checksum, and optionally the image's own
``kernel`` and ``initrd`` (source and checksum each), ``cmdline`` and ``firstboot``), the
golden image manifest of that architecture and Kubernetes version (playbooks/golden_images.yml
writes it; ``{}`` when there is none) and two switches. The choice:

- the golden image when its manifest was made from exactly this base image (a golden image
  of another base is stale) and golden images are in use, else the base image;
- a direct kernel boot (no firmware, no boot loader) with the chosen image's own kernel and
  initrd when it has them: the golden manifest's for a golden image, the spec's for a base
  image; ``firstboot`` says whether the image carries q8s-firstboot (then a guest that needs
  nothing more from cloud-init boots without it). ``direct_boot=False`` boots every guest
  through its image's boot loader (and so cloud-init), whatever the image has.

The golden image builder (playbooks/golden_images.yml) boots the base image: directly from
its kernel and initrd when the spec gives them (ppc64el and s390x images have no boot loader
at all), with cloud-init, which installs the packages; it exports the kernel file its machine
boots directly (``BOOT_KERNEL_FILE``: the ELF vmlinux on pseries).

Every file gets a name in the host's image cache from its source and checksum, so a new
source or checksum is a new file and a running guest's backing file is never replaced.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import posixpath

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models

BOOT_SUFFIXES = (("kernel", ".vmlinuz"), ("initrd", ".initrd"))


def _file(value):
    """The source and checksum of an image, kernel or initrd entry."""
    return {"source": str(value["source"]), "checksum": str(value["checksum"])}


def cache_name(arch, image):
    """The image's file name in a host's cache: <arch>-<12 hex of source and checksum>-<basename>."""
    digest = hashlib.sha256(("%s %s" % (image["source"], image["checksum"])).encode("utf-8")).hexdigest()[:12]
    return "%s-%s-%s" % (arch, digest, posixpath.basename(str(image["source"])))


def _boot(image_name, files, cmdline, firstboot):
    boot = {"cmdline": str(cmdline or ""), "firstboot": bool(firstboot)}
    for key, suffix in BOOT_SUFFIXES:
        boot[key] = dict(_file(files[key]), name=image_name + suffix)
    return boot


def choose(base, arch, golden=None, golden_use=True, direct_boot=True):
    """The guest image of one architecture.

    Returns ``{golden, image, name, base_name, boot, cache_entries}``: ``golden`` is true when
    the golden image is used; ``image`` the chosen image's source and checksum and ``name``
    its cache file name; ``base_name`` the base image's cache file name (golden_images.yml's
    builders boot from it); ``boot`` ``{}`` to boot the image's boot loader, or
    ``{kernel, initrd, cmdline, firstboot}`` with ``kernel`` and ``initrd`` each
    ``{name, source, checksum}``; ``cache_entries`` every file the host's image cache needs
    (``{name, source, checksum}`` each); ``builder`` how golden_images.yml's builder boots
    the base image (``boot`` as above, from the base image whatever image the guests use:
    hosts.yml caches these files when it runs with golden images off, as golden_images.yml
    runs it first) and which kernel file of /boot it exports (``kernel_file``).
    """
    golden = golden or {}
    use_golden = bool(golden_use) and bool(golden) and golden.get("base") == base
    image = _file(golden if use_golden else base)
    name = cache_name(arch, image)
    owner = golden if use_golden else base
    boot = {}
    if direct_boot and owner.get("kernel") and owner.get("initrd"):
        boot = _boot(name, owner, owner.get("cmdline"), owner.get("firstboot"))
    entries = [dict(image, name=name)]
    if boot:
        entries += [boot["kernel"], boot["initrd"]]
    base_name = cache_name(arch, _file(base))
    builder_boot = {}
    if direct_boot and base.get("kernel") and base.get("initrd"):
        # cloud-init must run in the builder: it installs the packages and seals the image
        builder_boot = _boot(base_name, base, base.get("cmdline"), False)
    return {
        "golden": use_golden,
        "image": image,
        "name": name,
        "base_name": base_name,
        "boot": boot,
        "cache_entries": entries,
        "builder": {"boot": builder_boot, "kernel_file": models.BOOT_KERNEL_FILE.get(arch, "vmlinuz")},
    }
