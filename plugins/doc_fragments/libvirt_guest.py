# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options that name one guest on its QEMU host, which every q8s module
    # that asks libvirt about a guest takes.
    DOCUMENTATION = r"""
options:
  name:
    description: The libvirt domain name of the guest.
    type: str
    required: true
  uri:
    description: The libvirt connection URI.
    type: str
    default: qemu:///system
"""
