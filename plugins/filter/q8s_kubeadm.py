# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""kubeadm join decisions as Jinja filters (tested in tests/unit/test_kubeadm_filters.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

_TOKEN = re.compile(r"[a-z0-9]{6}\.[a-z0-9]{16}")
_KEY = re.compile(r"\b[a-f0-9]{64}\b")


def kubeadm_join_configuration(join_command, api_version, node_name, cri_socket, timeout_seconds, certificate_key=None, advertise_address=None, bind_port=6443):
    """The JoinConfiguration for one join: discovery from the printed join
    command, kubeadm's own timeouts raised to timeout_seconds (v1beta4:
    timeouts.*; v1beta3 has only discovery.timeout), controlPlane when a
    certificate key is given."""
    words = str(join_command).split()
    try:
        endpoint = words[words.index("join") + 1]
        token = words[words.index("--token") + 1]
        ca_hash = words[words.index("--discovery-token-ca-cert-hash") + 1]
    except (ValueError, IndexError):
        raise AnsibleFilterError("not a kubeadm join command: %s" % kubeadm_redact(join_command))
    timeout = "%ds" % int(timeout_seconds)
    config = {
        "apiVersion": api_version,
        "kind": "JoinConfiguration",
        "discovery": {"bootstrapToken": {"apiServerEndpoint": endpoint, "token": token, "caCertHashes": [ca_hash]}},
        "nodeRegistration": {"name": node_name, "criSocket": cri_socket},
    }
    if api_version.endswith("/v1beta3"):
        config["discovery"]["timeout"] = timeout
    else:
        names = ["discovery", "kubeletHealthCheck", "tlsBootstrap"]
        if certificate_key:
            names.append("controlPlaneComponentHealthCheck")
        config["timeouts"] = dict((name, timeout) for name in names)
    if certificate_key:
        config["controlPlane"] = {
            "certificateKey": str(certificate_key).strip(),
            "localAPIEndpoint": {"advertiseAddress": advertise_address, "bindPort": int(bind_port)},
        }
    return config


def kubeadm_redact(text):
    """kubeadm's output with bootstrap tokens and certificate keys replaced."""
    return _KEY.sub("<key>", _TOKEN.sub("<token>", str(text or "")))


class FilterModule(object):
    """q8s kubeadm filters."""

    def filters(self):
        return {
            "kubeadm_join_configuration": kubeadm_join_configuration,
            "kubeadm_redact": kubeadm_redact,
        }
