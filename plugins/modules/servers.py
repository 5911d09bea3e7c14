#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: servers
short_description: Create a cluster's missing servers all at once and wait for them, or delete them all
version_added: "0.1.0"
description:
  - Creates, in one process and concurrently, every server of the list that does not exist
    yet (servers are matched by name among those whose metadata says
    C(q8s_cluster=<cluster>)), then lists the project's building servers once per round
    (a list without details, which costs the cloud little) until none of the listed servers
    builds any more or I(timeout) runs out; one list with details gives the result.
  - A loop of C(openstack.cloud.server) tasks pays a module start, an SDK import and a
    token per server; for 50 servers that dominates the run. This module pays them once.
  - Refuses, before creating anything, to create a server whose name an existing server
    without the cluster's metadata carries (it is never adopted or duplicated).
  - Servers that exist are never changed or deleted; servers in C(ERROR) are reported (the
    playbook deletes them before calling this module, so a rerun replaces them).
  - Fails naming every server that did not become ACTIVE, with its status.
  - With I(state=absent), deletes every server of the cluster (but those in I(keep))
    concurrently and waits until they are gone.
options:
  state:
    description: C(present) creates what is missing; C(absent) deletes the cluster's servers.
    type: str
    choices: [present, absent]
    default: present
  keep:
    description: With I(state=absent), names of servers that stay (an adopted instance).
    type: list
    elements: str
    default: []
  cluster:
    description: Cluster name; the servers carry metadata C(q8s_cluster=<cluster>).
    type: str
    required: true
  servers:
    description:
      - The servers the cluster needs, dicts with C(name), C(flavor) (ID) and C(metadata)
        (merged over C(q8s_cluster)). Required with I(state=present).
    type: list
    elements: dict
  image:
    description: Image ID of every server. Required with I(state=present).
    type: str
  network:
    description: Network ID every server joins. Required with I(state=present).
    type: str
  key_name:
    description: Keypair of every server. Required with I(state=present).
    type: str
  security_groups:
    description: Security group names attached to every new server.
    type: list
    elements: str
    default: []
  concurrency:
    description: Create requests in flight at once.
    type: int
    default: 10
  wait:
    description: Wait until the servers are ACTIVE.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for ACTIVE in all.
    type: int
    default: 600
  poll:
    description: Seconds between two listings of the cluster's servers.
    type: int
    default: 3
extends_documentation_fragment:
  - q8s.cluster.openstack
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Create the cluster's servers and wait for them
  q8s.cluster.servers:
    cloud: mycloud
    cluster: demo
    image: "{{ image_id }}"
    network: "{{ network_id }}"
    key_name: demo-cluster
    security_groups: [demo-cluster]
    servers:
      - name: demo--cp-0
        flavor: "{{ flavor_id }}"
        metadata: {q8s_role: control_plane, q8s_vm_type: none, q8s_initial: "true"}
"""

RETURN = r"""
created:
  description: Names of the servers this run created (or would create, in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Names of the servers this run deleted (or would delete, in check mode).
  returned: with I(state=absent)
  type: list
  elements: str
servers:
  description:
    - Every server of the cluster after the run, with C(name), C(id), C(status) and
      C(addresses) (Nova's, by network name).
  returned: always
  type: list
  elements: dict
not_active:
  description:
    - C(name (status)) of each listed server that is not ACTIVE.
    - "For a server in ERROR, C(name (ERROR: fault)) with Nova's fault message when Nova recorded one."
  returned: always
  type: list
  elements: str
"""

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.openstack.cloud.plugins.module_utils.openstack import (
    OpenStackModule,
)

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_openstack import OWNER_KEY, owned_by


class ServersModule(OpenStackModule):
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        keep=dict(type="list", elements="str", default=[]),
        servers=dict(type="list", elements="dict"),
        image=dict(type="str"),
        network=dict(type="str"),
        key_name=dict(type="str", no_log=False),
        security_groups=dict(type="list", elements="str", default=[]),
        concurrency=dict(type="int", default=10),
        wait=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        poll=dict(type="int", default=3),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_if=[("state", "present", ("servers", "image", "network", "key_name"))],
    )

    def _listing(self):
        """Every server of the project with its details: {name: server} of the cluster's, and the others."""
        cluster = self.params["cluster"]
        ours, others = {}, []
        for server in self.conn.compute.servers(details=True):
            if owned_by(server, cluster):
                ours[server.name] = server
            else:
                others.append(server)
        return ours, others

    def _cluster_servers(self):
        return self._listing()[0]

    def _ids_left(self, ids, **query):
        """Which of ids the project's server list (without details) still holds, with query as its filter.

        A list without details is the cheap one: Nova reads no metadata, faults or ports
        for it. Polling with details costs the cloud a detail view of every server per round."""
        return set(s.id for s in self.conn.compute.servers(details=False, **query)) & ids

    def _wait_unlisted(self, ids, **query):
        """Polls with _ids_left every poll seconds until none of ids is listed or timeout
        runs out; returns the ids still listed."""
        deadline = time.monotonic() + self.params["timeout"]
        while True:
            left = self._ids_left(ids, **query)
            if not left or time.monotonic() >= deadline:
                return left
            time.sleep(max(1, self.params["poll"]))

    def _create(self, server):
        metadata = dict(server.get("metadata") or {})
        metadata[OWNER_KEY] = self.params["cluster"]
        return self.conn.compute.create_server(
            name=server["name"],
            image_id=self.params["image"],
            flavor_id=server["flavor"],
            networks=[{"uuid": self.params["network"]}],
            key_name=self.params["key_name"],
            security_groups=[{"name": g} for g in self.params["security_groups"]],
            metadata=dict((str(k), str(v)) for k, v in metadata.items()),
        ).id

    def _absent(self):
        existing = self._cluster_servers()
        doomed = [s for n, s in sorted(existing.items()) if n not in self.params["keep"]]
        deleted = [s.name for s in doomed]
        if self.ansible.check_mode or not doomed:
            self.exit_json(changed=bool(doomed), deleted=deleted, created=[], servers=self._summary(existing), not_active=[])
        with ThreadPoolExecutor(max_workers=max(1, self.params["concurrency"])) as pool:
            list(pool.map(lambda s: self.conn.compute.delete_server(s, ignore_missing=True), doomed))
        left_ids = self._wait_unlisted(set(s.id for s in doomed))
        if left_ids:
            left = sorted(s.name for s in doomed if s.id in left_ids)
            self.fail_json(
                msg="%d server(s) of cluster %s were not deleted within %d s: %s"
                % (len(left), self.params["cluster"], self.params["timeout"], ", ".join(left)),
                changed=True,
                deleted=deleted,
            )
        self.exit_json(changed=True, deleted=deleted, created=[], servers=self._summary(self._cluster_servers()), not_active=[])

    def run(self):
        if self.params["state"] == "absent":
            self._absent()
        wanted = self.params["servers"]
        for server in wanted:
            if not server.get("name") or not server.get("flavor"):
                self.fail_json(msg="every entry of servers needs a name and a flavor, got %r" % server)
        existing, others = self._listing()
        missing = [s for s in wanted if s["name"] not in existing]
        created = [s["name"] for s in missing]
        twins = sorted((s.name, s.id) for s in others if s.name in created)
        if twins:
            self.fail_json(
                msg="not creating %s: a server of that name exists that is not cluster %s's (%s); q8s never adopts "
                "or duplicates it. Fix: rename or delete that server, or choose another cluster_name"
                % (", ".join(sorted(set(t[0] for t in twins))), self.params["cluster"], ", ".join("%s id %s" % t for t in twins)),
                changed=False,
                created=[],
            )
        if self.ansible.check_mode:
            self.exit_json(changed=bool(created), created=created, servers=self._summary(existing), not_active=[])

        refused = []
        # what to wait for: the servers created here and those of the list still building
        ids = set(existing[s["name"]].id for s in wanted if s["name"] in existing and existing[s["name"]].status == "BUILD")
        if missing:
            with ThreadPoolExecutor(max_workers=max(1, self.params["concurrency"])) as pool:
                futures = [(s["name"], pool.submit(self._create, s)) for s in missing]
                for name, future in futures:
                    try:
                        ids.add(future.result())
                    except Exception as exc:  # noqa: BLE001 - reported per server
                        refused.append("%s: %s" % (name, exc))
        if refused:
            self.fail_json(
                msg="the cloud refused to create %d server(s): %s" % (len(refused), "; ".join(refused)),
                changed=len(refused) < len(created),
                created=[n for n in created if not any(r.startswith(n + ":") for r in refused)],
            )

        # while any of them builds, one list of the building servers (no details) per round;
        # then one list with details for the statuses and the result
        current = existing
        if ids:
            if self.params["wait"]:
                self._wait_unlisted(ids, status="BUILD")
            current = self._cluster_servers()
        statuses = dict((s["name"], current[s["name"]].status if s["name"] in current else "missing") for s in wanted)
        not_active = ["%s (%s%s)" % (n, st, self._fault(current.get(n))) for n, st in sorted(statuses.items()) if st != "ACTIVE"]
        result = dict(changed=bool(created), created=created, servers=self._summary(current), not_active=not_active if self.params["wait"] else [])
        if self.params["wait"] and not_active:
            self.fail_json(
                msg="%d server(s) of cluster %s did not become ACTIVE: %s. Rerun provision.yml once the cause is fixed: "
                "servers in ERROR are replaced, the others are kept." % (len(not_active), self.params["cluster"], ", ".join(not_active)),
                **result,
            )
        self.exit_json(**result)

    @staticmethod
    def _summary(servers):
        return [dict(name=s.name, id=s.id, status=s.status, addresses=s.addresses or {}) for s in sorted(servers.values(), key=lambda s: s.name)]

    def _fault(self, server):
        """': <nova's fault message>' of a server in ERROR, else ''.

        Nova's detailed list reads faults from one database only (nova-api's own), so a server
        kept in another cell's database is listed without its fault: on the test cloud, one no
        host would take (NoValidHost, buried in cell0). One GET of that server reads its cell."""
        if server is None or server.status != "ERROR":
            return ""
        message = _fault_message(server)
        if not message:
            try:
                message = _fault_message(self.conn.compute.get_server(server.id))
            except Exception:  # noqa: BLE001 - the status alone is still the answer
                message = None
        return ": %s" % message if message else ""


def _fault_message(server):
    fault = getattr(server, "fault", None) or {}
    return fault.get("message") if isinstance(fault, dict) else None


def main():
    module = ServersModule()
    module()


if __name__ == "__main__":
    main()
