"""plugins/filter/q8s_kubeadm.py: the JoinConfiguration of a join and the
redaction of kubeadm's output (issue 14, defects 2 and 4), and the shape of
playbooks/repair/readd_control_plane.yml (issue 13: one node at a time)."""

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("q8s_kubeadm", ROOT / "plugins/filter/q8s_kubeadm.py")
kubeadm = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(kubeadm)

TOKEN = "abcdef.0123456789abcdef"
HASH = "sha256:" + "0" * 64
KEY = "f" * 64
JOIN = "kubeadm join 10.0.0.5:6443 --token %s --discovery-token-ca-cert-hash %s " % (TOKEN, HASH)


def test_worker_join_configuration_v1beta4_raises_kubeadms_timeouts():
    config = kubeadm.kubeadm_join_configuration(JOIN, "kubeadm.k8s.io/v1beta4", "w-1", "unix:///c.sock", 1800)
    assert config["discovery"]["bootstrapToken"] == {"apiServerEndpoint": "10.0.0.5:6443", "token": TOKEN, "caCertHashes": [HASH]}
    assert config["timeouts"] == {"discovery": "1800s", "kubeletHealthCheck": "1800s", "tlsBootstrap": "1800s"}
    assert "controlPlane" not in config
    assert config["nodeRegistration"] == {"name": "w-1", "criSocket": "unix:///c.sock"}


def test_control_plane_join_configuration_carries_the_key_and_endpoint():
    config = kubeadm.kubeadm_join_configuration(JOIN, "kubeadm.k8s.io/v1beta4", "cp-1", "unix:///c.sock", 900, KEY + "\n", "10.0.0.6", "6443")
    assert config["controlPlane"] == {"certificateKey": KEY, "localAPIEndpoint": {"advertiseAddress": "10.0.0.6", "bindPort": 6443}}
    assert config["timeouts"]["controlPlaneComponentHealthCheck"] == "900s"


def test_v1beta3_has_only_the_discovery_timeout():
    config = kubeadm.kubeadm_join_configuration(JOIN, "kubeadm.k8s.io/v1beta3", "w-1", "unix:///c.sock", 1800)
    assert config["discovery"]["timeout"] == "1800s"
    assert "timeouts" not in config


def test_a_bad_join_command_is_reported_without_its_secret():
    with pytest.raises(Exception) as err:
        kubeadm.kubeadm_join_configuration("kubeadm join --token " + TOKEN, "kubeadm.k8s.io/v1beta4", "w", "s", 1)
    assert TOKEN not in str(err.value) and "<token>" in str(err.value)


def test_redact_hides_tokens_and_certificate_keys():
    text = "error: token %s invalid; key %s; id abcdef" % (TOKEN, KEY)
    out = kubeadm.kubeadm_redact(text)
    assert TOKEN not in out and KEY not in out
    assert out == "error: token <token> invalid; key <key>; id abcdef"
    assert kubeadm.kubeadm_redact(None) == ""


def test_readd_control_plane_removes_and_rejoins_each_node_before_the_next():
    """Issue 13: the reset of a node and its join run in one play with serial: 1,
    so etcd never loses two members at once."""
    plays = yaml.safe_load((ROOT / "playbooks/repair/readd_control_plane.yml").read_text())

    def includes(play):
        """(role, tasks_from) of every role the play runs."""
        out = [((r.get("role") if isinstance(r, dict) else r), "main") for r in play.get("roles", [])]
        for task in play.get("tasks", []) + play.get("pre_tasks", []) + play.get("post_tasks", []):
            inc = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
            if inc:
                out.append((inc["name"], inc.get("tasks_from", "main")))
        return out

    def resets(play):
        argvs = [(t.get("ansible.builtin.command") or {}).get("argv", []) for t in play.get("tasks", [])]
        return ("q8s.cluster.control_plane", "reset_node") in includes(play) or ["kubeadm", "reset"] in [a[:2] for a in argvs]

    resetting = [p for p in plays if resets(p)]
    assert len(resetting) == 1, "one play resets the nodes"
    assert ("q8s.cluster.control_plane", "main") in includes(resetting[0]), "the play that resets a node also joins it again"
    assert resetting[0].get("serial") == 1


def _roles_run(tasks):
    """(role, tasks_from) of every include_role/import_role in tasks, blocks included."""
    out = []
    for task in tasks or []:
        for key in ("block", "rescue", "always"):
            out += _roles_run(task.get(key))
        inc = task.get("ansible.builtin.include_role") or task.get("ansible.builtin.import_role")
        if inc:
            out.append((inc["name"], inc.get("tasks_from", "main")))
    return out


@pytest.mark.parametrize("playbook", ["playbooks/kubernetes.yml", "playbooks/site.yml"])
def test_the_version_check_stops_every_node_before_a_package_moves(playbook):
    """Issue 14, defect 7: without this play first, a new minor in the spec upgrades
    kubelet, kubeadm and kubectl through apt (k8s_common) and nothing runs kubeadm
    upgrade (shown on the whole kubernetes.yml, docs/kubernetes.md)."""
    plays = yaml.safe_load((ROOT / playbook).read_text())
    runs = [
        _roles_run(p.get("tasks", []) + p.get("pre_tasks", [])) + [(r.get("role") if isinstance(r, dict) else r, "main") for r in p.get("roles", [])]
        for p in plays
    ]
    check = [i for i, r in enumerate(runs) if ("q8s.cluster.control_plane", "version_check") in r]
    packages = [i for i, r in enumerate(runs) if any(run[0] == "q8s.cluster.k8s_common" for run in r)]
    if playbook.endswith("site.yml"):
        packages.append([i for i, p in enumerate(plays) if p.get("ansible.builtin.import_playbook") == "kubernetes.yml"][0])
    assert check and packages, "%s: no version check or no k8s_common play found" % playbook
    assert check[0] < min(packages), "%s: a play runs k8s_common before the version check" % playbook
    assert plays[check[0]]["hosts"] == "q8s_control_plane_initial"
    assert plays[check[0]].get("any_errors_fatal") is True, "a refusal must stop every node, not only the control plane"
