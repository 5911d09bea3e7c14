"""Shared fixtures of the testinfra tests that the Molecule scenarios run.

A scenario's verify.yml runs these tests through molecule/resources/tasks/testinfra.yml
(pytest --connection=ansible --ansible-inventory=<Molecule's inventory>), at the
points of its sequence where the host state is known; a failing test fails the
task and so ``molecule verify``. Measurements (iperf3, boot times) stay in the
playbooks.

How a host is reached: testinfra's ansible backend reads the inventory and runs
commands itself over ssh, local or docker, but for any other connection it
starts one ``ansible -m shell`` per command. The scenarios reach their podman
containers with Ansible's podman connection, which is ``podman exec``; the
``host`` fixture below does the same with testinfra's podman backend.

Variables come from Ansible (the debug module on the controller), so the Jinja
in the inventory (lookups, ``{{ q8s_cluster... }}``) is resolved the way the
playbooks see it; a role's default applies when the inventory does not set the
variable (``role_var``).
"""

import os
import re
import sys

import pytest
import testinfra
from q8s_testinfra import SSH_VARS, UNDEFINED, direct_spec, load_yaml, ssh_spec

# ansible and ansible-inventory (called by testinfra) from the interpreter's own environment.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


@pytest.fixture(scope="module")
def host(_testinfra_host):
    """The host under test, reached like its Ansible connection does (podman exec, or ssh)."""
    backend = _testinfra_host.backend
    if backend.NAME != "ansible":
        return _testinfra_host
    raw = backend.get_variables()
    spec = direct_spec(backend.host, raw)
    if spec:
        return testinfra.get_host(spec)
    # Over SSH (Molecule link_profile_vm's VM host), with the values Ansible templates: the
    # inventory's may hold Jinja, which testinfra's ansible backend passes on unresolved.
    hostvars = HostVars(_testinfra_host)
    hostvars.load(list(SSH_VARS))
    resolved = dict((name, hostvars(name, None)) for name in SSH_VARS)
    resolved["ansible_connection"] = raw.get("ansible_connection")
    found = ssh_spec(backend.host, resolved)
    return testinfra.get_host(found[0], **found[1]) if found else _testinfra_host


@pytest.fixture(scope="module")
def inventory_hostname(_testinfra_host):
    return _testinfra_host.backend.host


@pytest.fixture(scope="module")
def group_names(_testinfra_host):
    return _testinfra_host.backend.get_variables()["group_names"]


class HostVars:
    """A host's variables, templated by Ansible (the debug module, one call per batch)."""

    def __init__(self, testinfra_host):
        self._host = testinfra_host
        self._cache = {}

    def load(self, names):
        """Fetch the variables of `names` not fetched yet, in one Ansible call."""
        missing = [name for name in names if name not in self._cache]
        if not missing:
            return
        for name in missing:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), name
        pairs = ", ".join("[%s is defined, %s | default(none)]" % (name, name) for name in missing)
        result = self._host.ansible("ansible.builtin.debug", "msg={{ [%s] }}" % pairs, check=False)
        assert "msg" in result, result
        self._cache.update(zip(missing, result["msg"], strict=True))

    def __call__(self, name, default=UNDEFINED):
        """The variable's value; `default` when it is undefined, else a KeyError."""
        self.load([name])
        defined, value = self._cache[name]
        if defined:
            return value
        if default is UNDEFINED:
            raise KeyError("%s: %s is not defined" % (self._host.backend.host, name))
        return default


@pytest.fixture(scope="module")
def var(_testinfra_host):
    """var(name[, default]): the host's variable, templated by Ansible."""
    return HostVars(_testinfra_host)


@pytest.fixture(scope="module")
def role_var(var):
    """role_var(role, name): the inventory's value, else the role's default (as written in
    defaults/main.yml). The first call for a role fetches all of its variables at once."""

    def lookup(role, name):
        defaults = load_yaml("roles", role, "defaults", "main.yml")
        var.load(sorted(defaults))
        return var(name, defaults[name])

    return lookup
