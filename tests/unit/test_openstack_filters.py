"""Which OpenStack servers a cluster has and which rules its security group gets
(module_utils/q8s_openstack.py, filters openstack_servers and security_group_rules of
plugins/filter/q8s_openstack.py, wired in playbooks/provision_openstack.yml)."""

import copy
import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_openstack as f
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_openstack, q8s_specfile
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import normalise
from inventory_cases import CASES, ROOT, golden_path, run

EGRESS = [{"direction": "egress", "ether_type": "IPv4"}, {"direction": "egress", "ether_type": "IPv6"}]


def raw_spec(path="examples/cluster.yml"):
    with open(os.path.join(ROOT, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def spec(path="examples/cluster.yml", **changes):
    raw = raw_spec(path)
    raw.update(changes)
    return normalise(raw, open_to_world=True)[0]


def with_workers(workers, **changes):
    raw = raw_spec()
    raw["cluster_definition"]["worker"] = workers
    raw.update(changes)
    return normalise(raw)[0]


def plain(value):
    """A golden inventory's value without ansible-inventory's unsafe markers."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def golden(name):
    with open(golden_path(name), encoding="utf-8") as handle:
        return plain(json.load(handle))


def names(servers, role=None):
    return [s["name"] for s in servers if role is None or s["role"] == role]


# --- servers ---------------------------------------------------------------


def test_servers_of_the_example():
    assert f.openstack_servers(spec()) == [
        {"name": "demo--cp-0", "flavor": "m1.medium", "role": "control_plane", "vm_type": "", "initial": True, "adopted": False},
        {"name": "demo--arm-mid-1-host", "flavor": "m1.large", "role": "qemu_host", "vm_type": "arm-mid", "initial": False, "adopted": False},
        {"name": "demo--x86-small-1-host", "flavor": "m1.medium", "role": "qemu_host", "vm_type": "x86-small", "initial": False, "adopted": False},
        {"name": "demo--x86-small-2-host", "flavor": "m1.medium", "role": "qemu_host", "vm_type": "x86-small", "initial": False, "adopted": False},
    ]


@pytest.mark.parametrize("case", sorted(name for name in CASES if name != "local"))
def test_servers_are_the_golden_inventorys_control_planes_and_qemu_hosts(case):
    """The same servers, in the same order, as the inventory groups the old Jinja read."""
    inventory = golden(case)
    servers = f.openstack_servers(inventory["all"]["vars"]["q8s_cluster"])
    assert names(servers, "control_plane") == inventory["q8s_control_plane"]["hosts"]
    assert names(servers, "qemu_host") == inventory["q8s_qemu_hosts"]["hosts"]
    hostvars = inventory["_meta"]["hostvars"]
    for server in servers:
        node = hostvars[server["name"]]["q8s_node"]
        assert server["initial"] == node.get("initial", False)
        if server["role"] == "qemu_host":
            assert server["vm_type"] == node["vm_type"]
            assert server["flavor"] == node["vm_type_spec"]["openstack_flavor"]


def test_a_type_without_workers_has_no_server():
    servers = f.openstack_servers(with_workers({"x86-small": 2, "arm-mid": 0}))
    assert names(servers) == ["demo--cp-0", "demo--x86-small-1-host", "demo--x86-small-2-host"]
    assert "arm-mid" not in {s["vm_type"] for s in servers}


def test_several_types_in_name_order_each_with_its_flavor():
    servers = f.openstack_servers(with_workers({"x86-small": 1, "arm-mid": 2}))
    assert [(s["name"], s["flavor"], s["vm_type"]) for s in servers if s["role"] == "qemu_host"] == [
        ("demo--arm-mid-1-host", "m1.large", "arm-mid"),
        ("demo--arm-mid-2-host", "m1.large", "arm-mid"),
        ("demo--x86-small-1-host", "m1.medium", "x86-small"),
    ]


def test_paper_cluster_counts():
    raw = raw_spec("examples/paper-50.yml")
    servers = f.openstack_servers(normalise(raw)[0])
    workers = raw["cluster_definition"]["worker"]
    assert len(servers) == 1 + raw["cluster_definition"]["number_additional_master_nodes"] + sum(workers.values())
    for vm_type, count in workers.items():
        assert sum(1 for s in servers if s["vm_type"] == vm_type) == count


def test_extra_control_planes_follow_the_initial_one():
    raw = raw_spec()
    raw["cluster_definition"]["number_additional_master_nodes"] = 2
    servers = f.openstack_servers(normalise(raw)[0])
    control_planes = [s for s in servers if s["role"] == "control_plane"]
    assert [(s["name"], s["initial"], s["adopted"]) for s in control_planes] == [
        ("demo--cp-0", True, False),
        ("demo--cp-1", False, False),
        ("demo--cp-2", False, False),
    ]
    assert servers[:3] == control_planes
    assert {s["flavor"] for s in control_planes} == {"m1.medium"}


def test_the_named_initial_instance_is_adopted_and_only_it():
    servers = f.openstack_servers(spec(name_of_initial_instance="existing-cp"))
    assert [s["name"] for s in servers if s["adopted"]] == ["existing-cp"]
    assert servers[0] == {"name": "existing-cp", "flavor": "m1.medium", "role": "control_plane", "vm_type": "", "initial": True, "adopted": True}


def test_servers_need_a_normalised_spec():
    with pytest.raises(AnsibleFilterError, match="must be the normalised spec"):
        f.openstack_servers({"cluster_name": "demo"})
    with pytest.raises(AnsibleFilterError, match="must be the normalised spec"):
        f.openstack_servers(["demo"])


# --- security group rules --------------------------------------------------


def member_rules(rules):
    return [r for r in rules if "remote_group" in r]


def outside_rules(rules):
    return [(r["remote_ip_prefix"], r["port_range_min"]) for r in rules if "remote_ip_prefix" in r]


def test_rules_of_the_example():
    s = spec()
    rules = f.security_group_rules(s, "demo-cluster")
    assert rules[:2] == EGRESS
    assert rules[2] == {"protocol": "icmp", "remote_group": "demo-cluster"}
    tcp = [r["port_range_min"] for r in member_rules(rules) if r["protocol"] == "tcp" and r["port_range_min"] == r["port_range_max"]]
    assert tcp == s["required_tcp_ports"]
    udp = [r["port_range_min"] for r in member_rules(rules) if r["protocol"] == "udp" and r["port_range_min"] == r["port_range_max"]]
    assert udp == s["required_udp_ports"] == [8472]
    assert {"protocol": "tcp", "port_range_min": 30000, "port_range_max": 32767, "remote_group": "demo-cluster"} in rules
    assert {"protocol": "udp", "port_range_min": 30000, "port_range_max": 32767, "remote_group": "demo-cluster"} in rules
    assert outside_rules(rules) == [("10.254.0.0/24", 22), ("10.254.0.0/24", 6443)]
    # 2 egress + ICMP + 12 TCP + 1 UDP + 2 NodePort ranges + 2 from admin_cidr
    assert len(rules) == 20
    for rule in rules[2:]:
        assert ("remote_group" in rule) != ("remote_ip_prefix" in rule), rule


def test_every_member_rule_names_the_group_given():
    rules = f.security_group_rules(spec(), "other-name")
    assert {r["remote_group"] for r in member_rules(rules)} == {"other-name"}


def test_ports_and_range_come_from_the_spec():
    s = spec(required_tcp_ports=[22, 9100, 30080], required_udp_ports=[4789, 8472], worker_port_range_min=31000, worker_port_range_max=31999)
    rules = f.security_group_rules(s, "demo-cluster")
    assert [(r["protocol"], r.get("port_range_min"), r.get("port_range_max")) for r in member_rules(rules)] == [
        ("icmp", None, None),
        ("tcp", 22, 22),
        ("tcp", 9100, 9100),
        ("tcp", 30080, 30080),
        ("udp", 4789, 4789),
        ("udp", 8472, 8472),
        ("tcp", 31000, 31999),
        ("udp", 31000, 31999),
    ]


def test_admin_cidr_from_the_spec():
    rules = f.security_group_rules(spec(admin_cidr="192.0.2.0/28"), "demo-cluster")
    assert outside_rules(rules) == [("192.0.2.0/28", 22), ("192.0.2.0/28", 6443)]


def test_without_admin_cidr_nothing_is_open_to_the_outside():
    raw = raw_spec()
    del raw["admin_cidr"]
    rules = f.security_group_rules(normalise(raw)[0], "demo-cluster")
    assert outside_rules(rules) == []
    assert len(rules) == 18


def test_open_to_world_adds_ssh_and_the_api_for_everyone():
    rules = f.security_group_rules(spec(), "demo-cluster", open_to_world=True)
    assert outside_rules(rules) == [("10.254.0.0/24", 22), ("10.254.0.0/24", 6443), ("0.0.0.0/0", 22), ("0.0.0.0/0", 6443)]


def test_open_to_world_without_admin_cidr():
    raw = raw_spec()
    del raw["admin_cidr"]
    rules = f.security_group_rules(normalise(raw)[0], "demo-cluster", open_to_world="true")
    assert outside_rules(rules) == [("0.0.0.0/0", 22), ("0.0.0.0/0", 6443)]


def test_a_world_admin_cidr_with_open_to_world_gets_each_rule_once():
    """The Jinja before asked neutron for SSH and the API from 0.0.0.0/0 twice; neutron
    refuses an exact duplicate rule."""
    rules = f.security_group_rules(spec(admin_cidr="0.0.0.0/0"), "demo-cluster", open_to_world=True)
    assert outside_rules(rules) == [("0.0.0.0/0", 22), ("0.0.0.0/0", 6443)]
    assert len(rules) == len({json.dumps(r, sort_keys=True) for r in rules})


def test_the_api_port_opened_to_the_outside():
    rules = f.security_group_rules(spec(), "demo-cluster", api_port="7443")
    assert outside_rules(rules) == [("10.254.0.0/24", 22), ("10.254.0.0/24", 7443)]
    # the members' own API port stays whatever required_tcp_ports says
    assert {"protocol": "tcp", "port_range_min": 6443, "port_range_max": 6443, "remote_group": "demo-cluster"} in rules


def test_the_local_api_load_balancer_needs_no_rule():
    """Role api_lb listens on 127.0.0.1:6444 of every node: nothing in the group opens it."""
    raw = raw_spec()
    raw["cluster_definition"]["number_additional_master_nodes"] = 2
    rules = f.security_group_rules(normalise(raw)[0], "demo-cluster", open_to_world=True)
    assert not [r for r in rules if r.get("port_range_min", 0) <= 6444 <= r.get("port_range_max", 0)]


def test_an_api_port_of_22_is_one_rule_per_network():
    rules = f.security_group_rules(spec(), "demo-cluster", api_port=22)
    assert outside_rules(rules) == [("10.254.0.0/24", 22)]


@pytest.mark.parametrize("port", [0, 65536, "https", None, True])
def test_a_bad_api_port_is_refused(port):
    with pytest.raises(AnsibleFilterError, match="Kubernetes API port"):
        f.security_group_rules(spec(), "demo-cluster", api_port=port)


def test_the_group_name_is_required():
    with pytest.raises(AnsibleFilterError, match="name of the cluster's security group"):
        f.security_group_rules(spec(), "")


def test_open_to_world_must_be_a_boolean():
    with pytest.raises(AnsibleFilterError, match="open_to_world must be true or false"):
        f.security_group_rules(spec(), "demo-cluster", open_to_world="maybe")


def test_rules_need_a_normalised_spec():
    with pytest.raises(AnsibleFilterError, match="must be the normalised spec"):
        f.security_group_rules({"cluster_name": "demo"}, "demo-cluster")


def test_the_spec_is_not_changed():
    s = spec()
    before = copy.deepcopy(s)
    f.security_group_rules(s, "demo-cluster", open_to_world=True)
    f.openstack_servers(s)
    assert s == before


def test_rules_of_the_golden_inventories_match_their_spec():
    for case in sorted(name for name in CASES if name != "local"):
        q8s = golden(case)["all"]["vars"]["q8s_cluster"]
        rules = q8s_openstack.security_group_rules(q8s, q8s["cluster_security_group"])
        count = len(q8s["required_tcp_ports"]) + len(q8s["required_udp_ports"]) + 3 + (2 if q8s["admin_cidr"] else 0)
        assert len(rules) == 2 + count, case


# --- the playbook's wiring -------------------------------------------------


def test_provision_openstack_play_vars_render_through_the_filters(tmp_path):
    """The play vars of provision_openstack.yml, rendered by ansible-playbook with the real
    inventory plugin: the filters get the group, the API port and the open-to-world switch."""
    with open(os.path.join(ROOT, "playbooks", "provision_openstack.yml"), encoding="utf-8") as handle:
        play_vars = yaml.safe_load(handle)[0]["vars"]
    out = tmp_path / "out.json"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": play_vars,
                    "tasks": [
                        {
                            "ansible.builtin.copy": {
                                "dest": str(out),
                                "mode": "0644",
                                "content": "{{ {'servers': _servers, 'scope': _scope, 'rules': _rules} | to_json }}",
                            }
                        }
                    ],
                }
            ]
        )
    )
    spec_file = os.path.join("tests", "unit", "fixtures", "upstream-cluster.yaml")
    proc = run(
        ["ansible-playbook", str(playbook), "-e", "@" + spec_file, "-e", "q8s_provision_api_port=7443", "-e", "q8s_provision_open_to_world=true"],
        "tests/unit/fixtures/state-none",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(out.read_text())
    expected = normalise(raw_upstream(spec_file), open_to_world=True)[0]
    assert got["servers"] == q8s_openstack.servers(expected)
    assert [s["name"] for s in got["scope"]] == ["q8s--cp-1", "q8s--arm-mid-1-host", "q8s--x86-small-1-host"]
    assert got["rules"] == q8s_openstack.security_group_rules(expected, "q8s-cluster", 7443, True)
    assert outside_rules(got["rules"]) == [("0.0.0.0/0", 22), ("0.0.0.0/0", 7443)]


def raw_upstream(path):
    return q8s_specfile.load_file(os.path.join(ROOT, path))


def test_find_unique_names_the_ids_of_a_name_several_objects_carry():
    """openstack_preflight's and server_security_group's lookups: openstacksdk's find_* raises
    DuplicateResource for such a name; find_unique answers with the IDs instead."""
    from openstack.exceptions import DuplicateResource

    class Obj:
        def __init__(self, oid):
            self.id = oid

    def ambiguous(value):
        raise DuplicateResource("More than one Network exists with the name '%s'." % value)

    assert q8s_openstack.find_unique(ambiguous, lambda: [Obj("b"), Obj("a")], "net") == (None, ["a", "b"])
    found = Obj("x")
    assert q8s_openstack.find_unique(lambda value: found, lambda: [], "net") == (found, [])
    assert q8s_openstack.find_unique(lambda value: None, lambda: [], "net") == (None, [])
    with pytest.raises(ValueError):  # other errors are not taken for an ambiguous name
        q8s_openstack.find_unique(int, lambda: [], "net")


def test_cluster_objects_reads_only_the_current_projects_groups():
    """cluster_objects (openstack_preflight, cluster_objects_info): Neutron lists every
    project's groups to credentials with the admin role; only the current project's are the
    cluster's candidates, the others are counted apart, and the keypair is None when it
    does not exist or is not asked for."""
    from types import SimpleNamespace

    groups = [
        SimpleNamespace(id="mine", name="c-cluster", description="d", security_group_rules=[{}, {}], project_id="p1"),
        SimpleNamespace(id="theirs", name="c-cluster", description="d", security_group_rules=[], project_id="p2"),
    ]

    class Network:
        @staticmethod
        def security_groups(**query):
            return [g for g in groups if all(getattr(g, k) == v for k, v in query.items())]

    class Compute:
        @staticmethod
        def find_keypair(name):
            return SimpleNamespace(name=name, fingerprint="aa:bb") if name == "c-cluster" else None

    conn = SimpleNamespace(current_project_id="p1", network=Network(), compute=Compute())
    got = q8s_openstack.cluster_objects(conn, "c-cluster", "c-cluster")
    assert got == {
        "project_id": "p1",
        "security_groups": [{"id": "mine", "name": "c-cluster", "description": "d", "rules": 2}],
        "other_project_groups": ["theirs"],
        "keypair": {"name": "c-cluster", "fingerprint": "aa:bb"},
    }
    # a member sees no other project's group: nothing to scope the create by
    member = SimpleNamespace(current_project_id="p2", network=Network(), compute=Compute())
    assert q8s_openstack.cluster_objects(member, "c-cluster")["security_groups"] == [{"id": "theirs", "name": "c-cluster", "description": "d", "rules": 0}]
    assert q8s_openstack.cluster_objects(conn, "c-cluster", "other")["keypair"] is None
    assert q8s_openstack.cluster_objects(conn, "c-cluster")["keypair"] is None
