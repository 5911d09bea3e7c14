"""The kubeadm/kubectl stand-ins of molecule/kubernetes_stubbed fail where the
real tools fail (issue 14, "Stubs that behave like the tools"). Each case
drives the fakes as the roles do, in a private root (FAKE_K8S_ROOT)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fake_k8s_nodes import FILES, FakeNode, init_documents

ROOT = FILES.parents[2]
VENV_BIN = ROOT / ".venv" / "bin"

INIT = init_documents("cp-0", "10.0.0.5")


@pytest.fixture()
def cluster(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    nodes = {n: FakeNode(tmp_path, n, shared) for n in ("cp-0", "cp-1", "w-1")}
    nodes["shared"] = shared
    return nodes


def init(node, fault=False):
    if fault:
        (node.root / "var/lib/fake-k8s/faults").mkdir(exist_ok=True)
        (node.root / "var/lib/fake-k8s/faults/init-after-wait-control-plane").write_text("")
    cfg = node.write("etc/kubernetes/q8s/kubeadm-config.yaml", yaml.safe_dump_all(INIT))
    return node.run("kubeadm", "init", "--config", cfg, "--skip-token-print")


def join_command(cp, ttl="15m"):
    out = cp.run("kubeadm", "token", "create", "--ttl", ttl, "--print-join-command")
    assert out.returncode == 0, out.stderr
    return out.stdout.split()[1:]


def test_init_writes_admin_conf_before_the_cluster_exists(cluster):
    cp = cluster["cp-0"]
    out = init(cp, fault=True)
    assert out.returncode == 1 and "upload-config" in out.stderr
    assert (cp.root / "etc/kubernetes/admin.conf").exists()
    assert cp.kubectl("get", "--raw=/readyz").returncode == 0
    forbidden = cp.kubectl("get", "node", "cp-0", "-o", "json")
    assert forbidden.returncode == 1 and "Forbidden" in forbidden.stderr
    assert cp.kubectl("-n", "kube-public", "get", "configmap", "cluster-info").returncode == 1
    again = init(cp)
    assert again.returncode == 1 and "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml" in again.stderr
    assert cp.run("kubeadm", "reset", "--force").returncode == 0
    assert init(cp).returncode == 0
    info = cp.kubectl("-n", "kube-public", "get", "configmap", "cluster-info", "-o", "json")
    assert info.returncode == 0, info.stderr


def test_join_preflight_refuses_leftovers_and_expired_tokens(cluster):
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    cmd = join_command(cp)
    (cluster["shared"] / "join-seconds").mkdir()
    (cluster["shared"] / "join-seconds/w-1").write_text("1200")
    slow = w.run("kubeadm", *cmd, "--node-name", "w-1")
    assert slow.returncode == 1 and "timed out" in slow.stderr
    assert (w.root / "etc/kubernetes/bootstrap-kubelet.conf").exists()
    again = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert again.returncode == 1
    assert "FileAvailable--etc-kubernetes-pki-ca.crt" in again.stderr and "Port-10250" in again.stderr
    w.run("kubeadm", "reset", "--force")
    # 20 min of join against a 15 min token, with raised timeouts: the token expires
    cfg = w.write(
        "tmp/join.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "kubeadm.k8s.io/v1beta4",
                "kind": "JoinConfiguration",
                "discovery": {"bootstrapToken": {"token": cmd[3], "apiServerEndpoint": cmd[1], "caCertHashes": [cmd[5]]}},
                "nodeRegistration": {"name": "w-1"},
                "timeouts": {"kubeletHealthCheck": "30m", "tlsBootstrap": "30m"},
            }
        ),
    )
    token = join_command(cp)[3]
    cfg = w.write("tmp/join.yaml", Path(cfg).read_text().replace(cmd[3], token))
    expired = w.run("kubeadm", "join", "--config", cfg)
    assert expired.returncode == 1 and "Unauthorized" in expired.stderr
    w.run("kubeadm", "reset", "--force")
    long_token = join_command(cp, "40m")[3]
    cfg = w.write("tmp/join.yaml", Path(cfg).read_text().replace(token, long_token))
    ok = w.run("kubeadm", "join", "--config", cfg)
    assert ok.returncode == 0, ok.stderr
    assert (w.root / "etc/kubernetes/kubelet.conf").exists()
    mixed = w.run("kubeadm", "join", "--config", cfg, "--node-name", "w-1")
    assert mixed.returncode == 1 and "can not mix" in mixed.stderr


def test_certificate_key_expires_after_two_hours(cluster):
    cp, cp1 = cluster["cp-0"], cluster["cp-1"]
    assert init(cp).returncode == 0
    key = cp.run("kubeadm", "init", "phase", "upload-certs", "--upload-certs").stdout.split()[-1]
    state = cluster["shared"] / "cluster.json"
    data = json.loads(state.read_text())
    data["clock"] += 7201
    state.write_text(json.dumps(data))
    out = cp1.run("kubeadm", *join_command(cp), "--control-plane", "--certificate-key", key, "--node-name", "cp-1")
    assert out.returncode == 1 and "kubeadm-certs" in out.stderr


def test_control_plane_join_writes_kubelet_conf_before_its_etcd_member(cluster):
    cp, cp1 = cluster["cp-0"], cluster["cp-1"]
    assert init(cp).returncode == 0
    (cluster["shared"] / "faults").mkdir(exist_ok=True)
    (cluster["shared"] / "faults/join-before-etcd-cp-1").write_text("")
    key = cp.run("kubeadm", "init", "phase", "upload-certs", "--upload-certs").stdout.split()[-1]
    out = cp1.run("kubeadm", *join_command(cp), "--control-plane", "--certificate-key", key, "--node-name", "cp-1")
    assert out.returncode == 1 and "etcd" in out.stderr
    assert (cp1.root / "etc/kubernetes/kubelet.conf").exists()
    assert cp.kubectl("get", "node", "cp-1", "-o", "json").returncode == 0
    members = json.loads(cp.kubectl("-n", "kube-system", "exec", "etcd-cp-0", "--", "etcdctl", "member", "list").stdout)
    assert [m["name"] for m in members["members"]] == ["cp-0"]


def test_worker_join_failing_in_the_tls_bootstrap_leaves_what_preflight_refuses(cluster):
    """A worker join that fails in kubelet-start leaves the CA, the bootstrap kubeconfig and
    a running kubelet but no kubelet.conf and no Node: every later join fails preflight
    until `kubeadm reset` (defect 2, worker side)."""
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    (cluster["shared"] / "faults").mkdir(exist_ok=True)
    (cluster["shared"] / "faults/join-tls-bootstrap-w-1").write_text("")
    out = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert out.returncode == 1 and "kubelet-start" in out.stderr
    assert (w.root / "etc/kubernetes/pki/ca.crt").exists() and (w.root / "etc/kubernetes/bootstrap-kubelet.conf").exists()
    assert not (w.root / "etc/kubernetes/kubelet.conf").exists()
    assert cp.kubectl("get", "node", "w-1", "-o", "name").returncode == 1
    again = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert again.returncode == 1 and "FileAvailable--etc-kubernetes-pki-ca.crt" in again.stderr and "Port-10250" in again.stderr
    assert w.run("kubeadm", "reset", "--force").returncode == 0
    ok = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    "line, message",
    [
        ("--node-labels=example.kubernetes.io/role=x", "unknown 'kubernetes.io' or 'k8s.io' labels"),
        ("--node-labels=k8s.io/x=y", "unknown 'kubernetes.io' or 'k8s.io' labels"),
        ("--register-with-taints=edge=true:NoWhere", "invalid taint effect: NoWhere, unsupported taint effect"),
        ("--register-with-taints=edge=a+b:NoSchedule", "invalid taint spec: edge=a+b:NoSchedule"),
        ("--register-with-taints=Edge/x=y:NoSchedule", "invalid taint spec: Edge/x=y:NoSchedule"),
        ("--node-labels=q8s.io/cpu-model=Skylake+IBRS", "invalid node labels: 'q8s.io/cpu-model'"),
        ("--node-labels=q8s.io/" + "x" * 64 + "=y", "invalid node labels"),
    ],
)
def test_kubelet_refuses_bad_labels_and_taints(cluster, line, message):
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    w.write("etc/default/kubelet", 'KUBELET_EXTRA_ARGS="%s"\n' % line)
    out = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert out.returncode == 1 and message in out.stderr


def test_kubelet_accepts_the_allowed_kubernetes_io_labels(cluster):
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    w.write(
        "etc/default/kubelet",
        'KUBELET_EXTRA_ARGS="--node-labels=topology.kubernetes.io/zone=a,'
        'node.kubernetes.io/pool=b,q8s.io/emulated=true --register-with-taints=edge=true:NoSchedule"\n',
    )
    out = w.run("kubeadm", *join_command(cp), "--node-name", "w-1")
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize(
    "doc, field",
    [
        ({"kind": "InitConfiguration", "nodeRegistration": {"name": "x", "kubeletExtraArgz": []}}, "nodeRegistration.kubeletExtraArgz"),
        ({"kind": "ClusterConfiguration", "networking": {"podCIDR": "10.0.0.0/8"}}, "networking.podCIDR"),
        ({"kind": "JoinConfiguration", "discovery": {"timeout": "5m"}}, "discovery.timeout"),
        ({"kind": "JoinConfiguration", "timeouts": {"tlsBootstrapp": "5m"}}, "timeouts.tlsBootstrapp"),
    ],
)
def test_config_validate_rejects_unknown_v1beta4_fields(cluster, doc, field):
    cp = cluster["cp-0"]
    cfg = cp.write("cfg.yaml", yaml.safe_dump(dict(doc, apiVersion="kubeadm.k8s.io/v1beta4")))
    out = cp.run("kubeadm", "config", "validate", "--config", cfg)
    assert out.returncode == 1 and 'unknown field "%s"' % field in out.stderr


def test_join_config_drops_unknown_fields_with_a_warning(cluster):
    """kubeadm join --config decodes leniently (only `config validate` is
    strict): a misspelt timeout is ignored, so the slow join times out."""
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    cmd = join_command(cp, "40m")
    (cluster["shared"] / "join-seconds").mkdir()
    (cluster["shared"] / "join-seconds/w-1").write_text("1200")
    cfg = w.write(
        "tmp/join.yaml",
        yaml.safe_dump(
            {
                "apiVersion": "kubeadm.k8s.io/v1beta4",
                "kind": "JoinConfiguration",
                "discovery": {"bootstrapToken": {"token": cmd[3], "apiServerEndpoint": cmd[1], "caCertHashes": [cmd[5]]}},
                "nodeRegistration": {"name": "w-1"},
                "timeouts": {"kubeletHealthCheck": "30m", "tlsBootstrapp": "30m"},
            }
        ),
    )
    out = w.run("kubeadm", "join", "--config", cfg)
    assert 'unknown field "timeouts.tlsBootstrapp"' in out.stderr
    assert out.returncode == 1 and "timed out" in out.stderr


def test_config_validate_accepts_v1beta3_discovery_timeout(cluster):
    cp = cluster["cp-0"]
    cfg = cp.write("cfg.yaml", yaml.safe_dump({"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "JoinConfiguration", "discovery": {"timeout": "30m"}}))
    assert cp.run("kubeadm", "config", "validate", "--config", cfg).returncode == 0


def test_kubectl_taint_wait_patch_and_the_podcidr_allocator(cluster):
    cp = cluster["cp-0"]
    assert init(cp).returncode == 0
    node = json.loads(cp.kubectl("get", "node", "cp-0", "-o", "json").stdout)
    first = node["spec"]["podCIDR"]
    absent = cp.kubectl("taint", "node", "cp-0", "q8s.io/flannel-pending:NoExecute-")
    assert absent.returncode == 1 and "not found" in absent.stderr
    bad = cp.kubectl("taint", "node", "cp-0", "x=y:Sometimes")
    assert bad.returncode == 1
    assert cp.kubectl("taint", "node", "cp-0", "x=a b:NoSchedule").returncode == 1
    assert cp.kubectl("taint", "node", "cp-0", "example.com/x=y:NoSchedule").returncode == 0
    assert cp.kubectl("wait", "--for=condition=Ready", "node/cp-0", "--timeout=1s").returncode == 0
    patched = cp.kubectl(
        "patch", "node", "cp-0", "--subresource=status", "--type=json", '--patch=[{"op": "add", "path": "/status/capacity/example.com~1fpga", "value": "2"}]'
    )
    assert patched.returncode == 0, patched.stderr
    node = json.loads(cp.kubectl("get", "node", "cp-0", "-o", "json").stdout)
    assert node["status"]["capacity"]["example.com/fpga"] == "2"
    assert cp.kubectl("delete", "node", "cp-0").returncode == 0
    (cluster["shared"] / "joined/cp-0").write_text(json.dumps({"taints": [], "labels": {}}))
    again = json.loads(cp.kubectl("get", "node", "cp-0", "-o", "json").stdout)
    assert again["spec"]["podCIDR"] != first


# --- Flannel and containerd's sandbox, as the roles configure them (defects 5 and 6b) ---

PLAYBOOK = """
- name: Render one template of a role with its defaults and vars, as the role would
  hosts: cp-0
  connection: local
  gather_facts: false
  vars_files:
    - "{{ q8s_role_dir }}/defaults/main.yml"
    - "{{ q8s_role_dir }}/vars/main.yml"
  tasks:
    - name: Render
      ansible.builtin.template:
        src: "{{ q8s_role_dir }}/templates/{{ q8s_template }}"
        dest: "{{ q8s_dest }}"
        mode: "0644"
"""


def render(tmp, role, template, extra_vars):
    """`template` of `role` rendered by Ansible from the role's own defaults and vars
    (where the fixes live), for a cluster of one control plane and one emulated guest."""
    (tmp / "render").mkdir(exist_ok=True)
    inventory = tmp / "render/inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"q8s_control_plane": {"hosts": {"cp-0": {}}}, "q8s_emulated_workers": {"hosts": {"w-1": {}}}}}}))
    playbook = tmp / "render/playbook.yml"
    playbook.write_text(PLAYBOOK)
    dest = tmp / "render" / template.replace(".j2", "")
    values = dict(extra_vars, q8s_role_dir=str(ROOT / "roles" / role), q8s_template=template, q8s_dest=str(dest), ansible_python_interpreter=sys.executable)
    env = dict(
        os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_INVENTORY_ENABLED="yaml", Q8S_REPORT_DIR=str(tmp / "render/logs"), ANSIBLE_NOCOLOR="1"
    )
    out = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), "-e", json.dumps(values)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    return dest


def netns_available():
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = ["unshare", "-rn", "ip", "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


needs_netns = pytest.mark.skipif(not netns_available(), reason="needs unshare -rn (a private network namespace) and iproute2")


def sandbox(node, iface, address, mtu=1500):
    """fake_pod_sandbox on `node` in a network namespace of its own whose only
    interface (besides lo) is `iface`, with `address`/24, `mtu` and the default route."""
    gateway = address.rsplit(".", 1)[0] + ".1"
    script = (
        f"ip link set lo up; ip link add {iface} mtu {mtu} type veth peer name peer0 mtu {mtu}; ip addr add {address}/24 dev {iface}; "
        f"ip link set peer0 up; ip link set {iface} up; "
        f'ip route add default via {gateway} dev {iface}; exec "$@"'
    )
    env = dict(os.environ, FAKE_K8S_ROOT=str(node.root), FAKE_K8S_HOSTNAME=node.name)
    argv = ["unshare", "-rn", "sh", "-ec", script, "sh", sys.executable, str(FILES / "fake_pod_sandbox.py")]
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)


@needs_netns
def test_flanneld_picks_each_nodes_interface_from_the_manifest_the_role_renders(cluster, tmp_path):
    """Defect 6b: one DaemonSet for OpenStack servers (ens3) and guests (eth0,
    net.ifnames=0). control_plane_flannel_iface: ens3 must still let flanneld start
    on a guest; before the fix the manifest said only --iface=ens3 and flanneld
    exited on every guest."""
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    assert w.run("kubeadm", *join_command(cp), "--node-name", "w-1").returncode == 0
    for name in ("cp-0", "w-1"):  # the API server's Node objects, with their podCIDRs
        assert cp.kubectl("get", "node", name, "-o", "json").returncode == 0
    manifest = render(tmp_path, "control_plane", "kube-flannel.yml.j2", {"control_plane_flannel_iface": "ens3"})
    applied = cp.kubectl("apply", "-f", str(manifest))
    assert applied.returncode == 0, applied.stderr
    server = sandbox(cp, "ens3", "10.0.0.5", mtu=1450)
    assert server.returncode == 0, server.stderr
    assert "Using interface with name ens3" in server.stderr
    assert "FLANNEL_MTU=1400" in (cp.root / "run/flannel/subnet.env").read_text()
    guest = sandbox(w, "eth0", "192.168.122.10")
    assert guest.returncode == 0, guest.stderr
    assert "Using interface with name eth0" in guest.stderr
    # the stand-in fails as flanneld does when no --iface matches (the check can fail)
    stray = sandbox(w, "enp1s0", "192.168.122.10")
    assert stray.returncode == 1 and "Failed to find interface to use that matches the interfaces and/or regexes provided" in stray.stderr


@needs_netns
@pytest.mark.parametrize("repository", ["", "mirror.internal:5000/k8s"])
def test_the_sandbox_image_is_the_one_kubeadm_pulled(cluster, tmp_path, repository):
    """Defect 5: containerd's sandbox image (config.toml as k8s_common renders it)
    must be the pause image kubeadm of the version expects from the same
    repository, which is what the joins pull; in an air-gapped cluster (mirror) or
    without a registry at all, any other image cannot be pulled and no pod starts."""
    cp, w = cluster["cp-0"], cluster["w-1"]
    assert init(cp).returncode == 0
    assert w.run("kubeadm", *join_command(cp), "--node-name", "w-1").returncode == 0
    assert cp.kubectl("get", "node", "w-1", "-o", "json").returncode == 0
    extra = {"q8s_cluster": {"kubernetes_version": "1.34.1"}, "q8s_image_repository": repository}
    config = render(tmp_path, "k8s_common", "config.toml.j2", extra)
    w.write("etc/containerd/config.toml", config.read_text())
    # what k8s_worker pulls before its join: kube-proxy and pause of `kubeadm config images list`
    listed = w.run("kubeadm", "config", "images", "list", "--image-repository", repository or "registry.k8s.io", "--kubernetes-version", "v1.34.1")
    for image in [i for i in listed.stdout.split() if "/pause:" in i or "/kube-proxy:" in i]:
        assert w.run("crictl", "pull", image).returncode == 0
    out = sandbox(w, "eth0", "192.168.122.10")
    assert out.returncode == 0, out.stderr
    # the stand-in refuses an image nobody pulled, as containerd without a registry does
    w.write("etc/containerd/config.toml", config.read_text().replace("pause:3.10.1", "pause:3.10"))
    missing = sandbox(w, "eth0", "192.168.122.10")
    assert missing.returncode == 1 and 'failed to get sandbox image "%s/pause:3.10"' % (repository or "registry.k8s.io") in missing.stderr
