#!/usr/bin/env bash
# `make package`: the collection as a user of Galaxy and execution environments gets it.
#   1. build the tarball (galaxy.yml's build_ignore keeps development files out)
#   2. install it with its dependencies, offline, into an empty collections path
#      (the dependencies from the collections `make setup` installed in .collections/)
#   3. from a directory outside the checkout: ansible-inventory --graph through
#      q8s.cluster.spec on the tarball's example spec, and syntax checks of every
#      playbook, with this venv's ansible-core and with the oldest one requires_ansible
#      claims (tests/requirements-floor.txt), both without a warning
#   4. galaxy-importer on the tarball (offline, no ansible-test, with ansible-lint)
#   5. ansible-builder create on docs/execution-environment.yml, and introspect on the
#      installed collections: q8s.cluster asks only for requirements.txt's packages
#   6. antsibull-docs lint-collection-docs and antsibull-changelog lint
# The tools live in venvs cached under /var/cache/q8s (Q8S_PACKAGE_CACHE), keyed by
# the hash of their pins (tests/requirements-package.txt, tests/requirements-floor.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CACHE="${Q8S_PACKAGE_CACHE:-/var/cache/q8s}"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-/var/cache/q8s/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# galaxy.yml has no repository URL until the project publishes one; Galaxy's importer
# requires the field, so its copy of the tarball gets this stand-in (never the tarball
# that is installed or published).
REPOSITORY_STANDIN="${Q8S_PACKAGE_REPOSITORY:-https://example.invalid/q8s/cluster}"

log() { printf 'package: %s\n' "$*" >&2; }
die() { printf 'package: FAILED: %s\n' "$*" >&2; exit 1; }
[ -x "$VENV/bin/ansible-galaxy" ] || die "no .venv: run 'make setup' first"

find_python() {
    local c
    for c in python3.11 "$HOME"/.pyenv/versions/3.11*/bin/python3.11 /usr/bin/python3.11; do
        if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
    done
    return 1
}

# A venv for the pins of $1, cached as $CACHE/venv-$2-<hash>; prints its path.
tool_venv() {
    local req="$1" name="$2" hash dir py
    hash="$(cat "$req" | sha256sum | cut -c1-12)"
    dir="$CACHE/venv-$name-$hash"
    if [ ! -f "$dir/.q8s-complete" ]; then
        py="$(find_python)" || die "no Python 3.11 for the $name venv"
        log "creating $dir (pins: ${req#"$ROOT"/})"
        rm -rf "$dir"
        "$py" -m venv "$dir"
        "$dir/bin/python" -m pip install --quiet --progress-bar off -r "$req" 2>&1 |
            { grep -v 'is ignored: it is neither a file nor a directory' >&2 || true; }
        "$dir/bin/python" -m pip check >/dev/null || die "pip check failed in $dir"
        touch "$dir/.q8s-complete"
    fi
    printf '%s\n' "$dir"
}

mkdir -p "$CACHE"
TOOLS="$(tool_venv "$ROOT/tests/requirements-package.txt" package)"
FLOOR="$(tool_venv "$ROOT/tests/requirements-floor.txt" floor)"
FLOOR_CORE="$("$FLOOR/bin/python" -c 'from ansible.release import __version__ as v; print(v)')"
CLAIMED="$(sed -n 's/^requires_ansible: *"\(.*\)"/\1/p' "$ROOT/meta/runtime.yml")"
[ "$CLAIMED" = ">=${FLOOR_CORE%.*}.0" ] ||
    die "meta/runtime.yml requires_ansible is '$CLAIMED' but tests/requirements-floor.txt tests ansible-core $FLOOR_CORE"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/q8s-package.XXXXXX")"
cleanup() { if [ "${Q8S_PACKAGE_KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
# Nothing of the checkout's configuration or the user's home may help.
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
export HOME="$WORK/home" ANSIBLE_LOCAL_TEMP="$WORK/home/.ansible/tmp" ANSIBLE_NOCOLOR=1
mkdir -p "$HOME"
cd "$WORK"  # not the checkout: its ansible.cfg must not apply

# --- 1. build ----------------------------------------------------------------
log "building the tarball"
"$VENV/bin/ansible-galaxy" collection build --output-path "$WORK/dist" "$ROOT" >/dev/null
TARBALL="$(ls "$WORK"/dist/q8s-cluster-*.tar.gz)"
for unwanted in molecule/ scripts/ tests/ Makefile ansible.cfg .ansible-lint .yamllint pyproject.toml; do
    ! tar -tzf "$TARBALL" | grep -q "^$unwanted" || die "the tarball ships $unwanted"
done
log "$(basename "$TARBALL"): $(tar -tzf "$TARBALL" | wc -l) entries, $(du -k "$TARBALL" | cut -f1) KiB"

# --- 2. install with dependencies, offline ------------------------------------
COLL="$WORK/collections"
{
    echo "collections:"
    echo "  - name: $TARBALL"
    echo "    type: file"
    for dep in $("$VENV/bin/python" -c 'import yaml,sys; print(" ".join(yaml.safe_load(open(sys.argv[1]))["dependencies"]))' "$ROOT/galaxy.yml"); do
        src="$ROOT/.collections/ansible_collections/${dep%%.*}/${dep#*.}"
        [ -f "$src/MANIFEST.json" ] || die "dependency $dep is not in .collections (make setup)"
        echo "  - name: $(readlink -f "$src")"
        echo "    type: dir"
    done
} >"$WORK/requirements.yml"
log "installing it and its dependencies offline into an empty collections path"
ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false "$VENV/bin/ansible-galaxy" collection install --offline \
    -r "$WORK/requirements.yml" -p "$COLL" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; die "install"; }
INSTALLED="$COLL/ansible_collections/q8s/cluster"
[ -f "$INSTALLED/MANIFEST.json" ] || die "q8s.cluster is not in $COLL"

# --- 3. a user's project directory -----------------------------------------------
PROJECT="$WORK/project"
mkdir -p "$PROJECT"
cp "$INSTALLED/examples/cluster.yml" "$PROJECT/cluster.yml"
cat >"$PROJECT/ansible.cfg" <<CFG
[defaults]
collections_path = $COLL
callbacks_enabled = q8s.cluster.phase_report
[inventory]
enable_plugins = q8s.cluster.spec
unparsed_is_failed = True
CFG
printf 'plugin: q8s.cluster.spec\n' >"$PROJECT/inventory.q8s.yml"
PLAYBOOKS=()
for p in "$INSTALLED"/playbooks/*.yml "$INSTALLED"/playbooks/repair/*.yml; do
    rel="${p#"$INSTALLED"/playbooks/}"
    PLAYBOOKS+=("q8s.cluster.$(echo "${rel%.yml}" | tr / .)")
done

# Runs $2... in the project with the ansible-core of venv $1; fails on a warning.
in_project() {
    local venv="$1" out
    shift
    out="$(cd "$PROJECT" && env ANSIBLE_CONFIG="$PROJECT/ansible.cfg" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
        Q8S_STATE_DIR="$WORK/state" PATH="$venv/bin:$PATH" "$@" 2>&1)" ||
        { printf '%s\n' "$out" >&2; die "$*"; }
    if grep -E '\[(WARNING|DEPRECATION WARNING|ERROR)\]' <<<"$out" >&2; then
        die "$* warned"
    fi
    printf '%s\n' "$out"
}

for venv in "$VENV" "$FLOOR"; do
    core="$("$venv/bin/python" -c 'from ansible.release import __version__ as v; print(v)')"
    graph="$(in_project "$venv" ansible-inventory -i inventory.q8s.yml --graph -e @cluster.yml)"
    for group in q8s_control_plane q8s_qemu_hosts q8s_emulated_workers; do
        grep -q "@$group:" <<<"$graph" || { printf '%s\n' "$graph" >&2; die "no group $group (ansible-core $core)"; }
    done
    # groups this spec leaves empty (e.g. q8s_control_plane_extra) are no warning here
    in_project "$venv" env ANSIBLE_HOST_PATTERN_MISMATCH=ignore ansible-playbook --syntax-check -i inventory.q8s.yml -e @cluster.yml "${PLAYBOOKS[@]}" >/dev/null
    log "ansible-core $core: inventory graph and syntax check of ${#PLAYBOOKS[@]} playbooks, no warning"
done

# --- 4. galaxy-importer -------------------------------------------------------------
IMPORT="$WORK/import"
mkdir -p "$IMPORT/tmp"
"$VENV/bin/python" - "$TARBALL" "$IMPORT/$(basename "$TARBALL")" "$REPOSITORY_STANDIN" <<'PY'
import io, json, sys, tarfile
src, dst, url = sys.argv[1:4]
with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
    for member in tin.getmembers():
        data = tin.extractfile(member).read() if member.isfile() else None
        if member.name == "MANIFEST.json":
            manifest = json.loads(data)
            if not manifest["collection_info"].get("repository"):
                manifest["collection_info"]["repository"] = url
            data = json.dumps(manifest, indent=4).encode()
            member.size = len(data)
        tout.addfile(member, io.BytesIO(data) if data is not None else None)
PY
cat >"$IMPORT/galaxy-importer.cfg" <<CFG
[galaxy-importer]
run_ansible_test = False
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
check_changelog = True
tmp_root_dir = $IMPORT/tmp
ansible_local_tmp = $HOME/.ansible/tmp
log_level_main = INFO
CFG
# The lint step resolves the dependencies' modules from the user's collections path.
mkdir -p "$HOME/.ansible/collections/ansible_collections"
for ns in "$COLL"/ansible_collections/*; do
    [ "$(basename "$ns")" = q8s ] || cp -a "$ns" "$HOME/.ansible/collections/ansible_collections/"
done
log "galaxy-importer on the tarball (repository for the importer only: $REPOSITORY_STANDIN)"
status=0
(cd "$IMPORT" && GALAXY_IMPORTER_CONFIG="$IMPORT/galaxy-importer.cfg" PATH="$TOOLS/bin:$PATH" \
    "$TOOLS/bin/python" -m galaxy_importer.main "$(basename "$TARBALL")") >"$IMPORT/importer.log" 2>&1 || status=$?
if [ "$status" != 0 ] || grep -E '^ERROR|internal-error|syntax-check' "$IMPORT/importer.log" >&2; then
    tail -n 40 "$IMPORT/importer.log" >&2
    die "galaxy-importer (exit $status)"
fi
warnings="$(grep -c '^WARNING' "$IMPORT/importer.log" || true)"
grep '^WARNING' "$IMPORT/importer.log" | sed 's/^/package: importer: /' >&2 || true
log "galaxy-importer: imported, no error ($warnings lint warnings above)"

# --- 5. ansible-builder -------------------------------------------------------------
EE="$WORK/ee"
mkdir -p "$EE"
cp "$ROOT/docs/execution-environment.yml" "$TARBALL" "$EE/"
(cd "$EE" && "$TOOLS/bin/ansible-builder" create -f execution-environment.yml -c context >"$EE/create.log" 2>&1) ||
    { cat "$EE/create.log" >&2; die "ansible-builder create"; }
[ -f "$EE/context/_build/collections/$(basename "$TARBALL")" ] || die "the EE context lacks the tarball"
"$TOOLS/bin/ansible-builder" introspect --sanitize --write-pip "$EE/python.txt" --write-bindep "$EE/bindep.txt" \
    "$COLL" >"$EE/introspect.log" 2>&1 || { cat "$EE/introspect.log" >&2; die "ansible-builder introspect"; }
"$VENV/bin/python" - "$EE/python.txt" "$ROOT/requirements.txt" <<'PY' || die "EE requirements"
import re, sys
def names(path, source=None):
    out = set()
    for line in open(path):
        req, _, comment = line.partition("#")
        if req.strip() and (source is None or source in comment):
            out.add(re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower())
    return out
ours = names(sys.argv[1], "q8s.cluster")
runtime = names(sys.argv[2])
print("package: EE python requirements from q8s.cluster: %s" % ", ".join(sorted(ours)), file=sys.stderr)
if ours != runtime:
    sys.exit("q8s.cluster asks the EE for %s, requirements.txt lists %s" % (sorted(ours), sorted(runtime)))
dev = {"molecule", "pytest", "ruff", "ansible-lint", "yamllint", "pytest-testinfra"}
if names(sys.argv[1]) & dev:
    sys.exit("development packages in the EE: %s" % sorted(names(sys.argv[1]) & dev))
PY
grep -q 'openssh-client.*q8s.cluster' "$EE/bindep.txt" || { cat "$EE/bindep.txt" >&2; die "EE bindep lacks q8s.cluster's ssh client"; }
log "ansible-builder: context created; EE requirements of q8s.cluster are requirements.txt's"

# --- 6. documentation and changelog -------------------------------------------------
(cd "$INSTALLED" && ANSIBLE_COLLECTIONS_PATH="$COLL" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false PATH="$TOOLS/bin:$PATH" \
    "$TOOLS/bin/antsibull-docs" lint-collection-docs --plugin-docs --skip-rstcheck .) >"$WORK/docs.log" 2>&1 ||
    { cat "$WORK/docs.log" >&2; die "antsibull-docs lint-collection-docs"; }
(cd "$ROOT" && "$TOOLS/bin/antsibull-changelog" lint) >"$WORK/changelog.log" 2>&1 ||
    { cat "$WORK/changelog.log" >&2; die "antsibull-changelog lint"; }
log "antsibull-docs lint-collection-docs and antsibull-changelog lint: clean"
log "OK"
