#!/usr/bin/python3
"""A stand-in for crictl, for tests only: `crictl pull IMAGE` records the image
as present on this node (read by fake_kubeadm.py)."""

import os
import socket
import sys

PULLED = os.path.join(os.environ.get("FAKE_K8S_ROOT", "/"), "var/lib/fake-images/pulled")


def main(args):
    args = [a for a in args if not a.startswith("--runtime-endpoint")]
    if args[:1] != ["pull"] or len(args) != 2:
        sys.stderr.write("fake crictl: unsupported call %r\n" % (args,))
        return 2
    have = set()
    if os.path.exists(PULLED):
        with open(PULLED) as f:
            have = set(f.read().split())
    have.add(args[1])
    calls = os.path.join(os.environ.get("FAKE_K8S_ROOT", "/"), "var/lib/fake-k8s/calls.log")
    with open(calls, "a") as f:
        f.write("%s crictl pull %s\n" % (os.environ.get("FAKE_K8S_HOSTNAME") or socket.gethostname(), args[1]))
    os.makedirs(os.path.dirname(PULLED), exist_ok=True)
    with open(PULLED, "w") as f:
        f.write("\n".join(sorted(have)) + "\n")
    print("Image is up to date for sha256:%s" % ("0" * 64))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
