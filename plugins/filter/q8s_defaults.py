# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The shared defaults (Kubernetes version, state directory, Flannel gate taint) as Jinja filters;
their one home is module_utils/q8s_defaults.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults


def default_of(name):
    """The shared default called ``name`` (see q8s_defaults.DEFAULTS)."""
    try:
        return q8s_defaults.DEFAULTS[str(name)]
    except KeyError:
        raise AnsibleFilterError("default_of: no shared default %r; known: %s" % (name, ", ".join(sorted(q8s_defaults.DEFAULTS))))


def state_dir(spec):
    """The cluster's state directory on the controller, ``~`` expanded (see q8s_defaults.state_dir)."""
    if spec is not None and not isinstance(spec, dict):
        raise AnsibleFilterError("state_dir: the input must be the cluster spec (q8s_cluster) or {}, not %r" % (spec,))
    return os.path.expanduser(q8s_defaults.state_dir(spec))


class FilterModule(object):
    def filters(self):
        return {"default_of": default_of, "state_dir": state_dir}
