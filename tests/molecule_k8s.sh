#!/usr/bin/env bash
# Molecule scenarios of the Kubernetes layer (docs/kubernetes.md):
#   k8s_common          containerd from Debian, modules, sysctl, swap (real)
#   control_plane       playbooks/kubernetes.yml with q8s_kubernetes_skip_binaries=true:
#                       rendered kubeadm config, Flannel, kubelet settings vs expected
#   kubernetes_stubbed  playbooks/kubernetes.yml against fake kubeadm/kubectl:
#                       init, joins, annotations, gate taint, admin.conf, Ready wait
#   api_lb              Debian's haproxy in front of two stand-in API servers: the
#                       endpoint survives losing either one
#
#   tests/molecule_k8s.sh                  # all scenarios, full `molecule test`
#   tests/molecule_k8s.sh control_plane    # one scenario
#
# Needs the test bed: podman with runc (tests/testbed/prepare.sh) and the
# localhost/q8s-host:base image (tests/testbed/build-images.sh host); both are
# prepared here when missing. Uses .venv/ (make setup) unless VENV is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
[ -x "$VENV/bin/molecule" ] || { echo "molecule_k8s: no molecule in $VENV, run 'make setup'" >&2; exit 1; }
export PATH="$VENV/bin:$PATH" VIRTUAL_ENV="$VENV"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export NO_COLOR="${NO_COLOR:-1}"

log() { printf '[molecule_k8s %(%H:%M:%S)T] %s\n' -1 "$*"; }

if ! command -v podman >/dev/null || ! grep -qs 'runtime = "runc"' /etc/containers/containers.conf; then
  log "preparing the test bed (podman with runc)"
  tests/testbed/prepare.sh
fi
if ! podman image exists localhost/q8s-host:base; then
  log "building the host image localhost/q8s-host:base"
  tests/testbed/build-images.sh host
fi

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(k8s_common control_plane kubernetes_stubbed api_lb)

failed=()
for s in "${scenarios[@]}"; do
  start=$SECONDS
  log "molecule test -s $s"
  if molecule test -s "$s"; then
    log "ok: $s ($((SECONDS - start)) s)"
  else
    log "FAILED: $s ($((SECONDS - start)) s)"
    failed+=("$s")
  fi
done
# The stand-ins' shared volume outlives the containers.
podman volume rm -f q8s-molecule-fake-k8s >/dev/null 2>&1 || true
if ((${#failed[@]})); then
  log "failed scenarios: ${failed[*]}"
  exit 1
fi
log "all passed: ${scenarios[*]}"
