"""roles/emulated_worker/templates/domain.xml.j2 escapes every value it renders."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jinja2
import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATES = os.path.join(ROOT, "roles", "emulated_worker", "templates")
HOSTILE = "q35' x='1\"/><devices/>&amp;<"


def render(**overrides):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined)
    env.filters["bool"] = lambda value: str(value).lower() in ("1", "true", "yes")
    arch = {"emulator": "/usr/bin/qemu-system-x86_64", "serial_target": ""}
    values = {
        "ansible_managed": "managed",
        "__emulated_worker_arch": {"x86_64": arch, "aarch64": dict(arch, serial_target="system-serial")},
        "emulated_worker_accel": "tcg",
        "emulated_worker_name": "demo--x86-small-1",
        "__emulated_worker_spec_id": "id",
        "emulated_worker_ram_mb": 2048,
        "emulated_worker_vcpus": 2,
        "emulated_worker_arch": "x86_64",
        "__emulated_worker_machine": "q35",
        "__emulated_worker_direct_boot": False,
        "emulated_worker_kernel": "",
        "emulated_worker_initrd": "",
        "__emulated_worker_cmdline": "",
        "__emulated_worker_gicv2_max_cpus": 8,
        "emulated_worker_cpu_model": "EPYC-Rome",
        "__emulated_worker_disk": "/var/lib/q8s/disk.qcow2",
        "__emulated_worker_seed": "/var/lib/q8s/seed.iso",
        "emulated_worker_export_mb": 0,
        "__emulated_worker_export": "",
        "emulated_worker_network": "q8s",
        "__emulated_worker_mac": "52:54:00:00:00:01",
        "emulated_worker_mtu": 1450,
        "__emulated_worker_console": "/var/log/q8s/console.log",
        "__emulated_worker_cputune": {"period": 100000, "quota": -1},
    }
    values.update(overrides)
    return env.get_template("domain.xml.j2").render(**values)


@pytest.mark.parametrize(
    "variable,find,attribute",
    [
        ("__emulated_worker_machine", "os/type", "machine"),
        ("emulated_worker_cpu_model", "cpu/model", None),
        ("emulated_worker_name", "name", None),
        ("emulated_worker_network", "devices/interface/source", "network"),
        ("__emulated_worker_disk", "devices/disk/source", "file"),
    ],
)
def test_spec_values_cannot_break_out_of_the_xml(variable, find, attribute):
    domain = ET.fromstring(render(**{variable: HOSTILE}))
    element = domain.find(find)
    assert (element.get(attribute) if attribute else element.text) == HOSTILE
    assert domain.find("devices/devices") is None and domain.find("os/devices") is None


def test_plain_values_render_unchanged():
    domain = ET.fromstring(render())
    assert domain.find("os/type").get("machine") == "q35"
    assert domain.find("name").text == "demo--x86-small-1"


# --- one domain per architecture, with the role's own per-architecture table ------------

VARS = os.path.join(ROOT, "roles", "emulated_worker", "vars", "main.yml")
ARCHES = {
    # arch: (machine, CPU model, console the kernel writes to, serial target type)
    "x86_64": ("q35", "EPYC-Rome", "ttyS0,115200n8", None),
    "aarch64": ("virt", "cortex-a57", "ttyAMA0,115200n8", "system-serial"),
    "ppc64le": ("pseries", "POWER9", "hvc0", "spapr-vio-serial"),
    "s390x": ("s390-ccw-virtio", "qemu", "ttysclp0", "sclp-serial"),
}


def arch_table():
    with open(VARS) as handle:
        return yaml.safe_load(handle)["__emulated_worker_arch"]


def render_arch(arch, direct_boot=True, export_mb=64, vcpus=2):
    table = arch_table()
    machine, cpu, console, dummy = ARCHES[arch]
    return render(
        __emulated_worker_arch=table,
        emulated_worker_arch=arch,
        __emulated_worker_machine=machine,
        emulated_worker_cpu_model=cpu,
        emulated_worker_vcpus=vcpus,
        __emulated_worker_direct_boot=direct_boot,
        emulated_worker_kernel="/var/cache/q8s/golden/vmlinuz" if direct_boot else "",
        __emulated_worker_cmdline="root=/dev/vda1 console=%s" % table[arch]["console"],
        __emulated_worker_aavmf_code="/usr/share/AAVMF/AAVMF_CODE.fd",
        __emulated_worker_aavmf_vars="/usr/share/AAVMF/AAVMF_VARS.fd",
        __emulated_worker_nvram="/var/lib/libvirt/qemu/nvram/demo_VARS.fd",
        emulated_worker_export_mb=export_mb,
        __emulated_worker_export="/var/lib/q8s/export.raw",
    )


def test_arch_table_matches_the_spec_models():
    """Every architecture the spec accepts has a domain recipe whose default machine is the spec's."""
    table = arch_table()
    assert sorted(table) == sorted(models.ARCHITECTURES)
    for arch, entry in table.items():
        assert entry["machine"] == models.DEFAULT_MACHINE[arch]
        assert entry["emulator"] == "/usr/bin/qemu-system-%s" % ("ppc64" if arch == "ppc64le" else arch)
        assert entry["console"].split(",")[0] == ARCHES[arch][2].split(",")[0]


@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("direct_boot", [True, False], ids=["direct", "disk"])
def test_domain_per_architecture(arch, direct_boot):
    machine, cpu, console, serial_target = ARCHES[arch]
    domain = ET.fromstring(render_arch(arch, direct_boot))
    os_type = domain.find("os/type")
    assert (os_type.get("arch"), os_type.get("machine")) == (arch, machine)
    assert domain.find("cpu/model").text == cpu
    assert domain.find("devices/emulator").text == arch_table()[arch]["emulator"]
    if direct_boot:
        assert domain.find("os/kernel").text == "/var/cache/q8s/golden/vmlinuz"
        assert "console=%s" % console in domain.find("os/cmdline").text
    else:
        assert domain.find("os/kernel") is None and domain.find("os/boot").get("dev") == "hd"
    target = domain.find("devices/serial/target")
    assert target.get("type") == serial_target
    assert domain.find("devices/console/target").get("type") == "serial"
    # the seed is the second virtio disk, where cloud-init's NoCloud finds it (label cidata)
    disks = domain.findall("devices/disk")
    assert [d.find("target").get("dev") for d in disks] == ["vda", "vdb", "vdc"]
    assert all(d.find("target").get("bus") == "virtio" for d in disks)
    assert disks[1].find("source").get("file") == "/var/lib/q8s/seed.iso" and disks[1].find("readonly") is not None
    # ACPI only where the firmware provides it; GIC and APIC only where they exist
    acpi = domain.find("features/acpi") is not None
    assert acpi == (arch == "x86_64" or (arch == "aarch64" and not direct_boot))
    assert (domain.find("features/apic") is not None) == (arch == "x86_64")
    assert (domain.find("os/loader") is not None) == (arch == "aarch64" and not direct_boot)


def test_s390x_virtio_devices_are_on_the_ccw_bus():
    domain = ET.fromstring(render_arch("s390x"))
    virtio = domain.findall("devices/disk") + domain.findall("devices/interface") + domain.findall("devices/rng")
    addresses = [device.find("address") for device in virtio]
    assert all(a is not None and a.get("type") == "ccw" and a.get("cssid") == "0xfe" for a in addresses)
    devnos = [a.get("devno") for a in addresses]
    assert len(set(devnos)) == len(devnos) == 5
    # and only s390x: the others keep libvirt's PCI addresses
    for arch in ("x86_64", "aarch64", "ppc64le"):
        assert ET.fromstring(render_arch(arch)).find("devices/disk/address") is None


def test_gic_v3_only_for_aarch64_with_many_vcpus():
    assert ET.fromstring(render_arch("aarch64", vcpus=16)).find("features/gic").get("version") == "3"
    for arch in ("ppc64le", "s390x"):
        assert ET.fromstring(render_arch(arch, vcpus=16)).find("features/gic") is None


VALIDATE = shutil.which("virt-xml-validate")


@pytest.mark.skipif(VALIDATE is None or shutil.which("xmllint") is None, reason="virt-xml-validate (libvirt-clients) and xmllint (libxml2-utils) not installed")
@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("direct_boot", [True, False], ids=["direct", "disk"])
def test_domain_validates_against_libvirts_schema(arch, direct_boot, tmp_path):
    path = tmp_path / ("%s.xml" % arch)
    path.write_text(render_arch(arch, direct_boot))
    result = subprocess.run([VALIDATE, str(path), "domain"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cputune_only_with_a_limit():
    """cpu_speed_percent below 100 (issue 21): each vCPU thread's CFS period and quota."""
    assert ET.fromstring(render()).find("cputune") is None
    tune = ET.fromstring(render(__emulated_worker_cputune={"period": 100000, "quota": 25000})).find("cputune")
    assert tune.find("period").text == "100000" and tune.find("quota").text == "25000"
