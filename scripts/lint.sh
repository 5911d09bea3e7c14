#!/usr/bin/env bash
# `make lint`: yamllint, ansible-lint (production profile, offline) and ruff.
# Runs every linter, then fails if any of them failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
[ -x "$VENV/bin/python" ] || { echo "lint: no .venv, run 'make setup'" >&2; exit 1; }
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
# ansible-lint must not look for newer versions of itself on the network.
export ANSIBLE_LINT_SKIP_VERSION_CHECK=1 ANSIBLE_LINT_NODEPS="${ANSIBLE_LINT_NODEPS:-0}"
export NO_COLOR=1
# ansible.cfg's inventory is the q8s.cluster.spec plugin, which (rightly) fails
# without a cluster spec; ansible-lint's syntax checks need no real inventory,
# so they get a one-host ini file (and the ini plugin to read it).
LINT_INVENTORY="$(mktemp "${TMPDIR:-/tmp}/q8s-lint-inventory.XXXXXX")"
# ansible-lint looks for collections in ANSIBLE_HOME (~/.ansible) before the checkout's
# .collections, and Molecule installs a copy of q8s.cluster there: after `make test`, a
# module added since would be unknown to the syntax check. Its own empty ANSIBLE_HOME.
LINT_HOME="$(mktemp -d "${TMPDIR:-/tmp}/q8s-lint-home.XXXXXX")"
trap 'rm -rf "$LINT_INVENTORY" "$LINT_HOME"' EXIT
echo "localhost ansible_connection=local" >"$LINT_INVENTORY"
export ANSIBLE_INVENTORY="$LINT_INVENTORY" ANSIBLE_INVENTORY_ENABLED=ansible.builtin.ini ANSIBLE_HOME="$LINT_HOME"

failed=()
run() {
    local name="$1"
    shift
    echo "--> $name: $*"
    if ! "$@"; then
        failed+=("$name")
    fi
}

# Python files: ruff is told the paths; missing ones (no tests yet) are skipped.
py_paths=()
for d in plugins tests scripts; do
    [ -d "$d" ] && py_paths+=("$d")
done

run yamllint yamllint --strict .
run ansible-lint ansible-lint --profile production --offline
if [ ${#py_paths[@]} -gt 0 ]; then
    run ruff-check ruff check --no-cache "${py_paths[@]}"
    run ruff-format ruff format --no-cache --check --diff "${py_paths[@]}"
fi

# Shell entry points (ansible-test's shellcheck test only sees *.sh files).
run shellcheck shellcheck --severity=style scripts/*.sh .ci/run roles/emulated_worker/files/q8s-firstboot

if [ ${#failed[@]} -gt 0 ]; then
    echo "lint: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "lint: ok"
