# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Architecture names as Jinja filters; the one table is module_utils/q8s_models.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_models as models


def arch_names(value):
    """The names of one architecture, from any spelling the spec accepts or ``uname -m``
    (Ansible's ``ansible_facts.architecture``): ``architecture`` (q8s's, = ``uname -m``),
    ``debian`` (dpkg's: package architectures, ``ppc64el``) and ``kubernetes`` (GOARCH:
    ``kubernetes.io/arch``, image manifests, ``ppc64le``)."""
    arch = models.canonical_architecture(value) if isinstance(value, str) else None
    if arch is None:
        raise AnsibleFilterError("arch_names: %r is not an architecture q8s emulates (%s)" % (value, ", ".join(models.ARCHITECTURES)))
    return {"architecture": arch, "debian": models.DEBIAN_ARCH[arch], "kubernetes": models.KUBERNETES_ARCH[arch]}


def node_architectures(nodes, hostvars):
    """``{node: architecture}`` for each node of ``nodes`` whose inventory variables carry a
    type (``q8s_node.vm_type_spec.architecture``: the emulated workers); others are left out."""
    out = {}
    for node in nodes or []:
        if node not in hostvars:
            continue
        spec = (hostvars[node].get("q8s_node") or {}).get("vm_type_spec") or {}
        if spec.get("architecture"):
            out[str(node)] = str(spec["architecture"])
    return out


def arch_unsupported(nodes, supported, name="kubernetes"):
    """``"<node> (<arch>)"``, sorted, for each node of ``{node: architecture}`` whose
    architecture, by its ``name`` (``kubernetes`` or ``debian``), is not in ``supported``."""
    if name not in ("kubernetes", "debian"):
        raise AnsibleFilterError("arch_unsupported: name must be kubernetes or debian, not %r" % (name,))
    out = []
    for node in sorted(nodes or {}):
        arch = arch_names(nodes[node])[name]
        if arch not in supported:
            out.append("%s (%s)" % (node, arch))
    return out


class FilterModule(object):
    def filters(self):
        return {"arch_names": arch_names, "node_architectures": node_architectures, "arch_unsupported": arch_unsupported}
