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
  - Hosts that failed or were unreachable (failures that a rescue section handled do not
    count) are listed, one line each, with the layer (cloud, host, guest, kubernetes; from
    the role or play that failed), the role, the stage and the task. When the stage's
    rescue collected the layer's evidence (role q8s.cluster.collect_logs, which writes
    O(output_dir)/<cluster>/<host>/evidence.json), the line ends with the file to read.
  - The same data is written as JSON to O(output_dir)/timing.json, also after every
    stage (with C(complete=false) until the run ends), so that a report written by the
    run's last stage (site.yml, verify.yml) has the timings of the stages before it.
  - Progress while the run goes on, so that a long run is never silent; a line when a
    stage starts (stage k of n, the hosts it targets, the time since the run started)
    and when it ends (hosts done of total, the stage's time, the time since the start).
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

import glob
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


def clock(seconds):
    """Elapsed time as h:mm:ss or m:ss."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "%d:%02d:%02d" % (hours, minutes, secs) if hours else "%d:%02d" % (minutes, secs)


def progress_start(index, total, name, hosts, elapsed):
    """The line printed when stage ``index`` (1-based) of ``total`` starts."""
    of = " of %d" % total if total else ""
    targets = "%d host%s" % (hosts, "" if hosts == 1 else "s") if hosts is not None else "hosts unknown"
    return "q8s stage %d%s started: %s (%s), elapsed %s" % (index, of, name, targets, clock(elapsed))


def progress_end(index, total, name, done, hosts, took, elapsed):
    """The line printed when stage ``index`` of ``total`` ends: hosts done of total."""
    of = " of %d" % total if total else ""
    return "q8s stage %d%s done: %s, hosts %d of %d done, took %s, elapsed %s" % (index, of, name, done, hosts, clock(took), clock(elapsed))


def failed_hosts(failures, stats):
    """One failure per host that the run counts as failed or unreachable: the first one of
    the stage its last failure happened in (the cause; what a rescue section re-raised, or a
    failure it handled earlier in the run, comes later or earlier and is not reported)."""
    out = []
    hosts = []
    for failure in failures:
        if failure["host"] not in hosts:
            hosts.append(failure["host"])
    for host in hosts:
        summary = stats.summarize(host) if stats is not None else {"failures": 1}
        if not (summary.get("failures", 0) or summary.get("unreachable", 0)):
            continue
        own = [f for f in failures if f["host"] == host]
        last_stage = own[-1]["stage"]
        out.append(dict(next(f for f in own if f["stage"] == last_stage)))
    return out


def find_evidence(output_dir, host, since):
    """The file to read first from the evidence.json that collect_logs wrote for ``host``
    during this run (output_dir/<cluster>/<host>/evidence.json), or None."""
    if not output_dir:
        return None
    found = None
    for path in sorted(glob.glob(os.path.join(glob.escape(output_dir), "*", glob.escape(host), "evidence.json"))):
        try:
            if os.path.getmtime(path) < since - 1:
                continue
            with open(path) as handle:
                found = json.load(handle).get("read") or os.path.dirname(path)
        except (OSError, ValueError):
            continue
    if found and os.path.isabs(found):
        relative = os.path.relpath(found)
        found = found if relative.startswith("..") else relative
    return found


def failure_line(failure):
    role = " (%s)" % failure["role"] if failure.get("role") else ""
    line = "FAILED %s: layer %s%s, stage '%s', task '%s' (%s)" % (failure["host"], failure["layer"], role, failure["stage"], failure["task"], failure["what"])
    if failure.get("evidence"):
        line += "; read %s" % failure["evidence"]
    return line


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
        self._total = 0

    def _current(self):
        return self._stages[-1] if self._stages else None

    def v2_playbook_on_start(self, playbook):
        try:
            self._total = len(playbook.get_plays())
        except (AttributeError, TypeError):
            self._total = 0
        output_dir = self.get_option("output_dir")
        if output_dir:
            # The run's own tasks read timing.json back (verify.yml's report, through the
            # Q8S_REPORT_DIR lookup): a path relative to where ansible-playbook started means
            # something else to a module, so the directory is made absolute for them here.
            os.environ["Q8S_REPORT_DIR"] = os.path.abspath(output_dir)

    def _end_stage(self, now):
        stage = self._current()
        if stage is None or stage.get("reported"):
            return
        stage["end"] = now
        stage["reported"] = True
        index = len(self._stages)
        failed_now = {f["host"] for f in self._failures if f.get("index") == index}
        failed_before = {f["host"] for f in self._failures if f.get("index", 0) < index}
        targets = stage.get("targets")
        if targets is None:
            targets = list(stage["hosts"])
        # done: every targeted host that did not fail here, and did not drop out of the run earlier
        done = len([h for h in targets if h not in failed_now and (h in stage["hosts"] or h not in failed_before)])
        total = len(targets)
        self._display.display(progress_end(index, self._total, stage["name"], done, total, stage["end"] - stage["start"], now - self._run_start))
        self._write(complete=False)

    @staticmethod
    def _targets(play):
        """The names of the hosts the play targets (None when the inventory cannot tell)."""
        try:
            inventory = play.get_variable_manager()._inventory
            return [host.get_name() for host in inventory.get_hosts(play.hosts)]
        except Exception:  # pylint: disable=broad-exception-caught
            return None

    def v2_playbook_on_play_start(self, play):
        now = time.time()
        self._end_stage(now)
        name = play.get_name().strip() or "play %d" % (len(self._stages) + 1)
        targets = self._targets(play)
        self._stages.append({"name": name, "start": now, "end": now, "hosts": {}, "targets": targets})
        self._display.display(progress_start(len(self._stages), self._total, name, None if targets is None else len(targets), now - self._run_start))

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
                "role": role.split(".")[-1] if role else "",
                "task": task.get_name(),
                "what": what,
                "index": len(self._stages),
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

    def _write(self, complete):
        """timing.json in output_dir (None when disabled): the stages so far."""
        output_dir = self.get_option("output_dir")
        if not output_dir:
            return None
        os.makedirs(output_dir, exist_ok=True)
        path = os.path.join(output_dir, "timing.json")
        failures = [{key: value for key, value in f.items() if key != "index"} for f in self._failures]
        data = {"total_s": round(time.time() - self._run_start, 3), "complete": complete, "stages": summarise(self._stages), "failures": failures}
        with open(path, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        return path

    def v2_playbook_on_stats(self, stats):
        self._end_stage(time.time())
        rows = summarise(self._stages)
        self._display.banner("Q8S STAGES")
        self._display.display(render_table(rows))
        output_dir = self.get_option("output_dir")
        for failure in failed_hosts(self._failures, stats):
            failure["evidence"] = find_evidence(output_dir, failure["host"], self._run_start)
            self._display.display(failure_line(failure), color="red")
        path = self._write(complete=True)
        if path:
            self._display.display("stage timing written to %s" % path)
