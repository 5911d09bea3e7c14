#!/usr/bin/env bash
# make local: the local provider end to end (tests/local/), i.e. the README's deploy
# command with its default spec examples/local.yml, up to the Kubernetes steps.
# scripts/deploy.sh prepares the machine and builds the images it needs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg ANSIBLE_NOCOLOR=1
exec python -m pytest tests/local -m local -p no:cacheprovider -rA -vv --durations=0 "$@"
