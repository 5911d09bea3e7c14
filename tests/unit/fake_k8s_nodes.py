"""Nodes of a fake Kubernetes cluster built from molecule/kubernetes_stubbed's stand-ins
for kubeadm and kubectl, shared by the stub tests (test_fake_k8s.py) and the verify tests
that run against the stubs (test_verify_stubbed.py)."""

import os
import subprocess
import sys
from pathlib import Path

FILES = Path(__file__).resolve().parents[2] / "molecule" / "kubernetes_stubbed" / "files"


def init_documents(name, address):
    """The kubeadm init configuration control_plane renders, for node `name` at `address`."""
    return [
        {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "InitConfiguration",
            "bootstrapTokens": [{"ttl": "15m0s"}],
            "nodeRegistration": {"name": name, "kubeletExtraArgs": [{"name": "node-ip", "value": address}]},
        },
        {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "ClusterConfiguration",
            "kubernetesVersion": "v1.34.1",
            "controlPlaneEndpoint": "%s:6443" % address,
            "networking": {"podSubnet": "10.244.0.0/16"},
        },
        {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration"},
    ]


class FakeNode:
    """One node's root (its /etc, /var/lib, /run) sharing the fake cluster's state
    directory; the stubs run in it with FAKE_K8S_ROOT and FAKE_K8S_HOSTNAME."""

    def __init__(self, tmp, name, shared):
        self.name = name
        self.root = tmp / name
        (self.root / "var/lib").mkdir(parents=True)
        (self.root / "var/lib/fake-k8s").symlink_to(shared)

    def run(self, tool, *args):
        env = dict(os.environ, FAKE_K8S_ROOT=str(self.root), FAKE_K8S_HOSTNAME=self.name)
        argv = [sys.executable, str(FILES / ("fake_%s.py" % tool))] + list(args)
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)

    def kubectl(self, *args):
        return self.run("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", *args)

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)
