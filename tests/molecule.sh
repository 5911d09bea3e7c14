#!/usr/bin/env bash
# Prepare the test bed (packages, podman, cached images) and run the molecule
# scenarios of the QEMU layer: qemu_host, nat_bridge, default (the three roles
# on an x86_64 and an aarch64 host, with repair tests), link_profile_vm (link
# profiles and faults.yml measured on a VM host whose kernel has netem, fast
# subset: tests/testbed/vmhost.sh). Not in the default list, name them:
# link_profile (the same role on a podman host, whose kernel has no netem:
# rate shaping, refusals and removal; network q8s-linkprof, 10.89.72.0/24);
# cpu_speed (vm types that differ only in cpu_speed_percent, their throughput
# measured; network q8s-cpuspeed, 10.89.73.0/24); arch_extra (ppc64le, s390x).
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
# The images each scenario needs (build-images.sh builds what is missing, under a
# lock per image, so a build started in the background by make test is waited for,
# that image's only). The scenarios that need no arm64 guest go first: the slow arm64
# build goes on meanwhile.
declare -A needs=(
  [nat_bridge]="host" [link_profile]="amd64 host" [link_profile_vm]="vmhost"
  [qemu_host]="amd64 host arm64" [default]="amd64 host arm64"
  [cpu_speed]="amd64 host" [arch_extra]="ppc64el s390x host-ibm"
)

# The podman network that plays the tenant network (fixed addresses).
if ! podman network exists "$NETWORK"; then
  podman network create --subnet "$SUBNET" "$NETWORK" >/dev/null
fi

cleanup() {
  [[ -n ${Q8S_MOLECULE_KEEP:-} ]] && return 0
  # Without -f: a network still used by containers (another run) stays.
  podman network rm "$NETWORK" >/dev/null 2>&1 || true
  podman network rm q8s-linkprof >/dev/null 2>&1 || true
  podman network rm q8s-cpuspeed >/dev/null 2>&1 || true
}
trap cleanup EXIT

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(nat_bridge link_profile_vm qemu_host default)
declare -A took=()
for s in "${scenarios[@]}"; do
  i0=$SECONDS
  # shellcheck disable=SC2086 # one word per image
  tests/testbed/build-images.sh ${needs[$s]:-amd64 host arm64}
  log "images for $s ready ($((SECONDS - i0)) s)"
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
