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

# Versioned machine types such as ``pc-q35-7.2`` or ``virt-8.2`` are accepted too.
MACHINE_VERSION_PREFIXES = {
    "x86_64": ("pc-q35-", "pc-i440fx-"),
    "aarch64": ("virt-",),
}

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
    if machine in MACHINE_MODELS[arch]:
        return True
    return any(machine.startswith(prefix) for prefix in MACHINE_VERSION_PREFIXES[arch])
