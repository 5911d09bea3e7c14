# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""verify.yml's comparisons as Jinja filters; the decisions live in module_utils/q8s_verify.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults, q8s_verify


def verify_guest_facts(text):
    """Parse the output of playbooks/files/q8s_guest_facts.sh."""
    return q8s_verify.parse_guest_facts(text)


def verify_guest(facts, node, vm_type):
    """Mismatch records of one guest (see q8s_verify.check_guest)."""
    return q8s_verify.check_guest(node, vm_type, facts)


def verify_kubernetes(nodes, expected, gate_taint=q8s_defaults.FLANNEL_GATE_TAINT):
    """Mismatch records of the Kubernetes layer (see q8s_verify.check_kubernetes)."""
    return q8s_verify.check_kubernetes(nodes, expected, gate_taint)


def verify_workload(results, architectures):
    """Mismatch records of the per-architecture pods (see q8s_verify.check_workload)."""
    return q8s_verify.check_workload(results, architectures)


def verify_workload_pods(architectures):
    """The pods to run, one per architecture (see q8s_verify.workload_pods)."""
    return q8s_verify.workload_pods(architectures)


def verify_lines(mismatches):
    """One line per mismatch, naming node, layer and field."""
    return [q8s_verify.mismatch_line(item) for item in mismatches]


def verify_observed(facts, vm_type):
    """The observed values the report shows for one guest."""
    arch = vm_type["architecture"]
    disk = q8s_verify.root_disk_bytes(facts.get("lsblk"))
    link = q8s_verify.tc_profile(facts.get("tc_qdiscs"), facts.get("tc_classes")) if "tc_qdiscs" in facts else None
    return {
        "architecture": facts.get("uname_m"),
        "cpu": q8s_verify.reported_cpu(arch, facts.get("cpuinfo", "")) if facts.get("cpuinfo") else None,
        "num_cpus": int(facts["nproc"]) if facts.get("nproc") is not None else None,
        "memtotal_mb": round(int(facts["memtotal_kb"]) / 1024.0, 1) if facts.get("memtotal_kb") is not None else None,
        "disk_gb": round(disk / 1024.0**3, 3) if disk is not None else None,
        "link": link,
        "rtt_ms": facts.get("rtt_ms"),
        "bandwidth_mbit": facts.get("bandwidth_mbit"),
    }


class FilterModule(object):
    def filters(self):
        return {
            "verify_guest_facts": verify_guest_facts,
            "verify_guest": verify_guest,
            "verify_kubernetes": verify_kubernetes,
            "verify_workload": verify_workload,
            "verify_workload_pods": verify_workload_pods,
            "verify_lines": verify_lines,
            "verify_observed": verify_observed,
        }
