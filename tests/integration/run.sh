#!/usr/bin/env bash
# make integration: install + start the loopback OpenStack cloud, run the integration
# tests against it, and always stop the cloud again.
#
#   tests/integration/run.sh [pytest args...]
#
# pytest -vv: assertion messages (the failed task) are shown whole, not cut at 240 chars.
# Environment: Q8S_CLOUD_DIR (work dir, default /var/tmp/q8s-cloud),
# Q8S_CLOUD_FRESH=1 (start from empty databases), PYTHON (default .venv/bin/python),
# Q8S_CLOUD_LOCK (default /var/lock/q8s-cloud.lock).
#
# The cloud listens on fixed ports: this script holds Q8S_CLOUD_LOCK (flock, fd 9) for
# its whole run, as tests/e2e.sh does, so the two suites wait for each other instead of
# colliding. cloud.sh starts its daemons with fd 9 closed: the lock goes with this script.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLOUD="$ROOT/tests/integration/cloud/cloud.sh"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || { echo "run.sh: no $PY; run 'make setup' first" >&2; exit 1; }

LOCK="${Q8S_CLOUD_LOCK:-/var/lock/q8s-cloud.lock}"
exec 9>"$LOCK"
flock -n 9 || { echo "run.sh: waiting for the loopback cloud ($LOCK)" >&2; flock 9; }

t0=$SECONDS
"$CLOUD" install
t1=$SECONDS
trap '"$CLOUD" stop' EXIT
if [[ "${Q8S_CLOUD_FRESH:-0}" == 1 ]]; then "$CLOUD" reset; fi
"$CLOUD" start
t2=$SECONDS
echo "run.sh: cloud install $((t1 - t0)) s, start $((t2 - t1)) s"
cd "$ROOT"
rc=0
"$PY" -m pytest tests/integration -m integration -p no:cacheprovider -rA -vv --durations=0 "$@" || rc=$?
echo "run.sh: tests $((SECONDS - t2)) s (exit $rc)"
exit $rc
