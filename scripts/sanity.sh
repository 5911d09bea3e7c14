#!/usr/bin/env bash
# `make sanity`: ansible-test sanity on the collection.
#
# ansible-test wants the collection at .../ansible_collections/q8s/cluster, so
# the git-tracked plus untracked-but-not-ignored files are copied (not linked)
# into a temporary tree and the tests run there.  Each sanity test gets its own
# virtualenv (--venv, Python 3.11) under ~/.ansible/test/venv, reused between
# runs; the test requirements come from PyPI, which CI can reach.
#
# ansible-test bootstraps pip in those virtualenvs with a get-pip.py it
# downloads from ci-files.testing.ansible.com, which CI cannot reach; this
# script puts an offline stand-in into ansible-test's cache that bootstraps
# pip from the interpreter's own ensurepip wheel instead.
#
# Extra arguments go to ansible-test, e.g. `scripts/sanity.sh --test pep8`.
# Q8S_SANITY_KEEP=1 keeps the temporary tree (its path is printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
[ -x "$VENV/bin/ansible-test" ] || { echo "sanity: no .venv, run 'make setup'" >&2; exit 1; }
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-/var/cache/q8s/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# ansible-test must use its own configuration, not the checkout's ansible.cfg.
unset ANSIBLE_CONFIG

PYTHON_VERSION=3.11
NAMESPACE="$(sed -n 's/^namespace: *//p' galaxy.yml)"
NAME="$(sed -n 's/^name: *//p' galaxy.yml)"

# Sanity tests skipped here, and why.  Everything else runs.
SKIP_TESTS=(
    # None needs the network beyond PyPI (for the per-test virtualenvs).
    # shellcheck and pslint skip themselves when shellcheck/pwsh are missing.
)

# --- offline get-pip.py for ansible-test's virtualenvs ---------------------
AT_DIR="$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')"
PIP_VERSION="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$AT_DIR/_internal/python_requirements.py" | head -n1)"
[ -n "$PIP_VERSION" ] || { echo "sanity: cannot find ansible-test's pip version" >&2; exit 1; }
GET_PIP="$HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py"
MARKER="# q8s offline get-pip stand-in v1"
if [ ! -f "$GET_PIP" ] || grep -q '^# q8s offline get-pip stand-in' "$GET_PIP"; then
    mkdir -p "$(dirname "$GET_PIP")"
    cat >"$GET_PIP.tmp" <<EOF
$MARKER
"""Offline replacement of get-pip.py for ansible-test (written by q8s scripts/sanity.sh).

ansible-test runs this with the arguments of get-pip.py (pip options, then
requirements such as pip==$PIP_VERSION, then --no-setuptools/--no-wheel) inside a
virtualenv created without pip.  Instead of a pip embedded in the script, it
runs the pip wheel bundled with the interpreter's ensurepip to install the
requested pip (from the configured package index, PyPI).
"""
import glob
import os
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel", "--no-pip")]
    import ensurepip

    wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
    if not wheels:
        sys.exit("q8s get-pip stand-in: no ensurepip pip wheel in %s" % os.path.dirname(ensurepip.__file__))
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main

    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + args))


if __name__ == "__main__":
    main()
EOF
    mv "$GET_PIP.tmp" "$GET_PIP"
fi

# --- copy of the collection -------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/q8s-sanity.XXXXXX")"
# Called by the EXIT trap below.
# shellcheck disable=SC2329
cleanup() {
    if [ "${Q8S_SANITY_KEEP:-0}" = 1 ]; then
        echo "sanity: kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
DEST="$TMP/ansible_collections/$NAMESPACE/$NAME"
mkdir -p "$DEST"

# Tracked files deleted in the worktree are listed by git but must not be copied.
git ls-files -z -co --exclude-standard |
    while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done |
    tar --null -T - -cf - | tar -xf - -C "$DEST"

echo "sanity: $(find "$DEST" -type f | wc -l) files copied to $DEST"

# The collections q8s.cluster depends on (doc fragments of openstack.cloud, module
# utils, ...) sit beside it, as they would in an install, so validate-modules and
# the import tests resolve them.
for dep in "$ROOT"/.collections/ansible_collections/*/*; do
    ns="$(basename "$(dirname "$dep")")"
    [ "$ns/$(basename "$dep")" = "$NAMESPACE/$NAME" ] && continue
    mkdir -p "$TMP/ansible_collections/$ns"
    ln -s "$(readlink -f "$dep")" "$TMP/ansible_collections/$ns/$(basename "$dep")"
done

# q8s.cluster is MIT licensed (galaxy.yml), but validate-modules demands a
# GPLv3 header in every documentable plugin (missing-gplv3-license).  Instead
# of a hand-kept list in tests/sanity/ignore-X.Y.txt that every new plugin
# would have to extend, the copy's ignore file gets one entry per such plugin
# whose first 20 lines carry no GPLv3 header; every other finding still counts.
# Filter and test plugins are left out: validate-modules does not check their
# license, and an ignore entry it does not need is an error (A100).
CORE_MM="$("$VENV/bin/python" -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))')"
IGNORE="$DEST/tests/sanity/ignore-$CORE_MM.txt"
mkdir -p "$(dirname "$IGNORE")"
touch "$IGNORE"
(
    cd "$DEST"
    shopt -s nullglob globstar
    for f in plugins/{modules,inventory,lookup,callback,connection,become,cache,cliconf,httpapi,netconf,shell,strategy,vars}/**/*.{py,yml,yaml}; do
        [ -f "$f" ] && [ "$(basename "$f")" != __init__.py ] || continue
        header="$(head -n 20 "$f")"
        if [[ $header == *"GNU General Public License"* ]] && [[ $header == *"version 3"* || $header == *"v3.0"* ]]; then
            continue
        fi
        entry="$f validate-modules:missing-gplv3-license"
        grep -qxF "$entry" "$IGNORE" || grep -q "^$f validate-modules:missing-gplv3-license" "$IGNORE" ||
            printf '%s  # MIT-licensed collection (added by scripts/sanity.sh)\n' "$entry" >>"$IGNORE"
    done
)

skip_args=()
for t in "${SKIP_TESTS[@]}"; do
    skip_args+=(--skip-test "$t")
done

cd "$DEST"
status=0
ansible-test sanity --venv --python "$PYTHON_VERSION" --color no \
    "${skip_args[@]}" "$@" || status=$?

if [ "$status" != 0 ] && [ -d tests/output ]; then
    rm -rf "$ROOT/tests/output/sanity"
    mkdir -p "$ROOT/tests/output"
    cp -a tests/output "$ROOT/tests/output/sanity"
    echo "sanity: FAILED (exit $status); ansible-test output copied to tests/output/sanity/" >&2
fi
exit "$status"
