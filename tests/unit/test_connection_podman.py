"""plugins/connection/podman.py.

Without the kept channel (persist off): a module reaches the container in one `podman
exec --interactive`, on its standard input; with pipelining off, modules are copied as
with containers.podman.podman. The container is mounted only for a task that puts a file.

With the kept channel (the default): one podman inspect and one `podman exec` start an
agent, which returns once the agent listens; every later command of that run and of later runs goes through the
agent's socket, with no podman call; a dead agent, a restarted container or a container
that is not this machine's is noticed.

The podman here is a stand-in that runs what it is given on this machine and logs each
call: what is checked is the plugin's podman command lines, and that a module run through
them works (stdin reaches it, results come back). Its "container" is this machine seen
from the test's own process (/proc/<pytest pid>/root is /), so the agent's socket is a
path under the test's temporary directory."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from inventory_cases import ROOT, env

sys.path.insert(0, os.path.join(ROOT, "plugins", "connection"))
import podman as plugin  # noqa: E402  pylint: disable=wrong-import-position

FAKE_PODMAN = r"""import json, os, shutil, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_PODMAN_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
while args[0].startswith("--"):  # podman's global options (podman_extra_args)
    args = args[1:]
if args[0] == "mount":
    if os.environ.get("FAKE_PODMAN_MOUNT"):
        print(os.environ["FAKE_PODMAN_MOUNT"])  # the "container" is this machine's /
        sys.exit(0)
    sys.exit(125)  # no mount: files go through `podman cp`
if args[0] == "inspect":
    # "PID ID" of the container's first process: the test's own process, with an ID that
    # its /proc/PID/cgroup names (FAKE_PODMAN_ID), or one it does not
    print(os.environ["FAKE_PODMAN_PID"], os.environ["FAKE_PODMAN_ID"])
    sys.exit(0)
if args[0] == "cp":
    src, dst = args[1], args[2].split(":", 1)[1]
    shutil.copyfile(src, dst)
    sys.exit(0)
assert args[0] == "exec", args
rest = args[1:]
interactive = rest[0] == "--interactive"
if interactive:
    rest = rest[1:]
if rest[0] == "--user":
    rest = rest[2:]  # the stand-in runs as the test's user
rest = rest[1:]  # the container
stdin = sys.stdin.buffer.read() if interactive else b""
if rest[:2] == ["python3", "-c"]:  # the agent: the pids of this run's agents, found by socket
    before = set(os.listdir("/proc"))
    rc = subprocess.run(rest, check=False).returncode
    with open(os.environ["FAKE_PODMAN_AGENTS"], "a") as agents:
        for pid in set(os.listdir("/proc")) - before:
            try:
                if "serve(" in open("/proc/%s/cmdline" % pid).read():
                    agents.write(pid + "\n")
            except OSError:
                pass
    sys.exit(rc)
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
    environ = dict(
        env(),
        FAKE_PODMAN_LOG=str(log),
        FAKE_PODMAN_AGENTS=str(tmp_path / "agents"),
        FAKE_PODMAN_PID=str(os.getpid()),
        FAKE_PODMAN_ID=own_cgroup_word(),
        ANSIBLE_INVENTORY_ENABLED="yaml",
        Q8S_PODMAN_PERSIST="false",
        Q8S_PODMAN_CONTROL_PATH_DIR=str(tmp_path / "cp"),
        Q8S_PODMAN_AGENT_SOCKET=str(tmp_path / "run" / "exec.sock"),
        Q8S_PODMAN_PERSIST_SECONDS="20",
    )
    environ.update(overrides)
    cmd = ["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads(line) for line in log.read_text().splitlines()]


def own_cgroup_word():
    """A word of this process's /proc/self/cgroup: what the stand-in's inspect gives as
    the container ID (a real container's cgroup names its ID)."""
    with open("/proc/self/cgroup", encoding="utf-8") as cgroup:
        return cgroup.read().split()[0]


def kind(call):
    """What a logged podman call is: inspect, start (the agent), exec, exec -i, ..."""
    if call[0] == "exec" and call[2:4] == ["python3", "-c"]:
        return "start"
    if call[0] == "exec" and call[1] == "--interactive":
        return "exec -i"
    return call[0]


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


CHANNEL = {"Q8S_PODMAN_PERSIST": "true"}

THREE_TASKS = """    - name: A second module
      ansible.builtin.command: cat /proc/self/status
      changed_when: false
    - name: A file that goes across (put_file)
      ansible.builtin.copy:
        content: "across\\n"
        dest: "{dest}"
        mode: "0600"
"""


@pytest.fixture(name="agents")
def fixture_agents(tmp_path):
    """The pids of the agents the stand-in started; they are stopped after the test."""
    listed = tmp_path / "agents"

    def pids():
        return [int(p) for p in listed.read_text().split()] if listed.exists() else []

    yield pids
    for pid in pids():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def test_the_kept_channel_costs_two_podman_calls_once_and_none_after(tmp_path, agents):
    dest = tmp_path / "across.txt"
    first = play(tmp_path, extra_tasks=THREE_TASKS.format(dest=dest), **CHANNEL)
    assert [kind(c) for c in first] == ["inspect", "start"], first
    assert len(agents()) == 1
    # the file went through /proc/PID/root, not a mount nor podman cp
    assert dest.read_text() == "across\n" and oct(dest.stat().st_mode & 0o777) == "0o600"
    dest.unlink()
    second = play(tmp_path, extra_tasks=THREE_TASKS.format(dest=dest), **CHANNEL)
    assert second == [], second
    assert dest.read_text() == "across\n"
    assert len(agents()) == 1


def test_a_dead_agent_is_started_again_and_the_command_still_runs(tmp_path, agents):
    play(tmp_path, **CHANNEL)
    os.kill(agents()[0], signal.SIGKILL)
    time.sleep(0.2)
    # its socket file is left behind: connecting is refused, nothing ran, a new agent
    assert (tmp_path / "run" / "exec.sock").exists()
    calls = play(tmp_path, **CHANNEL)
    assert [kind(c) for c in calls] == ["start"], calls
    assert len(agents()) == 2


def test_a_record_of_a_process_that_is_gone_is_asked_again(tmp_path, agents):
    play(tmp_path, **CHANNEL)
    (record,) = (tmp_path / "cp").glob("q8s-podman-*.json")
    saved = json.loads(record.read_text())
    assert saved["pid"] == os.getpid() and saved["agent"] is True
    # as if the container had restarted: same pid, another start time
    record.write_text(json.dumps(dict(saved, start="1")))
    calls = play(tmp_path, **CHANNEL)
    assert [c[0] for c in calls] == ["inspect"], calls
    assert json.loads(record.read_text())["start"] == saved["start"]
    assert len(agents()) == 1


def test_a_container_that_is_not_this_machines_gets_podman_exec(tmp_path, agents):
    # the inspected process's cgroups do not name the container: a remote podman's pid
    calls = play(tmp_path, FAKE_PODMAN_ID="0123456789abcdef" * 4, **CHANNEL)
    assert [kind(c) for c in calls] == ["inspect", "exec -i"], calls
    assert agents() == []


def test_an_agent_that_does_not_start_leaves_the_container_to_podman_exec(tmp_path, agents):
    # a socket path the agent cannot create (its parent is a file)
    (tmp_path / "run").write_text("")
    calls = play(tmp_path, **CHANNEL)
    assert [kind(c) for c in calls] == ["inspect", "start", "exec -i"], calls
    (record,) = (tmp_path / "cp").glob("q8s-podman-*.json")
    assert "File exists" in json.loads(record.read_text())["error"]
    # within the next two minutes, no new try
    calls = play(tmp_path, **CHANNEL)
    assert [kind(c) for c in calls] == ["exec -i"], calls
    # after them, one: a container that can run the agent now gets the channel
    (tmp_path / "run").unlink()
    saved = json.loads(record.read_text())
    record.write_text(json.dumps(dict(saved, failed=saved["failed"] - plugin.AGENT_RETRY_S)))
    calls = play(tmp_path, **CHANNEL)
    assert [kind(c) for c in calls] == ["start"], calls
    assert json.loads(record.read_text())["agent"] is True
    assert len(agents()) == 1


def test_a_remote_podman_gets_podman_exec(tmp_path, agents):
    # podman --remote: its containers' processes are not this machine's /proc
    calls = play(tmp_path, ANSIBLE_PODMAN_EXTRA_ARGS="--remote", **CHANNEL)
    assert [c[:3] for c in calls] == [["--remote", "exec", "--interactive"]], calls
    assert agents() == []


def test_a_user_of_the_task_gets_podman_exec(tmp_path, agents):
    # the agent runs as the container's default user: a task's own user, even root, does not use it
    calls = play(tmp_path, ANSIBLE_REMOTE_USER="root", **CHANNEL)
    assert [c[:4] for c in calls] == [["exec", "--interactive", "--user", "root"]], calls
    assert agents() == []


def start_agent(path, idle=30):
    thread = threading.Thread(target=plugin.serve, args=(str(path), idle, False), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def test_the_agent_runs_commands_side_by_side_with_their_stdin_and_status(tmp_path):
    path = tmp_path / "a" / "exec.sock"
    start_agent(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert plugin.channel_call(str(path), ["sh", "-c", "cat; echo err >&2; exit 3"], b"in") == (3, b"in", b"err\n")
    assert plugin.channel_call(str(path), ["sh", "-c", "test -t 0 || read x || echo eof"]) == (0, b"eof\n", b"")
    assert plugin.channel_call(str(path), ["/nonexistent/tool"])[0] == 127
    results = {}

    def call(i):
        results[i] = plugin.channel_call(str(path), ["sh", "-c", "sleep 1; echo %d" % i])

    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 3.5, "four 1 s commands ran one after another"
    assert results == {i: (0, ("%d\n" % i).encode(), b"") for i in range(4)}


def test_without_an_agent_the_command_is_not_reached(tmp_path):
    with pytest.raises(plugin.NotReached):
        plugin.channel_call(str(tmp_path / "none.sock"), ["true"])
    # a socket nobody listens on
    stale = tmp_path / "stale.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(stale))
    listener.close()
    with pytest.raises(plugin.NotReached):
        plugin.channel_call(str(stale), ["true"])


def test_an_idle_agent_leaves_and_removes_its_socket(tmp_path):
    path = tmp_path / "exec.sock"
    thread = start_agent(path, idle=1)
    assert plugin.channel_call(str(path), ["true"])[0] == 0
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert not path.exists()
