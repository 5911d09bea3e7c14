# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""The names q8s gives the nodes of a cluster: the one place that builds them.

Every generated name starts with the cluster name and ``--``:

* ``<cluster>--cp-<i>``: control planes (``i`` from 0; 0 is the initial one);
* ``<cluster>--<type>-<i>``: the emulated guest ``i`` (from 1) of a vm type;
* ``<cluster>--<type>-<i>-host``: the QEMU host (OpenStack server) of that guest.

Cluster names, vm type names and ``name_of_initial_instance`` may not contain ``--``,
and none of them starts or ends with ``-``, so the first ``--`` of a generated name
is always the one after the cluster name. Within a cluster, a guest name ends in its
number and a host name in ``-host``; the number is what follows the last ``-`` (of the
name without ``-host``), so type and number are unambiguous too; and the type name
``cp`` is reserved for the control planes. Hence no two nodes of one cluster, or of two
clusters in one project, ever share a name, and an adopted initial instance (no ``--``)
never looks like a generated name. tests/unit/test_names.py proves it over random names.

Everything here is pure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SEPARATOR = "--"
CONTROL_PLANE_TYPE = "cp"
HOST_SUFFIX = "-host"

_GENERATED = re.compile(r"^(?P<cluster>.+?)--(?P<rest>.+)$")
_CONTROL_PLANE = re.compile(r"^cp-(?P<index>0|[1-9][0-9]*)$")
_WORKER = re.compile(r"^(?P<type>.+)-(?P<index>[1-9][0-9]*)(?P<host>-host)?$")


def control_plane(cluster, index):
    """The generated name of control plane ``index`` (0 is the initial one)."""
    return "%s%s%s-%d" % (cluster, SEPARATOR, CONTROL_PLANE_TYPE, index)


def guest(cluster, type_name, index):
    """The emulated guest ``index`` (from 1) of vm type ``type_name``."""
    return "%s%s%s-%d" % (cluster, SEPARATOR, type_name, index)


def qemu_host(cluster, type_name, index):
    """The QEMU host (a server) that runs :func:`guest` of the same arguments."""
    return guest(cluster, type_name, index) + HOST_SUFFIX


def parse(name):
    """Split a generated name into ``(cluster, role, type, index)``; None if it is not one.

    ``role`` is ``control_plane``, ``guest`` or ``qemu_host``; ``type`` is None for a
    control plane.
    """
    match = _GENERATED.match(name)
    if not match:
        return None
    cluster, rest = match.group("cluster"), match.group("rest")
    found = _CONTROL_PLANE.match(rest)
    if found:
        return cluster, "control_plane", None, int(found.group("index"))
    found = _WORKER.match(rest)
    if not found or found.group("type") == CONTROL_PLANE_TYPE:
        return None
    role = "qemu_host" if found.group("host") else "guest"
    return cluster, role, found.group("type"), int(found.group("index"))


def longest_host(cluster, type_name, count):
    """The longest name a type's nodes get: its last QEMU host."""
    return qemu_host(cluster, type_name, max(count, 1))


def problem(value):
    """Why ``value`` cannot be part of a node name (cluster, type or initial instance), or None."""
    if SEPARATOR in value:
        return "contains '%s', which q8s keeps for the boundary after the cluster name in node names" % SEPARATOR
    return None
