#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: guest_boot_wait
short_description: Wait for an emulated guest's first boot on its serial console, and watch that it keeps running
version_added: "0.1.0"
description:
  - Waits until the guest's serial console log matches O(regex) (cloud-init's or q8s-firstboot's last line),
    as M(ansible.builtin.wait_for) with O(ansible.builtin.wait_for#module:path) would, and asks libvirt
    (C(virsh domstate --reason)) meanwhile whether the domain still runs.
  - A domain that stopped fails the task at once, with libvirt's state and reason and the last lines of
    QEMU's log, instead of waiting out O(timeout) for a console that no longer changes.
  - A domain whose QEMU process crashed (state C(crashed), or C(shut off) with reason C(crashed), as when
    a QEMU TCG vCPU thread segfaults early in the guest's boot) is started again, at most O(restarts)
    times; each restart is listed in RV(restarted_after) and in a warning. A guest that powered itself
    off, or that someone destroyed, is not started again.
  - Fails when libvirt leaves five looks in a row unanswered (a domain it does not know); one restart of
    libvirtd in between is waited out.
  - Changes nothing but those restarts. Does not support check mode (the role skips the wait there).
options:
  console:
    description:
      - The guest's serial console log, which libvirt empties at every start of the domain.
    type: path
    required: true
  regex:
    description:
      - What the console says when the first boot is done, searched line by line over the whole log
        (Python C(re), C(MULTILINE)), as M(ansible.builtin.wait_for) searches.
    type: str
    required: true
  timeout:
    description: Seconds to wait in all, restarts included.
    type: int
    default: 900
  restarts:
    description: How many times a domain whose QEMU process crashed is started again.
    type: int
    default: 1
  qemu_log:
    description:
      - QEMU's log of the domain, whose last lines a failure names. Defaults to
        C(/var/log/libvirt/qemu/<name>.log).
    type: path
  sleep:
    description: Seconds between two looks.
    type: float
    default: 1.0
extends_documentation_fragment:
  - q8s.cluster.libvirt_guest
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Wait for the guest's first boot
  q8s.cluster.guest_boot_wait:
    name: demo--x86-small-1
    console: /var/log/libvirt/qemu/demo--x86-small-1-console.log
    regex: 'Cloud-init v\. \S+ (finished) at'
    timeout: 900
"""

RETURN = r"""
match_groups:
  description: The groups of the match of O(regex) in the console log.
  returned: success
  type: list
  elements: str
elapsed:
  description: Seconds waited.
  returned: always
  type: int
restarted_after:
  description: For each restart, libvirt's state and reason that called for it (C(shut off (crashed))).
  returned: always
  type: list
  elements: str
state:
  description: The domain's state and reason when the module ended (C(virsh domstate --reason)).
  returned: always
  type: str
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_libvirt import GUEST_ARGUMENT_SPEC, run_command

# libvirt's states (virsh domstate) in which a domain no longer runs.
STOPPED = ("shut off", "crashed")


def read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


# How many looks in a row libvirt may leave unanswered before the wait fails.
UNANSWERED = 5

# QEMU writes one of these per CPU feature that TCG lacks, at every start: not what stopped it.
NOISE = "doesn't support requested feature"


def tail(path, lines):
    kept = [line for line in read_text(path).splitlines() if NOISE not in line]
    return "\n".join(kept[-lines:]) if kept else "(%s is empty or missing)" % path


def stopped(state):
    """Whether ``virsh domstate --reason``'s answer says the domain no longer runs."""
    return state.startswith(STOPPED)


def crashed(state):
    """Whether the domain stopped because its QEMU process crashed (not a guest's own power off,
    not a destroy)."""
    return state.startswith("crashed") or state == "shut off (crashed)"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            GUEST_ARGUMENT_SPEC,
            console=dict(type="path", required=True),
            regex=dict(type="str", required=True),
            timeout=dict(type="int", default=900),
            restarts=dict(type="int", default=1),
            qemu_log=dict(type="path"),
            sleep=dict(type="float", default=1.0),
        ),
        supports_check_mode=False,
    )
    params = module.params
    name, uri = params["name"], params["uri"]
    qemu_log = params["qemu_log"] or "/var/log/libvirt/qemu/%s.log" % name
    try:
        pattern = re.compile(params["regex"], re.MULTILINE)
    except re.error as err:
        module.fail_json(msg="regex %r is not a valid regular expression: %s" % (params["regex"], err))
        return
    binary = module.get_bin_path("virsh", required=True)

    def virsh(*args):
        return run_command(module, [binary, "--connect", uri] + list(args))

    began = time.monotonic()
    deadline = began + params["timeout"]
    restarted = []
    state = ""
    unanswered = 0

    def result(**extra):
        return dict(elapsed=int(time.monotonic() - began), restarted_after=restarted, state=state, **extra)

    while True:
        match = pattern.search(read_text(params["console"]))
        if match:
            for why in restarted:
                module.warn("guest %s: its QEMU process had stopped (%s) and was started again" % (name, why))
            module.exit_json(changed=bool(restarted), match_groups=list(match.groups()), **result())
            return
        rc, out, err = virsh("domstate", "--reason", name)
        if rc != 0:
            # libvirtd restarting answers nothing for a moment; a domain that is gone, never
            unanswered += 1
            if unanswered >= UNANSWERED:
                module.fail_json(msg="guest %s: virsh --connect %s domstate failed: %s" % (name, uri, (err or out).strip()), **result())
                return
            time.sleep(params["sleep"])
            continue
        unanswered = 0
        state = out.strip()
        if stopped(state):
            if crashed(state) and len(restarted) < params["restarts"]:
                restarted.append(state)
                if state.startswith("crashed"):
                    # kept by on_crash=preserve: still active until destroyed
                    virsh("destroy", name)
                rc, out, err = virsh("start", name)
                if rc != 0:
                    module.fail_json(msg="guest %s: QEMU stopped (%s); starting it again failed: %s" % (name, state, (err or out).strip()), **result())
                    return
                continue
            module.fail_json(
                msg="the domain stopped before its first boot finished (virsh domstate: %s%s); last lines of %s:\n%s"
                % (state, ", after %d restart(s)" % len(restarted) if restarted else "", qemu_log, tail(qemu_log, 5)),
                **result(),
            )
            return
        if time.monotonic() >= deadline:
            module.fail_json(msg="Timeout when waiting for search string %s in %s" % (params["regex"], params["console"]), **result())
            return
        time.sleep(params["sleep"])


if __name__ == "__main__":
    main()
