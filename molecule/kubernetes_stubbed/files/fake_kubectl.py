#!/usr/bin/python3
"""A stand-in for kubectl, for tests only: keeps node objects in JSON files.

Shares the fake cluster (<root>/var/lib/fake-k8s/cluster.json) with
fake_kubeadm.py. Like the real API server and kubectl:

* no API before kubeadm init's wait-control-plane phase (connection refused),
  and every call but /readyz is Forbidden until init has created the admin
  group binding (so a half-done init that left admin.conf is visible);
* a node object appears when kubelet registers (fake kubeadm writes
  joined/<name>) and gets a podCIDR from an allocator that moves on: a node
  deleted and registered again gets another /24 (kube-controller-manager's
  range allocator);
* removing a taint the node does not have exits 1 ("not found"); an invalid
  taint effect is refused; `wait` and `patch --subresource=status` exist;
* a node carries what its kubelet reports: the labels kubernetes.io/arch, os and
  hostname, capacity cpu and memory of its machine (fake kubeadm records it at
  registration), a Ready condition (`get nodes -o json`, `get node -o json`);
* `run` (uname -m only) schedules a pod as kube-scheduler does: a node that
  matches its nodeSelector and whose NoSchedule/NoExecute taints it tolerates,
  else Pending with the scheduler's reasons; on a Ready node it prints the
  machine's `uname -m`, on a NotReady one it never starts; `wait
  --for=jsonpath={.status.phase}=...`, `logs`, `get pod -o json` and
  `delete pod` behave accordingly.
"""

import fcntl
import ipaddress
import json
import os
import re
import sys

ROOT = os.environ.get("FAKE_K8S_ROOT", "/")
STATE = os.path.join(ROOT, "var/lib/fake-k8s")
ADMIN_CONF = os.path.join(ROOT, "etc/kubernetes/admin.conf")
GATE = "q8s.io/flannel-pending"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


class Fail(Exception):
    pass


def load_cluster():
    with open(os.path.join(STATE, "cluster.json")) as f:
        return json.load(f)


def save_cluster(cluster):
    with open(os.path.join(STATE, "cluster.json"), "w") as f:
        json.dump(cluster, f, indent=1)


def allocate_cidr(cluster):
    subnet = cluster["configmaps"]["kube-system/kubeadm-config"]["ClusterConfiguration"]["networking"]["podSubnet"]
    index = cluster.get("podcidr_next", 0)
    cluster["podcidr_next"] = index + 1
    save_cluster(cluster)
    return str(list(ipaddress.ip_network(subnet).subnets(new_prefix=24))[index])


def load(name, cluster):
    node_path = os.path.join(STATE, "nodes", name + ".json")
    if os.path.exists(node_path):
        with open(node_path) as f:
            return json.load(f)
    if not os.path.exists(os.path.join(STATE, "joined", name)):
        return None
    with open(os.path.join(STATE, "joined", name)) as f:
        reg = json.load(f)
    machine = reg.get("machine") or {"goarch": "amd64", "cpu": 2, "memory_kb": 2 * 1024 * 1024}
    # kubelet's own labels, then its --node-labels
    labels = dict({"kubernetes.io/arch": machine["goarch"], "kubernetes.io/os": "linux", "kubernetes.io/hostname": name}, **reg["labels"])
    capacity = {"cpu": str(machine["cpu"]), "memory": "%dKi" % machine["memory_kb"], "pods": "110"}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "annotations": {}, "labels": labels},
        "spec": {"taints": reg["taints"], "podCIDR": allocate_cidr(cluster)},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "nodeInfo": {"architecture": machine["goarch"], "operatingSystem": "linux"},
        },
    }
    save(node)
    return node


def shown(node):
    """The node as the API server shows it: with its Ready condition."""
    out = json.loads(json.dumps(node))
    if ready(node):
        cond = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
    else:
        cond = {
            "type": "Ready",
            "status": "False",
            "reason": "KubeletNotReady",
            "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
            "message:Network plugin returns error: cni plugin not initialized",
        }
    out["status"]["conditions"] = [cond]
    return out


def save(node):
    os.makedirs(os.path.join(STATE, "nodes"), exist_ok=True)
    with open(os.path.join(STATE, "nodes", node["metadata"]["name"] + ".json"), "w") as f:
        json.dump(node, f)


def registered():
    return sorted(os.listdir(os.path.join(STATE, "joined")))


def ready(node):
    # Flannel (and with it the CNI) runs only once the gate taint is gone.
    return GATE not in [t["key"] for t in node["spec"]["taints"]]


def log(args):
    with open(os.path.join(STATE, "kubectl.log"), "a") as f:
        f.write(" ".join(args) + "\n")


def need_node(name, cluster):
    node = load(name, cluster)
    if node is None:
        raise Fail('Error from server (NotFound): nodes "%s" not found' % name)
    return node


def taint(rest, cluster):
    node = need_node(rest[1], cluster)
    for spec in rest[2:]:
        if spec.endswith("-"):
            key, _sep, effect = spec[:-1].partition(":")
            key = key.split("=")[0]
            match = [t for t in node["spec"]["taints"] if t["key"] == key and (not effect or t["effect"] == effect)]
            if not match:
                raise Fail('error: taint "%s" not found' % spec[:-1])
            node["spec"]["taints"] = [t for t in node["spec"]["taints"] if t not in match]
        else:
            kv, effect = spec.rsplit(":", 1)
            if effect not in EFFECTS:
                raise Fail("error: invalid taint effect: %s, unsupported taint effect" % effect)
            k, _sep, v = kv.partition("=")
            # kubectl's parseTaint: key a qualified name, value a label value
            if not QUALIFIED.match(k) or len(k.rpartition("/")[2]) > 63 or (v and (len(v) > 63 or not NAME_PART.match(v))):
                raise Fail("error: invalid taint spec: %s" % spec)
            node["spec"]["taints"] = [t for t in node["spec"]["taints"] if t["key"] != k]
            node["spec"]["taints"].append(dict({"key": k, "effect": effect}, **({"value": v} if v else {})))
    save(node)
    print("node/%s tainted" % rest[1])


def tolerates(tolerations, taint):
    for tol in tolerations:
        if tol.get("effect") and tol["effect"] != taint["effect"]:
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol["key"] == taint["key"]):
            return True
        if tol.get("key") == taint["key"] and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def schedule(pod, cluster):
    """kube-scheduler's filters that matter here: nodeSelector and taints (a NotReady node
    carries node.kubernetes.io/not-ready). Returns (node name or None, reasons)."""
    selector = pod["spec"].get("nodeSelector") or {}
    fits, reasons = [], {}
    for name in registered():
        node = load(name, cluster)
        taints = [t for t in node["spec"]["taints"] if t["effect"] in ("NoSchedule", "NoExecute")]
        if not ready(node):
            taints.append({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"})
        bad = [t for t in taints if not tolerates(pod["spec"].get("tolerations") or [], t)]
        if any(node["metadata"]["labels"].get(k) != v for k, v in selector.items()):
            why = "node(s) didn't match Pod's node affinity/selector"
        elif bad:
            why = "node(s) had untolerated taint {%s: %s}" % (bad[0]["key"], bad[0].get("value", ""))
        else:
            fits.append((not ready(node), name))
            continue
        reasons[why] = reasons.get(why, 0) + 1
    if fits:
        return sorted(fits)[0][1], ""
    total = sum(reasons.values())
    return None, "0/%d nodes are available: %s." % (total, ", ".join("%d %s" % (n, why) for why, n in sorted(reasons.items())))


def pod_path(name):
    return os.path.join(STATE, "pods", name + ".json")


def load_pod(name):
    if not os.path.exists(pod_path(name)):
        raise Fail('Error from server (NotFound): pods "%s" not found' % name)
    with open(pod_path(name)) as f:
        return json.load(f)


def run_pod(args, cluster):
    name = args[1]
    if os.path.exists(pod_path(name)):
        raise Fail('Error from server (AlreadyExists): pods "%s" already exists' % name)
    command = args[args.index("--") + 1 :] if "--" in args else []
    if command != ["uname", "-m"] or "--command" not in args:
        raise Fail("fake kubectl: only `run NAME --image=... --command -- uname -m` is modelled")
    image = [a.split("=", 1)[1] for a in args if a.startswith("--image=")]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": name, "image": image[0] if image else "", "command": command}], "restartPolicy": "Never"},
    }
    for override in [a.split("=", 1)[1] for a in args if a.startswith("--overrides=")]:
        pod["spec"].update(json.loads(override).get("spec", {}))
    node_name, why = schedule(pod, cluster)
    if node_name is None:
        pod["status"] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why}]}
    else:
        pod["spec"]["nodeName"] = node_name
        node = load(node_name, cluster)
        if ready(node):
            with open(os.path.join(STATE, "joined", node_name)) as f:
                uname = (json.load(f).get("machine") or {}).get("uname_m", "x86_64")
            pod["fake_log"] = uname + "\n"
            state = {"terminated": {"exitCode": 0, "reason": "Completed"}}
            pod["status"] = {"phase": "Succeeded"}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
            pod["status"] = {"phase": "Pending"}
        pod["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
        pod["status"]["containerStatuses"] = [{"name": name, "state": state}]
    os.makedirs(os.path.join(STATE, "pods"), exist_ok=True)
    with open(pod_path(name), "w") as f:
        json.dump(pod, f)
    print("pod/%s created" % name)


def pod_logs(name):
    pod = load_pod(name)
    if "nodeName" not in pod["spec"]:
        raise Fail("Error from server (BadRequest): pod %s does not have a host assigned" % name)
    if "fake_log" not in pod:
        raise Fail('Error from server (BadRequest): container "%s" in pod "%s" is waiting to start: ContainerCreating' % (name, name))
    sys.stdout.write(pod["fake_log"])


def wait_pod(args):
    name = [a for a in args if a.startswith("pod/")][0][4:]
    want = [a for a in args if a.startswith("--for=jsonpath={.status.phase}=")]
    if not want:
        raise Fail("fake kubectl: only pods' --for=jsonpath={.status.phase}=PHASE is modelled")
    if load_pod(name)["status"]["phase"] != want[0].rsplit("=", 1)[1]:
        raise Fail("error: timed out waiting for the condition on pods/%s" % name)
    print("pod/%s condition met" % name)


def patch(args, cluster):
    name = args[2]
    node = need_node(name, cluster)
    if "--subresource=status" not in args or "--type=json" not in args:
        raise Fail("fake kubectl: only --subresource=status --type=json patches are modelled")
    ops = json.loads([a for a in args if a.startswith("--patch=")][0].split("=", 1)[1])
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        if op["op"] not in ("add", "replace") or parts[:2] != ["status", "capacity"] or len(parts) != 3:
            raise Fail("The request is invalid: the server rejected our request due to an error in our request: %s" % op)
        node["status"]["capacity"][parts[2]] = op["value"]
        node["status"]["allocatable"][parts[2]] = op["value"]
    save(node)
    print("node/%s patched" % name)


def main(argv):
    args = argv[1:]
    if args[:2] == ["--kubeconfig", "/etc/kubernetes/admin.conf"]:
        args = args[2:]
    if not os.path.exists(ADMIN_CONF):
        raise Fail("error: stat /etc/kubernetes/admin.conf: no such file or directory")
    cluster = load_cluster() if os.path.exists(os.path.join(STATE, "cluster.json")) else {"apiserver": False}
    if not cluster["apiserver"]:
        raise Fail("The connection to the server was refused - did you specify the right host or port?")
    log(args)
    if args[:2] == ["get", "--raw=/readyz"]:
        print("ok")
        return
    if not cluster["admin_binding"]:
        raise Fail(
            'Error from server (Forbidden): User "kubernetes-admin" cannot %s: RBAC: '
            'clusterrole.rbac.authorization.k8s.io "cluster-admin" not bound' % " ".join(args[:3])
        )
    if args[:1] == ["-n"] and args[2:4] == ["get", "configmap"]:
        key = "%s/%s" % (args[1], args[4])
        if key not in cluster["configmaps"]:
            raise Fail('Error from server (NotFound): configmaps "%s" not found' % args[4])
        print(
            json.dumps(
                {
                    "metadata": {"name": args[4], "namespace": args[1]},
                    "data": {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in cluster["configmaps"][key].items()},
                }
            )
        )
    elif args[:2] == ["get", "node"]:
        print(json.dumps(shown(need_node(args[2], cluster))))
    elif args[:2] == ["get", "nodes"] and args[2:] == ["-o", "json"]:
        items = [shown(load(name, cluster)) for name in registered()]
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}, indent=4))
    elif args[:2] == ["get", "pod"] and args[3:] == ["-o", "json"]:
        pod = load_pod(args[2])
        pod.pop("fake_log", None)
        print(json.dumps(pod, indent=4))
    elif args[0] == "run":
        run_pod(args, cluster)
    elif args[0] == "logs":
        pod_logs(args[1])
    elif args[0] == "wait" and any(a.startswith("pod/") for a in args):
        wait_pod(args)
    elif args[:2] == ["delete", "pod"]:
        if os.path.exists(pod_path(args[2])):
            os.remove(pod_path(args[2]))
            print('pod "%s" deleted' % args[2])
        elif "--ignore-not-found" not in args:
            raise Fail('Error from server (NotFound): pods "%s" not found' % args[2])
    elif args[:2] == ["get", "nodes"]:
        for name in registered():
            node = load(name, cluster)
            keys = [t["key"] for t in node["spec"]["taints"]]
            print("%s\t%s\t%s\t%s" % (name, "True" if ready(node) else "False", " ".join(keys), "kubelet is posting ready status"))
    elif args[0] in ("annotate", "label"):
        rest = [a for a in args[1:] if a != "--overwrite"]
        node = need_node(rest[1], cluster)
        field = "annotations" if args[0] == "annotate" else "labels"
        for kv in rest[2:]:
            if kv.endswith("-") and "=" not in kv:  # key- removes it
                node["metadata"][field].pop(kv[:-1], None)
                continue
            k, v = kv.split("=", 1)
            if k in node["metadata"][field] and node["metadata"][field][k] != v and "--overwrite" not in args:
                raise Fail("error: '%s' already has a value (%s), and --overwrite is false" % (k, node["metadata"][field][k]))
            node["metadata"][field][k] = v
        save(node)
        print("node/%s %s" % (rest[1], "annotated" if field == "annotations" else "labeled"))
    elif args[0] == "taint":
        taint([a for a in args[1:] if a != "--overwrite"], cluster)
    elif args[0] == "wait":
        name = [a for a in args if a.startswith("node/")][0][5:]
        if "--for=condition=Ready" not in args:
            raise Fail("fake kubectl: only --for=condition=Ready is modelled")
        if not ready(need_node(name, cluster)):
            raise Fail("error: timed out waiting for the condition on nodes/%s" % name)
        print("node/%s condition met" % name)
    elif args[0] == "patch" and args[1] == "node":
        patch(args, cluster)
    elif args[0] == "drain":
        need_node(args[1], cluster)
        print("node/%s drained" % args[1])
    elif args[:2] == ["delete", "node"]:
        name = args[2]
        found = False
        for sub in ("nodes", "joined"):
            p = os.path.join(STATE, sub, name + (".json" if sub == "nodes" else ""))
            if os.path.exists(p):
                os.remove(p)
                found = True
        if found:
            print('node "%s" deleted' % name)
        elif "--ignore-not-found" not in args:
            raise Fail('Error from server (NotFound): nodes "%s" not found' % name)
    elif args[:3] == ["-n", "kube-system", "exec"] and "etcdctl" in args:
        members = [{"ID": 1000 + i, "name": n} for i, n in enumerate(cluster["etcd_members"])]
        if "list" in args:
            print(json.dumps({"members": members}))
        else:
            gone = [m["name"] for m in members if "%x" % m["ID"] == args[-1]]
            if not gone:
                raise Fail("Error: etcdserver: member not found")
            cluster["etcd_members"].remove(gone[0])
            save_cluster(cluster)
            print("Member %s removed" % args[-1])
    elif args[:2] == ["apply", "-f"]:
        marker = os.path.join(STATE, "applied")
        with open(args[2], "rb") as f:
            content = f.read()
        old = open(marker, "rb").read() if os.path.exists(marker) else None
        with open(marker, "wb") as f:
            f.write(content)
        print("daemonset.apps/kube-flannel-ds %s" % ("created" if old is None else ("unchanged" if old == content else "configured")))
    else:
        sys.stderr.write("fake kubectl: unsupported call %r\n" % (args,))
        return 2
    return 0


if __name__ == "__main__":
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "lock"), "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            sys.exit(main(sys.argv))
        except Fail as e:
            sys.stderr.write(str(e) + "\n")
            sys.exit(1)
