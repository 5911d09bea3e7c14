# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Which Debian packages a host still needs, from what dpkg says it has (pure, tested in
tests/unit/test_packages_filter.py).

The roles ask dpkg first (a cheap command) and run ansible.builtin.apt only when a
package is missing: apt opens its whole cache, about 0.6 s of a host's CPU per task, and
a rerun with nothing to do ran it three times on every QEMU host. The logic is in
module_utils/q8s_packages.py, which the module q8s.cluster.host_state shares."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_packages import missing_packages


class FilterModule(object):
    def filters(self):
        return {"missing_packages": missing_packages}
