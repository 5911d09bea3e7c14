"""Helpers of the testinfra tests (tests/testinfra/): how a host is reached, the
checkout's YAML (the one home of a role's facts) and the paths a role's vars render,
waiting for restored state, and reading what tc and the link profile script name."""

import hashlib
import importlib.util
import os
import re
import time

import jinja2
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Ansible connections that are `podman exec` into a container.
PODMAN_CONNECTIONS = ("podman", "containers.podman.podman", "q8s.cluster.podman")
# The default of a variable without default.
UNDEFINED = object()
RATE_UNITS = {"bit": 1, "Kbit": 1e3, "Mbit": 1e6, "Gbit": 1e9}


def direct_spec(name, hostvars):
    """The testinfra host spec that reaches inventory host `name` the way its Ansible
    connection does, or None to keep testinfra's ansible backend."""
    if hostvars.get("ansible_connection") in PODMAN_CONNECTIONS:
        return "podman://%s" % hostvars.get("ansible_host", name)
    return None


# The variables an SSH connection needs, templated by Ansible (they may hold Jinja that
# testinfra's own ansible backend, which reads ansible-inventory's raw values, cannot resolve).
SSH_VARS = ("ansible_host", "ansible_user", "ansible_port", "ansible_ssh_private_key_file", "ansible_ssh_common_args", "ansible_become")
SSH_CONNECTIONS = (None, "ssh", "smart", "ansible.builtin.ssh")


def ssh_spec(name, hostvars):
    """(spec, keyword arguments of testinfra.get_host) that reach inventory host `name` over SSH
    the way Ansible does, from its templated variables `hostvars` (SSH_VARS); None when its
    connection is not SSH."""
    if hostvars.get("ansible_connection") not in SSH_CONNECTIONS:
        return None
    spec = "ssh://%s%s%s" % (
        ("%s@" % hostvars["ansible_user"]) if hostvars.get("ansible_user") else "",
        hostvars.get("ansible_host") or name,
        (":%s" % hostvars["ansible_port"]) if hostvars.get("ansible_port") else "",
    )
    # One SSH master connection per host for all of a run's commands: testinfra's ssh backend
    # asks for ControlMaster but without a ControlPath ssh multiplexes nothing, and each
    # command then pays a handshake (5.5 s to a TCG guest). No "%" in it: testinfra
    # formats the command line with "%".
    kwargs = {
        "sudo": bool(hostvars.get("ansible_become")),
        "controlpath": "/tmp/q8s-testinfra-" + hashlib.md5(spec.encode(), usedforsecurity=False).hexdigest()[:12],
    }
    if hostvars.get("ansible_ssh_private_key_file"):
        kwargs["ssh_identity_file"] = hostvars["ansible_ssh_private_key_file"]
    if hostvars.get("ansible_ssh_common_args"):
        kwargs["ssh_extra_args"] = hostvars["ansible_ssh_common_args"]
    return spec, kwargs


def netem_delays_ms(qdisc_output):
    """The delay of each netem qdisc in `tc qdisc show` output, in milliseconds."""
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return [float(n) * scale[u] for n, u in re.findall(r"^qdisc netem .*?\bdelay ([0-9.]+)(us|ms|s)\b", qdisc_output, re.M)]


def netem_losses(qdisc_output):
    """The loss percentage of each netem qdisc in `tc qdisc show` output (0 without loss)."""
    out = []
    for line in re.findall(r"^qdisc netem .*$", qdisc_output, re.M):
        found = re.search(r"\bloss ([0-9.]+)%", line)
        out.append(float(found.group(1)) if found else 0.0)
    return out


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


def render(template, values):
    """A role's Jinja expression (a path in its vars/main.yml) rendered with `values` only:
    an undefined name raises, so a path that needs more than the test gives fails loudly."""
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(template).render(values)


def module_utils(name):
    """plugins/module_utils/<name>.py of this checkout, imported: the one home of a rule a
    role applies (e.g. q8s_cpu_speed's vCPU limit), without the collection on sys.path."""
    spec = importlib.util.spec_from_file_location("q8s_module_utils_" + name, os.path.join(ROOT, "plugins", "module_utils", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
