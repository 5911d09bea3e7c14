#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ports
short_description: Delete the given ports, all at once
version_added: "0.1.0"
description:
  - Deletes, in one process and concurrently, every port of I(ids) that still exists. The
    ports are named by ID. The caller decides which ports are its own (teardown.yml takes
    the ports the cluster's servers had, by the cluster's metadata); this module only
    deletes.
  - A loop of C(openstack.cloud.port) tasks pays a module start, an SDK import and a token
    per port; for a few hundred ports that dominates a teardown. This module pays them once.
  - A port of the list that no longer exists is not an error; the module reports a change
    only when it deleted one.
options:
  ids:
    description: IDs of the ports to delete.
    type: list
    elements: str
    required: true
  state:
    description: Only C(absent).
    type: str
    choices: [absent]
    default: absent
  concurrency:
    description: Delete requests in flight at once.
    type: int
    default: 10
extends_documentation_fragment:
  - q8s.cluster.openstack
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Delete the ports the cluster's servers left
  q8s.cluster.ports:
    cloud: mycloud
    ids: "{{ leftover_ports | map(attribute='id') | list }}"
    state: absent
"""

RETURN = r"""
deleted:
  description: IDs of the ports this run deleted (or would delete, in check mode).
  returned: always
  type: list
  elements: str
"""

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.openstack.cloud.plugins.module_utils.openstack import (
    OpenStackModule,
)


class PortsModule(OpenStackModule):
    argument_spec = dict(
        ids=dict(type="list", elements="str", required=True),
        state=dict(type="str", choices=["absent"], default="absent"),
        concurrency=dict(type="int", default=10),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        wanted = set(self.params["ids"])
        # One listing instead of one lookup per port.
        doomed = sorted(p.id for p in self.conn.network.ports() if p.id in wanted) if wanted else []
        if doomed and not self.ansible.check_mode:
            with ThreadPoolExecutor(max_workers=max(1, self.params["concurrency"])) as pool:
                list(pool.map(lambda i: self.conn.network.delete_port(i, ignore_missing=True), doomed))
        self.exit_json(changed=bool(doomed), deleted=doomed)


def main():
    module = PortsModule()
    module()


if __name__ == "__main__":
    main()
