"""The collection works the same when installed from the tarball `ansible-galaxy collection build` makes."""

import glob
import json
import os
import subprocess

from inventory_cases import BIN, ROOT, env


def sh(args, cwd, environ):
    proc = subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "%s\n%s\n%s" % (" ".join(args), proc.stdout, proc.stderr)
    return proc.stdout


def test_build_install_and_use(tmp_path):
    environ = env()
    environ.pop("ANSIBLE_CONFIG")
    build = tmp_path / "build"
    sh([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(build), ROOT], str(tmp_path), environ)
    tarballs = glob.glob(str(build / "q8s-cluster-*.tar.gz"))
    assert len(tarballs) == 1
    installed = tmp_path / "collections"
    sh(
        [os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force", "-p", str(installed), tarballs[0]],
        str(tmp_path),
        environ,
    )
    tree = installed / "ansible_collections" / "q8s" / "cluster"
    assert (tree / "plugins" / "inventory" / "spec.py").is_file()
    assert not (tree / ".venv").exists() and not (tree / ".collections").exists()

    # a user's project directory, outside the checkout
    project = tmp_path / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text(
        "[defaults]\ncollections_path = %s:%s\n[inventory]\nenable_plugins = q8s.cluster.spec\nunparsed_is_failed = True\n"
        % (installed, os.path.join(ROOT, ".collections"))
    )
    (project / "lab.q8s.yml").write_text("plugin: q8s.cluster.spec\n")
    spec = os.path.join(ROOT, "examples", "cluster.yml")
    environ["ANSIBLE_CONFIG"] = str(project / "ansible.cfg")
    out = sh([os.path.join(BIN, "ansible-inventory"), "-i", "lab.q8s.yml", "--list", "--export", "-e", "@" + spec], str(project), environ)
    data = json.loads(out)
    assert len(data["q8s_emulated_workers"]["hosts"]) == 3
    # the plugin that answered is the installed copy, not the checkout
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-doc"), "-t", "inventory", "q8s.cluster.spec", "--json"],
        cwd=str(project),
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(installed) in proc.stdout
