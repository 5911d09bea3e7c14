#!/usr/bin/env bash
# make local: the local provider end to end (tests/local/), i.e. the README's deploy
# command with its default spec examples/local.yml, up to the Kubernetes steps.
# scripts/deploy.sh prepares the machine and builds the images it needs.
#
#   tests/local.sh [pytest args...]
#
# LOCAL_TESTS: the test files or directory to collect (default tests/local); make
# local-golden runs the golden image module alone with it, make local-cluster the rest
# (--ignore tests/local/test_golden.py). The halves can run side by side: the golden
# module has its own cluster, podman network and image directory.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg ANSIBLE_NOCOLOR=1
# shellcheck disable=SC2086 # a list of paths
exec python -m pytest ${LOCAL_TESTS:-tests/local} -m local -p no:cacheprovider -rA -vv --durations=0 "$@"
