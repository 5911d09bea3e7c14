#!/bin/sh
# Read-only facts of a q8s guest for playbooks/verify.yml, one "== name" section each
# (parsed by q8s_verify.parse_guest_facts). verify.yml sends its text as one raw command:
# one SSH round trip and no Python on the guest, which under TCG costs seconds per module.
set -eu
echo "== uname_m"
uname -m
echo "== nproc"
nproc
echo "== meminfo"
cat /proc/meminfo
echo "== cpuinfo"
cat /proc/cpuinfo
echo "== lsblk"
lsblk -bJ -o NAME,SIZE,TYPE,MOUNTPOINT
