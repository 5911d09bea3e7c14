"""What teardown_openstack.yml deletes and what it leaves (filter teardown_plan), and the
ownership decisions provision_openstack.yml shares with it (filters cluster_security_groups and
server_security_groups); module_utils/q8s_openstack.py."""

import json
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_openstack as f
from inventory_cases import ROOT

DESCRIPTION = "q8s cluster demo (managed by q8s; rules are reconciled)"
KEYGEN = "256 MD5:aa:bb:cc:dd demo@q8s (ED25519)"
OWN_GROUP = {"id": "sg-own", "name": "demo-cluster", "description": DESCRIPTION}
OTHER_GROUP = {"id": "sg-other", "name": "demo-cluster", "description": "made by hand"}


def server(sid, name):
    return {"id": sid, "name": name, "metadata": {"q8s_cluster": "demo"}}


def port(pid, device, groups=("sg-own",), owner="compute:nova"):
    return {"id": pid, "device_id": device, "device_owner": owner, "security_group_ids": None if groups is None else list(groups)}


CLUSTER = [server("s-cp", "demo--cp-0"), server("s-h1", "demo--x86-1-host")]
ALL = CLUSTER + [{"id": "s-x", "name": "other--cp-0", "metadata": {"q8s_cluster": "other"}}, {"id": "s-ad", "name": "my-cp", "metadata": {}}]


def plan(**changes):
    args = dict(adopt="", description=DESCRIPTION, groups=[OWN_GROUP], keypairs=[], keygen_output=KEYGEN, all_servers=ALL, ports=[], left_ports=[])
    args.update(changes)
    return f.teardown_plan(changes.pop("cluster_servers", CLUSTER), **{k: v for k, v in args.items() if k != "cluster_servers"})


def test_only_the_group_with_the_clusters_description_is_the_clusters():
    got = plan(groups=[OTHER_GROUP, OWN_GROUP, {"id": "sg-bare", "name": "demo-cluster"}])
    assert [g["id"] for g in got["own_groups"]] == ["sg-own"]
    assert [g["id"] for g in got["other_groups"]] == ["sg-other", "sg-bare"]
    assert got["not_owned"] == [
        "security group demo-cluster (id sg-other, without the description %s)" % DESCRIPTION,
        "security group demo-cluster (id sg-bare, without the description %s)" % DESCRIPTION,
    ]


@pytest.mark.parametrize(
    "keygen, own",
    [(KEYGEN, ["demo-cluster"]), ("", []), ("256 SHA256:abc demo (ED25519)", []), ("garbage", [])],
)
def test_the_keypair_is_the_clusters_only_by_the_cluster_keys_fingerprint(keygen, own):
    keypairs = [{"name": "demo-cluster", "fingerprint": "aa:bb:cc:dd"}]
    got = plan(keypairs=keypairs, keygen_output=keygen, key_path="/s/id_ed25519.pub")
    assert [k["name"] for k in got["own_keypairs"]] == own
    assert bool(got["other_keypairs"]) is (not own)
    assert ("keypair demo-cluster (its fingerprint is not that of /s/id_ed25519.pub)" in got["not_owned"]) is (not own)


def test_a_keypair_of_another_fingerprint_is_left():
    got = plan(keypairs=[{"name": "demo-cluster", "fingerprint": "ff:ff"}])
    assert got["own_keypairs"] == [] and got["other_keypairs"][0]["fingerprint"] == "ff:ff"


def test_the_adopted_instance_is_never_a_server_to_delete():
    cluster = CLUSTER + [{"id": "s-ad", "name": "my-cp", "metadata": {"q8s_cluster": "demo"}}]
    assert plan(cluster_servers=cluster, adopt="my-cp")["own_server_ids"] == ["s-cp", "s-h1"]
    assert plan(cluster_servers=cluster)["own_server_ids"] == ["s-cp", "s-h1", "s-ad"]


def test_with_the_clusters_name_the_input_may_be_every_server_of_the_project():
    # teardown_openstack.yml lists the project once: the cluster's servers are those of its metadata.
    assert plan(cluster_servers=ALL, cluster="demo")["own_server_ids"] == ["s-cp", "s-h1"]
    assert plan(cluster_servers=ALL, cluster="other")["own_server_ids"] == ["s-x"]
    assert plan(cluster_servers=ALL, cluster="my-cp")["own_server_ids"] == []
    assert plan(cluster_servers=ALL, cluster="demo", adopt="demo--cp-0")["own_server_ids"] == ["s-h1"]
    # without it the input is taken as the cluster's servers, as before
    assert plan(cluster_servers=ALL)["own_server_ids"] == ["s-cp", "s-h1", "s-x", "s-ad"]


def test_ports_of_others_on_the_clusters_group_are_named_and_stop_the_run():
    ports = [
        port("p-cp", "s-cp"),  # the cluster's own server
        port("p-ad", "s-ad"),  # the adopted instance keeps the group until it is taken off
        port("p-x", "s-x"),  # another cluster's server lists this group
        port("p-free", "", owner=""),  # nobody's
        port("p-dhcp", "dhcp-1", owner="network:dhcp"),
        port("p-none", "s-x", groups=None),  # no groups at all
        port("p-othergroup", "s-x", groups=("sg-other",)),  # the same name, not the cluster's group
    ]
    got = plan(ports=ports, adopt="my-cp")
    assert got["foreign_ports"] == [
        {"id": "p-x", "label": "port p-x of server other--cp-0"},
        {"id": "p-free", "label": "port p-free of no device"},
        {"id": "p-dhcp", "label": "port p-dhcp of network:dhcp"},
    ]
    # Without adoption the adopted server's port is a foreign user too.
    assert "p-ad" in [p["id"] for p in plan(ports=ports)["foreign_ports"]]


def test_without_a_group_of_the_clusters_no_port_is_foreign():
    got = plan(groups=[OTHER_GROUP], ports=[port("p-x", "s-x", groups=("sg-other",))])
    assert got["foreign_ports"] == [] and got["own_groups"] == []


def test_leftover_ports_are_those_the_clusters_servers_had_and_still_listed():
    before = [port("p-cp", "s-cp"), port("p-h1", "s-h1"), port("p-x", "s-x"), port("p-pre", "s-h1", groups=())]
    # After the deletion Nova removed p-cp, detached p-pre (device_id cleared), p-x is another's.
    after = [port("p-h1", "s-h1"), port("p-x", "s-x"), port("p-pre", "", groups=(), owner=""), port("p-new", "s-cp")]
    got = plan(ports=before, left_ports=after)
    assert [p["id"] for p in got["leftover_ports"]] == ["p-h1", "p-pre"]
    assert plan(ports=before)["leftover_ports"] == []


def test_nothing_of_the_cluster_left_plans_nothing():
    got = plan(cluster_servers=[], groups=[], keypairs=[], keygen_output="", all_servers=[])
    assert got == {
        "own_groups": [],
        "other_groups": [],
        "own_keypairs": [],
        "other_keypairs": [],
        "own_server_ids": [],
        "foreign_ports": [],
        "leftover_ports": [],
        "not_owned": [],
    }


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"description": ""}, "description"),
        ({"groups": "demo-cluster"}, "groups must be a list"),
        ({"ports": [None]}, "ports must be a list"),
        ({"cluster_servers": {"id": "s"}}, "the input"),
        ({"cluster": ""}, "cluster must be the cluster's name"),
        ({"cluster": ["demo"]}, "cluster must be the cluster's name"),
    ],
)
def test_bad_input_is_named(changes, message):
    with pytest.raises(AnsibleFilterError, match=message):
        plan(**changes)


# --- shared with provision_openstack.yml --------------------------------------


def test_cluster_security_groups_splits_by_description():
    got = f.cluster_security_groups([OTHER_GROUP, OWN_GROUP], DESCRIPTION)
    assert got == {"own": [OWN_GROUP], "other": [OTHER_GROUP]}
    with pytest.raises(AnsibleFilterError, match="description"):
        f.cluster_security_groups([OWN_GROUP], "")


SPEC = {"cluster_name": "demo", "required_tcp_ports": [], "required_udp_ports": [], "worker_port_range_min": 1, "worker_port_range_max": 2}


@pytest.mark.parametrize(
    "extra, want",
    [
        ([], ["demo-cluster"]),
        (["default", "monitoring"], ["demo-cluster", "default", "monitoring"]),
        (["default", "demo-cluster", "default"], ["demo-cluster", "default"]),
    ],
)
def test_new_servers_get_the_clusters_group_first_then_the_specs_each_once(extra, want):
    assert f.server_security_groups(dict(SPEC, security_groups=extra), "demo-cluster") == want


@pytest.mark.parametrize(
    "name, constructs",
    [
        ("teardown_openstack.yml", ("{%", "selectattr", "rejectattr", "reject(", "split(")),
        ("provision_openstack.yml", ("{%", "'description'", "| unique")),
    ],
)
def test_the_ownership_decisions_are_not_jinja_in_the_playbooks(name, constructs):
    text = json.dumps(yaml.safe_load((Path(ROOT) / "playbooks" / name).read_text(encoding="utf-8")))
    for construct in constructs:
        assert construct not in text, (name, construct)
