# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The hosts of a cluster: every inventory host of a normalised spec (q8s_spec.normalise).

Names come from q8s_names, addresses from q8s_addressing. Pure and unit-tested.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing as addressing
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_names as names


def group_name(kind, value):
    """An inventory group name from a vm type or architecture (``-`` is not allowed)."""
    return "q8s_%s_%s" % (kind, re.sub(r"[^A-Za-z0-9_]", "_", value))


def topology(spec, addresses=None):
    """Every inventory host of a normalised spec, with its groups and ``q8s_node`` vars.

    ``addresses`` maps server names to their addresses (from the state file written by
    provisioning); hosts without one get no address. Returns a list of
    ``(name, groups, q8s_node)`` in a stable order.
    """
    addresses = addresses or {}
    name = spec["cluster_name"]
    cluster_group = "q8s_cluster_%s" % re.sub(r"[^A-Za-z0-9_]", "_", name)
    nodes = []
    initial = spec["name_of_initial_instance"] or names.control_plane(name, 0)
    control_planes = [(initial, True)] + [(names.control_plane(name, i), False) for i in range(1, spec["number_additional_master_nodes"] + 1)]
    for host, is_initial in control_planes:
        groups = ["q8s_control_plane", "q8s_control_plane_initial" if is_initial else "q8s_control_plane_extra", cluster_group]
        nodes.append(
            (
                host,
                groups,
                {
                    "role": "control_plane",
                    "initial": is_initial,
                    "adopted": bool(is_initial and spec["name_of_initial_instance"]),
                    "host_address": addresses.get(host),
                },
            )
        )
    host_addresses = {}
    pairs = []
    for type_name in sorted(spec["worker"]):
        vm_type = spec["vm_types"][type_name]
        for i in range(1, spec["worker"][type_name] + 1):
            guest = names.guest(name, type_name, i)
            host = names.qemu_host(name, type_name, i)
            host_addresses[host] = addresses.get(host)
            pairs.append((type_name, vm_type, host, guest))
    placed = addressing.plan(host_addresses, spec["host_network"], spec["guest_pool"], spec["guest_gateway_offset"])
    for type_name, vm_type, host, guest in pairs:
        place = placed.get(host, {})
        common = {
            "vm_type": type_name,
            "vm_type_spec": vm_type,
            "qemu_host": host,
            "guest": guest,
            "host_address": place.get("host_address"),
            "guest_address": place.get("guest_address"),
            "guest_gateway": spec["guest_gateway"],
            "guest_prefix": int(spec["guest_pool"].split("/")[1]),
        }
        type_group = group_name("type", type_name)
        host_node = dict(common, role="qemu_host")
        guest_node = dict(common, role="guest")
        nodes.append((host, ["q8s_qemu_hosts", type_group, cluster_group], host_node))
        nodes.append((guest, ["q8s_emulated_workers", type_group, group_name("arch", vm_type["architecture"]), cluster_group], guest_node))
    return nodes
