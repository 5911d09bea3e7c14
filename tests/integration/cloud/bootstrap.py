"""Bootstrap the q8s loopback test cloud (run by cloud.sh with the server venv).

    bootstrap.py identity WORKDIR    service users, demo project/user, catalog,
                                     clouds.yaml
    bootstrap.py resources WORKDIR [CIDR]  shared network, image, flavors, quotas; with
                                     CIDR (podman computes) also the shared network
                                     `servers` with that subnet
    bootstrap.py computes WORKDIR N [SINCE]  exit 0 once N compute hosts are usable;
                                     with SINCE (Unix time), once each has also reported
                                     its state at or after SINCE (a restarted compute)

Every step is idempotent: a restart of an existing cloud reruns it harmlessly.
"""

import datetime
import os
import sys

import openstack

IP = "127.0.0.1"
KEYSTONE = f"http://{IP}:5000/v3"
SERVICE_PASSWORD = "q8s-service-secret"
ADMIN_PASSWORD = "q8s-admin-secret"
DEMO_PASSWORD = "q8s-demo-secret"

CATALOG = [
    ("nova", "compute", f"http://{IP}:8774/v2.1"),
    ("neutron", "network", f"http://{IP}:9696"),
    ("glance", "image", f"http://{IP}:9292"),
    ("placement", "placement", f"http://{IP}:8778"),
]
FLAVORS = [("q8s.small", 1, 1024, 10), ("q8s.medium", 2, 2048, 20), ("q8s.large", 4, 4096, 40)]
IMAGE = "q8s-test-image"


def clouds_yaml(workdir):
    def entry(user, password, project):
        return (
            f"    auth:\n      auth_url: {KEYSTONE}\n      username: {user}\n"
            f"      password: {password}\n      project_name: {project}\n"
            "      user_domain_name: Default\n      project_domain_name: Default\n"
            "    region_name: RegionOne\n    identity_api_version: 3\n"
            "    interface: public\n"
        )

    path = os.path.join(workdir, "clouds.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write("clouds:\n  q8s-test:\n" + entry("demo", DEMO_PASSWORD, "demo") + "  q8s-admin:\n" + entry("admin", ADMIN_PASSWORD, "admin"))
    os.chmod(path, 0o600)


def admin():
    return openstack.connect(
        auth_url=KEYSTONE,
        username="admin",
        password=ADMIN_PASSWORD,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name="RegionOne",
        identity_api_version="3",
    )


def ensure_user(c, name, password, project, roles):
    user = c.identity.find_user(name, domain_id="default")
    if user is None:
        user = c.identity.create_user(name=name, password=password, domain_id="default", default_project_id=project.id)
    for role in roles:
        r = c.identity.find_role(role)
        if r is None:
            r = c.identity.create_role(name=role)
        c.identity.assign_project_role_to_user(project, user, r)


def identity(workdir):
    c = admin()
    projects = {}
    for name in ("service", "demo"):
        p = c.identity.find_project(name, domain_id="default")
        if p is None:
            p = c.identity.create_project(name=name, domain_id="default")
        projects[name] = p
    for name, stype, url in CATALOG:
        ensure_user(c, name, SERVICE_PASSWORD, projects["service"], ["admin", "service"])
        svc = c.identity.find_service(name)
        if svc is None:
            svc = c.identity.create_service(name=name, type=stype)
        have = {e.interface for e in c.identity.endpoints(service_id=svc.id)}
        for iface in ("public", "internal", "admin"):
            if iface not in have:
                c.identity.create_endpoint(service_id=svc.id, interface=iface, url=url, region_id="RegionOne")
    ensure_user(c, "demo", DEMO_PASSWORD, projects["demo"], ["member", "reader"])
    clouds_yaml(workdir)


def ensure_network(c, name, cidr):
    net = c.network.find_network(name)
    if net is None:
        net = c.network.create_network(name=name, shared=True)
    if not list(c.network.subnets(network_id=net.id)):
        gateway = cidr.rsplit(".", 1)[0] + ".1"
        c.network.create_subnet(name=name + "-subnet", network_id=net.id, ip_version=4, cidr=cidr, gateway_ip=gateway, enable_dhcp=False)


def resources(workdir, server_cidr=None):
    c = admin()
    demo = c.identity.find_project("demo", domain_id="default")
    ensure_network(c, "private", "192.0.2.0/24")
    if server_cidr:
        # servers that are podman containers: their subnet is a podman network of this
        # host, which must not overlap the host's own networks (192.0.2.0/24 may be one)
        ensure_network(c, "servers", server_cidr)
    if c.image.find_image(IMAGE) is None:
        c.image.create_image(name=IMAGE, data=b"\0" * 1024 * 1024, disk_format="raw", container_format="bare", visibility="public", allow_duplicates=False)
    for name, vcpus, ram, disk in FLAVORS:
        if c.compute.find_flavor(name) is None:
            c.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    c.set_compute_quotas(demo.id, instances=500, cores=1000, ram=4096000, key_pairs=100)
    c.set_network_quotas(demo.id, port=1000, security_group=100, security_group_rule=2000)


def _reported_since(service, since):
    """Whether nova's record of SERVICE was updated at or after SINCE (Unix time).

    A stopped compute stays "up" to the scheduler until its last report is older than
    service_down_time (60 s): "up" alone does not show that a restarted one reports.
    """
    if since is None:
        return True
    if not service.updated_at:
        return False
    when = datetime.datetime.fromisoformat(service.updated_at.split(".")[0])
    return when.replace(tzinfo=datetime.UTC).timestamp() >= since


def computes(workdir, want, since=None):
    c = admin()
    up = [s for s in c.compute.services(binary="nova-compute") if s.state == "up" and s.status == "enabled" and _reported_since(s, since)]
    hyps = list(c.compute.hypervisors())
    if len(up) < want or len(hyps) < want:
        return 1
    # placement must know every host, with inventory
    rps = list(c.placement.resource_providers())
    if len(rps) < want:
        return 1
    for rp in rps:
        inv = list(c.placement.resource_provider_inventories(rp))
        if not any(i.resource_class == "VCPU" for i in inv):
            return 1
    return 0


def main(argv):
    step, workdir = argv[1], argv[2]
    if step == "identity":
        identity(workdir)
    elif step == "resources":
        resources(workdir, argv[3] if len(argv) > 3 else None)
    elif step == "computes":
        return computes(workdir, int(argv[3]), int(argv[4]) if len(argv) > 4 else None)
    else:
        raise SystemExit(f"unknown step {step}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
