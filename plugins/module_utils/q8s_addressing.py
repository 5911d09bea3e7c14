# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The q8s address plan.

Every QEMU host sits at some offset ``k`` inside the host network ``H`` (the tenant
network, ``remote_ip_prefix``). Its guest gets the address at the same offset ``k``
inside the guest pool ``G``, which has the same prefix length as ``H``. So the
translation between a guest address and its host address is one iptables ``NETMAP``
rule between two prefixes of equal size, whatever the cluster size and prefix length
(/24, /22, /16, ...).

On a QEMU host, the libvirt bridge carries the guest gateway, the address at
``gateway_offset`` inside ``G`` (by default offset 1, which mirrors the tenant router
``H+1`` that never belongs to a server). The guest has ``G+k/len(G)`` and routes
through that gateway.

Everything here is pure: no I/O, deterministic, unit-tested on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - exercised only without netaddr
    netaddr = None
    HAS_NETADDR = False


# The port of a QEMU host that forwards to its guest's SSH (roles nat_bridge and
# emulated_worker get it from the guest's ansible_port, which the inventory sets from here).
GUEST_SSH_PORT = 2222


class AddressPlanError(ValueError):
    """An address that cannot be placed in the plan."""


def _require_netaddr():
    if not HAS_NETADDR:
        raise AddressPlanError("the Python library 'netaddr' is required on the controller: pip install netaddr")


def _network(cidr, what):
    _require_netaddr()
    try:
        net = netaddr.IPNetwork(str(cidr))
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise AddressPlanError("%s %r is not a CIDR: %s" % (what, cidr, exc))
    if net.version != 4:
        raise AddressPlanError("%s %r: only IPv4 is supported" % (what, cidr))
    return net.cidr


def check_pair(host_network, guest_pool):
    """Return (H, G) as netaddr networks or raise if they cannot be paired."""
    host_net = _network(host_network, "host network")
    pool = _network(guest_pool, "guest pool")
    if host_net.prefixlen != pool.prefixlen:
        raise AddressPlanError(
            "guest pool %s must have the same prefix length as the host network %s (/%d), so that one NETMAP rule translates between them"
            % (pool, host_net, host_net.prefixlen)
        )
    if host_net.first <= pool.last and pool.first <= host_net.last:
        raise AddressPlanError("guest pool %s overlaps the host network %s" % (pool, host_net))
    return host_net, pool


def default_guest_pool(host_network, base="100.64.0.0"):
    """The default guest pool: ``base`` with the host network's prefix length.

    100.64.0.0/10 is shared address space (RFC 6598): private, unlike the public
    192.11.0.0/16 the original Q8S used.
    """
    host_net = _network(host_network, "host network")
    return str(netaddr.IPNetwork("%s/%d" % (base, host_net.prefixlen)).cidr)


def offset_of(address, host_network):
    """The offset of ``address`` inside ``host_network`` (0 is the network address)."""
    host_net = _network(host_network, "host network")
    try:
        ip = netaddr.IPAddress(str(address))
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise AddressPlanError("host address %r is not an IPv4 address: %s" % (address, exc))
    if ip not in host_net:
        raise AddressPlanError("host address %s is outside the host network %s" % (ip, host_net))
    return int(ip) - host_net.first


def guest_gateway(guest_pool, gateway_offset=1):
    pool = _network(guest_pool, "guest pool")
    if not 0 < gateway_offset < pool.size - 1:
        raise AddressPlanError("gateway offset %d is outside the guest pool %s" % (gateway_offset, pool))
    return str(netaddr.IPAddress(pool.first + gateway_offset))


def guest_address(host_address, host_network, guest_pool, gateway_offset=1):
    """The guest address paired with ``host_address``."""
    host_net, pool = check_pair(host_network, guest_pool)
    k = offset_of(host_address, host_net)
    if k == 0 or k == host_net.size - 1:
        raise AddressPlanError("host address %s is the network or broadcast address of %s" % (host_address, host_net))
    if k == gateway_offset:
        raise AddressPlanError(
            "host address %s sits at offset %d of %s, which the plan reserves for the guest gateway; "
            "give the server another address or set guest_gateway_offset" % (host_address, k, host_net)
        )
    return str(netaddr.IPAddress(pool.first + k))


def host_address_for_guest(guest_addr, host_network, guest_pool):
    """The inverse of :func:`guest_address`: what NETMAP does on every node."""
    host_net, pool = check_pair(host_network, guest_pool)
    ip = netaddr.IPAddress(str(guest_addr))
    if ip not in pool:
        raise AddressPlanError("guest address %s is outside the guest pool %s" % (ip, pool))
    return str(netaddr.IPAddress(host_net.first + int(ip) - pool.first))


def plan(host_addresses, host_network, guest_pool, gateway_offset=1):
    """Place every QEMU host's guest.

    ``host_addresses`` maps a QEMU host name to its address (hosts without an address
    yet are skipped). Returns ``{host: {host_address, guest_address, guest_gateway,
    guest_prefix}}``. Guest addresses are unique because the mapping is a bijection;
    duplicated host addresses are an error.
    """
    host_net, pool = check_pair(host_network, guest_pool)
    gateway = guest_gateway(pool, gateway_offset)
    seen = {}
    result = {}
    for name in sorted(host_addresses):
        address = host_addresses[name]
        if not address:
            continue
        if address in seen:
            raise AddressPlanError("hosts %s and %s share the address %s" % (seen[address], name, address))
        seen[address] = name
        result[name] = {
            "host_address": str(address),
            "guest_address": guest_address(address, host_net, pool, gateway_offset),
            "guest_gateway": gateway,
            "guest_prefix": pool.prefixlen,
        }
    return result


def netmap(host_network, guest_pool):
    """The constant-size translation every node applies: ``-d G -j NETMAP --to H``."""
    host_net, pool = check_pair(host_network, guest_pool)
    return {"guest_pool": str(pool), "host_network": str(host_net)}
