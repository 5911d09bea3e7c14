"""provision.yml and teardown.yml against a real OpenStack API on loopback (issue 3)."""

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import CLOUD_SH, cluster_servers, hosts_json, make_spec, playbook

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("q8s-int")


@pytest.fixture(scope="module")
def big(cloud_env, work, tenant):
    """Cluster 'alpha': 2 extra control planes and 4 workers of 2 types, provisioned."""
    spec = make_spec(work, "alpha", extra_cp=2, workers={"x86-small": 2, "arm-mid": 2})
    run = playbook(cloud_env, "provision.yml", spec)
    assert run.rc == 0, run
    yield spec, run
    playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")


def test_provision_creates_every_server_rule_and_keypair(big, tenant):
    spec = big[0]
    servers = {s.name: s for s in cluster_servers(tenant, "alpha")}
    expected = {
        "alpha--cp-0": ("q8s.medium", "control_plane", "none"),
        "alpha--cp-1": ("q8s.medium", "control_plane", "none"),
        "alpha--cp-2": ("q8s.medium", "control_plane", "none"),
        "alpha--x86-small-1-host": ("q8s.small", "qemu_host", "x86-small"),
        "alpha--x86-small-2-host": ("q8s.small", "qemu_host", "x86-small"),
        "alpha--arm-mid-1-host": ("q8s.medium", "qemu_host", "arm-mid"),
        "alpha--arm-mid-2-host": ("q8s.medium", "qemu_host", "arm-mid"),
    }
    assert sorted(servers) == sorted(expected)
    for name, (flavor, role, vm_type) in expected.items():
        s = servers[name]
        assert s.status == "ACTIVE", name
        assert s.flavor["original_name"] == flavor, name
        assert s.metadata["q8s_role"] == role
        assert s.metadata["q8s_vm_type"] == vm_type
        assert s.key_name == "alpha-cluster"
        assert {g["name"] for g in s.security_groups} == {"alpha-cluster"}
    assert servers["alpha--cp-0"].metadata["q8s_initial"] == "true"
    # hosts.json: every server -> its address on the network
    hosts = hosts_json(spec)["hosts"]
    assert sorted(hosts) == sorted(expected)
    for name, addr in hosts.items():
        assert addr == servers[name].addresses["private"][0]["addr"]
    # keypair: uploaded, and the private key is local with mode 0600
    state = Path(yaml.safe_load(Path(spec).read_text())["state_dir"])
    assert tenant.compute.find_keypair("alpha-cluster") is not None
    assert (state / "id_ed25519").stat().st_mode & 0o777 == 0o600


def test_security_group_rules_are_scoped(big, tenant):
    group = tenant.network.find_security_group("alpha-cluster")
    rules = list(tenant.network.security_group_rules(security_group_id=group.id))
    ingress = [r for r in rules if r.direction == "ingress"]
    by_group = [r for r in ingress if r.remote_group_id == group.id]
    by_cidr = [r for r in ingress if r.remote_ip_prefix]
    # nothing open to the world without the opt-in
    assert not [r for r in ingress if r.remote_ip_prefix == "0.0.0.0/0"]
    assert not [r for r in ingress if not r.remote_group_id and not r.remote_ip_prefix]
    tcp = {r.port_range_min for r in by_group if r.protocol == "tcp"}
    assert {22, 80, 443, 2222, 2379, 2380, 6443, 8472, 10250, 10256, 10257, 10259} <= tcp
    assert {(r.port_range_min, r.port_range_max) for r in by_group if r.protocol == "udp"} == {(8472, 8472), (30000, 32767)}
    assert (30000, 32767) in {(r.port_range_min, r.port_range_max) for r in by_group if r.protocol == "tcp"}
    assert any(r.protocol == "icmp" for r in by_group)
    assert sorted((r.remote_ip_prefix, r.port_range_min) for r in by_cidr) == [("198.51.100.0/24", 22), ("198.51.100.0/24", 6443)]


def test_rerun_changes_nothing(big, cloud_env, tenant):
    spec = big[0]
    run = playbook(cloud_env, "provision.yml", spec)
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert len(cluster_servers(tenant, "alpha")) == 7


def test_two_clusters_teardown_one(big, cloud_env, work, tenant):
    spec_b = make_spec(work, "beta", extra_cp=0, workers={"x86-small": 1})
    run = playbook(cloud_env, "provision.yml", spec_b)
    assert run.rc == 0, run
    assert len(cluster_servers(tenant, "beta")) == 2
    beta_ids = {s.id for s in cluster_servers(tenant, "beta")}

    refused = playbook(cloud_env, "teardown.yml", spec_b)
    assert refused.rc != 0 and "q8s_teardown_confirm=true" in refused.out
    assert len(cluster_servers(tenant, "beta")) == 2

    # A port made by hand and attached to one of beta's servers outlives the server (nova
    # deletes only the ports it made): teardown deletes it as a port the cluster's server
    # had (q8s.cluster.ports). A port of the same network that no server of beta had stays.
    net = tenant.network.find_network("private")
    attached = tenant.network.create_port(network_id=net.id, name="beta-extra")
    unrelated = tenant.network.create_port(network_id=net.id, name="someone-elses")
    host = next(s for s in cluster_servers(tenant, "beta") if s.name.endswith("-host"))
    tenant.compute.create_server_interface(host, port_id=attached.id)
    deadline = time.monotonic() + 120
    while tenant.network.get_port(attached.id).device_id != host.id and time.monotonic() < deadline:
        time.sleep(2)
    assert tenant.network.get_port(attached.id).device_id == host.id

    run = playbook(cloud_env, "teardown.yml", spec_b, "q8s_teardown_confirm=true")
    assert run.rc == 0, run
    assert cluster_servers(tenant, "beta") == []
    assert tenant.network.find_port(attached.id) is None, "the port the cluster's server had is left"
    assert tenant.network.find_port(unrelated.id) is not None
    tenant.network.delete_port(unrelated.id)
    assert tenant.network.find_security_group("beta-cluster") is None
    assert tenant.compute.find_keypair("beta-cluster") is None
    assert not [p for p in tenant.network.ports() if p.device_id in beta_ids]
    state = Path(yaml.safe_load(Path(spec_b).read_text())["state_dir"])
    assert not state.exists()
    # the other cluster is intact
    assert len([s for s in cluster_servers(tenant, "alpha") if s.status == "ACTIVE"]) == 7
    assert tenant.network.find_security_group("alpha-cluster") is not None
    assert tenant.compute.find_keypair("alpha-cluster") is not None

    again = playbook(cloud_env, "teardown.yml", spec_b, "q8s_teardown_confirm=true")
    assert again.rc == 0, again
    assert again.changed == 0, again


def _nothing_created(conn, name):
    assert cluster_servers(conn, name) == []
    assert conn.network.find_security_group(name + "-cluster") is None
    assert conn.compute.find_keypair(name + "-cluster") is None


def test_bad_credentials(cloud_env, work, tenant):
    clouds = yaml.safe_load(Path(cloud_env["OS_CLIENT_CONFIG_FILE"]).read_text())
    bad = clouds["clouds"]["q8s-test"]
    bad["auth"]["password"] = "wrong"
    clouds["clouds"]["q8s-bad"] = bad
    path = work / "clouds-bad.yaml"
    path.write_text(yaml.safe_dump(clouds))
    env = dict(cloud_env, OS_CLIENT_CONFIG_FILE=str(path))
    spec = make_spec(work, "gamma")
    run = playbook(env, "provision.yml", spec, cloud="q8s-bad")
    assert run.rc != 0
    assert "credentials: cannot authenticate to cloud q8s-bad" in run.out, run
    _nothing_created(tenant, "gamma")


def test_missing_flavor(cloud_env, work, tenant):
    spec = make_spec(work, "delta", flavor="q8s.nosuch")
    run = playbook(cloud_env, "provision.yml", spec)
    assert run.rc != 0
    assert "flavor: 'q8s.nosuch' does not exist (needed by delta--x86-small-1-host)" in run.out, run
    _nothing_created(tenant, "delta")


def test_names_that_several_networks_images_or_groups_carry(cloud_env, work, tenant):
    """A network, an image and an extra security group given by a name two of each carry, and
    an extra group that does not exist: the pre-flight names the four problems (with the IDs),
    and nothing is created (openstacksdk's find_* and Nova's server create fail on such names)."""
    # An interrupted earlier run may have left objects of these names (the cloud's databases outlive a run).
    made = [("network", o) for o in tenant.network.networks(name="q8s-dup-net")]
    made += [("image", o) for o in tenant.image.images(name="q8s-dup-image")]
    made += [("group", o) for o in tenant.network.security_groups(name="q8s-dup-sg")]
    _delete(tenant, made)
    made = []
    try:
        for number in (1, 2):
            made.append(("network", tenant.network.create_network(name="q8s-dup-net")))
            made.append(("image", tenant.image.create_image(name="q8s-dup-image", disk_format="qcow2", container_format="bare", allow_duplicates=True)))
            made.append(("group", tenant.network.create_security_group(name="q8s-dup-sg", description="made by hand, %d of 2" % number)))
        spec = make_spec(work, "iota", private_network_id="q8s-dup-net", default_image_name="q8s-dup-image", security_groups=["q8s-dup-sg", "q8s-nosuch-sg"])
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc != 0
        nets = ", ".join(sorted(o.id for kind, o in made if kind == "network"))
        images = ", ".join(sorted(o.id for kind, o in made if kind == "image"))
        groups = ", ".join(sorted(o.id for kind, o in made if kind == "group"))
        assert "pre-flight found 4 problem(s)" in run.out, run
        assert "private_network_id: 'q8s-dup-net' names 2 networks (ids %s)" % nets in run.out, run
        assert "default_image_name: 'q8s-dup-image' names 2 images (ids %s)" % images in run.out, run
        assert "security_groups: 'q8s-dup-sg' names 2 security groups of this project (ids %s)" % groups in run.out, run
        assert "security_groups: 'q8s-nosuch-sg' is not a security group of this project" in run.out, run
        assert "DuplicateResource" not in run.out and "More than one" not in run.out, run
        _nothing_created(tenant, "iota")
    finally:
        _delete(tenant, made)


def _delete(conn, made):
    for kind, obj in made:
        if kind == "network":
            conn.network.delete_network(obj, ignore_missing=True)
        elif kind == "group":
            conn.network.delete_security_group(obj, ignore_missing=True)
        else:
            conn.image.delete_image(obj, ignore_missing=True)


def test_quota_too_small(cloud_env, work, tenant, admin):
    demo = admin.identity.find_project("demo", domain_id="default")
    before = admin.get_compute_quotas(demo.id)
    in_use = len(list(tenant.compute.servers()))
    admin.set_compute_quotas(demo.id, instances=in_use + 1)
    try:
        spec = make_spec(work, "epsilon", extra_cp=1, workers={"x86-small": 1})
        run = playbook(cloud_env, "provision.yml", spec)
    finally:
        admin.set_compute_quotas(demo.id, instances=before["instances"])
    assert run.rc != 0
    assert "quota: instances: the cluster needs 3 more, the project has 1 free" in run.out, run
    _nothing_created(tenant, "epsilon")


def test_fault_mid_run_then_rerun_converges(cloud_env, work, tenant):
    spec = make_spec(work, "zeta", extra_cp=0, workers={"x86-small": 2})
    cloud = [str(CLOUD_SH)]
    subprocess.run(cloud + ["stop-compute"], check=True, env=cloud_env)
    try:
        run = playbook(cloud_env, "provision.yml", spec, "q8s_provision_wait_retries=5", "q8s_provision_wait_delay=2")
    finally:
        subprocess.run(cloud + ["start-compute"], check=True, env=cloud_env)
    assert run.rc != 0
    assert "did not become ACTIVE" in run.out, run
    for name in ("zeta--cp-0", "zeta--x86-small-1-host", "zeta--x86-small-2-host"):
        assert name in run.out, run
    run = playbook(cloud_env, "provision.yml", spec)
    assert run.rc == 0, run
    servers = cluster_servers(tenant, "zeta")
    assert sorted(s.name for s in servers) == ["zeta--cp-0", "zeta--x86-small-1-host", "zeta--x86-small-2-host"]
    assert all(s.status == "ACTIVE" for s in servers)
    run = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")
    assert run.rc == 0, run
    assert cluster_servers(tenant, "zeta") == []


def test_server_no_host_takes_reports_novas_fault(cloud_env, work, tenant, admin):
    """A server in ERROR is named with Nova's fault message, also when Nova's list omits it.

    A flavor that requires a trait no compute host has: the scheduler finds no host
    (NoValidHost) and Nova keeps the server in cell0, whose faults its detailed list does
    not read."""
    flavor = admin.compute.create_flavor(name="q8s.nowhere", vcpus=1, ram=1024, disk=10, is_public=True)
    spec = make_spec(work, "omicron", flavor="q8s.nowhere")
    try:
        admin.compute.create_flavor_extra_specs(flavor, {"trait:CUSTOM_Q8S_NOWHERE": "required"})
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc != 0, run
        assert "1 server(s) of cluster omicron did not become ACTIVE: omicron--x86-small-1-host (ERROR: No valid host was found" in run.out, run
        assert sorted((s.name, s.status) for s in cluster_servers(tenant, "omicron")) == [
            ("omicron--cp-0", "ACTIVE"),
            ("omicron--x86-small-1-host", "ERROR"),
        ]
    finally:
        down = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")
        admin.compute.delete_flavor(flavor, ignore_missing=True)
    assert down.rc == 0, down
    assert cluster_servers(tenant, "omicron") == []


def test_existing_keypair_without_private_key(cloud_env, work, tenant):
    tenant.compute.create_keypair(name="eta-cluster", public_key=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBeS8Ud0bB1P2X8m3qvhlmyCZmC2pX3p7yeK4bLtX3mL eta"))
    try:
        spec = make_spec(work, "eta")
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc != 0
        assert "keypair eta-cluster exists in the cloud but its private key is not at" in run.out
        assert cluster_servers(tenant, "eta") == []
    finally:
        tenant.compute.delete_keypair("eta-cluster", ignore_missing=True)


def test_adopt_initial_instance(cloud_env, work, tenant):
    """name_of_initial_instance: the existing server becomes the initial control plane;
    q8s only adds it to the cluster security group, and teardown only takes it out."""
    image = tenant.image.find_image("q8s-test-image")
    flavor = tenant.compute.find_flavor("q8s.medium")
    net = tenant.network.find_network("private")
    own = tenant.compute.create_server(name="theta-controller", image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": net.id}])
    own = tenant.compute.wait_for_server(own, wait=300)
    try:
        spec = make_spec(work, "theta", extra_cp=1, workers={"x86-small": 1}, name_of_initial_instance="theta-controller")
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc == 0, run
        names = sorted(s.name for s in cluster_servers(tenant, "theta"))
        assert names == ["theta--cp-1", "theta--x86-small-1-host"], names
        assert tenant.compute.find_server("theta--cp-0") is None
        groups = {g["name"] for g in tenant.compute.get_server(own.id).security_groups}
        assert "theta-cluster" in groups
        hosts = hosts_json(spec)["hosts"]
        assert hosts["theta-controller"] == own.addresses["private"][0]["addr"]
        again = playbook(cloud_env, "provision.yml", spec)
        assert again.rc == 0 and again.changed == 0, again

        # Someone puts a group of the cluster group's name on the adopted server: teardown
        # takes the cluster's group off by its ID and leaves that one (and says so).
        cluster_group = tenant.network.find_security_group("theta-cluster")
        look_alike = tenant.network.create_security_group(name="theta-cluster", description="made by hand")
        (port,) = list(tenant.network.ports(device_id=own.id))
        tenant.network.update_port(port, security_group_ids=list(port.security_group_ids) + [look_alike.id])
        run = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")
        assert run.rc == 0, run
        assert cluster_servers(tenant, "theta") == []
        kept = tenant.compute.get_server(own.id)
        assert kept.status == "ACTIVE"
        ids = set(tenant.network.get_port(port.id).security_group_ids)
        assert look_alike.id in ids and cluster_group.id not in ids, ids
        assert ids == (set(port.security_group_ids) - {cluster_group.id}) | {look_alike.id}
        assert [g.id for g in tenant.network.security_groups(name="theta-cluster")] == [look_alike.id]
        assert "security group theta-cluster (id %s" % look_alike.id in run.out, run
    finally:
        tenant.compute.delete_server(own.id, ignore_missing=True)
        tenant.compute.wait_for_delete(own, wait=300)
        for group in tenant.network.security_groups(name="theta-cluster"):
            tenant.network.delete_security_group(group, ignore_missing=True)
