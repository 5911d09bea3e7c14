"""The inventory plugin q8s.cluster.spec, through the real ansible-inventory/ansible-playbook."""

import json
import os
import shutil

import inventory_json
import pytest

from ansible_collections.q8s.cluster.plugins.inventory.spec import InventoryModule
from inventory_cases import CASES, ROOT, golden_path, inventory_list, run

BAD = "tests/unit/fixtures/bad-cluster.yml"


@pytest.mark.parametrize(
    "name,expected",
    [
        ("q8s.yml", True),
        ("q8s.yaml", True),
        ("lab.q8s.yml", True),
        ("cluster_q8s.yaml", True),
        ("q8s.json", False),
        ("cluster.yml", False),
        ("q8s.yml.bak", False),
        ("inventory.ini", False),
    ],
)
def test_verify_file(tmp_path, name, expected):
    path = tmp_path / name
    path.write_text("plugin: q8s.cluster.spec\n")
    assert InventoryModule().verify_file(str(path)) is expected


def test_verify_file_missing(tmp_path):
    assert InventoryModule().verify_file(str(tmp_path / "q8s.yml")) is False


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_inventory(case):
    spec, state_dir = CASES[case]
    with open(golden_path(case)) as handle:
        expected = json.load(handle)
    assert inventory_list(spec, state_dir) == expected, "regenerate with `make golden` if the change is intended"


def test_paper_inventory_shape():
    data = inventory_list(*CASES["paper-50"])
    assert len(data["q8s_emulated_workers"]["hosts"]) == 50
    assert len(data["q8s_qemu_hosts"]["hosts"]) == 50
    assert len(data["q8s_arch_aarch64"]["hosts"]) == 20
    assert len(data["q8s_arch_x86_64"]["hosts"]) == 30
    assert data["q8s_control_plane_extra"]["hosts"] == ["paper50--cp-1", "paper50--cp-2"]
    assert data["q8s_control_plane_initial"]["hosts"] == ["paper50--cp-0"]


def test_graph_from_checkout():
    proc = run(["ansible-inventory", "--graph", "-e", "@examples/cluster.yml"])
    assert proc.returncode == 0, proc.stderr
    assert "@q8s_emulated_workers:" in proc.stdout and "demo--arm-mid-1" in proc.stdout


def test_bad_spec_fails_inventory_with_every_problem():
    proc = run(["ansible-inventory", "--list", "-e", "@" + BAD])
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "3 problems found" in out
    assert "cluster_name: " in out and "'demo-cluster'" in out
    assert "vm_types.x86-small.cpu_model: " in out and "aarch64" in out
    assert "vm_types.x86-small.colour: unknown field" in out
    assert "demo" not in proc.stdout


def test_bad_spec_fails_playbook_before_any_task(tmp_path):
    marker = tmp_path / "touched"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Would create something\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Touch\n      ansible.builtin.file:\n        path: %s\n        state: touch\n        mode: '0644'\n" % marker
    )
    proc = run(["ansible-playbook", str(playbook), "-e", "@" + BAD])
    assert proc.returncode != 0
    assert "vm_types.x86-small.cpu_model" in proc.stdout + proc.stderr
    assert not marker.exists()


def test_upstream_tags_work_in_playbook_extra_vars(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Read the spec\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Show\n      ansible.builtin.debug:\n"
        "        msg: \"{{ cluster_definition.worker['arm-mid'] }} {{ q8s_cluster.cluster_name }} {{ groups['q8s_qemu_hosts'] | length }}\"\n"
    )
    proc = run(["ansible-playbook", str(playbook), "-e", "@tests/unit/fixtures/upstream-cluster.yaml"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"msg": "1 q8s 2"' in proc.stdout
    assert "git_url: ignored" in proc.stderr + proc.stdout


def test_no_spec_is_an_error():
    proc = run(["ansible-inventory", "--list"])
    assert proc.returncode != 0
    assert "no cluster spec given" in proc.stdout + proc.stderr


def test_two_specs_is_an_error():
    proc = run(["ansible-inventory", "--list", "-e", "@examples/cluster.yml", "-e", "@examples/paper-50.yml"])
    assert proc.returncode != 0
    assert "more than one cluster spec" in proc.stdout + proc.stderr


def test_other_extra_vars_are_not_the_spec():
    proc = run(["ansible-inventory", "--graph", "-e", "@examples/cluster.yml", "-e", "q8s_teardown_confirm=true"])
    assert proc.returncode == 0, proc.stderr


def test_spec_file_option(tmp_path):
    source = tmp_path / "lab.q8s.yml"
    source.write_text(
        "plugin: q8s.cluster.spec\nspec_file: %s/examples/paper-50.yml\n"
        "keyed_groups:\n  - key: q8s_node.vm_type_spec.cpu_model | default('none')\n    prefix: cpu\n" % ROOT
    )
    proc = run(["ansible-inventory", "-i", str(source), "--list", "--export"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["cpu_cortex_a57"]["hosts"]) == 40
    assert len(data["cpu_EPYC_Rome"]["hosts"]) == 60


def test_broken_state_file(tmp_path):
    (tmp_path / "hosts.json").write_text("{not json")
    proc = run(["ansible-inventory", "--list", "-e", "@examples/cluster.yml"], state_dir=str(tmp_path))
    assert proc.returncode != 0
    assert "cannot read the state file" in proc.stdout + proc.stderr


def test_state_address_outside_the_plan(tmp_path):
    (tmp_path / "hosts.json").write_text(json.dumps({"hosts": {"demo--x86-small-1-host": "10.9.9.9"}}))
    proc = run(["ansible-inventory", "--list", "-e", "@examples/cluster.yml"], state_dir=str(tmp_path))
    assert proc.returncode != 0
    assert "outside the host network" in proc.stdout + proc.stderr


def test_a_state_dir_of_another_cluster_is_refused(tmp_path):
    """Two specs with one state_dir would share one cluster key, and the teardown of one
    would delete the other's. hosts.json names its cluster: another name is refused before
    any play runs (provision, site, teardown all read this inventory first)."""
    (tmp_path / "hosts.json").write_text(json.dumps({"cluster": "other", "hosts": {}}))
    proc = run(["ansible-inventory", "--list", "-e", "@examples/cluster.yml"], state_dir=str(tmp_path))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "state_dir: %s holds the state of cluster 'other'" % tmp_path in out, out
    assert "not of cluster 'demo'" in out and "such as ~/.q8s/demo" in out, out
    # its own name, or a hosts.json of the older form without one, is read as before
    for data in ({"cluster": "demo", "hosts": {}}, {}):
        (tmp_path / "hosts.json").write_text(json.dumps(data))
        proc = run(["ansible-inventory", "--list", "-e", "@examples/cluster.yml"], state_dir=str(tmp_path))
        assert proc.returncode == 0, proc.stderr


def test_inventory_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    state = tmp_path / "state"
    shutil.copytree(os.path.join(ROOT, "tests/unit/fixtures/state-demo"), str(state))
    cache = tmp_path / "cache"
    monkeypatch.setenv("ANSIBLE_INVENTORY_CACHE_PLUGIN", "ansible.builtin.jsonfile")
    monkeypatch.setenv("ANSIBLE_INVENTORY_CACHE_CONNECTION", str(cache))

    def listing():
        args = ["env", "ANSIBLE_INVENTORY_CACHE=True", "ansible-inventory", "--list", "--export", "-e", "@examples/cluster.yml"]
        proc = run(args, state_dir=str(state))
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    first = listing()
    assert os.listdir(str(cache)), "the plugin wrote nothing to the inventory cache"
    assert listing() == first
    data = json.loads((state / "hosts.json").read_text())
    data["hosts"]["demo--x86-small-1-host"] = "10.254.1.99"
    (state / "hosts.json").write_text(json.dumps(data))
    os.utime(str(state / "hosts.json"), ns=(1, 1))
    third = listing()
    assert third["_meta"]["hostvars"]["demo--x86-small-1"]["q8s_node"]["guest_address"]["__ansible_unsafe"] == "100.64.0.99"


def test_bastion_proxies_every_host():
    """With `bastion`, every host and guest is reached through the jump host; the SSH
    arguments split (as Ansible's ssh plugin splits them) into one ProxyCommand."""
    import shlex

    data = inventory_list(*CASES["bastion"])
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["demo--cp-0", "demo--x86-small-1", "demo--x86-small-1-host"]
    for name, hv in hostvars.items():
        raw = hv["ansible_ssh_common_args"]
        args = shlex.split(inventory_json.plain(raw))
        proxy = [a for a in args if a.startswith("ProxyCommand=")]
        assert len(proxy) == 1 and args[args.index(proxy[0]) - 1] == "-o", name
        jump = shlex.split(proxy[0][len("ProxyCommand=") :])
        assert jump[:3] == ["ssh", "-W", "%h:%p"], name
        assert jump[jump.index("-p") + 1] == "2200"
        assert jump[jump.index("-i") + 1] == "/home/researcher/.ssh/id_bastion"
        # the jump host's key goes to the cluster's known_hosts as well
        assert "UserKnownHostsFile=<root>/tests/unit/fixtures/state-demo/known_hosts" in jump and "StrictHostKeyChecking=accept-new" in jump
        assert jump[-1] == "jump@203.0.113.10"
    host = hostvars["demo--x86-small-1"]["ansible_host"]
    assert inventory_json.plain(host) == "10.254.1.21"
    assert hostvars["demo--x86-small-1"]["ansible_port"] == 2222


def test_ssh_hosts_use_the_clusters_known_hosts():
    """Every host and guest reached over SSH trusts a new host key once, in the cluster's
    own known_hosts (never the user's), and refuses a changed one; podman containers of the
    local provider have no SSH options."""
    import shlex

    for case in ("cluster", "local"):
        state = "<root>/" + CASES[case][1]
        hostvars = inventory_list(*CASES[case])["_meta"]["hostvars"]
        for name, hv in hostvars.items():
            if inventory_json.plain(hv.get("ansible_connection")) == "q8s.cluster.podman":
                assert "ansible_ssh_common_args" not in hv, name
                continue
            args = shlex.split(inventory_json.plain(hv["ansible_ssh_common_args"]))
            assert args == ["-o", "UserKnownHostsFile=%s/known_hosts" % state, "-o", "StrictHostKeyChecking=accept-new"], (name, args)


def test_local_provider_hosts_are_podman_containers():
    """provider local: control planes and QEMU hosts are reached with podman exec under
    their own names, their libvirt gets the container settings; guests stay SSH hosts at
    their host container's address."""
    data = inventory_list(*CASES["local"])
    hostvars = data["_meta"]["hostvars"]

    for name in ("local--cp-0", "local--x86-small-1-host", "local--arm-small-1-host"):
        assert inventory_json.plain(hostvars[name]["ansible_connection"]) == "q8s.cluster.podman", name
        assert "ansible_host" not in hostvars[name] and "ansible_user" not in hostvars[name], name
    assert "qemu_host_qemu_conf" not in hostvars["local--cp-0"]
    conf = hostvars["local--x86-small-1-host"]["qemu_host_qemu_conf"]
    assert inventory_json.plain(conf) == {"namespaces": "[]", "cgroup_controllers": "[]"}
    guest = hostvars["local--arm-small-1"]
    assert inventory_json.plain(guest["ansible_host"]) == "10.89.80.4" and guest["ansible_port"] == 2222
    assert "ansible_connection" not in guest
