# -*- coding: utf-8 -*-
# Copyright: q8s developers
# MIT License (see LICENSE)
"""Kubernetes-layer decisions as Jinja filters (pure functions, tested in tests/unit)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_defaults

# The pause image kubeadm expects per Kubernetes minor: kubeadm's
# cmd/kubeadm/app/constants/constants.go, PauseVersion, in each release branch.
# The only place q8s keeps it; a minor past the table takes its last entry.
PAUSE_VERSIONS = (
    ((1, 27), "3.9"),
    ((1, 28), "3.9"),
    ((1, 29), "3.9"),
    ((1, 30), "3.9"),
    ((1, 31), "3.10"),
    ((1, 32), "3.10"),
    ((1, 33), "3.10"),
    ((1, 34), "3.10.1"),
    ((1, 35), "3.10.1"),
)

# The upstream server of a registry where it differs from https://<name>.
REGISTRY_SERVERS = {"docker.io": "https://registry-1.docker.io"}

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


def _minor(version):
    match = _VERSION.match(str(version).strip())
    if not match:
        raise AnsibleFilterError("kubernetes version %r must look like 1.31 or 1.31.4" % (version,))
    return int(match.group(1)), int(match.group(2))


def pause_version(version):
    """The pause image tag kubeadm of this Kubernetes version expects."""
    minor = _minor(version)
    chosen = PAUSE_VERSIONS[0][1]
    for table_minor, tag in PAUSE_VERSIONS:
        if table_minor <= minor:
            chosen = tag
    return chosen


def pause_image(version, repository="registry.k8s.io"):
    """<repository>/pause:<tag>, as kubeadm would pull it for this version."""
    repository = str(repository).rstrip("/")
    if not repository:
        raise AnsibleFilterError("the image repository must not be empty")
    return "%s/pause:%s" % (repository, pause_version(version))


def image_registry(image_or_repository):
    """The registry host of an image or repository (docker.io when none is named)."""
    first = str(image_or_repository).split("/", 1)[0]
    if "/" in str(image_or_repository) and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _toml_string(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def containerd_hosts_toml(registry, mirrors):
    """containerd's certs.d/<registry>/hosts.toml: the mirrors in order, then upstream.

    ``registry`` is a host name (``registry.k8s.io``) or ``_default`` (every
    registry without its own directory); ``mirrors`` is a list of URLs, or of
    dicts with ``url``, optional ``capabilities`` and ``skip_verify``.
    """
    registry = str(registry)
    if not registry or "/" in registry:
        raise AnsibleFilterError("registry %r must be a host name such as registry.k8s.io, or _default" % registry)
    if isinstance(mirrors, (str, bytes)) or not isinstance(mirrors, (list, tuple)):
        raise AnsibleFilterError("the mirrors of %s must be a list of URLs" % registry)
    lines = []
    if registry != "_default":
        lines.append("server = %s" % _toml_string(REGISTRY_SERVERS.get(registry, "https://" + registry)))
    for mirror in mirrors:
        entry = dict(mirror) if isinstance(mirror, dict) else {"url": mirror}
        url = str(entry.get("url", ""))
        if not re.match(r"^https?://[^/\s]+", url):
            raise AnsibleFilterError("mirror %r of %s must be an http:// or https:// URL" % (url, registry))
        capabilities = entry.get("capabilities", ["pull", "resolve"])
        if lines:
            lines.append("")
        lines.append("[host.%s]" % _toml_string(url))
        lines.append("capabilities = [%s]" % ", ".join(_toml_string(c) for c in capabilities))
        if entry.get("skip_verify"):
            lines.append("skip_verify = true")
    return "\n".join(lines) + "\n"


def flannel_iface_args(ifaces, regexes=None, guest_iface="", with_guests=False):
    """flanneld's --iface/--iface-regex arguments for every node of the cluster.

    One DaemonSet serves every node, so each node takes the first match of a list:
    the names or addresses in ``ifaces``, then the guests' interface (emulated
    guests boot with net.ifnames=0: eth0) when the cluster has guests, then the
    regexes. Nothing given: [] (Flannel takes the default-route interface).
    """
    if isinstance(ifaces, str):
        ifaces = [i.strip() for i in ifaces.split(",") if i.strip()]
    if isinstance(regexes, str):
        regexes = [regexes] if regexes else []
    names = list(ifaces or [])
    regexes = list(regexes or [])
    if not names and not regexes:
        return []
    if names and with_guests and guest_iface and guest_iface not in names:
        names.append(guest_iface)
    return ["--iface=%s" % n for n in names] + ["--iface-regex=%s" % r for r in regexes]


# Flannel's VXLAN device: the interface MTU minus the encapsulation
# (flannel pkg/backend/vxlan: 50 bytes for IPv4).
VXLAN_OVERHEAD = 50


def flannel_mtu(link_mtu, backend_type="vxlan"):
    """The MTU Flannel gives flannel.1 (and pods) on a link of this MTU."""
    link_mtu = int(link_mtu)
    if str(backend_type).lower() == "vxlan":
        return link_mtu - VXLAN_OVERHEAD
    return link_mtu


def api_lb_enabled(setting, control_planes):
    """Whether every node gets a local API load balancer.

    ``setting`` is true/false, or "auto": on when the cluster has more than one
    control plane (then losing the initial one must not lose the API).
    """
    text = str(setting).strip().lower()
    if text == "auto":
        return len(list(control_planes or [])) > 1
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise AnsibleFilterError("api_lb setting %r must be auto, true or false" % (setting,))


def _minor_text(version):
    major, minor = _minor(version)
    return "v%d.%d" % (major, minor)


def required_sources(settings):
    """Every remote source a run needs, where it is used from, and the fix if it is unreachable.

    ``settings`` (a dict): kubernetes (bool: the Kubernetes stages run),
    skip_binaries (nothing from pkgs.k8s.io, no image pulls), kubernetes_version,
    kubernetes_repo_key_url ({minor} as in k8s_common), containerd_source,
    docker_repo_key_url, image_repositories (every repository images come from),
    registry_mirrors (k8s_common_registry_mirrors),
    guest_images ({arch: {source, checksum}}), architectures (those in use;
    all when absent).
    Returns a list of dicts: name, url, where (controller or nodes), fix.
    """
    out = []
    wanted = settings.get("architectures")
    for arch in sorted(settings.get("guest_images") or {}):
        if wanted is not None and arch not in wanted:
            continue
        source = str((settings["guest_images"][arch] or {}).get("source", ""))
        if re.match(r"^https?://", source):
            out.append(
                {
                    "name": "guest image (%s)" % arch,
                    "url": source,
                    "where": "controller",
                    "fix": "set guest_images.%s.source in the cluster spec to a reachable URL or a local file" % arch,
                }
            )
    if not settings.get("kubernetes", True):
        return out
    skip_tags = "or run with --skip-tags kubernetes to stop before the Kubernetes steps"
    if not settings.get("skip_binaries", False):
        key_url = str(settings.get("kubernetes_repo_key_url", "")).replace(
            "{minor}", _minor_text(settings.get("kubernetes_version", q8s_defaults.KUBERNETES_VERSION))
        )
        out.append(
            {
                "name": "Kubernetes package repository",
                "url": key_url,
                "where": "nodes",
                "fix": "point k8s_common_kubernetes_repo_url and k8s_common_kubernetes_repo_key_url at a mirror, " + skip_tags,
            }
        )
    if settings.get("containerd_source") == "docker":
        out.append(
            {
                "name": "Docker package repository (containerd.io)",
                "url": str(settings.get("docker_repo_key_url", "")),
                "where": "nodes",
                "fix": "set k8s_common_containerd_source=distro or point k8s_common_docker_repo_url and "
                "k8s_common_docker_repo_key_url at a mirror, " + skip_tags,
            }
        )
    if settings.get("skip_binaries", False):
        return out  # without kubeadm and kubelet, nothing pulls an image
    mirrors = settings.get("registry_mirrors") or {}
    registries = []
    for repository in settings.get("image_repositories") or ["registry.k8s.io", "ghcr.io/flannel-io"]:
        registry = image_registry(str(repository).rstrip("/") + "/x")
        if registry not in registries:
            registries.append(registry)
    for registry in registries:
        chosen = mirrors.get(registry) or mirrors.get("_default")
        if chosen:
            first = chosen[0]
            url = str(first.get("url") if isinstance(first, dict) else first).rstrip("/") + "/v2/"
            name = "image registry mirror for %s" % registry
        else:
            url = REGISTRY_SERVERS.get(registry, "https://" + registry) + "/v2/"
            name = "image registry %s" % registry
        out.append(
            {
                "name": name,
                "url": url,
                "where": "nodes",
                "fix": "set q8s_registry_mirrors (k8s_common_registry_mirrors; e.g. "
                "{_default: [https://mirror.example:5000]} for every registry) or q8s_image_repository, " + skip_tags,
            }
        )
    return out


# Label values as the API server accepts them: at most 63 characters of
# [A-Za-z0-9._-], beginning and ending with an alphanumeric character.
_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9._-]")
_LABEL_VALUE_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")
# Label keys a kubelet may not set on its own node (NodeRestriction), except
# those under kubelet.kubernetes.io and node.kubernetes.io.
_KUBELET_FORBIDDEN = re.compile(r"^([^/]*\.)?(kubernetes\.io|k8s\.io)/")
_KUBELET_ALLOWED = re.compile(r"^(kubelet|node)\.kubernetes\.io/")


def label_value(value):
    """``value`` as a valid label value: invalid characters become ``_``, no
    non-alphanumeric character at either end, at most 63 characters."""
    text = _LABEL_VALUE_EDGES.sub("", _LABEL_VALUE_BAD.sub("_", str(value)))
    return _LABEL_VALUE_EDGES.sub("", text[:63])


def worker_labels(prefix, vm_type_spec=None, vm_type=None, extended_resources=None, *overrides):
    """The labels of an emulated worker, later sources winning: q8s's own
    (``<prefix>/emulated``, ``architecture``, ``cpu-model``, ``vm-type``), one
    ``<prefix>/extended-resource-<domain>-<name>`` per extended resource, then
    each mapping of ``overrides`` in order (the spec's labels, extra labels).
    Every value is made a valid label value (``label_value``)."""
    spec = vm_type_spec or {}
    labels = {
        prefix + "/emulated": "true",
        prefix + "/architecture": spec.get("architecture", "unknown"),
        prefix + "/cpu-model": spec.get("cpu_model", "unknown"),
        prefix + "/vm-type": "unknown" if vm_type is None else vm_type,
    }
    for key, value in (extended_resources or {}).items():
        labels[prefix + "/extended-resource-" + str(key).replace("/", "-")] = value
    for extra in overrides:
        labels.update(extra or {})
    return dict((key, label_value(value)) for key, value in labels.items())


def kubelet_labels(labels):
    """``key=value`` strings, sorted by key, of the labels a kubelet may set on
    its own node (``--node-labels``); the control plane sets the others."""
    return ["%s=%s" % (key, labels[key]) for key in sorted(labels) if not _KUBELET_FORBIDDEN.match(key) or _KUBELET_ALLOWED.match(key)]


def taint_strings(taints, gate_taint=None):
    """Taints as ``key[=value]:Effect`` strings (NoSchedule when no effect is
    given; a string passes as it is), then ``<gate_taint>=true:NoExecute``
    when a gate taint is given."""
    out = []
    for taint in taints or []:
        if isinstance(taint, dict):
            value = taint.get("value")
            value = "" if value is None else str(value)
            out.append("%s%s:%s" % (taint["key"], ("=" + value) if value else "", taint.get("effect", "NoSchedule")))
        else:
            out.append(str(taint))
    if gate_taint:
        out.append("%s=true:NoExecute" % gate_taint)
    return out


def not_ready_nodes(lines, expected, gate_taint, endpoint):
    """One line per node of ``expected`` that is not Ready, naming the layer
    that failed. ``lines`` are ``kubectl get nodes`` rows of tab-separated
    name, Ready status, taint keys (space-separated) and Ready message."""
    rows = {}
    for line in lines or []:
        fields = (str(line) + "\t\t\t").split("\t")
        rows[fields[0]] = {"ready": fields[1], "taints": fields[2].split(), "message": fields[3]}
    out = []
    for node in expected or []:
        row = rows.get(node)
        if row is None:
            out.append(
                "%s: never registered (layer: join: kubeadm join or kubelet on the node, or its path to the API server "
                "%s through NAT on its QEMU host)" % (node, endpoint)
            )
        elif row["ready"] == "True":
            continue
        elif gate_taint in row["taints"]:
            out.append(
                "%s: registered but still gated (layer: q8s network step: Flannel public-ip annotations not set, taint %s not removed)" % (node, gate_taint)
            )
        elif re.search("network|cni", row["message"], re.IGNORECASE):
            out.append("%s: NotReady (layer: CNI/Flannel: %s)" % (node, row["message"]))
        else:
            out.append("%s: NotReady (layer: kubelet or container runtime: %s)" % (node, row["message"] or "no Ready condition"))
    return out


class FilterModule(object):
    """q8s Kubernetes filters."""

    def filters(self):
        return {
            "pause_image": pause_image,
            "pause_version": pause_version,
            "image_registry": image_registry,
            "containerd_hosts_toml": containerd_hosts_toml,
            "flannel_iface_args": flannel_iface_args,
            "flannel_mtu": flannel_mtu,
            "api_lb_enabled": api_lb_enabled,
            "required_sources": required_sources,
            "label_value": label_value,
            "worker_labels": worker_labels,
            "kubelet_labels": kubelet_labels,
            "taint_strings": taint_strings,
            "not_ready_nodes": not_ready_nodes,
        }
