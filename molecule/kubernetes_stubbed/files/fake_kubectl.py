#!/usr/bin/python3
"""A stand-in for kubectl, for tests only: keeps node objects in JSON files.

Understands exactly the calls the q8s roles make (get --raw, get node -o json,
get nodes -o jsonpath, annotate, label, taint, apply). A node "registers" when
a marker file appears under /var/lib/fake-k8s/joined/ (written by the fake
kubeadm on the control plane, or by the test for workers).
"""

import json
import os
import sys

STATE = "/var/lib/fake-k8s"
GATE = "q8s.io/flannel-pending"


def load(name):
    path = os.path.join(STATE, "nodes", name + ".json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    if not os.path.exists(os.path.join(STATE, "joined", name)):
        return None
    with open(os.path.join(STATE, "joined", name)) as f:
        taints = json.load(f)
    node = {"metadata": {"name": name, "annotations": {}, "labels": {}}, "spec": {"taints": taints}}
    save(node)
    return node


def save(node):
    os.makedirs(os.path.join(STATE, "nodes"), exist_ok=True)
    with open(os.path.join(STATE, "nodes", node["metadata"]["name"] + ".json"), "w") as f:
        json.dump(node, f)


def log(args):
    with open(os.path.join(STATE, "kubectl.log"), "a") as f:
        f.write(" ".join(args) + "\n")


def main(argv):
    args = argv[1:]
    if args[:2] == ["--kubeconfig", "/etc/kubernetes/admin.conf"]:
        args = args[2:]
    if not os.path.exists("/etc/kubernetes/admin.conf"):
        sys.stderr.write("The connection to the server was refused\n")
        return 1
    log(args)
    if args[:2] == ["get", "--raw=/readyz"]:
        print("ok")
        return 0
    if args[:2] == ["get", "node"]:
        node = load(args[2])
        if node is None:
            sys.stderr.write('Error from server (NotFound): nodes "%s" not found\n' % args[2])
            return 1
        print(json.dumps(node))
        return 0
    if args[:2] == ["get", "nodes"]:
        names = sorted(os.listdir(os.path.join(STATE, "joined")))
        for name in names:
            node = load(name)
            keys = [t["key"] for t in node["spec"]["taints"]]
            ready = "True" if GATE not in keys else "False"
            print("%s\t%s\t%s\t%s" % (name, ready, " ".join(keys), "kubelet is posting ready status"))
        return 0
    if args[0] in ("annotate", "label"):
        rest = [a for a in args[1:] if a != "--overwrite"]
        node = load(rest[1])
        field = "annotations" if args[0] == "annotate" else "labels"
        for kv in rest[2:]:
            k, v = kv.split("=", 1)
            node["metadata"][field][k] = v
        save(node)
        print("node/%s %s" % (rest[1], "annotated" if field == "annotations" else "labeled"))
        return 0
    if args[0] == "taint":
        rest = [a for a in args[1:] if a != "--overwrite"]
        node = load(rest[1])
        for spec in rest[2:]:
            if spec.endswith("-"):
                key = spec[:-1].split(":")[0].split("=")[0]
                node["spec"]["taints"] = [t for t in node["spec"]["taints"] if t["key"] != key]
            else:
                kv, effect = spec.rsplit(":", 1)
                k, _sep, v = kv.partition("=")
                node["spec"]["taints"] = [t for t in node["spec"]["taints"] if t["key"] != k]
                node["spec"]["taints"].append(dict({"key": k, "effect": effect}, **({"value": v} if v else {})))
        save(node)
        print("node/%s tainted" % rest[1])
        return 0
    if args[0] == "drain":
        print("node/%s drained" % args[1])
        return 0
    if args[:2] == ["delete", "node"]:
        name = args[2]
        found = False
        for sub in ("nodes", "joined"):
            path = os.path.join(STATE, sub, name + (".json" if sub == "nodes" else ""))
            if os.path.exists(path):
                os.remove(path)
                found = True
        if found:
            print('node "%s" deleted' % name)
        return 0
    if args[:3] == ["-n", "kube-system", "exec"] and "etcdctl" in args:
        names = sorted(os.listdir(os.path.join(STATE, "joined")))
        members = [{"ID": 1000 + i, "name": n} for i, n in enumerate(names) if "-cp-" in n]
        if "list" in args:
            print(json.dumps({"members": members}))
        else:
            print("Member %s removed" % args[-1])
        return 0
    if args[:2] == ["apply", "-f"]:
        marker = os.path.join(STATE, "applied")
        with open(args[2], "rb") as f:
            content = f.read()
        old = open(marker, "rb").read() if os.path.exists(marker) else None
        with open(marker, "wb") as f:
            f.write(content)
        print("daemonset.apps/kube-flannel-ds %s" % ("created" if old is None else ("unchanged" if old == content else "configured")))
        return 0
    sys.stderr.write("fake kubectl: unsupported call %r\n" % (args,))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
