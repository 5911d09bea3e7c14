"""cpu_speed_percent: validation in the spec, and the vCPU limit the hosts apply (issue 21)."""

import os

import pytest
import yaml

from ansible_collections.q8s.cluster.plugins.filter.q8s_cpu_speed import cpu_tune, cpu_tune_changes
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_cpu_speed
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIELD = "vm_types.x86-small.cpu_speed_percent"

# `virsh schedinfo` of a running guest without and with a limit (libvirt 9.0).
SCHEDINFO_FREE = """Scheduler      : posix
cpu_shares     : 1024
vcpu_period    : 100000
vcpu_quota     : -1
emulator_period: 100000
emulator_quota : -1
"""
SCHEDINFO_HALF = SCHEDINFO_FREE.replace("vcpu_quota     : -1", "vcpu_quota     : 50000")
# `virsh schedinfo --config` of a domain defined without <cputune>.
SCHEDINFO_UNSET = "Scheduler      : posix\ncpu_shares     : 0\nvcpu_period    : 0\nvcpu_quota     : 0\n"


def spec_with(value):
    with open(os.path.join(ROOT, "examples", "cluster.yml")) as handle:
        raw = yaml.safe_load(handle)
    raw["vm_types"]["x86-small"]["cpu_speed_percent"] = value
    return raw


@pytest.mark.parametrize("value,expected", [(50, 50), (1, 1), (100, 100), ("25", 25), (25.0, 25), (None, None)])
def test_valid_speeds(value, expected):
    spec, dummy = normalise(spec_with(value))
    small = spec["vm_types"]["x86-small"]
    if expected is None:
        assert "cpu_speed_percent" not in small
    else:
        assert small["cpu_speed_percent"] == expected
    # Only the type that sets it has it.
    assert "cpu_speed_percent" not in spec["vm_types"]["arm-mid"]


@pytest.mark.parametrize("value", [0, -5, 101, 1000, 12.5, "fast", "50%", True, [50], {"p": 50}])
def test_invalid_speed_is_one_error_naming_field_value_and_fix(value):
    with pytest.raises(SpecError) as info:
        normalise(spec_with(value))
    errors = [e for e in info.value.errors if e.startswith(FIELD)]
    assert len(errors) == 1, info.value.errors
    assert "(got %r)" % (value,) in errors[0]
    assert "Fix: write a whole number from 1 to 100" in errors[0]
    assert len(info.value.errors) == 1, info.value.errors


def test_misspelt_field_is_named():
    raw = spec_with(None)
    del raw["vm_types"]["x86-small"]["cpu_speed_percent"]
    raw["vm_types"]["x86-small"]["cpu_speed"] = 50
    with pytest.raises(SpecError) as info:
        normalise(raw)
    assert "did you mean 'cpu_speed_percent'" in str(info.value)


@pytest.mark.parametrize(
    "percent,quota",
    [(None, -1), (100, -1), (50, 50000), (25, 25000), (1, 1000), (33, 33000), ("75", 75000)],
)
def test_cpu_tune(percent, quota):
    assert cpu_tune(percent) == {"period": 100000, "quota": quota}


@pytest.mark.parametrize("percent", [0, 101, "x", 2.5])
def test_cpu_tune_refuses_invalid(percent):
    with pytest.raises(Exception) as info:
        cpu_tune(percent)
    assert "cpu_speed_percent" in str(info.value)


def test_parse_schedinfo():
    info = q8s_cpu_speed.parse_schedinfo(SCHEDINFO_HALF)
    assert info["vcpu_quota"] == 50000 and info["vcpu_period"] == 100000
    assert info["emulator_quota"] == -1


@pytest.mark.parametrize(
    "schedinfo,percent,expected",
    [
        (SCHEDINFO_FREE, 100, []),
        (SCHEDINFO_UNSET, 100, []),
        (SCHEDINFO_UNSET, None, []),
        (SCHEDINFO_HALF, 50, []),
        (SCHEDINFO_FREE, 50, ["vcpu_period=100000", "vcpu_quota=50000"]),
        (SCHEDINFO_UNSET, 25, ["vcpu_period=100000", "vcpu_quota=25000"]),
        (SCHEDINFO_HALF, 25, ["vcpu_period=100000", "vcpu_quota=25000"]),
        (SCHEDINFO_HALF, 100, ["vcpu_quota=-1"]),
        (SCHEDINFO_HALF.replace("vcpu_period    : 100000", "vcpu_period    : 10000"), 50, ["vcpu_period=100000", "vcpu_quota=50000"]),
        ("", 50, ["vcpu_period=100000", "vcpu_quota=50000"]),
    ],
)
def test_schedinfo_changes(schedinfo, percent, expected):
    assert cpu_tune_changes(schedinfo, cpu_tune(percent)) == expected
