# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""What the local provider may do with the podman network a spec names (pure, tested in
tests/unit/test_local_filters.py), from ``podman network ls --format json`` and ``podman ps
--all --format json``.

A podman network carries no owner but its label: provision_local.yml creates the cluster's
with the label q8s_cluster=<cluster>, uses a network of that name only when it carries
that label and the spec's subnet, and teardown_local.yml deletes it only then. A network
of the name that someone else made (or another cluster, whose spec names it too) is never
used, recreated or deleted.

The host containers q8s creates carry the label q8s_config, a digest of the options they
were created with: a rerun leaves a running container with the same digest as it is,
without asking podman_container (local_containers)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

# The label is the key of the servers' metadata on OpenStack: one name for the cluster's mark.
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_openstack import OWNER_KEY as OWNER_LABEL


def _labels(obj, key):
    labels = obj.get(key) if isinstance(obj, dict) else None
    return labels if isinstance(labels, dict) else {}


def _find(networks, name):
    return next((n for n in networks or [] if isinstance(n, dict) and n.get("name") == name), None)


def _subnets(network):
    return sorted(s.get("subnet") for s in network.get("subnets") or [] if isinstance(s, dict) and s.get("subnet"))


def _owner_text(labels):
    owner = labels.get(OWNER_LABEL)
    return ("the label %s=%s" % (OWNER_LABEL, owner)) if owner else ("no %s label" % OWNER_LABEL)


def local_network(networks, name, cluster, subnet):
    """Provisioning's view of the network ``name``: ``exists`` (the cluster's, to use as it
    is), and ``problem`` (one line naming the network, what is wrong and the fix; "" when
    there is none). A missing network is created by the playbook."""
    network = _find(networks, name)
    if network is None:
        return {"exists": False, "problem": ""}
    labels = _labels(network, "labels")
    if labels.get(OWNER_LABEL) != cluster:
        return {
            "exists": True,
            "problem": "local.network: podman network %s exists on this machine but has %s, not %s=%s: q8s neither "
            "uses nor deletes it. Nothing was created. Fix: set local.network to a name no network has, or remove "
            "that network yourself (podman network rm %s) if it is a leftover" % (name, _owner_text(labels), OWNER_LABEL, cluster, name),
        }
    have = _subnets(network)
    if have != [subnet]:
        return {
            "exists": True,
            "problem": "remote_ip_prefix: %s, but the cluster's podman network %s has the subnet %s. Its hosts keep "
            "their addresses. Fix: set remote_ip_prefix back to %s, or tear the cluster down first (playbooks/teardown.yml)"
            % (subnet, name, ", ".join(have) or "(none)", ", ".join(have) or "the old one"),
        }
    return {"exists": True, "problem": ""}


def local_teardown_plan(containers, networks, cluster, name):
    """What teardown_local.yml deletes: ``containers`` (the names of the containers labelled
    q8s_cluster=<cluster>), ``network`` (``name`` when that network carries the label, else
    ""), ``foreign_users`` (containers without the label that are attached to that network:
    with them it cannot go, and the teardown stops before it deletes anything) and
    ``not_owned`` (one line for a network of the name that is not the cluster's, left)."""
    own, foreign = [], []
    network = _find(networks, name)
    owned = network is not None and _labels(network, "labels").get(OWNER_LABEL) == cluster
    for container in containers or []:
        names = container.get("Names") or []
        label = _labels(container, "Labels").get(OWNER_LABEL)
        if label == cluster:
            own.extend(names)
        elif owned and name in (container.get("Networks") or []):
            foreign.extend("%s (%s)" % (n, _owner_text(_labels(container, "Labels"))) for n in names)
    not_owned = []
    if network is not None and not owned:
        not_owned.append("podman network %s (it has %s)" % (name, _owner_text(_labels(network, "labels"))))
    return {"containers": sorted(own), "network": name if owned else "", "foreign_users": sorted(foreign), "not_owned": not_owned}


# The label that carries the digest of a host container's options.
CONFIG_LABEL = "q8s_config"


def config_digest(options):
    """The digest of a container's options (a dict of podman_container's options, its labels
    among them), as its q8s_config label carries it."""
    text = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def local_containers(containers, wanted):
    """What provision_local.yml does with each host container: for each name of ``wanted``
    ({name: the podman_container options it is created with, its labels under ``label``}),
    ``label`` (the labels to ask podman_container for) and ``keep`` (true: the container
    runs as it was created, podman_container is not asked at all).

    A new container gets q8s_config, the digest of its options, among its labels; so does
    one that carries the label already (a changed digest makes podman_container recreate
    it, as a changed option would). A container without the label (made by an earlier q8s)
    never gets it: podman_container compares labels and would recreate the container for
    the new label alone; it goes through podman_container on every run, as before."""
    by_name = {}
    for container in containers or []:
        if isinstance(container, dict):
            for name in container.get("Names") or []:
                by_name[name] = container
    out = {}
    for name, options in (wanted or {}).items():
        labels = dict(options.get("label") or {})
        have = by_name.get(name)
        have_labels = _labels(have, "Labels")
        if have is None or CONFIG_LABEL in have_labels:
            labels[CONFIG_LABEL] = config_digest(dict(options, label=labels))
        keep = (
            CONFIG_LABEL in labels
            and have is not None
            and have.get("State") == "running"
            and all(have_labels.get(key) == value for key, value in labels.items())
        )
        out[name] = {"label": labels, "keep": keep}
    return out


class FilterModule(object):
    def filters(self):
        return {"local_network": local_network, "local_teardown_plan": local_teardown_plan, "local_containers": local_containers}
