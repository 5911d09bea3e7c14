"""plugins/connection/podman.py: a module reaches the container in one `podman exec
--interactive`, on its standard input; turned off, modules are copied as with
containers.podman.podman. The container is mounted only for a task that puts a file.

The podman here is a stand-in that runs what it is given on this machine and logs each
call: what is checked is the plugin's podman command lines, and that a module run through
them works (stdin reaches it, results come back)."""

import json
import subprocess
import sys

from inventory_cases import ROOT, env

FAKE_PODMAN = r"""import json, os, shutil, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_PODMAN_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
if args[0] == "mount":
    if os.environ.get("FAKE_PODMAN_MOUNT"):
        print(os.environ["FAKE_PODMAN_MOUNT"])  # the "container" is this machine's /
        sys.exit(0)
    sys.exit(125)  # no mount: files go through `podman cp`
if args[0] == "cp":
    src, dst = args[1], args[2].split(":", 1)[1]
    shutil.copyfile(src, dst)
    sys.exit(0)
assert args[0] == "exec", args
rest = args[1:]
interactive = rest[0] == "--interactive"
if interactive:
    rest = rest[1:]
rest = rest[1:]  # the container
stdin = sys.stdin.buffer.read() if interactive else b""
sys.exit(subprocess.run(rest, input=stdin, check=False).returncode)
"""

PLAY = """- name: Through the connection
  hosts: all
  gather_facts: false
  tasks:
    - name: A module with a result
      ansible.builtin.command: echo from-the-container
      register: out
      changed_when: false
    - name: Its output came back
      ansible.builtin.assert:
        that: out.stdout == "from-the-container"
"""


COPY_TASK = """    - name: A file that goes across (put_file)
      ansible.builtin.copy:
        content: "across\\n"
        dest: "{dest}"
        mode: "0600"
"""


def play(tmp_path, extra_tasks="", **overrides):
    fake = tmp_path / "podman"
    fake.write_text("#!%s\n%s" % (sys.executable, FAKE_PODMAN))
    fake.chmod(0o755)
    log = tmp_path / "podman.log"
    log.write_text("")
    (tmp_path / "play.yml").write_text(PLAY + extra_tasks)
    inventory = {
        "all": {
            "hosts": {
                "ctr": {
                    "ansible_connection": "q8s.cluster.podman",
                    "ansible_podman_executable": str(fake),
                    "ansible_python_interpreter": sys.executable,
                }
            }
        }
    }
    (tmp_path / "inventory.yml").write_text(json.dumps(inventory))
    environ = dict(env(), FAKE_PODMAN_LOG=str(log), ANSIBLE_INVENTORY_ENABLED="yaml", **overrides)
    cmd = ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def execs(calls):
    return [c for c in calls if c[0] == "exec"]


def test_a_module_is_one_interactive_exec_on_stdin(tmp_path):
    calls = play(tmp_path)
    runs = [c for c in execs(calls) if c[1] == "--interactive"]
    # The command module and nothing else goes over stdin: no temporary file, no cp.
    assert len(runs) == 1, calls
    assert runs[0][2] == "ctr", runs
    assert not [c for c in calls if c[0] == "cp"], calls
    assert not [c for c in execs(calls) if "AnsiballZ" in " ".join(c)], calls


def test_without_pipelining_the_module_is_copied_and_run(tmp_path):
    calls = play(tmp_path, Q8S_PODMAN_PIPELINING="false")
    assert not [c for c in execs(calls) if c[1] == "--interactive"], calls
    assert [c for c in calls if c[0] == "cp" and "AnsiballZ_command.py" in c[-1]], calls
    assert len(execs(calls)) >= 4, calls


def test_the_container_is_mounted_only_for_a_file_that_goes_across(tmp_path):
    dest = tmp_path / "across.txt"
    calls = play(tmp_path, extra_tasks=COPY_TASK.format(dest=dest), FAKE_PODMAN_MOUNT="/")
    mounts = [i for i, c in enumerate(calls) if c[0] == "mount"]
    # the command task (first interactive exec) made none; the copy task one
    assert len(mounts) == 1, calls
    first_run = next(i for i, c in enumerate(calls) if c[0] == "exec" and c[1] == "--interactive")
    assert mounts[0] > first_run, calls
    assert dest.read_text() == "across\n" and oct(dest.stat().st_mode & 0o777) == "0o600"
    assert not [c for c in calls if c[0] == "cp"], calls
