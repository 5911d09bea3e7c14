"""The one way a stage reports its failure (playbooks/tasks/stage_failed.yml): the rescue of
every stage of hosts.yml, guests.yml and kubernetes.yml, and what it does in a real run."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from inventory_cases import ROOT
from inventory_cases import env as ansible_env

STAGE_FAILED = os.path.join(ROOT, "playbooks", "tasks", "stage_failed.yml")
PLAYBOOKS = {"hosts.yml": 1, "guests.yml": 1, "kubernetes.yml": 4}


def blocks(tasks):
    for task in tasks or []:
        if "block" in task:
            yield task
            yield from blocks(task["block"])
            yield from blocks(task.get("rescue"))


@pytest.mark.parametrize("name, count", sorted(PLAYBOOKS.items()))
def test_every_stage_rescue_is_the_shared_tasks_file(name, count):
    with open(os.path.join(ROOT, "playbooks", name), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    rescues = [block["rescue"] for play in plays for block in blocks(play.get("tasks")) if "rescue" in block]
    assert len(rescues) == count
    for rescue in rescues:
        assert len(rescue) == 1, rescue
        (task,) = rescue
        assert task["ansible.builtin.import_tasks"] == "tasks/stage_failed.yml"
        assert task["tags"] == ["always"]
        assert task["vars"]["__q8s_stage_layer"] in ("host", "guest", "kubernetes")
        assert task["vars"]["__q8s_stage_layer"] in task["name"]


STAGE = (
    """
- name: Stage hosts of a unit test
  hosts: localhost
  gather_facts: false
  vars:
    q8s_cluster: {cluster_name: unitstage}
  tasks:
    - name: The host layer
      block:
        - name: Break the host layer
          ansible.builtin.include_role:
            name: q8s.cluster.nat_bridge
            apply:
              tags: [nat_bridge]
          tags: [nat_bridge]
          vars:
            nat_bridge_host_network: "not-a-cidr"
      rescue:
        - name: The host layer failed - collect its evidence and stop this host
          ansible.builtin.import_tasks: %s
          vars:
            __q8s_stage_layer: host
            __q8s_stage_role: nat_bridge
          tags: [always]
"""
    % STAGE_FAILED
)


def run_stage(tmp_path, *extra):
    playbook = tmp_path / "stage.yml"
    playbook.write_text(STAGE)
    report = tmp_path / "report"
    environ = dict(ansible_env(), ANSIBLE_CALLBACKS_ENABLED="q8s.cluster.phase_report", Q8S_REPORT_DIR=str(report))
    cmd = ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook), *extra]
    return subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, check=False), report / "unitstage" / "localhost"


@pytest.mark.parametrize("tags", [[], ["--tags", "nat_bridge"]])
def test_a_failed_stage_collects_its_evidence_and_stops_with_the_error(tmp_path, tags):
    proc, evidence_dir = run_stage(tmp_path, *tags)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    evidence = json.loads((evidence_dir / "evidence.json").read_text())
    assert evidence["layer"] == "host" and evidence["role"] == "nat_bridge", evidence
    assert "not-a-cidr" in evidence["message"], evidence
    # the host stops with the role's own error, not a generic one
    stop = proc.stdout[proc.stdout.index("TASK [Stop this host (its layer failed)]") :]
    fatal = next(line for line in stop.splitlines() if line.startswith("fatal: [localhost]: FAILED!"))
    assert "nat_bridge_host_network (not-a-cidr)" in fatal, stop
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith("FAILED localhost: layer host (nat_bridge), stage 'Stage hosts of a unit test', task "), lines
    assert lines[0].endswith("; read %s" % (evidence_dir / evidence["read"].split("/")[-1])), lines
    assert "rescued=1" in proc.stdout and "failed=1" in proc.stdout
