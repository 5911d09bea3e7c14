# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""QEMU CPU and machine models per architecture (QEMU 7.2 to 9.x, system emulation).

Names are QEMU's own (``qemu-system-x86_64 -cpu help``, ``qemu-system-aarch64 -cpu help``,
``-machine help``). ``host`` is left out on purpose: under TCG it does not exist, and
every q8s worker is emulated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

ARCHITECTURES = ("x86_64", "aarch64")

# Spellings accepted for ``architecture``; upstream Q8S wrote ``arm_64``.
ARCHITECTURE_ALIASES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x86-64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "aarch64",
    "arm_64": "aarch64",
}

# Debian/Kubernetes names, used for image selection and node labels.
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

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
}

DEFAULT_MACHINE = {"x86_64": "q35", "aarch64": "virt"}

# QEMU releases whose machine types are versioned (``pc-q35-7.2``, ``virt-8.2`` ...):
# QEMU 1.4 to 10.1. A versioned name must be one of these releases, and at least the
# first release that had the machine (``pc-q35`` since 2.4 in QEMU 7.2's list, ``virt``
# since 2.6). Whether the host's QEMU is new enough shows when the guest is defined.
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
    """Return ``x86_64`` or ``aarch64`` for an accepted spelling, else None."""
    if not isinstance(value, str):
        return None
    return ARCHITECTURE_ALIASES.get(value.strip().lower())


def architecture_of_model(model):
    """The architectures whose table lists ``model`` (``max`` is in both)."""
    return [arch for arch in ARCHITECTURES if model in CPU_MODELS[arch]]


def machine_model_valid(arch, machine):
    """Whether ``machine`` is a QEMU machine name of ``arch``: a strict pattern, then the list."""
    if not isinstance(machine, str) or not _MACHINE_PATTERN.match(machine):
        return False
    return machine in machine_models(arch)


def architecture_of_machine(machine):
    """The architectures that have the machine ``machine``."""
    return [arch for arch in ARCHITECTURES if machine_model_valid(arch, machine)]
