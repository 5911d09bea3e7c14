#!/usr/bin/env bash
# make test: run the given stages in order, stop at the first failure, and print how
# long each suite took.
#
#   scripts/test.sh lint,sanity,unit integration+e2e+local-cluster+local-golden,molecule+molecule-k8s+package
#
# A stage is one suite (a make target), or lanes separated by ',' that run at the same
# time, each lane a '+'-separated list of suites run one after another. Lanes exist
# because this 2-core machine would otherwise idle: the loopback cloud and the
# Kubernetes-layer containers mostly wait, the TCG guests mostly compute. A lane's output
# goes to logs/test-<suite>.log; its tail is printed when the suite ends (all of the
# failing suite's last lines on failure).
#
# When a Molecule or local suite is among them, the test bed is prepared first and the
# guest and host images (tests/testbed/build-images.sh, cached under /var/cache/q8s) are
# built in the background; build-images.sh holds a lock per image, so a suite that needs
# an image waits for that image's build instead of starting a second one, and does not
# wait for the others (the arm64 guest takes about 6 minutes cold).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
mkdir -p logs

log() { printf '==> [%(%H:%M:%S)T] %s\n' -1 "$*"; }
t0=$SECONDS
prefetch=
for stage in "$@"; do
  [[ $stage == *molecule* || $stage == *local* ]] && prefetch=1
done
pids=()
cleanup() { ((${#pids[@]})) && kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
if [[ -n $prefetch ]]; then
  log "preparing the test bed (tests/testbed/prepare.sh)"
  tests/testbed/prepare.sh
  log "building/checking images in the background (logs/images.log)"
  tests/testbed/build-images.sh amd64 host vmhost arm64 >logs/images.log 2>&1 &
  images_pid=$!
  pids+=("$images_pid")
fi

kill_tree() {
  local c
  for c in $(pgrep -P "$1" || true); do kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}

rows_file=$(mktemp)
# One suite in the foreground, output straight through.
suite() {
  local s=$1 s0=$SECONDS
  log "make $s"
  if ! make --no-print-directory "$s"; then
    log "FAILED: $s after $((SECONDS - s0)) s"
    return 1
  fi
  printf '%-14s %6d s\n' "$s" $((SECONDS - s0)) >>"$rows_file"
  log "ok: $s ($((SECONDS - s0)) s)"
}
# One lane: its suites in order, each into logs/test-<suite>.log.
lane() {
  local s s0
  for s in $(tr '+' ' ' <<<"$1"); do
    s0=$SECONDS
    log "make $s (output: logs/test-$s.log)"
    if ! make --no-print-directory "$s" >"logs/test-$s.log" 2>&1; then
      log "FAILED: $s after $((SECONDS - s0)) s; last lines of logs/test-$s.log:"
      tail -n 150 "logs/test-$s.log" | sed "s/^/    [$s] /"
      return 1
    fi
    tail -n 15 "logs/test-$s.log" | sed "s/^/    [$s] /"
    printf '%-14s %6d s\n' "$s" $((SECONDS - s0)) >>"$rows_file"
    log "ok: $s ($((SECONDS - s0)) s)"
  done
}

for stage in "$@"; do
  if [[ $stage != *,* && $stage != *+* ]]; then
    suite "$stage" || exit 1
    continue
  fi
  s0=$SECONDS
  lanes=()
  for l in $(tr ',' ' ' <<<"$stage"); do
    lane "$l" &
    lanes+=($!)
    pids+=($!)
  done
  # Fail fast: the first lane that fails stops the others.
  remaining=("${lanes[@]}")
  while ((${#remaining[@]})); do
    rc=0
    wait -n -p finished "${remaining[@]}" || rc=$?
    left=()
    for p in "${remaining[@]}"; do [[ $p == "$finished" ]] || left+=("$p"); done
    remaining=("${left[@]}")
    if ((rc)); then
      log "FAILED: stage $stage after $((SECONDS - s0)) s; stopping its other lanes"
      for p in "${remaining[@]}"; do kill_tree "$p"; done
      exit 1
    fi
  done
  log "ok: stage $stage ($((SECONDS - s0)) s)"
done
if [[ -n $prefetch ]]; then
  wait "$images_pid" || { log "FAILED: image build (logs/images.log)"; tail -20 logs/images.log; exit 1; }
fi
trap - EXIT
log "all suites passed in $((SECONDS - t0)) s"
sed 's/^/    /' "$rows_file"
rm -f "$rows_file"
