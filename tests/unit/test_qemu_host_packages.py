"""roles/qemu_host: the emulator and firmware packages per guest architecture (one mapping)."""

import os
import shutil
import subprocess

import jinja2
import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "qemu_host")


def load(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle)


VARS = load(ROLE, "vars", "main.yml")
PACKAGES = VARS["__qemu_host_packages_arch"]
WORKER_ARCH = load(ROOT, "roles", "emulated_worker", "vars", "main.yml")["__emulated_worker_arch"]
# What each architecture needs on the host besides the emulator (Debian 12 paths).
FIRMWARE = {
    "x86_64": [],
    "aarch64": ["/usr/share/AAVMF/AAVMF_CODE.fd"],
    "ppc64le": ["/usr/share/qemu/slof.bin"],
    "s390x": ["/usr/share/qemu/s390-ccw.img"],
}


def install_list(architectures, distribution):
    """The package list the role's apt task installs (the role's own Jinja expression,
    __qemu_host_packages, which its dpkg check asks about too)."""
    tasks = load(ROLE, "tasks", "apply.yml")
    task = [t for t in tasks if t.get("name") == "Install QEMU, libvirt and the Python bindings"][0]
    assert task["ansible.builtin.apt"]["name"] == "{{ __qemu_host_packages }}"
    expression = VARS["__qemu_host_packages"]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["flatten"] = lambda value: [item for sub in value for item in (sub if isinstance(sub, list) else [sub])]
    env.filters["extract"] = lambda key, container: container[key]
    rendered = env.from_string(expression).render(
        __qemu_host_packages_common=VARS["__qemu_host_packages_common"],
        __qemu_host_packages_arch=PACKAGES,
        qemu_host_architectures=architectures,
        qemu_host_extra_packages=[],
        ansible_facts={"distribution": distribution},
    )
    return yaml.safe_load(rendered)


def test_every_spec_architecture_has_packages_for_every_supported_distribution():
    assert sorted(PACKAGES) == sorted(models.ARCHITECTURES)
    for arch, per_distribution in PACKAGES.items():
        assert sorted(per_distribution) == sorted(VARS["__qemu_host_supported"]), arch
        assert all(per_distribution.values()), arch


def test_argument_specs_offer_every_architecture():
    for role, option in (("qemu_host", "qemu_host_architectures"), ("emulated_worker", "emulated_worker_arch")):
        spec = load(ROOT, "roles", role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"][option]
        assert sorted(spec["choices"]) == sorted(models.ARCHITECTURES), role


@pytest.mark.parametrize(
    "architectures,distribution,expected",
    [
        (["ppc64le"], "Debian", ["qemu-system-ppc", "qemu-system-data"]),
        (["s390x"], "Debian", ["qemu-system-misc", "qemu-system-data"]),
        (["s390x"], "Ubuntu", ["qemu-system-s390x", "qemu-system-data"]),
        (["x86_64", "aarch64"], "Ubuntu", ["qemu-system-x86", "qemu-system-arm", "qemu-efi-aarch64"]),
    ],
)
def test_the_apt_task_installs_the_architectures_packages(architectures, distribution, expected):
    packages = install_list(architectures, distribution)
    assert packages[: len(VARS["__qemu_host_packages_common"])] == VARS["__qemu_host_packages_common"]
    assert packages[len(VARS["__qemu_host_packages_common"]) :] == expected


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (Debian test host)")
@pytest.mark.parametrize("arch", sorted(FIRMWARE))
def test_debian_packages_ship_the_emulator_and_firmware(arch):
    """On this Debian 12 test host: the files the domain needs belong to the mapped packages."""
    needed = [WORKER_ARCH[arch]["emulator"]] + FIRMWARE[arch]
    missing = [path for path in needed if not os.path.exists(path)]
    if missing:
        pytest.skip("not installed here: %s (tests/testbed/prepare.sh installs them)" % ", ".join(missing))
    for path in needed:
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=True).stdout.split(":")[0]
        assert owner in PACKAGES[arch]["Debian"], (path, owner)
