#!/usr/bin/env bash
# make deploy: site.yml for one cluster spec (default examples/local.yml).
#
#   scripts/deploy.sh [spec.yml] [ansible-playbook args...]
#   CLUSTER=cluster.yml make deploy            (OpenStack: export OS_CLOUD first)
#   make deploy ARGS="--skip-tags kubernetes"  (everything up to the Kubernetes steps)
#
# For provider local it first makes this machine ready (podman with runc, QEMU,
# tests/testbed/prepare.sh; needs root) and builds the host images and the guest
# images the spec uses when they are missing (tests/testbed/build-images.sh,
# cached under /var/cache/q8s).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SPEC=${1:-${CLUSTER:-examples/local.yml}}
(($#)) && shift
[[ -f $SPEC ]] || { echo "deploy: no spec file $SPEC" >&2; exit 1; }
[[ -x .venv/bin/ansible-playbook ]] || { echo "deploy: run 'make setup' first" >&2; exit 1; }
export PATH=$ROOT/.venv/bin:$PATH ANSIBLE_CONFIG=$ROOT/ansible.cfg

# provider and architectures, read through the inventory plugin (validates the spec)
read -r provider archs < <(ansible-inventory --list -e "@$SPEC" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["_meta"]["hostvars"]
c = next(iter(d.values()))["q8s_cluster"]
u = lambda v: v.get("__ansible_unsafe", v) if isinstance(v, dict) else v
arch = sorted({u(t["architecture"]) for t in c["vm_types"].values()})
print(u(c["provider"]), ",".join({"x86_64": "amd64", "aarch64": "arm64"}[a] for a in arch))
') || { ansible-inventory --graph -e "@$SPEC" >/dev/null; exit 1; }

if [[ $provider == local ]]; then
  tests/testbed/prepare.sh
  # shellcheck disable=SC2046 # one word per architecture
  tests/testbed/build-images.sh host $(tr ',' ' ' <<<"$archs")
fi
exec ansible-playbook playbooks/site.yml -e "@$SPEC" "$@"
