# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""A type's cpu_speed_percent as libvirt's vCPU bandwidth limit; the decisions live in
module_utils/q8s_cpu_speed.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_cpu_speed


def cpu_tune(percent):
    """``{"period": us, "quota": us}`` of each vCPU thread; quota -1 for full speed."""
    try:
        return q8s_cpu_speed.cputune(percent)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc))


def cpu_tune_changes(schedinfo, tune):
    """The ``virsh schedinfo`` arguments that apply ``tune``; empty when it is applied."""
    return q8s_cpu_speed.schedinfo_changes(schedinfo, tune)


class FilterModule(object):
    def filters(self):
        return {"cpu_tune": cpu_tune, "cpu_tune_changes": cpu_tune_changes}
