"""The phase_report callback, on its own functions and through a real ansible-playbook run."""

import json

from ansible_collections.q8s.cluster.plugins.callback.phase_report import layer_of, render_table, summarise
from inventory_cases import run


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
    proc = run(
        [
            "env",
            "ANSIBLE_CALLBACKS_ENABLED=q8s.cluster.phase_report",
            "Q8S_REPORT_DIR=%s" % tmp_path,
            "ansible-playbook",
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
        ]
    )
    assert proc.returncode != 0
    assert "Q8S STAGES" in proc.stdout
    assert "FAILED localhost: layer guest, stage 'Stage two guest boot', task 'Fail on purpose'" in proc.stdout
    data = json.loads((tmp_path / "timing.json").read_text())
    assert [s["stage"] for s in data["stages"]] == ["Stage one", "Stage two guest boot"]
    assert data["stages"][0]["slowest_host"] == "localhost" and data["stages"][0]["slowest_s"] >= 1.0
    assert data["failures"][0]["layer"] == "guest"
