"""The phase_report callback, on its own functions and through a real ansible-playbook run."""

import json
import subprocess

from ansible_collections.q8s.cluster.plugins.callback.phase_report import layer_of, progress_end, progress_start, render_table, summarise
from inventory_cases import ROOT
from inventory_cases import env as ansible_env


def run_with_report(playbook, report_dir, hosts="localhost,", cwd=ROOT):
    """ansible-playbook on a local play, the phase_report callback writing to report_dir."""
    environ = dict(ansible_env(), ANSIBLE_CALLBACKS_ENABLED="q8s.cluster.phase_report", Q8S_REPORT_DIR=str(report_dir))
    cmd = ["ansible-playbook", "-i", hosts, "-c", "local", str(playbook)]
    return subprocess.run(cmd, cwd=cwd, env=environ, capture_output=True, text=True, check=False)


def test_summarise_and_table():
    stages = [
        {"name": "Provision", "start": 0.0, "end": 10.0, "hosts": {"localhost": (0.5, 9.5)}},
        {"name": "Hosts", "start": 10.0, "end": 40.0, "hosts": {"a": (10.0, 20.0), "b": (10.0, 39.0)}},
        {"name": "Empty", "start": 40.0, "end": 40.0, "hosts": {}},
    ]
    rows = summarise(stages)
    assert rows[1] == {"stage": "Hosts", "duration_s": 30.0, "hosts": 2, "slowest_host": "b", "slowest_s": 29.0, "per_host_s": {"a": 10.0, "b": 29.0}}
    assert rows[2]["slowest_host"] is None
    table = render_table(rows).splitlines()
    assert table[0].split() == ["stage", "hosts", "duration", "slowest", "host", "its", "time"]
    assert table[3].split() == ["Hosts", "2", "30.0s", "b", "29.0s"]


def test_layer_of():
    assert layer_of("emulated_worker", "Guests") == "guest"
    assert layer_of("q8s.cluster.nat_bridge", "") == "host"
    assert layer_of("", "Provision OpenStack servers") == "cloud"
    assert layer_of("control_plane") == "kubernetes"
    assert layer_of("", "something else") == "other"


def test_report_from_a_real_run(tmp_path):
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Stage one\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Wait a little\n      ansible.builtin.pause:\n        seconds: 1\n"
        "- name: Stage two guest boot\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Fail on purpose\n      ansible.builtin.fail:\n        msg: boom\n"
    )
    proc = run_with_report(playbook, tmp_path)
    assert proc.returncode != 0
    assert "Q8S STAGES" in proc.stdout
    assert "FAILED localhost: layer guest, stage 'Stage two guest boot', task 'Fail on purpose'" in proc.stdout
    data = json.loads((tmp_path / "timing.json").read_text())
    assert [s["stage"] for s in data["stages"]] == ["Stage one", "Stage two guest boot"]
    assert data["stages"][0]["slowest_host"] == "localhost" and data["stages"][0]["slowest_s"] >= 1.0
    assert data["failures"][0]["layer"] == "guest"


RESCUED_THEN_EVIDENCE = """
- name: Stage one hosts
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A failure that a rescue handles
      block:
        - name: Fail and be rescued
          ansible.builtin.fail:
            msg: handled
      rescue:
        - name: Recover
          ansible.builtin.debug:
            msg: recovered
- name: Stage two hosts
  hosts: localhost
  gather_facts: false
  vars:
    q8s_cluster: {cluster_name: unitc}
  tasks:
    - name: The host layer, with evidence on failure
      block:
        - name: Break the host layer
          ansible.builtin.include_role:
            name: q8s.cluster.nat_bridge
          vars:
            nat_bridge_host_network: "not-a-cidr"
      rescue:
        - name: Collect the host layer's evidence
          ansible.builtin.include_role:
            name: q8s.cluster.collect_logs
          vars:
            collect_logs_layer: host
            collect_logs_message: "{{ ansible_failed_result.msg | default('') }}"
        - name: Stop here
          ansible.builtin.fail:
            msg: host layer failed
"""


def test_rescued_failures_are_not_reported_and_evidence_is_named(tmp_path):
    """A failure that a rescue handled is not a failed host; a host whose rescue ran
    collect_logs gets a failure line that names its layer, role and evidence file, and
    collect_logs really wrote the files it lists."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(RESCUED_THEN_EVIDENCE)
    report = tmp_path / "report"
    proc = run_with_report(playbook, report)
    assert proc.returncode != 0, proc.stdout
    lines = [line for line in proc.stdout.splitlines() if line.startswith("FAILED ")]
    assert len(lines) == 1, proc.stdout
    assert lines[0].startswith("FAILED localhost: layer host (nat_bridge), stage 'Stage two hosts', task "), lines
    evidence_dir = report / "unitc" / "localhost"
    assert lines[0].endswith("; read %s" % (evidence_dir / "libvirtd.log")), lines
    evidence = json.loads((evidence_dir / "evidence.json").read_text())
    assert evidence["layer"] == "host" and evidence["read"] == str(evidence_dir / "libvirtd.log")
    assert "not-a-cidr" in evidence["message"] or evidence["message"], evidence
    for name in ["iptables.txt", "network.txt", "libvirtd.log"]:
        assert name in evidence["files"]
        assert (evidence_dir / name).read_text().startswith("$ "), name


def test_progress_lines():
    assert progress_start(2, 7, "QEMU hosts and NAT", 4, 75) == "q8s stage 2 of 7 started: QEMU hosts and NAT (4 hosts), elapsed 1:15"
    assert progress_start(1, 0, "Provision", 1, 0) == "q8s stage 1 started: Provision (1 host), elapsed 0:00"
    assert (
        progress_end(2, 7, "QEMU hosts and NAT", 3, 4, 61.4, 3725) == "q8s stage 2 of 7 done: QEMU hosts and NAT, hosts 3 of 4 done, took 1:01, elapsed 1:02:05"
    )


PROGRESS = """
- name: Stage one
  hosts: all
  gather_facts: false
  tasks:
    - name: Wait a little
      ansible.builtin.pause:
        seconds: 1
- name: Stage two
  hosts: all
  gather_facts: false
  tasks:
    - name: Fail on one host
      ansible.builtin.fail:
        msg: boom
      when: inventory_hostname == 'b'
- name: Stage three
  hosts: all
  gather_facts: false
  tasks:
    - name: Say something
      ansible.builtin.debug:
        msg: hi
"""


def test_progress_while_the_run_goes_on(tmp_path):
    """A line when each stage starts and ends (k of n, hosts done of total, elapsed), and
    timing.json already holds the stages before the running one."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(PROGRESS)
    proc = run_with_report(playbook, tmp_path, hosts="a,b,")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("q8s stage ")]
    assert [line.split(":")[0] for line in lines] == [
        "q8s stage 1 of 3 started",
        "q8s stage 1 of 3 done",
        "q8s stage 2 of 3 started",
        "q8s stage 2 of 3 done",
        "q8s stage 3 of 3 started",
        "q8s stage 3 of 3 done",
    ], proc.stdout
    assert lines[0].startswith("q8s stage 1 of 3 started: Stage one (2 hosts), elapsed 0:0")
    assert ", hosts 2 of 2 done, took 0:01, " in lines[1], lines[1]
    assert ", hosts 1 of 2 done, " in lines[3], lines[3]
    assert lines[4].startswith("q8s stage 3 of 3 started: Stage three (2 hosts)")
    assert ", hosts 1 of 2 done, " in lines[5], lines[5]  # b failed in stage two and dropped out
    data = json.loads((tmp_path / "timing.json").read_text())
    assert data["complete"] is True and [s["stage"] for s in data["stages"]] == ["Stage one", "Stage two", "Stage three"]


def test_report_dir_is_absolute_for_the_runs_own_tasks(tmp_path):
    """A relative output dir (the default is logs/) is what the run's tasks read back as
    Q8S_REPORT_DIR, made absolute: a module that runs elsewhere still finds timing.json."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Stage one\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Where the report dir is\n      ansible.builtin.debug:\n"
        "        msg: \"dir={{ lookup('ansible.builtin.env', 'Q8S_REPORT_DIR') }}\"\n"
    )
    proc = run_with_report(playbook, "reports", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dir=%s" % (tmp_path / "reports") in proc.stdout, proc.stdout
    assert (tmp_path / "reports" / "timing.json").exists()
