"""The local provider suite (tests/local.sh).

One deployment of examples/local.yml is shared by the modules that need a running cluster
(test_local_provider.py, test_verify.py): it is made once per session, and its teardown test
(marked ``last``) runs after every other test.
"""

import json
from pathlib import Path

import pytest
import yaml


def pytest_configure(config):
    config.addinivalue_line("markers", "local: deploys examples/local.yml on this machine (tests/local.sh)")
    config.addinivalue_line("markers", "last: runs after every other test of the session (it removes the shared deployment)")


def pytest_collection_modifyitems(items):
    """Tests marked ``last`` go to the end, the others keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture(scope="session")
def spec():
    from test_local_provider import SPEC  # pylint: disable=import-outside-toplevel

    return yaml.safe_load(SPEC.read_text())


@pytest.fixture(scope="session")
def deployed(spec):
    """examples/local.yml deployed as the README says, up to the Kubernetes steps."""
    from test_local_provider import DEPLOY, SPEC, run, teardown  # pylint: disable=import-outside-toplevel

    teardown()  # whatever an interrupted earlier run left
    first = run(DEPLOY, SPEC, "--skip-tags", "kubernetes", check=True)
    state = Path("~/.q8s/%s" % spec["cluster_name"]).expanduser()
    hosts = json.loads((state / "hosts.json").read_text())["hosts"]
    yield {"first": first, "hosts": hosts, "key": state / "id_ed25519"}
    down = teardown()
    assert down.returncode == 0, down.stdout[-4000:]
