"""Golden images end to end with the local provider, for real: playbooks/golden_images.yml
builds an x86_64 image under TCG (a builder guest installs a package, installs
q8s-firstboot, exports its kernel and seals itself), guests.yml boots a guest from it with
the kernel directly and q8s-firstboot instead of cloud-init, and a guest that needs more
from cloud-init still gets cloud-init on the same image.

Its own small cluster ("goldtest", one x86_64 host) and its own golden image directory, so
that nothing here leaks into other clusters. Run by tests/local.sh (make local).
"""

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from test_local_provider import SPEC, VENV_BIN, recap, run
from test_local_provider import ssh as guest_ssh

pytestmark = pytest.mark.local

NAME = "goldtest"
GUEST = NAME + "--x86-small-1"
HOST = GUEST + "-host"
# One small package: the test is about the mechanism, the benchmark about the full set.
PACKAGES = ["socat"]


def playbook(spec_file, name, *args):
    return run(VENV_BIN / "ansible-playbook", "playbooks/" + name, "-e", "@%s" % spec_file, *args)


def in_host(*cmd):
    return run("podman", "exec", HOST, *cmd)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("golden")
    data = yaml.safe_load(SPEC.read_text())
    data.update(cluster_name=NAME, remote_ip_prefix="10.89.83.0/24", state_dir=str(tmp / "state"), local={"network": "q8s-" + NAME})
    data["cluster_definition"]["worker"] = {"x86-small": 1}
    data["vm_types"] = {"x86-small": data["vm_types"]["x86-small"]}
    spec_file = tmp / "goldtest.yml"
    spec_file.write_text(yaml.safe_dump(data))
    images = tmp / "images"
    common = ["-e", "q8s_golden_dir=%s" % images, "-e", "q8s_kubernetes_skip_binaries=true", "-e", json.dumps({"q8s_golden_packages": PACKAGES})]
    # The test bed and the images provision.yml needs, as scripts/deploy.sh makes them: this
    # module also runs alone (make local-golden), before or beside the example's deploy.
    run("tests/testbed/prepare.sh", check=True)
    run("tests/testbed/build-images.sh", "host", "amd64", check=True)
    playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")
    ctx = {"spec": spec_file, "data": data, "images": images, "common": common, "key": tmp / "state" / "id_ed25519"}
    try:
        for step in ("provision.yml", "golden_images.yml", "guests.yml"):
            out = playbook(spec_file, step, *common)
            assert out.returncode == 0, "%s failed:\n%s" % (step, out.stdout[-8000:])
            ctx[step] = out
        ctx["address"] = json.loads((tmp / "state" / "hosts.json").read_text())["hosts"][HOST]
        yield ctx
    finally:
        down = playbook(spec_file, "teardown.yml", "-e", "q8s_teardown_confirm=true")
        assert down.returncode == 0, down.stdout[-4000:]


def ssh(ctx, command):
    return guest_ssh(ctx["key"], ctx["address"], command)


def sha256(path):
    return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_manifest_names_image_kernel_and_initrd_with_checksums(cluster):
    manifest = json.loads((cluster["images"] / "golden-x86_64-k1.34.1.json").read_text())
    assert manifest["firstboot"] is True
    assert manifest["cmdline"].startswith("root=UUID=") and manifest["cmdline"].endswith(" ro"), manifest["cmdline"]
    for item in (manifest, manifest["kernel"], manifest["initrd"]):
        assert Path(item["source"]).is_file(), item
        assert sha256(item["source"]) == item["checksum"], item
    assert manifest["recipe"]["packages"] == PACKAGES
    header = Path(manifest["kernel"]["source"]).read_bytes()[:0x210]
    assert header[0x202:0x206] == b"HdrS", "not a Linux x86 kernel image"


def test_builder_leaves_nothing_behind(cluster):
    domains = in_host("virsh", "list", "--all", "--name").stdout.split()
    assert not [d for d in domains if "golden" in d], domains
    left = in_host("find", "/var/lib/libvirt/images/q8s", "/var/lib/q8s/golden", "-mindepth", "1", "-name", "*golden*").stdout.split()
    assert left == [], left


def test_guest_boots_the_kernel_directly_and_without_cloud_init(cluster):
    xml = in_host("virsh", "dumpxml", GUEST).stdout
    assert "<kernel>" in xml and "<initrd>" in xml and "q8s.firstboot" in xml and "cloud-init=disabled" in xml, xml
    console = in_host("cat", "/var/log/libvirt/qemu/%s-console.log" % GUEST).stdout
    assert "q8s-firstboot: ready" in console, console[-3000:]
    assert "Cloud-init v." not in console, console[-3000:]
    status = ssh(cluster, "cloud-init status || true")
    assert "disabled" in status.stdout, (status.stdout, status.stderr)


def test_firstboot_configures_the_guest_as_the_seed_says(cluster):
    data = cluster["data"]
    vm = data["vm_types"]["x86-small"]
    cmd = (
        "hostname; id -nG; sudo -n true && echo sudo-ok; ip -4 -o addr show eth0; ip route show default; "
        "grep -c '^nameserver ' /etc/resolv.conf; lsblk -bdno SIZE /dev/vda; df -B1 --output=size / | tail -1; "
        "ls /etc/ssh/ | grep -c '^ssh_host_.*_key$'; sudo sshd -T | grep -i '^passwordauthentication'; "
        "dpkg-query -W -f '${db:Status-Status}\\n' %s; systemctl is-system-running || true" % " ".join(PACKAGES)
    )
    proc = ssh(cluster, cmd)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    lines = proc.stdout.splitlines()
    assert lines[0] == GUEST
    assert "sudo" in lines[1].split() and lines[2] == "sudo-ok"
    assert " inet " in lines[3] and "/" in lines[3] and lines[4].startswith("default via "), lines[3:5]
    assert int(lines[5]) >= 1
    disk, root = int(lines[6]), int(lines[7])
    assert disk == vm["storage"] * 1024**3 and root > 0.8 * disk, (disk, root)
    assert int(lines[8]) == 2, "ed25519 and ecdsa host keys, generated in this guest"
    assert lines[9].lower() == "passwordauthentication no"
    assert lines[10] == "installed"
    assert lines[11] in ("running", "degraded"), lines[11]


def test_reruns_change_nothing(cluster):
    for step in ("golden_images.yml", "guests.yml"):
        again = playbook(cluster["spec"], step, *cluster["common"])
        assert again.returncode == 0, again.stdout[-6000:]
        changes = recap(again.stdout)
        assert changes and all(changed == 0 for changed, _failed in changes.values()), (step, again.stdout[-6000:])


def test_guest_with_more_cloud_config_still_gets_cloud_init(cluster):
    """Extra cloud-config (here write_files) is cloud-init's: the same golden image and
    kernel, booted without q8s.firstboot, so cloud-init runs the whole seed."""
    extra = {"emulated_worker_cloud_config": {"write_files": [{"path": "/etc/q8s-test-marker", "content": "cloud-init was here\n"}]}}
    rebuilt = playbook(cluster["spec"], "guests.yml", *cluster["common"], "-e", "emulated_worker_recreate=true", "-e", json.dumps(extra))
    assert rebuilt.returncode == 0, rebuilt.stdout[-6000:]
    xml = in_host("virsh", "dumpxml", GUEST).stdout
    assert "<kernel>" in xml and "q8s.firstboot" not in xml, xml
    console = in_host("cat", "/var/log/libvirt/qemu/%s-console.log" % GUEST).stdout
    assert "Cloud-init v." in console and "q8s-firstboot: ready" not in console, console[-3000:]
    proc = ssh(cluster, "hostname; cat /etc/q8s-test-marker; dpkg-query -W -f '${db:Status-Status}\\n' %s" % " ".join(PACKAGES))
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stdout.splitlines() == [GUEST, "cloud-init was here", "installed"], proc.stdout
