# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The OpenStack objects of a cluster: which servers exist and which rules its security group has.

Pure functions over a normalised spec (q8s_spec.normalise), used by
playbooks/provision_openstack.yml through the filters ``openstack_servers`` and
``security_group_rules`` (plugins/filter/q8s_openstack.py):

- the servers are the inventory's hosts that are OpenStack servers, as
  q8s_topology.topology() lists them: every control plane (the initial one first, adopted
  when the spec names ``name_of_initial_instance``), then one QEMU host per worker, vm
  types in name order;
- the rules: all egress; from the cluster's own members (remote group) ICMP, every
  ``required_tcp_ports`` and ``required_udp_ports`` port, and the NodePort range
  (``worker_port_range_min``..``worker_port_range_max``) over TCP and UDP; from outside
  (``admin_cidr``, and 0.0.0.0/0 when the operator opens the cluster to the world) SSH and
  the Kubernetes API port. The local API load balancer (role api_lb) listens on the
  loopback address only and needs no rule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_topology

SSH_PORT = 22
API_PORT = 6443
WORLD = "0.0.0.0/0"


def servers(spec):
    """Every OpenStack server of the cluster, control planes first, then the QEMU hosts.

    Each is ``{name, flavor, role, vm_type, initial, adopted}``: ``role`` is
    ``control_plane`` or ``qemu_host``, ``vm_type`` the worker's vm type name (``''`` for a
    control plane), ``adopted`` true only for an initial instance the spec names (q8s
    never creates or deletes it).
    """
    nodes = q8s_topology.topology(spec)
    control_planes = [
        {
            "name": name,
            "flavor": spec["master_node_flavor"],
            "role": "control_plane",
            "vm_type": "",
            "initial": bool(node["initial"]),
            "adopted": bool(node["adopted"]),
        }
        for name, dummy, node in nodes
        if node["role"] == "control_plane"
    ]
    qemu_hosts = [
        {
            "name": name,
            "flavor": node["vm_type_spec"]["openstack_flavor"],
            "role": "qemu_host",
            "vm_type": node["vm_type"],
            "initial": False,
            "adopted": False,
        }
        for name, dummy, node in nodes
        if node["role"] == "qemu_host"
    ]
    return control_planes + qemu_hosts


def _port(value, what):
    if isinstance(value, bool):
        raise ValueError("%s must be a port number from 1 to 65535, not %r" % (what, value))
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError("%s must be a port number from 1 to 65535, not %r" % (what, value))
    if not 1 <= port <= 65535:
        raise ValueError("%s must be a port number from 1 to 65535, not %r" % (what, value))
    return port


def outside_cidrs(spec, open_to_world=False):
    """The networks SSH and the API are open to: ``admin_cidr`` (if set), then 0.0.0.0/0 when
    ``open_to_world``."""
    out = []
    if spec.get("admin_cidr"):
        out.append(str(spec["admin_cidr"]))
    if open_to_world:
        out.append(WORLD)
    return out


def security_group_rules(spec, group, api_port=API_PORT, open_to_world=False):
    """The rules of the cluster's security group ``group``, in the order neutron gets them.

    Egress first (IPv4, IPv6: the two rules neutron makes for a new group), then ingress as
    the module docstring says. A rule that is exactly an earlier one is left out (neutron
    refuses a duplicate rule). The list is what openstack.cloud.security_group reconciles
    the group to; its length minus the two egress rules is what the pre-flight counts
    against the quota.
    """
    if not group:
        raise ValueError("security_group_rules needs the name of the cluster's security group")
    api = _port(api_port, "the Kubernetes API port (q8s_provision_api_port)")
    member = {"remote_group": str(group)}
    rules = [{"direction": "egress", "ether_type": "IPv4"}, {"direction": "egress", "ether_type": "IPv6"}]
    rules.append(dict(member, protocol="icmp"))
    for protocol, key in (("tcp", "required_tcp_ports"), ("udp", "required_udp_ports")):
        for port in spec[key]:
            port = _port(port, key)
            rules.append(dict(member, protocol=protocol, port_range_min=port, port_range_max=port))
    low = _port(spec["worker_port_range_min"], "worker_port_range_min")
    high = _port(spec["worker_port_range_max"], "worker_port_range_max")
    for protocol in ("tcp", "udp"):
        rules.append(dict(member, protocol=protocol, port_range_min=low, port_range_max=high))
    for cidr in outside_cidrs(spec, open_to_world):
        for port in (SSH_PORT, api):
            rules.append({"protocol": "tcp", "port_range_min": port, "port_range_max": port, "remote_ip_prefix": cidr})
    unique = []
    for rule in rules:
        if rule not in unique:
            unique.append(rule)
    return unique
