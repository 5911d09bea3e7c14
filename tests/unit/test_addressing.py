"""The address plan: unique, deterministic, one NETMAP rule for any host prefix."""

import ipaddress

import pytest

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing as addressing
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_addressing import AddressPlanError


def netmap(address, src, dst):
    """What iptables' NETMAP does: keep the host bits, replace the prefix."""
    src, dst = ipaddress.ip_network(src), ipaddress.ip_network(dst)
    offset = int(ipaddress.ip_address(address)) - int(src.network_address)
    return str(ipaddress.ip_address(int(dst.network_address) + offset))


@pytest.mark.parametrize(
    "host_net,pool,host,guest",
    [
        ("10.254.1.0/24", "100.64.0.0/24", "10.254.1.17", "100.64.0.17"),
        ("10.254.1.0/24", "100.64.0.0/24", "10.254.1.254", "100.64.0.254"),
        ("10.8.4.0/22", "100.64.4.0/22", "10.8.7.200", "100.64.7.200"),
        ("10.20.0.0/16", "100.64.0.0/16", "10.20.255.254", "100.64.255.254"),
        ("192.168.0.0/16", "172.20.0.0/16", "192.168.3.2", "172.20.3.2"),
    ],
)
def test_guest_address_any_prefix(host_net, pool, host, guest):
    assert addressing.guest_address(host, host_net, pool) == guest
    assert addressing.host_address_for_guest(guest, host_net, pool) == host
    # the translation every node applies is exactly NETMAP between the two prefixes
    assert netmap(guest, pool, host_net) == host
    assert netmap(host, host_net, pool) == guest


def test_sixteen_with_a_thousand_workers_first_and_last():
    host_net, pool = "10.20.0.0/16", "100.64.0.0/16"
    # 1,000 hosts spread over the whole /16, beyond the old 252-node last-octet limit
    hosts = {}
    for i in range(1000):
        offset = 2 + i * 65 if i < 999 else 65534
        hosts["h%04d" % i] = str(ipaddress.ip_address(int(ipaddress.ip_address("10.20.0.0")) + offset))
    placed = addressing.plan(hosts, host_net, pool)
    guests = [p["guest_address"] for p in placed.values()]
    assert len(guests) == 1000 and len(set(guests)) == 1000
    assert placed["h0000"] == {"host_address": "10.20.0.2", "guest_address": "100.64.0.2", "guest_gateway": "100.64.0.1", "guest_prefix": 16}
    assert placed["h0999"]["host_address"] == "10.20.255.254"
    assert placed["h0999"]["guest_address"] == "100.64.255.254"
    for host, place in placed.items():
        assert netmap(place["guest_address"], pool, host_net) == hosts[host]
        assert ipaddress.ip_address(place["guest_address"]) in ipaddress.ip_network(pool)


def test_plan_is_deterministic_and_order_independent():
    hosts = dict(("h%d" % i, "10.0.0.%d" % (i + 2)) for i in range(50))
    reversed_hosts = dict(reversed(list(hosts.items())))
    assert addressing.plan(hosts, "10.0.0.0/24", "100.64.0.0/24") == addressing.plan(reversed_hosts, "10.0.0.0/24", "100.64.0.0/24")


def test_plan_skips_hosts_without_address():
    placed = addressing.plan({"a": "10.0.0.5", "b": None}, "10.0.0.0/24", "100.64.0.0/24")
    assert list(placed) == ["a"]


def test_duplicate_host_address_is_an_error():
    with pytest.raises(AddressPlanError, match="share the address"):
        addressing.plan({"a": "10.0.0.5", "b": "10.0.0.5"}, "10.0.0.0/24", "100.64.0.0/24")


@pytest.mark.parametrize(
    "host,pool,match",
    [
        ("10.0.0.1", "100.64.0.0/24", "reserves for the guest gateway"),
        ("10.0.0.0", "100.64.0.0/24", "network or broadcast"),
        ("10.0.0.255", "100.64.0.0/24", "network or broadcast"),
        ("10.0.1.5", "100.64.0.0/24", "outside the host network"),
        ("10.0.0.5", "100.64.0.0/23", "same prefix length"),
        ("10.0.0.5", "10.0.0.0/24", "overlaps"),
        ("10.0.0.5", "not-a-cidr", "is not a CIDR"),
        ("nonsense", "100.64.0.0/24", "not an IPv4 address"),
    ],
)
def test_errors(host, pool, match):
    with pytest.raises(AddressPlanError, match=match):
        addressing.guest_address(host, "10.0.0.0/24", pool)


def test_gateway_offset_is_configurable():
    assert addressing.guest_address("10.0.0.1", "10.0.0.0/24", "100.64.0.0/24", gateway_offset=254) == "100.64.0.1"
    assert addressing.guest_gateway("100.64.0.0/24", 254) == "100.64.0.254"
    with pytest.raises(AddressPlanError):
        addressing.guest_gateway("100.64.0.0/24", 255)


def test_default_pool_follows_host_prefix():
    assert addressing.default_guest_pool("10.254.1.0/24") == "100.64.0.0/24"
    assert addressing.default_guest_pool("10.8.0.0/22") == "100.64.0.0/22"
    assert addressing.default_guest_pool("10.0.0.0/16") == "100.64.0.0/16"


def test_netmap_is_constant_size():
    assert addressing.netmap("10.0.0.0/16", "100.64.0.0/16") == {"guest_pool": "100.64.0.0/16", "host_network": "10.0.0.0/16"}
