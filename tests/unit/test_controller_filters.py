"""The forks decision of plugins/filter/q8s_controller.py."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.filter import q8s_controller as c


@pytest.mark.parametrize(
    "hosts, cpus, mem, want",
    [
        (3, 2, 24000, 5),  # never below Ansible's default
        (12, 2, 24000, 12),  # one per host while the controller can feed them
        (102, 2, 24000, 50),  # the paper's cluster on 2 cores: 25 per core
        (102, 8, 24000, 102),
        (1002, 16, 64000, 400),  # 500 nodes (2 + 500 hosts + 500 guests), 16 cores
        (1002, 64, 8000, 160),  # memory: half of 8000 MB at 25 MB a fork
        (1002, 64, 100, 5),  # no memory to speak of: still the default
    ],
)
def test_forks_follow_cluster_then_controller(hosts, cpus, mem, want):
    assert c.recommended_forks(hosts, cpus, mem) == want


def test_filter_reads_this_controller():
    cpus, mem = c.controller_resources()
    assert cpus >= 1 and mem > 0
    assert c.forks(10000) == c.recommended_forks(10000, cpus, mem) <= cpus * c.FORKS_PER_CPU
    assert c.forks(10000, cpus=1, mem_available_mb=100000) == c.FORKS_PER_CPU


@pytest.mark.parametrize("args", [("many", 2, 1000), (10, 0, 1000), (-1, 2, 1000), (10, 2, None)])
def test_forks_refuse_nonsense(args):
    with pytest.raises(AnsibleFilterError):
        c.recommended_forks(*args)


def test_filter_is_registered():
    assert c.FilterModule().filters()["forks"] is c.forks
