#!/usr/bin/env bash
# Prepare the test bed (packages, podman, cached images) and run the molecule
# scenarios of the QEMU layer: qemu_host, nat_bridge, default (the three roles
# on an x86_64 and an aarch64 host, with repair tests).
#
#   tests/molecule.sh                      all scenarios
#   tests/molecule.sh nat_bridge default   some of them
#   Q8S_MOLECULE_KEEP=1 tests/molecule.sh  leave the containers running (molecule converge/verify)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
[[ -x $ROOT/.venv/bin/molecule ]] && export PATH=$ROOT/.venv/bin:$PATH
export ANSIBLE_CONFIG=$ROOT/ansible.cfg
NETWORK=q8s-molecule
SUBNET=10.89.70.0/24

log() { printf '[molecule.sh %(%H:%M:%S)T] %s\n' -1 "$*"; }
t0=$SECONDS

tests/testbed/prepare.sh
log "building/checking images"
tests/testbed/build-images.sh amd64 host arm64
log "images ready ($((SECONDS - t0)) s)"

# The podman network that plays the tenant network (fixed addresses).
if ! podman network exists "$NETWORK"; then
  podman network create --subnet "$SUBNET" "$NETWORK" >/dev/null
fi

cleanup() {
  [[ -n ${Q8S_MOLECULE_KEEP:-} ]] && return 0
  # Without -f: a network still used by containers (another run) stays.
  podman network rm "$NETWORK" >/dev/null 2>&1 || true
}
trap cleanup EXIT

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(qemu_host nat_bridge default)
declare -A took=()
for s in "${scenarios[@]}"; do
  log "scenario $s"
  s0=$SECONDS
  if [[ -n ${Q8S_MOLECULE_KEEP:-} ]]; then
    molecule converge -s "$s"
  else
    molecule test -s "$s"
  fi
  took[$s]=$((SECONDS - s0))
  log "scenario $s passed in ${took[$s]} s"
done
for s in "${scenarios[@]}"; do log "  $s: ${took[$s]} s"; done
log "all passed in $((SECONDS - t0)) s"
