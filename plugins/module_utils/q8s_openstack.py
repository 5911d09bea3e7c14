# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The OpenStack objects of a cluster: which servers exist, which rules its security group has,
and what provision_openstack.yml does with the servers it finds.

Pure functions over a normalised spec (q8s_spec.normalise) and over what the cloud
answered, used by playbooks/provision_openstack.yml through the filters of
plugins/filter/q8s_openstack.py (``openstack_servers``, ``security_group_rules``,
``provision_scope``, ``server_requests``, ``servers_to_replace``, ``server_addresses``,
``stale_host_keys``, ``ssh_waits``):

- the servers are the inventory's hosts that are OpenStack servers, as
  q8s_topology.topology() lists them: every control plane (the initial one first, adopted
  when the spec names ``name_of_initial_instance``), then one QEMU host per worker, vm
  types in name order;
- the rules: all egress; from the cluster's own members (remote group) ICMP, every
  ``required_tcp_ports`` and ``required_udp_ports`` port, and the NodePort range
  (``worker_port_range_min``..``worker_port_range_max``) over TCP and UDP; from outside
  (``admin_cidr``, and 0.0.0.0/0 when the operator opens the cluster to the world) SSH and
  the Kubernetes API port. The local API load balancer (role api_lb) listens on the
  loopback address only and needs no rule;
- the scope of a run: every server but the adopted one, or only those named in
  ``q8s_provision_only`` (repair/replace_host.yml); what the module ``servers`` is asked
  to create (flavor ID, the metadata ``q8s_role``, ``q8s_vm_type``, ``q8s_initial``); which
  servers in ERROR are deleted to be recreated (only the cluster's own, in scope);
- each server's address on the cluster network (hosts.json, from which the inventory
  plugin places the guests: q8s_addressing), the known_hosts entries of servers created
  anew, and the servers whose SSH the run waits for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing, q8s_topology


class _NoSdkDuplicate(Exception):
    """Stands for openstacksdk's DuplicateResource where the SDK is not installed (nothing raises it)."""


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


def _only(only):
    """``q8s_provision_only`` as a set of names, or None when it is not set (every server)."""
    if only is None:
        return None
    if isinstance(only, (str, bytes, dict)) or not hasattr(only, "__iter__"):
        raise ValueError("q8s_provision_only must be a list of server names, not %r; pass it as a list (JSON or YAML)" % (only,))
    return set(str(name) for name in only)


def provision_scope(servers, only=None):
    """The servers a provisioning run checks, creates and waits for, in ``servers``' order:
    every one but the adopted initial instance (q8s never creates it), and with ``only``
    (``q8s_provision_only``) just those it names; a name of ``only`` that is no server of
    the cluster selects nothing."""
    names = _only(only)
    return [s for s in servers if not s["adopted"] and (names is None or s["name"] in names)]


def server_metadata(server):
    """The metadata a new server carries besides ``q8s_cluster`` (the module ``servers`` adds it):
    its role, its vm type (``none`` for a control plane) and whether it is the initial control
    plane (``true``/``false``), all strings as Nova keeps them."""
    return {
        "q8s_role": server["role"],
        "q8s_vm_type": server["vm_type"] or "none",
        "q8s_initial": "true" if server["initial"] else "false",
    }


def server_requests(scope, flavors):
    """What the module ``servers`` gets for ``scope``: ``{name, flavor, metadata}`` with the
    flavor's ID from the pre-flight's ``flavors`` (flavor name -> ``{id, ...}``)."""
    out = []
    for server in scope:
        flavor = flavors.get(server["flavor"]) if isinstance(flavors, dict) else None
        if not isinstance(flavor, dict) or not flavor.get("id"):
            raise ValueError(
                "server %s needs flavor %r, which the pre-flight did not find (it found: %s)"
                % (server["name"], server["flavor"], ", ".join(sorted(flavors)) if isinstance(flavors, dict) and flavors else "none")
            )
        out.append({"name": server["name"], "flavor": flavor["id"], "metadata": server_metadata(server)})
    return out


# The server metadata key that marks a server as a cluster's: q8s deletes, replaces or
# counts as existing only the servers whose value is the cluster's name.
OWNER_KEY = "q8s_cluster"


def cluster_of(server):
    """The cluster a server belongs to: its metadata q8s_cluster, or None. ``server`` is a
    mapping (openstack.cloud.server_info's result) or an openstacksdk Server."""
    metadata = getattr(server, "metadata", None)
    if metadata is None and isinstance(server, dict):
        metadata = server.get("metadata")
    if not isinstance(metadata, dict):
        return None
    return metadata.get(OWNER_KEY)


def find_unique(find, same_name, value):
    """The modules' lookups by name or ID: (what openstacksdk's ``find(value)`` returns, None
    when nothing matches, []), or (None, the sorted IDs of ``same_name()``'s objects) when
    several carry the name ``value``, for which find_* raises DuplicateResource.

    The SDK is imported here, not with this file: importing ``openstack`` loads the whole SDK
    (about half a second of CPU), and the filters that import this file run in every
    Ansible worker that templates a q8s.cluster filter."""
    try:
        from openstack.exceptions import DuplicateResource  # pylint: disable=import-outside-toplevel
    except ImportError:
        DuplicateResource = _NoSdkDuplicate  # pylint: disable=invalid-name
    try:
        return find(value), []
    except DuplicateResource:
        return None, sorted(o.id for o in same_name())


def cluster_objects(conn, security_group, keypair=None):
    """What the cloud holds of a cluster's names, read through the openstacksdk connection
    ``conn``: ``project_id`` (the current project), every security group named
    ``security_group`` in that project (``id``, ``name``, ``description``, ``rules``: how many
    rules it carries), ``other_project_groups`` (the IDs of the groups of that name the
    credentials see in other projects) and the keypair ``keypair`` (``name``,
    ``fingerprint``; None when there is none or no name is given).

    Split by project because credentials with the admin role make Neutron list every
    project's groups: another project's group of the same name and description is never
    the cluster's, and must not be counted, reconciled or deleted as such. Keypairs belong
    to the user, servers (Nova's default listing) to the project already."""
    project_id = conn.current_project_id
    groups, others = [], []
    for g in conn.network.security_groups(name=security_group):
        if g.project_id == project_id:
            groups.append({"id": g.id, "name": g.name, "description": g.description, "rules": len(g.security_group_rules or [])})
        else:
            others.append(g.id)
    found = conn.compute.find_keypair(keypair) if keypair else None
    pair = {"name": found.name, "fingerprint": found.fingerprint} if found is not None else None
    return {"project_id": project_id, "security_groups": groups, "other_project_groups": sorted(others), "keypair": pair}


def owned_by(server, cluster):
    """True when the cloud's ``server`` carries the metadata q8s_cluster=<cluster>."""
    return cluster_of(server) == cluster


def servers_to_replace(found, cluster, scope):
    """The servers of ``found`` (openstack.cloud.server_info's) that a run deletes to create them
    again: in ERROR, carrying this cluster's metadata, and named in ``scope``. A server of
    another cluster, or one without metadata, is never among them."""
    names = set(s["name"] for s in scope)
    return [s for s in found if s.get("status") == "ERROR" and owned_by(s, cluster) and s.get("name") in names]


def _is_ipv4(entry):
    version = entry.get("version")
    if version is not None:
        return str(version) == "4"
    return ":" not in str(entry.get("addr", ""))


def server_address(server, network):
    """The address of ``server`` (Nova's ``addresses``, by network name) on the cluster network
    ``network``: its first IPv4 address there (the spec's networks are IPv4), else its first
    address; None while it has none (not yet wired, or only on other networks)."""
    entries = [e for e in ((server.get("addresses") or {}).get(network) or []) if isinstance(e, dict) and e.get("addr")]
    if not entries:
        return None
    ipv4 = [e for e in entries if _is_ipv4(e)]
    return str((ipv4 or entries)[0]["addr"])


def server_addresses(servers, network):
    """Server name -> address on the cluster network ``network``, for every server of ``servers``
    that has one there, in ``servers``' order (what hosts.json holds)."""
    out = {}
    for server in servers:
        address = server_address(server, network)
        if address is not None:
            out[str(server["name"])] = address
    return out


def stale_host_keys(created, addresses):
    """The known_hosts names to forget for the servers ``created`` anew: each one's address (its
    own SSH) and ``[address]:2222`` (its guest's SSH through it); a created server without an
    address yet has none."""
    out = []
    for name in created or []:
        address = addresses.get(name)
        if address:
            out.extend([address, "[%s]:%d" % (address, q8s_addressing.GUEST_SSH_PORT)])
    return out


def ssh_waits(addresses, only=None):
    """The servers whose SSH a run waits for, as ``{key: name, value: address}`` in
    ``addresses``' order (the items dict2items makes): all of ``addresses``, or with ``only``
    (``q8s_provision_only``) just those it names."""
    names = _only(only)
    return [{"key": name, "value": address} for name, address in addresses.items() if names is None or name in names]


def server_security_groups(spec, group):
    """The security groups every new server gets: the cluster's ``group`` first, then the spec's
    extra ``security_groups`` in their order, each once."""
    out = [group]
    for name in spec.get("security_groups") or []:
        if name not in out:
            out.append(name)
    return out


def cluster_security_groups(groups, description):
    """Split the security groups of the cluster group's name (security_group_info's) into the
    cluster's (``own``: they carry the cluster's ``description``, which q8s wrote) and the
    others (``other``: neutron allows several groups of one name; q8s never touches them)."""
    own = [g for g in groups if g.get("description") == description]
    other = [g for g in groups if g.get("description") != description]
    return {"own": own, "other": other}


def md5_fingerprint(keygen_output):
    """Nova's fingerprint of a public key from ``ssh-keygen -l -E md5 -f KEY``'s output
    ("256 MD5:aa:bb:... comment (ED25519)"): "aa:bb:..."; "" when there is none."""
    fields = str(keygen_output or "").split()
    if len(fields) < 2 or not fields[1].startswith("MD5:"):
        return ""
    return fields[1][len("MD5:") :]


def teardown_plan(
    cluster_servers,
    adopt,
    description,
    groups,
    keypairs,
    keygen_output,
    all_servers=None,
    ports=None,
    left_ports=None,
    key_path="the cluster key",
    cluster=None,
):
    """What teardown_openstack.yml deletes, and what it leaves and says it leaves.

    - ``cluster_servers``: server_info's servers carrying the cluster's metadata; with
      ``cluster`` set, any servers, of which those carrying q8s_cluster=<cluster> count. The
      adopted initial instance ``adopt`` (a name, or "") is never among the servers to delete.
    - ``groups`` and ``keypairs``: the objects of the cluster's group and keypair names; the
      group is the cluster's by its ``description``, the keypair by the fingerprint of the
      cluster key (``keygen_output``: ``ssh-keygen -l -E md5``; "" when the key is gone, and
      then no keypair is the cluster's).
    - ``all_servers`` and ``ports``: every server and port of the project, read before the
      servers are deleted: a port that carries the cluster's group and belongs to neither a
      server of the cluster nor the adopted one is a foreign user of the group, and stops the
      run before anything is deleted.
    - ``left_ports``: the ports read again after the servers are gone. Of the ports that
      belonged to a server of the cluster before (in ``ports``), those still there are deleted,
      by id: Nova removes the ports it created, and detaches (clears device_id of) the others.

    Returns own_groups, other_groups, own_keypairs, other_keypairs, own_server_ids,
    foreign_ports ({id, label}), leftover_ports and not_owned (one line per object of the
    cluster's names left in place)."""
    all_servers = all_servers or []
    if cluster is not None:
        cluster_servers = [s for s in cluster_servers if owned_by(s, cluster)]
    split = cluster_security_groups(groups, description)
    fingerprint = md5_fingerprint(keygen_output)
    own_keypairs = [k for k in keypairs if fingerprint and k.get("fingerprint") == fingerprint]
    other_keypairs = [k for k in keypairs if k not in own_keypairs]
    own_ids = [s["id"] for s in cluster_servers if s.get("name") != adopt]
    adopt_ids = [s["id"] for s in all_servers if adopt and s.get("name") == adopt]
    keep = set(own_ids) | set(adopt_ids)
    group_ids = set(g["id"] for g in split["own"])
    names = dict((s["id"], s.get("name")) for s in all_servers)
    foreign = []
    for port in ports or []:
        if not group_ids & set(port.get("security_group_ids") or []) or port.get("device_id") in keep:
            continue
        device = port.get("device_id")
        owner = ("server %s" % names[device]) if device in names else (port.get("device_owner") or "no device")
        foreign.append({"id": port["id"], "label": "port %s of %s" % (port["id"], owner)})
    own_port_ids = set(p["id"] for p in ports or [] if p.get("device_id") in set(own_ids))
    not_owned = ["keypair %s (its fingerprint is not that of %s)" % (k.get("name"), key_path) for k in other_keypairs]
    not_owned += ["security group %s (id %s, without the description %s)" % (g.get("name"), g.get("id"), description) for g in split["other"]]
    return {
        "own_groups": split["own"],
        "other_groups": split["other"],
        "own_keypairs": own_keypairs,
        "other_keypairs": other_keypairs,
        "own_server_ids": own_ids,
        "foreign_ports": foreign,
        "leftover_ports": [p for p in left_ports or [] if p.get("id") in own_port_ids],
        "not_owned": not_owned,
    }
