# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The cluster's OpenStack servers and security group rules as Jinja filters; the decisions live in
module_utils/q8s_openstack.py (tested in tests/unit/test_openstack_filters.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_openstack

SPEC_KEYS = ("cluster_name", "required_tcp_ports", "required_udp_ports", "worker_port_range_min", "worker_port_range_max")


def _spec(spec, name):
    if not isinstance(spec, dict) or any(key not in spec for key in SPEC_KEYS):
        raise AnsibleFilterError("%s: the input must be the normalised spec (q8s_cluster), not %r" % (name, type(spec).__name__))
    return spec


def openstack_servers(spec):
    """Every OpenStack server of the cluster (see q8s_openstack.servers)."""
    try:
        return q8s_openstack.servers(_spec(spec, "openstack_servers"))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("openstack_servers: the spec is not a normalised one: %s" % (exc,))


def security_group_rules(spec, group, api_port=q8s_openstack.API_PORT, open_to_world=False):
    """The rules of the cluster's security group (see q8s_openstack.security_group_rules)."""
    try:
        world = boolean(open_to_world, strict=True)
    except TypeError:
        raise AnsibleFilterError("security_group_rules: open_to_world must be true or false, not %r" % (open_to_world,))
    try:
        return q8s_openstack.security_group_rules(_spec(spec, "security_group_rules"), group, api_port, world)
    except ValueError as exc:
        raise AnsibleFilterError("security_group_rules: %s" % (exc,))


class FilterModule(object):
    def filters(self):
        return {"openstack_servers": openstack_servers, "security_group_rules": security_group_rules}
