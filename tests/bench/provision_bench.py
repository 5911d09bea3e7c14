"""Provisioning benchmark: provision.yml vs the upstream way (one server at a time).

    .venv/bin/python tests/bench/provision_bench.py [--hosts 50]

Starts the loopback cloud (tests/integration/cloud/cloud.sh) when it is not running, and
stops it again afterwards.
Against the loopback cloud (Q8S_CLOUD_DIR, default /var/tmp/q8s-cloud) both create and
wait for the same number of servers (q8s.small): first a small openstacksdk script that
creates one server, waits for ACTIVE, then the next (as upstream Q8S did), then
playbooks/provision.yml for a cluster of the same size (1 control plane + hosts-1 QEMU
hosts). Prints both times and the ratio; everything is deleted afterwards.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CLOUD_DIR = Path(os.environ.get("Q8S_CLOUD_DIR", "/var/tmp/q8s-cloud"))
CLOUD_SH = ROOT / "tests" / "integration" / "cloud" / "cloud.sh"


def baseline(conn, n):
    net = conn.network.find_network("private")
    image = conn.image.find_image("q8s-test-image")
    flavor = conn.compute.find_flavor("q8s.small")
    servers = []
    t0 = time.monotonic()
    for i in range(n):
        server = conn.compute.create_server(
            name="bench-seq-%d" % i, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": net.id}], metadata={"q8s_cluster": "bench-seq"}
        )
        servers.append(conn.compute.wait_for_server(server, wait=600))
    elapsed = time.monotonic() - t0
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=600)
    return elapsed


def playbook_run(n, env, workdir):
    spec = {
        "cluster_name": "benchq8s",
        "private_network_id": "private",
        "remote_ip_prefix": "192.0.2.0/24",
        "default_image_name": "q8s-test-image",
        "state_dir": str(workdir / "state"),
        "cluster_definition": {"master_node_flavor": "q8s.small", "number_additional_master_nodes": 0, "worker": {"x86-small": n - 1}},
        "vm_types": {
            "x86-small": {"architecture": "x86_64", "num_cpus": 1, "cpu_model": "EPYC-Rome", "ram": 512, "storage": 5, "openstack_flavor": "q8s.small"}
        },
    }
    path = workdir / "bench.yml"
    path.write_text(yaml.safe_dump(spec))
    bindir = Path(sys.executable).parent
    common = ["-e", "@%s" % path, "-e", "q8s_cloud=q8s-test", "-e", "q8s_provision_wait_for_ssh=false"]
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(bindir / "ansible-playbook"), "playbooks/provision.yml"] + common, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - t0
    subprocess.run(
        [str(bindir / "ansible-playbook"), "playbooks/teardown.yml"] + common + ["-e", "q8s_teardown_confirm=true"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit("provision.yml failed:\n" + proc.stdout[-3000:] + proc.stderr[-2000:])
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    args = parser.parse_args()
    clouds = CLOUD_DIR / "clouds.yaml"
    started = False
    if not _cloud_up(clouds):
        # make bench is self-contained: start the loopback cloud, stop it afterwards.
        print("provision_bench: starting the loopback cloud (tests/integration/cloud/cloud.sh)")
        subprocess.run([str(CLOUD_SH), "install"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([str(CLOUD_SH), "start"], check=True, stdout=subprocess.DEVNULL)
        started = True
    try:
        _measure(args, clouds)
    finally:
        if started:
            subprocess.run([str(CLOUD_SH), "stop"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _cloud_up(clouds):
    try:
        socket.create_connection(("127.0.0.1", 5000), timeout=2).close()
    except OSError:
        return False
    return clouds.exists()


def _measure(args, clouds):
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(clouds)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), no_proxy="127.0.0.1,localhost")
    import openstack

    conn = openstack.connect(cloud="q8s-test")
    seq = baseline(conn, args.hosts)
    print("baseline (one at a time, openstacksdk): %d servers in %.1f s" % (args.hosts, seq))
    with tempfile.TemporaryDirectory() as tmp:
        par = playbook_run(args.hosts, env, Path(tmp))
    print("provision.yml (concurrent):              %d servers in %.1f s" % (args.hosts, par))
    print("speed-up: %.1fx (goal: at least 5x)" % (seq / par))


if __name__ == "__main__":
    main()
