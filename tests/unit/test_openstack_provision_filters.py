"""What provision_openstack.yml does with the cluster's servers: the scope of a run, what the
module servers is asked to create, which servers in ERROR are recreated, each server's address,
the known_hosts entries to forget and the SSH waits (module_utils/q8s_openstack.py, filters
provision_scope, server_requests, servers_to_replace, server_addresses, stale_host_keys and
ssh_waits of plugins/filter/q8s_openstack.py)."""

import copy
import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_openstack as f
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_openstack, q8s_specfile
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import normalise
from inventory_cases import ROOT, run

NET = "private"
FLAVORS = {"m1.medium": {"id": "f-medium", "vcpus": 2, "ram": 4096}, "m1.large": {"id": "f-large", "vcpus": 4, "ram": 8192}}


def example(**changes):
    with open(os.path.join(ROOT, "examples/cluster.yml"), encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    raw.update(changes)
    return normalise(raw)[0]


def servers(**changes):
    return q8s_openstack.servers(example(**changes))


def names(items):
    return [item["name"] for item in items]


def nova(name, status="ACTIVE", metadata=None, addresses=None):
    """A server as openstack.cloud.server_info and the module servers return it."""
    out = {"name": name, "id": "id-" + name, "status": status}
    if metadata is not None:
        out["metadata"] = metadata
    if addresses is not None:
        out["addresses"] = addresses
    return out


def v4(addr):
    return {"addr": addr, "version": 4, "OS-EXT-IPS:type": "fixed"}


def v6(addr):
    return {"addr": addr, "version": 6, "OS-EXT-IPS:type": "fixed"}


# --- provision_scope -------------------------------------------------------


def test_the_scope_is_every_server_in_order():
    every = servers()
    assert f.provision_scope(every) == every
    assert f.provision_scope(every, None) == every


def test_the_adopted_initial_instance_is_never_in_scope():
    every = servers(name_of_initial_instance="existing-cp")
    assert names(every)[0] == "existing-cp"
    assert names(f.provision_scope(every)) == names(every)[1:]
    assert names(f.provision_scope(every, ["existing-cp", "demo--x86-small-2-host"])) == ["demo--x86-small-2-host"]


def test_provision_only_selects_a_subset_in_the_servers_order():
    every = servers()
    got = f.provision_scope(every, ["demo--x86-small-2-host", "demo--cp-0"])
    assert names(got) == ["demo--cp-0", "demo--x86-small-2-host"]


def test_a_provision_only_name_that_is_no_server_selects_nothing():
    assert f.provision_scope(servers(), ["demo--x86-small-9-host", "demo"]) == []
    assert f.provision_scope(servers(), []) == []


@pytest.mark.parametrize("only", ["demo--cp-0", {"demo--cp-0": 1}, 3])
def test_provision_only_must_be_a_list(only):
    """A string would match by substring in Jinja's 'in' test; it is refused, naming the variable."""
    with pytest.raises(AnsibleFilterError, match="q8s_provision_only must be a list of server names"):
        f.provision_scope(servers(), only)


def test_provision_scope_needs_the_servers_list():
    with pytest.raises(AnsibleFilterError, match="must be a list of servers"):
        f.provision_scope({"name": "demo--cp-0"})
    with pytest.raises(AnsibleFilterError, match="provision_scope"):
        f.provision_scope([{"name": "demo--cp-0"}])


# --- server_requests -------------------------------------------------------


def test_requests_of_the_example():
    assert f.server_requests(servers(), FLAVORS) == [
        {"name": "demo--cp-0", "flavor": "f-medium", "metadata": {"q8s_role": "control_plane", "q8s_vm_type": "none", "q8s_initial": "true"}},
        {"name": "demo--arm-mid-1-host", "flavor": "f-large", "metadata": {"q8s_role": "qemu_host", "q8s_vm_type": "arm-mid", "q8s_initial": "false"}},
        {"name": "demo--x86-small-1-host", "flavor": "f-medium", "metadata": {"q8s_role": "qemu_host", "q8s_vm_type": "x86-small", "q8s_initial": "false"}},
        {"name": "demo--x86-small-2-host", "flavor": "f-medium", "metadata": {"q8s_role": "qemu_host", "q8s_vm_type": "x86-small", "q8s_initial": "false"}},
    ]


def test_extra_control_planes_are_not_initial():
    raw = _raw_example()
    raw["cluster_definition"]["number_additional_master_nodes"] = 1
    every = q8s_openstack.servers(normalise(raw)[0])
    metadata = {r["name"]: r["metadata"] for r in f.server_requests(every, FLAVORS)}
    assert metadata["demo--cp-0"]["q8s_initial"] == "true"
    assert metadata["demo--cp-1"] == {"q8s_role": "control_plane", "q8s_vm_type": "none", "q8s_initial": "false"}


def _raw_example():
    with open(os.path.join(ROOT, "examples/cluster.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_metadata_values_are_strings_as_nova_keeps_them():
    for request in f.server_requests(servers(), FLAVORS):
        assert all(isinstance(value, str) for value in request["metadata"].values()), request
        assert request["metadata"]["q8s_initial"] in ("true", "false")


def test_an_empty_scope_asks_for_nothing():
    assert f.server_requests([], FLAVORS) == []
    assert f.server_requests([], {}) == []


def test_a_flavor_the_preflight_did_not_find_names_server_and_flavor():
    with pytest.raises(AnsibleFilterError, match=r"demo--arm-mid-1-host needs flavor 'm1.large'.*found: m1.medium"):
        f.server_requests(servers(), {"m1.medium": {"id": "f-medium"}})
    with pytest.raises(AnsibleFilterError, match="found: none"):
        f.server_requests(servers(), {})


def test_server_requests_need_the_preflights_flavors():
    with pytest.raises(AnsibleFilterError, match="flavors must be the pre-flight's flavors"):
        f.server_requests(servers(), ["m1.medium"])


# --- servers_to_replace ----------------------------------------------------


def test_only_the_clusters_own_servers_in_error_and_in_scope_are_replaced():
    scope = f.provision_scope(servers())
    found = [
        nova("demo--cp-0", "ACTIVE", {"q8s_cluster": "demo"}),
        nova("demo--arm-mid-1-host", "ERROR", {"q8s_cluster": "demo"}),
        nova("demo--x86-small-1-host", "ERROR", {"q8s_cluster": "demo", "q8s_role": "qemu_host"}),
        nova("demo--x86-small-9-host", "ERROR", {"q8s_cluster": "demo"}),  # not a server the spec has
    ]
    assert names(f.servers_to_replace(found, "demo", scope)) == ["demo--arm-mid-1-host", "demo--x86-small-1-host"]
    assert f.servers_to_replace(found, "demo", scope)[0] is found[1]


def test_a_foreign_server_is_never_replaced():
    """Same name, in ERROR, in scope: but another cluster's, or without any metadata."""
    scope = f.provision_scope(servers())
    found = [
        nova("demo--cp-0", "ERROR", {"q8s_cluster": "demo2"}),
        nova("demo--arm-mid-1-host", "ERROR"),
        nova("demo--x86-small-1-host", "ERROR", None),
        nova("demo--x86-small-2-host", "ERROR", {}),
        nova("demo--x86-small-2-host", "ERROR", {"q8s_role": "qemu_host"}),
    ]
    found[2]["metadata"] = None
    assert f.servers_to_replace(found, "demo", scope) == []


@pytest.mark.parametrize(
    "metadata, cluster",
    [({"q8s_cluster": "demo"}, "demo"), ({"q8s_cluster": "demo2"}, "demo2"), ({}, None), (None, None), ("q8s_cluster=demo", None)],
)
def test_the_owner_is_read_alike_from_server_info_and_from_sdk_servers(metadata, cluster):
    """One reading of the ownership metadata serves the filters (server_info's mappings) and
    the modules servers and openstack_preflight (openstacksdk Server objects)."""
    from openstack.compute.v2.server import Server

    as_mapping = {"name": "demo--cp-0", "metadata": metadata}
    as_sdk = Server(name="demo--cp-0", metadata=metadata) if metadata is None or isinstance(metadata, dict) else None
    for server in filter(None, (as_mapping, as_sdk)):
        assert q8s_openstack.cluster_of(server) == cluster
        assert q8s_openstack.owned_by(server, "demo") is (cluster == "demo")
    assert q8s_openstack.cluster_of({"name": "no metadata key"}) is None


def test_the_modules_read_ownership_through_module_utils():
    """servers and openstack_preflight decide ownership with q8s_openstack, not a copy."""
    for module in ("servers", "openstack_preflight"):
        with open(os.path.join(ROOT, "plugins/modules/%s.py" % module), encoding="utf-8") as handle:
            text = handle.read()
        assert '.get("q8s_cluster")' not in text, module
        assert "q8s_openstack import" in text, module


def test_provision_only_limits_the_replacement():
    scope = f.provision_scope(servers(), ["demo--x86-small-2-host"])
    found = [nova(name, "ERROR", {"q8s_cluster": "demo"}) for name in names(servers())]
    assert names(f.servers_to_replace(found, "demo", scope)) == ["demo--x86-small-2-host"]


def test_the_adopted_instance_is_never_replaced():
    every = servers(name_of_initial_instance="existing-cp")
    found = [nova("existing-cp", "ERROR", {"q8s_cluster": "demo"})]
    assert f.servers_to_replace(found, "demo", f.provision_scope(every)) == []


def test_nothing_found_nothing_replaced():
    assert f.servers_to_replace([], "demo", servers()) == []


def test_servers_to_replace_needs_a_cluster_name_and_lists():
    with pytest.raises(AnsibleFilterError, match="needs the cluster's name"):
        f.servers_to_replace([], "", servers())
    with pytest.raises(AnsibleFilterError, match="must be a list of servers"):
        f.servers_to_replace({"servers": []}, "demo", servers())
    with pytest.raises(AnsibleFilterError, match="scope must be a list of servers"):
        f.servers_to_replace([], "demo", ["demo--cp-0"])


# --- server_addresses ------------------------------------------------------


def test_each_servers_address_on_the_cluster_network_in_order():
    found = [
        nova("demo--cp-0", addresses={NET: [v4("10.254.1.10")]}),
        nova("demo--x86-small-1-host", addresses={NET: [v4("10.254.1.12")]}),
        nova("demo--arm-mid-1-host", addresses={NET: [v4("10.254.1.11")]}),
    ]
    got = f.server_addresses(found, NET)
    assert got == {"demo--cp-0": "10.254.1.10", "demo--x86-small-1-host": "10.254.1.12", "demo--arm-mid-1-host": "10.254.1.11"}
    assert list(got) == ["demo--cp-0", "demo--x86-small-1-host", "demo--arm-mid-1-host"]


@pytest.mark.parametrize("addresses", [None, {}, {NET: []}, {NET: None}, {NET: [{"version": 4}]}, "missing"])
def test_a_server_without_an_address_yet_is_left_out(addresses):
    found = [nova("demo--cp-0", addresses={NET: [v4("10.254.1.10")]}), nova("demo--x86-small-1-host", addresses=addresses)]
    if addresses == "missing":
        del found[1]["addresses"]
    assert f.server_addresses(found, NET) == {"demo--cp-0": "10.254.1.10"}


def test_with_several_networks_only_the_cluster_network_counts():
    found = [
        nova("demo--cp-0", addresses={"storage": [v4("192.168.5.3")], NET: [v4("10.254.1.10")], "public": [v4("203.0.113.7")]}),
        nova("demo--x86-small-1-host", addresses={"storage": [v4("192.168.5.4")]}),
    ]
    assert f.server_addresses(found, NET) == {"demo--cp-0": "10.254.1.10"}
    assert f.server_addresses(found, "storage") == {"demo--cp-0": "192.168.5.3", "demo--x86-small-1-host": "192.168.5.4"}


def test_the_first_address_when_the_network_gives_several():
    found = [nova("demo--cp-0", addresses={NET: [v4("10.254.1.10"), v4("10.254.1.99")]})]
    assert f.server_addresses(found, NET) == {"demo--cp-0": "10.254.1.10"}


def test_an_ipv4_address_wins_over_an_ipv6_one_listed_before_it():
    """The spec's networks are IPv4 (q8s_spec); the guest's address is placed from the host's."""
    found = [
        nova("demo--cp-0", addresses={NET: [v6("2001:db8::10"), v4("10.254.1.10")]}),
        nova("demo--x86-small-1-host", addresses={NET: [{"addr": "fd00::5"}, {"addr": "10.254.1.12"}]}),
    ]
    assert f.server_addresses(found, NET) == {"demo--cp-0": "10.254.1.10", "demo--x86-small-1-host": "10.254.1.12"}


def test_an_ipv6_only_server_gets_its_ipv6_address():
    """Written as it is: the inventory plugin then names it as outside remote_ip_prefix."""
    found = [nova("demo--cp-0", addresses={NET: [v6("2001:db8::10"), v6("2001:db8::11")]})]
    assert f.server_addresses(found, NET) == {"demo--cp-0": "2001:db8::10"}


def test_no_servers_no_addresses():
    assert f.server_addresses([], NET) == {}


def test_server_addresses_need_a_network_and_servers():
    with pytest.raises(AnsibleFilterError, match="needs the name of the cluster network"):
        f.server_addresses([], "")
    with pytest.raises(AnsibleFilterError, match="must be a list of servers"):
        f.server_addresses({"demo--cp-0": "10.254.1.10"}, NET)


# --- stale_host_keys -------------------------------------------------------


ADDRESSES = {"demo--cp-0": "10.254.1.10", "demo--x86-small-1-host": "10.254.1.12", "demo--v6-host": "2001:db8::12"}


def test_a_created_server_forgets_its_own_key_and_its_guests():
    assert f.stale_host_keys(["demo--x86-small-1-host", "demo--cp-0"], ADDRESSES) == [
        "10.254.1.12",
        "[10.254.1.12]:2222",
        "10.254.1.10",
        "[10.254.1.10]:2222",
    ]


def test_an_ipv6_address_is_bracketed_with_the_guest_port():
    assert f.stale_host_keys(["demo--v6-host"], ADDRESSES) == ["2001:db8::12", "[2001:db8::12]:2222"]


def test_a_created_name_not_in_the_map_has_no_entry():
    assert f.stale_host_keys(["demo--x86-small-2-host", "demo--cp-0"], ADDRESSES) == ["10.254.1.10", "[10.254.1.10]:2222"]
    assert f.stale_host_keys(["demo--cp-0"], {}) == []


def test_nothing_created_nothing_forgotten():
    assert f.stale_host_keys([], ADDRESSES) == []
    assert f.stale_host_keys(None, ADDRESSES) == []


def test_stale_host_keys_input_types():
    with pytest.raises(AnsibleFilterError, match="list of created servers' names"):
        f.stale_host_keys("demo--cp-0", ADDRESSES)
    with pytest.raises(AnsibleFilterError, match="addresses must be a mapping"):
        f.stale_host_keys(["demo--cp-0"], [("demo--cp-0", "10.254.1.10")])


# --- ssh_waits -------------------------------------------------------------


def test_every_addressed_server_is_waited_for_as_dict2items():
    assert f.ssh_waits(ADDRESSES) == [
        {"key": "demo--cp-0", "value": "10.254.1.10"},
        {"key": "demo--x86-small-1-host", "value": "10.254.1.12"},
        {"key": "demo--v6-host", "value": "2001:db8::12"},
    ]


def test_provision_only_limits_the_waits():
    assert f.ssh_waits(ADDRESSES, ["demo--v6-host", "demo--cp-0"]) == [
        {"key": "demo--cp-0", "value": "10.254.1.10"},
        {"key": "demo--v6-host", "value": "2001:db8::12"},
    ]


def test_a_provision_only_name_without_an_address_is_not_waited_for():
    assert f.ssh_waits(ADDRESSES, ["demo--x86-small-2-host"]) == []
    assert f.ssh_waits({}, None) == []


def test_ssh_waits_input_types():
    with pytest.raises(AnsibleFilterError, match="q8s_provision_only must be a list"):
        f.ssh_waits(ADDRESSES, "demo--cp-0")
    with pytest.raises(AnsibleFilterError, match="mapping of server names to addresses"):
        f.ssh_waits([("demo--cp-0", "10.254.1.10")])


def test_the_inputs_are_not_changed():
    every = servers()
    found = [nova("demo--cp-0", "ERROR", {"q8s_cluster": "demo"}, {NET: [v6("2001:db8::10"), v4("10.254.1.10")]})]
    addresses = dict(ADDRESSES)
    before = copy.deepcopy((every, found, addresses))
    f.provision_scope(every, ["demo--cp-0"])
    f.server_requests(every, FLAVORS)
    f.servers_to_replace(found, "demo", every)
    f.server_addresses(found, NET)
    f.stale_host_keys(["demo--cp-0"], addresses)
    f.ssh_waits(addresses, ["demo--cp-0"])
    assert (every, found, addresses) == before


# --- the playbook's wiring -------------------------------------------------


def _tasks_by_name():
    with open(os.path.join(ROOT, "playbooks", "provision_openstack.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    return plays[0]["vars"], {task["name"]: task for task in plays[0]["tasks"]}


def test_provision_openstack_tasks_render_through_the_filters(tmp_path):
    """The expressions of provision_openstack.yml's tasks, taken from the playbook and rendered
    by ansible-playbook with the real inventory plugin over recorded module results: each
    one is its filter's answer for what the play hands it (scope, cluster name, pre-flight,
    the adopted server, q8s_provision_only)."""
    play_vars, tasks = _tasks_by_name()
    replace = tasks["Delete servers of this cluster that are in ERROR (they are recreated)"]["loop"]
    requests = tasks["Create the missing servers (all at once) and wait until they are ACTIVE (bounded)"]["q8s.cluster.servers"]["servers"]
    addresses = tasks["Work out every server's address on the cluster network"]["ansible.builtin.set_fact"]["_addresses"]
    forget = tasks["Forget the old SSH host keys of servers created anew (the cluster's known_hosts)"]["loop"]
    waits = tasks["Wait for SSH on every server"]["loop"]
    recorded = {
        "_preflight": {
            "network": {"id": "net-1", "name": "cluster-net"},
            "flavors": {"c1.small": {"id": "f-s"}, "c1.medium": {"id": "f-m"}, "c1.large": {"id": "f-l"}},
        },
        "_before": {
            "servers": [
                nova("q8s--cp-1", "ERROR", {"q8s_cluster": "q8s"}),
                nova("q8s--arm-mid-1-host", "ERROR", {"q8s_cluster": "other"}),
                nova("q8s--x86-small-1-host", "ERROR", {"q8s_cluster": "q8s"}),
            ]
        },
        "_after": {
            "created": ["q8s--cp-1", "q8s--x86-small-1-host"],
            "servers": [
                nova("q8s--cp-1", addresses={"cluster-net": [v4("10.254.1.11")]}),
                nova("q8s--arm-mid-1-host", addresses={"other-net": [v4("192.168.0.3")]}),
                nova("q8s--x86-small-1-host", addresses={"cluster-net": [v6("fd00::12"), v4("10.254.1.12")]}),
            ],
        },
        "_adopted_info": {"servers": [nova("q8s-master", addresses={"cluster-net": [v4("10.254.1.10")]})]},
    }
    out = tmp_path / "out.json"
    playbook = tmp_path / "render.yml"
    content = "{{ {'replace': %s, 'requests': %s, 'addresses': _addresses, 'forget': %s, 'waits': %s} | to_json }}" % tuple(
        expr.strip()[2:-2] for expr in (replace, requests, forget, waits)
    )
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars": dict(play_vars, **recorded),
                    "tasks": [
                        {"ansible.builtin.set_fact": {"_addresses": addresses}},
                        {"ansible.builtin.copy": {"dest": str(out), "mode": "0644", "content": content}},
                    ],
                }
            ]
        )
    )
    spec_file = os.path.join("tests", "unit", "fixtures", "upstream-cluster.yaml")
    only = ["q8s--cp-1", "q8s--arm-mid-1-host", "q8s-master"]
    proc = run(["ansible-playbook", str(playbook), "-e", "@" + spec_file, "-e", json.dumps({"q8s_provision_only": only})], "tests/unit/fixtures/state-none")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(out.read_text())

    spec = normalise(q8s_specfile.load_file(os.path.join(ROOT, spec_file)))[0]
    scope = q8s_openstack.provision_scope(q8s_openstack.servers(spec), only)
    assert names(scope) == ["q8s--cp-1", "q8s--arm-mid-1-host"]
    assert got["replace"] == [recorded["_before"]["servers"][0]]
    assert got["requests"] == q8s_openstack.server_requests(scope, recorded["_preflight"]["flavors"])
    assert got["addresses"] == {"q8s--cp-1": "10.254.1.11", "q8s--x86-small-1-host": "10.254.1.12", "q8s-master": "10.254.1.10"}
    assert got["forget"] == ["10.254.1.11", "[10.254.1.11]:2222", "10.254.1.12", "[10.254.1.12]:2222"]
    assert got["waits"] == [{"key": "q8s--cp-1", "value": "10.254.1.11"}, {"key": "q8s-master", "value": "10.254.1.10"}]


WIRED = (
    "Delete servers of this cluster that are in ERROR (they are recreated)",
    "Create the missing servers (all at once) and wait until they are ACTIVE (bounded)",
    "Work out every server's address on the cluster network",
    "Forget the old SSH host keys of servers created anew (the cluster's known_hosts)",
    "Wait for SSH on every server",
)


def test_provision_openstack_keeps_no_server_decision_in_jinja():
    """The play's vars and the tasks above are one filter call each: no Jinja loop, no
    selectattr left untested."""
    play_vars, tasks = _tasks_by_name()
    text = json.dumps([play_vars] + [tasks[name] for name in WIRED])
    for construct in ("{%", "selectattr", "rejectattr", "dict2items", "2222"):
        assert construct not in text, construct
