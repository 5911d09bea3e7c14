"""Provisioning benchmark: provision.yml against two baselines, and at scale.

    .venv/bin/python tests/bench/provision_bench.py [--hosts 50] [--scale 200] [--no-upstream] [--no-baseline]
        [--neutron-workers 1] [--keep-cloud]

All cases run against one loopback cloud (tests/integration/cloud/cloud.sh) in one run:

1. upstream: a small openstacksdk script that creates one server, waits for ACTIVE, then
   the next (as upstream Q8S did); skipped with --no-upstream (it takes about 6 minutes);
2. openstack.cloud: tests/bench/provision_baseline.yml, what a skilled openstack.cloud
   user writes: keypair and security group, one openstack.cloud.server task per server
   with wait: false, 10 at a time (the creates q8s.cluster.servers has in flight), then
   one server_info wait for ACTIVE;
3. provision.yml for a cluster of --hosts servers (1 control plane + hosts-1 QEMU hosts);
4. provision.yml for --scale servers, then teardown.yml, checked to leave no server, port,
   security group or keypair of the cluster (--scale 0 skips it).

Every case reports its wall time, the time of its servers step (first create to all
ACTIVE), the controller's CPU time and peak memory (ansible-playbook and every process it
starts, async jobs included), and the cloud's side of it: API requests and the time the
services spent in them (their gunicorn access logs), and each service's CPU time.

The bench brings its own cloud: work dir Q8S_BENCH_CLOUD_DIR (default
/var/tmp/q8s-cloud-bench, its own databases, made anew for every run unless --keep-cloud)
with Q8S_BENCH_COMPUTES fake computes (default 16: on 4, each build made its compute fetch the
allocations of every instance it held, which grew with the square of the servers per
compute), started here and stopped afterwards; the integration tests' cloud
(/var/tmp/q8s-cloud) is not touched. The cloud's ports are fixed, so the run waits for
/var/lock/q8s-cloud.lock like every other user of the loopback cloud.
"""

import argparse
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLOUD_SH = ROOT / "tests" / "integration" / "cloud" / "cloud.sh"
BIN = Path(sys.executable).parent
LOCK = "/var/lock/q8s-cloud.lock"
SERVICES = ("keystone", "nova", "neutron", "placement", "glance")
sys.path.insert(0, str(ROOT / ".collections"))
from ansible_collections.q8s.cluster.plugins.module_utils import q8s_openstack  # noqa: E402
from ansible_collections.q8s.cluster.plugins.module_utils.q8s_spec import normalise  # noqa: E402

# a gunicorn access-log line (cloud.sh's access_log_format): ... "METHOD PATH HTTP/1.1" status size "agent" 12ms
ACCESS = re.compile(r'\[(?P<t>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) [^"]*" (?P<status>\d+) \S+ "[^"]*" (?P<ms>\d+)ms$')


# ------------------------------------------------------------------ measuring
class Controller:
    """Samples every process that carries this run's marker in its environment: ansible-playbook,
    its workers, module processes and daemonized async jobs. CPU: the last reading per process;
    memory: the peak of the sum of their RSS and the peak RSS of ansible-playbook itself."""

    def __init__(self, marker, main_pid):
        self.marker, self.main_pid = marker, main_pid
        self.cpu, self.peak_rss, self.main_rss, self.procs = {}, 0, 0, set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            total = 0
            for p in psutil.process_iter(["pid"]):
                try:
                    if p.pid != self.main_pid and self.marker not in p.environ().get("Q8S_BENCH_RUN", ""):
                        continue
                    with p.oneshot():
                        t, rss = p.cpu_times(), p.memory_info().rss
                except (psutil.Error, OSError):
                    continue
                self.cpu[p.pid] = t.user + t.system
                self.procs.add(p.pid)
                total += rss
                if p.pid == self.main_pid:
                    self.main_rss = max(self.main_rss, rss)
            self.peak_rss = max(self.peak_rss, total)
            self._stop.wait(0.3)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return {"cpu_s": sum(self.cpu.values()), "peak_mb": self.peak_rss / 2**20, "main_peak_mb": self.main_rss / 2**20, "processes": len(self.procs)}


class Cloud:
    """The loopback cloud's own figures: access-log requests and service CPU time between two marks."""

    def __init__(self, workdir):
        self.w = workdir

    def mark(self):
        logs = {}
        for s in SERVICES:
            f = self.w / "log" / ("%s-access.log" % s)
            logs[s] = f.stat().st_size if f.exists() else 0
        return {"logs": logs, "cpu": self._cpu()}

    def _cpu(self):
        """CPU seconds per service: every process in the session cloud.sh started it in."""
        leaders = {}
        for f in (self.w / "run").glob("*.pid"):
            try:
                leaders[int(f.read_text())] = f.stem
            except ValueError:
                continue
        out = {}
        for p in psutil.process_iter(["pid"]):
            try:
                name = leaders.get(os.getsid(p.pid))
                if name is None:
                    continue
                t = p.cpu_times()
            except (psutil.Error, OSError):
                continue
            key = "nova-compute" if name.startswith("nova-compute") else name
            out[key] = out.get(key, 0.0) + t.user + t.system + t.children_user + t.children_system
        return out

    def since(self, mark):
        req = {}
        for s in SERVICES:
            f = self.w / "log" / ("%s-access.log" % s)
            if not f.exists():
                continue
            with f.open() as fh:
                fh.seek(mark["logs"][s])
                lines = fh.read().splitlines()
            calls, ms, kinds, spans = 0, 0, {}, []
            for line in lines:
                m = ACCESS.search(line)
                if not m:
                    continue
                calls += 1
                # gunicorn logs when the response is written: the request ran from end - ms to end
                spans.append((datetime.strptime(m.group("t"), "%d/%b/%Y:%H:%M:%S %z").timestamp(), int(m.group("ms")) / 1000.0))
                ms += int(m.group("ms"))
                kind = "%s %s" % (m.group("method"), _shape(m.group("path")))
                count, spent = kinds.get(kind, (0, 0))
                kinds[kind] = (count + 1, spent + int(m.group("ms")))
            # the kinds the service spent most time in: (kind, calls, seconds)
            top = sorted(kinds.items(), key=lambda kv: -kv[1][1])[:4]
            req[s] = {"calls": calls, "seconds": ms / 1000.0, "top": [(k, c, t / 1000.0) for k, (c, t) in top], "spans": spans}
        now = self._cpu()
        cpu = dict((k, now[k] - mark["cpu"].get(k, 0.0)) for k in now)
        return {"requests": req, "cpu": cpu}

    def capacity(self, service):
        """Requests the service serves at once: gunicorn's workers x threads (cloud.sh's gunicorn.conf.py)."""
        text = (self.w / "etc" / service / "gunicorn.conf.py").read_text()
        workers, threads = (re.search(r"^%s = (\d+)$" % key, text, re.M) for key in ("workers", "threads"))
        return (int(workers.group(1)) if workers else 1) * (int(threads.group(1)) if threads else 1)

    def occupancy(self, figures, start, end):
        """{service: share of its capacity busy with requests between start and end (epoch s)}.

        A service at 1.0 serves requests all the time it can: the run waits for it, whatever
        the client does. Requests are counted for the part of them inside the window."""
        out = {}
        for s, r in figures["requests"].items():
            busy = sum(max(0.0, min(t, end) - max(t - d, start)) for t, d in r["spans"])
            out[s] = busy / ((end - start) * self.capacity(s)) if end > start else float("nan")
        return out


def _shape(path):
    """/v2.1/servers/<uuid>?x=y -> /v2.1/servers/{id}: requests grouped by kind."""
    path = path.split("?")[0]
    return re.sub(r"/[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}|/[0-9a-f]{32}", "/{id}", path)


def run_playbook(argv, env, cloud, label):
    """ansible-playbook with the json stdout callback; returns the figures of the run."""
    marker = "%s-%d" % (label, time.monotonic_ns())
    env = dict(env, Q8S_BENCH_RUN=marker, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    mark = cloud.mark()
    t0 = time.monotonic()
    proc = subprocess.Popen([str(BIN / "ansible-playbook")] + argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ctl = Controller(marker, proc.pid)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    figures = {"wall": wall, "rc": proc.returncode, "controller": ctl.stop(), "cloud": cloud.since(mark), "tasks": _tasks(out)}
    if proc.returncode != 0:
        sys.exit("%s failed (rc %d):\n%s\n%s" % (label, proc.returncode, out[-4000:], err[-2000:]))
    return figures


def _tasks(stdout):
    """[(task name, seconds, start, end)] from the json callback's output (phase_report's lines around it)."""
    try:
        doc = json.JSONDecoder().raw_decode(stdout[stdout.index("\n{\n") + 1 :])[0]
    except ValueError:
        return []
    out = []
    for play in doc.get("plays", []):
        for task in play.get("tasks", []):
            d = task.get("task", {}).get("duration", {})
            if d.get("start") and d.get("end"):
                out.append((task["task"]["name"], _ts(d["end"]) - _ts(d["start"]), _ts(d["start"]), _ts(d["end"])))
    return out


def _ts(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def step_window(tasks, first, last):
    """(start, end), epoch s, from the start of the first task whose name starts with `first` to the end of `last`'s."""
    start = next((t[2] for t in tasks if t[0].startswith(first)), None)
    end = next((t[3] for t in tasks if t[0].startswith(last)), None)
    return (start, end) if start is not None and end is not None else None


def servers_step(fig, cloud, first, last):
    """Seconds of the servers step, and how busy each cloud service was in it (fig["occupancy"])."""
    window = step_window(fig["tasks"], first, last)
    fig["occupancy"] = cloud.occupancy(fig["cloud"], *window) if window else {}
    for r in fig["cloud"]["requests"].values():
        r.pop("spans", None)
    return window[1] - window[0] if window else float("nan")


# ------------------------------------------------------------------ the cases
def upstream(conn, n):
    net = conn.network.find_network("private")
    image = conn.image.find_image("q8s-test-image")
    flavor = conn.compute.find_flavor("q8s.small")
    servers = []
    t0 = time.monotonic()
    for i in range(n):
        server = conn.compute.create_server(
            name="bench-seq-%d" % i, image_id=image.id, flavor_id=flavor.id, networks=[{"uuid": net.id}], metadata={"q8s_cluster": "bench-seq"}
        )
        servers.append(conn.compute.wait_for_server(server, wait=600))
    elapsed = time.monotonic() - t0
    for server in servers:
        conn.compute.delete_server(server)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=600)
    return elapsed


def bench_spec(name, n, workdir):
    """The cluster spec of the bench's provision.yml runs: 1 control plane + n-1 QEMU hosts, no admin_cidr."""
    return {
        "cluster_name": name,
        "private_network_id": "private",
        "remote_ip_prefix": "192.0.2.0/24",
        "default_image_name": "q8s-test-image",
        "state_dir": str(workdir / name),
        "cluster_definition": {"master_node_flavor": "q8s.small", "number_additional_master_nodes": 0, "worker": {"x86-small": n - 1}},
        "vm_types": {
            "x86-small": {"architecture": "x86_64", "num_cpus": 1, "cpu_model": "EPYC-Rome", "ram": 512, "storage": 5, "openstack_flavor": "q8s.small"}
        },
    }


def rules(name, n, workdir):
    """provision.yml's security group rules for the bench spec of cluster `name`: the list
    q8s_openstack.security_group_rules() gives provision_openstack.yml (one home)."""
    spec = normalise(bench_spec(name, n, workdir))[0]
    return q8s_openstack.security_group_rules(spec, spec["cluster_security_group"])


def openstack_cloud_baseline(conn, n, env, cloud, workdir):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / "base_key")], check=True)
    spec = {
        "bench_cloud": "q8s-test",
        "bench_name": "benchbase",
        "bench_servers": n,
        "bench_image": "q8s-test-image",
        "bench_flavor": "q8s.small",
        "bench_network": "private",
        "bench_public_key": str(workdir / "base_key.pub"),
        "bench_rules": rules("benchbase", n, workdir),
        "bench_delay": 2,
        "bench_concurrency": 10,
    }
    path = workdir / "base.yml"
    path.write_text(yaml.safe_dump(spec))
    try:
        fig = run_playbook(
            ["tests/bench/provision_baseline.yml", "-i", "localhost,", "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % path],
            env,
            cloud,
            "openstack.cloud",
        )
    finally:
        _cleanup(conn, "benchbase")
    fig["servers"] = servers_step(fig, cloud, "Create every server", "Wait until every server")
    return fig


def _cleanup(conn, name):
    doomed = [s for s in conn.compute.servers() if (s.metadata or {}).get("q8s_cluster") == name]
    for s in doomed:
        conn.compute.delete_server(s)
    for s in doomed:
        conn.compute.wait_for_delete(s, wait=900)
    kp = conn.compute.find_keypair(name + "-cluster")
    if kp:
        conn.compute.delete_keypair(kp)
    sg = conn.network.find_security_group(name + "-cluster")
    if sg:
        conn.network.delete_security_group(sg)


def provision(conn, n, env, cloud, workdir, name):
    spec = bench_spec(name, n, workdir)
    path = workdir / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(spec))
    common = ["-e", "@%s" % path, "-e", "q8s_cloud=q8s-test", "-e", "q8s_provision_wait_for_ssh=false"]
    try:
        fig = run_playbook(["playbooks/provision.yml"] + common, env, cloud, "provision.yml")
        fig["statuses"] = _statuses(name)
    finally:
        fig_td = run_playbook(["playbooks/teardown.yml"] + common + ["-e", "q8s_teardown_confirm=true"], env, cloud, "teardown.yml")
    fig["servers"] = servers_step(fig, cloud, "Create the missing servers", "Create the missing servers")
    fig_td["servers"] = servers_step(fig_td, cloud, "Delete the cluster's servers", "Delete the cluster's servers")
    fig["teardown"] = fig_td
    fig["left"] = _leftovers(conn, name)
    return fig


def _admin():
    import openstack

    return openstack.connect(cloud="q8s-admin")


def _statuses(name):
    out = {}
    for s in _admin().compute.servers(all_projects=True):
        if (s.metadata or {}).get("q8s_cluster") == name:
            out[s.status] = out.get(s.status, 0) + 1
    return out


def _leftovers(conn, name):
    """What of cluster `name` the cloud still has: servers and compute ports as the admin sees
    them (every project), security group and keypair as the cluster's user sees them."""
    c = _admin()
    servers = [s.name for s in c.compute.servers(all_projects=True) if (s.metadata or {}).get("q8s_cluster") == name or s.name.startswith(name + "--")]
    ports = [p.id for p in c.network.ports() if (p.device_owner or "").startswith("compute:")]
    groups = [g.name for g in conn.network.security_groups() if g.name == name + "-cluster"]
    keys = [k.name for k in conn.compute.keypairs() if k.name == name + "-cluster"]
    return {"servers": servers, "ports": ports, "security_groups": groups, "keypairs": keys}


# ------------------------------------------------------------------ report
def report(label, fig, n):
    ctl = fig["controller"]
    print(
        "%-16s %3d servers: %6.1f s (servers step %5.1f s); controller %5.1f s CPU, peak %4.0f MB in all, ansible-playbook %3.0f MB, %d processes"
        % (label, n, fig["wall"], fig["servers"], ctl["cpu_s"], ctl["peak_mb"], ctl["main_peak_mb"], ctl["processes"])
    )
    cl = fig["cloud"]
    req = cl["requests"]
    print("  cloud API: %s" % ", ".join("%s %d calls %.1f s" % (s, req[s]["calls"], req[s]["seconds"]) for s in SERVICES if s in req))
    for s in ("keystone", "nova", "neutron", "placement"):
        if s in req and req[s]["top"]:
            print("    %-9s %s" % (s, "; ".join("%s x%d %.1f s" % kv for kv in req[s]["top"])))
    busy = fig.get("occupancy") or {}
    if busy:
        print(
            "  busy in the servers step (share of what each service serves at once): %s"
            % ", ".join("%s %.0f%%" % (s, 100 * b) for s, b in sorted(busy.items(), key=lambda kv: -kv[1]))
        )
    cpu = cl["cpu"]
    print("  cloud CPU: %.1f s (%s)" % (sum(cpu.values()), ", ".join("%s %.1f" % kv for kv in sorted(cpu.items(), key=lambda kv: -kv[1]) if kv[1] >= 0.5)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--scale", type=int, default=200, help="servers of the scale case (0: skip)")
    parser.add_argument("--no-upstream", action="store_true", help="skip the one-at-a-time baseline")
    parser.add_argument("--no-baseline", action="store_true", help="skip the openstack.cloud baseline (no speed-up figure)")
    parser.add_argument("--keep-cloud", action="store_true", help="start on the bench cloud's databases of the run before (default: fresh ones)")
    parser.add_argument("--neutron-workers", type=int, default=1, help="neutron's API processes in the bench cloud (default 1, as in the tests)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    workdir = Path(os.environ.get("Q8S_BENCH_CLOUD_DIR", "/var/tmp/q8s-cloud-bench"))
    cloud_env = dict(
        os.environ,
        Q8S_CLOUD_DIR=str(workdir),
        Q8S_CLOUD_COMPUTE="fake",
        Q8S_CLOUD_COMPUTES=os.environ.get("Q8S_BENCH_COMPUTES", "16"),
        Q8S_CLOUD_NEUTRON_WORKERS=str(args.neutron_workers),
    )
    # SIGTERM too must run the finally below: the cloud stops before the lock goes
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("provision_bench: terminated"))
    print("provision_bench: waiting for %s (the loopback cloud is exclusive)" % LOCK, flush=True)
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([str(CLOUD_SH), "install"], check=True, stdout=subprocess.DEVNULL, env=cloud_env)
        if not args.keep_cloud:
            # the databases of earlier runs (every deleted instance stays in nova's) would
            # make each run slower than the one before it
            subprocess.run([str(CLOUD_SH), "reset"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cloud_env)
        t0 = time.monotonic()
        try:
            with open(workdir.parent / (workdir.name + "-start.log"), "w") as log:
                subprocess.run([str(CLOUD_SH), "start"], check=True, stdout=log, stderr=subprocess.STDOUT, env=cloud_env)
            print(
                "provision_bench: cloud up in %.0f s (%s fake computes, %d neutron worker(s), %s)"
                % (time.monotonic() - t0, cloud_env["Q8S_CLOUD_COMPUTES"], args.neutron_workers, workdir),
                flush=True,
            )
            results = _measure(args, workdir)
        finally:
            print("provision_bench: stopping the cloud", flush=True)
            subprocess.run([str(CLOUD_SH), "stop"], check=False, stdout=subprocess.DEVNULL, env=cloud_env)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


def _measure(args, workdir):
    os.environ["OS_CLIENT_CONFIG_FILE"] = str(workdir / "clouds.yaml")
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), no_proxy="127.0.0.1,localhost", PATH="%s:%s" % (BIN, os.environ.get("PATH", "")))
    import openstack

    conn = openstack.connect(cloud="q8s-test")
    cloud = Cloud(workdir)
    results = {}
    n = args.hosts
    for name in ("bench-seq", "benchbase", "benchq8s", "benchbig"):
        # what an interrupted run left in the bench cloud's databases
        _cleanup(conn, name)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env["Q8S_REPORT_DIR"] = str(tmp / "logs")
        if not args.no_upstream:
            results["upstream"] = upstream(conn, n)
            print("upstream (one at a time, openstacksdk): %d servers in %.1f s" % (n, results["upstream"]), flush=True)
        base = None
        if not args.no_baseline:
            base = results["openstack.cloud"] = openstack_cloud_baseline(conn, n, env, cloud, tmp)
            report("openstack.cloud", base, n)
        par = results["provision"] = provision(conn, n, env, cloud, tmp, "benchq8s")
        report("provision.yml", par, n)
        if par["left"] != {"servers": [], "ports": [], "security_groups": [], "keypairs": []}:
            sys.exit("teardown left %r" % par["left"])
        if args.scale:
            big = results["scale"] = provision(conn, args.scale, env, cloud, tmp, "benchbig")
            report("provision.yml", big, args.scale)
            report("teardown.yml", big["teardown"], args.scale)
            print("  %d servers: %s; left after teardown: %s" % (args.scale, big["statuses"], big["left"]))
    print("---")
    if "upstream" in results:
        print("speed-up over upstream (one at a time): %.1fx (goal: at least 5x)" % (results["upstream"] / par["wall"]))
    if base:
        print(
            "speed-up over openstack.cloud (async, wait: false): %.2fx whole run, %.2fx servers step (goal: at least 2x)"
            % (base["wall"] / par["wall"], base["servers"] / par["servers"])
        )
    if args.scale:
        left = sum(len(v) for v in big["left"].values())
        error = big["statuses"].get("ERROR", 0)
        print(
            "scale ratio %d/%d servers: %.2f (goal: at most 2.5); ERROR %d, left after teardown %d, controller peak %.0f MB"
            % (args.scale, n, big["wall"] / par["wall"], error, left, big["controller"]["peak_mb"])
        )
        if left or error:
            sys.exit("scale case: %d server(s) in ERROR, %d object(s) left after teardown" % (error, left))
    return results


if __name__ == "__main__":
    main()
