# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The values several layers share, each defined once (issue 15: "each fact has one home").

- ``KUBERNETES_VERSION``: the spec's default ``kubernetes_version`` (q8s_spec), and the
  version the Kubernetes roles (k8s_common, control_plane, k8s_worker) fall back on when
  they run without the q8s inventory.
- ``STATE_ROOT``: the controller directory under which q8s keeps its state: a cluster's
  state directory ``<STATE_ROOT>/<cluster_name>`` (the spec's default ``state_dir``, also
  the fallback of role control_plane) and the golden images ``<STATE_ROOT>/images``
  (playbooks/vars/guest_image.yml).
- ``FLANNEL_GATE_TAINT``: the key of the NoExecute taint that joining nodes register with
  (control_plane's kubelet and k8s_worker's) and that the control plane removes once a
  node's Flannel annotations are set; verify.yml checks that no node still carries it.

Roles and playbooks read them through the filters ``default_of`` and ``state_dir``
(plugins/filter/q8s_defaults.py). Pure, tested in tests/unit/test_defaults.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

KUBERNETES_VERSION = "1.34.1"
STATE_ROOT = "~/.q8s"
GOLDEN_DIR = posixpath.join(STATE_ROOT, "images")
FLANNEL_GATE_TAINT = "q8s.io/flannel-pending"

# What the filter default_of answers, by name.
DEFAULTS = {
    "kubernetes_version": KUBERNETES_VERSION,
    "state_root": STATE_ROOT,
    "golden_dir": GOLDEN_DIR,
    "flannel_gate_taint": FLANNEL_GATE_TAINT,
}


def default_state_dir(cluster_name):
    """A cluster's state directory unless the spec sets ``state_dir`` (unexpanded: ``~/...``)."""
    return posixpath.join(STATE_ROOT, cluster_name)


def state_dir(spec, fallback_name="q8s"):
    """The state directory of a (normalised) spec: its ``state_dir``, else the default for
    its ``cluster_name`` (``fallback_name`` without one). Unexpanded."""
    spec = spec or {}
    return spec.get("state_dir") or default_state_dir(spec.get("cluster_name") or fallback_name)
