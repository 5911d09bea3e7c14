# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The q8s cluster spec: upstream-compatible parsing, normalisation and validation.

``normalise(raw)`` takes the mapping a user wrote (the q8s format, or the original
Q8S ``cluster.yaml`` with its ``!ClusterData`` tags already resolved to mappings) and
returns ``(spec, warnings)``. Every problem found is collected and raised together in
one :class:`SpecError`; each message names the field path, the bad value and the fix.

Everything here is pure and unit-tested on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import math
import re

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing as addressing
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_cpu_speed as cpu_speed
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults as defaults
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_names as names
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_specfile as specfile
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_topology as topology_module

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover
    netaddr = None
    HAS_NETADDR = False

UPSTREAM_TAGS = ("!ClusterData", "!ClusterDefinition", "!VmTypes", "!VmType")

DEFAULT_KUBERNETES_VERSION = defaults.KUBERNETES_VERSION
MIN_KUBERNETES_MINOR = 28
DEFAULT_TCP_PORTS = [22, 80, 443, addressing.GUEST_SSH_PORT, 2379, 2380, 6443, 8472, 10250, 10256, 10257, 10259]
DEFAULT_UDP_PORTS = [8472]
DEFAULT_GUEST_IMAGES = {
    "x86_64": {
        "source": "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img",
        "checksum": "sha256:https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS",
    },
    "aarch64": {
        "source": "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-arm64.img",
        "checksum": "sha256:https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS",
    },
}
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
CHECKSUM_ALGORITHMS = ("sha256", "sha384", "sha512")
# Longest host name the plan builds from a cluster and a type: "<cluster>--<type>-<i>-host".
MAX_HOSTNAME = 63
MAX_CLUSTER_NAME = 30
# The most inventory hosts (control planes + QEMU hosts + guests) one spec may make. At the
# cap, `ansible-inventory --list` needs 5.4 s of CPU and 208 MB on the 2-core test machine
# (docs/performance.md; tests/bench/inventory_bench.py runs at the cap by default), within
# the 10 s and 1 GB any spec must stay under; 5,003 hosts already took 12 s.
MAX_NODES = 2048
# The pod network share of each Kubernetes node (kube-controller-manager's and Flannel's /24).
NODE_CIDR_MASK = 24
# A cluster's state directory may be none of these, nor lie under the first group.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys", "/usr")
SYSTEM_DIRS = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/var", "/var/lib", "/var/log", "/var/tmp", "/var/cache", "~")

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}

# Fields of the original Q8S that an Ansible design no longer needs: accepted, ignored.
IGNORED_TOP = {"git_url": "the collection runs from the controller; nothing is cloned onto the nodes"}
IGNORED_TYPE = {
    "qemu_args": "it was a placeholder upstream and never used",
    "qemu-args": "it was a placeholder upstream and never used",
}

TOP_FIELDS = (
    # upstream Q8S
    "git_url",
    "private_network_id",
    "remote_ip_prefix",
    "default_image_name",
    "name_of_initial_instance",
    "security_groups",
    "required_tcp_ports",
    "required_udp_ports",
    "worker_port_range_min",
    "worker_port_range_max",
    "cluster_definition",
    "vm_types",
    # q8s
    "cluster_name",
    "provider",
    "kubernetes_version",
    "guest_images",
    "guest_address_pool",
    "guest_gateway_offset",
    "pod_network_cidr",
    "service_cidr",
    "admin_cidr",
    "host_ssh_user",
    "guest_user",
    "state_dir",
    "control_plane_endpoint",
    "bastion",
    "local",
)
LOCAL_FIELDS = ("network", "qemu_host_image", "control_plane_image")
LOCAL_DEFAULTS = {"qemu_host_image": "localhost/q8s-host:virt", "control_plane_image": "localhost/q8s-host:base"}
BASTION_FIELDS = ("host", "user", "port", "key_file")
DEFINITION_FIELDS = ("master_node_flavor", "number_additional_master_nodes", "worker")
TYPE_FIELDS = (
    "architecture",
    "num_cpus",
    "cpu_model",
    "machine_model",
    "ram",
    "storage",
    "openstack_flavor",
    "labels",
    "taints",
    "accel",
    "network",
    "extended_resources",
    "cpu_speed_percent",
    "qemu_args",
    "qemu-args",
)
NETWORK_FIELDS = ("latency_ms", "jitter_ms", "loss_percent", "bandwidth_mbit")
# Sane upper bounds of a link profile: a 10 s round trip, all packets lost, 100 Gbit/s.
NETWORK_MAXIMA = {"latency_ms": 10000, "jitter_ms": 10000, "loss_percent": 100, "bandwidth_mbit": 100000}
MAX_EXTENDED_RESOURCE = 1000000
# The node label q8s adds per extended resource: LABEL_PREFIX + "<prefix>-<name>" (63 characters at most).
EXTENDED_RESOURCE_LABEL = "q8s.io/extended-resource-"
IMAGE_FILE_FIELDS = ("source", "checksum")
# A guest image's optional direct kernel boot: its own kernel and initrd (source and
# checksum each), the command line (root=..., without console=) and whether it carries
# q8s-firstboot (tests/testbed/build-images.sh's images and golden images do).
IMAGE_BOOT_FIELDS = ("kernel", "initrd", "cmdline", "firstboot")
IMAGE_FIELDS = IMAGE_FILE_FIELDS + IMAGE_BOOT_FIELDS
TAINT_FIELDS = ("key", "value", "effect")
PROVIDERS = ("openstack", "local")
ACCELERATORS = ("tcg", "kvm")


_MISSING = object()


class SpecError(ValueError):
    """A spec with one or more problems; ``errors`` holds one message per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(SpecError, self).__init__(format_errors(self.errors))


def format_errors(errors):
    count = len(errors)
    head = "cluster spec: %d problem%s found, nothing was created:" % (count, "" if count == 1 else "s")
    return "\n".join([head] + ["  - %s" % e for e in errors])


def plain(value):
    """Strip Ansible's tagged/unsafe wrappers: plain dict, list, str, int, bool, None.

    Bounded (q8s_specfile.plain): a value that contains itself, or expands past the
    limits, is a SpecError naming the field.
    """
    try:
        return specfile.plain(value)
    except specfile.SpecFileError as exc:
        raise SpecError(exc.errors)


def _show(value):
    if isinstance(value, str):
        return repr(value)
    return "%r" % (value,)


def _typename(value):
    if isinstance(value, float) and not isinstance(value, bool):
        if math.isnan(value):
            return "not-a-number (.nan)"
        if math.isinf(value):
            return "infinity"
        return "a decimal number"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


def is_spec(data):
    """Whether a mapping looks like a cluster spec (used to pick it out of extra vars)."""
    return isinstance(data, dict) and ("cluster_definition" in data or "vm_types" in data)


class _Checker:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def error(self, path, value, problem, fix):
        if value is _MISSING:
            self.errors.append("%s: %s. Fix: %s" % (path, problem, fix))
        else:
            self.errors.append("%s: %s (got %s). Fix: %s" % (path, problem, _show(value), fix))

    def warn(self, path, message):
        self.warnings.append("%s: %s" % (path, message))

    def unknown_keys(self, path, data, allowed):
        for key in data:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            close = close or [a for a in allowed if len(str(key)) >= 3 and (a.startswith(str(key)) or str(key).startswith(a))][:1]
            fix = "did you mean '%s'?" % close[0] if close else "remove it; known fields are %s" % ", ".join(a for a in allowed if not a.startswith("qemu"))
            self.error("%s.%s" % (path, key) if path else str(key), _MISSING, "unknown field", fix)

    def mapping(self, path, value, required=True):
        if value is None or value is _MISSING:
            if required:
                self.error(path, _MISSING, "is required", "add the %s section" % path)
            return None
        if not isinstance(value, dict):
            self.error(path, value, "must be a mapping, not %s" % _typename(value), "write it as key: value pairs")
            return None
        return value

    def string(self, path, value, default=None, required=False, empty_ok=False):
        if value is None or value is _MISSING:
            if required:
                self.error(path, _MISSING, "is required", "set %s" % path)
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(path, value, "must be a string, not %s" % _typename(value), "quote the value")
            return default
        value = str(value)
        if not value.strip() and not empty_ok:
            if required:
                self.error(path, value, "must not be empty", "set %s" % path)
            return default
        return value

    def integer(self, path, value, minimum=None, maximum=None, default=None, required=False):
        if value is None or value is _MISSING:
            if required:
                self.error(path, _MISSING, "is required", "set %s to a whole number" % path)
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value.strip())
            else:
                self.error(path, value, "must be a whole number, not %s" % _typename(value), "write a number without quotes or units")
                return default
        if minimum is not None and value < minimum:
            self.error(path, value, "must be at least %d" % minimum, "use a value of %d or more" % minimum)
            return default
        if maximum is not None and value > maximum:
            self.error(path, value, "must be at most %d" % maximum, "use a value of %d or less" % maximum)
            return default
        return value

    def cidr(self, path, value, default=None, required=False):
        text = self.string(path, value, required=required)
        if text is None:
            return default
        if not HAS_NETADDR:
            raise SpecError(["the Python library 'netaddr' is required on the controller: pip install netaddr"])
        try:
            net = netaddr.IPNetwork(text)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            self.error(path, value, "is not a CIDR", "write an IPv4 network such as 10.0.0.0/24")
            return default
        if net.version != 4 or "/" not in text:
            self.error(path, value, "is not an IPv4 CIDR", "write an IPv4 network with its prefix, such as 10.0.0.0/24")
            return default
        if net.ip != net.network:
            self.error(path, value, "has host bits set", "use the network address %s" % net.cidr)
            return default
        return str(net.cidr)

    def ports(self, path, value, default):
        if value is None or value is _MISSING:
            return list(default)
        if not isinstance(value, list):
            self.error(path, value, "must be a list of port numbers", "write one port per line as '- 6443'")
            return list(default)
        out = []
        for i, port in enumerate(value):
            p = self.integer("%s[%d]" % (path, i), port, minimum=1, maximum=65535)
            if p is not None and p not in out:
                out.append(p)
        return out


def _suggest_name(value, fix_example, longest=MAX_HOSTNAME):
    """A hostname-safe name close to ``value``, never ``value`` itself."""
    suggestion = re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]+", "-", value.lower()))[:longest].strip("-")
    if not suggestion or suggestion == value:
        suggestion = fix_example
    return suggestion


def _dns_label(checker, path, value, what, fix_example, longest=MAX_HOSTNAME):
    if value is None:
        return None
    if not value:
        checker.error(path, value, "%s must not be empty" % what, "set a name such as '%s', or remove the line for the default" % fix_example)
        return None
    if len(value) > longest:
        checker.error(
            path,
            "%s... (%d characters)" % (value[:20], len(value)),
            "%s is longer than %d characters" % (what, longest),
            "shorten it to at most %d characters, for example '%s'" % (longest, _suggest_name(value, fix_example, longest)),
        )
        return None
    if not _DNS_LABEL.match(value):
        checker.error(
            path,
            value,
            "%s must be a hostname-safe name (lowercase letters, digits and '-', not starting or ending with '-')" % what,
            "use '%s'" % _suggest_name(value, fix_example, longest),
        )
        return None
    problem = names.problem(value)
    if problem:
        checker.error(path, value, "%s %s" % (what, problem), "use '%s'" % _suggest_name(value, fix_example, longest))
        return None
    return value


def _labels(checker, path, value):
    data = checker.mapping(path, value, required=False)
    if data is None:
        return {}
    out = {}
    for key, val in data.items():
        key = str(key)
        prefix, dummy, name = key.rpartition("/")
        if (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.match(prefix))) or not name or len(name) > 63 or not _LABEL_NAME.match(name):
            checker.error("%s.%s" % (path, key), _MISSING, "is not a valid Kubernetes label key", "use [prefix/]name with letters, digits, '-', '_' and '.'")
            continue
        if isinstance(val, bool):
            val = "true" if val else "false"
        text = "" if val is None else str(val)
        if len(text) > 63 or (text and not _LABEL_NAME.match(text)):
            checker.error("%s.%s" % (path, key), val, "is not a valid Kubernetes label value", "use at most 63 letters, digits, '-', '_' or '.'")
            continue
        out[key] = text
    return out


def _taints(checker, path, value):
    if value is None:
        return []
    if not isinstance(value, list):
        checker.error(path, value, "must be a list of taints", "write '- {key: example.com/slow, effect: NoSchedule}'")
        return []
    out = []
    for i, item in enumerate(value):
        ipath = "%s[%d]" % (path, i)
        data = checker.mapping(ipath, item)
        if data is None:
            continue
        checker.unknown_keys(ipath, data, TAINT_FIELDS)
        key = checker.string(ipath + ".key", data.get("key", _MISSING), required=True)
        effect = checker.string(ipath + ".effect", data.get("effect", _MISSING), required=True)
        taint_value = checker.string(ipath + ".value", data.get("value"), empty_ok=True)
        if effect is not None and effect not in TAINT_EFFECTS:
            close = difflib.get_close_matches(effect, TAINT_EFFECTS, n=1, cutoff=0.5)
            checker.error(
                ipath + ".effect",
                effect,
                "is not a taint effect",
                "use one of %s%s" % (", ".join(TAINT_EFFECTS), " (did you mean '%s'?)" % close[0] if close else ""),
            )
            continue
        if key is not None and effect is not None:
            taint = {"key": key, "effect": effect}
            if taint_value:
                taint["value"] = taint_value
            out.append(taint)
    return out


def _article(arch):
    return "a" if arch == "ppc64le" else "an"


def _cpu_model(checker, path, arch, model):
    if model is None or arch is None:
        return model
    if model in models.CPU_MODELS[arch]:
        failure = models.tcg_failure(arch, model)
        if failure is None:
            return model
        checker.error(
            path,
            model,
            "is a QEMU %s CPU model that TCG cannot run here (%s; %s)" % (arch, failure, models.TCG_CHECKED_SOURCE),
            "choose one of %s" % ", ".join(models.runnable_models(arch)),
        )
        return None
    own = dict((m.lower(), m) for m in models.CPU_MODELS[arch])
    other = {}
    for other_arch in models.ARCHITECTURES:
        if other_arch != arch:
            for name in models.CPU_MODELS[other_arch]:
                if name.lower() not in own:
                    other.setdefault(name.lower(), (name, other_arch))
    lowered = model.strip().lower()
    if lowered == "host":
        checker.error(
            path,
            model,
            "'host' does not exist under TCG and q8s emulates every worker",
            "name a concrete %s model such as %s" % (arch, _examples(arch)[0]),
        )
    elif lowered in own:
        checker.error(path, model, "is not spelled as QEMU names it (CPU model names are case-sensitive)", "write '%s'" % own[lowered])
    elif lowered in other:
        name, other_arch = other[lowered]
        checker.error(
            path,
            model,
            "is %s %s CPU model ('%s'), but the type's architecture is %s" % (_article(other_arch), other_arch, name, arch),
            "choose %s %s model (for example %s) or change architecture to %s" % (_article(arch), arch, ", ".join(_examples(arch)), other_arch),
        )
    else:
        mine = difflib.get_close_matches(lowered, list(own), n=3, cutoff=0.6)
        theirs = difflib.get_close_matches(lowered, list(other), n=1, cutoff=0.6)
        if theirs and (not mine or _similarity(lowered, theirs[0]) > _similarity(lowered, mine[0])):
            name, other_arch = other[theirs[0]]
            checker.error(
                path,
                model,
                "is not a QEMU %s CPU model; it is close to the %s model '%s'" % (arch, other_arch, name),
                "write '%s' and set architecture to %s, or choose %s %s model (for example %s)"
                % (name, other_arch, _article(arch), arch, ", ".join(_examples(arch))),
            )
        elif mine:
            checker.error(
                path,
                model,
                "is not a QEMU %s CPU model" % arch,
                "did you mean %s? (see docs/cluster-spec.md for the full table)" % ", ".join("'%s'" % own[c] for c in mine),
            )
        else:
            checker.error(
                path,
                model,
                "is not a QEMU %s CPU model" % arch,
                "choose one such as %s (see docs/cluster-spec.md for the full table)" % ", ".join(_examples(arch)),
            )
    return None


def _similarity(a, b):
    return difflib.SequenceMatcher(None, a, b).ratio()


def _machine_problem(arch, machine):
    """(problem, fix) for a machine name that ``arch`` does not have."""
    known = models.machine_models(arch)
    newest = [m for m in known if m.startswith(models.MACHINE_VERSION_PREFIXES[arch][0])][-1]
    listed = "%s, or a versioned one such as %s" % (", ".join(models.MACHINE_MODELS[arch]), newest)
    elsewhere = [a for a in models.architecture_of_machine(machine) if a != arch]
    if elsewhere:
        return "is a QEMU %s machine, but the type's architecture is %s" % (elsewhere[0], arch), "use %s" % listed
    close = [m for m in difflib.get_close_matches(machine.lower(), known, n=1, cutoff=0.8) if m != machine]
    if close:
        return "is not a QEMU %s machine model" % arch, "did you mean '%s'? Otherwise use %s" % (close[0], listed)
    return "is not a QEMU %s machine model (QEMU 1.4 to 10.1)" % arch, "use %s" % listed


EXAMPLE_MODELS = {
    "x86_64": ("EPYC-Rome", "Skylake-Server", "qemu64"),
    "aarch64": ("cortex-a57", "cortex-a72", "neoverse-n1"),
    "ppc64le": ("POWER9", "POWER8", "POWER10"),
    "s390x": ("qemu", "max"),
}


def _examples(arch):
    return EXAMPLE_MODELS[arch]


def _vm_type(checker, name, data):
    path = "vm_types.%s" % name
    data = checker.mapping(path, data)
    if data is None:
        return None
    checker.unknown_keys(path, data, TYPE_FIELDS)
    for key, why in IGNORED_TYPE.items():
        if key in data:
            checker.warn("%s.%s" % (path, key), "ignored: %s" % why)
    raw_arch = data.get("architecture", _MISSING)
    arch = None
    if raw_arch is _MISSING or raw_arch is None:
        checker.error(path + ".architecture", _MISSING, "is required", "set it to x86_64, arm_64, ppc64le or s390x")
    else:
        arch = models.canonical_architecture(raw_arch)
        if arch is None:
            checker.error(
                path + ".architecture",
                raw_arch,
                "is not a supported architecture",
                "use x86_64, arm_64, ppc64le or s390x (aarch64, arm64, ppc64el and powerpc64le are accepted too)",
            )
    cpu_model = checker.string(path + ".cpu_model", data.get("cpu_model", _MISSING), required=True)
    cpu_model = _cpu_model(checker, path + ".cpu_model", arch, cpu_model)
    num_cpus = checker.integer(path + ".num_cpus", data.get("num_cpus", _MISSING), minimum=1, maximum=128, required=True)
    ram = checker.integer(path + ".ram", data.get("ram", _MISSING), minimum=256, maximum=1048576, required=True)
    storage = checker.integer(path + ".storage", data.get("storage", _MISSING), minimum=3, maximum=65536, required=True)
    flavor = checker.string(path + ".openstack_flavor", data.get("openstack_flavor"))
    machine = checker.string(path + ".machine_model", data.get("machine_model"))
    if arch is not None:
        if machine is None:
            machine = models.DEFAULT_MACHINE[arch]
        elif not models.machine_model_valid(arch, machine):
            if arch == "x86_64" and machine == "virt":
                checker.warn(path + ".machine_model", "'virt' is not an x86_64 machine (upstream Q8S ignored this field); using q35")
                machine = "q35"
            else:
                checker.error(path + ".machine_model", machine, *_machine_problem(arch, machine))
                machine = None
    accel = checker.string(path + ".accel", data.get("accel"), default="tcg")
    if accel not in ACCELERATORS:
        checker.error(path + ".accel", accel, "is not an accelerator", "use tcg (full emulation, the default) or kvm")
        accel = "tcg"
    out = {
        "name": name,
        "architecture": arch,
        "debian_arch": models.DEBIAN_ARCH.get(arch),
        "num_cpus": num_cpus,
        "cpu_model": cpu_model,
        "machine_model": machine,
        "ram": ram,
        "storage": storage,
        "openstack_flavor": flavor,
        "labels": _labels(checker, path + ".labels", data.get("labels")),
        "taints": _taints(checker, path + ".taints", data.get("taints")),
        "accel": accel,
        "network": _network(checker, path + ".network", data.get("network")),
        "extended_resources": _extended_resources(checker, path + ".extended_resources", data.get("extended_resources")),
    }
    # Only when set: the inventories of specs without it stay as they were.
    speed = data.get(cpu_speed.FIELD)
    if speed is not None:
        bad = cpu_speed.problem(speed)
        if bad:
            checker.error("%s.%s" % (path, cpu_speed.FIELD), speed, *bad)
        else:
            out[cpu_speed.FIELD] = cpu_speed.normalise(speed)
    return out


def _number(checker, path, value, maximum):
    """A non-negative int or float (numeric strings accepted), at most ``maximum``; None when bad."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        checker.error(path, value, "must be a number, not %s" % _typename(value), "write a number without quotes or units")
        return None
    if value < 0:
        checker.error(path, value, "must not be negative", "use 0 or more")
        return None
    if value > maximum:
        checker.error(path, value, "must be at most %s" % maximum, "use a value of %s or less" % maximum)
        return None
    return int(value) if float(value).is_integer() else float(value)


def _network(checker, path, value):
    """The type's link profile: round-trip latency/jitter (ms), loss (%), bandwidth (Mbit/s); None when unset."""
    data = checker.mapping(path, value, required=False)
    if data is None:
        return None
    checker.unknown_keys(path, data, NETWORK_FIELDS)
    out = {}
    for key in NETWORK_FIELDS:
        if data.get(key) is None:
            continue
        number = _number(checker, "%s.%s" % (path, key), data[key], NETWORK_MAXIMA[key])
        if number is not None:
            out[key] = number
    if not any(k in data for k in NETWORK_FIELDS):
        checker.error(path, _MISSING, "sets none of %s" % ", ".join(NETWORK_FIELDS), "set at least one of them, or remove network for an unshaped link")
        return None
    if out.get("bandwidth_mbit") == 0:
        checker.error(path + ".bandwidth_mbit", 0, "would let nothing through", "use more than 0, or leave bandwidth_mbit out for an unlimited link")
        del out["bandwidth_mbit"]
    if out.get("jitter_ms", 0) > out.get("latency_ms", 0):
        checker.error(
            path + ".jitter_ms",
            out["jitter_ms"],
            "is larger than latency_ms (%s): the delay would go negative" % out.get("latency_ms", 0),
            "use a jitter of at most latency_ms, or raise latency_ms",
        )
        del out["jitter_ms"]
    return out or None


def _extended_resources(checker, path, value):
    """Extended resources advertised on the node: {"example.com/fpga": 2}."""
    data = checker.mapping(path, value, required=False)
    if data is None:
        return {}
    out = {}
    for key, count in data.items():
        key = str(key)
        kpath = "%s.%s" % (path, key)
        prefix, dummy, name = key.rpartition("/")
        if not prefix or len(prefix) > 253 or not _LABEL_PREFIX.match(prefix) or not name or len(name) > 63 or not _LABEL_NAME.match(name):
            checker.error(kpath, _MISSING, "is not a domain-prefixed extended resource name", "write it as <domain>/<name>, for example example.com/fpga")
            continue
        if any(prefix == d or prefix.endswith("." + d) for d in ("kubernetes.io", "k8s.io")):
            checker.error(
                kpath, _MISSING, "is in the %s namespace, which Kubernetes reserves" % prefix, "use your own domain, for example example.com/%s" % name
            )
            continue
        if len(EXTENDED_RESOURCE_LABEL.partition("/")[2] + prefix + "-" + name) > 63:
            checker.error(
                kpath,
                _MISSING,
                "is too long for its node label %s%s-%s (63 characters at most after q8s.io/)" % (EXTENDED_RESOURCE_LABEL, prefix, name),
                "use a shorter domain or name",
            )
            continue
        number = checker.integer(kpath, count, minimum=0, maximum=MAX_EXTENDED_RESOURCE, required=True)
        if number is not None:
            out[key] = number
    return out


def _vm_types(checker, raw):
    data = checker.mapping("vm_types", raw)
    if data is None:
        return {}
    # Upstream wraps the types in a `types` key (its !VmTypes object); q8s accepts both.
    if list(data) == ["types"] and isinstance(data["types"], dict):
        data = data["types"]
    if not data:
        checker.error("vm_types", _MISSING, "defines no vm type", "add at least one type, for example x86-small")
        return {}
    out = {}
    for name, spec in data.items():
        name = str(name)
        if _dns_label(checker, "vm_types.%s" % name, name, "a vm type name", "x86-small") is None:
            continue
        if name == names.CONTROL_PLANE_TYPE:
            checker.error(
                "vm_types.%s" % name,
                name,
                "is reserved: q8s names the control planes <cluster>--%s-<i>" % name,
                "rename the type, for example to '%s-worker'" % name,
            )
            continue
        vm_type = _vm_type(checker, name, spec)
        if vm_type is not None:
            out[name] = vm_type
    return out


def _definition(checker, raw, vm_types, provider):
    data = checker.mapping("cluster_definition", raw)
    if data is None:
        return {"master_node_flavor": None, "number_additional_master_nodes": 0, "worker": {}}
    checker.unknown_keys("cluster_definition", data, DEFINITION_FIELDS)
    flavor = checker.string("cluster_definition.master_node_flavor", data.get("master_node_flavor", _MISSING), required=provider == "openstack")
    extra = checker.integer("cluster_definition.number_additional_master_nodes", data.get("number_additional_master_nodes"), minimum=0, maximum=10, default=0)
    if extra is not None and extra % 2 == 1:
        checker.warn(
            "cluster_definition.number_additional_master_nodes",
            "%d extra control planes make %d in all; etcd tolerates no more failures with an even count than with one fewer" % (extra, extra + 1),
        )
    workers = {}
    raw_workers = checker.mapping("cluster_definition.worker", data.get("worker", _MISSING))
    if raw_workers is not None:
        for name, count in raw_workers.items():
            name = str(name)
            path = "cluster_definition.worker.%s" % name
            if name not in vm_types:
                close = difflib.get_close_matches(name, list(vm_types), n=1, cutoff=0.6)
                checker.error(
                    path,
                    _MISSING,
                    "names a vm type that vm_types does not define",
                    "did you mean '%s'?" % close[0]
                    if close
                    else "define %s under vm_types or use one of %s" % (name, ", ".join(sorted(vm_types)) or "(none defined)"),
                )
                continue
            count = checker.integer(path, count, minimum=0, maximum=MAX_NODES, required=True)
            if count is not None:
                workers[name] = count
        if raw_workers and workers and not sum(workers.values()):
            checker.error("cluster_definition.worker", raw_workers, "asks for no worker at all", "give at least one vm type a count of 1 or more")
        elif not raw_workers:
            checker.error("cluster_definition.worker", raw_workers, "asks for no worker at all", "map a vm type name to a count, for example x86-small: 2")
    for name in vm_types:
        if name not in workers:
            checker.warn("vm_types.%s" % name, "defined but not used in cluster_definition.worker")
    return {"master_node_flavor": flavor, "number_additional_master_nodes": extra or 0, "worker": workers}


def _image_file(checker, path, entry):
    """The source and checksum of an image, kernel or initrd; None after an error."""
    source = checker.string(path + ".source", entry.get("source", _MISSING), required=True)
    checksum = checker.string(path + ".checksum", entry.get("checksum", _MISSING), required=True)
    if checksum is not None:
        algo, dummy, digest = checksum.partition(":")
        if algo not in CHECKSUM_ALGORITHMS or not digest:
            checker.error(
                path + ".checksum",
                checksum,
                "is not '<algorithm>:<hex digest or URL of a SUMS file>'",
                "write for example sha256:0123abcd... with one of %s" % ", ".join(CHECKSUM_ALGORITHMS),
            )
            checksum = None
        elif "://" not in digest and (not _HEX.match(digest) or len(digest) != _HEX_LENGTH[algo]):
            checker.error(
                path + ".checksum",
                checksum,
                "is not a %s hex digest (%d hex digits)" % (algo, _HEX_LENGTH[algo]),
                "copy the digest from the image's SUMS file",
            )
            checksum = None
    if source is None or checksum is None:
        return None
    return {"source": source, "checksum": checksum}


def _image_boot(checker, path, entry):
    """The optional direct kernel boot of an image: {kernel, initrd, cmdline, firstboot}, {} or None after an error."""
    given = [key for key in IMAGE_BOOT_FIELDS if key in entry]
    if not given:
        return {}
    ok = True
    out = {}
    for key in ("kernel", "initrd"):
        if key not in entry:
            checker.error(
                "%s.%s" % (path, key),
                _MISSING,
                "is required with %s" % ", ".join(given),
                "give the image's kernel and initrd (source and checksum each) together with cmdline, or none of them",
            )
            ok = False
            continue
        data = checker.mapping("%s.%s" % (path, key), entry[key])
        if data is None:
            ok = False
            continue
        checker.unknown_keys("%s.%s" % (path, key), data, IMAGE_FILE_FIELDS)
        out[key] = _image_file(checker, "%s.%s" % (path, key), data)
        ok = ok and out[key] is not None
    raw_cmdline = entry.get("cmdline", _MISSING)
    cmdline = checker.string(path + ".cmdline", raw_cmdline, empty_ok=True)
    if cmdline is None and raw_cmdline is not _MISSING and raw_cmdline is not None:
        ok = False  # not a string: said above
    elif cmdline is None or not re.search(r"(^|\s)root=\S", cmdline):
        checker.error(
            path + ".cmdline",
            _MISSING if cmdline is None else cmdline,
            "must name the root file system for a direct kernel boot",
            "set it to the kernel command line without console=, for example root=LABEL=root ro",
        )
        ok = False
    elif re.search(r"(^|\s)console=", cmdline):
        checker.error(path + ".cmdline", cmdline, "must not set console= (q8s adds the serial console of the architecture)", "remove console=...")
        ok = False
    firstboot = entry.get("firstboot", False)
    if not isinstance(firstboot, bool):
        checker.error(
            path + ".firstboot",
            firstboot,
            "must be true or false",
            "write true when the image carries q8s-firstboot (tests/testbed/build-images.sh and golden images do), else false",
        )
        ok = False
    if not ok:
        return None
    out.update(cmdline=cmdline, firstboot=firstboot)
    return out


def _guest_images(checker, raw):
    images = dict((arch, dict(v)) for arch, v in DEFAULT_GUEST_IMAGES.items())
    data = checker.mapping("guest_images", raw, required=False)
    if data is None:
        return images
    for key, value in data.items():
        arch = models.canonical_architecture(key)
        path = "guest_images.%s" % key
        if arch is None:
            checker.error(path, _MISSING, "is not an architecture", "use x86_64, aarch64, ppc64le or s390x as keys")
            continue
        entry = checker.mapping(path, value)
        if entry is None:
            continue
        checker.unknown_keys(path, entry, IMAGE_FIELDS)
        image = _image_file(checker, path, entry)
        boot = _image_boot(checker, path, entry)
        if image is not None and boot is not None:
            image.update(boot)
            images[arch] = image
    return images


def _networks(checker, raw, host_count, provider, open_to_world=False):
    host_network = checker.cidr("remote_ip_prefix", raw.get("remote_ip_prefix", _MISSING), required=True)
    if host_network is not None and int(host_network.split("/")[1]) > 30:
        checker.error(
            "remote_ip_prefix",
            host_network,
            "leaves no room for servers (a tenant network needs its network, router and broadcast addresses besides them)",
            "give the tenant network's real CIDR, a /30 or larger (a /24 for most clusters)",
        )
        host_network = None
    pod = checker.cidr("pod_network_cidr", raw.get("pod_network_cidr"), default="10.244.0.0/16")
    service = checker.cidr("service_cidr", raw.get("service_cidr"), default="10.96.0.0/12")
    admin = checker.cidr("admin_cidr", raw.get("admin_cidr"))
    if admin is not None and int(admin.split("/")[1]) < 8 and not open_to_world:
        checker.error(
            "admin_cidr",
            admin,
            "opens SSH and the Kubernetes API to a large part of the Internet",
            "give the addresses you work from (such as 203.0.113.0/24); to open to everyone on purpose, also pass -e q8s_provision_open_to_world=true",
        )
        admin = None
    gateway_offset = checker.integer("guest_gateway_offset", raw.get("guest_gateway_offset"), minimum=1, default=1)
    pool = None
    if raw.get("guest_address_pool") is not None:
        pool = checker.cidr("guest_address_pool", raw.get("guest_address_pool"))
        if pool is not None and int(pool.split("/")[1]) > 30:
            checker.error(
                "guest_address_pool", pool, "leaves no room for guests and their gateway", "use the prefix length of remote_ip_prefix, a /30 or larger"
            )
            pool = None
    elif host_network is not None:
        prefix = int(host_network.split("/")[1])
        if prefix < 10:
            checker.error(
                "remote_ip_prefix",
                host_network,
                "is larger than the default guest pool 100.64.0.0/10",
                "set guest_address_pool to a private network of the same prefix length",
            )
        else:
            pool = addressing.default_guest_pool(host_network)
    if host_network is not None and pool is not None:
        host_net, pool_net = netaddr.IPNetwork(host_network), netaddr.IPNetwork(pool)
        if host_net.prefixlen != pool_net.prefixlen:
            checker.error(
                "guest_address_pool",
                pool,
                "must have the same prefix length as remote_ip_prefix (%s)" % host_network,
                "use a /%d, for example %s" % (host_net.prefixlen, addressing.default_guest_pool(host_network)),
            )
            pool = None
        elif gateway_offset is not None and gateway_offset >= pool_net.size - 1:
            checker.error(
                "guest_gateway_offset",
                gateway_offset,
                "lies outside the guest pool %s" % pool,
                "use an offset from 1 to %d (1, the default, mirrors the tenant router)" % (pool_net.size - 2),
            )
            gateway_offset = None
        if host_count is not None and host_net.size - 3 < host_count:
            checker.error(
                "remote_ip_prefix",
                host_network,
                "has room for %d servers, but the cluster needs %d" % (max(host_net.size - 3, 0), host_count),
                "use a larger tenant network (for example /%d) or fewer nodes" % _prefix_for(host_count + 3),
            )
        if pool is not None and not any(pool_net in netaddr.IPNetwork(r) for r in PRIVATE_RANGES):
            checker.warn("guest_address_pool", "%s is public address space; guests will shadow whoever owns it" % pool)
    named = [("remote_ip_prefix", host_network), ("guest_address_pool", pool), ("pod_network_cidr", pod), ("service_cidr", service)]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if a is None or b is None:
                continue
            na, nb = netaddr.IPNetwork(a), netaddr.IPNetwork(b)
            if na.first <= nb.last and nb.first <= na.last:
                checker.error(
                    name_b,
                    b,
                    "overlaps %s (%s)" % (name_a, a),
                    "choose a range that overlaps none of remote_ip_prefix, guest_address_pool, pod_network_cidr and service_cidr",
                )
    gateway = None
    if pool and gateway_offset:
        try:
            gateway = addressing.guest_gateway(pool, gateway_offset)
        except addressing.AddressPlanError as exc:
            checker.error("guest_gateway_offset", gateway_offset, "does not fit the guest pool: %s" % exc, "use 1, the default")
    return {
        "host_network": host_network,
        "guest_pool": pool,
        "guest_gateway_offset": gateway_offset or 1,
        "guest_gateway": gateway,
        "pod_network_cidr": pod,
        "service_cidr": service,
        "admin_cidr": admin,
    }


def _prefix_for(count):
    prefix = 32
    while (1 << (32 - prefix)) < count and prefix > 8:
        prefix -= 1
    return prefix


def _kubernetes_version(checker, raw):
    value = raw.get("kubernetes_version")
    if value is None:
        return DEFAULT_KUBERNETES_VERSION
    if isinstance(value, float):
        checker.error(
            "kubernetes_version",
            value,
            "lost its patch level: YAML read it as a number",
            "quote it and give all three parts, such as '%s'" % DEFAULT_KUBERNETES_VERSION,
        )
        return None
    text = checker.string("kubernetes_version", value)
    if text is None:
        return None
    match = _VERSION.match(text)
    if not match:
        checker.error("kubernetes_version", value, "is not a Kubernetes release", "write major.minor.patch, such as '%s'" % DEFAULT_KUBERNETES_VERSION)
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major != 1:
        checker.error(
            "kubernetes_version",
            value,
            "is not a Kubernetes 1.x release (pkgs.k8s.io serves 1.%d and newer 1.x)" % MIN_KUBERNETES_MINOR,
            "use a 1.x release such as '%s'" % DEFAULT_KUBERNETES_VERSION,
        )
        return None
    if minor < MIN_KUBERNETES_MINOR:
        checker.error(
            "kubernetes_version", value, "is older than pkgs.k8s.io serves (1.%d)" % MIN_KUBERNETES_MINOR, "use 1.%d.0 or newer" % MIN_KUBERNETES_MINOR
        )
        return None
    return "%s.%s.%s" % match.groups()


def _state_dir(checker, raw, name):
    """Where the controller keeps the cluster's key and state: a directory of its own."""
    value = checker.string("state_dir", raw, default=defaults.default_state_dir(name or "q8s"))
    if raw is None or value is None:
        return value
    fix = "use a directory for this cluster alone, such as %s" % defaults.default_state_dir(name or "q8s")
    if not (value.startswith("/") or value == "~" or value.startswith("~/")):
        checker.error("state_dir", value, "is a relative path, which depends on where a command runs", fix)
        return None
    parts = value.split("/")
    if ".." in parts:
        checker.error("state_dir", value, "contains '..'", fix)
        return None
    normal = "/".join(p for p in parts if p not in ("", ".")) or "/"
    if value.startswith("/") and normal != "/":
        normal = "/" + normal
    if normal in SYSTEM_DIRS or any(normal == tree or normal.startswith(tree + "/") for tree in SYSTEM_TREES):
        checker.error("state_dir", value, "is a system or shared directory; q8s keeps the cluster key there with mode 0700", fix)
        return None
    return value


def _endpoint(checker, raw):
    endpoint = checker.string("control_plane_endpoint", raw)
    if endpoint is None:
        return None
    match = re.match(r"^([A-Za-z0-9.-]+)(:(\d{1,5}))?$", endpoint)
    if not match:
        checker.error("control_plane_endpoint", endpoint, "is not host[:port]", "give a DNS name or address of a VIP or load balancer, such as 10.0.0.5:6443")
        return None
    if match.group(3) is not None and not 1 <= int(match.group(3)) <= 65535:
        checker.error(
            "control_plane_endpoint",
            endpoint,
            "has the port %s, outside 1-65535" % match.group(3),
            "use the API server's port, such as %s:6443" % match.group(1),
        )
        return None
    return endpoint


def _pod_network(checker, pod, node_count, is_default):
    """Each Kubernetes node takes a /24 of the pod network: it must hold one per node."""
    prefix = int(pod.split("/")[1])
    where = "the default pod_network_cidr %s" % pod if is_default else "pod_network_cidr"
    if prefix > NODE_CIDR_MASK:
        checker.error("pod_network_cidr", pod, "is smaller than the /%d each node takes" % NODE_CIDR_MASK, "use a /16, such as 10.244.0.0/16")
        return
    room = 1 << (NODE_CIDR_MASK - prefix)
    if node_count > room:
        need = NODE_CIDR_MASK - max(node_count - 1, 1).bit_length()
        checker.error(
            "pod_network_cidr",
            pod,
            "%s holds %d node networks of /%d, but the cluster has %d Kubernetes nodes" % (where, room, NODE_CIDR_MASK, node_count),
            "set pod_network_cidr to a /%d or larger, such as 10.%d.0.0/%d, that overlaps no other network of the spec" % (need, 128 if need >= 9 else 0, need),
        )


def _bastion(checker, raw):
    """The SSH jump host for a controller outside the tenant network (None: direct)."""
    if raw is None:
        return None
    data = checker.mapping("bastion", raw)
    if data is None:
        return None
    checker.unknown_keys("bastion", data, BASTION_FIELDS)
    host = checker.string("bastion.host", data.get("host", _MISSING), required=True)
    if host is not None and not re.match(r"^[A-Za-z0-9.:-]+$", host):
        checker.error("bastion.host", host, "is not a host name or address", "give the jump host's DNS name or address, such as 203.0.113.10")
        host = None
    user = checker.string("bastion.user", data.get("user"))
    if user is not None and not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", user):
        checker.error("bastion.user", user, "is not a valid Linux user name", "use lowercase letters, digits, '_' and '-'")
    port = checker.integer("bastion.port", data.get("port"), minimum=1, maximum=65535, default=22)
    key_file = checker.string("bastion.key_file", data.get("key_file"))
    if host is None:
        return None
    return {"host": host, "user": user, "port": port, "key_file": key_file}


def _local(checker, raw, name, provider):
    """The local provider's podman settings (None for openstack)."""
    if raw is None and provider != "local":
        return None
    data = checker.mapping("local", raw, required=False) if raw is not None else {}
    if data is None:
        return None
    if provider != "local":
        checker.error("local", _MISSING, "is only used by the local provider", "remove it or set provider: local")
        return None
    checker.unknown_keys("local", data, LOCAL_FIELDS)
    out = {"network": checker.string("local.network", data.get("network"), default="q8s-%s" % (name or "q8s"))}
    if out["network"] is not None and not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", out["network"]):
        checker.error("local.network", out["network"], "is not a podman network name", "use letters, digits, '-', '_' and '.'")
    for key, default in sorted(LOCAL_DEFAULTS.items()):
        out[key] = checker.string("local." + key, data.get(key), default=default)
    return out


def normalise(raw, open_to_world=False):
    """Validate and normalise a raw spec mapping. Returns ``(spec, warnings)``.

    ``open_to_world`` is the operator's explicit opt-in (``q8s_provision_open_to_world``)
    that an ``admin_cidr`` open to the whole Internet needs.
    Raises :class:`SpecError` listing every problem at once.
    """
    raw = plain(raw)
    checker = _Checker()
    if not isinstance(raw, dict):
        raise SpecError(["(top level): the spec must be a mapping, not %s. Fix: start from examples/cluster.yml" % _typename(raw)])
    checker.unknown_keys("", raw, TOP_FIELDS)
    for key, why in IGNORED_TOP.items():
        if key in raw:
            checker.warn(key, "ignored: %s" % why)

    provider = checker.string("provider", raw.get("provider"), default="openstack")
    if provider not in PROVIDERS:
        checker.error("provider", provider, "is not a provider", "use openstack or local")
        provider = "openstack"
    if "cluster_name" in raw and (raw["cluster_name"] is None or (isinstance(raw["cluster_name"], str) and not raw["cluster_name"].strip())):
        # An empty name must not fall back to the default: 'q8s' may be another cluster's.
        checker.error(
            "cluster_name",
            raw["cluster_name"],
            "is empty; the default name 'q8s' may belong to another cluster in the project",
            "set a name of your own such as 'demo', or remove the line to mean 'q8s' on purpose",
        )
        name = None
    else:
        name = checker.string("cluster_name", raw.get("cluster_name"), default="q8s")
        name = _dns_label(checker, "cluster_name", name, "the cluster name", "demo", longest=MAX_CLUSTER_NAME)

    vm_types = _vm_types(checker, raw.get("vm_types", _MISSING))
    definition = _definition(checker, raw.get("cluster_definition", _MISSING), vm_types, provider)
    if name is not None:
        longest = {}
        for type_name, count in definition["worker"].items():
            host_name = names.longest_host(name, type_name, count)
            if len(host_name) > MAX_HOSTNAME:
                longest[type_name] = host_name
        for type_name, host_name in sorted(longest.items()):
            checker.error(
                "vm_types.%s" % type_name,
                _MISSING,
                "makes the host name '%s' longer than %d characters" % (host_name, MAX_HOSTNAME),
                "shorten the vm type name or cluster_name",
            )

    initial = checker.string("name_of_initial_instance", raw.get("name_of_initial_instance"))
    if initial is None and isinstance(raw.get("name_of_initial_instance"), str):
        checker.error(
            "name_of_initial_instance",
            raw["name_of_initial_instance"],
            "is empty",
            "name the existing server to adopt, or remove the line to let q8s create %s" % names.control_plane(name or "q8s", 0),
        )
    if initial is not None:
        _dns_label(checker, "name_of_initial_instance", initial, "the initial instance name", "q8s-master")
    worker_count = sum(definition["worker"].values())
    host_count = worker_count + definition["number_additional_master_nodes"] + 1
    node_count = host_count + worker_count
    if node_count > MAX_NODES:
        checker.error(
            "cluster_definition.worker",
            _MISSING,
            "makes %d nodes (%d control planes, %d QEMU hosts and %d guests), more than the %d one controller handles (docs/performance.md)"
            % (node_count, host_count - worker_count, worker_count, worker_count, MAX_NODES),
            "ask for at most %d workers in all, or split the cluster into several clusters"
            % ((MAX_NODES - 1 - definition["number_additional_master_nodes"]) // 2),
        )
        host_count = None
    net = _networks(checker, raw, host_count, provider, open_to_world)
    if host_count is not None and net["pod_network_cidr"] is not None:
        # Kubernetes nodes: the control planes and the guests, as many as there are servers.
        _pod_network(checker, net["pod_network_cidr"], host_count, raw.get("pod_network_cidr") is None)

    private_network = checker.string("private_network_id", raw.get("private_network_id"))
    if provider == "openstack" and private_network is None:
        checker.error(
            "private_network_id",
            raw.get("private_network_id", _MISSING) if raw.get("private_network_id") is not None else _MISSING,
            "is required for the openstack provider",
            "set it to the ID or name of your tenant network (openstack network list)",
        )
    security_groups = raw.get("security_groups")
    if security_groups is None:
        security_groups = []
    elif not isinstance(security_groups, list) or not all(isinstance(g, str) and g for g in security_groups):
        checker.error("security_groups", security_groups, "must be a list of security group names", "write one name per line as '- default'")
        security_groups = []
    cluster_group = "%s-cluster" % (name or "q8s")
    extra_groups = [g for g in security_groups if g != cluster_group]

    tcp = checker.ports("required_tcp_ports", raw.get("required_tcp_ports"), DEFAULT_TCP_PORTS)
    udp = checker.ports("required_udp_ports", raw.get("required_udp_ports"), DEFAULT_UDP_PORTS)
    pmin = checker.integer("worker_port_range_min", raw.get("worker_port_range_min"), minimum=1, maximum=65535, default=30000)
    pmax = checker.integer("worker_port_range_max", raw.get("worker_port_range_max"), minimum=1, maximum=65535, default=32767)
    if pmin is not None and pmax is not None and pmin > pmax:
        checker.error("worker_port_range_min", pmin, "is above worker_port_range_max (%d)" % pmax, "swap the two values")

    images = _guest_images(checker, raw.get("guest_images"))
    missing_image = {}
    for type_name, count in sorted(definition["worker"].items()):
        arch = (vm_types.get(type_name) or {}).get("architecture")
        if count and arch is not None and arch not in images:
            missing_image.setdefault(arch, type_name)
    for arch, type_name in sorted(missing_image.items()):
        checker.error(
            "guest_images.%s" % arch,
            _MISSING,
            "is required: q8s has no default %s guest image yet (vm type %s is %s)" % (arch, type_name, arch),
            "set guest_images.%s.source and .checksum to a %s cloud image (Debian or Ubuntu %s)" % (arch, arch, models.DEBIAN_ARCH[arch]),
        )
    version = _kubernetes_version(checker, raw)
    host_user = checker.string("host_ssh_user", raw.get("host_ssh_user"), default="ubuntu")
    guest_user = checker.string("guest_user", raw.get("guest_user"), default="q8s")
    for field, user in (("host_ssh_user", host_user), ("guest_user", guest_user)):
        if user is not None and not re.match(r"^[a-z_][a-z0-9_-]{0,31}$", user):
            checker.error(field, user, "is not a valid Linux user name", "use lowercase letters, digits, '_' and '-'")
    if guest_user == "root":
        checker.error("guest_user", guest_user, "must not be root", "use an unprivileged name such as q8s; it gets sudo")
    state_dir = _state_dir(checker, raw.get("state_dir"), name)
    endpoint = _endpoint(checker, raw.get("control_plane_endpoint"))
    bastion = _bastion(checker, raw.get("bastion"))
    local = _local(checker, raw.get("local"), name, provider)
    if provider == "local" and bastion is not None:
        checker.error("bastion", bastion["host"], "is not used by the local provider", "remove it: local hosts are podman containers on this machine")
    default_image = checker.string("default_image_name", raw.get("default_image_name"))
    if provider == "openstack" and default_image is None:
        checker.error("default_image_name", _MISSING, "is required for the openstack provider", "name the Ubuntu image for the hosts (openstack image list)")
    if provider == "openstack":
        for type_name in definition["worker"]:
            if type_name in vm_types and vm_types[type_name]["openstack_flavor"] is None:
                checker.error(
                    "vm_types.%s.openstack_flavor" % type_name,
                    _MISSING,
                    "is required for the openstack provider",
                    "name the flavor of the host that runs this type's guest (openstack flavor list)",
                )

    if checker.errors:
        raise SpecError(checker.errors)

    spec = {
        "cluster_name": name,
        "provider": provider,
        "kubernetes_version": version,
        "private_network_id": private_network,
        "default_image_name": default_image,
        "name_of_initial_instance": initial,
        "cluster_security_group": cluster_group,
        "security_groups": extra_groups,
        "required_tcp_ports": tcp,
        "required_udp_ports": udp,
        "worker_port_range_min": pmin,
        "worker_port_range_max": pmax,
        "master_node_flavor": definition["master_node_flavor"],
        "number_additional_master_nodes": definition["number_additional_master_nodes"],
        "worker": definition["worker"],
        "vm_types": dict((n, t) for n, t in vm_types.items() if n in definition["worker"]),
        "guest_images": images,
        "host_ssh_user": host_user,
        "guest_user": guest_user,
        "state_dir": state_dir,
        "control_plane_endpoint": endpoint,
        "bastion": bastion,
        "local": local,
    }
    spec.update(net)
    return spec, checker.warnings


# The hosts of a normalised spec live in q8s_topology; kept here for existing callers.
topology = topology_module.topology
group_name = topology_module.group_name
