"""Destroy only what the cluster owns (issue 13), on the loopback OpenStack.

Two clusters share the project: demo, and demo-2 whose spec also lists demo's security
group; beside them a foreign server (no q8s metadata) carries the name of one of demo's
QEMU hosts. Provisioning, replace_host on demo and the teardowns must leave every server,
port, security group and keypair of the other cluster and the foreign server as they were.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from inventory_names import Names

from conftest import ROOT, Run, cluster_servers, hosts_json, make_spec, playbook, teardown_left

pytestmark = pytest.mark.integration


def ansible(env, *argv, timeout=1800):
    cmd = [str(Path(sys.executable).with_name(argv[0]))] + list(argv[1:])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return Run(proc)


def replace_host(env, spec, limit, *extra):
    # The stages after provisioning need SSH to real hosts: the fake servers have none.
    return ansible(
        env,
        "ansible-playbook",
        str(ROOT / "playbooks" / "repair" / "replace_host.yml"),
        "-e",
        "@" + str(spec),
        "-e",
        "q8s_cloud=q8s-test",
        "-e",
        "q8s_provision_wait_for_ssh=false",
        "--limit",
        limit,
        "--skip-tags",
        "hosts,guests,kubernetes",
        *extra,
    )


def snapshot(conn, cluster=None, server_ids=()):
    """Every server, port, security group and keypair of a cluster (by its metadata and
    names) and of the given servers: ids with what identifies their state."""
    servers = {s.id: s for s in conn.compute.servers() if s.id in server_ids}
    if cluster:
        servers.update({s.id: s for s in cluster_servers(conn, cluster)})
    ports = {p.id: (p.device_id, tuple(sorted(p.security_group_ids or []))) for p in conn.network.ports() if p.device_id in servers}
    out = {
        "servers": {i: (s.name, s.status, tuple(sorted(g["name"] for g in s.security_groups or []))) for i, s in servers.items()},
        "ports": ports,
    }
    if cluster:
        group = conn.network.find_security_group(cluster + "-cluster")
        keypair = conn.compute.find_keypair(cluster + "-cluster")
        out["security_group"] = group.id if group else None
        out["keypair"] = keypair.fingerprint if keypair else None
    return out


def assert_counted(snap):
    """A snapshot that can show a loss: it has servers, each with a port."""
    assert snap["servers"], snap
    assert len(snap["ports"]) >= len(snap["servers"]), snap


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("q8s-own")


def test_two_clusters_and_a_foreign_server(cloud_env, work, tenant):
    demo = make_spec(work, "demo", workers={"x86-small": 2})
    demo2 = make_spec(work, "demo-2", workers={"x86-small": 1}, security_groups=["demo-cluster"])
    foreign = None
    try:
        run = playbook(cloud_env, "provision.yml", demo)
        assert run.rc == 0, run
        run = playbook(cloud_env, "provision.yml", demo2)
        assert run.rc == 0, run
        demo_group = tenant.network.find_security_group("demo-cluster")
        assert demo_group is not None
        for server in cluster_servers(tenant, "demo-2"):
            assert "demo-cluster" in {g["name"] for g in server.security_groups}

        names = Names(cloud_env, demo)
        initial = names.initial
        assert len(names.qemu_hosts) == 2
        kept, lost = names.qemu_hosts
        kept_guest, lost_guest = names.guest(kept), names.guest(lost)

        # demo loses a server, and a server that is not q8s's takes its name.
        lost_server = next(s for s in cluster_servers(tenant, "demo") if s.name == lost)
        tenant.compute.delete_server(lost_server)
        tenant.compute.wait_for_delete(lost_server, wait=300)
        image = tenant.image.find_image("q8s-test-image")
        flavor = tenant.compute.find_flavor("q8s.small")
        net = tenant.network.find_network("private")
        foreign = tenant.compute.create_server(name=lost, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": net.id}])
        foreign = tenant.compute.wait_for_server(foreign, wait=300)
        assert not (foreign.metadata or {}).get("q8s_cluster")

        other = snapshot(tenant, "demo-2", [foreign.id])
        assert_counted(other)
        assert len(other["servers"]) == 3  # demo-2's two and the foreign one
        mine = snapshot(tenant, "demo")
        assert_counted(mine)

        # 1. provision never adopts nor duplicates the foreign server: refused, nothing created
        run = playbook(cloud_env, "provision.yml", demo)
        assert run.rc != 0, run
        assert "%r (id %s) exists in this project but is not a server of cluster demo" % (lost, foreign.id) in run.out, run
        assert "rename or delete that server" in run.out, run
        assert snapshot(tenant, "demo") == mine
        assert snapshot(tenant, "demo-2", [foreign.id]) == other

        # 2. replace_host of the host whose name the foreign server carries: stops, changes nothing
        run = replace_host(cloud_env, demo, ",".join([lost, lost_guest, initial, "localhost"]), "-e", "q8s_confirm=replace_host")
        assert run.rc != 0, run
        assert "replace_host stops, nothing was changed: server %s (id %s) has no q8s_cluster metadata" % (lost, foreign.id) in run.out, run
        assert snapshot(tenant, "demo") == mine
        assert snapshot(tenant, "demo-2", [foreign.id]) == other

        # 3. a limit that reads as if it named localhost but does not select it
        run = replace_host(cloud_env, demo, ",".join([kept, kept_guest, initial, "localhost", "!localhost"]), "-e", "q8s_confirm=replace_host")
        assert run.rc != 0, run
        assert "must select at least one QEMU host and both of these" in run.out, run
        assert snapshot(tenant, "demo") == mine

        # 4. no consent, no change
        limit_file = work / "limit"
        limit_file.write_text("\n".join([kept, kept_guest, initial, "localhost"]) + "\n")
        run = replace_host(cloud_env, demo, "@" + str(limit_file))
        assert run.rc != 0 and "q8s_confirm=replace_host" in run.out, run
        assert snapshot(tenant, "demo") == mine

        # 5. replace_host of the other host, limit from a file: that server only is new
        before = {s.name: s.id for s in cluster_servers(tenant, "demo")}
        run = replace_host(cloud_env, demo, "@" + str(limit_file), "-e", "q8s_confirm=replace_host")
        assert run.rc == 0, run
        after = {s.name: s.id for s in cluster_servers(tenant, "demo")}
        assert sorted(after) == sorted(before), "only the replaced host, not the lost one, is recreated"
        assert lost not in after
        assert after[kept] != before[kept]
        assert {n: i for n, i in after.items() if n != kept} == {n: i for n, i in before.items() if n != kept}
        assert kept in hosts_json(demo)["hosts"]
        assert snapshot(tenant, "demo-2", [foreign.id]) == other

        # 6. teardown of demo while demo-2's servers carry demo's group: refused, nothing deleted
        mine = snapshot(tenant, "demo")
        run = playbook(cloud_env, "teardown.yml", demo, "q8s_teardown_confirm=true")
        assert run.rc != 0, run
        assert "security group demo-cluster of cluster demo is used by" in run.out, run
        assert "Nothing was deleted" in run.out, run
        assert snapshot(tenant, "demo") == mine
        assert snapshot(tenant, "demo-2", [foreign.id]) == other

        # 7. teardown of demo-2 leaves demo and the foreign server as they were
        mine = snapshot(tenant, "demo", [foreign.id])
        run = playbook(cloud_env, "teardown.yml", demo2, "q8s_teardown_confirm=true")
        assert run.rc == 0, run
        assert cluster_servers(tenant, "demo-2") == []
        assert tenant.network.find_security_group("demo-2-cluster") is None
        assert tenant.compute.find_keypair("demo-2-cluster") is None
        assert snapshot(tenant, "demo", [foreign.id]) == mine

        # 8. now demo goes, and the foreign server stays
        theirs = snapshot(tenant, None, [foreign.id])
        run = playbook(cloud_env, "teardown.yml", demo, "q8s_teardown_confirm=true")
        assert run.rc == 0, run
        assert cluster_servers(tenant, "demo") == []
        assert tenant.network.find_security_group("demo-cluster") is None
        assert snapshot(tenant, None, [foreign.id]) == theirs
    finally:
        if foreign is not None:
            tenant.compute.delete_server(foreign.id, ignore_missing=True)
        teardown_left(cloud_env, tenant, demo2)
        teardown_left(cloud_env, tenant, demo)


def foreign_public_key(work, name):
    key = work / name
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "someone-else", "-f", str(key)], check=True)
    return (work / (name + ".pub")).read_text().strip()


def test_a_keypair_and_a_group_of_the_cluster_names_that_are_not_its_own(cloud_env, work, tenant):
    """Keypairs and security groups carry no server metadata: the cluster's keypair is the
    one whose fingerprint is the cluster key's, its group the one with q8s's description for
    the cluster (playbooks/vars/openstack_owned.yml). Objects of the names <cluster>-cluster
    without those marks are someone else's: teardown leaves them and says so, provisioning
    refuses the group (it would rewrite its rules) before it creates anything."""
    spec = make_spec(work, "solo")
    state = work / "state-solo"
    made = []
    try:
        keypair = tenant.compute.create_keypair(name="solo-cluster", public_key=foreign_public_key(work, "foreign-1"))
        group = tenant.network.create_security_group(name="solo-cluster", description="the web servers of someone else")
        made.append(group)
        rule = tenant.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=443, port_range_max=443
        )

        def theirs():
            k = tenant.compute.find_keypair("solo-cluster")
            g = tenant.network.get_security_group(group.id)
            return (k and k.fingerprint, g.description, sorted(r["id"] for r in g.security_group_rules))

        before = theirs()
        assert before[0] == keypair.fingerprint and rule.id in before[2]

        # 1. teardown of a cluster that owns neither: both stay, the run says so
        run = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")
        assert run.rc == 0, run
        assert "Left as they are, not this cluster's: keypair solo-cluster" in run.out, run
        assert "security group solo-cluster (id %s" % group.id in run.out, run
        assert theirs() == before

        # 2. provisioning refuses the group before it creates anything (not even the key)
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc != 0, run
        assert "security group solo-cluster (id %s) exists in this project but is not the security group of cluster solo" % group.id in run.out, run
        assert theirs() == before
        assert cluster_servers(tenant, "solo") == []
        assert not (state / "id_ed25519").exists()

        # 3. without them the cluster is made; then someone else's keypair takes its name
        tenant.compute.delete_keypair("solo-cluster")
        tenant.network.delete_security_group(group.id)
        made.clear()
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc == 0, run
        servers = sorted(s.id for s in cluster_servers(tenant, "solo"))
        assert len(servers) == 2
        own_group = tenant.network.find_security_group("solo-cluster")

        # 4. a second group of the cluster group's name beside the cluster's: the rerun names
        # it and stops (the pre-flight lists every group of the name), nothing changes
        second = tenant.network.create_security_group(name="solo-cluster", description="made by hand")
        made.append(second)
        own_rules = sorted(r["id"] for r in tenant.network.get_security_group(own_group.id).security_group_rules)
        run = playbook(cloud_env, "provision.yml", spec)
        assert run.rc != 0, run
        assert "security group solo-cluster (id %s) exists in this project but is not the security group of cluster solo" % second.id in run.out, run
        assert "More than one" not in run.out, run
        assert sorted(s.id for s in cluster_servers(tenant, "solo")) == servers
        assert sorted(r["id"] for r in tenant.network.get_security_group(own_group.id).security_group_rules) == own_rules
        tenant.compute.delete_keypair("solo-cluster")
        replaced = tenant.compute.create_keypair(name="solo-cluster", public_key=foreign_public_key(work, "foreign-2"))

        # 5. teardown deletes the cluster's servers and group, not that keypair nor that group
        run = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true")
        assert run.rc == 0, run
        assert cluster_servers(tenant, "solo") == []
        assert [g.id for g in tenant.network.security_groups(name="solo-cluster")] == [second.id]
        assert tenant.compute.find_keypair("solo-cluster").fingerprint == replaced.fingerprint
        assert "Left as they are, not this cluster's: keypair solo-cluster (its fingerprint is not that of %s/id_ed25519.pub)" % state in run.out, run
        assert "security group solo-cluster (id %s" % second.id in run.out, run
    finally:
        for group in made:
            tenant.network.delete_security_group(group.id, ignore_missing=True)
        tenant.compute.delete_keypair("solo-cluster", ignore_missing=True)
        teardown_left(cloud_env, tenant, spec)


def test_admin_credentials_own_only_their_projects_group(cloud_env, work, tenant, admin):
    """Credentials with the admin role see every project's security groups. A group of the
    cluster group's name and the cluster's description in another project (here: the demo
    project, the cluster in the admin project) is not the cluster's: provisioning makes the
    cluster's own group beside it and leaves its rules, teardown deletes only its own."""
    name = "lambda"
    spec = make_spec(work, name)
    own = name + "-cluster"
    teardown_left(cloud_env, admin, spec, "q8s_cloud=q8s-admin")  # an interrupted run's leftovers
    theirs = tenant.network.create_security_group(name=own, description="q8s cluster %s (managed by q8s; rules are reconciled)" % name)
    try:
        rule = tenant.network.create_security_group_rule(
            security_group_id=theirs.id, direction="ingress", protocol="tcp", port_range_min=443, port_range_max=443
        )

        def their_rules():
            return sorted(r["id"] for r in tenant.network.get_security_group(theirs.id).security_group_rules)

        def admins_groups():
            return [g.id for g in admin.network.security_groups(name=own, project_id=admin.current_project_id)]

        before = their_rules()
        assert rule.id in before

        run = playbook(cloud_env, "provision.yml", spec, cloud="q8s-admin")
        assert run.rc == 0, run
        assert len(cluster_servers(admin, name)) == 2
        made = admins_groups()
        assert len(made) == 1 and made != [theirs.id], made
        assert their_rules() == before

        run = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true", cloud="q8s-admin")
        assert run.rc == 0, run
        assert cluster_servers(admin, name) == []
        assert admins_groups() == []
        assert their_rules() == before
    finally:
        tenant.network.delete_security_group(theirs.id, ignore_missing=True)
        teardown_left(cloud_env, admin, spec, "q8s_cloud=q8s-admin")
