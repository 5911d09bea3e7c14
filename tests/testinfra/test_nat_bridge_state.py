"""roles/nat_bridge's host state (Molecule nat_bridge): the q8s iptables chains and the
jumps to them ahead of libvirt's, forwarding, the guest bridge and its libvirt network,
the rules unit and the installed files. Every node gets the NETMAP translation; a QEMU
host (nat_bridge_guest_forwarding) also forwards to and from its guest."""

import ipaddress
import json

import pytest
from q8s_testinfra import eventually

ROLE = "nat_bridge"
SCRIPT = "/usr/local/sbin/q8s-firewall"
UNIT = "/etc/systemd/system/q8s-firewall.service"
HOOK = "/etc/libvirt/hooks/network.d/50-q8s"


@pytest.fixture(scope="module")
def plan(host, role_var):
    """The role's inputs and what it derives from the host (interface, address, MTU)."""

    def get(name):
        return role_var(ROLE, "nat_bridge_" + name)

    network = ipaddress.ip_network(get("host_network"))
    found = []
    for link in json.loads(host.check_output("ip -j -4 addr show")):
        for addr in link.get("addr_info", []):
            if ipaddress.ip_address(addr["local"]) in network:
                found.append((link["ifname"], addr["local"], link["mtu"]))
    assert found, "no interface with an address in %s" % network
    forwarding = get("guest_forwarding")
    return {
        "forwarding": forwarding if isinstance(forwarding, bool) else str(forwarding).lower() in ("true", "yes", "1"),
        "hostnet": str(network),
        "pool": str(ipaddress.ip_network(get("guest_pool"))),
        "iface": found[0][0],
        "address": found[0][1],
        "mtu": get("mtu") or found[0][2],
        "guest": get("guest_address"),
        "gateway": get("guest_gateway"),
        "bridge": get("bridge_name"),
        "network": get("network_name"),
        "uri": get("libvirt_uri"),
        "ssh_port": get("ssh_port"),
        "guest_ssh_port": get("guest_ssh_port"),
        "tcp_ports": ",".join(str(p) for p in get("host_tcp_ports")),
        "udp_ports": ",".join(str(p) for p in get("host_udp_ports")),
        "config_dir": get("config_dir"),
    }


def guest_only(plan):
    if not plan["forwarding"]:
        pytest.skip("no guest on this node (nat_bridge_guest_forwarding: false)")


def wanted_rules(p):
    """(table, chain) -> the rules `iptables -S` lists, in order."""
    fwd = p["forwarding"]
    guest = "-d %s/32 -j RETURN" % p["guest"]
    dnat = "-d %s/32 -i %s -p" % (p["address"], p["iface"])
    return {
        ("nat", "Q8S_PREROUTING"): ([guest] if fwd else [])
        + ["-d %s -j NETMAP --to %s" % (p["pool"], p["hostnet"])]
        + (
            [
                "%s tcp -m tcp --dport %s -j DNAT --to-destination %s:%s" % (dnat, p["ssh_port"], p["guest"], p["guest_ssh_port"]),
                "%s tcp -m multiport ! --dports %s -j DNAT --to-destination %s" % (dnat, p["tcp_ports"], p["guest"]),
                "%s udp -m multiport ! --dports %s -j DNAT --to-destination %s" % (dnat, p["udp_ports"], p["guest"]),
            ]
            if fwd
            else []
        ),
        ("nat", "Q8S_OUTPUT"): ([guest] if fwd else []) + ["-d %s -j NETMAP --to %s" % (p["pool"], p["hostnet"])],
        ("nat", "Q8S_POSTROUTING"): ["-s %s/32 -o %s -j SNAT --to-source %s" % (p["guest"], p["iface"], p["address"])] if fwd else None,
        ("filter", "Q8S_FORWARD"): ["-d %s -m conntrack --ctstate DNAT --ctorigdst %s -j ACCEPT" % (p["hostnet"], p["pool"])]
        + (["-d %s/32 -o %s -j ACCEPT" % (p["guest"], p["bridge"]), "-s %s/32 -i %s -j ACCEPT" % (p["guest"], p["bridge"])] if fwd else []),
    }


CHAINS = [
    ("nat", "PREROUTING", "Q8S_PREROUTING"),
    ("nat", "OUTPUT", "Q8S_OUTPUT"),
    ("nat", "POSTROUTING", "Q8S_POSTROUTING"),
    ("filter", "FORWARD", "Q8S_FORWARD"),
]


def test_iptables_installed(host):
    assert host.package("iptables").is_installed


@pytest.mark.parametrize("table,chain,target", CHAINS, ids=["%s-%s" % c[:2] for c in CHAINS])
def test_q8s_chain_jumped_to_first(host, plan, table, chain, target):
    """The jump to q8s's chain is the first rule, ahead of libvirt's (also right after a
    libvirtd restart, which re-inserts libvirt's chains: the rules unit follows it)."""
    if wanted_rules(plan)[(table, target)] is None:
        pytest.skip("no %s chain on a node without a guest" % target)

    def first():
        rules = host.iptables.rules(table, chain)
        assert rules[1:2] == ["-A %s -j %s" % (chain, target)], rules

    eventually(first)


@pytest.mark.parametrize("table,chain", [(c[0], c[2]) for c in CHAINS], ids=[c[2] for c in CHAINS])
def test_q8s_chain_holds_the_wanted_rules(host, plan, table, chain):
    wanted = wanted_rules(plan)[(table, chain)]
    if wanted is None:
        assert host.run("iptables -w 10 -t %s -S %s", table, chain).rc != 0, "stray chain %s" % chain
        return
    live = [rule for rule in host.iptables.rules(table, chain) if rule.startswith("-A ")]
    assert live == ["-A %s %s" % (chain, rule) for rule in wanted]


def test_ip_forwarding_on_now_and_at_boot(host):
    assert host.sysctl("net.ipv4.ip_forward") == 1
    assert "net.ipv4.ip_forward=1" in host.file("/etc/sysctl.d/60-q8s.conf").content_string.replace(" ", "")


def test_rules_unit_enabled_and_active(host):
    unit = host.service("q8s-firewall")
    assert unit.is_enabled
    assert unit.is_running


@pytest.mark.parametrize(
    "path,mode,guest",
    [
        ("{config_dir}", 0o755, False),
        ("{config_dir}/firewall.rules", 0o644, False),
        (SCRIPT, 0o755, False),
        (UNIT, 0o644, False),
        ("{config_dir}/network-{network}.xml", 0o644, True),
        (HOOK, 0o755, True),
    ],
    ids=["config_dir", "rules", "script", "unit", "network_xml", "libvirt_hook"],
)
def test_file_owned_by_root_with_mode(host, plan, path, mode, guest):
    if guest:
        guest_only(plan)
    installed = host.file(path.format(**plan))
    assert installed.exists
    assert (installed.user, installed.group, oct(installed.mode)) == ("root", "root", oct(mode))


def test_guest_bridge_has_the_gateway_and_host_mtu(host, plan):
    guest_only(plan)
    (link,) = json.loads(host.check_output("ip -j -4 addr show dev %s", plan["bridge"]))
    assert host.file("/sys/class/net/%s/bridge" % plan["bridge"]).is_directory
    pool = ipaddress.ip_network(plan["pool"])
    assert ["%s/%s" % (a["local"], a["prefixlen"]) for a in link["addr_info"]] == ["%s/%s" % (plan["gateway"], pool.prefixlen)]
    assert link["mtu"] == plan["mtu"]


def test_guest_bridge_answers_arp_for_the_host(host, plan):
    guest_only(plan)
    for key in ("proxy_arp", "proxy_arp_pvlan"):
        assert host.sysctl("net.ipv4.conf.%s.%s" % (plan["bridge"], key)) == 1, key


def test_libvirt_guest_network_active_at_boot(host, plan):
    guest_only(plan)
    info = {}
    for line in host.check_output("virsh -c %s net-info %s", plan["uri"], plan["network"]).splitlines():
        key, _sep, value = line.partition(":")
        info[key.strip()] = value.strip()
    assert (info["Active"], info["Autostart"], info["Bridge"]) == ("yes", "yes", plan["bridge"])
