#!/usr/bin/env bash
# make e2e: the main command (site.yml up to the Kubernetes steps) on the loopback
# OpenStack whose servers are podman containers of this host (tests/e2e/), then the
# repairs and teardown, beside a second cluster they must leave alone; each playbook
# run's output and stage timings go to logs/e2e/. Starts the cloud with
# Q8S_CLOUD_COMPUTE=podman and always stops it again, which also removes the server
# containers and their podman network.
#
#   tests/e2e.sh [pytest args...]
#
# The cloud listens on fixed ports: this script holds Q8S_CLOUD_LOCK (default
# /var/lock/q8s-cloud.lock; flock, fd 9) for its whole run, as tests/integration/run.sh
# does, so the two suites wait for each other instead of colliding.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
CLOUD=$ROOT/tests/integration/cloud/cloud.sh
[[ -x .venv/bin/python ]] || { echo "e2e: run 'make setup' first" >&2; exit 1; }
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg ANSIBLE_NOCOLOR=1
export Q8S_CLOUD_COMPUTE=podman

# The images first: build-images.sh waits for its own lock (another build may hold it
# for long), and the cloud is not held meanwhile.
t0=$SECONDS
tests/testbed/prepare.sh
tests/testbed/build-images.sh host amd64 arm64

LOCK="${Q8S_CLOUD_LOCK:-/var/lock/q8s-cloud.lock}"
exec 9>"$LOCK"
flock -n 9 || { echo "e2e: waiting for the loopback cloud ($LOCK)" >&2; flock 9; }
"$CLOUD" install
t1=$SECONDS
trap '"$CLOUD" stop' EXIT
"$CLOUD" start
t2=$SECONDS
echo "e2e: images, cloud lock and install $((t1 - t0)) s, cloud start $((t2 - t1)) s"
# every playbook run's output and stage timings (tests/e2e): this run's only
rm -rf logs/e2e
rc=0
python -m pytest tests/e2e -m e2e -p no:cacheprovider -rA -vv -s --durations=0 "$@" || rc=$?
echo "e2e: tests $((SECONDS - t2)) s, total $((SECONDS - t0)) s (exit $rc)"
exit $rc
