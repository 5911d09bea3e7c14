"""The local provider end to end: the README's deploy command with its default spec
(examples/local.yml) up to the Kubernetes steps, for real: podman containers as hosts,
libvirt and QEMU inside them, one x86_64 and one aarch64 guest under TCG.

Run by tests/local.sh (make local), which prepares the machine and the images.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import guest_hardware
import pytest

from ansible_collections.q8s.cluster.plugins.connection.podman import AGENT_IMPORTS

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "local.yml"
DEPLOY = ROOT / "scripts" / "deploy.sh"
VENV_BIN = ROOT / ".venv" / "bin"

pytestmark = pytest.mark.local


def run(*cmd, check=False, timeout=3600, env=None):
    environ = dict(os.environ, **env) if env else None
    proc = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (rc %d):\n%s\n%s" % (cmd, proc.returncode, proc.stdout[-8000:], proc.stderr[-3000:]))
    return proc


def recap(out):
    """{host: (changed, failed)} from a PLAY RECAP."""
    return {
        m.group(1): (int(m.group(2)), int(m.group(3))) for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out, re.M)
    }


def teardown():
    return run(VENV_BIN / "ansible-playbook", "playbooks/teardown.yml", "-e", "@%s" % SPEC, "-e", "q8s_teardown_confirm=true")


def guests(spec, hosts):
    """(guest, its vm type, its host's address) for every guest of the spec."""
    out = []
    for type_name, count in spec["cluster_definition"]["worker"].items():
        for i in range(1, count + 1):
            guest = "%s--%s-%d" % (spec["cluster_name"], type_name, i)
            out.append((guest, spec["vm_types"][type_name], hosts[guest + "-host"]))
    return out


def ssh(key, address, command):
    return run(
        "ssh",
        "-i",
        key,
        "-p",
        "2222",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=20",
        "q8s@%s" % address,
        command,
        timeout=120,
    )


def test_every_host_is_a_container_on_the_cluster_network(spec, deployed):
    proc = run("podman", "ps", "--filter", "label=q8s_cluster=%s" % spec["cluster_name"], "--format", "{{.Names}}", check=True)
    assert sorted(proc.stdout.split()) == sorted(deployed["hosts"]), proc.stdout
    for name, address in deployed["hosts"].items():
        inspect = json.loads(run("podman", "inspect", name, check=True).stdout)[0]
        nets = inspect["NetworkSettings"]["Networks"]
        assert nets["q8s-local"]["IPAddress"] == address, (name, nets)


def test_guests_emulate_the_requested_hardware(spec, deployed):
    for guest, vm_type, address in guests(spec, deployed["hosts"]):
        proc = ssh(deployed["key"], address, guest_hardware.PROBE)
        assert proc.returncode == 0, (guest, proc.stderr)
        guest_hardware.assert_emulates(guest, vm_type, proc.stdout)


def test_host_port_22_stays_the_hosts(spec, deployed):
    """2222 reaches the guest (above); 22 on a host container is not the guest's SSH."""
    for guest, _vm_type, address in guests(spec, deployed["hosts"]):
        proc = run("timeout", "5", "bash", "-c", "exec 3<>/dev/tcp/%s/22 && head -c 7 <&3" % address)
        assert not proc.stdout.startswith("SSH-2.0"), (guest, proc.stdout)


def repair(name, *args):
    return run(VENV_BIN / "ansible-playbook", "playbooks/repair/%s.yml" % name, "-e", "@%s" % SPEC, "--skip-tags", "kubernetes", *args)


def x86_guest(spec, deployed):
    return next((g, address) for g, vm_type, address in guests(spec, deployed["hosts"]) if vm_type["architecture"] == "x86_64")


def test_rebuild_guest_refuses_without_confirmation(spec, deployed):
    guest, address = x86_guest(spec, deployed)
    marker = ssh(deployed["key"], address, "sudo touch /var/q8s-marker")
    assert marker.returncode == 0, marker.stderr
    refused = repair("rebuild_guest", "--limit", "%s,%s-host" % (guest, guest))
    assert refused.returncode != 0
    assert "q8s_confirm=rebuild_guest" in refused.stdout, refused.stdout[-3000:]
    assert ssh(deployed["key"], address, "test -e /var/q8s-marker").returncode == 0, "the guest was touched"


def ansible_ping(guest):
    """Ansible reaches the guest as the playbooks do: the inventory's SSH settings, the
    cluster's own known_hosts (a new key accepted once, a changed one refused)."""
    return run(VENV_BIN / "ansible", guest, "-m", "ansible.builtin.ping", "-e", "@%s" % SPEC)


def test_rebuild_guest_gives_a_fresh_guest(spec, deployed):
    """repair/rebuild_guest.yml: new overlay disk and seed, the same guest again; its new
    SSH host key replaces the old one in the cluster's known_hosts."""
    guest, address = x86_guest(spec, deployed)
    assert ssh(deployed["key"], address, "sudo touch /var/q8s-marker").returncode == 0
    before = ansible_ping(guest)
    assert before.returncode == 0 and "pong" in before.stdout, before.stdout[-3000:]
    known_hosts = deployed["key"].parent / "known_hosts"

    def known(address):
        return run("ssh-keygen", "-F", "[%s]:2222" % address, "-f", known_hosts).returncode == 0

    assert known(address), "the guest's key is not in the cluster's known_hosts"
    rebuilt = repair("rebuild_guest", "--limit", "%s,%s-host" % (guest, guest), "-e", "q8s_confirm=rebuild_guest")
    assert rebuilt.returncode == 0, rebuilt.stdout[-6000:]
    assert not known(address), "the rebuilt guest's old key is still trusted"
    after = ssh(deployed["key"], address, "hostname; test -e /var/q8s-marker && echo marker-still-there || echo fresh-disk")
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == [guest, "fresh-disk"], after.stdout
    again = ansible_ping(guest)
    assert again.returncode == 0 and "pong" in again.stdout, again.stdout[-3000:]


def test_replace_host_brings_back_host_and_guest(spec, deployed):
    """repair/replace_host.yml with the local provider: the host's container is deleted and
    provisioned again, then its QEMU layer and guest are set up again."""
    guest, address = x86_guest(spec, deployed)
    host = guest + "-host"
    before = json.loads(run("podman", "inspect", host, check=True).stdout)[0]["Id"]
    short = repair("replace_host", "--limit", "%s,%s" % (host, guest), "-e", "q8s_confirm=replace_host")
    assert short.returncode != 0 and "the limit must select at least one QEMU host and both of these" in short.stdout, short.stdout[-3000:]
    limit = "%s,%s,%s--cp-0,localhost" % (host, guest, spec["cluster_name"])
    replaced = repair("replace_host", "--limit", limit, "-e", "q8s_confirm=replace_host")
    assert replaced.returncode == 0, replaced.stdout[-6000:]
    inspect = json.loads(run("podman", "inspect", host, check=True).stdout)[0]
    assert inspect["Id"] != before, "the container was not replaced"
    assert inspect["NetworkSettings"]["Networks"]["q8s-local"]["IPAddress"] == address
    after = ssh(deployed["key"], address, "hostname")
    assert after.returncode == 0 and after.stdout.strip() == guest, (after.stdout, after.stderr)


def test_rerun_changes_nothing(deployed, tmp_path):
    """Nothing changes; and the tasks reach the host containers through the connection's
    kept channel (plugins/connection/podman.py): no podman exec per command, at most one
    agent started per container (one whose agent has left after its idle time). The host
    containers, running with their q8s_config label, are not inspected again
    (containers.podman.podman_container is not run for them)."""
    log = tmp_path / "podman.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "podman"
    real = shutil.which("podman")
    wrapper.write_text('#!/bin/sh\nprintf "%%s\\n" "$*" >> %s\nexec %s "$@"\n' % (log, real))
    wrapper.chmod(0o755)
    path = "%s:%s" % (bin_dir, os.environ["PATH"])
    again = run(DEPLOY, SPEC, "--skip-tags", "kubernetes", check=True, env={"ANSIBLE_PODMAN_EXECUTABLE": str(wrapper), "PATH": path})
    changes = recap(again.stdout)
    assert changes and all(changed == 0 and failed == 0 for changed, failed in changes.values()), again.stdout[-6000:]
    # qemu_host, nat_bridge and link_profile compare each host in one run of host_state and
    # include their tasks (tasks/apply.yml) only when something differs: here nothing does.
    applied = [line for line in again.stdout.splitlines() if "/tasks/apply.yml for " in line]
    assert applied == [], applied
    calls = log.read_text().splitlines() if log.exists() else []
    # An agent's start is `podman exec <container> python3 -c <its source>`, whose first line
    # is AGENT_IMPORTS; any other exec is a command that went around the channel.
    agent = "python3 -c " + AGENT_IMPORTS.rstrip("\n")
    execs = [c for c in calls if c.startswith("exec ") and not c.endswith(agent)]
    assert execs == [], execs[:5]
    started = [c.split()[1] for c in calls if c.startswith("exec ") and c.endswith(agent)]
    assert len(started) == len(set(started)) <= len(deployed["hosts"]), started
    # podman_container's calls: container inspect first, then container run or start
    verbs = ("container inspect", "container run", "container start", "container create", "inspect ", "run ", "start ", "create ")
    inspected = [c for c in calls if c.startswith(verbs) and any(h in c.split() for h in deployed["hosts"])]
    assert inspected == [], inspected


@pytest.mark.last
def test_teardown_removes_everything_and_twice_changes_nothing(spec, deployed):
    first = teardown()
    assert first.returncode == 0, first.stdout[-4000:]
    left = run("podman", "ps", "--all", "--filter", "label=q8s_cluster=%s" % spec["cluster_name"], "--format", "{{.Names}}", check=True)
    assert left.stdout.strip() == ""
    assert run("podman", "network", "exists", "q8s-local").returncode != 0
    second = teardown()
    assert second.returncode == 0
    assert all(changed == 0 for changed, _failed in recap(second.stdout).values()), second.stdout[-3000:]
