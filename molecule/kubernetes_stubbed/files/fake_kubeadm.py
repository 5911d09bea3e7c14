#!/usr/bin/python3
"""A stand-in for kubeadm, for tests only (init, config validate, token create,
init phase upload-certs, join). It never writes a token or key to a file."""

import json
import os
import sys

import yaml

STATE = "/var/lib/fake-k8s"
TOKEN = "abcdef.0123456789abcdef"
KEY = "f" * 64


def main(argv):
    args = argv[1:]
    if args[:2] == ["config", "validate"]:
        with open(args[args.index("--config") + 1]) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        kinds = [d["kind"] for d in docs]
        if kinds != ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]:
            sys.stderr.write("unexpected documents %r\n" % kinds)
            return 1
        print("ok, the config is valid")
        return 0
    if args[0] == "init" and "phase" not in args:
        with open(args[args.index("--config") + 1]) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        name = docs[0]["nodeRegistration"]["name"]
        os.makedirs("/etc/kubernetes", exist_ok=True)
        with open("/etc/kubernetes/admin.conf", "w") as f:
            f.write("apiVersion: v1\nkind: Config\nclusters: []\n# fake admin.conf of %s\n" % name)
        os.chmod("/etc/kubernetes/admin.conf", 0o600)
        os.makedirs(os.path.join(STATE, "joined"), exist_ok=True)
        with open(os.path.join(STATE, "joined", name), "w") as f:
            json.dump([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], f)
        print("Your Kubernetes control-plane has initialized successfully!")
        return 0
    if args[:2] == ["token", "create"]:
        print("kubeadm join 10.89.71.5:6443 --token %s --discovery-token-ca-cert-hash sha256:%s " % (TOKEN, "0" * 64))
        return 0
    if args[:3] == ["init", "phase", "upload-certs"]:
        print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
        print("[upload-certs] Using certificate key:")
        print(KEY)
        return 0
    if args[0] == "join":
        if TOKEN not in args:
            sys.stderr.write("join without the minted token\n")
            return 1
        os.makedirs("/etc/kubernetes", exist_ok=True)
        with open("/etc/kubernetes/kubelet.conf", "w") as f:
            f.write("# fake kubelet.conf\n")
        name = args[args.index("--node-name") + 1]
        # What kubelet would register: the taints of --register-with-taints
        # in /etc/default/kubelet, plus kubeadm's control-plane taint.
        taints = []
        with open("/etc/default/kubelet") as f:
            for word in f.read().replace('"', " ").split():
                if word.startswith("--register-with-taints="):
                    for spec in word.split("=", 1)[1].split(","):
                        kv, effect = spec.rsplit(":", 1)
                        k, _sep, v = kv.partition("=")
                        taints.append(dict({"key": k, "effect": effect}, **({"value": v} if v else {})))
        if "--control-plane" in args:
            taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
        os.makedirs(os.path.join(STATE, "joined"), exist_ok=True)
        with open(os.path.join(STATE, "joined", name), "w") as f:
            json.dump(taints, f)
        with open(os.path.join(STATE, "join-flags-" + name), "w") as f:
            f.write(" ".join("<hidden>" if a in (TOKEN, KEY) else a for a in args) + "\n")
        return 0
    if args[0] == "reset":
        for path in ("/etc/kubernetes/kubelet.conf", "/etc/kubernetes/admin.conf"):
            if os.path.exists(path):
                os.remove(path)
        with open(os.path.join(STATE, "reset.log"), "a") as f:
            f.write(os.uname()[1] + "\n")
        return 0
    sys.stderr.write("fake kubeadm: unsupported call %r\n" % (args,))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
