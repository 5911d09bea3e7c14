"""Recorded inputs for the inventory plugin and how to run `ansible-inventory` on them.

Shared by test_inventory.py and regen_golden.py, so the golden files and the test
always run the same command; also how the unit tests run a module or a play on localhost.
"""

import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(HERE, "golden")
BIN = os.path.dirname(sys.executable)

# name: (spec file relative to ROOT, state dir relative to ROOT or None)
CASES = {
    "cluster": ("examples/cluster.yml", "tests/unit/fixtures/state-none"),
    "cluster-provisioned": ("examples/cluster.yml", "tests/unit/fixtures/state-demo"),
    "paper-50": ("examples/paper-50.yml", "tests/unit/fixtures/state-none"),
    "upstream": ("tests/unit/fixtures/upstream-cluster.yaml", "tests/unit/fixtures/state-none"),
    "bastion": ("tests/unit/fixtures/bastion-cluster.yml", "tests/unit/fixtures/state-demo"),
    "local": ("examples/local.yml", "tests/unit/fixtures/state-local"),
}


def env(state_dir=None):
    environ = dict(os.environ)
    environ["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    environ["ANSIBLE_INVENTORY_CACHE"] = "False"
    environ["ANSIBLE_NOCOLOR"] = "1"
    environ["PATH"] = BIN + os.pathsep + environ.get("PATH", "")
    environ.pop("Q8S_SPEC", None)
    environ.pop("Q8S_STATE_DIR", None)
    if state_dir:
        environ["Q8S_STATE_DIR"] = os.path.join(ROOT, state_dir)
    return environ


def run(args, state_dir=None):
    return subprocess.run(args, cwd=ROOT, env=env(state_dir), capture_output=True, text=True, check=False)


# The json stdout callback: each task's result, read by json_results.
JSON_CALLBACK = {"ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"}


def json_results(stdout):
    """localhost's result of each task of the first play, from the json callback's output
    (the phase_report callback's table may follow it)."""
    out = json.JSONDecoder().raw_decode(stdout[stdout.index("{") :])[0]
    return [task["hosts"]["localhost"] for task in out["plays"][0]["tasks"]]


def run_module(module, args):
    """(rc, result) of an ad-hoc run of a collection module on localhost (json callback)."""
    environ = dict(env(), ANSIBLE_PYTHON_INTERPRETER=sys.executable, **JSON_CALLBACK)
    argv = [os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", module, "-a", json.dumps(args)]
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    return proc.returncode, json_results(proc.stdout)[0]


def run_local_playbook(play, workdir, environ=None):
    """ansible-playbook of the plays `play` (a list, written to workdir/play.yml) on
    localhost with this Python; the CompletedProcess."""
    path = os.path.join(str(workdir), "play.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(play, handle)
    argv = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=" + sys.executable, path]
    return subprocess.run(argv, cwd=ROOT, env=dict(env(), **(environ or {})), capture_output=True, text=True, check=False)


def inventory_list(spec, state_dir):
    proc = run(["ansible-inventory", "--list", "--export", "-e", "@" + spec], state_dir)
    if proc.returncode != 0:
        raise AssertionError("ansible-inventory failed:\n%s\n%s" % (proc.stdout, proc.stderr))
    # absolute paths depend on where the checkout lives
    text = proc.stdout.replace(ROOT + "/", "<root>/")
    return json.loads(text)


def golden_path(name):
    return os.path.join(GOLDEN, name + ".json")
