#!/usr/bin/env bash
# make bench: every benchmark of tests/bench/, each measuring q8s against a baseline in
# the same run, then one report with every figure and ratio.
#
#   scripts/bench.sh [name...]      e.g. scripts/bench.sh inventory guest_boot
#
# The full set takes several hours on 2 cores (50 and 200 servers on the loopback
# cloud, TCG guest boots per architecture, the netem VM host). Output: logs/bench-<name>.log.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY=$ROOT/.venv/bin/python
mkdir -p logs
names=("$@")
((${#names[@]})) || names=(inventory provision guest_boot golden first_deploy cpu_speed link_profile)
for n in "${names[@]}"; do
  echo "==> $n (logs/bench-$n.log)"
  "$PY" "tests/bench/${n}_bench.py" 2>&1 | tee "logs/bench-$n.log"
done
echo
echo "==================== q8s benchmark report ===================="
for n in "${names[@]}"; do
  echo "[$n]"
  grep -E 'ratio|speed-up|median|SSH |servers in|added' "logs/bench-$n.log" | sed 's/^/  /' || true
done
