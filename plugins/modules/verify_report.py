#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: verify_report
short_description: Write a q8s cluster's report (JSON, Markdown, topology and timing pictures)
version_added: "0.2.0"
description:
  - Writes C(report.json) (schema C(playbooks/files/report.schema.json), version 1),
    C(report.md) (a table per node type, the other nodes, the mismatches, the stage
    timings), C(topology.svg) (drawn by Graphviz's C(dot)) and C(timings.svg) (matplotlib)
    into O(dest).
  - Runs on the controller. Compares nothing itself; the mismatches come from the
    C(q8s.cluster.verify_*) filters.
  - Without graphviz or matplotlib the JSON and Markdown are written and the missing
    picture is named in a warning.
options:
  dest:
    description: Directory of the report (created); C(<state_dir>/report).
    type: path
    required: true
  cluster:
    description: C(name), C(provider), C(kubernetes_version) of the cluster.
    type: dict
    required: true
  nodes:
    description: One dict per node (name, role, vm_type, qemu_host, address, node_address, spec, observed).
    type: list
    elements: dict
    required: true
  mismatches:
    description: Mismatch records (node, layer, field, expected, observed).
    type: list
    elements: dict
    default: []
  timing_file:
    description:
      - The phase_report callback's C(timing.json) of the run that built the cluster (site.yml
        passes it); its stages are kept in O(dest)/timing.json.
      - Unset (verify.yml on its own), the stages kept in O(dest)/timing.json are reported.
    type: path
  kubernetes:
    description: Whether the Kubernetes layer was C(checked) or C(skipped).
    type: str
    default: checked
    choices: [checked, skipped]
requirements:
  - graphviz (Python package) and Graphviz's C(dot) program
  - matplotlib
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Write the report
  q8s.cluster.verify_report:
    dest: ~/.q8s/demo/report
    cluster: {name: demo, provider: openstack, kubernetes_version: "1.34.1"}
    nodes: "{{ nodes }}"
    mismatches: "{{ mismatches }}"
    timing_file: logs/timing.json
"""

RETURN = r"""
files:
  description: Paths written.
  returned: always
  type: list
  elements: str
state:
  description: C(ok) when nothing mismatched, else C(mismatch).
  returned: always
  type: str
"""

import datetime
import json
import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_report

try:
    import graphviz

    HAS_GRAPHVIZ = True
except ImportError:
    HAS_GRAPHVIZ = False

try:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    HAS_MATPLOTLIB = True
except ImportError:
    HAS_MATPLOTLIB = False


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            cluster=dict(type="dict", required=True),
            nodes=dict(type="list", elements="dict", required=True),
            mismatches=dict(type="list", elements="dict", default=[]),
            timing_file=dict(type="path"),
            kubernetes=dict(type="str", default="checked", choices=["checked", "skipped"]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    dest = params["dest"]
    kept = os.path.join(dest, "timing.json")
    source = params["timing_file"] or kept
    stages = []
    if os.path.exists(source):
        with open(source) as handle:
            stages = json.load(handle).get("stages", [])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = q8s_report.build_report(params["cluster"], params["nodes"], params["mismatches"], stages, params["kubernetes"], now)
    files = [os.path.join(dest, name) for name in ("report.json", "report.md", "topology.svg", "timings.svg")]
    if module.check_mode:
        module.exit_json(changed=False, files=files, state=report["state"])
    os.makedirs(dest, exist_ok=True)
    if params["timing_file"]:
        _write(kept, json.dumps({"source": params["timing_file"], "stages": stages}, indent=2, sort_keys=True) + "\n")
    _write(files[0], json.dumps(report, indent=2, sort_keys=True) + "\n")
    _write(files[1], q8s_report.render_markdown(report))
    written = files[:2]
    # Without the drawing libraries the report is still written, the pictures are not.
    if not HAS_GRAPHVIZ:
        module.warn("topology.svg not drawn: %s" % missing_required_lib("graphviz"))
    else:
        try:
            _write(files[2], q8s_report.topology_dot(report, graphviz).pipe(format="svg", encoding="utf-8"))
            written.append(files[2])
        except (graphviz.ExecutableNotFound, graphviz.CalledProcessError) as exc:
            module.warn("topology.svg not drawn: Graphviz's dot failed (Debian: apt-get install graphviz): %s" % exc)
    if not HAS_MATPLOTLIB:
        module.warn("timings.svg not drawn: %s" % missing_required_lib("matplotlib"))
    else:
        q8s_report.timings_chart(report, files[3], pyplot)
        written.append(files[3])
    # A report describes this moment: it is rewritten on every run, which changes nothing on the cluster.
    module.exit_json(changed=False, files=written, state=report["state"])


if __name__ == "__main__":
    main()
