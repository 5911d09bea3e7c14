# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""CPU speed of an emulated node: the spec's ``cpu_speed_percent`` and how a host applies it.

A type's ``cpu_speed_percent`` is the share of one host core that each of its vCPUs may use.
The host applies it as a CFS bandwidth limit on every vCPU thread of the guest (libvirt's
``<cputune>`` period and quota, or ``virsh schedinfo`` on a running guest, without a restart):
in each period of ``PERIOD_US`` microseconds a vCPU thread runs for at most ``quota``
microseconds. 100 (or no value) is no limit: quota -1, libvirt's "unlimited".

docs/emulation.md says why this and not QEMU's ``-icount`` (measured), and what the limit
gives when the host is busy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

FIELD = "cpu_speed_percent"
MINIMUM = 1
MAXIMUM = 100
# The CFS period of the vCPU threads (libvirt's default, the kernel's too). The kernel
# refuses a quota under 1 ms, so 1 % of a 100 ms period is the smallest limit.
PERIOD_US = 100000
UNLIMITED = -1
FIX = "write a whole number from %d to %d: the percent of one host core each vCPU may use (leave %s out for full speed)" % (MINIMUM, MAXIMUM, FIELD)


def problem(value):
    """None for a valid ``cpu_speed_percent``, else ``(problem, fix)``; None (unset) is valid."""
    if value is None:
        return None
    if isinstance(value, str) and re.match(r"^\s*[0-9]+\s*$", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            return ("must be a whole number of percent", FIX)
    if value < MINIMUM or value > MAXIMUM:
        return ("must be from %d to %d" % (MINIMUM, MAXIMUM), FIX)
    return None


def normalise(value):
    """The validated value as an int (None stays None); call ``problem`` first."""
    if value is None:
        return None
    return int(float(str(value).strip()))


def cputune(percent):
    """The vCPU bandwidth limit for ``percent``: ``{"period": us, "quota": us}``.

    ``quota`` is ``UNLIMITED`` (-1) for full speed (None or 100)."""
    if percent is not None and problem(percent) is not None:
        raise ValueError("%s: %r is not valid (%s)" % (FIELD, percent, problem(percent)[0]))
    percent = normalise(percent)
    if percent is None or percent >= MAXIMUM:
        return {"period": PERIOD_US, "quota": UNLIMITED}
    return {"period": PERIOD_US, "quota": PERIOD_US * percent // 100}


def parse_schedinfo(text):
    """``virsh schedinfo`` output as ``{name: int or str}`` (``vcpu_quota : 50000`` lines)."""
    out = {}
    for line in (text or "").splitlines():
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if not re.match(r"^[a-z_]+$", name):
            continue
        out[name] = int(value) if re.match(r"^-?[0-9]+$", value) else value
    return out


def _same_quota(have, want):
    # The kernel and libvirt both spell "no limit" as any negative quota; an unset one
    # (0, what libvirt shows for a domain defined without <cputune>) is no limit too.
    if want == UNLIMITED:
        return have is not None and (have <= 0 or have == UNLIMITED)
    return have == want


def schedinfo_changes(text, tune):
    """The ``virsh schedinfo --set`` arguments that bring ``text`` (its output) to ``tune``.

    An empty list: nothing to change. A limit is set with its period; removing a limit
    sets the quota only (-1)."""
    have = parse_schedinfo(text)
    quota = have.get("vcpu_quota")
    period = have.get("vcpu_period")
    if tune["quota"] == UNLIMITED:
        return [] if _same_quota(quota, UNLIMITED) else ["vcpu_quota=%d" % UNLIMITED]
    if _same_quota(quota, tune["quota"]) and period == tune["period"]:
        return []
    return ["vcpu_period=%d" % tune["period"], "vcpu_quota=%d" % tune["quota"]]
