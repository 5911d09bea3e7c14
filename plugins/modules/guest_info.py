#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: guest_info
short_description: Read the state of one emulated guest on its QEMU host in one run
version_added: "0.1.0"
description:
  - Reads what the role C(q8s.cluster.emulated_worker) needs to know about a guest before it changes
    anything, in one module run instead of one per fact - whether libvirt has the domain defined, running
    and started at boot (C(virsh)), the spec the guest was created with, whether its disk and seed ISO are
    there, the base image's virtual size (C(qemu-img info)) and which of the given boot files are missing.
  - Changes nothing, and supports check mode.
  - Fails when libvirt cannot be asked or the base image cannot be read.
options:
  image:
    description: The base image the guest's disk is an overlay of.
    type: path
    required: true
  spec_file:
    description:
      - The JSON file the role recorded the guest's spec in.
      - A missing or unreadable file, or one that holds no JSON object, gives an empty C(applied_spec).
    type: path
    required: true
  disk:
    description: The guest's disk.
    type: path
    required: true
  seed:
    description: The guest's NoCloud seed ISO.
    type: path
    required: true
  files:
    description: Files the guest needs on this host (the kernel and initrd of a direct kernel boot).
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - q8s.cluster.libvirt_guest
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Read the guest's state
  q8s.cluster.guest_info:
    name: demo--x86-small-1
    image: /var/lib/q8s/images/debian-12-amd64.qcow2
    spec_file: /var/lib/q8s/guests/demo--x86-small-1/spec.json
    disk: /var/lib/libvirt/images/q8s/demo--x86-small-1.qcow2
    seed: /var/lib/q8s/guests/demo--x86-small-1/seed.iso
    files: [/var/lib/q8s/images/debian-12-amd64.vmlinuz]
  register: guest
"""

RETURN = r"""
defined:
  description: Whether libvirt has a domain of that name.
  returned: always
  type: bool
active:
  description: Whether that domain runs.
  returned: always
  type: bool
autostart:
  description: Whether libvirt starts that domain at boot.
  returned: always
  type: bool
applied_spec:
  description: The spec the guest was created with (the content of I(spec_file)), or an empty dict.
  returned: always
  type: dict
disk_exists:
  description: Whether I(disk) exists.
  returned: always
  type: bool
seed_exists:
  description: Whether I(seed) exists.
  returned: always
  type: bool
image_virtual_size:
  description: The virtual size of I(image) in bytes.
  returned: always
  type: int
missing_files:
  description: The items of I(files) that do not exist, in their order.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_libvirt import GUEST_ARGUMENT_SPEC, run_command


def read_spec(path):
    """The recorded spec: a dict, or {} when the file is missing, unreadable or no JSON object."""
    try:
        with open(path, encoding="utf-8") as handle:
            spec = json.load(handle)
    except (OSError, ValueError):
        return {}
    return spec if isinstance(spec, dict) else {}


def dominfo_fields(text):
    """virsh dominfo's 'Key:   value' lines as a dict."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def domain_state(run, virsh, uri, name):
    """(defined, active, autostart) of a domain, or raises RuntimeError when libvirt cannot say."""
    rc, out, err = run([virsh, "--connect", uri, "list", "--all", "--name"])
    if rc != 0:
        raise RuntimeError("virsh --connect %s list failed: %s" % (uri, (err or out).strip()))
    if name not in [line.strip() for line in out.splitlines()]:
        return False, False, False
    rc, out, err = run([virsh, "--connect", uri, "dominfo", name])
    if rc != 0:
        raise RuntimeError("virsh --connect %s dominfo %s failed: %s" % (uri, name, (err or out).strip()))
    fields = dominfo_fields(out)
    return True, fields.get("State") == "running", fields.get("Autostart") == "enable"


def image_size(run, qemu_img, path):
    rc, out, err = run([qemu_img, "info", "--output=json", "--force-share", path])
    if rc != 0:
        raise RuntimeError("qemu-img info %s failed: %s" % (path, (err or out).strip()))
    return int(json.loads(out)["virtual-size"])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            GUEST_ARGUMENT_SPEC,
            image=dict(type="path", required=True),
            spec_file=dict(type="path", required=True),
            disk=dict(type="path", required=True),
            seed=dict(type="path", required=True),
            files=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params

    def run(argv):
        return run_command(module, argv)

    try:
        defined, active, autostart = domain_state(run, module.get_bin_path("virsh", required=True), params["uri"], params["name"])
        size = image_size(run, module.get_bin_path("qemu-img", required=True), params["image"])
    except RuntimeError as err:
        module.fail_json(msg="guest %s: %s" % (params["name"], err))
        return
    module.exit_json(
        changed=False,
        defined=defined,
        active=active,
        autostart=autostart,
        applied_spec=read_spec(params["spec_file"]),
        disk_exists=os.path.exists(params["disk"]),
        seed_exists=os.path.exists(params["seed"]),
        image_virtual_size=size,
        missing_files=[path for path in params["files"] if not os.path.exists(path)],
    )


if __name__ == "__main__":
    main()
