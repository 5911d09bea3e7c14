#!/usr/bin/env python
"""The example report under docs/examples/report/ and the README's table of it.

    scripts/report_example.py [REPORT_DIR]    copy a real run's report (default
                                              ~/.q8s/local/report, what site.yml or
                                              verify.yml wrote for examples/local.yml)
    scripts/report_example.py --check         exit 1 when report.md or the README's
                                              table is not what q8s_report renders
                                              for docs/examples/report/report.json

Copies report.json and the pictures (topology.svg, timings.svg) as the run drew them,
writes report.md with q8s_report.render_markdown and replaces the README's example table
with q8s_report.node_types_table, so neither can drift from the report. Regenerate after a
real deployment of examples/local.yml: `make deploy ARGS="--skip-tags kubernetes"` (site.yml
writes the report), then this script, then `make teardown CONFIRM=true`. A later verify.yml
run rewrites ~/.q8s/local/report with its own stage timings: copy site.yml's report aside
first (and pass that directory) to keep the deployment's stages in the example.
"""

import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "report"
README = ROOT / "README.md"
COPIED = ("report.json", "topology.svg", "timings.svg")

sys.path.insert(0, str(ROOT / ".collections"))
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_report  # noqa: E402  pylint: disable=wrong-import-position


def readme_table(text):
    """(start, end) line indexes of the README's example table: from the node types header
    to the first line that is not a table row."""
    lines = text.split("\n")
    header = q8s_report.node_types_table({"node_types": []})[0]
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def rendered(report):
    """(report.md, README) as they must read for ``report``."""
    text = README.read_text()
    start, end = readme_table(text)
    lines = text.split("\n")
    return q8s_report.render_markdown(report), "\n".join(lines[:start] + q8s_report.node_types_table(report) + lines[end:])


def main(argv):
    if argv[1:] == ["--check"]:
        report = json.loads((EXAMPLE / "report.json").read_text())
        markdown, readme = rendered(report)
        stale = [p.name for p, want in ((EXAMPLE / "report.md", markdown), (README, readme)) if p.read_text() != want]
        if stale:
            sys.stderr.write("not what q8s_report renders for %s: %s (run scripts/report_example.py)\n" % (EXAMPLE / "report.json", ", ".join(stale)))
            return 1
        return 0
    source = Path(argv[1] if len(argv) > 1 else os.path.expanduser("~/.q8s/local/report"))
    for name in COPIED:
        shutil.copyfile(source / name, EXAMPLE / name)
    report = json.loads((EXAMPLE / "report.json").read_text())
    markdown, readme = rendered(report)
    (EXAMPLE / "report.md").write_text(markdown)
    README.write_text(readme)
    print("docs/examples/report/ and the README's table from %s (cluster %s, %s)" % (source, report["cluster"]["name"], report["generated_at"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
