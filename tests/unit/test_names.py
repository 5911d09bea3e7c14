"""Node names never collide, within a cluster or across clusters of one project.

Property-based: random cluster names, vm type names and counts, two valid clusters at a
time, through the same normalise() and topology() the inventory uses.
"""

import copy
import os
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_names, q8s_spec
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import SpecError, normalise

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

with open(os.path.join(ROOT, "examples", "cluster.yml")) as _handle:
    BASE = yaml.safe_load(_handle)
TYPE = BASE["vm_types"]["x86-small"]

# Hostname-safe names from few parts, so that clusters often share pieces: hyphens,
# digits, "cp" and "host" are the troublemakers.
_PART = st.sampled_from(["a", "1", "2", "cp", "host"])
NAME = st.lists(_PART, min_size=1, max_size=4).flatmap(
    lambda parts: st.lists(st.sampled_from(["-", "--", ""]), min_size=len(parts) - 1, max_size=len(parts) - 1).map(
        lambda seps: parts[0] + "".join(s + p for s, p in zip(seps, parts[1:], strict=True))
    )
)
CLUSTER = st.fixed_dictionaries(
    {
        "name": NAME,
        "types": st.dictionaries(NAME, st.integers(min_value=0, max_value=3), min_size=1, max_size=3),
        "extra": st.integers(min_value=0, max_value=3),
        "initial": st.one_of(st.none(), NAME),
    }
)


def spec_of(cluster):
    raw = copy.deepcopy(BASE)
    raw["cluster_name"] = cluster["name"]
    raw["vm_types"] = dict((t, dict(TYPE)) for t in cluster["types"])
    raw["cluster_definition"]["worker"] = dict(cluster["types"])
    raw["cluster_definition"]["number_additional_master_nodes"] = cluster["extra"]
    if cluster["initial"] is not None:
        raw["name_of_initial_instance"] = cluster["initial"]
    return raw


def node_names(cluster):
    """The inventory host names of a cluster, or None when the spec is refused."""
    try:
        spec = normalise(spec_of(cluster))[0]
    except SpecError:
        return None
    return [name for name, dummy, dummy2 in q8s_spec.topology(spec)]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CLUSTER, CLUSTER)
def test_no_two_nodes_share_a_name(first, second):
    check_pair(first, second)


@st.composite
def shifted_pair(draw):
    """Two clusters whose names differ by where the cluster name ends: 'demo' with type
    'x-1' and 'demo-x' with type '1' (the issue's example), at random."""
    first = draw(CLUSTER)
    type_name = draw(NAME)
    head, dash, tail = type_name.partition("-")
    if not dash or not tail:
        type_name, head, tail = type_name + "-1", type_name, "1"
    count = draw(st.integers(min_value=1, max_value=3))
    first["types"] = {type_name: count}
    second = dict(first, name=first["name"] + "-" + head, types={tail: count})
    if draw(st.booleans()):
        first, second = second, first
    return first, second


def check_pair(first, second):
    start = time.monotonic()
    a, b = node_names(first), node_names(second)
    assert time.monotonic() - start < 10
    if a is not None:
        assert len(a) == len(set(a)), "a name twice in cluster %r: %r" % (first["name"], a)
    if b is not None:
        assert len(b) == len(set(b)), "a name twice in cluster %r: %r" % (second["name"], b)
    if a is not None and b is not None and first["name"] != second["name"]:
        shared = set(a) & set(b)
        # Two specs may adopt the same existing server as their initial control plane:
        # that is one server named twice by its owner, not a name q8s generated.
        adopted = set(c["initial"] for c in (first, second) if c["initial"])
        assert shared <= adopted, "clusters %r and %r share %r" % (first["name"], second["name"], shared)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shifted_pair())
def test_no_name_shared_when_the_cluster_boundary_moves(pair):
    check_pair(*pair)


@settings(max_examples=300, deadline=None)
@given(NAME, NAME, st.integers(min_value=0, max_value=1000))
def test_generated_names_parse_back(cluster, type_name, index):
    if "--" in cluster or "--" in type_name or type_name == "cp":
        return  # refused by validation
    assert q8s_names.parse(q8s_names.control_plane(cluster, index)) == (cluster, "control_plane", None, index)
    if index:
        assert q8s_names.parse(q8s_names.guest(cluster, type_name, index)) == (cluster, "guest", type_name, index)
        assert q8s_names.parse(q8s_names.qemu_host(cluster, type_name, index)) == (cluster, "qemu_host", type_name, index)


def cluster(name, types, extra=0, initial=None):
    return {"name": name, "types": types, "extra": extra, "initial": initial}


def refusal(raw):
    with pytest.raises(SpecError) as info:
        normalise(raw)
    return info.value.errors


def test_issue_example_cp_type_is_reserved():
    errors = refusal(spec_of(cluster("demo", {"cp": 1}, extra=1)))
    assert any(e.startswith("vm_types.cp:") and "reserved" in e for e in errors), errors


def test_issue_example_initial_instance_cannot_be_a_generated_name():
    errors = refusal(spec_of(cluster("demo", {"x86-small": 1}, initial="demo--x86-small-1-host")))
    assert any(e.startswith("name_of_initial_instance:") and "'--'" in e for e in errors), errors
    # the old spelling is now an ordinary name that no generated name can take
    names = node_names(cluster("demo", {"x86-small": 1}, initial="demo-x86-small-1-host"))
    assert names == ["demo-x86-small-1-host", "demo--x86-small-1-host", "demo--x86-small-1"]


def test_issue_example_demo_x1_and_demo_x_1_differ():
    a = node_names(cluster("demo", {"x-1": 1}))
    b = node_names(cluster("demo-x", {"1": 1}))
    assert "demo--x-1-1-host" in a and "demo-x--1-1-host" in b
    assert not set(a) & set(b)


def test_issue_example_demo_and_demo_2():
    a = node_names(cluster("demo", {"2-x86": 1, "x86": 2}, extra=2))
    b = node_names(cluster("demo-2", {"x86": 2}, extra=2))
    assert not set(a) & set(b)
    assert "demo-2--cp-0" in b and "demo--2-x86-1" in a


@pytest.mark.parametrize("field,value", [("cluster_name", "de--mo"), ("name_of_initial_instance", "a--b")])
def test_double_hyphen_is_refused(field, value):
    raw = copy.deepcopy(BASE)
    raw[field] = value
    errors = refusal(raw)
    assert any(e.startswith(field + ":") and "'--'" in e for e in errors), errors


def test_double_hyphen_in_type_is_refused():
    errors = refusal(spec_of(cluster("demo", {"x86--small": 1})))
    assert any(e.startswith("vm_types.x86--small:") for e in errors), errors


def test_scheme_has_one_home():
    assert q8s_names.qemu_host("demo", "x86-small", 1) == "demo--x86-small-1-host"
    assert q8s_names.guest("demo", "x86-small", 1) == "demo--x86-small-1"
    assert q8s_names.control_plane("demo", 0) == "demo--cp-0"
    assert q8s_names.parse("demo-x86-small-1-host") is None
    assert q8s_names.parse("demo--cp-1-host") is None
