#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: openstack_preflight
short_description: Check that an OpenStack project can hold a whole q8s cluster
version_added: "0.1.0"
description:
  - Checks, before anything is created, that the credentials work, that the network, the
    image and every flavor exist, that the initial instance to adopt exists, and that the
    project's quota (instances, cores, RAM, ports, security groups and rules) covers every
    server of the cluster that does not exist yet.
  - Refuses a server name the cluster still needs when a server of that name exists that
    does not carry the cluster's metadata C(q8s_cluster=<cluster>) (q8s never adopts it).
  - Refuses a network, image or initial instance given by a name that several of them
    carry, naming their IDs (the spec can name the one to use by its ID).
  - Checks that each extra security group exists in the project and is named by one group
    only, as Nova resolves them when it creates a server.
  - Reports every problem at once, each naming what is missing, and changes nothing.
  - Returns what it read that the later checks of a run need (the project's ID, the security
    groups of the cluster group's name in this project, the cluster keypair), so that one
    authenticated session reads them.
options:
  cluster:
    description: Cluster name; servers carrying metadata C(q8s_cluster=<cluster>) already exist.
    type: str
    required: true
  servers:
    description: Every server the cluster needs, as dicts with C(name) and C(flavor).
    type: list
    elements: dict
    required: true
  network:
    description: Name or ID of the tenant network.
    type: str
    required: true
  image:
    description: Name or ID of the servers' image.
    type: str
    required: true
  security_group:
    description: Name of the cluster's security group.
    type: str
    required: true
  security_group_description:
    description:
      - Description that marks the cluster's security group among the groups of its name
        (Neutron allows several groups of one name).
      - Without it, the first group of the name counts as the cluster's for the quota.
    type: str
  security_group_rules:
    description: Number of rules the cluster's security group carries (besides Neutron's defaults).
    type: int
    required: true
  keypair:
    description: Name of the cluster's keypair, returned as RV(keypair) when it exists.
    type: str
  extra_security_groups:
    description:
      - Names or IDs of the other security groups every server gets (the spec's
        C(security_groups) besides the cluster's own).
    type: list
    elements: str
    default: []
  adopt:
    description: Name of an existing server adopted as the initial control plane.
    type: str
extends_documentation_fragment:
  - q8s.cluster.openstack
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Check the project before creating anything
  q8s.cluster.openstack_preflight:
    cloud: mycloud
    cluster: demo
    servers:
      - {name: demo--cp-0, flavor: m1.medium}
    network: private
    image: ubuntu-24.04
    security_group: demo-cluster
    security_group_rules: 18
"""

RETURN = r"""
network:
  description: The network, C(id) and C(name).
  returned: success
  type: dict
image:
  description: The image, C(id) and C(name).
  returned: success
  type: dict
flavors:
  description: Flavor name -> C(id), C(vcpus), C(ram).
  returned: success
  type: dict
existing:
  description: Names of the cluster's servers that exist already.
  returned: success
  type: list
  elements: str
project_id:
  description: ID of the project the credentials are scoped to.
  returned: success
  type: str
security_groups:
  description:
    - Every security group of the name O(security_group) in this project, each with C(id),
      C(name), C(description) and C(rules) (how many rules it carries). Another project's
      group of that name, which credentials with the admin role also see, is not listed.
  returned: success
  type: list
  elements: dict
other_project_groups:
  description:
    - IDs of the security groups of the name O(security_group) that the credentials see in
      other projects (credentials with the admin role see every project's).
  returned: success
  type: list
  elements: str
keypair:
  description:
    - The keypair O(keypair), with C(name) and C(fingerprint); null when it does not
      exist or O(keypair) is not set.
  returned: success
  type: dict
needed:
  description: What the missing servers and rules need of the quota.
  returned: always
  type: dict
problems:
  description: Every problem found (the module fails when there is one).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.openstack.cloud.plugins.module_utils.openstack import (
    OpenStackModule,
)

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_openstack import cluster_objects, cluster_of, cluster_security_groups, find_unique


def _free(limit, used):
    """Free amount of a quota; None when unlimited."""
    if limit is None or limit < 0:
        return None
    return limit - (used or 0)


def _ambiguous(field, value, kind, ids):
    """The problem of a spec field whose name several objects carry (find_unique's IDs)."""
    return "%s: %r names %d %ss (ids %s). Fix: set %s to the ID of the one to use, or rename the others" % (
        field,
        value,
        len(ids),
        kind,
        ", ".join(ids),
        field,
    )


class PreflightModule(OpenStackModule):
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        servers=dict(type="list", elements="dict", required=True),
        network=dict(type="str", required=True),
        image=dict(type="str", required=True),
        security_group=dict(type="str", required=True),
        security_group_description=dict(type="str"),
        security_group_rules=dict(type="int", required=True),
        keypair=dict(type="str", no_log=False),
        extra_security_groups=dict(type="list", elements="str", default=[]),
        adopt=dict(type="str"),
    )
    module_kwargs = dict(supports_check_mode=True)

    def _extra_group_problems(self, refs):
        """Each extra group as Nova resolves it at server create: a group of the project with
        that ID, else the one group of the project with that name."""
        if not refs:
            return []
        project = list(self.conn.network.security_groups(project_id=self.conn.current_project_id))
        out = []
        for ref in refs:
            if any(g.id == ref for g in project):
                continue
            named = sorted(g.id for g in project if g.name == ref)
            if not named:
                out.append("security_groups: %r is not a security group of this project. Fix: create it, or remove it from security_groups" % ref)
            elif len(named) > 1:
                out.append(
                    "security_groups: %r names %d security groups of this project (ids %s). Fix: list the ID of the one to use instead"
                    % (ref, len(named), ", ".join(named))
                )
        return out

    def run(self):
        p = self.params
        problems = []
        result = dict(changed=False, problems=problems, needed={})
        cloud_name = getattr(self.conn.config, "name", None) or "(from OS_* environment)"
        try:
            self.conn.authorize()
        except Exception as exc:  # any auth failure: say which cloud and why
            problems.append(
                "credentials: cannot authenticate to cloud %s: %s. Fix: check clouds.yaml "
                "(auth_url, username, password, project) or OS_CLOUD" % (cloud_name, exc)
            )
            self.fail_json(msg="pre-flight: " + problems[0], **result)

        net, ids = find_unique(self.conn.network.find_network, lambda: self.conn.network.networks(name=p["network"]), p["network"])
        if ids:
            problems.append(_ambiguous("private_network_id", p["network"], "network", ids))
        elif net is None:
            problems.append("network: %r does not exist or is not visible to this project (private_network_id)" % p["network"])
        else:
            result["network"] = dict(id=net.id, name=net.name)
        image, ids = find_unique(self.conn.image.find_image, lambda: self.conn.image.images(name=p["image"]), p["image"])
        if ids:
            problems.append(_ambiguous("default_image_name", p["image"], "image", ids))
        elif image is None:
            problems.append("image: %r does not exist or is not visible to this project (default_image_name)" % p["image"])
        else:
            result["image"] = dict(id=image.id, name=image.name)

        flavors = {}
        for name in sorted({s["flavor"] for s in p["servers"]}):
            flavor = self.conn.compute.find_flavor(name)
            if flavor is None:
                users = sorted(s["name"] for s in p["servers"] if s["flavor"] == name)
                problems.append("flavor: %r does not exist (needed by %s)" % (name, ", ".join(users)))
            else:
                flavors[name] = dict(id=flavor.id, vcpus=flavor.vcpus, ram=flavor.ram)
        result["flavors"] = flavors

        existing = set()
        others = {}
        listed = list(self.conn.compute.servers())
        for server in listed:
            owner = cluster_of(server)
            if owner == p["cluster"]:
                existing.add(server.name)
            else:
                others.setdefault(server.name, []).append((server.id, owner))
        if p["adopt"]:
            adopted, ids = find_unique(self.conn.compute.find_server, lambda: [server for server in listed if server.name == p["adopt"]], p["adopt"])
            if ids:
                problems.append(_ambiguous("name_of_initial_instance", p["adopt"], "server", ids))
            elif adopted is None:
                problems.append(
                    "name_of_initial_instance: server %r does not exist in this "
                    "project; create it or unset the field to let q8s create "
                    "the initial control plane" % p["adopt"]
                )
            existing.add(p["adopt"])
        result["existing"] = sorted(existing)

        missing = [s for s in p["servers"] if s["name"] not in existing]
        # A server the cluster still needs may not share its name with a server that is not
        # this cluster's: q8s would create a twin, and every later step by name (repair,
        # SSH, the operator) could act on the wrong one. Never adopt it, never create beside it.
        for server in missing:
            for server_id, owner in others.get(server["name"], []):
                problems.append(
                    "servers: %r (id %s) exists in this project but is not a server of cluster %s "
                    "(its metadata q8s_cluster is %s); q8s neither adopts nor duplicates it. Fix: "
                    "rename or delete that server, or choose another cluster_name"
                    % (server["name"], server_id, p["cluster"], repr(owner) if owner else "not set")
                )
        needed = dict(instances=len(missing), ports=len(missing), cores=0, ram=0, security_groups=0, security_group_rules=0)
        for server in missing:
            flavor = flavors.get(server["flavor"])
            if flavor:
                needed["cores"] += flavor["vcpus"]
                needed["ram"] += flavor["ram"]
        # Every group of the name in this project (find_security_group fails on a name two
        # groups share), and the keypair: cluster_objects.
        objects = cluster_objects(self.conn, p["security_group"], p["keypair"])
        result.update(objects)
        groups = objects["security_groups"]
        if p["security_group_description"] is not None:
            groups = cluster_security_groups(groups, p["security_group_description"])["own"]
        group = groups[0] if groups else None
        if group is None:
            needed["security_groups"] = 1
            # Neutron adds two default egress rules to every new group
            needed["security_group_rules"] = p["security_group_rules"] + 2
        else:
            needed["security_group_rules"] = max(0, p["security_group_rules"] + 2 - group["rules"])
        result["needed"] = needed
        problems.extend(self._extra_group_problems(p["extra_security_groups"]))

        free = {}
        try:
            absolute = self.conn.compute.get_limits().absolute
            free["instances"] = _free(absolute.instances, absolute.instances_used)
            free["cores"] = _free(absolute.total_cores, absolute.total_cores_used)
            free["ram"] = _free(absolute.total_ram, absolute.total_ram_used)
        except Exception as exc:
            problems.append("quota: cannot read the compute limits: %s" % exc)
        try:
            details = self.conn.network.get_quota(self.conn.current_project_id, details=True)
            for key, attr in (("ports", "ports"), ("security_groups", "security_groups"), ("security_group_rules", "security_group_rules")):
                entry = getattr(details, attr, None) or {}
                free[key] = _free(entry.get("limit"), (entry.get("used") or 0) + (entry.get("reserved") or 0))
        except Exception as exc:
            problems.append("quota: cannot read the network quota: %s" % exc)
        result["free"] = free
        units = dict(ram=" MB")
        for key in ("instances", "cores", "ram", "ports", "security_groups", "security_group_rules"):
            if key in free and free[key] is not None and needed[key] > free[key]:
                problems.append(
                    "quota: %s: the cluster needs %d%s more, the project has %d%s free. "
                    "Fix: ask for a larger quota or shrink the cluster" % (key, needed[key], units.get(key, ""), free[key], units.get(key, ""))
                )

        if problems:
            self.fail_json(msg="pre-flight found %d problem(s), nothing was created:\n  - %s" % (len(problems), "\n  - ".join(problems)), **result)
        self.exit_json(**result)


def main():
    module = PreflightModule()
    module()


if __name__ == "__main__":
    main()
