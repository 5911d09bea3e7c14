"""Fixtures for the integration tests against the loopback OpenStack cloud.

The cloud comes from tests/integration/cloud/cloud.sh (run.sh starts it); its work dir is
Q8S_CLOUD_DIR (default /var/tmp/q8s-cloud), whose clouds.yaml has the clouds q8s-test
(the demo tenant the playbooks act as) and q8s-admin.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLOUD_DIR = Path(os.environ.get("Q8S_CLOUD_DIR", "/var/tmp/q8s-cloud"))
CLOUDS_YAML = CLOUD_DIR / "clouds.yaml"
CLOUD_SH = ROOT / "tests" / "integration" / "cloud" / "cloud.sh"


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs the loopback OpenStack cloud (tests/integration/run.sh)")


@pytest.fixture(scope="session")
def cloud_env():
    if not CLOUDS_YAML.exists():
        pytest.skip("no loopback cloud: run tests/integration/run.sh (or cloud.sh start)")
    env = dict(os.environ)
    env.update(
        OS_CLIENT_CONFIG_FILE=str(CLOUDS_YAML),
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.pop("OS_CLOUD", None)
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(CLOUDS_YAML)  # for openstacksdk in the tests
    return env


@pytest.fixture(scope="session")
def admin(cloud_env):
    import openstack

    return openstack.connect(cloud="q8s-admin")


@pytest.fixture(scope="session")
def tenant(cloud_env):
    import openstack

    conn = openstack.connect(cloud="q8s-test")
    purge_leftovers(conn)
    return conn


def purge_leftovers(conn):
    """Delete what an interrupted earlier run left in the test project (the cloud's
    databases outlive a run): every server, every port no server or network service holds
    (the tests make such ports by hand), cluster keypair and cluster security group. The
    tests then start from an empty project, whatever happened before."""
    servers = list(conn.compute.servers())
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=300)
    for port in conn.network.ports(project_id=conn.current_project_id):
        if not port.device_owner:
            conn.network.delete_port(port, ignore_missing=True)
    for keypair in conn.compute.keypairs():
        if keypair.name.endswith("-cluster"):
            conn.compute.delete_keypair(keypair, ignore_missing=True)
    for group in conn.network.security_groups():
        if group.name.endswith("-cluster"):
            conn.network.delete_security_group(group, ignore_missing=True)


def make_spec(path, name, extra_cp=0, workers=None, flavor="q8s.small", **top):
    """Write a cluster spec for the loopback cloud; returns its path."""
    spec = {
        "cluster_name": name,
        "private_network_id": "private",
        "remote_ip_prefix": "192.0.2.0/24",
        "default_image_name": "q8s-test-image",
        "admin_cidr": "198.51.100.0/24",
        "state_dir": str(path / ("state-" + name)),
        "cluster_definition": {
            "master_node_flavor": "q8s.medium",
            "number_additional_master_nodes": extra_cp,
            "worker": workers or {"x86-small": 1},
        },
        "vm_types": {
            "x86-small": {"architecture": "x86_64", "num_cpus": 1, "cpu_model": "EPYC-Rome", "ram": 512, "storage": 5, "openstack_flavor": flavor},
            "arm-mid": {"architecture": "arm_64", "num_cpus": 2, "cpu_model": "cortex-a57", "ram": 1024, "storage": 5, "openstack_flavor": "q8s.medium"},
        },
    }
    spec.update(top)
    spec["vm_types"] = {k: v for k, v in spec["vm_types"].items() if k in spec["cluster_definition"]["worker"]}
    out = path / (name + ".yml")
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout + proc.stderr
        m = re.search(r"localhost\s+:\s+ok=(\d+)\s+changed=(\d+)", self.out)
        self.changed = int(m.group(2)) if m else None

    def __repr__(self):
        # The failed tasks first: pytest shortens long assertion messages.
        failed = [line for line in self.out.splitlines() if line.startswith(("fatal:", "failed:", "FAILED"))]
        return "rc=%s changed=%s\n%s\n%s" % (self.rc, self.changed, "\n".join(failed)[:3000], self.out[-6000:])


def playbook(env, name, spec, *extra, cloud="q8s-test", timeout=1800):
    cmd = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        str(ROOT / "playbooks" / name),
        "-e",
        "@" + str(spec),
        "-e",
        "q8s_cloud=" + cloud,
        "-e",
        "q8s_provision_wait_for_ssh=false",
    ]
    for e in extra:
        cmd += ["-e", e]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return Run(proc)


def teardown_left(env, conn, spec, *extra):
    """A test's cleanup: teardown.yml, only when the cluster left something in the cloud
    (a server with its metadata, a keypair or security group of its names). After a test
    that tore the cluster down itself, another teardown.yml run would only find nothing,
    at 15-40 s on a loaded machine."""
    name = yaml.safe_load(Path(spec).read_text())["cluster_name"]
    own = name + "-cluster"
    if cluster_servers(conn, name) or conn.compute.find_keypair(own) or conn.network.find_security_group(own):
        return playbook(env, "teardown.yml", spec, "q8s_teardown_confirm=true", *extra)
    return None


def cluster_servers(conn, name):
    return [s for s in conn.compute.servers() if (s.metadata or {}).get("q8s_cluster") == name]


def hosts_json(spec_path):
    spec = yaml.safe_load(Path(spec_path).read_text())
    return json.loads((Path(spec["state_dir"]) / "hosts.json").read_text())
