#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: host_state
short_description: Compare a host with the state a role wants, in one module run
version_added: "0.1.0"
description:
  - Looks at everything a role manages on a host - packages, files and directories, lines of a configuration file,
    sysctl settings, services, libvirt networks, and checks that commands answer - and returns what differs from the
    wanted state. It changes nothing and supports check mode.
  - The roles C(q8s.cluster.qemu_host), C(q8s.cluster.nat_bridge) and C(q8s.cluster.link_profile) run it first and run
    their tasks only when something differs, so a rerun with nothing to do costs one module run per role instead of one
    per task. What it checks is what those tasks would change; anything it cannot tell counts as differing.
options:
  packages:
    description: Debian packages that must be installed (asked of C(dpkg-query); a name dpkg cannot answer for counts as missing).
    type: list
    elements: str
    default: []
  paths:
    description: Files and directories and their wanted state.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The path.
        type: path
        required: true
      state:
        description: What the path must be.
        type: str
        choices: [file, directory, absent]
        default: file
      checksum:
        description: The SHA-1 hex digest of the file's content, as C(ansible.builtin.template) and C(ansible.builtin.copy) compare it.
        type: str
      mode:
        description: The permission bits, in octal (C(0644)).
        type: str
      owner:
        description: The owner's name.
        type: str
      group:
        description: The group's name.
        type: str
  lines:
    description:
      - Lines of a configuration file, as C(ansible.builtin.lineinfile) with I(regexp) and I(line) keeps them - the last
        line that matches I(regexp) must be I(line).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      regexp:
        description: The regular expression that finds the line.
        type: str
        required: true
      line:
        description: The line wanted.
        type: str
        required: true
  sysctl:
    description: Kernel settings, as C(ansible.posix.sysctl) with I(sysctl_set) keeps them - the live value and the line in I(file).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The setting (C(net.ipv4.ip_forward)).
        type: str
        required: true
      value:
        description: Its value.
        type: str
        required: true
      file:
        description: The sysctl.d file that keeps it.
        type: path
        required: true
  services:
    description: systemd units that must be enabled and active.
    type: list
    elements: str
    default: []
  libvirt_networks:
    description: libvirt networks that must be defined, active and started at boot.
    type: list
    elements: str
    default: []
  libvirt_uri:
    description: The libvirt connection for I(libvirt_networks).
    type: str
    default: qemu:///system
  commands:
    description: Commands that look and change nothing, each with the exit codes that mean the host is as wanted.
    type: list
    elements: dict
    default: []
    suboptions:
      argv:
        description: The command.
        type: list
        elements: str
        required: true
      rc:
        description: The exit codes that mean nothing differs.
        type: list
        elements: int
        default: [0]
author:
  - q8s developers (@q8s)
"""

EXAMPLES = r"""
- name: Look at everything the role manages
  q8s.cluster.host_state:
    packages: [iptables]
    paths:
      - path: /etc/q8s
        state: directory
        mode: "0755"
        owner: root
        group: root
      - path: /etc/q8s/firewall.rules
        checksum: "{{ lookup('ansible.builtin.template', 'firewall.rules.j2') | hash('sha1') }}"
        mode: "0644"
    sysctl:
      - name: net.ipv4.ip_forward
        value: "1"
        file: /etc/sysctl.d/60-q8s.conf
    services: [q8s-firewall.service]
    commands:
      - argv: [/usr/local/sbin/q8s-firewall, check]
  register: state

- name: Bring the host to the wanted state
  ansible.builtin.include_tasks: apply.yml
  when: state.differs | length > 0
"""

RETURN = r"""
differs:
  description: What differs from the wanted state, one short sentence each, in the order of the options; empty when nothing does.
  returned: always
  type: list
  elements: str
  sample: ["/etc/q8s/firewall.rules: content", "q8s-firewall.service: not active"]
missing_packages:
  description: The names of I(packages) that are not installed.
  returned: always
  type: list
  elements: str
"""

import grp
import hashlib
import os
import pwd
import re
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.q8s.cluster.plugins.module_utils.q8s_libvirt import run_command
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_packages import DPKG_QUERY_FORMAT, missing_packages


def run(module, argv):
    """(rc, stdout) of a command in the C locale; a command that is not there gives rc None
    (run_command would fail the module)."""
    found = os.access(argv[0], os.X_OK) if os.sep in argv[0] else module.get_bin_path(argv[0])
    if not found:
        return None, ""
    rc, out, _err = run_command(module, argv)
    return rc, out


def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def name_of(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def path_differs(item):
    """What differs at one path, or None."""
    path, state = item["path"], item["state"]
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None if state == "absent" else "%s: missing" % path
    if state == "absent":
        return "%s: present" % path
    is_kind = stat.S_ISDIR if state == "directory" else stat.S_ISREG
    if not is_kind(info.st_mode):
        return "%s: not a %s" % (path, state)
    wrong = []
    if item.get("checksum") and state == "file" and sha1_of(path) != item["checksum"].lower():
        wrong.append("content")
    if item.get("mode") and stat.S_IMODE(info.st_mode) != int(item["mode"], 8):
        wrong.append("mode %04o" % stat.S_IMODE(info.st_mode))
    if item.get("owner") and name_of(pwd.getpwuid, info.st_uid) != item["owner"]:
        wrong.append("owner")
    if item.get("group") and name_of(grp.getgrgid, info.st_gid) != item["group"]:
        wrong.append("group")
    return "%s: %s" % (path, ", ".join(wrong)) if wrong else None


def read_lines(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return handle.read().splitlines()


def line_differs(item):
    """lineinfile's rule: the last line that matches regexp is the line wanted."""
    try:
        lines = read_lines(item["path"])
    except OSError:
        return "%s: missing" % item["path"]
    pattern = re.compile(item["regexp"])
    found = [line for line in lines if pattern.search(line)]
    if not found or found[-1] != item["line"]:
        return "%s: no line %r" % (item["path"], item["line"])
    return None


def sysctl_differs(item):
    """ansible.posix.sysctl's rule: the live value, and the file's NAME=VALUE line."""
    name, value = item["name"], str(item["value"]).strip()
    try:
        with open(os.path.join("/proc/sys", name.replace(".", "/")), encoding="utf-8") as handle:
            live = handle.read().strip()
    except OSError:
        live = None
    if live is None or live.split() != value.split():
        return "%s: live value %s" % (name, live)
    try:
        lines = read_lines(item["file"])
    except OSError:
        return "%s: not in %s" % (name, item["file"])
    kept = [line.split("=", 1)[1].strip() for line in lines if "=" in line and line.split("=", 1)[0].strip() == name]
    if kept != [value]:
        return "%s: not %s in %s" % (name, value, item["file"])
    return None


def service_differs(module, name):
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return "%s: no systemctl" % name
    wrong = [word for word in ("enabled", "active") if run(module, [systemctl, "--quiet", "is-" + word, name])[0] != 0]
    return "%s: not %s" % (name, " and not ".join(wrong)) if wrong else None


def network_differs(module, uri, name):
    virsh = module.get_bin_path("virsh")
    rc, out = run(module, [virsh, "--connect", uri, "net-info", name]) if virsh else (None, "")
    if rc != 0:
        return "libvirt network %s: not defined" % name
    info = dict((k.strip(), v.strip()) for k, _sep, v in (line.partition(":") for line in out.splitlines()))
    wrong = [key.lower() for key in ("Active", "Persistent", "Autostart") if info.get(key) != "yes"]
    return "libvirt network %s: not %s" % (name, ", ".join(wrong)) if wrong else None


def command_differs(module, item):
    rc, _out = run(module, item["argv"])
    if rc not in item["rc"]:
        return "%s: exit code %s" % (" ".join(item["argv"]), rc)
    return None


def host_state(module):
    params = module.params
    differs = []
    missing = []
    if params["packages"]:
        dpkg = module.get_bin_path("dpkg-query")
        _rc, out = run(module, [dpkg, "-W", "-f=" + DPKG_QUERY_FORMAT] + params["packages"]) if dpkg else (None, "")
        missing = missing_packages(out, params["packages"])
        differs.extend("package %s: not installed" % name for name in missing)
    checks = [path_differs(item) for item in params["paths"]]
    checks += [line_differs(item) for item in params["lines"]]
    checks += [sysctl_differs(item) for item in params["sysctl"]]
    checks += [service_differs(module, name) for name in params["services"]]
    checks += [network_differs(module, params["libvirt_uri"], name) for name in params["libvirt_networks"]]
    checks += [command_differs(module, item) for item in params["commands"]]
    differs.extend(check for check in checks if check)
    return dict(changed=False, differs=differs, missing_packages=missing)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type="list", elements="str", default=[]),
            paths=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    state=dict(type="str", choices=["file", "directory", "absent"], default="file"),
                    checksum=dict(type="str"),
                    mode=dict(type="str"),
                    owner=dict(type="str"),
                    group=dict(type="str"),
                ),
            ),
            lines=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(path=dict(type="path", required=True), regexp=dict(type="str", required=True), line=dict(type="str", required=True)),
            ),
            sysctl=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(name=dict(type="str", required=True), value=dict(type="str", required=True), file=dict(type="path", required=True)),
            ),
            services=dict(type="list", elements="str", default=[]),
            libvirt_networks=dict(type="list", elements="str", default=[]),
            libvirt_uri=dict(type="str", default="qemu:///system"),
            commands=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(argv=dict(type="list", elements="str", required=True), rc=dict(type="list", elements="int", default=[0])),
            ),
        ),
        supports_check_mode=True,
    )
    for item in module.params["paths"]:
        if item["mode"] is not None and not re.match(r"^0?[0-7]{3,4}$", item["mode"]):
            module.fail_json(msg="paths: mode of %s must be octal digits such as 0644, got %r" % (item["path"], item["mode"]))
    module.exit_json(**host_state(module))


if __name__ == "__main__":
    main()
