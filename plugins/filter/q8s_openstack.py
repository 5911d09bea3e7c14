# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The cluster's OpenStack servers and security group rules, and what provision_openstack.yml does
with the servers it finds, as Jinja filters; the decisions live in module_utils/q8s_openstack.py
(tested in tests/unit/test_openstack_filters.py and test_openstack_provision_filters.py)."""

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


def _list_of_dicts(value, name, what):
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)) or not all(isinstance(item, dict) for item in value):
        raise AnsibleFilterError("%s: %s must be a list of servers (dicts), not %r" % (name, what, value))
    return value


def _call(name, func, *args):
    try:
        return func(*args)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AnsibleFilterError("%s: %s" % (name, exc))


def provision_scope(servers, only=None):
    """The servers a run creates and waits for (see q8s_openstack.provision_scope)."""
    return _call("provision_scope", q8s_openstack.provision_scope, _list_of_dicts(servers, "provision_scope", "the input (openstack_servers)"), only)


def server_requests(scope, flavors):
    """The servers module's ``servers`` option (see q8s_openstack.server_requests)."""
    if not isinstance(flavors, dict):
        raise AnsibleFilterError("server_requests: flavors must be the pre-flight's flavors (name -> {id}), not %r" % (flavors,))
    return _call("server_requests", q8s_openstack.server_requests, _list_of_dicts(scope, "server_requests", "the input (provision_scope)"), flavors)


def servers_to_replace(found, cluster, scope):
    """The cluster's servers in ERROR that a run recreates (see q8s_openstack.servers_to_replace)."""
    if not cluster:
        raise AnsibleFilterError("servers_to_replace: needs the cluster's name")
    return _call(
        "servers_to_replace",
        q8s_openstack.servers_to_replace,
        _list_of_dicts(found, "servers_to_replace", "the input (server_info's servers)"),
        str(cluster),
        _list_of_dicts(scope, "servers_to_replace", "scope"),
    )


def server_addresses(servers, network):
    """Server name -> address on the cluster network (see q8s_openstack.server_addresses)."""
    if not network:
        raise AnsibleFilterError("server_addresses: needs the name of the cluster network")
    return _call("server_addresses", q8s_openstack.server_addresses, _list_of_dicts(servers, "server_addresses", "the input"), str(network))


def stale_host_keys(created, addresses):
    """known_hosts names of the servers created anew (see q8s_openstack.stale_host_keys)."""
    if created is not None and (isinstance(created, (str, bytes, dict)) or not isinstance(created, (list, tuple))):
        raise AnsibleFilterError("stale_host_keys: the input must be the list of created servers' names, not %r" % (created,))
    if not isinstance(addresses, dict):
        raise AnsibleFilterError("stale_host_keys: addresses must be a mapping of server names to addresses, not %r" % (addresses,))
    return q8s_openstack.stale_host_keys(created, addresses)


def ssh_waits(addresses, only=None):
    """The servers whose SSH a run waits for (see q8s_openstack.ssh_waits)."""
    if not isinstance(addresses, dict):
        raise AnsibleFilterError("ssh_waits: the input must be a mapping of server names to addresses, not %r" % (addresses,))
    return _call("ssh_waits", q8s_openstack.ssh_waits, addresses, only)


def server_security_groups(spec, group):
    """The security groups of a new server (see q8s_openstack.server_security_groups)."""
    if not group:
        raise AnsibleFilterError("server_security_groups: needs the cluster security group's name")
    return _call("server_security_groups", q8s_openstack.server_security_groups, _spec(spec, "server_security_groups"), str(group))


def cluster_security_groups(groups, description):
    """The cluster's groups of its group's name, and the others (see q8s_openstack.cluster_security_groups)."""
    if not description:
        raise AnsibleFilterError("cluster_security_groups: needs the cluster group's description")
    return _call(
        "cluster_security_groups",
        q8s_openstack.cluster_security_groups,
        _list_of_dicts(groups, "cluster_security_groups", "the input (security_group_info's security_groups)"),
        str(description),
    )


def teardown_plan(
    cluster_servers,
    adopt,
    description,
    groups,
    keypairs,
    keygen_output="",
    all_servers=None,
    ports=None,
    left_ports=None,
    key_path="the cluster key",
    cluster=None,
):
    """What teardown deletes and what it leaves (see q8s_openstack.teardown_plan)."""
    if not description:
        raise AnsibleFilterError("teardown_plan: needs the cluster group's description")
    if cluster is not None and (not isinstance(cluster, str) or not cluster):
        raise AnsibleFilterError("teardown_plan: cluster must be the cluster's name, not %r" % (cluster,))
    name = "teardown_plan"
    return _call(
        name,
        q8s_openstack.teardown_plan,
        _list_of_dicts(cluster_servers, name, "the input (the cluster's servers)"),
        str(adopt or ""),
        str(description),
        _list_of_dicts(groups, name, "groups"),
        _list_of_dicts(keypairs, name, "keypairs"),
        str(keygen_output or ""),
        _list_of_dicts(all_servers or [], name, "all_servers"),
        _list_of_dicts(ports or [], name, "ports"),
        _list_of_dicts(left_ports or [], name, "left_ports"),
        str(key_path),
        cluster,
    )


class FilterModule(object):
    def filters(self):
        return {
            "openstack_servers": openstack_servers,
            "security_group_rules": security_group_rules,
            "provision_scope": provision_scope,
            "server_requests": server_requests,
            "servers_to_replace": servers_to_replace,
            "server_addresses": server_addresses,
            "stale_host_keys": stale_host_keys,
            "ssh_waits": ssh_waits,
            "server_security_groups": server_security_groups,
            "cluster_security_groups": cluster_security_groups,
            "teardown_plan": teardown_plan,
        }
