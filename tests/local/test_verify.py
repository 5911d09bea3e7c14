"""playbooks/verify.yml and the cluster report on a deployed local cluster, for real.

The deployment of examples/local.yml that the local suite shares (conftest.py): its x86_64
guest's type has a 40 Mbit/s link profile, shaped with htb, which this kernel has, unlike
netem; site.yml, run up to the Kubernetes steps, also wrote the report. Then: verify.yml passes; the
guest's vCPUs and RAM changed behind q8s's back with virsh make it fail naming the guest
and the fields; a cleared link profile makes it fail naming the link; each is restored
and verify passes again. The report's files: report.json valid against its schema,
report.md's table, the SVGs parse and render to PNG with the node names inside.
Run by tests/local.sh (make local).
"""

import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import inventory_json
import jsonschema
import pytest
from test_local_provider import SPEC, VENV_BIN, recap, run
from test_local_provider import ssh as guest_ssh

pytestmark = pytest.mark.local

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "playbooks" / "files" / "report.schema.json"
# Where a copy of the last report's PNGs goes for a person to look at.
KEEP = Path(os.environ.get("Q8S_VERIFY_KEEP", "/tmp/q8s-verify-report"))


def playbook(ctx, name, *args):
    env = dict(os.environ, Q8S_REPORT_DIR=str(ctx["logs"]))
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "playbooks/" + name, "-e", "@%s" % ctx["spec"], *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        env=env,
        check=False,
    )
    return proc


def inventory(spec_file):
    """Guests and their hosts as the inventory names them (never built here by hand)."""
    out = run(VENV_BIN / "ansible-inventory", "--list", "-e", "@%s" % spec_file, check=True).stdout
    data = inventory_json.loads(out)
    return data["q8s_emulated_workers"]["hosts"], data["q8s_control_plane"]["hosts"], data["_meta"]["hostvars"]


@pytest.fixture(scope="module")
def cluster(deployed):
    """The shared deployment of examples/local.yml (conftest.py), seen from its x86_64 guest,
    whose type has a 40 Mbit/s link profile."""
    guests, planes, hostvars = inventory(SPEC)
    guest = next(g for g in guests if hostvars[g]["q8s_node"]["vm_type_spec"]["architecture"] == "x86_64")
    host = hostvars[guest]["q8s_node"]["qemu_host"]
    return {
        "spec": SPEC,
        "logs": ROOT / "logs",
        "state": deployed["key"].parent,
        "key": deployed["key"],
        "site": deployed["first"],
        "guest": guest,
        "planes": planes,
        "host": host,
        "address": deployed["hosts"][host],
    }


def verify(ctx, *args):
    return playbook(ctx, "verify.yml", "--skip-tags", "kubernetes", *args)


def mismatch_lines(proc):
    lines = []
    for line in proc.stdout.splitlines():
        start = line.find("MISMATCH ")
        if start >= 0 and line[start:] not in lines and "(item=" not in line:
            lines.append(line[start:].rstrip())
    return lines


def virsh(ctx, *args):
    return run("podman", "exec", ctx["host"], "virsh", "-c", "qemu:///system", *args)


def restart_guest(ctx):
    virsh(ctx, "destroy", ctx["guest"])
    started = virsh(ctx, "start", ctx["guest"])
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if guest_ssh(ctx["key"], ctx["address"], "true").returncode == 0:
            return
        time.sleep(5)
    raise AssertionError("%s did not come back" % ctx["guest"])


def test_site_writes_the_report_with_stage_timings(cluster):
    report = json.loads((cluster["state"] / "report" / "report.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    assert report["state"] == "ok", report["mismatches"]
    assert report["kubernetes"] == "skipped"
    stages = [s["stage"] for s in report["stages"]]
    assert "Provision" in " ".join(stages) and len(stages) >= 4, stages
    assert "q8s stage 1 of " in cluster["site"].stdout, "no progress lines"


def test_verify_passes_and_reports(cluster):
    proc = verify(cluster)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert all(changed == 0 for changed, _failed in recap(proc.stdout).values()), proc.stdout[-3000:]
    report = json.loads((cluster["state"] / "report" / "report.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))
    guest = next(n for n in report["nodes"] if n["name"] == cluster["guest"])
    observed = guest["observed"]
    assert observed["architecture"] == "x86_64" and observed["num_cpus"] == 2
    assert "EPYC-Rome" in observed["cpu"]
    assert observed["disk_gb"] == 4.0
    assert observed["link"] == {"bandwidth_mbit": 40.0}
    assert observed["rtt_ms"] is not None
    # the site run's stage timings are kept for a verify run on its own
    assert report["stages"] and "Provision" in " ".join(s["stage"] for s in report["stages"])
    md = (cluster["state"] / "report" / "report.md").read_text()
    assert "| x86-small | 1 | x86_64 | EPYC-Rome (AMD EPYC-Rome Processor) | 2 | 1024 MiB" in md, md
    print("MemTotal of a 1024 MiB x86_64 guest: %s MiB" % observed["memtotal_mb"])


def test_pictures_parse_and_render_with_the_node_names(cluster):
    report_dir = cluster["state"] / "report"
    KEEP.mkdir(parents=True, exist_ok=True)
    for name, labels in (("topology", [cluster["guest"], cluster["host"]] + cluster["planes"]), ("timings", ["Provision"])):
        svg = report_dir / ("%s.svg" % name)
        texts = " ".join(t for t in (e.text for e in ET.parse(svg).getroot().iter() if e.tag.endswith("text")) if t)
        for label in labels:
            assert label in texts, (name, label, texts[:2000])
        png = KEEP / ("%s.png" % name)
        conv = run("rsvg-convert", svg, "-o", png)
        assert conv.returncode == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", conv.stderr
        shutil.copy(svg, KEEP / svg.name)
    shutil.copy(report_dir / "report.md", KEEP / "report.md")


def test_vcpus_and_memory_changed_behind_q8s_back_fail_verify(cluster):
    guest = cluster["guest"]
    try:
        for args in (("setvcpus", guest, "1", "--config"), ("setmaxmem", guest, "768M", "--config"), ("setmem", guest, "768M", "--config")):
            changed = virsh(cluster, *args)
            assert changed.returncode == 0, (args, changed.stderr)
        restart_guest(cluster)
        proc = verify(cluster)
        assert proc.returncode != 0
        lines = mismatch_lines(proc)
        output = proc.stdout[-6000:] + proc.stderr[-2000:]
        assert any(line.startswith("MISMATCH %s: layer guest, field num_cpus: expected 2, observed 1" % guest) for line in lines), (lines, output)
        assert any(line.startswith("MISMATCH %s: layer guest, field ram:" % guest) for line in lines), (lines, output)
        assert len(lines) == 2, (lines, output)
    finally:
        for args in (("setmaxmem", guest, "1024M", "--config"), ("setmem", guest, "1024M", "--config"), ("setvcpus", guest, "2", "--config")):
            virsh(cluster, *args)
        restart_guest(cluster)
    again = verify(cluster)
    assert again.returncode == 0, again.stdout[-4000:]


def test_cleared_link_profile_fails_verify(cluster):
    guest = cluster["guest"]
    cleared = run("podman", "exec", cluster["host"], "/usr/local/sbin/q8s-link-profile", "clear", guest)
    assert cleared.returncode == 0, cleared.stderr
    try:
        proc = verify(cluster)
        assert proc.returncode != 0
        lines = mismatch_lines(proc)
        assert lines == ["MISMATCH %s: layer network, field link_profile: expected 40 Mbit/s, observed unshaped" % guest], lines
    finally:
        applied = run("podman", "exec", cluster["host"], "/usr/local/sbin/q8s-link-profile", "apply", guest)
        assert applied.returncode == 0, applied.stderr
    again = verify(cluster)
    assert again.returncode == 0, again.stdout[-4000:]
