"""roles/emulated_worker's task files and entry points (issue 15): main.yml is a list of
concerns (spec, image, existing, disk, seed, domain, wait), every task file is an entry point
in meta/argument_specs.yml or a part of one, and tasks_from: firstboot gives q8s-firstboot
and its units to an image builder (playbooks/golden_images.yml), run here for real."""

import base64
import json
import os
import re
import subprocess
import sys

import yaml

from inventory_cases import BIN, ROOT, env

ROLE = os.path.join(ROOT, "roles", "emulated_worker")
TASKS = os.path.join(ROLE, "tasks")
INCLUDES = ("ansible.builtin.import_tasks", "ansible.builtin.include_tasks")


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or []


def entry_points():
    return set(load(os.path.join(ROLE, "meta", "argument_specs.yml"))["argument_specs"])


def includes(tasks):
    """The task files a list of tasks imports or includes (in blocks too), in order."""
    out = []
    for task in tasks:
        for key in INCLUDES:
            if key in task:
                assert "{{" not in task[key], "a templated task file name hides what %s runs" % key
                out.append(task[key])
        for section in ("block", "rescue", "always"):
            out += includes(task.get(section) or [])
    return out


def reached(entry):
    """Every task file an entry point runs, itself included."""
    seen, todo = set(), [entry + ".yml"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += includes(load(os.path.join(TASKS, name)))
    return seen


def test_every_task_file_is_an_entry_point_or_a_part_of_one():
    files = {name for name in os.listdir(TASKS) if name.endswith(".yml")}
    entries = entry_points()
    missing = sorted(entry for entry in entries if entry + ".yml" not in files)
    assert not missing, "argument_specs entry points without a task file: %s" % missing
    parts = set().union(*(reached(entry) for entry in entries))
    assert files - parts == set(), "task files no entry point runs (add an argument_specs entry or include them)"
    assert {"main", "remove", "firstboot"} <= entries


def test_main_is_a_list_of_the_concerns():
    main = load(os.path.join(TASKS, "main.yml"))
    assert all(any(key in task for key in INCLUDES) for task in main), "main.yml only lists the concerns' files"
    assert includes(main) == ["spec.yml", "image.yml", "existing.yml", "disk.yml", "seed.yml", "domain.yml", "wait.yml"]


def test_validation_comes_before_any_change():
    """spec.yml and image.yml only check and compute: nothing on the host changes before them
    (q8s.cluster.guest_info only reads)."""
    allowed = {
        "ansible.builtin.assert",
        "ansible.builtin.set_fact",
        "ansible.builtin.stat",
        "ansible.builtin.fail",
        "ansible.builtin.command",
        "q8s.cluster.guest_info",
    }
    for name in ("spec.yml", "image.yml"):
        for task in load(os.path.join(TASKS, name)):
            module = next(key for key in task if key.startswith(("ansible.builtin.", "q8s.cluster.")))
            assert module in allowed, "%s: %s" % (name, task["name"])
            if module == "ansible.builtin.command":
                assert task.get("changed_when") is False and task.get("check_mode") is False, task["name"]


PLAY = """
- name: Take q8s-firstboot from emulated_worker
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The entry point
      ansible.builtin.include_role:
        name: q8s.cluster.emulated_worker
        tasks_from: firstboot
    - name: Print its output
      ansible.builtin.debug:
        msg: "OUT {{ emulated_worker_firstboot_files | to_json | b64encode }}"
"""


def firstboot_files(tmp_path, *args):
    (tmp_path / "play.yml").write_text(PLAY)
    environ = dict(env(), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"), *args]
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "OUT " in line)
    assert re.search(r"changed=0 ", proc.stdout), proc.stdout
    return json.loads(base64.b64decode(line.split("OUT ", 1)[1].strip().strip('"')))


def test_firstboot_gives_every_file_of_the_role_as_write_files(tmp_path):
    out = firstboot_files(tmp_path)
    files = sorted(os.listdir(os.path.join(ROLE, "files")))
    by_name = {os.path.basename(entry["path"]): entry for entry in out}
    assert sorted(by_name) == files and len(out) == len(files)
    for name in files:
        entry = by_name[name]
        with open(os.path.join(ROLE, "files", name), encoding="utf-8") as handle:
            assert entry["content"] == handle.read(), name
        if name.endswith(".service"):
            assert entry == dict(entry, path="/etc/systemd/system/" + name, permissions="0644")
        else:
            assert entry == dict(entry, path="/usr/local/sbin/" + name, permissions="0755")
            assert entry["content"].startswith("#!/bin/sh\n")
    # the script the units run is the one installed
    units = [entry["content"] for entry in out if entry["path"].endswith(".service")]
    assert all("ExecStart=/usr/local/sbin/q8s-firstboot" in unit for unit in units)


def test_firstboot_changes_nothing_in_check_mode(tmp_path):
    assert firstboot_files(tmp_path, "--check") == firstboot_files(tmp_path)
