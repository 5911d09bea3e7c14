"""The plugins that run on the controller in every Ansible worker load quickly.

Ansible forks a worker per task and host, and a worker imports a collection's filter
plugin file again whenever it templates one of its filters. A filter file that imported
openstacksdk (through module_utils) cost about half a second of CPU per task: a third of
a rerun's controller CPU (docs/performance.md). Only the modules that talk to OpenStack
import the SDK."""

import glob
import json
import os
import subprocess
import sys

import pytest

from inventory_cases import ROOT

HEAVY = ("openstack", "keystoneauth1", "requests", "matplotlib", "graphviz")


def plugin_modules():
    for kind in ("filter", "inventory", "callback", "connection", "test", "lookup"):
        for path in sorted(glob.glob(os.path.join(ROOT, "plugins", kind, "*.py"))):
            yield "ansible_collections.q8s.cluster.plugins.%s.%s" % (kind, os.path.basename(path)[:-3])


@pytest.mark.parametrize("module", list(plugin_modules()))
def test_a_controller_plugin_imports_no_heavy_library(module):
    code = (
        "import json, sys\n"
        "import ansible.plugins.filter, ansible.plugins.inventory, ansible.plugins.callback, ansible.plugins.connection\n"
        "before = set(sys.modules)\n"
        "__import__(%r)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n" % module
    )
    collections = os.path.join(ROOT, ".collections")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=collections), capture_output=True, text=True, check=True)
    loaded = json.loads(proc.stdout.splitlines()[-1])
    assert not [name for name in loaded if name in HEAVY], "%s imports %s; import it where a module needs it" % (module, loaded)
