# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Compare what a running q8s cluster shows with what its spec asks for.

Pure functions over plain data: the playbook (playbooks/verify.yml) gathers the facts
read-only (guest commands over SSH, ``tc`` and ``virsh`` on the QEMU host, a round trip
from a control plane, ``kubectl get nodes -o json``) and hands them here. Every mismatch
is one record ``{node, layer, field, expected, observed}`` and one line of output.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults as defaults
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models

# Memory: the guest's MemTotal is the RAM minus what the kernel keeps for itself (its
# code and data, the page tables of all memory, firmware tables). Measured on the
# Debian 12 test-bed guests: 1024 MiB x86_64 q35 -> MemTotal 973 MiB (-4.9 %; recorded in
# tests/unit/fixtures/verify/guest-x86_64.json). Allowed: up to 12 % (at least 64 MiB)
# below the spec, never above it; a guest redefined with 3/4 of its RAM fails.
MEMORY_TOLERANCE = 0.12
MEMORY_TOLERANCE_MIN_MB = 64

# Round trip to a guest whose type sets latency_ms: at least the latency (minus 5 %
# for timer granularity), at most the latency plus the jitter plus this much (TCG
# guests answer slowly, and the path crosses two hosts' NAT).
RTT_SLACK_MS = 50.0
# Bandwidth (only with q8s_verify_bandwidth): at least this share of the configured rate.
BANDWIDTH_FLOOR = 0.8

# `uname -m` prints q8s's own architecture names.
UNAME = dict((arch, arch) for arch in models.ARCHITECTURES)

# aarch64 guests do not name their CPU: /proc/cpuinfo shows the MIDR fields. QEMU's
# models set these (target/arm/cpu64.c, cpu_tcg.c).
AARCH64_MIDR = {
    "a64fx": ("0x46", "0x001"),
    "cortex-a35": ("0x41", "0xd04"),
    "cortex-a53": ("0x41", "0xd03"),
    "cortex-a55": ("0x41", "0xd05"),
    "cortex-a57": ("0x41", "0xd07"),
    "cortex-a72": ("0x41", "0xd08"),
    "cortex-a76": ("0x41", "0xd0b"),
    "cortex-a710": ("0x41", "0xd47"),
    "neoverse-n1": ("0x41", "0xd0c"),
    "neoverse-n2": ("0x41", "0xd49"),
    "neoverse-v1": ("0x41", "0xd40"),
}

# x86_64 guests show QEMU's model_id as "model name". For most models it contains the
# model's base name (EPYC-Rome -> "AMD EPYC-Rome Processor", Skylake-Server -> "Intel
# Xeon Processor (Skylake, IBRS)"); these are the exceptions.
X86_MODEL_NAME = {
    "486": "486",
    "athlon": "QEMU Virtual CPU",
    "pentium": "Pentium",
    "pentium2": "Pentium II",
    "pentium3": "Pentium III",
    "phenom": "Phenom",
    "n270": "Atom",
    "coreduo": "Genuine Intel",
    "core2duo": "Core(TM)2",
    "kvm32": "Common 32-bit KVM processor",
    "kvm64": "Common KVM processor",
    "qemu32": "QEMU Virtual CPU",
    "qemu64": "QEMU Virtual CPU",
    "Opteron_G1": "Opteron 240",
    "Opteron_G2": "Opteron 22xx",
    "Opteron_G3": "Opteron 23xx",
    "Opteron_G4": "Opteron 62xx",
    "Opteron_G5": "Opteron 63xx",
    "Snowridge": "Atom Processor (SnowRidge)",
}
# Models whose name the guest does not report in a fixed way: not compared.
UNCHECKED_MODELS = ("max", "base")
_X86_SUFFIXES = re.compile(r"(-(Server|Client|IBRS|noTSX|IBPB))+$")


def _squash(text):
    return re.sub(r"[^a-z0-9]", "", (text or "").lower())


def parse_guest_facts(text):
    """The facts check_guest needs from the output of playbooks/files/q8s_guest_facts.sh
    ("== name" sections); a section missing or unreadable is left out."""
    sections, name = {}, None
    for line in (text or "").splitlines():
        if line.startswith("== "):
            name = line[3:].strip()
            sections[name] = []
        elif name is not None:
            sections[name].append(line)
    out = {"ssh": True}
    if "uname_m" in sections:
        out["uname_m"] = "\n".join(sections["uname_m"]).strip()
    if sections.get("nproc") and sections["nproc"][0].strip().isdigit():
        out["nproc"] = int(sections["nproc"][0])
    match = re.search(r"^MemTotal:\s+(\d+) kB", "\n".join(sections.get("meminfo", [])), re.M)
    if match:
        out["memtotal_kb"] = int(match.group(1))
    if "cpuinfo" in sections:
        out["cpuinfo"] = "\n".join(sections["cpuinfo"]) + "\n"
    try:
        out["lsblk"] = json.loads("\n".join(sections.get("lsblk", [])))
    except ValueError:
        pass
    return out


def cpuinfo_fields(cpuinfo):
    """The first processor's fields of /proc/cpuinfo, as a dict."""
    out = {}
    for line in (cpuinfo or "").splitlines():
        if not line.strip():
            if out:
                break
            continue
        key, sep, value = line.partition(":")
        if sep:
            out.setdefault(key.strip(), value.strip())
    return out


def reported_cpu(arch, cpuinfo):
    """What the guest says its CPU is: x86_64 "model name"; aarch64 the QEMU model whose
    MIDR it shows (or the raw implementer/part)."""
    fields = cpuinfo_fields(cpuinfo)
    if arch == "x86_64":
        return fields.get("model name", "")
    implementer, part = fields.get("CPU implementer", ""), fields.get("CPU part", "")
    for model, midr in sorted(AARCH64_MIDR.items()):
        if midr == (implementer.lower(), part.lower()):
            return "%s (implementer %s, part %s)" % (model, implementer, part)
    return "implementer %s, part %s" % (implementer or "?", part or "?")


def cpu_matches(arch, model, reported):
    """True when the guest's report fits the configured QEMU CPU model."""
    if model in UNCHECKED_MODELS:
        return True
    if arch == "aarch64":
        return reported.split(" ")[0] == model
    expected = X86_MODEL_NAME.get(model)
    if expected is not None:
        return expected.lower() in reported.lower()
    return _squash(_X86_SUFFIXES.sub("", model)) in _squash(reported)


def memory_range_mb(ram_mb):
    """(lowest, highest) MemTotal in MiB that a guest with ``ram_mb`` MiB may report."""
    slack = max(ram_mb * MEMORY_TOLERANCE, MEMORY_TOLERANCE_MIN_MB)
    return ram_mb - slack, float(ram_mb)


def root_disk_bytes(lsblk):
    """Size of the disk that holds / from ``lsblk -bJ -o NAME,SIZE,TYPE,MOUNTPOINT``
    (parsed JSON), or None."""

    def holds_root(dev):
        if dev.get("mountpoint") == "/" or "/" in (dev.get("mountpoints") or []):
            return True
        return any(holds_root(child) for child in dev.get("children") or [])

    for dev in (lsblk or {}).get("blockdevices", []):
        if dev.get("type") == "disk" and holds_root(dev):
            return int(dev["size"])
    return None


_RATE = re.compile(r"^class htb \S+ .*?\brate (\d+(?:\.\d+)?)([KMGT]?)bit\b", re.M)
_RATE_UNITS = {"": 1e-6, "K": 1e-3, "M": 1.0, "G": 1e3, "T": 1e6}


def tc_profile(qdiscs, classes):
    """The link profile live on a guest's tap (host -> guest direction): ``qdiscs`` from
    ``tc -j qdisc show dev TAP`` (parsed JSON), ``classes`` the text of ``tc class show dev
    TAP`` (iproute2 6.1 prints htb classes as text even with -j). Returns {latency_ms,
    jitter_ms, loss_percent, bandwidth_mbit}, only the fields that are set; {} for none."""
    out = {}
    for qdisc in qdiscs or []:
        if qdisc.get("kind") != "netem":
            continue
        options = qdisc.get("options", {})
        delay = options.get("delay") or {}
        if delay.get("delay"):
            out["latency_ms"] = round(delay["delay"] * 1000 * 2, 3)  # half a round trip per direction
        if delay.get("jitter"):
            out["jitter_ms"] = round(delay["jitter"] * 1000 * 2, 3)
        loss = options.get("loss-random") or {}
        if loss.get("loss"):
            out["loss_percent"] = round(loss["loss"] * 100, 3)
    match = _RATE.search(classes or "")
    if match:
        out["bandwidth_mbit"] = round(float(match.group(1)) * _RATE_UNITS[match.group(2)], 3)
    return out


def profile_text(profile):
    """A link profile for people: "20 ms, 100 Mbit/s", or "unshaped"."""
    if not profile:
        return "unshaped"
    parts = []
    if profile.get("latency_ms") is not None:
        jitter = profile.get("jitter_ms")
        parts.append("%g ms%s" % (profile["latency_ms"], " +/- %g" % jitter if jitter else ""))
    if profile.get("loss_percent"):
        parts.append("%g %% loss" % profile["loss_percent"])
    if profile.get("bandwidth_mbit") is not None:
        parts.append("%g Mbit/s" % profile["bandwidth_mbit"])
    return ", ".join(parts)


def _mismatch(out, node, layer, field, expected, observed):
    out.append({"node": node, "layer": layer, "field": field, "expected": expected, "observed": observed})


def _profile_equal(want, have):
    keys = ("latency_ms", "jitter_ms", "loss_percent", "bandwidth_mbit")
    for key in keys:
        a, b = want.get(key) or 0, have.get(key) or 0
        if abs(float(a) - float(b)) > max(0.01 * max(float(a), float(b)), 0.001):
            return False
    return True


def check_guest(node, vm_type, facts):
    """Mismatches of one guest. ``vm_type``: the inventory's q8s_node.vm_type_spec.
    ``facts`` (any may be missing when it could not be read):
      ssh (bool: the guest answered through host port 2222), uname_m, cpuinfo, nproc,
      memtotal_kb, lsblk (parsed), node_address (bool: a control plane reached the guest's
      node address through the translation), tc_qdiscs/tc_classes (parsed, host side),
      rtt_ms (round trip from a control plane), bandwidth_mbit (measured, optional),
      host_error (the QEMU host could not be read)."""
    out = []
    arch = vm_type["architecture"]
    if facts.get("host_error"):
        _mismatch(out, node, "host", "qemu_host", "reachable", facts["host_error"])
    if not facts.get("ssh"):
        _mismatch(out, node, "guest", "ssh", "answers on its host's port 2222", facts.get("ssh_error") or "no answer")
        return out
    if facts.get("uname_m") != UNAME[arch]:
        _mismatch(out, node, "guest", "architecture", UNAME[arch], facts.get("uname_m"))
    reported = reported_cpu(arch, facts.get("cpuinfo", ""))
    if not cpu_matches(arch, vm_type["cpu_model"], reported):
        _mismatch(out, node, "guest", "cpu_model", vm_type["cpu_model"], reported or "nothing")
    if facts.get("nproc") is None or int(facts["nproc"]) != int(vm_type["num_cpus"]):
        _mismatch(out, node, "guest", "num_cpus", int(vm_type["num_cpus"]), facts.get("nproc"))
    low, high = memory_range_mb(int(vm_type["ram"]))
    mem_mb = int(facts["memtotal_kb"]) / 1024.0 if facts.get("memtotal_kb") is not None else None
    if mem_mb is None or not low <= mem_mb <= high:
        _mismatch(
            out, node, "guest", "ram", "%d MiB (MemTotal %d..%d MiB)" % (vm_type["ram"], low, high), None if mem_mb is None else "MemTotal %d MiB" % mem_mb
        )
    disk = root_disk_bytes(facts.get("lsblk"))
    want_disk = int(vm_type["storage"]) * 1024**3
    if disk != want_disk:
        _mismatch(out, node, "guest", "storage", "%d GiB" % vm_type["storage"], None if disk is None else "%.2f GiB" % (disk / 1024.0**3))
    if "node_address" in facts and not facts["node_address"]:
        _mismatch(out, node, "network", "node_address", "reachable from a control plane through the translation", "no answer")
    want = vm_type.get("network") or {}
    if "tc_qdiscs" in facts:
        have = tc_profile(facts.get("tc_qdiscs"), facts.get("tc_classes"))
        if not _profile_equal(want, have):
            _mismatch(out, node, "network", "link_profile", profile_text(want), profile_text(have))
    rtt = facts.get("rtt_ms")
    if want.get("latency_ms") and rtt is not None:
        lowest = 0.95 * want["latency_ms"]
        highest = want["latency_ms"] + (want.get("jitter_ms") or 0) + RTT_SLACK_MS
        if not lowest <= rtt <= highest:
            _mismatch(out, node, "network", "latency_ms", "%g ms (round trip %g..%g ms)" % (want["latency_ms"], lowest, highest), "%g ms" % rtt)
    measured_bw = facts.get("bandwidth_mbit")
    if want.get("bandwidth_mbit") and measured_bw is not None:
        if not BANDWIDTH_FLOOR * want["bandwidth_mbit"] <= measured_bw <= 1.05 * want["bandwidth_mbit"]:
            _mismatch(out, node, "network", "bandwidth_mbit", "%g Mbit/s" % want["bandwidth_mbit"], "%g Mbit/s" % measured_bw)
    return out


def _quantity_bytes(value):
    """A Kubernetes memory quantity ("2012345Ki", "2Gi", "1000000") in bytes."""
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "k": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4}
    match = re.match(r"^(\d+(?:\.\d+)?)([KMGT]i?|k)?$", str(value))
    if not match:
        return None
    return float(match.group(1)) * units.get(match.group(2) or "", 1)


def expected_labels(vm_type_name, vm_type, prefix="q8s.io"):
    """The labels k8s_worker sets (roles/k8s_worker/vars/main.yml) that verify checks."""
    out = {
        "kubernetes.io/arch": models.KUBERNETES_ARCH[vm_type["architecture"]],
        prefix + "/architecture": vm_type["architecture"],
        prefix + "/cpu-model": vm_type["cpu_model"],
        prefix + "/vm-type": vm_type_name,
    }
    for key, value in (vm_type.get("labels") or {}).items():
        out[key] = str(value)
    return out


def _taint_text(taint):
    value = taint.get("value")
    return "%s%s:%s" % (taint["key"], "=%s" % value if value not in (None, "") else "", taint["effect"])


def check_kubernetes(nodes, expected, gate_taint=defaults.FLANNEL_GATE_TAINT):
    """Mismatches of the Kubernetes layer. ``nodes``: ``kubectl get nodes -o json``
    (parsed). ``expected``: {node name: {"role": "control_plane"|"guest", "vm_type": name,
    "spec": vm_type_spec}} for every node the inventory has."""
    out = []
    by_name = {item["metadata"]["name"]: item for item in (nodes or {}).get("items", [])}
    for name in sorted(expected):
        want = expected[name]
        node = by_name.get(name)
        if node is None:
            _mismatch(out, name, "kubernetes", "registered", "a node object", "none")
            continue
        status = node.get("status", {})
        ready = [c for c in status.get("conditions", []) if c.get("type") == "Ready"]
        if not ready or ready[0].get("status") != "True":
            _mismatch(out, name, "kubernetes", "Ready", "True", ready[0].get("status") if ready else "no Ready condition")
        if not node.get("spec", {}).get("podCIDR"):
            _mismatch(out, name, "kubernetes", "podCIDR", "one assigned", "none")
        taints = [_taint_text(t) for t in node.get("spec", {}).get("taints") or []]
        if any(t.startswith(gate_taint + "=") or t.startswith(gate_taint + ":") for t in taints):
            _mismatch(out, name, "kubernetes", "taints", "no %s" % gate_taint, ", ".join(taints))
        if want.get("role") != "guest":
            continue
        spec = want["spec"]
        labels = node.get("metadata", {}).get("labels") or {}
        for key, value in sorted(expected_labels(want["vm_type"], spec).items()):
            if labels.get(key) != value:
                _mismatch(out, name, "kubernetes", "label %s" % key, value, labels.get(key))
        for taint in spec.get("taints") or []:
            text = taint if isinstance(taint, str) else _taint_text(taint)
            if text not in taints:
                _mismatch(out, name, "kubernetes", "taint %s" % text, "present", ", ".join(taints) or "none")
        capacity = status.get("capacity") or {}
        if str(capacity.get("cpu")) != str(spec["num_cpus"]):
            _mismatch(out, name, "kubernetes", "capacity cpu", str(spec["num_cpus"]), capacity.get("cpu"))
        mem = _quantity_bytes(capacity.get("memory")) if capacity.get("memory") is not None else None
        low, high = memory_range_mb(int(spec["ram"]))
        if mem is None or not low <= mem / 1024**2 <= high:
            _mismatch(out, name, "kubernetes", "capacity memory", "%d MiB" % spec["ram"], capacity.get("memory"))
        for resource, value in sorted((spec.get("extended_resources") or {}).items()):
            if str(capacity.get(resource)) != str(value):
                _mismatch(out, name, "kubernetes", "capacity %s" % resource, str(value), capacity.get(resource))
    return out


# verify.yml's workload pods (q8s_verify_workload): one per architecture of the spec,
# named after the architecture's Kubernetes name (q8s_models.KUBERNETES_ARCH, the one
# home of that mapping), pinned to it by nodeSelector kubernetes.io/arch and tolerating
# every taint (a vm type's taints must not keep the check off its nodes).
WORKLOAD_POD_PREFIX = "q8s-verify-"


def workload_pods(architectures):
    """One pod per architecture: [{architecture, goarch, pod, uname, overrides}], sorted by
    pod name; ``overrides`` is the JSON for ``kubectl run --overrides``. An architecture the
    spec does not know raises ValueError."""
    out = {}
    for value in architectures or []:
        arch = models.canonical_architecture(value)
        if arch is None:
            raise ValueError("unknown architecture %r (known: %s)" % (value, ", ".join(models.ARCHITECTURES)))
        goarch = models.KUBERNETES_ARCH[arch]
        overrides = {"spec": {"nodeSelector": {"kubernetes.io/arch": goarch}, "tolerations": [{"operator": "Exists"}]}}
        out[goarch] = {
            "architecture": arch,
            "goarch": goarch,
            "pod": WORKLOAD_POD_PREFIX + goarch,
            "uname": UNAME[arch],
            "overrides": json.dumps(overrides, sort_keys=True),
        }
    return [out[key] for key in sorted(out)]


def _pod_state(pod):
    """Why a pod printed nothing, from its object: its phase and the scheduler's or the
    container's reason."""
    status = (pod or {}).get("status") or {}
    if not pod:
        return "no pod object"
    text = "pod %s" % (status.get("phase") or "without phase")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") != "True":
            return "%s, not scheduled: %s" % (text, cond.get("message") or cond.get("reason") or "no reason given")
    for container in status.get("containerStatuses") or []:
        for state in ("waiting", "terminated"):
            detail = (container.get("state") or {}).get(state)
            if detail:
                return "%s, container %s: %s" % (text, state, detail.get("message") or detail.get("reason") or "")
    return text


def check_workload(results, architectures):
    """Mismatches of the per-architecture pods. ``results``: {goarch: {"pod": the pod object
    (``kubectl get pod -o json``, parsed, or None), "log": what it printed (or None)}};
    ``architectures`` the spec's architectures. A mismatch names the node the pod ran on
    (or the pod, when it was not scheduled)."""
    out = []
    for want in workload_pods(architectures):
        result = (results or {}).get(want["goarch"]) or {}
        pod = result.get("pod") or {}
        printed = (result.get("log") or "").strip() or None
        if printed == want["uname"]:
            continue
        node = (pod.get("spec") or {}).get("nodeName") or "pod %s" % want["pod"]
        field = "workload uname -m (nodeSelector kubernetes.io/arch=%s)" % want["goarch"]
        _mismatch(out, node, "kubernetes", field, want["uname"], printed or "nothing printed (%s)" % _pod_state(pod))
    return out


def mismatch_line(item):
    """One line of output per mismatch, naming node, layer and field."""
    return "MISMATCH %s: layer %s, field %s: expected %s, observed %s" % (item["node"], item["layer"], item["field"], item["expected"], item["observed"])
