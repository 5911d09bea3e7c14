"""playbooks/tasks/cluster_key.yml never changes the mode or owner of a directory it did not create."""

import os
import stat
import sys

from inventory_cases import ROOT, run

PLAY = """- name: Cluster key
  hosts: localhost
  gather_facts: false
  vars:
    _state_dir: %(dir)s
    _key: %(dir)s/id_ed25519
    _name: keytest
  tasks:
    - name: Key
      ansible.builtin.include_tasks: %(root)s/playbooks/tasks/cluster_key.yml
"""


def key_play(tmp_path, state_dir):
    play = tmp_path / "play.yml"
    play.write_text(PLAY % {"dir": state_dir, "root": ROOT})
    return run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, str(play)])


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_existing_directory_keeps_its_mode(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    proc = key_play(tmp_path, shared)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert mode(shared) == 0o755
    assert mode(shared / "id_ed25519") == 0o600


def test_missing_directory_is_created_private(tmp_path):
    state = tmp_path / "new" / "state"
    proc = key_play(tmp_path, state)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert mode(state) == 0o700
    assert mode(state / "id_ed25519") == 0o600


def test_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    proc = key_play(tmp_path, path)
    assert proc.returncode != 0
    assert "state_dir:" in proc.stdout and "is not a directory" in proc.stdout
