"""playbooks/verify.yml's Kubernetes part, for real, against the kubeadm/kubectl stand-ins of
molecule/kubernetes_stubbed (files/fake_kubeadm.py, fake_kubectl.py).

A spec with one worker per architecture the spec accepts (x86_64, aarch64, ppc64le, s390x) goes
through the real inventory plugin; the fake cluster is made as the roles make it: kubeadm
init, kubeadm join with kubelet's --node-labels and --register-with-taints, then the control
plane's labels, taints, extended resources and the removal of the gate taint. Each joined node's
kubelet sees the machine its vm type asks for (<root>/etc/fake-k8s/machine.json). Then
`verify.yml --tags kubernetes -e q8s_verify_workload=true` runs on the initial control plane
(local connection, the fake as kubectl): it passes, and after a label is removed, a taint
changed, a node made NotReady and a machine's pods made to print another architecture, it
fails with exactly those mismatches, each naming node, layer and field.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fake_k8s_nodes import FILES, FakeNode, init_documents

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
GATE = "q8s.io/flannel-pending"

SPEC = {
    "cluster_name": "stub",
    "provider": "local",
    "kubernetes_version": "1.34.1",
    "remote_ip_prefix": "10.89.80.0/24",
    "cluster_definition": {"number_additional_master_nodes": 0, "worker": {"x86-edge": 1, "arm-small": 1, "power": 1, "z": 1}},
    "vm_types": {
        "x86-edge": {
            "architecture": "x86_64",
            "cpu_model": "EPYC-Rome",
            "num_cpus": 2,
            "ram": 1024,
            "storage": 4,
            "labels": {"tier": "edge"},
            "taints": [{"key": "edge", "value": "true", "effect": "NoSchedule"}],
            "extended_resources": {"example.com/fpga": 2},
        },
        "arm-small": {
            "architecture": "arm_64",
            "cpu_model": "cortex-a57",
            "num_cpus": 2,
            "ram": 1536,
            "storage": 5,
            "taints": [{"key": "arch", "value": "arm", "effect": "PreferNoSchedule"}],
        },
        "power": {"architecture": "ppc64le", "cpu_model": "POWER9", "num_cpus": 1, "ram": 2048, "storage": 5},
        "z": {"architecture": "s390x", "cpu_model": "qemu", "num_cpus": 1, "ram": 2048, "storage": 5},
    },
    "guest_images": {
        arch: {"source": "file:///nonexistent/%s.qcow2" % arch, "checksum": "sha256:" + "0" * 64} for arch in ("x86_64", "aarch64", "ppc64le", "s390x")
    },
}

# node: (uname -m of its machine, the q8s labels k8s_worker gives it)
WORKERS = {
    "stub--x86-edge-1": ("x86_64", "x86-edge"),
    "stub--arm-small-1": ("aarch64", "arm-small"),
    "stub--power-1": ("ppc64le", "power"),
    "stub--z-1": ("s390x", "z"),
}

INIT = init_documents("stub--cp-0", "10.89.80.2")


class Node(FakeNode):
    """A fake node whose stub runs must succeed; run() gives their output."""

    def run(self, tool, *args):
        out = super().run(tool, *args)
        assert out.returncode == 0, (tool, args, out.stderr)
        return out.stdout


def taint_text(taint):
    return "%s=%s:%s" % (taint["key"], taint["value"], taint["effect"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The fake cluster as kubernetes.yml leaves it, and how to run verify.yml against it."""
    tmp = tmp_path_factory.mktemp("verify-stubbed")
    shared = tmp / "shared"
    shared.mkdir()
    cp = Node(tmp, "stub--cp-0", shared)
    cp.run("kubeadm", "init", "--config", cp.write("etc/kubernetes/q8s/kubeadm-config.yaml", yaml.safe_dump_all(INIT)), "--skip-token-print")
    join = cp.run("kubeadm", "token", "create", "--ttl", "15m", "--print-join-command").split()[1:]
    for name, (uname, type_name) in WORKERS.items():
        spec = SPEC["vm_types"][type_name]
        node = Node(tmp, name, shared)
        # the emulated guest's hardware as its kubelet would see it (MemTotal a little under the RAM)
        node.write("etc/fake-k8s/machine.json", json.dumps({"uname_m": uname, "cpu": spec["num_cpus"], "memory_kb": spec["ram"] * 1024 * 95 // 100}))
        labels = ["q8s.io/emulated=true", "q8s.io/architecture=%s" % spec["architecture"].replace("arm_64", "aarch64")]
        labels += ["q8s.io/cpu-model=%s" % spec["cpu_model"], "q8s.io/vm-type=%s" % type_name]
        labels += ["%s=%s" % item for item in (spec.get("labels") or {}).items()]
        taints = [taint_text(t) for t in spec.get("taints") or []] + ["%s=true:NoExecute" % GATE]
        node.write("etc/default/kubelet", 'KUBELET_EXTRA_ARGS="--node-labels=%s --register-with-taints=%s"\n' % (",".join(labels), ",".join(taints)))
        node.run("kubeadm", *join, "--node-name", name)
        # what the control plane does after the join (k8s_worker/tasks/reconcile.yml)
        cp.kubectl("annotate", "--overwrite", "node", name, "flannel.alpha.coreos.com/public-ip=10.89.80.9")
        cp.kubectl("taint", "node", name, "%s:NoExecute-" % GATE)
        for resource, value in (spec.get("extended_resources") or {}).items():
            path = "/status/capacity/" + resource.replace("~", "~0").replace("/", "~1")
            cp.kubectl(
                "patch", "node", name, "--subresource=status", "--type=json", "--patch=" + json.dumps([{"op": "add", "path": path, "value": str(value)}])
            )
    spec_file = tmp / "spec.yml"
    spec_file.write_text(yaml.safe_dump(SPEC))
    bindir = tmp / "bin"
    bindir.mkdir()
    (bindir / "kubectl").write_text('#!/bin/sh\nexec "%s" "%s" "$@"\n' % (sys.executable, FILES / "fake_kubectl.py"))
    (bindir / "kubectl").chmod(0o755)

    def verify(*extra, local=True):
        env = dict(
            os.environ,
            PATH="%s:%s:%s" % (bindir, VENV_BIN, os.environ["PATH"]),
            FAKE_K8S_ROOT=str(cp.root),
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_NOCOLOR="1",
            Q8S_REPORT_DIR=str(tmp / "logs"),
            # The guests of this spec do not exist: one SSH attempt each, not ansible.cfg's
            # retries (7 attempts with backoff, about 86 s per unreachable guest).
            ANSIBLE_SSH_RETRIES="0",
        )
        argv = [str(VENV_BIN / "ansible-playbook"), "playbooks/verify.yml", "-e", "@%s" % spec_file]
        argv += list(extra or ("--tags", "kubernetes", "-e", "q8s_verify_workload=true", "-e", "q8s_kubernetes_skip_binaries=false"))
        if local:
            argv += ["-e", "ansible_connection=local", "-e", "ansible_become=false", "-e", "ansible_python_interpreter=%s" % sys.executable]
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)

    return {"cp": cp, "shared": shared, "verify": verify}


def mismatches(out):
    """(node, layer, field) of each MISMATCH line, once."""
    found = []
    for match in re.finditer(r"MISMATCH (\S+): layer (\S+), field (.+?): expected ", out):
        if match.groups() not in found:
            found.append(match.groups())
    return sorted(found)


def test_the_stub_shows_what_kubelet_and_the_api_server_show(cluster):
    cp = cluster["cp"]
    nodes = json.loads(cp.kubectl("get", "nodes", "-o", "json"))
    assert nodes["kind"] == "List" and sorted(n["metadata"]["name"] for n in nodes["items"]) == sorted(["stub--cp-0"] + list(WORKERS))
    power = next(n for n in nodes["items"] if n["metadata"]["name"] == "stub--power-1")
    assert power["metadata"]["labels"]["kubernetes.io/arch"] == "ppc64le"
    assert power["status"]["capacity"]["cpu"] == "1" and power["status"]["capacity"]["memory"] == "%dKi" % (2048 * 1024 * 95 // 100)
    assert [c["status"] for c in power["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    # the scheduler's filters: a pod without tolerations cannot go to the tainted x86 node
    cp.kubectl(
        "run",
        "t1",
        "--image=busybox",
        "--restart=Never",
        '--overrides={"spec": {"nodeSelector": {"kubernetes.io/arch": "amd64"}}}',
        "--command",
        "--",
        "uname",
        "-m",
    )
    pod = json.loads(cp.kubectl("get", "pod", "t1", "-o", "json"))
    assert pod["status"]["phase"] == "Pending" and "untolerated taint {edge: true}" in pod["status"]["conditions"][0]["message"]
    cp.kubectl("delete", "pod", "t1")


def test_verify_passes_on_the_cluster_the_roles_made(cluster):
    proc = cluster["verify"]()
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert mismatches(proc.stdout) == []
    # one pod per architecture, each pinned by the Kubernetes name of its architecture
    for goarch in ("amd64", "arm64", "ppc64le", "s390x"):
        assert "q8s-verify-%s" % goarch in proc.stdout, goarch
    assert not list((cluster["shared"] / "pods").iterdir()), "verify left pods behind"


def test_verify_names_node_layer_and_field_of_each_mismatch(cluster):
    cp = cluster["cp"]
    cp.kubectl("label", "node", "stub--x86-edge-1", "q8s.io/cpu-model-")
    cp.kubectl("taint", "--overwrite", "node", "stub--arm-small-1", "arch=x86:PreferNoSchedule")
    cp.kubectl("taint", "node", "stub--power-1", "%s=true:NoExecute" % GATE)  # Flannel gone: NotReady
    registration = cluster["shared"] / "joined" / "stub--z-1"
    data = json.loads(registration.read_text())
    data["machine"]["uname_m"] = "x86_64"  # what runs there is not the s390x the node claims
    registration.write_text(json.dumps(data))
    proc = cluster["verify"]()
    assert proc.returncode != 0
    assert mismatches(proc.stdout) == [
        ("stub--arm-small-1", "kubernetes", "taint arch=arm:PreferNoSchedule"),
        ("stub--power-1", "kubernetes", "Ready"),
        ("stub--power-1", "kubernetes", "taints"),
        ("stub--power-1", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=ppc64le)"),
        ("stub--x86-edge-1", "kubernetes", "label q8s.io/cpu-model"),
        ("stub--z-1", "kubernetes", "workload uname -m (nodeSelector kubernetes.io/arch=s390x)"),
    ], proc.stdout[-6000:]
    assert (
        "MISMATCH stub--z-1: layer kubernetes, field workload uname -m (nodeSelector kubernetes.io/arch=s390x): expected s390x, observed x86_64" in proc.stdout
    )
    assert "expected ppc64le, observed nothing printed (pod Pending, container waiting: ContainerCreating)" in proc.stdout


def test_verify_without_kubernetes_still_fails_on_mismatches(cluster, tmp_path):
    """--skip-tags kubernetes (the local suite's way) must not skip the failing task: the
    guests of this spec do not exist (no addresses), so every one is a mismatch."""
    proc = cluster["verify"]("--skip-tags", "kubernetes", "-e", "q8s_verify_report_dir=%s" % tmp_path, local=False)
    assert proc.returncode != 0, proc.stdout[-4000:]
    assert [node for node, layer, field in mismatches(proc.stdout) if (layer, field) == ("guest", "ssh")] == sorted(WORKERS), proc.stdout[-4000:]
    assert json.loads((tmp_path / "report.json").read_text())["kubernetes"] == "skipped"
