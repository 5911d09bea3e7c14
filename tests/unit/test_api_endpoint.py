"""Issue 14, defect 8: the API endpoint the nodes are given must survive losing any one
control plane, the initial one included.

For a cluster of two control planes, role control_plane renders the kubeadm config of
the extra control plane (controlPlaneEndpoint, which kubeadm also hands to every joining
node) and role api_lb renders haproxy's config with the backends
playbooks/tasks/api_lb.yml gives it, both by Ansible from the roles' own defaults and
vars. In a network namespace of its own (and a PID namespace, so that nothing outlives the
test even when it times out), two stand-in API servers (HTTPS,
molecule/api_lb/files/standin_apiserver.py) play the control planes at 127.0.0.2 and
127.0.0.3, and Debian's haproxy runs the rendered config (its `user`/`group`/`log`
lines dropped: the namespace has no haproxy user and no syslog). The initial control
plane's API server is stopped; every request to the endpoint must still be answered.

haproxy comes from PATH or Q8S_HAPROXY (with LD_LIBRARY_PATH as needed); without it the
test is skipped when the endpoint needs it.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
API_LB_FILES = ROOT / "molecule" / "api_lb" / "files"
PLANES = {"cp-0": "127.0.0.2", "cp-1": "127.0.0.3"}

PLAYBOOK = """
- name: Render what the extra control plane is given
  hosts: cp-1
  connection: local
  gather_facts: false
  tasks:
    - name: kubeadm config (role control_plane's defaults and vars)
      ansible.builtin.template:
        src: "{{ q8s_root }}/roles/control_plane/templates/kubeadm-config.yaml.j2"
        dest: "{{ q8s_out }}/kubeadm-config.yaml"
        mode: "0600"
    - name: haproxy config (role api_lb's defaults, backends as playbooks/tasks/api_lb.yml passes them)
      ansible.builtin.template:
        src: "{{ q8s_root }}/roles/api_lb/templates/haproxy.cfg.j2"
        dest: "{{ q8s_out }}/haproxy.cfg"
        mode: "0644"
      vars:
        api_lb_backends: %(backends)s
"""

NETWORK = """
ip link set lo up
cd "$1"
python3 "$2/standin_apiserver.py" a 127.0.0.2 6443 cert.pem key.pem 2>standin-a.log & a=$!
python3 "$2/standin_apiserver.py" b 127.0.0.3 6443 cert.pem key.pem 2>standin-b.log & b=$!
lb=""
if [ -n "$5" ]; then "$5" -f haproxy.cfg -db >haproxy.log 2>&1 & lb=$!; fi
for i in $(seq 30); do python3 "$2/probe.py" "$3" "$4" 2 >/dev/null && break; sleep 0.5; done
python3 "$2/probe.py" "$3" "$4" 4
echo LOSE-A
kill $a
sleep 7
python3 "$2/probe.py" "$3" "$4" 10 && echo ENDPOINT-SURVIVED || echo ENDPOINT-LOST
kill $b $lb 2>/dev/null
wait
"""


def render(tmp):
    with open(ROOT / "playbooks" / "tasks" / "api_lb.yml") as f:
        backends = yaml.safe_load(f)[0]["vars"]["api_lb_backends"]
    out = tmp / "out"
    out.mkdir()
    playbook = tmp / "playbook.yml"
    text = PLAYBOOK % {"backends": json.dumps(backends)}
    play = yaml.safe_load(text)
    play[0]["vars_files"] = [
        str(ROOT / "roles" / r / d / "main.yml")
        for r in ("control_plane", "api_lb")
        for d in ("defaults", "vars")
        if (ROOT / "roles" / r / d / "main.yml").exists()
    ]
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    hosts = {name: {"q8s_node": {"host_address": address, "name": name}} for name, address in PLANES.items()}
    inventory = {
        "all": {
            "vars": {"q8s_cluster": {"cluster_name": "lb", "kubernetes_version": "1.34.1"}},
            "children": {
                "q8s_control_plane": {"hosts": hosts},
                "q8s_control_plane_initial": {"hosts": {"cp-0": {}}},
                "q8s_control_plane_extra": {"hosts": {"cp-1": {}}},
            },
        }
    }
    (tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_INVENTORY_ENABLED="yaml", Q8S_REPORT_DIR=str(tmp / "logs"), ANSIBLE_NOCOLOR="1")
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(tmp / "inventory.yml"), str(playbook)]
    argv += ["-e", json.dumps({"q8s_root": str(ROOT), "q8s_out": str(out), "ansible_python_interpreter": sys.executable})]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return out


def haproxy():
    return os.environ.get("Q8S_HAPROXY") or shutil.which("haproxy")


def test_the_endpoint_survives_losing_the_initial_control_plane(tmp_path):
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False).returncode != 0:
        pytest.skip("needs unshare -rn (a private network namespace)")
    out = render(tmp_path)
    docs = list(yaml.safe_load_all((out / "kubeadm-config.yaml").read_text()))
    endpoint = next(d for d in docs if d and d.get("kind") == "ClusterConfiguration")["controlPlaneEndpoint"]
    host, port = endpoint.rsplit(":", 1)
    lb = ""
    if (host, port) == ("127.0.0.1", "6444"):
        lb = haproxy()
        if not lb:
            pytest.skip("the endpoint is the local load balancer and no haproxy is here (PATH or Q8S_HAPROXY)")
        config = [line for line in (out / "haproxy.cfg").read_text().splitlines() if line.split()[:1] not in (["user"], ["group"], ["log"])]
        (out / "haproxy.cfg").write_text("\n".join(config) + "\n")
        assert [line.split()[-1] for line in config if line.strip().startswith("server ")] == ["127.0.0.2:6443", "127.0.0.3:6443"], config
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kube-apiserver", "-keyout", "key.pem", "-out", "cert.pem"],
        cwd=out,
        capture_output=True,
        check=True,
    )
    proc = subprocess.run(
        ["unshare", "-rnpf", "--kill-child", "sh", "-c", NETWORK, "sh", str(out), str(API_LB_FILES), host, port, lb],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = "endpoint %s\n%s%s" % (endpoint, proc.stdout, proc.stderr)
    assert "LOSE-A" in proc.stdout, report
    assert "ENDPOINT-SURVIVED" in proc.stdout, report
    before, after = (part.split() for part in proc.stdout.split("LOSE-A", 1))
    assert before and "ERROR" not in before, report
    assert after.count("b") == 10 and "a" not in after, report
