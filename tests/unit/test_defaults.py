"""The shared defaults have one home each (module_utils/q8s_defaults.py, filters default_of and
state_dir of plugins/filter/q8s_defaults.py): the Kubernetes version, the state directory and
the Flannel gate taint."""

import glob
import json
import os
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_defaults as f
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults as d
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_spec, q8s_verify
from inventory_cases import ROOT, run

HOME = os.path.expanduser("~")
# (role, variable): what its default must be, from the one home
SHARED = {
    ("k8s_common", "k8s_common_kubernetes_version"): "{{ q8s_cluster.kubernetes_version | default('kubernetes_version' | q8s.cluster.default_of) }}",
    ("control_plane", "control_plane_kubernetes_version"): "{{ q8s_cluster.kubernetes_version | default('kubernetes_version' | q8s.cluster.default_of) }}",
    ("k8s_worker", "k8s_worker_kubernetes_version"): "{{ q8s_cluster.kubernetes_version | default('kubernetes_version' | q8s.cluster.default_of) }}",
    ("control_plane", "control_plane_flannel_gate_taint"): "{{ 'flannel_gate_taint' | q8s.cluster.default_of }}",
    ("k8s_worker", "k8s_worker_flannel_gate_taint"): "{{ 'flannel_gate_taint' | q8s.cluster.default_of }}",
    ("control_plane", "control_plane_state_dir"): "{{ q8s_cluster | default({}) | q8s.cluster.state_dir }}",
}


def load(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize(
    "name, value",
    [
        ("kubernetes_version", d.KUBERNETES_VERSION),
        ("flannel_gate_taint", "q8s.io/flannel-pending"),
        ("state_root", "~/.q8s"),
        ("golden_dir", "~/.q8s/images"),
    ],
)
def test_default_of(name, value):
    assert f.default_of(name) == value


def test_default_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(AnsibleFilterError, match="no shared default 'k8s_version'; known: flannel_gate_taint, golden_dir"):
        f.default_of("k8s_version")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"cluster_name": "demo", "state_dir": "/srv/q8s/demo"}, "/srv/q8s/demo"),
        ({"cluster_name": "demo", "state_dir": "~/clusters/demo"}, HOME + "/clusters/demo"),
        ({"cluster_name": "demo"}, HOME + "/.q8s/demo"),
        ({"cluster_name": "demo", "state_dir": None}, HOME + "/.q8s/demo"),
        ({}, HOME + "/.q8s/q8s"),
        (None, HOME + "/.q8s/q8s"),
    ],
)
def test_state_dir(spec, expected):
    assert f.state_dir(spec) == expected


def test_state_dir_needs_a_mapping():
    with pytest.raises(AnsibleFilterError, match="must be the cluster spec"):
        f.state_dir("demo")


def test_the_spec_takes_its_defaults_from_the_one_home():
    with open(os.path.join(ROOT, "examples", "cluster.yml"), encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    del raw["kubernetes_version"]
    spec = q8s_spec.normalise(raw)[0]
    assert spec["kubernetes_version"] == d.KUBERNETES_VERSION
    assert spec["state_dir"] == d.STATE_ROOT + "/demo"
    assert f.state_dir(spec) == os.path.expanduser("~/.q8s/demo")


def test_verify_looks_for_the_same_gate_taint():
    node = {
        "metadata": {"name": "c--cp-0"},
        "spec": {"podCIDR": "10.244.0.0/24", "taints": [{"key": d.FLANNEL_GATE_TAINT, "value": "true", "effect": "NoExecute"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    expected = {"c--cp-0": {"role": "control_plane"}}
    assert [m["field"] for m in q8s_verify.check_kubernetes({"items": [node]}, expected)] == ["taints"]
    node["spec"]["taints"] = []
    assert q8s_verify.check_kubernetes({"items": [node]}, expected) == []


def code_lines():
    """Every non-comment line of the code that reads these values: role and playbook YAML and
    templates, the plugins' Python but the home itself."""
    patterns = ["roles/*/defaults/*.yml", "roles/*/vars/*.yml", "roles/*/tasks/*.yml", "roles/*/templates/*", "roles/*/handlers/*.yml"]
    patterns += ["roles/*/meta/argument_specs.yml", "playbooks/**/*.yml", "plugins/filter/*.py", "plugins/module_utils/*.py", "plugins/inventory/*.py"]
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True)):
            if path.endswith(os.path.join("module_utils", "q8s_defaults.py")):
                continue
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, 1):
                    if not line.strip().startswith("#"):
                        yield "%s:%d" % (os.path.relpath(path, ROOT), number), line


@pytest.mark.parametrize("value", [d.KUBERNETES_VERSION, d.FLANNEL_GATE_TAINT, d.STATE_ROOT])
def test_no_second_copy_of_a_shared_value_in_the_code(value):
    copies = [where for where, line in code_lines() if value in line]
    assert not copies, "%r has its home in module_utils/q8s_defaults.py; read it there: %s" % (value, copies)


def test_role_defaults_and_argument_specs_read_the_home():
    for (role, name), expected in sorted(SHARED.items()):
        assert load("roles/%s/defaults/main.yml" % role)[name] == expected, (role, name)
        entries = load("roles/%s/meta/argument_specs.yml" % role)["argument_specs"]
        documented = [(entry, spec["options"][name].get("default")) for entry, spec in entries.items() if name in (spec.get("options") or {})]
        assert documented, (role, name)
        assert all(default == expected for dummy, default in documented), (role, name, documented)


def test_role_defaults_render_to_the_home_through_ansible(tmp_path):
    """The role defaults, templated by ansible-playbook: the constants without the q8s
    inventory's q8s_cluster, the spec's values with it."""
    files = ["roles/k8s_common/defaults/main.yml", "roles/control_plane/defaults/main.yml", "roles/k8s_worker/defaults/main.yml"]
    names = sorted(name for dummy, name in SHARED)
    out = tmp_path / "out.json"
    playbook = tmp_path / "render.yml"
    content = "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (name, name) for name in names)
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "vars_files": [os.path.join(ROOT, path) for path in files],
                    "tasks": [{"ansible.builtin.copy": {"dest": str(out), "mode": "0644", "content": content}}],
                }
            ]
        )
    )

    def render(*extra):
        proc = run(["ansible-playbook", "-i", "localhost,", "-e", "ansible_python_interpreter=" + sys.executable, str(playbook), *extra])
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(out.read_text())

    alone = render()
    assert alone["k8s_common_kubernetes_version"] == alone["control_plane_kubernetes_version"] == alone["k8s_worker_kubernetes_version"] == d.KUBERNETES_VERSION
    assert alone["control_plane_flannel_gate_taint"] == alone["k8s_worker_flannel_gate_taint"] == d.FLANNEL_GATE_TAINT
    assert alone["control_plane_state_dir"] == os.path.expanduser("~/.q8s/q8s")
    spec = {"q8s_cluster": {"cluster_name": "lab", "kubernetes_version": "1.31.4", "state_dir": "~/labs/lab"}}
    given = render("-e", json.dumps(spec))
    assert given["k8s_common_kubernetes_version"] == given["control_plane_kubernetes_version"] == given["k8s_worker_kubernetes_version"] == "1.31.4"
    assert given["control_plane_state_dir"] == os.path.expanduser("~/labs/lab")
    named = render("-e", json.dumps({"q8s_cluster": {"cluster_name": "lab"}}))
    assert named["control_plane_state_dir"] == os.path.expanduser("~/.q8s/lab")


def test_documented_defaults_are_the_homes_values():
    assert load("plugins/filter/verify_kubernetes.yml")["DOCUMENTATION"]["options"]["gate_taint"]["default"] == d.FLANNEL_GATE_TAINT
    with open(os.path.join(ROOT, "docs", "cluster-spec.md"), encoding="utf-8") as handle:
        rows = {line.split("|")[1].strip(): line for line in handle if line.startswith("| `")}
    assert "`%s`" % d.KUBERNETES_VERSION in rows["`kubernetes_version`"]
    assert "`%s/<cluster_name>`" % d.STATE_ROOT in rows["`state_dir`"]
