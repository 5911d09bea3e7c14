#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cluster_objects_info
short_description: Read the security groups and keypair of a cluster's names in the current project
version_added: "0.1.0"
description:
  - Returns the ID of the project the credentials are scoped to, every security group of the
    name O(security_group) in that project, and the keypair O(keypair), in one authenticated
    session. Changes nothing.
  - Credentials with the admin role make Neutron list every project's security groups; a
    group of the same name in another project is not returned, so that a caller deciding
    what is a cluster's (teardown.yml) never takes it for the cluster's.
  - Which of the groups and keypairs are the cluster's is the caller's decision
    (teardown_plan, by the group's description and the keypair's fingerprint).
options:
  security_group:
    description: Name of the cluster's security group.
    type: str
    required: true
  keypair:
    description: Name of the cluster's keypair.
    type: str
extends_documentation_fragment:
  - q8s.cluster.openstack
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Read what the cloud holds of the cluster's names
  q8s.cluster.cluster_objects_info:
    cloud: mycloud
    security_group: demo-cluster
    keypair: demo-cluster
  register: objects
"""

RETURN = r"""
project_id:
  description: ID of the project the credentials are scoped to.
  returned: always
  type: str
security_groups:
  description:
    - Every security group of the name O(security_group) in this project, each with C(id),
      C(name), C(description) and C(rules) (how many rules it carries).
  returned: always
  type: list
  elements: dict
other_project_groups:
  description:
    - IDs of the security groups of the name O(security_group) that the credentials see in
      other projects (credentials with the admin role see every project's).
  returned: always
  type: list
  elements: str
keypair:
  description:
    - The keypair O(keypair), with C(name) and C(fingerprint); null when it does not
      exist or O(keypair) is not set.
  returned: always
  type: dict
"""

from ansible_collections.openstack.cloud.plugins.module_utils.openstack import (
    OpenStackModule,
)

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_openstack import cluster_objects


class ClusterObjectsInfoModule(OpenStackModule):
    argument_spec = dict(
        security_group=dict(type="str", required=True),
        keypair=dict(type="str", no_log=False),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        self.exit_json(changed=False, **cluster_objects(self.conn, self.params["security_group"], self.params["keypair"]))


def main():
    module = ClusterObjectsInfoModule()
    module()


if __name__ == "__main__":
    main()
