# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The cluster report: what was built, as a researcher describes it in a paper.

Pure data shaping (``build_report``, ``render_markdown``, ``topology_dot``) plus two
drawing helpers that use libraries made for it: Graphviz's ``dot`` (through the
``graphviz`` Python package) for the topology, matplotlib for the stage timings.
The JSON layout is versioned: ``SCHEMA_VERSION`` and ``report.schema.json`` beside
the playbooks (``playbooks/files/report.schema.json``) change together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_verify import memory_range_mb, profile_text

SCHEMA_VERSION = 1


def _state(mismatches):
    return "ok" if not mismatches else "mismatch"


def build_report(cluster, nodes, mismatches, stages=None, kubernetes="checked", generated_at=None):
    """The report as plain data (the content of report.json).

    ``cluster``: {name, provider, kubernetes_version}. ``nodes``: one dict per inventory
    node: {name, role (control_plane|qemu_host|guest), vm_type, qemu_host, address,
    node_address, spec (vm_type_spec, guests only), observed: {architecture, cpu,
    num_cpus, memtotal_mb, disk_gb, rtt_ms, bandwidth_mbit, link}}. ``mismatches``: the
    records of q8s_verify. ``stages``: rows of the phase_report callback's timing.json."""
    by_node = {}
    for item in mismatches:
        by_node.setdefault(item["node"], []).append(item)
    out_nodes = []
    for node in sorted(nodes, key=lambda n: (n["role"], n["name"])):
        entry = {key: node.get(key) for key in ("name", "role", "vm_type", "qemu_host", "address", "node_address")}
        if node["role"] == "guest":
            spec = node["spec"]
            entry["configured"] = {
                "architecture": spec["architecture"],
                "cpu_model": spec["cpu_model"],
                "num_cpus": int(spec["num_cpus"]),
                "ram_mb": int(spec["ram"]),
                "storage_gb": int(spec["storage"]),
                "link": spec.get("network") or {},
            }
            entry["observed"] = dict(node.get("observed") or {})
        entry["mismatches"] = [dict(m) for m in by_node.get(node["name"], [])]
        entry["state"] = _state(entry["mismatches"])
        out_nodes.append(entry)
    types = {}
    for entry in out_nodes:
        if entry["role"] != "guest":
            continue
        row = types.setdefault(
            entry["vm_type"], {"name": entry["vm_type"], "count": 0, "configured": entry["configured"], "nodes": [], "measured_rtt_ms": [], "state": "ok"}
        )
        row["count"] += 1
        row["nodes"].append(entry["name"])
        if entry["observed"].get("rtt_ms") is not None:
            row["measured_rtt_ms"].append(entry["observed"]["rtt_ms"])
        if entry["state"] != "ok":
            row["state"] = "mismatch"
        row.setdefault("reported_cpu", entry["observed"].get("cpu"))
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at,
        "cluster": dict(cluster),
        "kubernetes": kubernetes,
        "state": _state(mismatches),
        "node_types": [types[name] for name in sorted(types)],
        "nodes": out_nodes,
        "mismatches": [dict(m) for m in mismatches],
        # stages that ran on no host (skipped by tags or conditions) say nothing about the build
        "stages": [{"stage": s["stage"], "duration_s": s["duration_s"], "hosts": s["hosts"]} for s in stages or [] if s["hosts"]],
    }


def _measured(row):
    rtts = row["measured_rtt_ms"]
    if not rtts:
        return "not measured"
    return "round trip %.1f..%.1f ms" % (min(rtts), max(rtts)) if len(rtts) > 1 else "round trip %.1f ms" % rtts[0]


def _cell(value):
    """A Markdown table cell: one line (an error message may have several), no bare |."""
    return " ".join(str(value).split()).replace("|", "\\|")


def node_types_table(report):
    """The table of emulated node types (Markdown lines): count, architecture, CPU model as
    configured and as the guests report it, vCPUs, RAM, disk, link configured and measured,
    state. report.md shows it, and so does the README for the example cluster."""
    lines = [
        "| type | count | architecture | CPU model (guest reports) | vCPUs | RAM | disk | link configured | link measured | state |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["node_types"]:
        conf = row["configured"]
        low = memory_range_mb(conf["ram_mb"])[0]
        lines.append(
            "| %s | %d | %s | %s (%s) | %d | %d MiB (guest sees >= %d) | %d GiB | %s | %s | %s |"
            % (
                row["name"],
                row["count"],
                conf["architecture"],
                conf["cpu_model"],
                row.get("reported_cpu") or "not read",
                conf["num_cpus"],
                conf["ram_mb"],
                low,
                conf["storage_gb"],
                profile_text(conf["link"]),
                _measured(row),
                row["state"],
            )
        )
    return lines


def render_markdown(report):
    """report.md: one table of node types, the other nodes, the mismatches, the stages."""
    cluster = report["cluster"]
    lines = [
        "# Cluster %s" % cluster["name"],
        "",
        "Provider %s, Kubernetes %s (%s). Verified: **%s**%s."
        % (
            cluster.get("provider"),
            cluster.get("kubernetes_version"),
            report["kubernetes"],
            report["state"],
            " at %s" % report["generated_at"] if report.get("generated_at") else "",
        ),
        "",
        "## Emulated node types",
        "",
    ]
    lines += node_types_table(report)
    others = [n for n in report["nodes"] if n["role"] != "guest"]
    if others:
        lines += ["", "## Control planes and QEMU hosts", "", "| node | role | address | state |", "|---|---|---|---|"]
        for node in others:
            lines.append("| %s | %s | %s | %s |" % (node["name"], node["role"].replace("_", " "), node.get("address") or "-", node["state"]))
    lines += ["", "## Mismatches", ""]
    if report["mismatches"]:
        lines += ["| node | layer | field | expected | observed |", "|---|---|---|---|---|"]
        for item in report["mismatches"]:
            lines.append("| %s |" % " | ".join(_cell(item[key]) for key in ("node", "layer", "field", "expected", "observed")))
    else:
        lines.append("None: every node matches the spec.")
    lines += ["", "## Stage timings", ""]
    if report["stages"]:
        lines += ["| stage | hosts | duration |", "|---|---|---|"]
        for stage in report["stages"]:
            lines.append("| %s | %d | %.1f s |" % (stage["stage"], stage["hosts"], stage["duration_s"]))
        lines.append("| total | | %.1f s |" % sum(s["duration_s"] for s in report["stages"]))
    else:
        lines.append("No timing recorded (enable the q8s.cluster.phase_report callback).")
    lines += ["", "Pictures: [topology](topology.svg), [stage timings](timings.svg).", ""]
    return "\n".join(lines)


def topology_dot(report, graphviz):
    """The topology as a ``graphviz.Graph``: control planes, then one cluster per node
    type with each QEMU host and its guest, the guest's link annotated on its edge."""
    graph = graphviz.Graph("q8s", graph_attr={"rankdir": "LR", "label": "q8s cluster %s" % report["cluster"]["name"], "fontname": "Helvetica"})
    graph.attr("node", fontname="Helvetica", fontsize="10")
    graph.attr("edge", fontname="Helvetica", fontsize="9")
    nodes = {n["name"]: n for n in report["nodes"]}
    planes = [n for n in report["nodes"] if n["role"] == "control_plane"]
    with graph.subgraph(name="cluster_control_planes") as sub:
        sub.attr(label="control planes", style="rounded")
        for node in planes:
            sub.node(node["name"], "%s\\n%s" % (node["name"], node.get("address") or ""), shape="box", style="filled", fillcolor="#dbe8f7")
    colour = {"ok": "#d9f2d9", "mismatch": "#f7d4d4"}
    for row in report["node_types"]:
        conf = row["configured"]
        with graph.subgraph(name="cluster_type_%s" % row["name"]) as sub:
            sub.attr(
                label="%s: %d x %s %s, %d vCPU, %d MiB, %d GiB"
                % (row["name"], row["count"], conf["architecture"], conf["cpu_model"], conf["num_cpus"], conf["ram_mb"], conf["storage_gb"]),
                style="rounded",
            )
            for name in row["nodes"]:
                guest = nodes[name]
                host = guest.get("qemu_host")
                if host:
                    sub.node(host, "%s\\n%s" % (host, (nodes.get(host) or {}).get("address") or ""), shape="box3d")
                    sub.edge(host, name, label="QEMU TCG")
                sub.node(name, "%s\\n%s" % (name, guest.get("node_address") or ""), shape="ellipse", style="filled", fillcolor=colour[guest["state"]])
        for name in row["nodes"]:
            guest = nodes[name]
            rtt = guest["observed"].get("rtt_ms")
            label = "link: %s" % profile_text(conf["link"]) + ("\\nround trip %.1f ms" % rtt if rtt is not None else "")
            for plane in planes:
                graph.edge(plane["name"], guest.get("qemu_host") or name, label=label, style="dashed")
    return graph


def timings_chart(report, path, pyplot):
    """The stage timings as a horizontal bar chart (SVG at ``path``) with matplotlib."""
    stages = report["stages"] or [{"stage": "no timing recorded", "duration_s": 0.0, "hosts": 0}]
    with pyplot.rc_context({"svg.fonttype": "none", "svg.hashsalt": "q8s"}):  # text stays text (searchable), stable ids
        _bars(report, stages, path, pyplot)


def _bars(report, stages, path, pyplot):
    figure, axes = pyplot.subplots(figsize=(10, 0.45 * len(stages) + 1.5))
    names = [s["stage"] for s in stages][::-1]
    values = [s["duration_s"] for s in stages][::-1]
    bars = axes.barh(names, values, color="#4a7ebb")
    for rect, value in zip(bars, values):
        axes.text(rect.get_width(), rect.get_y() + rect.get_height() / 2, " %.1f s" % value, va="center", fontsize=8)
    axes.set_xlabel("seconds")
    axes.margins(x=0.15)  # room for the figures right of the longest bar
    figure.suptitle("q8s cluster %s: stage timings (total %.1f s)" % (report["cluster"]["name"], sum(values)))
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})
    pyplot.close(figure)
