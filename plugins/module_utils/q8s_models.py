# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""QEMU CPU and machine models per architecture (QEMU 7.2 to 9.x, system emulation).

Names are QEMU's own (``qemu-system-x86_64 -cpu help``, ``qemu-system-aarch64 -cpu help``,
``qemu-system-ppc64 -machine pseries -cpu help``, ``qemu-system-s390x -cpu help``,
``-machine help``); POWER models are written as libvirt's CPU map spells them (QEMU
accepts them in any case). ``host`` is left out on purpose: under TCG it does not exist, and
every q8s worker is emulated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

ARCHITECTURES = ("x86_64", "aarch64", "ppc64le", "s390x")

# Spellings accepted for ``architecture``; upstream Q8S wrote ``arm_64``.
ARCHITECTURE_ALIASES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x86-64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "arm_64": "aarch64",
    "ppc64le": "ppc64le",
    "ppc64el": "ppc64le",
    "powerpc64le": "ppc64le",
    "s390x": "s390x",
}

# Debian's names (dpkg --print-architecture), for images and packages.
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64el", "s390x": "s390x"}
# Kubernetes' names (GOARCH: kubernetes.io/arch, image manifests); ppc64le differs from Debian.
KUBERNETES_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x"}

CPU_MODELS = {
    "x86_64": (
        "486",
        "athlon",
        "base",
        "Broadwell",
        "Broadwell-IBRS",
        "Broadwell-noTSX",
        "Broadwell-noTSX-IBRS",
        "Cascadelake-Server",
        "Cascadelake-Server-noTSX",
        "Conroe",
        "Cooperlake",
        "core2duo",
        "coreduo",
        "Denverton",
        "Dhyana",
        "EPYC",
        "EPYC-Genoa",
        "EPYC-IBPB",
        "EPYC-Milan",
        "EPYC-Rome",
        "GraniteRapids",
        "Haswell",
        "Haswell-IBRS",
        "Haswell-noTSX",
        "Haswell-noTSX-IBRS",
        "Icelake-Server",
        "Icelake-Server-noTSX",
        "IvyBridge",
        "IvyBridge-IBRS",
        "KnightsMill",
        "kvm32",
        "kvm64",
        "max",
        "n270",
        "Nehalem",
        "Nehalem-IBRS",
        "Opteron_G1",
        "Opteron_G2",
        "Opteron_G3",
        "Opteron_G4",
        "Opteron_G5",
        "Penryn",
        "pentium",
        "pentium2",
        "pentium3",
        "phenom",
        "qemu32",
        "qemu64",
        "SandyBridge",
        "SandyBridge-IBRS",
        "SapphireRapids",
        "Skylake-Client",
        "Skylake-Client-IBRS",
        "Skylake-Client-noTSX-IBRS",
        "Skylake-Server",
        "Skylake-Server-IBRS",
        "Skylake-Server-noTSX-IBRS",
        "Snowridge",
        "Westmere",
        "Westmere-IBRS",
    ),
    # 64-bit capable models only: a 32-bit-only core cannot run an arm64 guest.
    "aarch64": (
        "a64fx",
        "cortex-a35",
        "cortex-a53",
        "cortex-a55",
        "cortex-a57",
        "cortex-a72",
        "cortex-a76",
        "cortex-a710",
        "max",
        "neoverse-n1",
        "neoverse-n2",
        "neoverse-v1",
    ),
    # pseries guests; which of them TCG runs: TCG_CHECKED below.
    "ppc64le": ("POWER7", "POWER8", "POWER9", "POWER10"),
    # One model per z machine (the GA1 name; later GAs are left out), the "-base" variants
    # (base features only) from z196 on, and QEMU's own "qemu" and "max". Which of them TCG
    # runs: TCG_CHECKED below (only "qemu" and "max": QEMU 7.2's TCG lacks the named models'
    # crypto (CPACF) subfunctions, and gen16 is newer than TCG's gen15a ceiling).
    "s390x": (
        "z900",
        "z990",
        "z9EC",
        "z10EC",
        "z196",
        "z114",
        "zEC12",
        "zBC12",
        "z13",
        "z13s",
        "z14",
        "z14.2",
        "z14ZR1",
        "gen15a",
        "gen15b",
        "gen16a",
        "gen16b",
        "z196-base",
        "z114-base",
        "zEC12-base",
        "zBC12-base",
        "z13-base",
        "z13s-base",
        "z14-base",
        "z14.2-base",
        "z14ZR1-base",
        "gen15a-base",
        "gen15b-base",
        "gen16a-base",
        "gen16b-base",
        "qemu",
        "max",
    ),
}

# Which ppc64le / s390x models QEMU's TCG runs here, re-derived by
# tests/testbed/check-cpu-models.sh: Debian bookworm's kernel (linux-image-6.1.0-57-powerpc64le
# 6.1.192-3, linux-image-6.1.0-50-s390x 6.1.176-1) booted with -kernel, no disk, 1 GiB, one vCPU,
# under qemu-system-ppc64 / qemu-system-s390x 1:7.2+dfsg-7+deb12u18 (Debian 12) on 2026-12-05.
# "ok": the console showed "Linux version" and, past CPU and device setup, the panic for the
# missing root file system. model: (verdict, seconds to the verdict, what happened).
# x86_64 and aarch64 models are not in this check (their guests boot in the Molecule scenarios).
TCG_CHECKED_SOURCE = "tests/testbed/check-cpu-models.sh, QEMU 7.2 TCG, 2026-12-05"
TCG_CHECKED = {
    "ppc64le": {
        "POWER7": ("failed", 19, "the kernel booted (19s), but ppc64el userland (Debian, Ubuntu) is built for POWER8 (ISA 2.07) and later"),
        "POWER8": ("ok", 16, "kernel booted to the root mount"),
        "POWER9": ("ok", 16, "kernel booted to the root mount"),
        "POWER10": ("ok", 18, "kernel booted to the root mount"),
    },
    "s390x": {
        "z900": ("failed", 1, "Debian's kernel refused it: requires more recent processor hardware"),
        "z990": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z9EC": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z10EC": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-aes-256 ..."),
        "z196": ("failed", 1, "QEMU: features not available in the configuration (TCG): pcc-xts-eaes-256 pcc-xts-eaes-128 pcc-xts-aes-256 ..."),
        "z114": ("failed", 1, "QEMU: features not available in the configuration (TCG): pcc-xts-eaes-256 pcc-xts-eaes-128 pcc-xts-aes-256 ..."),
        "zEC12": ("failed", 1, "QEMU: features not available in the configuration (TCG): pcc-xts-eaes-256 pcc-xts-eaes-128 pcc-xts-aes-256 ..."),
        "zBC12": ("failed", 1, "QEMU: features not available in the configuration (TCG): pcc-xts-eaes-256 pcc-xts-eaes-128 pcc-xts-aes-256 ..."),
        "z13": ("failed", 1, "QEMU: features not available in the configuration (TCG): ppno-sha-512-drng pcc-xts-eaes-256 pcc-xts-eaes-128 ..."),
        "z13s": ("failed", 1, "QEMU: features not available in the configuration (TCG): ppno-sha-512-drng pcc-xts-eaes-256 pcc-xts-eaes-128 ..."),
        "z14": ("failed", 1, "QEMU: features not available in the configuration (TCG): kma-gcm-eaes-256 kma-gcm-eaes-192 kma-gcm-eaes-128 ..."),
        "z14.2": ("failed", 1, "QEMU: features not available in the configuration (TCG): kma-gcm-eaes-256 kma-gcm-eaes-192 kma-gcm-eaes-128 ..."),
        "z14ZR1": ("failed", 2, "QEMU: features not available in the configuration (TCG): kma-gcm-eaes-256 kma-gcm-eaes-192 kma-gcm-eaes-128 ..."),
        "gen15a": ("failed", 1, "QEMU: features not available in the configuration (TCG): kma-gcm-eaes-256 kma-gcm-eaes-192 kma-gcm-eaes-128 ..."),
        "gen15b": ("failed", 1, "QEMU: features not available in the configuration (TCG): kma-gcm-eaes-256 kma-gcm-eaes-192 kma-gcm-eaes-128 ..."),
        "gen16a": ("failed", 1, "QEMU: CPU generation too new, TCG goes up to gen15a"),
        "gen16b": ("failed", 1, "QEMU: CPU generation too new, TCG goes up to gen15a"),
        "z196-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z114-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "zEC12-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "zBC12-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z13-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z13s-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z14-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z14.2-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "z14ZR1-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "gen15a-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "gen15b-base": ("failed", 1, "QEMU: features not available in the configuration (TCG): klmd-sha-1 kimd-sha-1 km-tdea-192 ..."),
        "gen16a-base": ("failed", 1, "QEMU: CPU generation too new, TCG goes up to gen15a"),
        "gen16b-base": ("failed", 1, "QEMU: CPU generation too new, TCG goes up to gen15a"),
        "qemu": ("ok", 13, "kernel booted to the root mount"),
        "max": ("ok", 19, "kernel booted to the root mount"),
    },
}


# Models that only exist in newer QEMU releases than Debian 12's 7.2.
CPU_MODELS_SINCE = {
    "EPYC-Genoa": "8.1",
    "GraniteRapids": "8.2",
    "cortex-a35": "8.1",
    "cortex-a710": "8.1",
    "neoverse-n2": "8.1",
    "neoverse-v1": "8.1",
}

MACHINE_MODELS = {
    "x86_64": ("q35", "pc", "microvm"),
    "aarch64": ("virt",),
    "ppc64le": ("pseries",),
    "s390x": ("s390-ccw-virtio",),
}

DEFAULT_MACHINE = {"x86_64": "q35", "aarch64": "virt", "ppc64le": "pseries", "s390x": "s390-ccw-virtio"}

# The kernel file a direct kernel boot loads, as Debian's kernel package installs it
# (/boot/<file>-<version>): QEMU's pseries loads the ELF vmlinux (there is no vmlinuz on
# ppc64el), the other machines the boot image vmlinuz (bzImage, arm64 Image, s390 image).
BOOT_KERNEL_FILE = {"x86_64": "vmlinuz", "aarch64": "vmlinuz", "ppc64le": "vmlinux", "s390x": "vmlinuz"}

# QEMU releases whose machine types are versioned (``pc-q35-7.2``, ``virt-8.2`` ...):
# QEMU 1.4 to 10.1. A versioned name must be one of these releases, and at least the
# first release that had the machine (``pc-q35`` since 2.4 in QEMU 7.2's list, ``virt``
# since 2.6, ``pseries`` since 2.1, ``s390-ccw-virtio`` since 2.4). Whether the host's QEMU is new enough shows when the guest is defined.
QEMU_RELEASES = (
    ((1, minor) for minor in range(4, 8)),
    ((2, minor) for minor in range(0, 13)),
    ((3, minor) for minor in range(0, 2)),
    ((4, minor) for minor in range(0, 3)),
    ((5, minor) for minor in range(0, 3)),
    ((6, minor) for minor in range(0, 3)),
    ((7, minor) for minor in range(0, 3)),
    ((8, minor) for minor in range(0, 3)),
    ((9, minor) for minor in range(0, 3)),
    ((10, minor) for minor in range(0, 2)),
)
QEMU_RELEASES = tuple(release for group in QEMU_RELEASES for release in group)

# (prefix, first release) of the versioned machine types per architecture.
MACHINE_VERSIONED = {
    "x86_64": (("pc-q35-", (2, 4)), ("pc-i440fx-", (1, 4))),
    "aarch64": (("virt-", (2, 6)),),
    "ppc64le": (("pseries-", (2, 1)),),
    "s390x": (("s390-ccw-virtio-", (2, 4)),),
}
# Kept for callers that only want the prefixes.
MACHINE_VERSION_PREFIXES = dict((arch, tuple(prefix for prefix, dummy in table)) for arch, table in MACHINE_VERSIONED.items())

_MACHINE_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*(-[0-9]+\.[0-9]+)?$")


def machine_models(arch):
    """Every machine name q8s accepts for ``arch``: the plain ones and each versioned one."""
    names = list(MACHINE_MODELS[arch])
    for prefix, first in MACHINE_VERSIONED[arch]:
        names.extend("%s%d.%d" % ((prefix,) + release) for release in QEMU_RELEASES if release >= first)
    return names


# The virt machine's default GICv2 addresses at most 8 vCPUs; more need GICv3.
AARCH64_GICV2_MAX_CPUS = 8


def canonical_architecture(value):
    """Return one of ARCHITECTURES for an accepted spelling, else None."""
    if not isinstance(value, str):
        return None
    return ARCHITECTURE_ALIASES.get(value.strip().lower())


def architecture_of_model(model):
    """The architectures whose table lists ``model`` (``max`` is in several)."""
    return [arch for arch in ARCHITECTURES if model in CPU_MODELS[arch]]


def machine_model_valid(arch, machine):
    """Whether ``machine`` is a QEMU machine name of ``arch``: a strict pattern, then the list."""
    if not isinstance(machine, str) or not _MACHINE_PATTERN.match(machine):
        return False
    return machine in machine_models(arch)


def architecture_of_machine(machine):
    """The architectures that have the machine ``machine``."""
    return [arch for arch in ARCHITECTURES if machine_model_valid(arch, machine)]


def tcg_failure(arch, model):
    """Why TCG could not run ``model`` in the recorded check, or None (runs, or not checked)."""
    verdict = TCG_CHECKED.get(arch, {}).get(model)
    if verdict is None or verdict[0] == "ok":
        return None
    return verdict[2]


def runnable_models(arch):
    """The models of ``arch`` the spec accepts: the table less those TCG failed."""
    return [model for model in CPU_MODELS[arch] if tcg_failure(arch, model) is None]
