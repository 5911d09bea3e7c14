"""plugins/module_utils/q8s_report.py and module verify_report: the report's JSON against its
versioned schema, the Markdown table, the topology (Graphviz) and the timing chart
(matplotlib), from recorded guest facts."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import jsonschema
import matplotlib
import pytest

from ansible_collections.q8s.cluster.plugins.filter.q8s_verify import verify_observed
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_report as r
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_verify as v

matplotlib.use("Agg")
from matplotlib import pyplot  # noqa: E402  (after the backend is chosen)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "playbooks" / "files" / "report.schema.json").read_text())
FIXTURES = Path(__file__).parent / "fixtures" / "verify"
X86 = {"architecture": "x86_64", "cpu_model": "EPYC-Rome", "num_cpus": 2, "ram": 1024, "storage": 4, "network": {"bandwidth_mbit": 40}}
ARM = {"architecture": "aarch64", "cpu_model": "cortex-a57", "num_cpus": 2, "ram": 1536, "storage": 5, "network": None}
STAGES = [
    {"stage": "Provision", "duration_s": 31.2, "hosts": 1, "slowest_host": "localhost", "slowest_s": 31.0, "per_host_s": {}},
    {"stage": "QEMU hosts and NAT", "duration_s": 102.5, "hosts": 4, "slowest_host": "a", "slowest_s": 100.0, "per_host_s": {}},
    {"stage": "Kubernetes (skipped by tags)", "duration_s": 0.0, "hosts": 0, "slowest_host": None, "slowest_s": 0.0, "per_host_s": {}},
]


def guest(name, vm_type, spec, fixture, host_offset):
    data = json.loads((FIXTURES / fixture).read_text())
    return {
        "name": name,
        "role": "guest",
        "vm_type": vm_type,
        "qemu_host": name + "-host",
        "address": "10.89.80.%d" % host_offset,
        "node_address": "100.64.0.%d" % host_offset,
        "spec": spec,
        "observed": verify_observed(data, spec),
        "facts": data,
    }


def cluster_nodes():
    guests = [guest("demo--x86-small-1", "x86-small", X86, "guest-x86_64.json", 3), guest("demo--arm-small-1", "arm-small", ARM, "guest-aarch64.json", 4)]
    others = [{"name": "demo--cp-0", "role": "control_plane", "address": "10.89.80.2"}]
    others += [{"name": g["qemu_host"], "role": "qemu_host", "vm_type": g["vm_type"], "address": g["address"]} for g in guests]
    return guests, others


def make_report(mismatches=None):
    guests, others = cluster_nodes()
    if mismatches is None:
        mismatches = []
        for g in guests:
            mismatches += v.check_guest(g["name"], g["spec"], g["facts"])
    nodes = [{k: val for k, val in g.items() if k != "facts"} for g in guests] + others
    return r.build_report({"name": "demo", "provider": "local", "kubernetes_version": "1.34.1"}, nodes, mismatches, STAGES, "skipped", "2026-12-05T06:00:00Z")


def test_report_validates_and_says_ok():
    report = make_report()
    jsonschema.validate(report, SCHEMA)
    assert report["schema_version"] == SCHEMA["properties"]["schema_version"]["const"] == r.SCHEMA_VERSION
    assert report["state"] == "ok"
    assert [t["name"] for t in report["node_types"]] == ["arm-small", "x86-small"]
    x86 = report["node_types"][1]
    assert x86["count"] == 1 and x86["configured"]["link"] == {"bandwidth_mbit": 40}
    assert x86["reported_cpu"] == "AMD EPYC-Rome Processor"
    assert [s["stage"] for s in report["stages"]] == ["Provision", "QEMU hosts and NAT"]  # not the stage that ran nowhere


def test_schema_refuses_what_it_does_not_describe():
    report = make_report()
    report["nodes"][0]["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)
    report = make_report()
    report["schema_version"] = 2
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, SCHEMA)


def test_markdown_table_per_node_type_with_mismatches_and_stages():
    bad = [{"node": "demo--arm-small-1", "layer": "guest", "field": "num_cpus", "expected": 2, "observed": 1}]
    report = make_report(bad)
    jsonschema.validate(report, SCHEMA)
    md = r.render_markdown(report)
    row = "| x86-small | 1 | x86_64 | EPYC-Rome (AMD EPYC-Rome Processor) | 2 | 1024 MiB (guest sees >= 901) | 4 GiB | 40 Mbit/s | round trip 18.8 ms | ok |"
    assert row in md
    assert "| arm-small | 1 | aarch64 | cortex-a57 (cortex-a57 (implementer 0x41, part 0xd07)) | 2 | 1536 MiB" in md
    assert "| mismatch |" in md.split("| arm-small |")[1].splitlines()[0]
    assert "| demo--arm-small-1 | guest | num_cpus | 2 | 1 |" in md
    assert "| QEMU hosts and NAT | 4 | 102.5 s |" in md and "| total | | 133.7 s |" in md
    assert "| demo--cp-0 | control plane | 10.89.80.2 | ok |" in md
    # an observed value of several lines (an SSH error) stays one table row
    ssh = [{"node": "demo--arm-small-1", "layer": "guest", "field": "ssh", "expected": "answers", "observed": "timed out\r\nConnection | closed"}]
    assert "| demo--arm-small-1 | guest | ssh | answers | timed out Connection \\| closed |" in r.render_markdown(make_report(ssh)).splitlines()


def test_topology_has_every_node_grouped_by_type():
    report = make_report()
    graph = r.topology_dot(report, graphviz)
    source = graph.source
    for name in ("demo--cp-0", "demo--x86-small-1", "demo--x86-small-1-host", "demo--arm-small-1", "demo--arm-small-1-host"):
        assert '"%s"' % name in source or "\t%s " % name in source or name in source
    assert "subgraph cluster_type_x86-small" in source or 'subgraph "cluster_type_x86-small"' in source
    assert "link: 40 Mbit/s" in source and "link: unshaped" in source


def test_timing_chart_is_an_svg_with_the_stage_names(tmp_path):
    path = tmp_path / "timings.svg"
    r.timings_chart(make_report(), str(path), pyplot)
    texts = " ".join(e.text or "" for e in ET.parse(path).getroot().iter() if e.tag.endswith("text"))
    assert "Provision" in texts and "QEMU hosts and NAT" in texts and "102.5 s" in texts
