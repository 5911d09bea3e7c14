"""Helpers of the testinfra tests (tests/testinfra/): how a host is reached, the
checkout's YAML (the one home of a role's facts), waiting for restored state, and
reading what tc and the link profile script name."""

import hashlib
import os
import re
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Ansible connections that are `podman exec` into a container.
PODMAN_CONNECTIONS = ("podman", "containers.podman.podman")
# The default of a variable without default.
UNDEFINED = object()
RATE_UNITS = {"bit": 1, "Kbit": 1e3, "Mbit": 1e6, "Gbit": 1e9}


def direct_spec(name, hostvars):
    """The testinfra host spec that reaches inventory host `name` the way its Ansible
    connection does, or None to keep testinfra's ansible backend."""
    if hostvars.get("ansible_connection") in PODMAN_CONNECTIONS:
        return "podman://%s" % hostvars.get("ansible_host", name)
    return None


def load_yaml(*parts):
    """A YAML file of this checkout (a role's defaults or vars: the one home of a fact)."""
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


def eventually(check, timeout=30, interval=1):
    """Call check() until it returns without an AssertionError (its last failure is raised
    after `timeout` seconds): for state that a service restores asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


def ifb_name(guest):
    """The guest's ifb device: q8sifb and 8 hex digits of its name's MD5 (15 characters at most)."""
    return "q8sifb" + hashlib.md5(guest.encode(), usedforsecurity=False).hexdigest()[:8]


def htb_rates(class_output):
    """Bits per second of each `rate` in `tc class show` output."""
    return [float(n) * RATE_UNITS[u] for n, u in re.findall(r"\brate ([0-9.]+)([KMG]?bit)\b", class_output)]
