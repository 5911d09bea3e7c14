#!/usr/bin/env bash
# Prepare this machine as the q8s test bed: podman (runc, capped ulimits),
# QEMU/libvirt (for local checks), image build tools, binfmt for arm64.
# Idempotent; safe to rerun.  Needs root and Debian 12.
set -euo pipefail

log() { printf '[prepare %(%H:%M:%S)T] %s\n' -1 "$*"; }

PKGS=(
  podman runc netavark aardvark-dns slirp4netns uidmap fuse-overlayfs conmon
  qemu-system-x86 qemu-system-arm qemu-efi-aarch64 qemu-utils ovmf
  qemu-system-ppc qemu-system-misc qemu-system-data  # ppc64le (SLOF in -data) and s390x guests
  libxml2-utils  # xmllint, which virt-xml-validate (tests/unit/test_domain_xml.py) runs
  libvirt-daemon-system libvirt-clients dnsmasq-base
  mmdebstrap arch-test qemu-user-static binfmt-support
  extlinux syslinux-common dosfstools mtools fdisk e2fsprogs
  iptables iperf3 openssh-client python3-pycdlib python3-libvirt
  graphviz librsvg2-bin  # verify.yml report: dot draws the topology; the local test renders SVG to PNG
  haproxy  # tests/unit/test_api_endpoint.py runs the load balancer config api_lb renders
)

# One dpkg-query for all of them (one per package took 2 s of every make deploy).
mapfile -t missing < <(comm -23 <(printf '%s\n' "${PKGS[@]}" | sort -u) \
  <(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null \
    | awk '$2 == "install" && $3 == "ok" && $4 == "installed" {print $1}' | sort -u))
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" || {
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
else
  log "packages present"
fi

# podman: runc (crun fails on this hybrid cgroup layout) and capped ulimits.
mkdir -p /etc/containers
conf=/etc/containers/containers.conf
want='# q8s test bed (tests/testbed/prepare.sh)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=8192:8192"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
'
if [[ ! -f $conf ]] || [[ "$(cat "$conf")" != "${want%$'\n'}" ]]; then
  printf '%s' "$want" > "$conf"
  log "wrote $conf"
fi

# binfmt_misc for qemu-user-static (arm64 image builds).
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  update-binfmts --enable qemu-aarch64 || true
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  update-binfmts --import qemu-aarch64 || true
fi
[[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] || { echo "binfmt qemu-aarch64 not registered" >&2; exit 1; }

mkdir -p /var/cache/q8s
log "test bed ready"
