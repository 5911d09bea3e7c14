"""roles/qemu_host's host state: packages, libvirtd, the emulators libvirt knows,
unprivileged QEMU, firmware and the guest image cache (Molecule qemu_host)."""

import pytest
from q8s_testinfra import load_yaml

ROLE_VARS = load_yaml("roles", "qemu_host", "vars", "main.yml")
# The emulator binary and the aarch64 firmware the guests' domains name (emulated_worker's vars).
WORKER_VARS = load_yaml("roles", "emulated_worker", "vars", "main.yml")


@pytest.fixture(scope="module")
def architectures(role_var):
    return role_var("qemu_host", "qemu_host_architectures")


def test_packages_installed(host, architectures, role_var):
    distribution = {name.lower(): name for name in ROLE_VARS["__qemu_host_supported"]}[host.system_info.distribution]
    wanted = list(ROLE_VARS["__qemu_host_packages_common"])
    for arch in architectures:
        wanted += ROLE_VARS["__qemu_host_packages_arch"][arch][distribution]
    wanted += role_var("qemu_host", "qemu_host_extra_packages")
    missing = [name for name in wanted if not host.package(name).is_installed]
    assert not missing


def test_libvirtd_enabled_and_socket_activated(host):
    """libvirtd starts at boot and on demand: Debian runs it with --timeout 120, so an idle
    libvirtd exits and its socket unit starts it again; "running" is no lasting state."""
    assert host.service("libvirtd").is_enabled
    socket = host.service("libvirtd.socket")
    assert socket.is_enabled
    assert socket.is_running


def test_libvirt_socket_listening(host):
    assert host.socket("unix:///run/libvirt/libvirt-sock").is_listening


def test_libvirt_knows_the_emulators(host, architectures, role_var):
    caps = host.check_output("virsh --connect %s capabilities", role_var("qemu_host", "qemu_host_libvirt_uri"))
    for arch in architectures:
        assert "<emulator>%s</emulator>" % WORKER_VARS["__emulated_worker_arch"][arch]["emulator"] in caps, arch


def test_qemu_runs_unprivileged(host, role_var):
    conf = host.file("/etc/libvirt/qemu.conf")
    assert conf.mode == 0o600
    settings = [line for line in conf.content_string.splitlines() if line.startswith(("user = ", "group = "))]
    assert settings == [
        'user = "%s"' % role_var("qemu_host", "qemu_host_qemu_user"),
        'group = "%s"' % role_var("qemu_host", "qemu_host_qemu_group"),
    ]
    assert role_var("qemu_host", "qemu_host_qemu_user") != "root"


def test_aarch64_firmware(host, architectures):
    if "aarch64" not in architectures:
        pytest.skip("no aarch64 guests on this host")
    assert host.file(WORKER_VARS["__emulated_worker_aavmf_code"]).is_file


def test_image_cache_directory(host, role_var):
    cache = host.file(role_var("qemu_host", "qemu_host_image_dir"))
    assert cache.is_directory
    assert (cache.user, cache.group, cache.mode) == ("root", "root", 0o755)


def test_cached_images_read_only_and_verified(host, role_var):
    images = role_var("qemu_host", "qemu_host_images")
    if not images:
        pytest.skip("no images in qemu_host_images")
    for image in images:
        cached = host.file("%s/%s" % (role_var("qemu_host", "qemu_host_image_dir"), image["name"]))
        algorithm, digest = image["checksum"].split(":", 1)
        assert algorithm == "sha256", image["name"]
        assert cached.is_file, image["name"]
        assert cached.mode == 0o444, image["name"]
        assert cached.sha256sum == digest.lower(), image["name"]
