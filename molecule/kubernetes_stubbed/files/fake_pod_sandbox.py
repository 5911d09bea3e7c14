#!/usr/bin/python3
"""Stand-in for Flannel and the CNI bridge plugin on a node, for tests only:
starts one pod sandbox the way flanneld + the bridge plugin would.

flanneld writes /run/flannel/subnet.env from the node's podCIDR and brings up
flannel.1; the bridge plugin creates cni0 with the subnet's gateway address
(first host) and host-local IPAM reserves an address under
/var/lib/cni/networks/cbr0. Like the real plugin it fails when cni0 already
carries another address ("cni0 already has an IP address different from"),
which is what a node registered anew with another podCIDR meets when the old
bridge was left behind. Real links (ip link) in the node's network namespace.
"""

import ipaddress
import json
import os
import socket
import subprocess
import sys

STATE = "/var/lib/fake-k8s"


def ip(*args):
    return subprocess.run(["ip"] + list(args), check=False, capture_output=True, text=True)


def main():
    name = socket.gethostname()
    with open(os.path.join(STATE, "nodes", name + ".json")) as f:
        node = json.load(f)
    net = ipaddress.ip_network(node["spec"]["podCIDR"])
    gateway = "%s/%d" % (net.network_address + 1, net.prefixlen)
    os.makedirs("/run/flannel", exist_ok=True)
    with open("/run/flannel/subnet.env", "w") as f:
        f.write("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n" % gateway)
    if ip("link", "show", "flannel.1").returncode != 0:
        ip("link", "add", "flannel.1", "type", "dummy")
    if ip("link", "show", "cni0").returncode != 0:
        out = ip("link", "add", "cni0", "type", "bridge")
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            return 1
    have = [
        a["local"] + "/" + str(a["prefixlen"])
        for a in json.loads(ip("-j", "addr", "show", "dev", "cni0").stdout)[0].get("addr_info", [])
        if a["family"] == "inet"
    ]
    if have and gateway not in have:
        sys.stderr.write(
            'plugin type="flannel" failed (add): failed to delegate add: failed to set bridge addr: "cni0" already has an IP address different from %s\n'
            % gateway
        )
        return 1
    if not have:
        ip("addr", "add", gateway, "dev", "cni0")
        ip("link", "set", "cni0", "up")
    store = "/var/lib/cni/networks/cbr0"
    os.makedirs(store, exist_ok=True)
    for host in list(net.hosts())[1:]:
        if not os.path.exists(os.path.join(store, str(host))):
            with open(os.path.join(store, str(host)), "w") as f:
                f.write("fake-sandbox\neth0")
            print(host)
            return 0
    sys.stderr.write("no IP addresses available in range set\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
