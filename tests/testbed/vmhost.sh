#!/usr/bin/env bash
# A QEMU host that is a full VM: a TCG guest of this machine booting Debian
# bookworm's own kernel (linux-image-cloud-amd64, which has sch_netem, sch_htb,
# ifb, act_mirred and cls_u32 as modules), from the image build-images.sh builds
# as its "vmhost" variant (the amd64 guest image plus iperf3, iptables, libvirt
# with its LXC driver). Ansible reaches it over SSH on a bridge of its own.
#
#   vmhost.sh up       build the image if missing, boot the VM, wait for SSH
#   vmhost.sh down     stop the VM, remove its bridge, tap and work directory
#   vmhost.sh status   exit 0 when the VM runs and answers SSH
#   vmhost.sh ssh CMD  run a command in the VM as root
#   vmhost.sh test     the Molecule scenario link_profile_vm (fast subset; NM_LP_FULL=1
#                      for the full set, which tests/bench/link_profile_bench.py runs)
#
# Environment: NM_VMHOST_DIR (default /var/tmp/nm-vmhost) holds the overlay disk,
# the cloud-init seed, the SSH key (id_ed25519), the console log and QEMU's pid.
# Network: bridge nm-br0 10.79.16.1/24 on this machine, the VM at 10.79.16.10
# (tap nm-tap0). The VM persists its disk, so a reboot inside it is a real host
# reboot (QEMU resets, the same disk boots again).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${NM_VMHOST_DIR:-/var/tmp/nm-vmhost}
IMAGE=${Q8S_CACHE:-/var/cache/q8s}/images/debian-12-vmhost-amd64.qcow2
BR=nm-br0 TAP=nm-tap0
NET_HOST=10.79.16.1 VM_ADDR=10.79.16.10 MAC=52:54:00:4e:4d:10
SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
  -o ConnectTimeout=5 -o BatchMode=yes -o ServerAliveInterval=15 -o ServerAliveCountMax=8)

log() { printf '[vmhost %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

vm_ssh() { ssh "${SSH_OPTS[@]}" -i "$DIR/id_ed25519" "q8s@$VM_ADDR" "$@"; }

running() { [[ -s $DIR/qemu.pid ]] && kill -0 "$(cat "$DIR/qemu.pid")" 2>/dev/null; }

seed() {
  local s=$DIR/seed
  mkdir -p "$s"
  printf 'instance-id: nm-vmhost-1\nlocal-hostname: nm-vmhost\n' >"$s/meta-data"
  cat >"$s/network-config" <<EOF
version: 2
ethernets:
  eth0:
    match: {macaddress: "$MAC"}
    set-name: eth0
    addresses: [$VM_ADDR/24]
    gateway4: $NET_HOST
EOF
  cat >"$s/user-data" <<EOF
#cloud-config
manage_etc_hosts: true
# No RSA host key: its generation takes seconds under emulation (as emulated_worker's).
ssh_genkeytypes: [ed25519, ecdsa]
users:
  - name: q8s
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: /bin/bash
    ssh_authorized_keys: ["$(cat "$DIR/id_ed25519.pub")"]
write_files:
  # Load the shaping modules from Debian's kernel at every boot.
  - path: /etc/modules-load.d/q8s-netem.conf
    content: |
      sch_netem
      sch_htb
      ifb
      act_mirred
      cls_u32
runcmd:
  - [systemctl, restart, systemd-modules-load.service]
EOF
  genisoimage -quiet -output "$DIR/seed.iso" -volid cidata -joliet -rock \
    "$s/user-data" "$s/meta-data" "$s/network-config"
}

up() {
  if running && vm_ssh true 2>/dev/null; then
    log "already up ($VM_ADDR)"
    return 0
  fi
  # Cached unless its package list or build functions changed (then rebuilt).
  "$HERE/build-images.sh" vmhost
  mkdir -p "$DIR"
  [[ -s $DIR/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C nm-vmhost -f "$DIR/id_ed25519"
  if [[ ! -s $DIR/disk.qcow2 ]]; then
    qemu-img create -q -f qcow2 -F qcow2 -b "$(readlink -f "$IMAGE")" "$DIR/disk.qcow2" 6G
    seed
  fi
  if [[ ! -e /sys/class/net/$BR ]]; then
    ip link add "$BR" type bridge
    ip addr add "$NET_HOST/24" dev "$BR"
    ip link set "$BR" up
  fi
  if [[ ! -e /sys/class/net/$TAP ]]; then
    ip tuntap add dev "$TAP" mode tap
    ip link set "$TAP" master "$BR" up
  fi
  if ! running; then
    local t0=$SECONDS
    # One TCG thread for both vCPUs: with one thread per vCPU (thread=multi) a vCPU can run
    # a stale translation of kernel text the other one just patched. The kernel patches its
    # text when a static key flips, e.g. when link_profile adds the first ingress qdisc, and
    # the VM host died of it once (int3 in netif_receive_skb_list_internal, 2026-12-07).
    qemu-system-x86_64 -name nm-vmhost -machine q35 -accel tcg,thread=single -cpu EPYC-Rome \
      -smp 2 -m 1536 -display none -daemonize -pidfile "$DIR/qemu.pid" \
      -serial "file:$DIR/console.log" \
      -drive "file=$DIR/disk.qcow2,if=virtio,format=qcow2" \
      -drive "file=$DIR/seed.iso,if=virtio,format=raw,readonly=on" \
      -netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no" \
      -device "virtio-net-pci,netdev=n0,mac=$MAC"
    log "booting (console $DIR/console.log)"
    wait_ssh 600
    log "up after $((SECONDS - t0)) s: ssh -i $DIR/id_ed25519 q8s@$VM_ADDR"
  fi
  vm_ssh sudo cloud-init status --wait >/dev/null || true
}

wait_ssh() { # timeout
  local end=$((SECONDS + $1))
  until vm_ssh true 2>/dev/null; do
    ((SECONDS < end)) || { log "no SSH after $1 s"; tail -20 "$DIR/console.log" >&2; return 1; }
    running || { log "QEMU exited"; tail -20 "$DIR/console.log" >&2; return 1; }
    sleep 3
  done
}

down() {
  if running; then
    local pid; pid=$(cat "$DIR/qemu.pid")
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  [[ ! -e /sys/class/net/$TAP ]] || ip link del "$TAP"
  [[ ! -e /sys/class/net/$BR ]] || ip link del "$BR"
  rm -rf "$DIR"
  log "down"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) running && vm_ssh true ;;
  ssh) shift; vm_ssh sudo "$@" ;;
  test)
    root=$(cd "$HERE/../.." && pwd)
    cd "$root"
    export PATH=$root/.venv/bin:$PATH ANSIBLE_CONFIG=$root/ansible.cfg
    mkdir -p /tmp/q8s
    exec flock /tmp/q8s/molecule-link_profile_vm.lock molecule test -s link_profile_vm
    ;;
  *) echo "usage: $0 up|down|status|ssh CMD|test" >&2; exit 2 ;;
esac
