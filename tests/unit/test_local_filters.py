"""The local provider's podman network (plugins/filter/q8s_local.py): provisioning uses
only a network with the cluster's label and subnet, teardown deletes only that one and
stops while a container that is not the cluster's is attached to it."""

from ansible_collections.q8s.cluster.plugins.filter import q8s_local as f


def net(name, subnet="10.89.80.0/24", cluster=None):
    out = {"name": name, "subnets": [{"subnet": subnet, "gateway": subnet.rsplit(".", 1)[0] + ".1"}]}
    if cluster is not None:
        out["labels"] = {"q8s_cluster": cluster}
    return out


def container(name, cluster=None, networks=("q8s-demo",)):
    return {"Names": [name], "Labels": {"q8s_cluster": cluster} if cluster else None, "Networks": list(networks)}


NETWORKS = [net("podman", "10.88.0.0/16"), net("q8s-demo", cluster="demo"), net("shared"), net("q8s-other", cluster="other")]


def test_a_missing_network_is_made():
    assert f.local_network(NETWORKS, "q8s-new", "new", "10.89.90.0/24") == {"exists": False, "problem": ""}
    assert f.local_network([], "q8s-new", "new", "10.89.90.0/24") == {"exists": False, "problem": ""}


def test_the_clusters_own_network_is_used():
    assert f.local_network(NETWORKS, "q8s-demo", "demo", "10.89.80.0/24") == {"exists": True, "problem": ""}


def test_a_network_without_the_clusters_label_is_refused():
    for name, has in (("shared", "no q8s_cluster label"), ("q8s-other", "the label q8s_cluster=other"), ("podman", "no q8s_cluster label")):
        got = f.local_network(NETWORKS, name, "demo", "10.89.80.0/24")
        assert got["exists"]
        assert got["problem"].startswith("local.network: podman network %s exists on this machine but has %s, not q8s_cluster=demo" % (name, has))
        assert "podman network rm %s" % name in got["problem"]


def test_the_clusters_network_with_another_subnet_is_refused():
    got = f.local_network(NETWORKS, "q8s-demo", "demo", "10.89.81.0/24")
    assert got["problem"].startswith("remote_ip_prefix: 10.89.81.0/24, but the cluster's podman network q8s-demo has the subnet 10.89.80.0/24")


def test_teardown_deletes_the_labelled_containers_and_network():
    containers = [
        container("demo--cp-0", "demo"),
        container("demo--x-1-host", "demo"),
        container("other--cp-0", "other", ["q8s-other"]),
        container("web", networks=["podman"]),
    ]
    got = f.local_teardown_plan(containers, NETWORKS, "demo", "q8s-demo")
    assert got == {"containers": ["demo--cp-0", "demo--x-1-host"], "network": "q8s-demo", "foreign_users": [], "not_owned": []}


def test_teardown_stops_while_other_containers_use_the_network():
    containers = [container("demo--cp-0", "demo"), container("web"), container("other--cp-0", "other")]
    got = f.local_teardown_plan(containers, NETWORKS, "demo", "q8s-demo")
    assert got["foreign_users"] == ["other--cp-0 (the label q8s_cluster=other)", "web (no q8s_cluster label)"]


def test_teardown_leaves_a_network_that_is_not_the_clusters():
    containers = [container("demo--cp-0", "demo", ["shared"]), container("web", networks=["shared"])]
    got = f.local_teardown_plan(containers, NETWORKS, "demo", "shared")
    assert got == {"containers": ["demo--cp-0"], "network": "", "foreign_users": [], "not_owned": ["podman network shared (it has no q8s_cluster label)"]}
    # no network of the name at all: nothing to delete, nothing to say
    assert f.local_teardown_plan([], NETWORKS, "demo", "q8s-gone") == {"containers": [], "network": "", "foreign_users": [], "not_owned": []}


# local_containers: which host containers a rerun leaves alone.
WANTED = {
    "demo--cp-0": {"image": "localhost/q8s-host:base", "ip": "10.89.80.2", "label": {"q8s_cluster": "demo", "q8s_role": "control_plane"}},
    "demo--x86-1-host": {
        "image": "localhost/q8s-host:virt",
        "ip": "10.89.80.3",
        "device": ["/dev/net/tun"],
        "label": {"q8s_cluster": "demo", "q8s_role": "qemu_host"},
    },
}


def made(name, labels, state="running"):
    return {"Names": [name], "Labels": dict(labels), "State": state}


def test_new_containers_get_the_digest_of_their_options():
    plan = f.local_containers([], WANTED)
    for name, options in WANTED.items():
        assert not plan[name]["keep"]
        digest = plan[name]["label"].pop(f.CONFIG_LABEL)
        assert plan[name]["label"] == options["label"] and len(digest) == 16
    assert f.local_containers(None, WANTED)["demo--cp-0"]["keep"] is False


def test_a_running_container_with_its_digest_is_kept():
    plan = f.local_containers([], WANTED)
    running = [made(name, p["label"]) for name, p in plan.items()]
    again = f.local_containers(running, WANTED)
    assert all(p["keep"] for p in again.values()), again
    assert again == {name: dict(p, keep=True) for name, p in plan.items()}


def test_a_changed_option_a_stopped_container_or_another_owner_is_not_kept():
    plan = f.local_containers([], WANTED)
    labels = plan["demo--x86-1-host"]["label"]
    changed = dict(WANTED, **{"demo--x86-1-host": dict(WANTED["demo--x86-1-host"], ip="10.89.80.9")})
    cases = (
        ([made("demo--x86-1-host", labels)], changed),
        ([made("demo--x86-1-host", labels, state="exited")], WANTED),
        ([made("demo--x86-1-host", dict(labels, q8s_cluster="other"))], WANTED),
        ([made("demo--x86-1-host", dict(labels, q8s_role="control_plane"))], WANTED),
    )
    for containers, wanted in cases:
        got = f.local_containers(containers, wanted)["demo--x86-1-host"]
        assert not got["keep"], (containers, wanted)
        # the digest label is asked for: podman_container recreates or starts the container
        assert f.CONFIG_LABEL in got["label"]
    assert f.local_containers([made("demo--x86-1-host", labels)], changed)["demo--x86-1-host"]["label"][f.CONFIG_LABEL] != labels[f.CONFIG_LABEL]


def test_a_container_without_the_digest_label_never_gets_it():
    """podman_container compares every label: adding one would recreate the container of an
    existing cluster (made by an earlier q8s) for that label alone."""
    old = [made(name, p["label"]) for name, p in WANTED.items()]
    plan = f.local_containers(old, WANTED)
    for name, options in WANTED.items():
        assert plan[name] == {"label": options["label"], "keep": False}
