#!/usr/bin/env bash
# Sets up the q8s development environment at the repository root:
#   .venv/         Python 3.11 virtualenv: the collection's run-time needs
#                  (requirements.txt) and the development pins
#                  (tests/requirements-dev.txt)
#   .collections/  ansible_collections/ with the third-party collections and
#                  the link q8s/cluster -> ../../.. (this checkout), so that
#                  ansible.cfg's collections_path = ./.collections resolves
#                  q8s.cluster.* to the working tree.
# Idempotent: pip only runs when one of the two requirement files changed
# (stamp with their hash); it only adds or changes packages, never removes, the collections only get reinstalled when their inputs changed.
#
# Environment:
#   PYTHON         interpreter to build the venv from (default: python3.11)
#   PIP_CACHE_DIR  pip download cache (default: /var/cache/q8s/pip, outside
#                  the repo so that fresh clones reuse it)
#   Q8S_GALAXY     auto (default: try Galaxy, fall back to offline), offline
#                  (never ask Galaxy) or online (Galaxy only, fail otherwise)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
COLL_ROOT="$ROOT/.collections"
COLL_DIR="$COLL_ROOT/ansible_collections"
Q8S_GALAXY="${Q8S_GALAXY:-auto}"
GALAXY_URL="${Q8S_GALAXY_URL:-https://galaxy.ansible.com/api/}"
# The collections q8s needs; kept in step with requirements.yml.
COLLECTIONS=(
    openstack.cloud
    community.libvirt
    community.general
    ansible.posix
    containers.podman
    ansible.utils
)

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# sha256 of the given files (missing files count as empty).
hash_of() { { cat "$@" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }

# --- Python interpreter ---------------------------------------------------
find_python() {
    local c
    for c in "${PYTHON:-}" python3.11 "$HOME"/.pyenv/versions/3.11*/bin/python3.11 \
             /usr/local/bin/python3.11 /usr/bin/python3.11; do
        [ -n "$c" ] || continue
        command -v "$c" >/dev/null 2>&1 || continue
        if "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

venv_ok() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null &&
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1
}

# --- 1. virtualenv --------------------------------------------------------
if ! venv_ok; then
    PY="$(find_python)" || die "no Python 3.11 found (set PYTHON=/path/to/python3.11)"
    if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
        # Debian's system python3.11 ships venv/ensurepip separately.
        log "python3-venv missing, installing it with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null ||
            die "cannot install python3-venv"
    fi
    log "creating .venv with $PY"
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
fi

REQ_FILES=(requirements.txt tests/requirements-dev.txt)
REQ_HASH="$(hash_of "${REQ_FILES[@]}")"
REQ_STAMP="$VENV/.q8s-requirements.sha256"
if [ "$(cat "$REQ_STAMP" 2>/dev/null)" != "$REQ_HASH" ]; then
    export PIP_CACHE_DIR="${PIP_CACHE_DIR:-/var/cache/q8s/pip}"
    mkdir -p "$PIP_CACHE_DIR" 2>/dev/null || export PIP_CACHE_DIR="$HOME/.cache/q8s/pip"
    log "installing ${REQ_FILES[*]} into .venv (pip cache: $PIP_CACHE_DIR)"
    # The grep drops pip's noise about this machine's missing local indexes.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --progress-bar off -r requirements.txt -r tests/requirements-dev.txt 2>&1 |
        { grep -v 'is ignored: it is neither a file nor a directory' >&2 || true; }
    "$VENV/bin/python" -m pip check >/dev/null || {
        "$VENV/bin/python" -m pip check >&2 || true
        die "pip check failed"
    }
    echo "$REQ_HASH" >"$REQ_STAMP"
    # Collections may come from the ansible wheel: reinstall them too.
    rm -f "$COLL_ROOT/.q8s-collections.sha256"
else
    log ".venv is up to date with ${REQ_FILES[*]}"
fi

# --- 2. collections -------------------------------------------------------
GALAXY="$VENV/bin/ansible-galaxy"
SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
COLL_HASH="$(hash_of "${REQ_FILES[@]}" requirements.yml "${BASH_SOURCE[0]}")"
COLL_STAMP="$COLL_ROOT/.q8s-collections.sha256"

collections_ok() {
    local c
    [ "$(cat "$COLL_STAMP" 2>/dev/null)" = "$COLL_HASH" ] || return 1
    for c in "${COLLECTIONS[@]}"; do
        [ -f "$COLL_DIR/${c%%.*}/${c#*.}/MANIFEST.json" ] || return 1
    done
}

galaxy_answers() {
    # Galaxy must answer within a few seconds, otherwise we go offline.
    timeout 8 "$VENV/bin/python" - "$GALAXY_URL" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=5).read(1)
EOF
}

install_from_galaxy() {
    log "installing collections from Galaxy (requirements.yml)"
    "$GALAXY" collection install --force -r requirements.yml -p "$COLL_ROOT" >/dev/null
}

install_offline() {
    # The ansible wheel bundles the collections; ansible-galaxy installs them
    # from those directories and writes proper MANIFEST.json/FILES.json.
    local c src srcs=()
    for c in "${COLLECTIONS[@]}"; do
        src="$SITE/ansible_collections/${c%%.*}/${c#*.}"
        [ -f "$src/MANIFEST.json" ] || die "collection $c is not in the ansible wheel ($src)"
        srcs+=("$src")
    done
    log "installing collections offline from the ansible wheel"
    # --force: the wheel's copies are on the default search path, so without it
    # ansible-galaxy would call them "already installed".
    "$GALAXY" collection install --offline --no-deps --force -p "$COLL_ROOT" "${srcs[@]}" >/dev/null
}

mkdir -p "$COLL_DIR"
if collections_ok; then
    log ".collections is up to date"
else
    case "$Q8S_GALAXY" in
        offline) install_offline ;;
        online) install_from_galaxy ;;
        auto)
            if galaxy_answers && install_from_galaxy; then
                :
            else
                log "Galaxy not reachable"
                install_offline
            fi
            ;;
        *) die "Q8S_GALAXY must be auto, offline or online" ;;
    esac
    echo "$COLL_HASH" >"$COLL_STAMP"
fi

# --- 3. this checkout as q8s.cluster --------------------------------------
mkdir -p "$COLL_DIR/q8s"
LINK="$COLL_DIR/q8s/cluster"
if [ "$(readlink "$LINK" 2>/dev/null)" != "../../.." ]; then
    rm -rf "$LINK"
    ln -s ../../.. "$LINK"
fi
[ -f "$LINK/galaxy.yml" ] || die "$LINK does not resolve to the checkout"

log "done: $("$VENV/bin/ansible" --version 2>/dev/null | sed -n 1p)"
