# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Controller-side run settings as Jinja filters (pure functions, tested in tests/unit)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleFilterError

# What one fork costs the controller while its host's task runs: the worker process
# (about 11 MB of its own, measured with 40 forks; the rest of its RSS is shared with
# ansible-playbook) plus its ssh client and the host's ControlMaster (about 5 MB each),
# rounded up. See docs/performance.md, "Ansible settings for a large run".
FORK_MB = 25
# Forks per controller core: a host's task costs the controller 0.025-0.05 s of CPU
# (forking the worker, templating, module packaging, result handling) and takes a second
# or more on the node (much more in a TCG guest), so a core keeps about this many busy.
FORKS_PER_CPU = 25
# Ansible's own default: never recommend fewer.
MIN_FORKS = 5


def recommended_forks(hosts, cpus, mem_available_mb):
    """Forks for a run over `hosts` inventory hosts on a controller with `cpus` cores and
    `mem_available_mb` MB available: one per host, bounded by what the controller can feed
    (FORKS_PER_CPU per core) and by half of its available memory (FORK_MB per fork)."""
    try:
        hosts, cpus, mem = int(hosts), int(cpus), int(mem_available_mb)
    except (TypeError, ValueError):
        raise AnsibleFilterError("forks needs whole numbers of hosts, CPUs and MB, got %r, %r, %r" % (hosts, cpus, mem_available_mb))
    if hosts < 0 or cpus < 1 or mem < 0:
        raise AnsibleFilterError("forks needs hosts >= 0, cpus >= 1, memory >= 0, got %d, %d, %d" % (hosts, cpus, mem))
    bound = min(cpus * FORKS_PER_CPU, (mem // 2) // FORK_MB)
    return max(MIN_FORKS, min(hosts, bound))


def controller_resources():
    """(CPUs this process may use, MemAvailable in MB) of the machine the filter runs on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    mem = 0
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    mem = int(line.split()[1]) // 1024
                    break
    except OSError:
        mem = 0
    if not mem:
        # not Linux: assume memory is no bound (the CPU bound still holds)
        mem = 2 * FORK_MB * cpus * FORKS_PER_CPU
    return cpus, mem


def forks(hosts, cpus=None, mem_available_mb=None):
    """The filter: recommended_forks with this controller's CPUs and memory unless given."""
    own_cpus, own_mem = controller_resources()
    return recommended_forks(hosts, own_cpus if cpus is None else cpus, own_mem if mem_available_mb is None else mem_available_mb)


class FilterModule(object):
    def filters(self):
        return {"forks": forks}
