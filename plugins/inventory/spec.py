# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: spec
short_description: Hosts and groups of a q8s cluster, from its cluster spec
version_added: 0.1.0
description:
  - Reads the q8s cluster spec, the same file the playbooks get with C(-e @cluster.yml)
    whatever it is called, validates it, and builds the inventory of the cluster it
    describes; control-plane hosts, QEMU hosts and the emulated guests (reached
    through their QEMU host's port 2222).
  - The spec is taken from the C(spec_file) option if set, otherwise from the C(-e @file)
    arguments of the command line (the one file that has C(cluster_definition) or C(vm_types)).
  - Upstream Q8S files with C(!ClusterData), C(!ClusterDefinition), C(!VmTypes) and
    C(!VmType) tags are accepted unchanged.
  - A spec with problems fails the inventory with one message listing every problem.
  - Addresses come from the state file C(<state_dir>/hosts.json) that
    C(playbooks/provision.yml) writes; before provisioning the hosts have no address.
  - Every host gets the hostvar C(q8s_node); the group C(all) gets C(q8s_cluster), the
    normalised spec.
  - With C(provider=local), control planes and QEMU hosts are podman containers named like
    the host (C(ansible_connection=q8s.cluster.podman), with a kept channel into each container,
    else one C(podman exec) per module);
    guests are still reached over SSH at their host container's address.
  - Hosts and guests reached over SSH keep their host keys in the cluster's own
    C(<state_dir>/known_hosts), accepted on first contact (C(StrictHostKeyChecking=accept-new))
    and never changed silently afterwards; the playbooks forget a server's or guest's key when
    they create it anew, and teardown removes the file.
  - With the spec's C(bastion) set, every host (and guest) is reached through that jump
    host (C(ansible_ssh_common_args) with an SSH C(ProxyCommand)).
  - The inventory source must be a file whose name ends in C(q8s.yml) or C(q8s.yaml).
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this as an instance of the q8s.cluster.spec plugin.
    required: true
    choices: ['q8s.cluster.spec']
    type: str
  spec_file:
    description:
      - Path of the cluster spec. When unset, the spec passed with C(-e @file) is used.
    type: path
    env:
      - name: Q8S_SPEC
  state_dir:
    description:
      - Overrides the spec's C(state_dir), where C(hosts.json) and the cluster key live.
    type: path
    env:
      - name: Q8S_STATE_DIR
"""

EXAMPLES = r"""
# inventories/q8s.yml in a checkout holds only `plugin: q8s.cluster.spec`;
# the spec comes from the command line: ansible-inventory --graph -e @cluster.yml

# lab.q8s.yml: a fixed spec and extra groups by CPU model
plugin: q8s.cluster.spec
spec_file: ~/clusters/paper-50.yml
keyed_groups:
  - key: q8s_node.vm_type_spec.cpu_model | default(omit)
    prefix: cpu
"""

import hashlib
import json
import os
import shlex

from ansible import context
from ansible.errors import AnsibleParserError
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_addressing, q8s_defaults, q8s_spec, q8s_specfile, q8s_topology

display = Display()


def _construct_upstream_object(loader, node):
    return loader.construct_yaml_map(node)


def register_upstream_tags():
    """Teach Ansible's YAML loader the tags of upstream Q8S files (each is a plain mapping).

    The plugin is imported before Ansible loads the extra vars of a playbook run, so
    after this ``-e @cluster.yaml`` works for upstream files in playbooks too.
    """
    loader_class = type(AnsibleLoader(""))
    for tag in q8s_spec.UPSTREAM_TAGS:
        if tag not in loader_class.yaml_constructors:
            loader_class.add_constructor(tag, _construct_upstream_object)


def _bounded_flatten(original):
    """YAML merge keys (``<<``) expanded by Ansible's own loader, within q8s's bound.

    Ansible loads every ``-e @file`` before any inventory plugin runs; ten levels of
    ``<<: [*m, *m, ...]`` would otherwise build 10^10 keys there.
    """

    def flatten_mapping(self, node):
        original(self, node)
        if len(node.value) > q8s_specfile.MAX_VALUES:
            mark = node.start_mark
            raise AnsibleParserError(
                "q8s: line %d: YAML merge keys (<<) expand this mapping past %d keys. Fix: write the values out, or merge fewer times"
                % (mark.line + 1, q8s_specfile.MAX_VALUES)
            )

    flatten_mapping.q8s_bounded = True
    return flatten_mapping


def bound_merge_keys():
    loader_class = type(AnsibleLoader(""))
    if not getattr(loader_class.flatten_mapping, "q8s_bounded", False):
        loader_class.flatten_mapping = _bounded_flatten(loader_class.flatten_mapping)


register_upstream_tags()
bound_merge_keys()


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "q8s.cluster.spec"

    def verify_file(self, path):
        if not super(InventoryModule, self).verify_file(path):
            return False
        return path.endswith(("q8s.yml", "q8s.yaml"))

    def _read(self, path):
        """The plain data of a spec file, read within q8s's bounds (q8s_specfile)."""
        path = os.path.expanduser(to_native(path))
        with open(path, "rb") as handle:
            head = handle.read(len(b"$ANSIBLE_VAULT"))
        if head == b"$ANSIBLE_VAULT":
            # An encrypted file: Ansible decrypts it; the bounds apply to what it holds.
            return q8s_specfile.plain(self.loader.load_from_file(path))
        return q8s_specfile.load_file(path)

    @staticmethod
    def _may_be_spec(path):
        """Whether an ``-e @file`` could hold the spec (names one of its top-level keys)."""
        try:
            with open(os.path.expanduser(to_native(path)), "rb") as handle:
                data = handle.read()
        except OSError:
            return True  # let the reader say what is wrong with it
        return data.startswith(b"$ANSIBLE_VAULT") or q8s_specfile.looks_like_spec(data.decode("utf-8", "replace"))

    def _load_spec(self):
        """Return (raw spec mapping, where it came from)."""
        try:
            return self._find_spec()
        except q8s_specfile.SpecFileError as exc:
            raise AnsibleParserError(to_native(q8s_spec.SpecError(exc.errors)))

    def _find_spec(self):
        spec_file = self.get_option("spec_file")
        if spec_file:
            return self._read(spec_file), spec_file
        found = []
        for extra in context.CLIARGS.get("extra_vars", ()) or ():
            extra = to_text(extra)
            if extra.startswith("@") and self._may_be_spec(extra[1:]):
                data = self._read(extra[1:])
                if q8s_spec.is_spec(data):
                    found.append((data, extra[1:]))
        if len(found) > 1:
            raise AnsibleParserError("q8s: more than one cluster spec given with -e: %s; pass exactly one" % ", ".join(origin for dummy, origin in found))
        if found:
            return found[0]
        if q8s_spec.is_spec(self._vars):
            return q8s_specfile.plain(self._vars), "extra vars"
        raise AnsibleParserError(
            "q8s: no cluster spec given. Pass it as the playbooks get it: -e @cluster.yml "
            "(or set spec_file in %s, or the Q8S_SPEC environment variable)" % self._source
        )

    def _load_addresses(self, state_dir, cluster):
        path = os.path.join(os.path.expanduser(state_dir), "hosts.json")
        if not os.path.exists(path):
            return {}, None
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise AnsibleParserError("q8s: cannot read the state file %s: %s; rerun playbooks/provision.yml to rewrite it" % (path, to_native(exc)))
        owner = data.get("cluster") if isinstance(data, dict) and "hosts" in data else None
        if owner is not None and owner != cluster:
            # Two specs with one state_dir would share (and their teardowns delete) one key.
            raise AnsibleParserError(
                "q8s: state_dir: %s holds the state of cluster %r (%s), not of cluster %r; q8s keeps one "
                "cluster's key, addresses and report per directory, and would use or delete the other's. Fix: "
                "set state_dir to a directory of this cluster alone, such as %s"
                % (state_dir, to_native(owner), path, cluster, q8s_defaults.default_state_dir(cluster))
            )
        hosts = data.get("hosts", data) if isinstance(data, dict) else None
        if not isinstance(hosts, dict):
            raise AnsibleParserError("q8s: the state file %s is not a mapping of server names to addresses" % path)
        return dict((str(k), str(v) if v else None) for k, v in hosts.items()), path

    def _validate(self, raw):
        open_to_world = boolean(self._vars.get("q8s_provision_open_to_world", False), strict=False)
        try:
            spec, warnings = q8s_spec.normalise(raw, open_to_world=open_to_world)
        except q8s_spec.SpecError as exc:
            raise AnsibleParserError(to_native(exc))
        if self.get_option("state_dir"):
            spec["state_dir"] = self.get_option("state_dir")
        return spec, warnings

    def _nodes(self, spec):
        addresses, state_file = self._load_addresses(spec["state_dir"], spec["cluster_name"])
        try:
            return q8s_topology.topology(spec, addresses)
        except ValueError as exc:
            raise AnsibleParserError("q8s: the addresses in %s do not fit the address plan: %s" % (state_file, to_native(exc)))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path)
        self._source = path
        self._read_config_data(path)
        raw, origin = self._load_spec()
        # Validation first: the digest is taken of the normalised spec, whose size the
        # validation bounds, never of the raw file.
        spec, warnings = self._validate(raw)
        cache_key = self.get_cache_key(path)
        digest = hashlib.sha256(json.dumps([origin, spec, self._state_stamp(spec["state_dir"])], sort_keys=True, default=str).encode()).hexdigest()
        use_cache = self.get_option("cache") and cache
        nodes = None
        if use_cache:
            cached = self._cache.get(cache_key) if cache_key in self._cache else None
            if isinstance(cached, dict) and cached.get("digest") == digest:
                nodes = cached["nodes"]
        if nodes is None:
            nodes = self._nodes(spec)
            if self.get_option("cache"):
                self._cache[cache_key] = {"digest": digest, "nodes": nodes}
        for warning in warnings:
            display.warning("q8s spec %s: %s" % (origin, warning))
        self._populate(spec, nodes)

    @staticmethod
    def _state_stamp(state_dir):
        path = os.path.join(os.path.expanduser(state_dir), "hosts.json")
        try:
            return os.stat(path).st_mtime_ns
        except OSError:
            return None

    def _populate(self, spec, nodes):
        self.inventory.set_variable("all", "q8s_cluster", spec)
        addresses = dict((name, node.get("host_address")) for name, dummy, node in nodes if node["role"] != "guest")
        for name, groups, node in nodes:
            self._add_host(name, groups, node, spec, addresses)

    @staticmethod
    def _ssh_args(spec):
        """SSH options of every host and guest reached over SSH: the cluster's own
        known_hosts, a new host's key accepted on first contact (a changed key is refused),
        and through the spec's bastion when it has one."""
        known_hosts = shlex.quote(os.path.join(spec["state_dir"], "known_hosts"))
        args = "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new" % known_hosts
        bastion = spec.get("bastion")
        if not bastion:
            return args
        key = os.path.expanduser(bastion.get("key_file") or os.path.join(spec["state_dir"], "id_ed25519"))
        user = bastion.get("user") or spec["host_ssh_user"]
        jump = "ssh -W %%h:%%p -q -p %d -i %s %s %s@%s" % (bastion["port"], shlex.quote(key), args, user, bastion["host"])
        return "%s -o ProxyCommand=%s" % (args, shlex.quote(jump))

    def _add_host(self, name, groups, node, spec, addresses):
        for group in groups:
            self.inventory.add_group(group)
        self.inventory.add_host(name, group=groups[0])
        for group in groups[1:]:
            self.inventory.add_child(group, name)
        hostvars = {
            "q8s_node": node,
            "ansible_ssh_private_key_file": os.path.join(spec["state_dir"], "id_ed25519"),
        }
        if spec["provider"] == "local" and node["role"] != "guest":
            # A podman container of this machine, named like the host; reached through the
            # kept channel of plugins/connection/podman.py (or podman exec). Its guest is
            # reached over SSH at the container's address.
            # Its root's temporary directory by absolute path: a relative one (~/.ansible/tmp)
            # costs each task that moves a file one more podman exec to expand the ~.
            hostvars = {"q8s_node": node, "ansible_connection": "q8s.cluster.podman", "ansible_remote_tmp": "/root/.ansible/tmp"}
            if node["role"] == "qemu_host":
                # libvirt inside a container: no mount namespaces, no cgroup controllers.
                hostvars["qemu_host_qemu_conf"] = {"namespaces": "[]", "cgroup_controllers": "[]"}
            address = None
        elif node["role"] == "guest":
            hostvars["ansible_user"] = spec["guest_user"]
            hostvars["ansible_port"] = q8s_addressing.GUEST_SSH_PORT
            address = addresses.get(node["qemu_host"])
        else:
            hostvars["ansible_user"] = spec["host_ssh_user"]
            address = node.get("host_address")
        if address:
            hostvars["ansible_host"] = address
        if "ansible_connection" not in hostvars:
            hostvars["ansible_ssh_common_args"] = self._ssh_args(spec)
        for key, value in hostvars.items():
            self.inventory.set_variable(name, key, value)
        strict = self.get_option("strict")
        if self.get_option("compose"):
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
        if self.get_option("groups"):
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
        if self.get_option("keyed_groups"):
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)
