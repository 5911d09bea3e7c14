"""Inventory benchmark: the plugin on a spec at the node cap against a static YAML inventory.

Both inventories hold the same hosts, groups and variables (the static one is the
plugin's own `--export` output written as YAML), and both are listed with the same
`ansible-inventory --list --export` in the same run. Prints the median times and the
ratio plugin/static (the goal is at most 1.5).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.q8s.cluster.plugins.module_utils import q8s_names, q8s_spec  # noqa: E402

# The most workers a spec may ask for with 2 extra control planes: the cap of q8s_spec.
CAP_WORKERS = (q8s_spec.MAX_NODES - 3) // 2


def make_spec(workers):
    half = workers // 2
    return {
        "cluster_name": "bench",
        "private_network_id": "private",
        "remote_ip_prefix": "10.0.0.0/16",
        "pod_network_cidr": "10.128.0.0/12",
        "default_image_name": "ubuntu-24.04",
        "cluster_definition": {
            "master_node_flavor": "m1.medium",
            "number_additional_master_nodes": 2,
            "worker": {"x86": workers - half, "arm": half},
        },
        "vm_types": {
            "x86": {"architecture": "x86_64", "num_cpus": 2, "cpu_model": "EPYC-Rome", "ram": 2048, "storage": 10, "openstack_flavor": "m1.medium"},
            "arm": {"architecture": "arm_64", "num_cpus": 2, "cpu_model": "cortex-a57", "ram": 2048, "storage": 10, "openstack_flavor": "m1.medium"},
        },
    }


def addresses(spec):
    """A hosts.json as provisioning would write it: every server has an address."""
    hosts = dict((q8s_names.control_plane("bench", i), "10.0.0.%d" % (10 + i)) for i in range(3))
    offset = 100
    for type_name, count in sorted(spec["cluster_definition"]["worker"].items()):
        for i in range(1, count + 1):
            hosts[q8s_names.qemu_host("bench", type_name, i)] = "10.0.%d.%d" % (offset // 256, offset % 256)
            offset += 1
    return {"cluster": "bench", "hosts": hosts}


def to_static(listing):
    """Turn `ansible-inventory --list --export` JSON into a YAML inventory with the same content."""
    hostvars = listing["_meta"]["hostvars"]

    def unwrap(value):
        if isinstance(value, dict):
            if set(value) == {"__ansible_unsafe"}:
                return value["__ansible_unsafe"]
            return dict((k, unwrap(v)) for k, v in value.items())
        if isinstance(value, list):
            return [unwrap(v) for v in value]
        return value

    groups = {}
    for name, group in listing.items():
        if name in ("_meta", "all", "ungrouped"):
            continue
        groups[name] = {"hosts": dict((h, None) for h in group.get("hosts", []))}
    placed = set()
    for group in groups.values():
        for host in group["hosts"]:
            if host not in placed:
                group["hosts"][host] = unwrap(hostvars.get(host, {}))
                placed.add(host)
    return {"all": {"vars": unwrap(listing["all"].get("vars", {})), "children": groups}}


def timed(args, env, repeat):
    """Median wall time, the last stdout, and the peak memory (MB) of any child run so far."""
    times = []
    for _dummy in range(repeat):
        start = time.monotonic()
        proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        times.append(time.monotonic() - start)
        if proc.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (" ".join(args), proc.stderr[-2000:]))
    return statistics.median(times), proc.stdout, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=CAP_WORKERS, help="default: the most the node cap allows (%(default)s)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        spec = make_spec(args.workers)
        spec_file = os.path.join(tmp, "bench.yml")
        with open(spec_file, "w") as handle:
            yaml.safe_dump(spec, handle)
        state = os.path.join(tmp, "state")
        os.makedirs(state)
        with open(os.path.join(state, "hosts.json"), "w") as handle:
            json.dump(addresses(spec), handle)

        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_INVENTORY_CACHE="False", Q8S_STATE_DIR=state)
        env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
        plugin_time, out, plugin_rss = timed(["ansible-inventory", "--list", "--export", "-e", "@" + spec_file], env, args.repeat)
        listing = json.loads(out)
        static_file = os.path.join(tmp, "static.yml")
        with open(static_file, "w") as handle:
            yaml.safe_dump(to_static(listing), handle, default_flow_style=False)
        static_env = dict(env, ANSIBLE_INVENTORY_ENABLED="ansible.builtin.yaml")
        static_time, static_out, dummy = timed(["ansible-inventory", "-i", static_file, "--list", "--export"], static_env, args.repeat)
        hosts = len(listing["_meta"]["hostvars"])
        if len(json.loads(static_out)["_meta"]["hostvars"]) != hosts:
            raise SystemExit("the static inventory does not hold the same hosts")

    ratio = plugin_time / static_time
    print("inventory: %d workers, %d hosts" % (args.workers, hosts))
    print("  q8s.cluster.spec plugin  : %.2f s (median of %d), peak %.0f MB" % (plugin_time, args.repeat, plugin_rss))
    print("  static YAML inventory    : %.2f s (median of %d)" % (static_time, args.repeat))
    print("  ratio plugin/static      : %.2f (goal <= 1.5)" % ratio)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(
                {
                    "name": "inventory",
                    "workers": args.workers,
                    "hosts": hosts,
                    "plugin_s": plugin_time,
                    "plugin_peak_mb": plugin_rss,
                    "static_s": static_time,
                    "ratio": ratio,
                    "goal": "<= 1.5",
                },
                handle,
            )


if __name__ == "__main__":
    main()
