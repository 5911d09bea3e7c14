#!/usr/bin/env bash
# Build the q8s test bed images, cached under /var/cache/q8s:
#   guest images  Debian 12 (bookworm) amd64 / arm64 with cloud-init and q8s-firstboot
#                 (roles/emulated_worker/files, installed and enabled as golden images
#                 have it), qcow2, and the image's kernel and initrd for a direct boot:
#                 images/debian-12-<arch>.qcow2, .vmlinuz, .initrd (+ .sha256 each),
#                 symlinks to hashed files. Boot them with root=LABEL=root.
#   host images   podman images localhost/q8s-host:base (systemd, python3, iptables)
#                 and localhost/q8s-host:virt (base + QEMU/libvirt preinstalled)
# Every artefact is keyed by a hash of the shell functions and package lists that
# produce it, so editing this script rebuilds exactly what changed.  The rootfs
# tarballs are kept: rebuilding a disk from them takes seconds.
#
# usage: build-images.sh [amd64] [arm64] [host] [vmhost]   (default: the first three)
#        build-images.sh ppc64el s390x host-ibm   (issue 17: IBM Power and Z guests, their test host)
set -euo pipefail
shopt -s inherit_errexit

CACHE=${Q8S_CACHE:-/var/cache/q8s}
# q8s-firstboot and its units: their one home is the emulated_worker role.
FIRSTBOOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../roles/emulated_worker/files" && pwd)
FIRSTBOOT_UNITS=(q8s-firstboot.service q8s-growroot.service q8s-ready.service)
SUITE=bookworm
MIRROR=${Q8S_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$CACHE/rootfs" "$CACHE/images" "$CACHE/tmp"

log() { printf '[build %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
h() { sha256sum | cut -c1-12; }

GUEST_PKGS="linux-image-cloud-ARCH,systemd-sysv,udev,dbus,cloud-init,cloud-guest-utils,fdisk,\
openssh-server,sudo,ifupdown,isc-dhcp-client,iproute2,netbase,locales,ca-certificates,\
procps,iputils-ping,netcat-openbsd,python3"
HOST_PKGS="systemd,systemd-sysv,dbus,udev,python3,python3-apt,iptables,iproute2,procps,\
openssh-client,ca-certificates,netcat-openbsd,sudo,kmod,less,iputils-ping,gnupg"
VIRT_PKGS="qemu-system-x86,qemu-system-arm,qemu-efi-aarch64,qemu-utils,libvirt-daemon-system,\
libvirt-clients,dnsmasq-base,python3-libvirt,python3-lxml,python3-pycdlib,iperf3"
# The VM host (tests/testbed/vmhost.sh): the amd64 guest image plus what link_profile,
# faults.yml and the measurements need on a host whose kernel has netem; the guest
# stand-in is a libvirt LXC domain (a network namespace on a veth), not a nested TCG guest.
VMHOST_PKGS="iperf3,iptables,python3-apt,kmod,dnsmasq-base,libvirt-daemon-system,libvirt-daemon-driver-lxc,\
libvirt-clients"

# Runs inside the guest rootfs (chroot), any architecture.
guest_customize() {
  set -e
  mkdir -p /etc/cloud/cloud.cfg.d
  printf 'datasource_list: [ NoCloud, None ]\n' > /etc/cloud/cloud.cfg.d/90-q8s-datasource.cfg
  sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  locale-gen
  printf 'LANG=en_US.UTF-8\n' > /etc/default/locale
  printf 'LABEL=root / ext4 defaults,errors=remount-ro 0 1\n' > /etc/fstab
  printf 'auto lo\niface lo inet loopback\nsource /etc/network/interfaces.d/*\n' > /etc/network/interfaces
  rm -f /etc/ssh/ssh_host_*
  : > /etc/machine-id
  rm -f /var/lib/dbus/machine-id
  printf 'debian\n' > /etc/hostname
  apt-get clean
  rm -rf /var/lib/apt/lists/*
}

# Runs on the build machine before the guest's kernel is installed ($1 = the rootfs):
# a small initramfs (only the virtio drivers the root disk needs; ext4 is built in).
# initramfs-tools' default MODULES=most takes minutes per generation for arm64 under
# qemu-user and is generated twice; this one takes seconds.
guest_initramfs() {
  mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
  printf 'MODULES=list\nCOMPRESS=gzip\n' > "$1/etc/initramfs-tools/conf.d/q8s.conf"
  # shellcheck disable=SC2016 # the hook script is written literally
  printf '%s\n' '#!/bin/sh' '[ "$1" = prereqs ] && exit 0' \
    '. /usr/share/initramfs-tools/hook-functions' \
    'manual_add_modules virtio virtio_ring virtio_pci virtio_mmio virtio_blk virtio_scsi sd_mod' \
    > "$1/etc/initramfs-tools/hooks/q8s-virtio"
  chmod 755 "$1/etc/initramfs-tools/hooks/q8s-virtio"
}

# Runs inside the host rootfs (chroot): a stand-in for an OpenStack VM.
host_customize() {
  set -e
  : > /etc/machine-id
  printf 'q8s-host\n' > /etc/hostname
  # No getty on a container console; no udev triggers fighting the host.
  systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
    systemd-resolved.service 2>/dev/null || true
  apt-get clean
  rm -rf /var/lib/apt/lists/*
}

rootfs() { # arch pkgs customize-fn extra-name [essential-fn] -> prints tarball path
  local arch=$1 pkgs=$2 fn=$3 name=$4 efn=${5:-}
  local key; key=$( { echo "$SUITE $arch $pkgs"; declare -f "$fn"; [[ -z $efn ]] || declare -f "$efn"; } | h)
  local tar="$CACHE/rootfs/$name-$arch-$key.tar"
  if [[ ! -s $tar ]]; then
    log "mmdebstrap $name $arch (key $key)"
    local t0=$SECONDS
    local hook; hook="$(declare -f "$fn"); $fn"
    local extra=()
    [[ -z $efn ]] || extra=(--essential-hook="$(declare -f "$efn"); $efn \"\$1\"")
    mmdebstrap --variant=minbase --architectures="$arch" --include="$pkgs" "${extra[@]}" \
      --customize-hook="chroot \"\$1\" /bin/bash -c '$(printf '%s' "$hook" | sed "s/'/'\\\\''/g")'" \
      "$SUITE" "${tar%.tar}.part.tar" "$MIRROR" >&2
    mv "${tar%.tar}.part.tar" "$tar"
    log "rootfs $name $arch built in $((SECONDS - t0)) s"
  fi
  printf '%s\n' "$tar"
}

# q8s-firstboot into a mounted guest root, enabled (the units' [Install] sections say
# where); its units run only with q8s.firstboot on the kernel command line, so a guest
# booted without it still gets cloud-init.
firstboot_install() { # mnt
  local mnt=$1 u
  install -D -m 0755 "$FIRSTBOOT/q8s-firstboot" "$mnt/usr/local/sbin/q8s-firstboot"
  for u in "${FIRSTBOOT_UNITS[@]}"; do
    install -D -m 0644 "$FIRSTBOOT/$u" "$mnt/etc/systemd/system/$u"
  done
  systemctl --root="$mnt" --quiet enable "${FIRSTBOOT_UNITS[@]}"
}
firstboot_key() { (cd "$FIRSTBOOT" && sha256sum q8s-firstboot "${FIRSTBOOT_UNITS[@]}"); }

# The kernel and initrd of a rootfs tarball beside its disk, for a direct kernel boot.
boot_files() { # tar out-prefix
  local tar=$1 out=$2 k tmp
  k=$(kver "$tar")
  tmp=$(mktemp -d "$CACHE/tmp/boot.XXXXXX")
  tar -xf "$tar" -C "$tmp" "./boot/vmlinuz-$k" "./boot/initrd.img-$k"
  mv "$tmp/boot/vmlinuz-$k" "$out.vmlinuz"
  mv "$tmp/boot/initrd.img-$k" "$out.initrd"
  rm -rf "$tmp"
}

kver() { tar -tf "$1" | sed -n 's#^\./boot/vmlinuz-##p' | sort -V | tail -1; }

# Fill a partition (byte offset, size) of a raw disk with an ext4 fs from a tarball.
fill_root() { # disk offset size tar mnt
  local disk=$1 off=$2 size=$3 tar=$4 mnt=$5 dev
  dev=$(losetup --find --show --offset "$off" --sizelimit "$size" "$disk")
  mkfs.ext4 -q -F -L root -O ^orphan_file,^metadata_csum_seed "$dev" 2>/dev/null ||
    mkfs.ext4 -q -F -L root "$dev"
  mkdir -p "$mnt"
  mount "$dev" "$mnt"
  tar -xpf "$tar" -C "$mnt" --numeric-owner
  firstboot_install "$mnt"
  printf '%s\n' "$dev"
}

disk_amd64() { # tar out
  local tar=$1 out=$2 k dev
  local raw="$out.raw" mnt="$CACHE/tmp/mnt-${out##*/}"
  k=$(kver "$tar")
  rm -f "$raw"; truncate -s 2G "$raw"
  printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$raw"
  dev=$(fill_root "$raw" $((2048 * 512)) $((2 * 1024 * 1024 * 1024 - 2048 * 512)) "$tar" "$mnt")
  mkdir -p "$mnt/boot/extlinux"
  cat > "$mnt/boot/extlinux/extlinux.conf" <<CFG
DEFAULT debian
TIMEOUT 1
PROMPT 0
LABEL debian
  LINUX /boot/vmlinuz-$k
  INITRD /boot/initrd.img-$k
  APPEND root=LABEL=root ro console=tty0 console=ttyS0,115200n8
CFG
  extlinux --install "$mnt/boot/extlinux" >/dev/null
  umount "$mnt"; losetup -d "$dev"
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
  qemu-img convert -O qcow2 "$raw" "$out"; rm -f "$raw"
}

disk_arm64() { # tar out
  local tar=$1 out=$2 k dev
  local raw="$out.raw" mnt="$CACHE/tmp/mnt-${out##*/}" esp="$out.esp"
  k=$(kver "$tar")
  rm -f "$raw" "$esp"; truncate -s 2G "$raw"
  # root ends 1 MiB before the end of the disk (room for the backup GPT)
  local root_sectors=$((2 * 1024 * 1024 * 2 - 206848 - 2048))
  printf 'label: gpt\nstart=2048, size=204800, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\nstart=206848, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n' \
    "$root_sectors" | sfdisk -q "$raw"
  dev=$(fill_root "$raw" $((206848 * 512)) $((root_sectors * 512)) "$tar" "$mnt")
  cat > "$mnt/tmp/q8s-grub.cfg" <<CFG
search --no-floppy --label root --set=root
set timeout=0
linux /boot/vmlinuz-$k root=LABEL=root ro console=tty0 console=ttyAMA0,115200n8
initrd /boot/initrd.img-$k
boot
CFG
  chroot "$mnt" grub-mkimage -O arm64-efi -o /tmp/BOOTAA64.EFI -c /tmp/q8s-grub.cfg -p /boot/grub \
    part_gpt part_msdos ext2 fat search search_label linux normal boot echo efi_gop configfile gzio
  mkfs.vfat -C -n ESP "$esp" 102400 >/dev/null
  mmd -i "$esp" ::EFI ::EFI/BOOT
  mcopy -i "$esp" "$mnt/tmp/BOOTAA64.EFI" ::EFI/BOOT/BOOTAA64.EFI
  rm -f "$mnt/tmp/BOOTAA64.EFI" "$mnt/tmp/q8s-grub.cfg"
  umount "$mnt"; losetup -d "$dev"
  dd if="$esp" of="$raw" bs=1M seek=1 conv=notrunc status=none; rm -f "$esp"
  qemu-img convert -O qcow2 "$raw" "$out"; rm -f "$raw"
}

# ppc64el and s390x (issue 17). Debian has no cloud kernel flavour for either, and their
# guests boot the exported kernel directly (guest() exports it), so their disks carry no
# boot loader (no SLOF/GRUB, no zipl): one DOS partition with the ext4 root. Their generic
# kernels build ext4 as a module, and s390x needs virtio_ccw (its virtio devices sit on the
# channel subsystem): guest_initramfs_ibm. pseries boots an ELF vmlinux, not a vmlinuz.
declare -A GUEST_KERNEL_PKG=([ppc64el]=linux-image-powerpc64le [s390x]=linux-image-s390x)
declare -A GUEST_INITRAMFS=([ppc64el]=guest_initramfs_ibm [s390x]=guest_initramfs_ibm)
# The function that makes each arch's disk from its rootfs.
declare -A GUEST_DISK=([amd64]=disk_amd64 [arm64]=disk_arm64 [ppc64el]=disk_dos_root [s390x]=disk_dos_root)

# qemu-user for a foreign rootfs (prepare.sh registers aarch64 only).
binfmt_enable() { # qemu arch name
  [[ -e /proc/sys/fs/binfmt_misc/qemu-$1 ]] || update-binfmts --enable "qemu-$1" ||
    update-binfmts --import "qemu-$1"
  [[ -e /proc/sys/fs/binfmt_misc/qemu-$1 ]] || { echo "binfmt qemu-$1 not registered" >&2; exit 1; }
}

# guest_initramfs plus ext4 and virtio_ccw (modules missing on an architecture are skipped).
guest_initramfs_ibm() {
  mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/etc/initramfs-tools/hooks"
  printf 'MODULES=list\nCOMPRESS=gzip\n' > "$1/etc/initramfs-tools/conf.d/q8s.conf"
  # shellcheck disable=SC2016 # the hook script is written literally
  printf '%s\n' '#!/bin/sh' '[ "$1" = prereqs ] && exit 0' \
    '. /usr/share/initramfs-tools/hook-functions' \
    'manual_add_modules virtio virtio_ring virtio_pci virtio_ccw virtio_blk virtio_scsi sd_mod' \
    'manual_add_modules crc32c_generic libcrc32c' 'force_load ext4' \
    > "$1/etc/initramfs-tools/hooks/q8s-virtio"
  chmod 755 "$1/etc/initramfs-tools/hooks/q8s-virtio"
}

# The disk of ppc64el and s390x (above): one DOS partition, the ext4 root, no boot loader.
disk_dos_root() { # tar out
  local tar=$1 out=$2 dev
  local raw="$out.raw" mnt="$CACHE/tmp/mnt-${out##*/}"
  rm -f "$raw"; truncate -s 2G "$raw"
  printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$raw"
  dev=$(fill_root "$raw" $((2048 * 512)) $((2 * 1024 * 1024 * 1024 - 2048 * 512)) "$tar" "$mnt")
  umount "$mnt"; losetup -d "$dev"
  qemu-img convert -O qcow2 "$raw" "$out"; rm -f "$raw"
}

# boot_files for pseries: the ELF /boot/vmlinux-<version> (exported as .vmlinuz all the same).
boot_files_ppc64el() { # tar out-prefix
  local tar=$1 out=$2 k tmp
  k=$(tar -tf "$tar" | sed -n 's#^\./boot/vmlinux-##p' | sort -V | tail -1)
  tmp=$(mktemp -d "$CACHE/tmp/boot.XXXXXX")
  tar -xf "$tar" -C "$tmp" "./boot/vmlinux-$k" "./boot/initrd.img-$k"
  mv "$tmp/boot/vmlinux-$k" "$out.vmlinuz"
  mv "$tmp/boot/initrd.img-$k" "$out.initrd"
  rm -rf "$tmp"
}

guest() { # arch
  local arch=$1 pkgs=${GUEST_PKGS//ARCH/$1}
  [[ $arch == arm64 ]] && pkgs+=",grub-efi-arm64-bin"
  [[ -z ${GUEST_KERNEL_PKG[$arch]:-} ]] || pkgs=${pkgs//linux-image-cloud-$arch/${GUEST_KERNEL_PKG[$arch]}}
  local t0=$SECONDS tar key out link
  tar=$(rootfs "$arch" "$pkgs" guest_customize debian-12-guest "${GUEST_INITRAMFS[$arch]:-guest_initramfs}")
  key=$( { basename "$tar"; declare -f fill_root kver firstboot_install boot_files "${GUEST_DISK[$arch]}"; firstboot_key; } | h)
  local base="$CACHE/images/debian-12-$arch-$key" f
  out="$base.qcow2"
  link="$CACHE/images/debian-12-$arch"
  if [[ ! -s $out ]]; then
    log "disk $arch (key $key)"
    local t1=$SECONDS
    "${GUEST_DISK[$arch]}" "$tar" "$out.part.qcow2"
    mv "$out.part.qcow2" "$out"
    log "disk $arch built in $((SECONDS - t1)) s"
  fi
  [[ -s $base.vmlinuz && -s $base.initrd ]] || "$(declare -F "boot_files_$arch" || echo boot_files)" "$tar" "$base"
  for f in qcow2 vmlinuz initrd; do
    if [[ ! -s $base.$f.sha256 ]]; then sha256sum "$base.$f" | cut -d' ' -f1 > "$base.$f.sha256"; fi
    ln -sfn "$(basename "$base").$f" "$link.$f"
    ln -sfn "$(basename "$base").$f.sha256" "$link.$f.sha256"
  done
  log "guest $arch ready: $link.qcow2 ($(du -h "$out" | cut -f1), $((SECONDS - t0)) s), .vmlinuz, .initrd"
}

# A guest image variant: debian-12-vmhost-amd64.qcow2 (amd64 guest + VMHOST_PKGS).
vmhost() {
  local t0=$SECONDS tar key out link=$CACHE/images/debian-12-vmhost-amd64.qcow2
  tar=$(rootfs amd64 "${GUEST_PKGS//ARCH/amd64},$VMHOST_PKGS" guest_customize debian-12-vmhost guest_initramfs)
  key=$( { basename "$tar"; declare -f fill_root kver disk_amd64; } | h)
  out="$CACHE/images/debian-12-vmhost-amd64-$key.qcow2"
  if [[ ! -s $out ]]; then
    disk_amd64 "$tar" "$out.part.qcow2"
    mv "$out.part.qcow2" "$out"
  fi
  ln -sfn "$(basename "$out")" "$link"
  log "vmhost ready: $link ($(du -h "$out" | cut -f1), $((SECONDS - t0)) s)"
}

host() {
  local t0=$SECONDS tar key
  tar=$(rootfs amd64 "$HOST_PKGS" host_customize host-base)
  key=$(basename "$tar" .tar | sed 's/.*-//')
  if ! podman image exists "localhost/q8s-host:base-$key"; then
    podman import --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
      "$tar" "localhost/q8s-host:base-$key" >/dev/null
  fi
  podman tag "localhost/q8s-host:base-$key" localhost/q8s-host:base
  local vtar
  vtar=$(rootfs amd64 "$HOST_PKGS,$VIRT_PKGS" host_customize host-virt)
  key=$(basename "$vtar" .tar | sed 's/.*-//')
  if ! podman image exists "localhost/q8s-host:virt-$key"; then
    podman import --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
      "$vtar" "localhost/q8s-host:virt-$key" >/dev/null
  fi
  podman tag "localhost/q8s-host:virt-$key" localhost/q8s-host:virt
  log "host images ready ($((SECONDS - t0)) s)"
}

# localhost/q8s-host:virt-ibm: the virt host plus the ppc64le and s390x emulators and
# their firmware (molecule/arch_extra), so those test hosts need no package download.
IBM_PKGS="qemu-system-ppc,qemu-system-misc,qemu-system-data"
host_ibm() {
  local t0=$SECONDS tar key
  tar=$(rootfs amd64 "$HOST_PKGS,$VIRT_PKGS,$IBM_PKGS" host_customize host-virt-ibm)
  key=$(basename "$tar" .tar | sed 's/.*-//')
  if ! podman image exists "localhost/q8s-host:virt-ibm-$key"; then
    podman import --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
      "$tar" "localhost/q8s-host:virt-ibm-$key" >/dev/null
  fi
  podman tag "localhost/q8s-host:virt-ibm-$key" localhost/q8s-host:virt-ibm
  log "host image virt-ibm ready ($((SECONDS - t0)) s)"
}

targets=("$@")
((${#targets[@]})) || targets=(amd64 host arm64)
for t in "${targets[@]}"; do
  # One build of a target at a time: a second caller of the same target (make test builds
  # in the background while the suites that need an image ask for it too) waits here and
  # then finds it cached. Other targets go on side by side: a suite that needs only the
  # host image does not wait for the arm64 guest's build.
  exec 9>"$CACHE/.build-$t.lock"
  flock 9
  case $t in
    amd64 | arm64) guest "$t" ;;
    ppc64el) binfmt_enable ppc64le; guest "$t" ;;
    s390x) binfmt_enable s390x; guest "$t" ;;
    host) host ;;
    host-ibm) host_ibm ;;
    vmhost) vmhost ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  exec 9>&-
done
