"""The local provider touches only containers labelled with its cluster (issue 22, left
over from issue 13): a container that carries the name of one of the cluster's hosts but
not the label q8s_cluster=<cluster> (someone else's, or another cluster's) is neither
deleted by replace_host nor recreated by provisioning; both stop before they change
anything and name it. No guest boots here: the refusals come before any host exists.
"""

import subprocess
import sys
from pathlib import Path

import inventory_json
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "local.yml"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.local


def run(*cmd):
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    work = tmp_path_factory.mktemp("own")
    spec = yaml.safe_load(SPEC.read_text())
    spec.update(cluster_name="own", remote_ip_prefix="10.89.81.0/24", state_dir=str(work / "state"))
    spec["local"] = {"network": "q8s-own-test"}
    path = work / "own.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    inv = run(BIN / "ansible-inventory", "--list", "-e", "@%s" % path)
    assert inv.returncode == 0, inv.stdout + inv.stderr
    groups = inventory_json.loads(inv.stdout)
    host = groups["q8s_qemu_hosts"]["hosts"][0]
    guest = groups["_meta"]["hostvars"][host]["q8s_node"]["guest"]
    initial = groups["q8s_control_plane_initial"]["hosts"][0]
    yield {"spec": path, "state": work / "state", "host": host, "guest": guest, "initial": initial}
    run("podman", "rm", "--force", host)


def playbook(cluster, name, *args):
    return run(BIN / "ansible-playbook", "playbooks/%s" % name, "-e", "@%s" % cluster["spec"], *args)


def container_id(name):
    proc = run("podman", "container", "inspect", "--format", "{{.Id}}", name)
    return proc.stdout.strip() if proc.returncode == 0 else None


@pytest.mark.parametrize("labels, says", [([], "no q8s_cluster label"), (["--label", "q8s_cluster=own-2"], "label q8s_cluster=own-2")])
def test_a_container_of_a_host_name_without_the_cluster_label_is_left_alone(cluster, labels, says):
    host, guest = cluster["host"], cluster["guest"]
    run("podman", "rm", "--force", host)
    made = run("podman", "create", "--name", host, *labels, "localhost/q8s-host:base", "sleep", "infinity")
    assert made.returncode == 0, made.stderr
    before = container_id(host)

    limit = ",".join([host, guest, cluster["initial"], "localhost"])
    replaced = playbook(cluster, "repair/replace_host.yml", "--limit", limit, "-e", "q8s_confirm=replace_host", "--skip-tags", "kubernetes")
    assert replaced.returncode != 0, replaced.stdout[-3000:]
    assert "replace_host stops, nothing was changed: container %s (id %s) has %s" % (host, before[:12], says) in replaced.stdout, replaced.stdout[-3000:]
    assert container_id(host) == before

    provisioned = playbook(cluster, "provision.yml")
    assert provisioned.returncode != 0, provisioned.stdout[-3000:]
    assert "container %s exists on this machine but is not labelled q8s_cluster=own" % host in provisioned.stdout, provisioned.stdout[-3000:]
    assert container_id(host) == before
    assert run("podman", "network", "exists", "q8s-own-test").returncode != 0, "provisioning created the network before it refused"
    assert not (cluster["state"] / "id_ed25519").exists(), "provisioning made a key before it refused"


def test_the_cluster_own_container_is_deleted_by_id(cluster, tmp_path):
    """The other side: a container with the cluster's label is replace_host's to delete.
    The guest images named here do not exist, so provisioning stops right after the
    deletion, before anything boots."""
    spec = yaml.safe_load(cluster["spec"].read_text())
    for image in spec["guest_images"].values():
        image["source"] = "file://%s/missing.qcow2" % tmp_path
    path = tmp_path / "own.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    host, guest = cluster["host"], cluster["guest"]
    run("podman", "rm", "--force", host)
    made = run("podman", "create", "--name", host, "--label", "q8s_cluster=own", "localhost/q8s-host:base", "sleep", "infinity")
    assert made.returncode == 0, made.stderr
    limit = ",".join([host, guest, cluster["initial"], "localhost"])
    replaced = run(
        BIN / "ansible-playbook",
        "playbooks/repair/replace_host.yml",
        "-e",
        "@%s" % path,
        "--limit",
        limit,
        "-e",
        "q8s_confirm=replace_host",
        "--skip-tags",
        "kubernetes",
    )
    assert "guest image(s) file://%s/missing.qcow2" % tmp_path in replaced.stdout, replaced.stdout[-3000:]
    assert container_id(host) is None, "the cluster's own container was not deleted"


def network_id(name):
    proc = run("podman", "network", "inspect", "--format", "{{.ID}}", name)
    return proc.stdout.strip() if proc.returncode == 0 else None


def test_a_network_of_the_spec_name_is_used_and_deleted_only_with_the_cluster_label(cluster):
    """The podman network local.network names is the cluster's only with the label
    q8s_cluster=<cluster> (provision_local.yml makes it so): another network of the name is
    neither used nor deleted, and teardown stops while a container that is not the
    cluster's is attached to the cluster's network. No guest boots: every run stops or
    finds nothing to boot before a host exists."""
    host, network = cluster["host"], "q8s-own-test"
    subnet = yaml.safe_load(cluster["spec"].read_text())["remote_ip_prefix"]
    teardown = ("teardown.yml", "-e", "q8s_teardown_confirm=true")
    try:
        run("podman", "rm", "--force", host)
        run("podman", "network", "rm", "--force", network)

        # 1. someone else's network of the name: provisioning refuses it, teardown leaves it
        assert run("podman", "network", "create", "--subnet", subnet, network).returncode == 0
        theirs = network_id(network)
        provisioned = playbook(cluster, "provision.yml")
        assert provisioned.returncode != 0, provisioned.stdout[-3000:]
        assert "local.network: podman network %s exists on this machine but has no q8s_cluster label, not q8s_cluster=own" % network in provisioned.stdout, (
            provisioned.stdout[-3000:]
        )
        assert container_id(host) is None and not (cluster["state"] / "id_ed25519").exists(), "provisioning made something before it refused"
        down = playbook(cluster, *teardown)
        assert down.returncode == 0, down.stdout[-3000:]
        assert "Left as it is, not this cluster's: podman network %s (it has no q8s_cluster label)" % network in down.stdout, down.stdout[-3000:]
        assert network_id(network) == theirs
        run("podman", "network", "rm", network)

        # 2. the cluster's network with another subnet than remote_ip_prefix: refused
        assert run("podman", "network", "create", "--subnet", "10.89.82.0/24", "--label", "q8s_cluster=own", network).returncode == 0
        provisioned = playbook(cluster, "provision.yml")
        assert provisioned.returncode != 0, provisioned.stdout[-3000:]
        assert "remote_ip_prefix: %s, but the cluster's podman network %s has the subnet 10.89.82.0/24" % (subnet, network) in provisioned.stdout, (
            provisioned.stdout[-3000:]
        )
        assert container_id(host) is None

        # 3. a container that is not the cluster's on the cluster's network stops teardown
        # before anything is deleted; without it, the cluster's container and network go
        made = run("podman", "create", "--name", host, "--label", "q8s_cluster=own", "--network", network, "localhost/q8s-host:base", "sleep", "infinity")
        assert made.returncode == 0, made.stderr
        web = run("podman", "create", "--name", "own-test-web", "--network", network, "localhost/q8s-host:base", "sleep", "infinity")
        assert web.returncode == 0, web.stderr
        down = playbook(cluster, *teardown)
        assert down.returncode != 0, down.stdout[-3000:]
        assert (
            "podman network %s of cluster own is used by 1 container(s) that are not this cluster's: own-test-web (no q8s_cluster label)" % network
            in down.stdout
        ), down.stdout[-3000:]
        assert container_id(host) is not None and network_id(network) is not None
        run("podman", "rm", "--force", "own-test-web")
        down = playbook(cluster, *teardown)
        assert down.returncode == 0, down.stdout[-3000:]
        assert container_id(host) is None and network_id(network) is None
    finally:
        run("podman", "rm", "--force", "own-test-web", host)
        run("podman", "network", "rm", "--force", network)
