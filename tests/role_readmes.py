"""Write roles/<role>/README.md from the role's meta/argument_specs.yml (one home for the facts).

    .venv/bin/python tests/role_readmes.py          # (re)write every README
    .venv/bin/python tests/role_readmes.py --check  # exit 1 naming the READMEs that differ

Each README: what the role does (the main entry point's description), an example play, the
entry points, and a table of every variable with type, default and description. The examples
are the only hand-written part (EXAMPLES below). tests/unit/test_package_metadata.py runs
--check. A role whose README does not start with the generated marker is left alone.
"""

import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = "<!-- Generated from meta/argument_specs.yml by tests/role_readmes.py: edit those, then run it. -->"

# How the collection's playbooks use each role, as a user would in their own play.
EXAMPLES = {
    "qemu_host": """\
- name: Prepare QEMU hosts
  hosts: q8s_qemu_hosts
  become: true
  roles:
    - role: q8s.cluster.qemu_host
      vars:
        qemu_host_architectures: [aarch64]
""",
    "nat_bridge": """\
- name: Guest network of each QEMU host
  hosts: q8s_qemu_hosts
  become: true
  roles:
    - role: q8s.cluster.nat_bridge
      vars:
        nat_bridge_host_network: 10.0.0.0/24
        nat_bridge_guest_pool: 10.1.0.0/24
        nat_bridge_guest_address: "{{ q8s_node.guest_address }}"
""",
    "emulated_worker": """\
- name: One emulated guest per QEMU host
  hosts: q8s_qemu_hosts
  become: true
  roles:
    - role: q8s.cluster.emulated_worker
      vars:
        emulated_worker_name: worker-arm-1
        emulated_worker_arch: aarch64
        emulated_worker_cpu_model: cortex-a72
        emulated_worker_image: /var/lib/q8s/images/debian-12-arm64.qcow2
        emulated_worker_address: 10.1.0.5
        emulated_worker_gateway: 10.1.0.1

# Remove the guest again (stops and undefines the domain, deletes its files)
- name: Remove a guest
  hosts: q8s_qemu_hosts
  become: true
  tasks:
    - name: Remove it
      ansible.builtin.include_role:
        name: q8s.cluster.emulated_worker
        tasks_from: remove
      vars:
        emulated_worker_name: worker-arm-1
""",
    "link_profile": """\
- name: Shape the guests' links
  hosts: q8s_qemu_hosts
  become: true
  roles:
    - role: q8s.cluster.link_profile
""",
    "k8s_common": """\
- name: Prepare every node for kubeadm
  hosts: q8s_control_plane:q8s_emulated_workers
  become: true
  roles:
    - role: q8s.cluster.k8s_common
      vars:
        k8s_common_kubernetes_version: "1.34"

# Only check that each node reaches its package repositories and registries
- name: Check the sources
  hosts: q8s_control_plane:q8s_emulated_workers
  tasks:
    - name: Check them
      ansible.builtin.include_role:
        name: q8s.cluster.k8s_common
        tasks_from: sources
""",
    "control_plane": """\
- name: Control planes
  hosts: q8s_control_plane
  become: true
  roles:
    - role: q8s.cluster.control_plane

# After the workers joined: wait until every node is Ready
- name: Wait for the cluster
  hosts: q8s_control_plane_initial
  become: true
  tasks:
    - name: Every node Ready
      ansible.builtin.include_role:
        name: q8s.cluster.control_plane
        tasks_from: wait_ready
""",
    "k8s_worker": """\
- name: Join the emulated workers
  hosts: q8s_emulated_workers
  become: true
  roles:
    - role: q8s.cluster.k8s_worker
""",
    "collect_logs": """\
- name: Kubernetes layer, with its evidence on failure
  hosts: q8s_control_plane
  become: true
  tasks:
    - name: The layer
      block:
        - name: Control plane
          ansible.builtin.include_role:
            name: q8s.cluster.control_plane
      rescue:
        - name: Collect this host's evidence into logs/<cluster>/<host>/
          ansible.builtin.include_role:
            name: q8s.cluster.collect_logs
        - name: Fail with the original error
          ansible.builtin.fail:
            msg: "{{ ansible_failed_result.msg | default('failed') }}"
""",
    "api_lb": """\
# Every node, before kubeadm init and the joins (playbooks/tasks/api_lb.yml)
- name: Local API load balancer in front of every control plane
  hosts: q8s_control_plane:q8s_emulated_workers
  become: true
  roles:
    - role: q8s.cluster.api_lb
      vars:
        api_lb_backends: "{{ groups['q8s_control_plane'] | map('extract', hostvars, ['q8s_node', 'host_address']) | list }}"
""",
}


def markup(text):
    """Ansible doc markup to Markdown."""
    text = re.sub(r"[CVIO]\(([^)]*)\)", r"`\1`", str(text))
    text = re.sub(r"B\(([^)]*)\)", r"**\1**", text)
    text = re.sub(r"L\(([^,]*),\s*([^)]*)\)", r"[\1](\2)", text)
    text = re.sub(r"U\(([^)]*)\)", r"<\1>", text)
    return text


def paragraphs(description):
    if description is None:
        return []
    items = description if isinstance(description, list) else [description]
    return [markup(" ".join(str(item).split())) for item in items]


def cell(text):
    return text.replace("|", "\\|").replace("\n", " ")


def default_text(option):
    if "default" not in option:
        return "*required*" if option.get("required") else ""
    value = option["default"]
    if isinstance(value, str):
        return "`%s`" % value if value else '`""`'
    return "`%s`" % json.dumps(value)


def type_text(option):
    kind = option.get("type", "str")
    if kind == "list" and "elements" in option:
        kind = "list of %s" % option["elements"]
    if "choices" in option:
        kind += " (one of %s)" % ", ".join("`%s`" % c for c in option["choices"])
    return kind


def render(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    main = specs["main"]
    out = [MARKER, "", "# q8s.cluster.%s" % role, "", markup(main.get("short_description", "")) + ".", ""]
    for para in paragraphs(main.get("description")):
        out += [para, ""]
    out += ["## Example", "", "```yaml", EXAMPLES[role].rstrip("\n"), "```", ""]
    if len(specs) > 1:
        out += ["## Entry points", "", "| Entry point | What it does |", "| --- | --- |"]
        for entry, spec in specs.items():
            how = "the role itself" if entry == "main" else "`tasks_from: %s`" % entry
            what = " ".join([markup(spec.get("short_description", "")) + "."] + paragraphs(spec.get("description")))
            out.append("| %s (%s) | %s |" % (entry, how, cell(what)))
        out.append("")
    out += ["## Variables", ""]
    if len(specs) > 1:
        out += ["Of the main entry point; the other entry points read the subset listed after the table.", ""]
    out += ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for name, option in sorted((main.get("options") or {}).items()):
        out.append(
            "| `%s` | %s | %s | %s |" % (name, cell(type_text(option)), cell(default_text(option)), cell(" ".join(paragraphs(option.get("description")))))
        )
    out.append("")
    for entry, spec in specs.items():
        if entry == "main":
            continue
        options = spec.get("options") or {}
        extra = sorted(set(options) - set(main.get("options") or {}))
        names = ", ".join("`%s`" % n for n in sorted(options)) or "none"
        out += ["`%s` reads: %s." % (entry, names), ""]
        for name in extra:
            option = options[name]
            out += [
                "- `%s` (%s, default %s): %s" % (name, type_text(option), default_text(option) or "none", " ".join(paragraphs(option.get("description")))),
                "",
            ]
    out += ["`ansible-doc -t role q8s.cluster.%s` shows the same from the installed collection." % role, ""]
    return "\n".join(out)


def roles():
    return sorted(r for r in os.listdir(os.path.join(ROOT, "roles")) if os.path.isfile(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))


def main(argv):
    check = "--check" in argv
    differ = []
    for role in roles():
        path = os.path.join(ROOT, "roles", role, "README.md")
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current is not None and not current.startswith(MARKER):
            continue
        if role not in EXAMPLES:
            differ.append("%s: no example in tests/role_readmes.py EXAMPLES" % role)
            continue
        text = render(role)
        if current != text:
            if check:
                differ.append("%s: README.md differs from meta/argument_specs.yml (run tests/role_readmes.py)" % path)
            else:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
    for line in differ:
        print(line, file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
