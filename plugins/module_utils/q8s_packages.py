# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Which Debian packages a host still needs, from what dpkg-query says it has (pure; the
filter q8s.cluster.missing_packages and the module q8s.cluster.host_state read it,
tests/unit/test_packages_filter.py tests it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# dpkg-query -W -f="${db:Status-Abbrev} ${Package}\n" NAME...: the status is three
# characters (wanted, state, error flag). A package is there when its state is "i"
# (installed) and the flag blank: "ii " and "hi " (held). Anything else ("un ", "rc ",
# "iU ", "iF ", "iiR") is not there, or not whole.
DPKG_QUERY_FORMAT = "${db:Status-Abbrev} ${Package}\n"


def missing_packages(dpkg_output, wanted):
    """The names of ``wanted`` that dpkg-query's ``dpkg_output`` (DPKG_QUERY_FORMAT) does
    not show as installed, in the order given. A name dpkg cannot answer for (a version
    pin ``name=1.2``, an architecture ``name:arm64``, a virtual or unknown package) counts
    as missing: apt then decides, as it did without this check."""
    installed = set()
    for line in str(dpkg_output or "").splitlines():
        # the status is three characters, the third a space when there is no error flag
        if len(line) > 3 and line[1:3] == "i " and line[3:].strip():
            installed.add(line[3:].strip())
    return [name for name in wanted or [] if name not in installed]
