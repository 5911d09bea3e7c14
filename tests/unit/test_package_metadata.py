"""The collection's metadata agrees with itself and with what the content uses.

galaxy.yml, requirements.yml, scripts/setup.sh, meta/runtime.yml, requirements.txt
and the plugins' license headers each state one fact; these tests keep the copies equal.
"""

import ast
import glob
import os
import re
import sys

import yaml

from inventory_cases import ROOT

CONTENT = ("playbooks", "roles", "plugins")


def load(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def content_files():
    for top in CONTENT:
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".yml", ".yaml", ".py", ".j2")):
                    yield os.path.join(dirpath, name)


def used_collections():
    used = set()
    pattern = re.compile(r"\b([a-z_]+)\.([a-z_]+)\.[a-z_]+")
    known = {tuple(name.split(".")) for name in load("galaxy.yml")["dependencies"]} | {("kubernetes", "core")}
    for path in content_files():
        with open(path, encoding="utf-8") as handle:
            for match in pattern.finditer(handle.read()):
                if match.groups() in known:
                    used.add("%s.%s" % match.groups())
    return used


def setup_collections():
    with open(os.path.join(ROOT, "scripts", "setup.sh"), encoding="utf-8") as handle:
        block = re.search(r"^COLLECTIONS=\((.*?)^\)", handle.read(), re.M | re.S).group(1)
    return {line.strip() for line in block.splitlines() if line.strip()}


def test_galaxy_dependencies_match_requirements_yml_and_setup():
    galaxy = load("galaxy.yml")["dependencies"]
    required = {entry["name"]: entry["version"] for entry in load("requirements.yml")["collections"]}
    assert galaxy == required
    assert set(galaxy) == setup_collections()


def test_dependencies_are_exactly_the_collections_the_content_uses():
    assert set(load("galaxy.yml")["dependencies"]) == used_collections()


def test_one_license_throughout():
    assert load("galaxy.yml")["license"] == ["MIT"]
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as handle:
        assert handle.readline().strip() == "MIT License"
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            head = handle.read(400)
        assert "MIT License (see LICENSE)" in head, path
        assert "General Public License" not in head, path


def test_action_group_holds_every_openstack_module_and_extends_openstack_cloud():
    group = load("meta/runtime.yml")["action_groups"]["openstack"]
    modules = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")):
        with open(path, encoding="utf-8") as handle:
            if "openstack.cloud.plugins.module_utils.openstack import" in handle.read():
                modules.add(os.path.basename(path)[:-3])
    names = {entry for entry in group if isinstance(entry, str)}
    assert names == modules and len(modules) >= 3
    extends = [entry["metadata"]["extend_group"] for entry in group if isinstance(entry, dict)]
    assert extends == [["openstack.cloud.openstack"]]


def runtime_requirements():
    names = set()
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def test_runtime_requirements_are_what_the_plugins_import():
    # third-party top-level imports of the plugins, by distribution name
    imported = {"openstacksdk"}  # the q8s modules run openstack.cloud's module_utils
    distributions = {"openstack": "openstacksdk", "yaml": "pyyaml", "jinja2": "jinja2"}
    bundled = {"ansible", "ansible_collections", "yaml", "jinja2"}  # come with ansible-core
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in sys.stdlib_module_names and top not in bundled and top != "__future__":
                    imported.add(distributions.get(top, top).lower())
    assert runtime_requirements() == imported


def test_development_pins_cover_the_runtime_requirements():
    with open(os.path.join(ROOT, "tests", "requirements-dev.txt"), encoding="utf-8") as handle:
        pinned = {line.split("==")[0].lower() for line in handle if "==" in line and not line.startswith("#")}
    assert runtime_requirements() <= pinned
    assert "molecule" in pinned and "molecule" not in runtime_requirements()


def role_specs():
    specs = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        specs[path.split(os.sep)[-3]] = load(os.path.relpath(path, ROOT))["argument_specs"]
    return specs


def tasks_from_uses():
    uses = set()
    pattern = re.compile(r"name: q8s\.cluster\.(\w+)\s*\n\s*tasks_from: (\w+)")
    for top in ("playbooks", "roles", "molecule"):
        for path in glob.glob(os.path.join(ROOT, top, "**", "*.yml"), recursive=True):
            with open(path, encoding="utf-8") as handle:
                uses |= set(pattern.findall(handle.read()))
    return uses


def test_every_tasks_from_entry_point_has_an_argument_spec():
    specs = role_specs()
    uses = tasks_from_uses()
    assert ("control_plane", "wait_ready") in uses
    missing = sorted("%s: %s" % use for use in uses if use[1] not in specs.get(use[0], {}))
    assert not missing


def test_argument_spec_defaults_are_values_documentation_tools_accept():
    # antsibull-docs (and ansible-doc's consumers) read a default as a value of the option's
    # type; a Jinja expression is only acceptable as the text of a str default.
    bad = []
    for role, entries in role_specs().items():
        for entry, spec in entries.items():
            for name, option in (spec.get("options") or {}).items():
                default = option.get("default")
                if isinstance(default, str) and "{{" in default and option.get("type", "str") not in ("str", "path", "raw"):
                    bad.append("%s/%s/%s" % (role, entry, name))
    assert not bad


def test_every_role_has_a_readme_with_its_variables_and_a_valid_example():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import role_readmes

    for role, entries in role_specs().items():
        path = os.path.join(ROOT, "roles", role, "README.md")
        assert os.path.isfile(path), "%s: run tests/role_readmes.py" % path
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        names = set()
        for spec in entries.values():
            names |= set(spec.get("options") or {})
        missing = sorted(name for name in names if "`%s`" % name not in text)
        assert not missing, "%s lacks %s: run tests/role_readmes.py" % (path, missing)
        if text.startswith(role_readmes.MARKER):
            unknown = sorted(set(re.findall(r"\b(%s_\w+)" % role, role_readmes.EXAMPLES[role])) - names)
            assert not unknown, "%s: the example sets unknown variables %s" % (role, unknown)
            # generated: exactly what meta/argument_specs.yml says now
            assert text == role_readmes.render(role), "%s differs from meta/argument_specs.yml: run tests/role_readmes.py" % path


def test_every_filter_has_its_documentation_file():
    # ansible-doc, antsibull-docs and Galaxy's importer read a filter's docs from
    # plugins/filter/<name>.yml; a filter without one fails all three.
    missing = []
    for path in glob.glob(os.path.join(ROOT, "plugins", "filter", "*.py")):
        with open(path, encoding="utf-8") as handle:
            body = handle.read()
        block = re.search(r"def filters\(self\):.*?return \{(.*?)\}", body, re.S)
        assert block, path
        for name in re.findall(r"[\"'](\w+)[\"']\s*:", block.group(1)):
            if not os.path.isfile(os.path.join(ROOT, "plugins", "filter", name + ".yml")):
                missing.append("%s (%s)" % (name, os.path.basename(path)))
    assert not missing, "filters without plugins/filter/<name>.yml: %s" % missing
