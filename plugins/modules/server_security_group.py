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
  - Works by IDs on the server's ports (as Nova does for all of them), so a group of the
    same name as the one given, which Neutron allows, is never taken for it. A name that
    several servers or groups carry fails with their IDs; give the ID instead.
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

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_openstack import find_unique


class ServerSecurityGroupModule(OpenStackModule):
    argument_spec = dict(
        server=dict(type="str", required=True),
        security_group=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        missing_ok=dict(type="bool", default=True),
    )
    module_kwargs = dict(supports_check_mode=True)

    def _find(self, kind, find, same_name, value):
        """find(value) (None when nothing matches); fails naming the IDs when several carry the name."""
        found, ids = find_unique(find, same_name, value)
        if ids:
            self.fail_json(msg="%d %ss are named %r (ids %s): give the ID of the one to use" % (len(ids), kind, value, ", ".join(ids)))
        return found

    def run(self):
        state = self.params["state"]
        want = state == "present"
        server_ref, group_ref = self.params["server"], self.params["security_group"]
        server = self._find("server", self.conn.compute.find_server, lambda: [o for o in self.conn.compute.servers() if o.name == server_ref], server_ref)
        group = self._find("security group", self.conn.network.find_security_group, lambda: self.conn.network.security_groups(name=group_ref), group_ref)
        missing = [
            "server %r" % server_ref if server is None else None,
            "security group %r" % group_ref if group is None else None,
        ]
        missing = [m for m in missing if m]
        if missing:
            if state == "absent" and self.params["missing_ok"]:
                self.exit_json(changed=False)
            self.fail_json(msg="%s not found in the project" % " and ".join(missing))
        # The ports to change: each of the server's ports whose groups (by ID) differ from the wanted state.
        todo = []
        for port in self.conn.network.ports(device_id=server.id):
            ids = list(port.security_group_ids or [])
            if (group.id in ids) != want:
                todo.append((port, ids + [group.id] if want else [i for i in ids if i != group.id]))
        changed = bool(todo)
        if changed and not self.ansible.check_mode:
            for port, ids in todo:
                self.conn.network.update_port(port, security_group_ids=ids)
        names = sorted({g["name"] for g in self.conn.compute.get_server(server.id).security_groups or []})
        if changed and self.ansible.check_mode:
            names = sorted(set(names) | {group.name}) if want else [n for n in names if n != group.name]
        self.exit_json(changed=changed, security_groups=names)


def main():
    module = ServerSecurityGroupModule()
    module()


if __name__ == "__main__":
    main()
