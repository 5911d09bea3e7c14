"""Issue 14, defect 3: a guest must get its host's guest-bridge MTU, or its full-size
frames do not fit the path (1450 on most OpenStack tenant networks).

The MTU the guest gets is decided by playbooks/guests.yml (the emulated_worker_mtu it
passes, else the role's default), templated here by Ansible's own Templar with the
facts of a host whose bridge nat_bridge set to 1450, and written by the role's
network-config template (what cloud-init applies to the guest's eth0; the domain
XML's <mtu> gives libvirt's tap the same value). That MTU is then used in a network
of namespaces shaped like the real path: guest eth0 -- the host's tap in bridge
q8sbr0 (1450) -- the host routes to its tenant NIC ens3 (1450) -- a peer on the
tenant network. A ping with DF set at the guest's full frame size must reach the
peer; one byte more must be refused, not fragmented. The guest and its tap are a
veth pair here instead of QEMU's virtio NIC and tap: the MTU checks on the path
(the guest's own interface, the host's forwarding onto a 1450 NIC) are the
kernel's, the same for both. The peer, not the bridge's own address, is the
target: the host delivers an oversize frame to its own address on the bridge
and fragments the reply, so a ping of the gateway passes at 1500 too.
"""

import os
import shlex
import shutil
import subprocess
import sys

import jinja2
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string
    trust_as_template = str

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "emulated_worker")
TENANT_MTU = 1450

# guest 192.168.122.10 on q8sbr0 (192.168.122.1) of a host with ens3 10.0.0.11 on the
# tenant network; the peer 10.0.0.12 is another server there.
NETWORK = """
set -e
mount -t tmpfs none /run
mkdir -p /run/netns
for ns in guest host peer; do ip netns add $ns; ip -n $ns link set lo up; done
ip -n host link add q8sbr0 mtu {tenant} type bridge
ip -n host addr add 192.168.122.1/24 dev q8sbr0
ip -n host link add vnet0 mtu {guest} type veth peer name eth0 netns guest mtu {guest}
ip -n host link set vnet0 master q8sbr0
ip -n host link set q8sbr0 mtu {tenant}
ip -n host link add ens3 mtu {tenant} type veth peer name ens3 netns peer mtu {tenant}
ip -n host addr add 10.0.0.11/24 dev ens3
ip -n peer addr add 10.0.0.12/24 dev ens3
ip -n guest addr add 192.168.122.10/24 dev eth0
for dev in q8sbr0 vnet0 ens3; do ip -n host link set $dev up; done
ip -n guest link set eth0 up
ip -n peer link set ens3 up
ip -n guest route add default via 192.168.122.1
ip -n peer route add 192.168.122.0/24 via 10.0.0.11
ip netns exec host sysctl -qw net.ipv4.ip_forward=1
ip netns exec guest {ping} 10.0.0.12 56
echo "guest eth0 mtu $(ip netns exec guest cat /sys/class/net/eth0/mtu), bridge $(ip netns exec host cat /sys/class/net/q8sbr0/mtu)"
full=$(( $(ip netns exec guest cat /sys/class/net/eth0/mtu) - 28 ))
if ip netns exec guest {ping} 10.0.0.12 $full; then echo FULL-SIZE-OK; else echo FULL-SIZE-LOST; fi
if ip netns exec guest {ping} 10.0.0.12 $(( full + 1 )); then echo OVER-SIZE-PASSED; else echo OVER-SIZE-REFUSED; fi
"""

# ping -M do -s SIZE (iputils is not on every test machine): one ICMP echo with DF set;
# exit 0 on the reply, 1 on "fragmentation needed" or no reply, 2 when the kernel
# refuses to send it (larger than the interface's MTU).
PING = """
import socket, struct, sys, time


def checksum(data):
    data += b"\\0" * (len(data) % 2)
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


dst, size = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: DF set
sock.settimeout(2)
payload = b"q" * size
packet = struct.pack("!BBHHH", 8, 0, checksum(struct.pack("!BBHHH", 8, 0, 0, 0x7138, 1) + payload), 0x7138, 1) + payload
try:
    sock.sendto(packet, (dst, 0))
except OSError as err:
    print("%d bytes to %s: not sent: %s" % (size, dst, err))
    sys.exit(2)
deadline = time.time() + 3
while time.time() < deadline:
    try:
        data, peer = sock.recvfrom(65535)
    except socket.timeout:
        break
    head = (data[0] & 15) * 4
    if data[head] == 0 and peer[0] == dst:
        print("%d bytes to %s: reply" % (size, dst))
        sys.exit(0)
    if data[head] == 3 and data[head + 1] == 4:
        print("%d bytes to %s: fragmentation needed (mtu %d) from %s" % (size, dst, struct.unpack("!H", data[head + 6 : head + 8])[0], peer[0]))
        sys.exit(1)
print("%d bytes to %s: no reply" % (size, dst))
sys.exit(1)
"""


def netns_available():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = ["unshare", "-rnm", "sh", "-ec", "mount -t tmpfs none /run; mkdir -p /run/netns; ip netns add probe"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def guest_mtu(bridge_mtu, bridge="q8sbr0"):
    """emulated_worker_mtu as guests.yml hands it to the role on a host whose guest bridge
    `bridge` has `bridge_mtu` (its fact named as Ansible names it: dashes as underscores)."""
    with open(os.path.join(ROOT, "playbooks", "guests.yml")) as f:
        play = yaml.safe_load(f)[0]
    include = play["tasks"][0]["block"][0]
    assert include["ansible.builtin.include_role"]["name"] == "q8s.cluster.emulated_worker"
    with open(os.path.join(ROLE, "defaults", "main.yml")) as f:
        defaults = yaml.safe_load(f)
    value = include["vars"].get("emulated_worker_mtu", defaults["emulated_worker_mtu"])
    fact = bridge.replace("-", "_")
    facts = {fact: {"device": bridge, "mtu": bridge_mtu, "active": True}, "ens3": {"device": "ens3", "mtu": bridge_mtu}}
    variables = {"ansible_facts": facts, "nat_bridge_bridge_name": bridge}
    variables.update({k: trust_as_template(v) if isinstance(v, str) else v for k, v in play["vars"].items()})
    return int(Templar(loader=DataLoader(), variables=variables).template(trust_as_template(str(value))))


def network_config(mtu):
    """The role's network-config for the guest, parsed (what cloud-init applies)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, "templates")), undefined=jinja2.StrictUndefined)
    env.filters["to_json"] = lambda value: yaml.safe_dump(value, default_flow_style=True).strip()
    text = env.get_template("network-config.j2").render(
        __emulated_worker_mac="52:54:00:7a:00:0a",
        emulated_worker_mtu=mtu,
        emulated_worker_address="192.168.122.10",
        emulated_worker_prefix=24,
        emulated_worker_gateway="192.168.122.1",
        emulated_worker_nameservers=[],
    )
    return yaml.safe_load(text)


def test_guests_yml_hands_the_bridge_mtu_to_the_guest():
    assert guest_mtu(TENANT_MTU) == TENANT_MTU
    assert guest_mtu(9000) == 9000
    assert guest_mtu(TENANT_MTU, bridge="q8s-br") == TENANT_MTU  # a bridge name with a dash
    eth0 = network_config(guest_mtu(TENANT_MTU))["config"][0]
    assert eth0["name"] == "eth0" and eth0["mtu"] == TENANT_MTU


@pytest.mark.skipif(not netns_available(), reason="needs unshare -rnm, iproute2 and ping (network namespaces)")
def test_a_full_size_frame_from_the_guest_crosses_the_host_unfragmented(tmp_path):
    mtu = network_config(guest_mtu(TENANT_MTU))["config"][0]["mtu"]
    (tmp_path / "ping.py").write_text(PING)
    script = NETWORK.format(tenant=TENANT_MTU, guest=mtu, ping="%s %s" % (shlex.quote(sys.executable), tmp_path / "ping.py"))
    out = subprocess.run(["unshare", "-rnm", "sh", "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "FULL-SIZE-OK" in out.stdout, out.stdout + out.stderr
    assert "guest eth0 mtu %d, bridge %d" % (TENANT_MTU, TENANT_MTU) in out.stdout, out.stdout + out.stderr
    assert "OVER-SIZE-REFUSED" in out.stdout, out.stdout + out.stderr
