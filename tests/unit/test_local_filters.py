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
