"""playbooks/preflight_sources.yml run for real, against sources on loopback (closed ports, a stand-in server)."""

import json
import os
import subprocess

from inventory_cases import BIN, ROOT, env
from test_source_check import free_port, start_server, stop_server


def run(*extra):
    args = [os.path.join(BIN, "ansible-playbook"), "playbooks/preflight_sources.yml", "-e", "@examples/local.yml"]
    proc = subprocess.run(args + list(extra), cwd=ROOT, env=env(), capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def test_unreachable_sources_fail_with_the_fix():
    mirror = "http://127.0.0.1:%d" % free_port()
    rc, out = run(
        "-e", json.dumps({"q8s_registry_mirrors": {"_default": [mirror]}}), "-e", "k8s_common_kubernetes_repo_key_url=%s/{minor}/Release.key" % mirror
    )
    assert rc != 0
    assert "3 source(s) this run needs cannot be reached from the controller" in out
    assert "Kubernetes package repository: %s/v1.34/Release.key" % mirror in out
    assert "point k8s_common_kubernetes_repo_url and k8s_common_kubernetes_repo_key_url at a mirror" in out
    assert "image registry mirror for ghcr.io: %s/v2/" % mirror in out
    assert "--skip-tags kubernetes" in out


def test_reachable_sources_pass():
    httpd, server = start_server()
    try:
        rc, out = run(
            "-e", json.dumps({"q8s_registry_mirrors": {"_default": [server]}}), "-e", "k8s_common_kubernetes_repo_key_url=%s/{minor}/Release.key" % server
        )
    finally:
        stop_server(httpd)
    assert rc == 0, out


def test_without_the_kubernetes_stages_only_guest_images_count():
    rc, out = run("--skip-tags", "kubernetes", "-e", "k8s_common_kubernetes_repo_key_url=http://127.0.0.1:%d/{minor}" % free_port())
    assert rc == 0, out


def test_site_yml_checks_the_sources_before_it_provisions(tmp_path):
    """site.yml itself, not only preflight_sources.yml: with an unreachable package
    repository and registry mirror, the run must stop with the fix before its first
    stage creates anything. A podman stand-in on PATH records every call (the local
    provider's first step asks podman) and fails, so nothing is created either way."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "podman.calls"
    (bindir / "podman").write_text('#!/bin/sh\necho "podman $*" >>%s\necho "podman stand-in: not for this test" >&2\nexit 125\n' % calls)
    (bindir / "podman").chmod(0o755)
    mirror = "http://127.0.0.1:%d" % free_port()
    environ = env()
    environ["PATH"] = str(bindir) + os.pathsep + environ["PATH"]
    environ["Q8S_STATE_DIR"] = str(tmp_path / "state")
    argv = [os.path.join(BIN, "ansible-playbook"), "playbooks/site.yml", "-e", "@examples/local.yml"]
    argv += ["-e", json.dumps({"q8s_registry_mirrors": {"_default": [mirror]}}), "-e", "k8s_common_kubernetes_repo_key_url=%s/{minor}/Release.key" % mirror]
    proc = subprocess.run(argv, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert not calls.exists(), "the run went on to provisioning before the sources were checked:\n%s\n%s" % (calls.read_text(), out[-3000:])
    assert "cannot be reached from the controller" in out and "--skip-tags kubernetes" in out, out[-3000:]
