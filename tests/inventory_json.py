"""ansible-inventory's JSON as plain data.

`ansible-inventory --list` writes each string Ansible marks unsafe (every string that came
from a variable) as {"__ansible_unsafe": value}. The suites compare values, so they read
the output through this module (tests/ is on pytest's pythonpath, pyproject.toml)."""

import json


def _unwrap(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def loads(text):
    """The parsed JSON text, every unsafe wrapper replaced by its string."""
    return json.loads(text, object_hook=_unwrap)


def plain(value):
    """Already-parsed data without its unsafe wrappers."""
    return loads(json.dumps(value))
