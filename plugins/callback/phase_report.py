# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: phase_report
type: aggregate
short_description: Per-stage timing table of a q8s run, and a JSON copy of it
version_added: 0.1.0
description:
  - Every play of a run is a stage. For each stage it records, per host, the time from the
    host's first task to its last, and at the end of the run prints one table with each
    stage's wall time, host count and slowest host.
  - Hosts that failed or were unreachable are listed with the stage, the layer (cloud, host,
    guest, kubernetes; from the role or play that failed) and the task.
  - The same data is written as JSON to O(output_dir)/timing.json.
requirements:
  - enable in ansible.cfg with C(callbacks_enabled = q8s.cluster.phase_report)
options:
  output_dir:
    description: Directory for C(timing.json); created if missing. Empty disables the file.
    type: path
    default: logs
    env:
      - name: Q8S_REPORT_DIR
    ini:
      - section: q8s_phase_report
        key: output_dir
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

# Which layer a role or play belongs to, for failure lines.
LAYERS = (
    ("provision", "cloud"),
    ("teardown", "cloud"),
    ("openstack", "cloud"),
    ("qemu_host", "host"),
    ("nat_bridge", "host"),
    ("emulated_worker", "guest"),
    ("guest", "guest"),
    ("k8s_common", "kubernetes"),
    ("control_plane", "kubernetes"),
    ("k8s_worker", "kubernetes"),
    ("kubernetes", "kubernetes"),
    ("host", "host"),
)


def layer_of(*names):
    """The layer of the first name (role, then play) that mentions a known part."""
    for name in names:
        lowered = (name or "").lower().replace("-", "_").replace(" ", "_")
        for needle, layer in LAYERS:
            if needle in lowered:
                return layer
    return "other"


def summarise(stages):
    """Pure: turn recorded stages into report rows (used by the table and the JSON)."""
    rows = []
    for stage in stages:
        per_host = {}
        for host, (start, end) in stage["hosts"].items():
            per_host[host] = round(end - start, 3)
        slowest = max(per_host.items(), key=lambda item: (item[1], item[0])) if per_host else (None, 0.0)
        rows.append(
            {
                "stage": stage["name"],
                "duration_s": round(stage["end"] - stage["start"], 3),
                "hosts": len(per_host),
                "slowest_host": slowest[0],
                "slowest_s": slowest[1],
                "per_host_s": per_host,
            }
        )
    return rows


def render_table(rows):
    header = ("stage", "hosts", "duration", "slowest host", "its time")
    body = [(r["stage"], str(r["hosts"]), "%.1fs" % r["duration_s"], r["slowest_host"] or "-", "%.1fs" % r["slowest_s"]) for r in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    out = []
    for line in [header] + body:
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "q8s.cluster.phase_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super(CallbackModule, self).__init__(display=display)
        self._stages = []
        self._failures = []
        self._run_start = time.time()

    def _current(self):
        return self._stages[-1] if self._stages else None

    def v2_playbook_on_play_start(self, play):
        now = time.time()
        if self._stages:
            self._stages[-1]["end"] = now
        self._stages.append({"name": play.get_name().strip() or "play %d" % (len(self._stages) + 1), "start": now, "end": now, "hosts": {}})

    def _touch(self, host):
        stage = self._current()
        if stage is None:
            return
        now = time.time()
        start = stage["hosts"].get(host, (now, now))[0]
        stage["hosts"][host] = (start, now)
        stage["end"] = now

    def v2_runner_on_start(self, host, task):
        stage = self._current()
        if stage is not None and host.get_name() not in stage["hosts"]:
            now = time.time()
            stage["hosts"][host.get_name()] = (now, now)

    def _failed(self, result, what):
        host = result._host.get_name()
        self._touch(host)
        task = result._task
        role = task._role.get_name() if getattr(task, "_role", None) else ""
        stage = self._current()
        self._failures.append(
            {
                "host": host,
                "stage": stage["name"] if stage else "",
                "layer": layer_of(role, stage["name"] if stage else ""),
                "task": task.get_name(),
                "what": what,
            }
        )

    def v2_runner_on_ok(self, result):
        self._touch(result._host.get_name())

    def v2_runner_on_skipped(self, result):
        self._touch(result._host.get_name())

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if ignore_errors:
            self._touch(result._host.get_name())
        else:
            self._failed(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._failed(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        if self._stages:
            self._stages[-1]["end"] = time.time()
        rows = summarise(self._stages)
        self._display.banner("Q8S STAGES")
        self._display.display(render_table(rows))
        seen = set()
        for failure in self._failures:
            if failure["host"] in seen:
                continue
            seen.add(failure["host"])
            self._display.display(
                "FAILED %s: layer %s, stage '%s', task '%s' (%s)" % (failure["host"], failure["layer"], failure["stage"], failure["task"], failure["what"]),
                color="red",
            )
        output_dir = self.get_option("output_dir")
        if output_dir:
            os.makedirs(output_dir, exist_ok=True)
            path = os.path.join(output_dir, "timing.json")
            with open(path, "w") as handle:
                json.dump({"total_s": round(time.time() - self._run_start, 3), "stages": rows, "failures": self._failures}, handle, indent=2, sort_keys=True)
            self._display.display("stage timing written to %s" % path)
