#!/usr/bin/python3
"""Stand-in for containerd's CRI, Flannel and the CNI bridge plugin on a node,
for tests only: starts one pod sandbox the way they would.

containerd (CRI RunPodSandbox) first needs its sandbox image, the one its
config.toml names (`plugins."io.containerd.grpc.v1.cri".sandbox_image`). An
image not on the node yet is pulled from its registry; the stand-ins have no
registry, so only an image pulled earlier (crictl pull, kubeadm config images
pull: <root>/var/lib/fake-images/pulled) is there, and any other fails as
containerd fails without a route to the registry. Without a config.toml the
check is skipped.

flanneld (v0.27.4 main.go) reads its arguments from the kube-flannel DaemonSet
the control plane applied (<state>/applied, written by fake kubectl apply) and
picks its interface as it does: each --iface (name or address) in order, then
each --iface-regex; none given: the default route's interface; given but none
found: it exits 1 ("Failed to find interface to use that matches the
interfaces and/or regexes provided"). The VXLAN backend sizes flannel.1 as that
interface's MTU minus 50 and writes it to /run/flannel/subnet.env with the
node's podCIDR.

The bridge plugin creates cni0 with the subnet's gateway address (first host)
and host-local IPAM reserves an address under /var/lib/cni/networks/cbr0. Like
the real plugin it fails when cni0 already carries another address ("cni0
already has an IP address different from"), which is what a node registered
anew with another podCIDR meets when the old bridge was left behind.

Real links (ip link) in the current network namespace. FAKE_K8S_ROOT moves the
node's root (files only), FAKE_K8S_HOSTNAME its name (tests).
"""

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python < 3.11: no config.toml check
    tomllib = None

ROOT = os.environ.get("FAKE_K8S_ROOT", "/")
VXLAN_OVERHEAD = 50


def path(*parts):
    return os.path.join(ROOT, *[p.lstrip("/") for p in parts])


STATE = path("/var/lib/fake-k8s")


class Fail(Exception):
    pass


def ip(*args):
    return subprocess.run(["ip"] + list(args), check=False, capture_output=True, text=True)


def sandbox_image():
    """containerd's sandbox image: present, or pulled (never, here)."""
    config = path("/etc/containerd/config.toml")
    if tomllib is None or not os.path.exists(config):
        return
    with open(config, "rb") as f:
        cri = tomllib.load(f).get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
    image = cri.get("sandbox_image", "registry.k8s.io/pause:3.8")  # containerd 1.7's default
    pulled = path("/var/lib/fake-images/pulled")
    have = set()
    if os.path.exists(pulled):
        with open(pulled) as f:
            have = set(f.read().split())
    if image not in have:
        host = image.split("/")[0]
        name, _sep, tag = image[len(host) + 1 :].rpartition(":")
        raise Fail(
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "%s": failed to pull image "%s": '
            'failed to pull and unpack image "%s": failed to resolve reference "%s": failed to do request: '
            'Head "https://%s/v2/%s/manifests/%s": dial tcp: lookup %s: no such host' % (image, image, image, image, host, name, tag, host)
        )


def flanneld_args():
    """The kube-flannel container's arguments from the applied manifest."""
    applied = os.path.join(STATE, "applied")
    if not os.path.exists(applied):
        return []
    import yaml  # pylint: disable=import-outside-toplevel

    with open(applied) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for doc in docs:
        if doc.get("kind") == "DaemonSet":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container.get("name") == "kube-flannel":
                    return list(container.get("command", [])[1:]) + list(container.get("args", []))
    return []


def interfaces():
    """name -> (mtu, [IPv4 addresses]) of this network namespace."""
    found = {}
    for link in json.loads(ip("-j", "addr", "show").stdout or "[]"):
        found[link["ifname"]] = (link.get("mtu", 1500), [a["local"] for a in link.get("addr_info", []) if a.get("family") == "inet"])
    return found


def lookup(ifaces, name=None, regex=None):
    """ipmatch.LookupExtIface: an interface with an IPv4 address, by name, address or regex."""
    for ifname, (mtu, addrs) in sorted(ifaces.items()):
        if ifname == "lo" or not addrs:
            continue
        if name is not None and (ifname == name or name in addrs):
            return ifname, mtu
        if regex is not None and (re.search(regex, ifname) or any(re.search(regex, a) for a in addrs)):
            return ifname, mtu
    return None


def external_interface(args):
    wanted = [a.split("=", 1)[1] for a in args if a.startswith("--iface=")]
    regexes = [a.split("=", 1)[1] for a in args if a.startswith("--iface-regex=")]
    ifaces = interfaces()
    if not wanted and not regexes:
        routes = json.loads(ip("-j", "route", "show", "default").stdout or "[]")
        if not routes or routes[0].get("dev") not in ifaces:
            raise Fail("Failed to find any valid interface to use: failed to get default interface: unable to find default route")
        dev = routes[0]["dev"]
        return dev, ifaces[dev][0]
    for name in wanted:
        found = lookup(ifaces, name=name)
        if found:
            return found
        sys.stderr.write("Could not find valid interface matching %s: error looking up interface %s: route ip+net: no such network interface\n" % (name, name))
    for regex in regexes:
        found = lookup(ifaces, regex=regex)
        if found:
            return found
        sys.stderr.write("Could not find valid interface matching %s: no interface matches the regex\n" % regex)
    raise Fail("Failed to find interface to use that matches the interfaces and/or regexes provided")


def main():
    name = os.environ.get("FAKE_K8S_HOSTNAME") or socket.gethostname()
    sandbox_image()
    iface, mtu = external_interface(flanneld_args())
    with open(os.path.join(STATE, "nodes", name + ".json")) as f:
        node = json.load(f)
    net = ipaddress.ip_network(node["spec"]["podCIDR"])
    gateway = "%s/%d" % (net.network_address + 1, net.prefixlen)
    os.makedirs(path("/run/flannel"), exist_ok=True)
    with open(path("/run/flannel/subnet.env"), "w") as f:
        f.write("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=%d\nFLANNEL_IPMASQ=true\n" % (gateway, mtu - VXLAN_OVERHEAD))
    print("Using interface with name %s" % iface, file=sys.stderr)
    if ip("link", "show", "flannel.1").returncode != 0:
        ip("link", "add", "flannel.1", "mtu", str(mtu - VXLAN_OVERHEAD), "type", "vxlan", "id", "1", "dev", iface, "dstport", "8472", "nolearning")
    if ip("link", "show", "cni0").returncode != 0:
        out = ip("link", "add", "cni0", "type", "bridge")
        if out.returncode != 0:
            raise Fail(out.stderr.strip())
    have = [
        a["local"] + "/" + str(a["prefixlen"])
        for a in json.loads(ip("-j", "addr", "show", "dev", "cni0").stdout)[0].get("addr_info", [])
        if a["family"] == "inet"
    ]
    if have and gateway not in have:
        raise Fail(
            'plugin type="flannel" failed (add): failed to delegate add: failed to set bridge addr: "cni0" already has an IP address different from %s'
            % gateway
        )
    if not have:
        ip("addr", "add", gateway, "dev", "cni0")
        ip("link", "set", "cni0", "up")
    store = path("/var/lib/cni/networks/cbr0")
    os.makedirs(store, exist_ok=True)
    for host in list(net.hosts())[1:]:
        if not os.path.exists(os.path.join(store, str(host))):
            with open(os.path.join(store, str(host)), "w") as f:
                f.write("fake-sandbox\neth0")
            print(host)
            return 0
    raise Fail("no IP addresses available in range set")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        sys.stderr.write(str(e) + "\n")
        sys.exit(1)
