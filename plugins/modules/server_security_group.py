#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: server_security_group
short_description: Attach one security group to an existing server, or detach it
version_added: "0.1.0"
description:
  - Adds one security group to a server that q8s does not own (the adopted initial
    instance, C(name_of_initial_instance)) or takes it off again, and leaves every other
    security group of that server as it is.
  - C(openstack.cloud.server) replaces a server's whole list of groups and needs its image
    and flavor; this module changes exactly one membership.
options:
  server:
    description: Name or ID of the server.
    type: str
    required: true
  security_group:
    description: Name or ID of the security group.
    type: str
    required: true
  state:
    description: C(present) attaches the group, C(absent) detaches it.
    type: str
    choices: [present, absent]
    default: present
  missing_ok:
    description:
      - With I(state=absent), a server or group that does not exist is not an error
        (nothing to detach). With I(state=present) a missing server or group always fails.
    type: bool
    default: true
extends_documentation_fragment:
  - q8s.cluster.openstack
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Put the adopted initial instance into the cluster's security group
  q8s.cluster.server_security_group:
    cloud: mycloud
    server: q8s-master
    security_group: demo-cluster

- name: Take it out again at teardown
  q8s.cluster.server_security_group:
    cloud: mycloud
    server: q8s-master
    security_group: demo-cluster
    state: absent
"""

RETURN = r"""
security_groups:
  description: Names of the server's security groups after the change (what check mode would give).
  returned: when the server exists
  type: list
  elements: str
"""

from ansible_collections.openstack.cloud.plugins.module_utils.openstack import (
    OpenStackModule,
)


class ServerSecurityGroupModule(OpenStackModule):
    argument_spec = dict(
        server=dict(type="str", required=True),
        security_group=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        missing_ok=dict(type="bool", default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        state = self.params["state"]
        server = self.conn.compute.find_server(self.params["server"], ignore_missing=True)
        group = self.conn.network.find_security_group(self.params["security_group"], ignore_missing=True)
        missing = [
            "server %r" % self.params["server"] if server is None else None,
            "security group %r" % self.params["security_group"] if group is None else None,
        ]
        missing = [m for m in missing if m]
        if missing:
            if state == "absent" and self.params["missing_ok"]:
                self.exit_json(changed=False)
            self.fail_json(msg="%s not found in the project" % " and ".join(missing))
        server = self.conn.compute.get_server(server.id)
        names = sorted({g["name"] for g in server.security_groups or []})
        attached = group.name in names
        changed = attached != (state == "present")
        if changed and not self.ansible.check_mode:
            if state == "present":
                self.conn.compute.add_security_group_to_server(server, group)
            else:
                self.conn.compute.remove_security_group_from_server(server, group)
        if changed:
            names = sorted(set(names) | {group.name}) if state == "present" else [n for n in names if n != group.name]
        self.exit_json(changed=changed, security_groups=names)


def main():
    module = ServerSecurityGroupModule()
    module()


if __name__ == "__main__":
    main()
