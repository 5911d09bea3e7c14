# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: podman
short_description: Run tasks in a podman container, one podman exec per module
version_added: 0.1.0
description:
  - The connection of C(containers.podman.podman) (it is a subclass of it) with module
    pipelining. A module goes to the container's Python on the standard input of one
    C(podman exec --interactive); without pipelining, each module costs five
    C(podman exec) calls (home directory, temporary directory, chmod, run, cleanup).
  - Files (template, copy, fetch) still go through the container's mounted file system or
    C(podman cp), as with C(containers.podman.podman); the container is mounted
    (C(podman mount)) only for a task that puts or fetches a file, not for every task.
  - The local provider's hosts use it (plugins/inventory/spec.py), and so do the Molecule
    scenarios whose hosts are podman containers.
requirements:
  - the C(containers.podman) collection, and podman on the controller
notes:
  - Pipelining is on unless O(pipelining) turns it off; then every module is copied and
    run as with C(containers.podman.podman).
  - Modules run asynchronously (C(async)) are not pipelined, as with every connection.
options:
  remote_addr:
    description:
      - The name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description:
      - The user (name or UID) the commands run as inside the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description:
      - Extra arguments for the podman command line, before the subcommand.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description:
      - The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description:
      - Send modules over the standard input of C(podman exec --interactive) instead of
        copying them into the container first.
    type: boolean
    default: true
    vars:
      - name: ansible_pipelining
      - name: ansible_podman_pipelining
    env:
      - name: Q8S_PODMAN_PIPELINING
"""

import shlex

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.connection import ensure_connect
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection


class Connection(PodmanConnection):
    """containers.podman.podman with pipelining: stdin reaches the command."""

    transport = "q8s.cluster.podman"
    has_pipelining = True

    def __init__(self, *args, **kwargs):
        super(Connection, self).__init__(*args, **kwargs)
        self._mounted = False

    def _connect(self):
        """Connected without `podman mount`: the parent mounts the container's file system
        on every connection, that is for every task, though only a file put or fetched
        needs it (see _mount)."""
        if not self._connected:
            super(PodmanConnection, self)._connect()
            self._connected = True
        return self

    def _mount(self):
        """The parent's connect (podman mount), once, before the first file goes across."""
        if not self._mounted:
            PodmanConnection._connect(self)
            self._mounted = True

    def put_file(self, in_path, out_path):
        """The parent's put_file, through the mount point or podman cp."""
        self._mount()
        return super(Connection, self).put_file(in_path, out_path)

    def fetch_file(self, in_path, out_path):
        """The parent's fetch_file, through the mount point or podman cp."""
        self._mount()
        return super(Connection, self).fetch_file(in_path, out_path)

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        """Run cmd in the container; with in_data, on its standard input (pipelining)."""
        if in_data is None:
            return super(Connection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        # ConnectionBase's own bookkeeping, without the parent's podman exec (no -i).
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)
        args = ["exec", "--interactive"]
        if self.user:
            args.extend(("--user", self.user))
        return self._podman(args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)
