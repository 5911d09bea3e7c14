#!/usr/bin/env bash
# make integration: install + start the loopback OpenStack cloud, run the integration
# tests against it, and always stop the cloud again.
#
#   tests/integration/run.sh [pytest args...]
#
# pytest -vv: assertion messages (the failed task) are shown whole, not cut at 240 chars.
# Environment: Q8S_CLOUD_DIR (work dir, default /var/tmp/q8s-cloud),
# Q8S_CLOUD_FRESH=1 (start from empty databases), PYTHON (default .venv/bin/python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLOUD="$ROOT/tests/integration/cloud/cloud.sh"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || { echo "run.sh: no $PY; run 'make setup' first" >&2; exit 1; }

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
"$PY" -m pytest tests/integration -m integration -p no:cacheprovider -rA -vv "$@" || rc=$?
echo "run.sh: tests $((SECONDS - t2)) s (exit $rc)"
exit $rc
