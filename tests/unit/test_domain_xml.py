"""roles/emulated_worker/templates/domain.xml.j2 escapes every value it renders."""

import os
import xml.etree.ElementTree as ET

import jinja2
import pytest

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
