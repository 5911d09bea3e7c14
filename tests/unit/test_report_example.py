"""The example report under docs/examples/report/ (a real run of examples/local.yml, copied by
scripts/report_example.py) and the README's table of it: report.md and the README's table are
what q8s_report renders for the committed report.json, the report describes examples/local.yml
(every node passed, each guest read from inside), and the
pictures are the ones the run drew, with the cluster's nodes in them."""

import importlib.util
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import yaml

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "report"
SCHEMA = ROOT / "playbooks" / "files" / "report.schema.json"
SPEC = yaml.safe_load((ROOT / "examples" / "local.yml").read_text())


def script():
    spec = importlib.util.spec_from_file_location("report_example", ROOT / "scripts" / "report_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report():
    return json.loads((EXAMPLE / "report.json").read_text())


def svg_texts(name):
    root = ET.parse(EXAMPLE / name).getroot()
    return " ".join(e.text for e in root.iter() if e.tag.endswith("text") and e.text)


def test_report_md_and_the_readme_table_are_what_q8s_report_renders(tmp_path, monkeypatch):
    example = script()
    assert example.main(["report_example.py", "--check"]) == 0
    # and the check can fail: one cell of the README's table changed
    readme = tmp_path / "README.md"
    readme.write_text((ROOT / "README.md").read_text().replace("| x86-small | 1 | x86_64 |", "| x86-small | 2 | x86_64 |", 1))
    assert readme.read_text() != (ROOT / "README.md").read_text()
    monkeypatch.setattr(example, "README", readme)
    assert example.main(["report_example.py", "--check"]) == 1


def test_the_example_is_a_run_of_examples_local_yml():
    data = report()
    jsonschema.validate(data, json.loads(SCHEMA.read_text()))
    assert data["cluster"]["name"] == SPEC["cluster_name"] and data["cluster"]["provider"] == SPEC["provider"]
    assert {row["name"]: row["count"] for row in data["node_types"]} == SPEC["cluster_definition"]["worker"]
    for row in data["node_types"]:
        want = SPEC["vm_types"][row["name"]]
        conf = row["configured"]
        assert conf["architecture"] == models.canonical_architecture(want["architecture"])
        assert (conf["cpu_model"], conf["num_cpus"], conf["ram_mb"], conf["storage_gb"]) == (want["cpu_model"], want["num_cpus"], want["ram"], want["storage"])
        assert conf["link"] == (want.get("network") or {})
    assert data["state"] == ("mismatch" if data["mismatches"] else "ok")
    # the README shows a cluster as built: every node of the example passed
    assert data["state"] == "ok" and not data["mismatches"], data["mismatches"]
    assert all(n["state"] == "ok" for n in data["nodes"]), [n["name"] for n in data["nodes"] if n["state"] != "ok"]
    # every guest was read from inside and is what its type says
    guests = [n for n in data["nodes"] if n["role"] == "guest"]
    assert len(guests) == sum(SPEC["cluster_definition"]["worker"].values()), guests
    for node in guests:
        assert node["observed"]["architecture"] == node["configured"]["architecture"], node
        assert node["observed"]["num_cpus"] == node["configured"]["num_cpus"], node
        assert node["observed"]["cpu"], node
        assert node["observed"]["disk_gb"] == node["configured"]["storage_gb"], node
        assert node["observed"]["memtotal_mb"] and node["observed"]["rtt_ms"] is not None, node
    assert data["stages"], "no stage timings"


def test_the_pictures_show_the_cluster_and_the_readme_links_them():
    data = report()
    topology = svg_texts("topology.svg")
    for node in data["nodes"]:
        assert node["name"] in topology, node["name"]
    timings = svg_texts("timings.svg")
    assert data["stages"][0]["stage"] in timings
    readme = (ROOT / "README.md").read_text()
    for name in ("report.md", "topology.svg", "timings.svg"):
        assert "docs/examples/report/%s" % name in readme, name
