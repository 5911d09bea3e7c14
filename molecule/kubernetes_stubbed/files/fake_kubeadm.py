#!/usr/bin/python3
"""A stand-in for kubeadm, for tests only.

Models where real kubeadm writes what and where it fails, so that the roles'
"already done" decisions and error paths can be tested (docs/kubernetes.md):

* init writes admin.conf and kubelet.conf in its kubeconfig phase, long before
  the cluster's objects (kubeadm-config, the admin group binding, bootstrap
  tokens, cluster-info) exist; a one-shot fault file makes it fail there;
* join writes kubelet.conf during kubelet-start (TLS bootstrap) and, for a
  control plane, adds the etcd member only after that; a one-shot fault makes
  a control-plane join fail in between, another (join-tls-bootstrap-<node>)
  any join during the TLS bootstrap, after the CA, the bootstrap kubeconfig and
  the kubelet; a second join on a node with leftovers fails preflight as
  kubeadm does;
* tokens and certificate keys expire (simulated clock, advanced by the slow
  joins of emulated nodes); join timeouts come from the JoinConfiguration or
  kubeadm's defaults; kubelet refuses disallowed --node-labels and taint
  effects;
* config validate and join --config reject unknown fields (kubeadm_fields.json).

Cluster state lives in <root>/var/lib/fake-k8s (shared by every node), node
state under <root>/etc and <root>/var/lib. FAKE_K8S_ROOT moves <root> (tests).
Secrets are never written to a node's files; every minted secret is listed in
<state>/secrets so that tests can look for leaks.
"""

import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import sys
import time

import yaml

ROOT = os.environ.get("FAKE_K8S_ROOT", "/")


def path(*parts):
    return os.path.join(ROOT, *[p.lstrip("/") for p in parts])


STATE = path("/var/lib/fake-k8s")
DATA_CANDIDATES = [
    os.environ.get("FAKE_K8S_DATA", ""),
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "kubeadm_fields.json"),
    "/usr/share/fake-k8s/kubeadm_fields.json",
]
CONFIG_FLAGS_ALLOWED = {"--config", "--ignore-preflight-errors", "--skip-phases", "--dry-run", "-v", "--v"}


class Fail(Exception):
    """kubeadm's error: message to stderr, exit code 1."""


def data():
    for candidate in DATA_CANDIDATES:
        if candidate and os.path.exists(candidate):
            with open(candidate) as f:
                return json.load(f)
    raise Fail("fake kubeadm: kubeadm_fields.json not found")


def hostname():
    return os.environ.get("FAKE_K8S_HOSTNAME") or socket.gethostname()


def load_cluster():
    p = os.path.join(STATE, "cluster.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return fresh_cluster(0)


def fresh_cluster(clock):
    return {
        "apiserver": False,
        "admin_binding": False,
        "configmaps": {},
        "etcd_members": [],
        "tokens": {},
        "certificate_key": None,
        "clock": clock,
        "init_node": None,
    }


def save_cluster(cluster):
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "cluster.json"), "w") as f:
        json.dump(cluster, f, indent=1)


def now(cluster):
    return time.time() + cluster.get("clock", 0)


def note_secret(value):
    with open(os.path.join(STATE, "secrets"), "a") as f:
        f.write(value + "\n")


def take_fault(name):
    p = os.path.join(STATE, "faults", name)
    if os.path.exists(p):
        os.remove(p)
        return True
    return False


def read_number(name, default=0):
    p = os.path.join(STATE, name)
    if os.path.exists(p):
        with open(p) as f:
            return int(f.read().strip() or default)
    return default


def duration(text):
    """Go duration ("15m", "1h30m0s", "0") in seconds."""
    text = str(text).strip()
    if text in ("0", ""):
        return 0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise Fail('invalid duration "%s"' % text)
    return int(sum(float(n) * units[u] for n, u in parts))


def write(p, content, mode=0o600):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(content)
    os.chmod(p, mode)


def arg(args, flag, default=None):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return default


def load_docs(config):
    with open(config) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def check_fields(doc, fields):
    """Unknown fields of a kubeadm document, as paths; they are removed from doc
    (kubeadm's decoder drops them)."""
    api, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    if not api.startswith("kubeadm.k8s.io/"):
        return []
    key = "%s %s" % (api, kind)
    if key not in fields:
        raise Fail('no kind "%s" is registered for version "%s"' % (kind, api))
    unknown = []

    def walk(obj, allowed, where):
        for name in list(obj):
            value = obj[name]
            if name not in allowed:
                unknown.append(where + name)
                del obj[name]
                continue
            nested = fields.get("%s %s%s" % (api, where, name)) or fields.get("%s %s" % (api, name))
            if isinstance(value, dict) and nested:
                walk(value, nested, where + name + ".")

    walk(doc, fields[key], "")
    return unknown


def validate(docs, fields, expect, strict=False):
    """kubeadm's strict decoding: `config validate` fails on an unknown field
    (strictErrors=true); init and join --config only log a warning and go on
    without the field (strictErrors=false in kubeadm's documentMapTo*Configuration)."""
    kinds = [d.get("kind") for d in docs]
    if expect == "init" and kinds[:2] != ["InitConfiguration", "ClusterConfiguration"]:
        raise Fail("unexpected documents %r" % kinds)
    if expect == "join" and kinds[:1] != ["JoinConfiguration"]:
        raise Fail("unexpected documents %r" % kinds)
    for doc in docs:
        for field in check_fields(doc, fields):
            message = 'strict decoding error: unknown field "%s"' % field
            if strict:
                raise Fail(message)
            sys.stderr.write("W0000 fake kubeadm] %s %s: %s\n" % (doc.get("apiVersion"), doc.get("kind"), message))


def kubelet_args():
    """--node-labels and --register-with-taints from /etc/default/kubelet."""
    out = {}
    p = path("/etc/default/kubelet")
    if os.path.exists(p):
        with open(p) as f:
            for word in f.read().replace('"', " ").split():
                for flag in ("--node-labels", "--register-with-taints", "--node-ip"):
                    if word.startswith(flag + "="):
                        out[flag] = word.split("=", 1)[1]
    return out


NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def qualified_name_errors(key):
    """apimachinery's validation.IsQualifiedName: [prefix/]name, name 1-63
    alphanumerics with '-', '_', '.', prefix a DNS subdomain of at most 253."""
    prefix, _sep, name = key.rpartition("/")
    errors = []
    if key.count("/") > 1 or (_sep and not prefix):
        return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', with an optional DNS subdomain prefix and '/'"]
    if not name or len(name) > 63 or not NAME_PART.match(name):
        errors.append("name part must be 1-63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character")
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.match(prefix)):
        errors.append("prefix part must be a lowercase RFC 1123 subdomain")
    return errors


def label_value_errors(value):
    """apimachinery's validation.IsValidLabelValue: empty, or at most 63
    alphanumerics with '-', '_', '.', starting and ending with an alphanumeric."""
    if value == "" or (len(value) <= 63 and NAME_PART.match(value)):
        return []
    return ["a valid label must be an empty string or at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character"]


def parse_taints(text, effects):
    """kubelet's --register-with-taints (k8s.io/kubernetes pkg/util/taints
    ParseTaints): <key>[=<value>]:<effect>, key a qualified name, value a
    label value, effect one of the three."""
    taints = []
    for spec in [s for s in text.split(",") if s]:
        if spec.count(":") != 1 or spec.split(":")[0].count("=") > 1:
            raise Fail("kubelet: invalid taint spec: %s" % spec)
        kv, effect = spec.split(":")
        if effect not in effects:
            raise Fail("kubelet: invalid taint effect: %s, unsupported taint effect" % effect)
        k, _sep, v = kv.partition("=")
        errors = qualified_name_errors(k) + label_value_errors(v)
        if errors:
            raise Fail("kubelet: invalid taint spec: %s, %s" % (spec, "; ".join(errors)))
        taints.append(dict({"key": k, "effect": effect}, **({"value": v} if v else {})))
    return taints


def parse_labels(text, rules):
    """kubelet's ValidateKubeletFlags: --node-labels under kubernetes.io or
    k8s.io only from the allowed set, and every key and value well-formed."""
    labels = {}
    bad = []
    invalid = []
    for kv in [s for s in text.split(",") if s]:
        k, _sep, v = kv.partition("=")
        labels[k] = v
        ns = k.split("/", 1)[0] if "/" in k else ""
        if (
            (ns == "kubernetes.io" or ns.endswith(".kubernetes.io") or ns == "k8s.io" or ns.endswith(".k8s.io"))
            and k not in rules["allowed_keys"]
            and not any(ns == a or ns.endswith("." + a) for a in rules["allowed_namespaces"])
        ):
            bad.append(k)
        errors = qualified_name_errors(k) + label_value_errors(v)
        if errors:
            invalid.append("'%s' - %s" % (k, ", ".join(errors)))
    if bad:
        raise Fail(
            "kubelet: unknown 'kubernetes.io' or 'k8s.io' labels specified with --node-labels: %s\n"
            "--node-labels in the 'kubernetes.io' namespace must begin with an allowed prefix (%s) "
            "or be in the specifically allowed set (%s)" % (bad, ", ".join(rules["allowed_namespaces"]), ", ".join(rules["allowed_keys"]))
        )
    if invalid:
        raise Fail("kubelet: invalid node labels: %s" % "; ".join(invalid))
    return labels


def preflight(checks, ignore):
    errors = [c for c in checks if c[0] not in ignore and "all" not in ignore]
    if errors:
        raise Fail(
            "error execution phase preflight: [preflight] Some fatal errors occurred:\n"
            + "".join("\t[ERROR %s]: %s\n" % c for c in errors)
            + "[preflight] If you know what you are doing, you can make a check non-fatal with "
            "`--ignore-preflight-errors=...`"
        )


def node_checks(control_plane):
    checks = []
    for name in ("kubelet.conf", "bootstrap-kubelet.conf", "pki/ca.crt"):
        if os.path.exists(path("/etc/kubernetes", name)):
            checks.append(("FileAvailable--etc-kubernetes-" + name.replace("/", "-"), "/etc/kubernetes/%s already exists" % name))
    if os.path.exists(path("/run/fake-kubelet")):
        checks.append(("Port-10250", "Port 10250 is in use"))
    if control_plane:
        if os.path.exists(path("/etc/kubernetes/manifests/kube-apiserver.yaml")):
            checks.append(("FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml", "/etc/kubernetes/manifests/kube-apiserver.yaml already exists"))
        if os.path.isdir(path("/var/lib/etcd")) and os.listdir(path("/var/lib/etcd")):
            checks.append(("DirAvailable--var-lib-etcd", "/var/lib/etcd is not empty"))
    return checks


def images(version, repository):
    return ["%s/%s:%s" % (repository, n, version) for n in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy")] + [
        "%s/coredns/coredns:v1.12.1" % repository,
        "%s/pause:3.10.1" % repository,
        "%s/etcd:3.6.4-0" % repository,
    ]


def pulled():
    p = path("/var/lib/fake-images/pulled")
    if not os.path.exists(p):
        return set()
    with open(p) as f:
        return set(f.read().split())


def start_kubelet(name, rules, effects, extra_taints, extra_labels):
    """kubelet-start: the kubelet reads its flags and refuses bad ones."""
    flags = kubelet_args()
    labels = parse_labels(flags.get("--node-labels", ""), rules)
    labels.update(parse_labels(extra_labels, rules))
    taints = parse_taints(flags.get("--register-with-taints", ""), effects) + parse_taints(extra_taints, effects)
    write(path("/var/lib/kubelet/config.yaml"), "kind: KubeletConfiguration\n", 0o644)
    write(path("/var/lib/kubelet/kubeadm-flags.env"), 'KUBELET_KUBEADM_ARGS="--node-name=%s"\n' % name, 0o644)
    write(path("/run/fake-kubelet"), "10250\n", 0o644)
    return labels, taints


# GOARCH of the kubelet binary for the machine's `uname -m` (kubelet labels its node
# kubernetes.io/arch with it).
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def machine():
    """What the kubelet finds on its machine: `uname -m`, CPUs and MemTotal (cadvisor).
    <root>/etc/fake-k8s/machine.json stands in for an emulated guest's hardware
    ({"uname_m", "cpu", "memory_kb"}, any of them); the rest is this machine's."""
    out = {}
    if os.path.exists(path("/etc/fake-k8s/machine.json")):
        with open(path("/etc/fake-k8s/machine.json")) as f:
            out = json.load(f)
    if "memory_kb" not in out:
        with open("/proc/meminfo") as f:
            out["memory_kb"] = int(re.search(r"^MemTotal:\s+(\d+) kB", f.read(), re.M).group(1))
    out.setdefault("uname_m", os.uname().machine)
    out.setdefault("cpu", os.cpu_count())
    out["goarch"] = GOARCH[out["uname_m"]]
    return out


def register(name, taints, labels):
    os.makedirs(os.path.join(STATE, "joined"), exist_ok=True)
    with open(os.path.join(STATE, "joined", name), "w") as f:
        json.dump({"taints": taints, "labels": labels, "machine": machine()}, f)


def kubelet_extra(node_registration, flag):
    extra = node_registration.get("kubeletExtraArgs") or {}
    if isinstance(extra, list):
        extra = {a["name"]: a["value"] for a in extra}
    return extra.get(flag, "")


def cmd_init(args, cluster):
    fields = data()
    docs = load_docs(arg(args, "--config"))
    validate(docs, fields, "init")
    init, clus = docs[0], docs[1]
    reg = init.get("nodeRegistration", {})
    name = reg.get("name", hostname())
    preflight(
        node_checks(True) + ([("Port-6443", "Port 6443 is in use")] if cluster["apiserver"] else []),
        set((arg(args, "--ignore-preflight-errors", "") or "").split(",")),
    )
    # phase certs, kubeconfig: admin.conf and kubelet.conf exist from here on
    write(path("/etc/kubernetes/pki/ca.crt"), "fake ca\n", 0o644)
    for conf in ("admin.conf", "super-admin.conf", "kubelet.conf", "controller-manager.conf", "scheduler.conf"):
        write(path("/etc/kubernetes", conf), "apiVersion: v1\nkind: Config\n# fake %s of %s\n" % (conf, name))
    # phases etcd, control-plane, kubelet-start
    write(path("/var/lib/etcd/member/snap/db"), "fake\n")
    write(path("/etc/kubernetes/manifests/kube-apiserver.yaml"), "kind: Pod\n")
    labels, taints = start_kubelet(name, fields["kubelet_node_labels"], fields["taint_effects"], "", kubelet_extra(reg, "node-labels"))
    # wait-control-plane
    cluster.update(fresh_cluster(cluster.get("clock", 0)))
    cluster["apiserver"] = True
    cluster["init_node"] = name
    cluster["etcd_members"] = [name]
    register(name, taints, labels)
    save_cluster(cluster)
    if take_fault("init-after-wait-control-plane"):
        raise Fail(
            "error execution phase upload-config/kubeadm: error uploading the kubeadm ClusterConfiguration: "
            'Post "https://%s/api/v1/namespaces/kube-system/configmaps": context deadline exceeded' % clus.get("controlPlaneEndpoint", "?")
        )
    cluster["admin_binding"] = True
    clus = dict(clus)
    clus.setdefault("kubernetesVersion", "v1.34.0")
    cluster["configmaps"]["kube-system/kubeadm-config"] = {"ClusterConfiguration": clus}
    # mark-control-plane
    taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
    register(name, taints, labels)
    # bootstrap-token
    for bt in init.get("bootstrapTokens") or []:
        token = bt.get("token") or new_token()
        store_token(cluster, token, duration(bt.get("ttl", "24h0m0s")))
    cluster["configmaps"]["kube-public/cluster-info"] = {"kubeconfig": "server: https://%s" % clus.get("controlPlaneEndpoint")}
    save_cluster(cluster)
    print("Your Kubernetes control-plane has initialized successfully!")


def new_token():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for position in range(6)) + "." + "".join(secrets.choice(alphabet) for position in range(16))


def store_token(cluster, token, ttl):
    note_secret(token)
    cluster["tokens"][token.split(".")[0]] = {"secret": token.split(".")[1], "ttl": ttl, "expires": (now(cluster) + ttl) if ttl else None}


def token_valid(cluster, token, at):
    tid, _sep, sec = (token or "").partition(".")
    t = cluster["tokens"].get(tid)
    return bool(t and t["secret"] == sec and (t["expires"] is None or t["expires"] > at))


def need_api(cluster):
    if not os.path.exists(path("/etc/kubernetes/admin.conf")) or not cluster["apiserver"]:
        raise Fail("failed to create API client: the connection to the server was refused")
    if not cluster["admin_binding"]:
        raise Fail('secrets is forbidden: User "kubernetes-admin" cannot create resource "secrets" in API group "" in the namespace "kube-system"')


def cmd_token_create(args, cluster):
    need_api(cluster)
    ttl = duration(arg(args, "--ttl", "24h0m0s"))
    token = new_token()
    store_token(cluster, token, ttl)
    save_cluster(cluster)
    endpoint = cluster["configmaps"]["kube-system/kubeadm-config"]["ClusterConfiguration"].get("controlPlaneEndpoint")
    if "--print-join-command" in args:
        print("kubeadm join %s --token %s --discovery-token-ca-cert-hash sha256:%s " % (endpoint, token, "0" * 64))
    else:
        print(token)


def cmd_upload_certs(cluster):
    need_api(cluster)
    key = secrets.token_hex(32)
    note_secret(key)
    cluster["certificate_key"] = {"key": key, "expires": now(cluster) + data()["lifetimes_seconds"]["certificate_key"]}
    save_cluster(cluster)
    print('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    print("[upload-certs] Using certificate key:")
    print(key)


def join_settings(args, fields):
    """What a join was given: from --config (JoinConfiguration) or from flags."""
    config = arg(args, "--config")
    if config:
        mixed = [a for a in args[1:] if a.startswith("-") and a.split("=")[0] not in CONFIG_FLAGS_ALLOWED]
        if mixed:
            raise Fail("can not mix '--config' with arguments %s" % mixed)
        docs = load_docs(config)
        validate(docs, fields, "join")
        j = docs[0]
        disc = j.get("discovery", {})
        bt = disc.get("bootstrapToken", {})
        reg = j.get("nodeRegistration", {})
        cp = j.get("controlPlane")
        timeouts = dict(fields["join_timeouts_default_seconds"])
        for k, v in (j.get("timeouts") or {}).items():
            timeouts[k] = duration(v)
        if "timeout" in disc:
            timeouts["discovery"] = duration(disc["timeout"])
        return {
            "token": bt.get("token"),
            "tls_token": disc.get("tlsBootstrapToken") or bt.get("token"),
            "name": reg.get("name", hostname()),
            "control_plane": cp is not None,
            "certificate_key": (cp or {}).get("certificateKey"),
            "timeouts": timeouts,
            "taints": ",".join("%s%s:%s" % (t["key"], ("=" + t["value"]) if t.get("value") else "", t["effect"]) for t in reg.get("taints") or []),
            "labels": kubelet_extra(reg, "node-labels"),
            "ignore": set(reg.get("ignorePreflightErrors") or []),
        }
    return {
        "token": arg(args, "--token"),
        "tls_token": arg(args, "--tls-bootstrap-token") or arg(args, "--token"),
        "name": arg(args, "--node-name", hostname()),
        "control_plane": "--control-plane" in args,
        "certificate_key": arg(args, "--certificate-key"),
        "timeouts": dict(fields["join_timeouts_default_seconds"]),
        "taints": "",
        "labels": "",
        "ignore": set((arg(args, "--ignore-preflight-errors", "") or "").split(",")),
    }


def cmd_join(args, cluster):
    fields = data()
    s = join_settings(args, fields)
    name = s["name"]
    with open(os.path.join(STATE, "join-flags-" + name), "w") as f:
        f.write(" ".join("<hidden>" if any(x and x in a for x in (s["token"], s["certificate_key"])) else a for a in args) + "\n")
    preflight(node_checks(s["control_plane"]), s["ignore"])
    if "kube-public/cluster-info" not in cluster["configmaps"] or not token_valid(cluster, s["token"], now(cluster)):
        raise Fail(
            "error execution phase preflight: couldn't validate the identity of the API Server: could not find "
            'a JWS signature in the cluster-info ConfigMap for token ID "%s"' % (s["token"] or "").split(".")[0]
        )
    if s["control_plane"]:
        need = set(
            images(
                cluster["configmaps"]["kube-system/kubeadm-config"]["ClusterConfiguration"]["kubernetesVersion"],
                cluster["configmaps"]["kube-system/kubeadm-config"]["ClusterConfiguration"].get("imageRepository", "registry.k8s.io"),
            )
        )
        if not need <= pulled():
            cluster["clock"] += read_number("pull-seconds/" + name)
        ck = cluster.get("certificate_key")
        if not ck or ck["key"] != s["certificate_key"] or ck["expires"] <= now(cluster):
            save_cluster(cluster)
            raise Fail(
                "error execution phase control-plane-prepare/download-certs: error downloading certs: error "
                'downloading the secret: secrets "kubeadm-certs" is forbidden or not found'
            )
        write(path("/etc/kubernetes/manifests/kube-apiserver.yaml"), "kind: Pod\n")
        for conf in ("admin.conf", "controller-manager.conf", "scheduler.conf"):
            write(path("/etc/kubernetes", conf), "apiVersion: v1\nkind: Config\n# fake %s of %s\n" % (conf, name))
    # kubelet-start: bootstrap kubeconfig, kubelet starts, TLS bootstrap
    write(path("/etc/kubernetes/pki/ca.crt"), "fake ca\n", 0o644)
    write(path("/etc/kubernetes/bootstrap-kubelet.conf"), "# fake bootstrap kubeconfig (token hidden)\n")
    labels, taints = start_kubelet(name, fields["kubelet_node_labels"], fields["taint_effects"], s["taints"], s["labels"])
    if take_fault("join-tls-bootstrap-" + name):
        save_cluster(cluster)
        raise Fail(
            "error execution phase kubelet-start: failed to run Kubelet: the TLS bootstrap did not finish: "
            "the kubelet could not reach the API server (injected fault)"
        )
    slow = read_number("join-seconds/" + name)
    limit = min(s["timeouts"]["kubeletHealthCheck"], s["timeouts"]["tlsBootstrap"])
    if slow > limit:
        cluster["clock"] += limit
        save_cluster(cluster)
        raise Fail(
            "error execution phase kubelet-start: timed out waiting for the condition: the kubelet did not "
            "finish the TLS bootstrap within %ds (timeouts.kubeletHealthCheck/tlsBootstrap)" % limit
        )
    cluster["clock"] += slow
    if not token_valid(cluster, s["tls_token"], now(cluster)):
        save_cluster(cluster)
        raise Fail("error execution phase kubelet-start: the TLS bootstrap failed: Unauthorized (the bootstrap token expired during the join)")
    os.remove(path("/etc/kubernetes/bootstrap-kubelet.conf"))
    write(path("/etc/kubernetes/kubelet.conf"), "# fake kubelet.conf of %s\n" % name)
    register(name, taints, labels)
    save_cluster(cluster)
    if s["control_plane"]:
        if take_fault("join-before-etcd-" + name):
            raise Fail(
                "error execution phase control-plane-join/etcd: error creating local etcd static pod manifest "
                "file: timeout waiting for etcd cluster to be available"
            )
        write(path("/var/lib/etcd/member/snap/db"), "fake\n")
        if name not in cluster["etcd_members"]:
            cluster["etcd_members"].append(name)
        register(name, taints + [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}], labels)
        save_cluster(cluster)
    print("This node has joined the cluster")


def cmd_reset(cluster):
    name = hostname()
    for p in ("/etc/kubernetes/manifests", "/etc/kubernetes/pki", "/var/lib/kubelet", "/var/lib/etcd"):
        shutil.rmtree(path(p), ignore_errors=True)
    for p in ("admin.conf", "super-admin.conf", "kubelet.conf", "bootstrap-kubelet.conf", "controller-manager.conf", "scheduler.conf"):
        if os.path.exists(path("/etc/kubernetes", p)):
            os.remove(path("/etc/kubernetes", p))
    if os.path.exists(path("/run/fake-kubelet")):
        os.remove(path("/run/fake-kubelet"))
    if cluster.get("init_node") == name and cluster["etcd_members"] in ([name], []):
        cluster.update(fresh_cluster(cluster.get("clock", 0)))
        for sub in ("joined", "nodes"):
            shutil.rmtree(os.path.join(STATE, sub), ignore_errors=True)
            os.makedirs(os.path.join(STATE, sub))
    elif name in cluster["etcd_members"]:
        cluster["etcd_members"].remove(name)
    save_cluster(cluster)
    with open(os.path.join(STATE, "reset.log"), "a") as f:
        f.write(name + "\n")
    print("[reset] The reset process does not clean CNI configuration, iptables, IPVS, or $HOME/.kube/config.")


def cmd_images(args):
    version = arg(args, "--kubernetes-version", "v1.34.0")
    repo = arg(args, "--image-repository", "registry.k8s.io")
    wanted = images(version, repo)
    if args[2] == "list":
        print("\n".join(wanted))
        return
    have = pulled() | set(wanted)
    write(path("/var/lib/fake-images/pulled"), "\n".join(sorted(have)) + "\n", 0o644)
    for image in wanted:
        print("[config/images] Pulled %s" % image)


def main(argv):
    args = argv[1:]
    os.makedirs(STATE, exist_ok=True)
    with open(os.path.join(STATE, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(STATE, "calls.log"), "a") as f:
            f.write("%s kubeadm %s\n" % (hostname(), " ".join(args[:4])))
        cluster = load_cluster()
        try:
            if args[:2] == ["config", "validate"]:
                validate(load_docs(arg(args, "--config")), data(), "any", strict=True)
                print("ok, the config is valid")
            elif args[:2] == ["config", "images"]:
                cmd_images(args)
            elif args[:3] == ["init", "phase", "upload-certs"]:
                cmd_upload_certs(cluster)
            elif args[:1] == ["init"]:
                cmd_init(args, cluster)
            elif args[:2] == ["token", "create"]:
                cmd_token_create(args, cluster)
            elif args[:1] == ["join"]:
                cmd_join(args, cluster)
            elif args[:1] == ["reset"]:
                cmd_reset(cluster)
            else:
                sys.stderr.write("fake kubeadm: unsupported call %r\n" % (args,))
                return 2
        except Fail as e:
            sys.stderr.write(str(e) + "\nTo see the stack trace of this error execute with --v=5 or higher\n")
            # what kubeadm printed, for the tests (a role may hide it with no_log); secrets are never in it
            with open(os.path.join(STATE, "errors.log"), "a") as f:
                f.write("%s kubeadm %s: %s\n" % (hostname(), " ".join(args[:2]), str(e).replace("\n", " | ")))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
