#!/usr/bin/env bash
# Re-derive q8s_models.TCG_CHECKED: boot Debian bookworm's own kernel under TCG with each
# ppc64le / s390x CPU model (no disk, no initrd) and say whether the kernel got as far as
# mounting its root file system. A panic for the missing root is the expected success.
#
#   tests/testbed/check-cpu-models.sh [ppc64le|s390x ...]     (default: both)
#
# Needs qemu-system-ppc, qemu-system-misc, qemu-system-data (tests/testbed/prepare.sh) and
# the kernels: with KERNEL_DIR unset it runs `apt-get download` for linux-image-<abi>-
# powerpc64le:ppc64el and -s390x:s390x, which needs `dpkg --add-architecture ppc64el s390x`
# and `apt-get update` once (root). Prints one line per model,
#   <arch> <model> <ok|failed> <seconds> <reason>
# the lines TCG_CHECKED in plugins/module_utils/q8s_models.py records. Not part of make test:
# about 10 minutes on the 2-core test machine. TIMEOUT (default 60) caps each boot.
set -euo pipefail

TIMEOUT=${TIMEOUT:-60}
work=$(mktemp -d /tmp/q8s-cpu-models.XXXXXX)
trap 'rm -rf "$work"' EXIT

PPC_MODELS=(POWER7 POWER8 POWER9 POWER10)
S390_MODELS=(z900 z990 z9EC z10EC z196 z114 zEC12 zBC12 z13 z13s z14 z14.2 z14ZR1 gen15a gen15b gen16a gen16b
  z196-base z114-base zEC12-base zBC12-base z13-base z13s-base z14-base z14.2-base z14ZR1-base
  gen15a-base gen15b-base gen16a-base gen16b-base qemu max)

kernels() {
  local dir=$1 pkg
  if [[ -n ${KERNEL_DIR:-} ]]; then
    cp -r "$KERNEL_DIR"/. "$dir"/
    return
  fi
  for pkg in linux-image-powerpc64le:ppc64el linux-image-s390x:s390x; do
    dep=$(apt-cache depends "$pkg" | awk '/Depends: linux-image-6/ {print $2; exit}')
    (cd "$dir" && apt-get download -q "$dep" >/dev/null)
  done
  for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$dir/x"; done
  cp "$dir"/x/boot/vmlinux-*-powerpc64le "$dir"/vmlinux-ppc64le
  cp "$dir"/x/boot/vmlinuz-*-s390x "$dir"/vmlinuz-s390x
}

# boot <arch> <model>: one line of output
boot() {
  local arch=$1 model=$2 log="$work/$1-$2.log" start end rc=0 result reason
  local -a cmd
  if [[ $arch == ppc64le ]]; then
    cmd=(qemu-system-ppc64 -machine pseries -cpu "$model" -kernel "$work/vmlinux-ppc64le"
      -append "console=hvc0 panic=-1")
  else
    cmd=(qemu-system-s390x -machine s390-ccw-virtio -cpu "$model" -kernel "$work/vmlinuz-s390x"
      -append "console=ttysclp0 panic=-1")
  fi
  start=$(date +%s)
  # -no-reboot turns the panic's reboot into an exit; the watcher stops QEMU early on a verdict.
  "${cmd[@]}" -accel tcg -m 1024 -smp 1 -nographic -no-reboot -nodefaults -serial "file:$log" \
    -monitor none >"$log.qemu" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if grep -qaE 'VFS: Unable to mount root|requires more recent processor|Kernel panic' "$log" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      break
    fi
    if (($(date +%s) - start >= TIMEOUT)); then
      kill "$pid" 2>/dev/null || true
      break
    fi
    sleep 1
  done
  wait "$pid" 2>/dev/null || rc=$?
  end=$(date +%s)
  if grep -qa 'Linux version' "$log" && grep -qa 'VFS: Unable to mount root' "$log"; then
    result=ok reason="kernel booted to the root mount"
  elif grep -qa 'requires more recent processor' "$log"; then
    result=failed reason="kernel: requires more recent processor hardware"
  elif [[ -s $log.qemu ]] && ! grep -qa 'Linux version' "$log"; then
    # "Some features requested in the CPU model are not available in the configuration: a b c ..."
    result=failed reason="qemu: $(head -n1 "$log.qemu" | sed 's/^[^:]*: //' | cut -d' ' -f1-16) ..."
  elif grep -qa 'Kernel panic' "$log"; then
    result=failed reason="kernel: $(grep -a -m1 'Kernel panic' "$log" | head -c 120)"
  elif grep -qa 'Linux version' "$log"; then
    result=failed reason="no root mount within ${TIMEOUT}s"
  else
    result=failed reason="no console output within ${TIMEOUT}s (rc $rc)"
  fi
  printf '%s %s %s %d %s\n' "$arch" "$model" "$result" $((end - start)) "$reason"
}

kernels "$work"
archs=("$@")
((${#archs[@]})) || archs=(ppc64le s390x)
for arch in "${archs[@]}"; do
  case $arch in
    ppc64le) models=("${PPC_MODELS[@]}") ;;
    s390x) models=("${S390_MODELS[@]}") ;;
    *) echo "unknown architecture $arch (ppc64le or s390x)" >&2; exit 2 ;;
  esac
  for model in "${models[@]}"; do boot "$arch" "$model"; done
done
