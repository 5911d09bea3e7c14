"""The README's OpenStack command end to end on the loopback cloud, whose servers are
real machines of this host (podman containers with systemd and sshd, libvirt and QEMU
inside; tests/integration/cloud, Q8S_CLOUD_COMPUTE=podman):

    OS_CLOUD=q8s-test ansible-playbook playbooks/site.yml -e @cluster.yml --skip-tags kubernetes

then checked from outside: nova's servers are the containers, every guest emulates its
hardware, SSH reaches it through its host's port 2222, the control plane reaches its
node address through the translation; a second run changes nothing; the repairs of
docs/repair.md work on this provider; teardown.yml leaves nothing behind.

A second cluster shares the project, deployed at the same time as the first (the two
runs overlap, which also saves the suite a deployment's wall time): e2e-x86, whose
names look like the first's (under a single '-' separator its QEMU host would be
e2e-x86-small-1-host, which is also what e2e's x86-small host would be called). The
repairs and the teardown of e2e change nothing of it: servers, ports, security group,
keypair, containers, the libvirt domains in its servers and its state files are
compared before and after each; then it is torn down and leaves nothing either.

Run by tests/e2e.sh (make e2e), which starts and stops the cloud. Each cluster's state
lives in a temporary state_dir, so nothing touches ~/.q8s; HOME stays the user's
(async_status finds its jobs under the passwd home). Every playbook run's output and
stage timings go to logs/e2e/ (what the suite's time goes to).
"""

import hashlib
import itertools
import json
import os
import re
import subprocess
import time
from pathlib import Path

import guest_hardware
import inventory_json
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CLOUD_DIR = Path(os.environ.get("Q8S_CLOUD_DIR", "/var/tmp/q8s-cloud"))
SERVER_SUBNET = os.environ.get("Q8S_CLOUD_SERVER_SUBNET", "10.89.222.0/24")
IMAGES = Path(os.environ.get("Q8S_CACHE", "/var/cache/q8s")) / "images"
NAME = "e2e"
# The second cluster: one control plane and one small x86_64 worker (1 vCPU, the
# cheapest guest under TCG), with names that look like the first cluster's.
OTHER = "e2e-x86"
LOGS = ROOT / "logs" / "e2e"
RUNS = itertools.count(1)
# Servers are containers: libvirt there has no mount namespaces and no cgroup controllers
# (the local provider's inventory sets the same for its host containers).
HARNESS_VARS = {"qemu_host_qemu_conf": {"namespaces": "[]", "cgroup_controllers": "[]"}}

pytestmark = pytest.mark.e2e


def run(*cmd, env=None, check=False, timeout=3600):
    proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc %d):\n%s\n%s" % (cmd, proc.returncode, proc.stdout[-8000:], proc.stderr[-3000:]))
    return proc


def recap(out):
    """{host: (changed, failed)} from a PLAY RECAP."""
    return {
        m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out, re.M)
    }


def make_cluster(home, name, workers, vm_types):
    """A cluster's spec, harness vars and environment in home (a temporary directory)."""
    spec = {
        "cluster_name": name,
        "private_network_id": "servers",
        "remote_ip_prefix": SERVER_SUBNET,
        "default_image_name": "q8s-test-image",
        "admin_cidr": SERVER_SUBNET,
        "state_dir": str(home / ".q8s" / name),
        "kubernetes_version": "1.34.1",
        "cluster_definition": {"master_node_flavor": "q8s.medium", "number_additional_master_nodes": 0, "worker": workers},
        "vm_types": vm_types,
        "guest_images": {
            # the image, its kernel and initrd (tests/testbed/build-images.sh): direct kernel boot and q8s-firstboot
            arch: dict(
                {"source": "file://%s/debian-12-%s.qcow2" % (IMAGES, deb), "checksum": "sha256:file://%s/debian-12-%s.qcow2.sha256" % (IMAGES, deb)},
                **{
                    key: {
                        "source": "file://%s/debian-12-%s.%s" % (IMAGES, deb, ext),
                        "checksum": "sha256:file://%s/debian-12-%s.%s.sha256" % (IMAGES, deb, ext),
                    }
                    for key, ext in (("kernel", "vmlinuz"), ("initrd", "initrd"))
                },
                cmdline="root=LABEL=root ro" + (" no_timer_check" if arch == "x86_64" else ""),
                firstboot=True,
            )
            for arch, deb in (("x86_64", "amd64"), ("aarch64", "arm64"))
        },
        "guest_user": "q8s",
    }
    path = home / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    harness = home / ("%s-harness.yml" % name)
    harness.write_text(yaml.safe_dump(HARNESS_VARS))
    env = dict(os.environ)
    # HOME stays the user's: async_status looks for its jobs under the passwd home
    env.update(
        OS_CLIENT_CONFIG_FILE=str(CLOUD_DIR / "clouds.yaml"),
        OS_CLOUD="q8s-test",
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH="%s:%s" % (VENV_BIN, os.environ["PATH"]),
        no_proxy="127.0.0.1,localhost",
        NO_PROXY="127.0.0.1,localhost",
    )
    os.environ["OS_CLIENT_CONFIG_FILE"] = env["OS_CLIENT_CONFIG_FILE"]
    return {"name": name, "home": home, "spec": spec, "path": path, "harness": harness, "env": env, "state": Path(spec["state_dir"])}


X86_SMALL = {
    "architecture": "x86_64",
    "cpu_model": "EPYC-Rome",
    "machine_model": "q35",
    "num_cpus": 2,
    "ram": 1024,
    "storage": 4,
    "openstack_flavor": "q8s.medium",
}
ARM_SMALL = {
    "architecture": "arm_64",
    "cpu_model": "cortex-a57",
    "machine_model": "virt",
    "num_cpus": 2,
    "ram": 1536,
    "storage": 5,
    "openstack_flavor": "q8s.medium",
}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return make_cluster(tmp_path_factory.mktemp("home"), NAME, {"x86-small": 1, "arm-small": 1}, {"x86-small": X86_SMALL, "arm-small": ARM_SMALL})


@pytest.fixture(scope="module")
def other_work(work):
    small = dict(X86_SMALL, num_cpus=1, ram=768, openstack_flavor="q8s.small")
    return make_cluster(work["home"], OTHER, {"small": 1}, {"small": small})


def start(work, name, *args):
    """ansible-playbook in the background; its output, task timings and stage timings
    (phase_report's timing.json) go to logs/e2e/<n>-<cluster>-<playbook>."""
    LOGS.mkdir(parents=True, exist_ok=True)
    label = "%02d-%s-%s" % (next(RUNS), work["name"], name.replace("/", "-").replace(".yml", ""))
    # profile_tasks: each task's start time and the slowest tasks at the end of the log
    env = dict(work["env"], Q8S_REPORT_DIR=str(LOGS / label), ANSIBLE_CALLBACKS_ENABLED="q8s.cluster.phase_report,ansible.posix.profile_tasks")
    argv = [str(VENV_BIN / "ansible-playbook"), "playbooks/%s" % name, "-e", "@%s" % work["path"], "-e", "@%s" % work["harness"], *args]
    log = (LOGS / (label + ".log")).open("w")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    return proc, log, time.monotonic()


def finish(started, timeout=3600):
    """Wait for a start()ed run: a CompletedProcess with its whole output as stdout."""
    proc, log, began = started
    try:
        proc.wait(timeout=max(1, timeout - (time.monotonic() - began)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    out = Path(log.name).read_text(errors="replace")
    print("%s: rc %s, %.0f s" % (Path(log.name).name, proc.returncode, time.monotonic() - began))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def playbook(work, name, *args, timeout=3600):
    return finish(start(work, name, *args), timeout=timeout)


def teardown(work):
    return playbook(work, "teardown.yml", "-e", "q8s_teardown_confirm=true")


def site(work, background=False):
    """The README's command, as a user runs it, up to the Kubernetes steps."""
    started = start(work, "site.yml", "--skip-tags", "kubernetes", "--forks", "8")
    return started if background else finish(started)


@pytest.fixture(scope="module")
def tenant(work):
    import openstack

    return openstack.connect(cloud="q8s-test")


def servers_of(tenant, cluster):
    return {s.name: s for s in tenant.compute.servers() if (s.metadata or {}).get("q8s_cluster") == cluster}


def leftovers(work, tenant):
    """Does anything of the cluster remain (state directory or servers)?"""
    return work["state"].exists() or bool(servers_of(tenant, work["name"]))


@pytest.fixture(scope="module")
def launched(work, other_work, tenant):
    """site.yml's first run of both clusters, started together; teardown.yml of each
    afterwards when something of it is left, even after a failure (the cloud keeps nova's
    records across restarts: a server left there would meet the next run)."""
    runs = {}
    try:
        runs[NAME] = site(work, background=True)
        runs[OTHER] = site(other_work, background=True)
        yield runs
    finally:
        for started in runs.values():
            if started[0].poll() is None:
                finish(started, timeout=1)
        for each in (work, other_work):
            if leftovers(each, tenant):
                teardown(each)


def first_run(each, started):
    if not isinstance(started, subprocess.CompletedProcess):
        started = finish(started)
    assert started.returncode == 0, started.stdout[-8000:]
    hosts = json.loads((each["state"] / "hosts.json").read_text())["hosts"]
    return {"first": started, "hosts": hosts, "key": each["state"] / "id_ed25519"}


@pytest.fixture(scope="module")
def deployed(work, launched):
    """The first cluster, deployed."""
    return first_run(work, launched[NAME])


@pytest.fixture(scope="module")
def other(other_work, launched, tenant):
    """The second cluster, deployed (its run overlapped the first cluster's tests), and
    its footprint once deployed: what the first cluster's runs must leave as it is."""
    deployed_other = first_run(other_work, launched[OTHER])
    deployed_other["footprint"] = footprint(tenant, other_work)
    return deployed_other


def nodes(work):
    """{inventory name: q8s_node} as the inventory plugin names and describes them."""
    proc = run(VENV_BIN / "ansible-inventory", "--list", "-e", "@%s" % work["path"], env=work["env"], check=True)
    return {name: hv["q8s_node"] for name, hv in inventory_json.loads(proc.stdout)["_meta"]["hostvars"].items() if "q8s_node" in hv}


def control_plane(work):
    """The initial control plane's inventory name."""
    cps = sorted((not node.get("initial", False), name) for name, node in nodes(work).items() if node["role"] == "control_plane")
    return cps[0][1]


def guests(work, hosts):
    """(guest, its vm type, its host's address) for every guest of the spec."""
    return [
        (name, work["spec"]["vm_types"][node["vm_type"]], hosts[node["qemu_host"]]) for name, node in sorted(nodes(work).items()) if node["role"] == "guest"
    ]


def ssh(key, user, address, command, port=22):
    return run(
        "ssh",
        "-i",
        key,
        "-p",
        port,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=20",
        "%s@%s" % (user, address),
        command,
        timeout=120,
    )


def container(server_id):
    proc = run("podman", "inspect", "q8s-nova-%s" % server_id)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def servers(tenant):
    return servers_of(tenant, NAME)


def domains(server_id):
    """The libvirt domains in a QEMU host server's container, one line each: name, UUID,
    id (new at every start), state; with virsh's exit status."""
    script = 'set -e; for d in $(virsh list --all --name); do echo "$d $(virsh domuuid $d) $(virsh domid $d) $(virsh domstate $d)"; done'
    proc = run("podman", "exec", "q8s-nova-%s" % server_id, "sh", "-c", script)
    return proc.returncode, sorted(line for line in proc.stdout.splitlines() if line.strip())


def footprint(tenant, each):
    """Everything of a cluster that another cluster's runs could change, with what
    identifies its state: servers, their ports, the security group (and its rules),
    the keypair, the servers' containers and the libvirt domains in them, the state files."""
    found = servers_of(tenant, each["name"])
    ids = {s.id for s in found.values()}
    group = [g for g in tenant.network.security_groups() if g.name == "%s-cluster" % each["name"]]
    keypair = [k for k in tenant.compute.keypairs() if k.name == "%s-cluster" % each["name"]]
    out = {
        "servers": {
            s.id: (name, s.status, json.dumps(s.addresses, sort_keys=True), tuple(sorted(g["name"] for g in s.security_groups or [])), s.key_name)
            for name, s in found.items()
        },
        "ports": {
            p.id: (p.device_id, p.mac_address, json.dumps(p.fixed_ips, sort_keys=True), tuple(sorted(p.security_group_ids or [])))
            for p in tenant.network.ports()
            if p.device_id in ids
        },
        "security_group": [(g.id, g.description, tuple(sorted(r["id"] for r in g.security_group_rules))) for g in group],
        "keypair": [(k.name, k.fingerprint) for k in keypair],
        "containers": {},
        "domains": {},
        "state": {str(f.relative_to(each["state"])): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(each["state"].rglob("*")) if f.is_file()},
    }
    for server in found.values():
        inspect = container(server.id)
        out["containers"][server.id] = inspect and (inspect["Id"], inspect["State"]["StartedAt"], inspect["State"]["Status"])
        if (server.metadata or {}).get("q8s_role") == "qemu_host":
            out["domains"][server.id] = domains(server.id) if inspect else None
    return out


def assert_untouched(tenant, other_work, other):
    """The second cluster is as it was when the suite first looked at it.

    Seen failing on purpose (2026-12-05): with teardown_openstack.yml choosing servers by a
    name match instead of their q8s_cluster metadata, e2e's teardown took e2e-x86's servers
    for its own and deleted their ports; test_teardown_leaves_nothing then failed here,
    naming both servers (their security group gone) and both ports."""
    now = footprint(tenant, other_work)
    assert now == other["footprint"], {k: (other["footprint"][k], v) for k, v in now.items() if v != other["footprint"][k]}


def test_every_server_is_a_container_at_its_port(tenant, deployed):
    found = servers(tenant)
    assert sorted(found) == sorted(deployed["hosts"]), found
    for name, server in found.items():
        assert server.status == "ACTIVE", (name, server.status)
        inspect = container(server.id)
        assert inspect is not None, "no container for %s" % name
        assert inspect["State"]["Status"] == "running"
        assert inspect["Config"]["Hostname"] == name
        (addr,) = server.addresses["servers"]
        net = inspect["NetworkSettings"]["Networks"]["q8s-nova"]
        assert net["IPAddress"] == addr["addr"] == deployed["hosts"][name]
        assert net["MacAddress"] == addr["OS-EXT-IPS-MAC:mac_addr"]


def test_guests_emulate_the_requested_hardware(work, deployed):
    for guest, vm_type, address in guests(work, deployed["hosts"]):
        proc = ssh(deployed["key"], "q8s", address, guest_hardware.PROBE, port=2222)
        assert proc.returncode == 0, (guest, proc.stderr)
        guest_hardware.assert_emulates(guest, vm_type, proc.stdout)


def node_address(work, guest):
    return nodes(work)[guest]["guest_address"]


def test_control_plane_reaches_guests_at_their_node_address(work, deployed):
    """The guest's node address (guest pool) from the control plane: its translation
    sends it to the guest's host, whose forwarding hands it to the guest's sshd."""
    cp = deployed["hosts"][control_plane(work)]
    for guest, _vm_type, _address in guests(work, deployed["hosts"]):
        addr = node_address(work, guest)
        probe = ssh(deployed["key"], "ubuntu", cp, "timeout 10 bash -c 'exec 3<>/dev/tcp/%s/22 && head -c 7 <&3'" % addr)
        assert probe.stdout.startswith("SSH-2.0"), (guest, addr, probe.stdout, probe.stderr)


def test_rerun_changes_nothing(work, deployed):
    again = site(work)
    assert again.returncode == 0, again.stdout[-6000:]
    changes = recap(again.stdout)
    assert changes and all(changed == 0 and failed == 0 for changed, failed in changes.values()), again.stdout[-6000:]
    # qemu_host, nat_bridge and link_profile compare each host in one run of host_state and
    # include their tasks (tasks/apply.yml) only when something differs: here nothing does.
    applied = [line for line in again.stdout.splitlines() if "/tasks/apply.yml for " in line]
    assert applied == [], applied


def test_second_cluster_stands_apart_with_look_alike_names(work, other_work, tenant, deployed, other):
    """e2e-x86 (one control plane, one x86_64 worker of type small) beside e2e: its
    servers are containers too and its guest answers; no name of one cluster is a name of
    the other, although with a single '-' between cluster and node both would have a QEMU
    host named e2e-x86-small-1-host. Its footprint is kept for the checks below."""
    mine, theirs = servers(tenant), servers_of(tenant, OTHER)
    assert sorted(theirs) == sorted(other["hosts"]) and len(theirs) == 2, theirs
    assert not set(mine) & set(theirs) and not set(nodes(work)) & set(nodes(other_work))
    old_style = {n.replace("--", "-") for n in list(nodes(work)) + list(nodes(other_work))}
    assert "%s-small-1-host" % OTHER in old_style and len(old_style) < len(nodes(work)) + len(nodes(other_work)), old_style
    for name, server in theirs.items():
        inspect = container(server.id)
        assert inspect is not None and inspect["State"]["Status"] == "running" and inspect["Config"]["Hostname"] == name, name
    ((guest, _vm_type, address),) = guests(other_work, other["hosts"])
    probe = ssh(other["key"], "q8s", address, "hostname; nproc", port=2222)
    assert probe.returncode == 0 and probe.stdout.split() == [guest, "1"], (probe.stdout, probe.stderr)
    host_id = theirs[guest + "-host"].id
    rc, lines = other["footprint"]["domains"][host_id]
    assert rc == 0 and [line.split()[0] for line in lines] == [guest] and lines[0].endswith(" running"), other["footprint"]["domains"]
    assert other["footprint"]["keypair"] and len(other["footprint"]["security_group"]) == 1 and other["footprint"]["ports"], other["footprint"]
    assert {"hosts.json", "id_ed25519", "known_hosts"} <= set(other["footprint"]["state"]), other["footprint"]["state"]


def repair(work, name, *args):
    return playbook(work, "repair/%s.yml" % name, "--skip-tags", "kubernetes", *args)


def x86_guest(work, deployed):
    return next((g, address) for g, vm_type, address in guests(work, deployed["hosts"]) if vm_type["architecture"] == "x86_64")


def test_rebuild_guest_gives_a_fresh_guest(work, tenant, deployed, other_work, other):
    """docs/repair.md, guest disk lost: repair/rebuild_guest.yml, on an OpenStack server."""
    guest, address = x86_guest(work, deployed)
    assert ssh(deployed["key"], "q8s", address, "sudo touch /var/q8s-marker", port=2222).returncode == 0
    rebuilt = repair(work, "rebuild_guest", "--limit", "%s,%s-host" % (guest, guest), "-e", "q8s_confirm=rebuild_guest")
    assert rebuilt.returncode == 0, rebuilt.stdout[-6000:]
    after = ssh(deployed["key"], "q8s", address, "hostname; test -e /var/q8s-marker && echo marker-still-there || echo fresh-disk", port=2222)
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == [guest, "fresh-disk"], after.stdout
    assert_untouched(tenant, other_work, other)


def test_server_rebooted_through_nova_comes_back(work, tenant, deployed, other_work, other):
    """docs/repair.md, QEMU host rebooted: a hard reboot through nova's API restarts the
    server's container; its boot puts the forwarding rules back ahead of libvirt's without
    any Ansible run (the q8s-firewall unit), the guest comes back (autostart) and
    guests.yml confirms it."""
    guest, address = x86_guest(work, deployed)
    server = servers(tenant)[guest + "-host"]
    started = container(server.id)["State"]["StartedAt"]
    tenant.compute.reboot_server(server, "HARD")
    tenant.compute.wait_for_server(tenant.compute.get_server(server.id), status="ACTIVE", wait=300)
    assert container(server.id)["State"]["StartedAt"] != started, "the container was not restarted"
    deadline = time.monotonic() + 180
    while True:
        rules = run("podman", "exec", "q8s-nova-%s" % server.id, "/usr/local/sbin/q8s-firewall", "check")
        if rules.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert rules.returncode == 0, ("the rules did not come back after the reboot", rules.stdout, rules.stderr)
    confirmed = playbook(work, "guests.yml", "--limit", guest + "-host", "--tags", "emulated_worker")
    assert confirmed.returncode == 0, confirmed.stdout[-6000:]
    after = ssh(deployed["key"], "q8s", address, "hostname", port=2222)
    assert after.returncode == 0 and after.stdout.strip() == guest, (after.stdout, after.stderr)
    assert_untouched(tenant, other_work, other)


def test_replace_host_builds_a_new_server(work, tenant, deployed, other_work, other):
    """docs/repair.md, replace_host: the server is deleted in nova and a new one built at
    the same address, then its QEMU layer and guest are set up again."""
    guest, address = x86_guest(work, deployed)
    host = guest + "-host"
    before = servers(tenant)[host].id
    limit = "%s,%s,%s,localhost" % (host, guest, control_plane(work))
    replaced = repair(work, "replace_host", "--limit", limit, "-e", "q8s_confirm=replace_host")
    assert replaced.returncode == 0, replaced.stdout[-6000:]
    after = servers(tenant)[host]
    assert after.id != before, "the server was not replaced"
    assert container(before) is None, "the old server's container is still there"
    assert container(after.id)["State"]["Status"] == "running"
    hosts = json.loads((work["state"] / "hosts.json").read_text())["hosts"]
    probe = ssh(deployed["key"], "q8s", hosts[host], "hostname", port=2222)
    assert probe.returncode == 0 and probe.stdout.strip() == guest, (address, hosts[host], probe.stdout, probe.stderr)
    assert_untouched(tenant, other_work, other)


def assert_gone(tenant, each, ids):
    assert servers_of(tenant, each["name"]) == {}
    assert not [p for p in tenant.network.ports() if p.device_id in ids]
    assert not [g for g in tenant.network.security_groups() if g.name == "%s-cluster" % each["name"]]
    assert not [k for k in tenant.compute.keypairs() if k.name == "%s-cluster" % each["name"]]
    for server_id in ids:
        assert container(server_id) is None, server_id
    assert not each["state"].exists(), sorted(p.name for p in each["state"].iterdir())


def test_teardown_leaves_nothing(work, tenant, deployed, other_work, other):
    """teardown.yml of e2e: nothing of it is left, and nothing of e2e-x86 changed."""
    ids = {s.id for s in servers(tenant).values()}
    first = teardown(work)
    assert first.returncode == 0, first.stdout[-4000:]
    assert_gone(tenant, work, ids)
    assert_untouched(tenant, other_work, other)


def test_teardown_of_the_second_cluster_leaves_nothing(tenant, other_work, other):
    ids = {s.id for s in servers_of(tenant, OTHER).values()}
    assert len(ids) == 2
    down = teardown(other_work)
    assert down.returncode == 0, down.stdout[-4000:]
    assert_gone(tenant, other_work, ids)
