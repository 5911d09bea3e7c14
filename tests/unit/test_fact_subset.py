"""Fact gathering: the playbooks' plays gather the minimal facts and the network ones
(`gather_subset: [network]`), not hardware facts, which cost seconds per play inside an
emulated guest. Every fact a role or playbook reads must be among those: the names are
read from the code and checked against what a real setup run with that subset returns."""

import glob
import json
import os
import re
import subprocess
import sys

import yaml

from inventory_cases import ROOT, env

SUBSET = ["network"]
# ansible_facts.NAME and ansible_facts['NAME'] (a name built at run time, like an
# interface's, is not a literal and is left out).
FACT = re.compile(r"""ansible_facts(?:\.([a-z_][a-z0-9_]*)|\[\s*['"]([a-z_][a-z0-9_]*)['"]\s*\])""")


def plays():
    for path in sorted(glob.glob(os.path.join(ROOT, "playbooks", "**", "*.yml"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        if isinstance(data, list):
            for play in data:
                if isinstance(play, dict) and "hosts" in play:
                    yield os.path.relpath(path, ROOT), play


def facts_read():
    """Fact name -> a file that reads it: the roles' and playbooks' YAML and templates."""
    names = {}
    paths = [p for top in ("roles", "playbooks") for ext in ("*.y*ml", "*.j2") for p in glob.glob(os.path.join(ROOT, top, "**", ext), recursive=True)]
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for match in FACT.finditer(handle.read()):
                names.setdefault(match.group(1) or match.group(2), os.path.relpath(path, ROOT))
    return names


def gathered(subset):
    """The fact names a setup run with `subset` returns on this machine."""
    proc = subprocess.run(
        ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.setup", "-a", "gather_subset=%s" % ",".join(subset),
         "-e", "ansible_python_interpreter=%s" % sys.executable],
        cwd=ROOT, env=dict(env(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="json"),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # the json callback's document, between the phase_report callback's lines
    document = json.JSONDecoder().raw_decode(proc.stdout[proc.stdout.index("{") :])[0]
    result = document["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return {name[len("ansible_") :] for name in result["ansible_facts"]}


def test_every_play_that_gathers_facts_gathers_the_subset():
    gathering = [(path, play["name"]) for path, play in plays() if play.get("gather_facts")]
    assert gathering, "no play gathers facts"
    wrong = [(path, play["name"], play.get("gather_subset")) for path, play in plays() if play.get("gather_facts") and play.get("gather_subset") != SUBSET]
    assert not wrong, wrong


def test_every_fact_read_is_in_the_subset():
    read = facts_read()
    assert {"architecture", "distribution", "default_ipv4"} <= set(read), read
    available = gathered(SUBSET)
    missing = {name: path for name, path in read.items() if name not in available}
    assert not missing, "facts read but not gathered with gather_subset %s: %s" % (SUBSET, missing)
    # hardware facts are not gathered: the subset is smaller than all facts
    assert "memtotal_mb" not in available and "memtotal_mb" in gathered(["all"])
