# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""What the q8s modules that ask libvirt about one guest share: their options naming the
guest (documented by the doc fragment q8s.cluster.libvirt_guest) and how they run virsh."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The options of doc fragment q8s.cluster.libvirt_guest.
GUEST_ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    uri=dict(type="str", default="qemu:///system"),
)


def run_command(module, argv):
    """module.run_command in the C locale, whose messages the modules read."""
    return module.run_command(argv, environ_update={"LC_ALL": "C"})
