# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The guest image choice as a Jinja filter; the decision lives in module_utils/q8s_guest_image.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_guest_image


def guest_image(base, arch, golden=None, golden_use=True, direct_boot=True):
    """The image, cache names, boot files and cache entries of one guest (see q8s_guest_image.choose)."""
    if not isinstance(base, dict) or "source" not in base or "checksum" not in base:
        raise AnsibleFilterError("guest_image: the base image must be a mapping with source and checksum, not %r" % (base,))
    return q8s_guest_image.choose(base, str(arch), golden, golden_use, direct_boot)


class FilterModule(object):
    def filters(self):
        return {"guest_image": guest_image}
