"""Nova compute drivers of the loopback cloud (cloud.sh, Q8S_CLOUD_COMPUTE).

StableFakeDriver (fake, the default): nova's fake driver with node UUIDs that survive a
restart; servers exist only in nova's database. PodmanDriver (podman): the same, and
every server is also a podman container of this host (see its docstring).

FakeDriver draws its node UUID from a per-process sentinel, so a restarted fake
nova-compute looks like a new node and refuses to start ("No local node identity
found"). cloud.sh writes the same uuid5 into <state_path>/compute_id before each start.
"""

import json
import os
import subprocess
import time
import uuid

from nova import exception
from nova.compute import power_state
from nova.virt import fake, hardware
from oslo_concurrency import lockutils
from oslo_log import log as logging


def node_uuid(nodename):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "q8s-fake-node:" + nodename))


class StableFakeDriver(fake.FakeDriver):
    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        resources["uuid"] = node_uuid(nodename)
        return resources

    def get_nodenames_by_uuid(self, refresh=False):
        return {node_uuid(n): n for n in self.get_available_nodes()}


# ---------------------------------------------------------------------------------------
# Servers that are real machines of this host: one podman container per instance.

LOG = logging.getLogger(__name__)
# How often destroy() runs `podman rm -f` before it gives up.
DESTROY_ATTEMPTS = 5

PREFIX = "q8s-nova-"
LABEL = "q8s_nova_instance"
# libvirt and TCG guests inside the container, as the local provider's QEMU hosts
# (playbooks/provision_local.yml); qemu.conf needs namespaces = [] and
# cgroup_controllers = [] in there (the e2e test passes qemu_host_qemu_conf)
RUN_OPTS = [
    "--systemd=always",
    "--cap-add=NET_ADMIN,SYS_ADMIN,SYS_PTRACE",
    "--device=/dev/net/tun",
    "--security-opt=unmask=/proc/sys",
]


def container_name(uuid):
    return PREFIX + uuid


def podman(*args, check=True):
    proc = subprocess.run(["podman", *args], capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise exception.NovaException("podman %s failed (rc %d): %s" % (" ".join(args[:2]), proc.returncode, proc.stderr.strip()[-500:]))
    return proc


def login_script(user):
    """What cloud-init does for the image's login user: the account, the instance's key,
    passwordless sudo."""
    return (
        "set -e\n"
        "id -u %(u)s >/dev/null 2>&1 || useradd -m -s /bin/bash %(u)s\n"
        "h=$(getent passwd %(u)s | cut -d: -f6)\n"
        'install -d -m 700 -o %(u)s -g %(u)s "$h/.ssh"\n'
        'printf \'%%s\\n\' "$Q8S_KEY" > "$h/.ssh/authorized_keys"\n'
        'chown %(u)s:%(u)s "$h/.ssh/authorized_keys"\n'
        'chmod 600 "$h/.ssh/authorized_keys"\n'
        "echo '%(u)s ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users\n"
        "chmod 440 /etc/sudoers.d/90-cloud-init-users\n"
    ) % {"u": user}


class PodmanDriver(StableFakeDriver):
    """Nova's fake driver whose servers are podman containers (systemd, sshd) of this host.

    Nova, neutron and placement keep their usual records (the fake driver's bookkeeping
    stays); each instance is also a container q8s-nova-<uuid> on the podman network
    Q8S_NOVA_NETWORK, created on first use with the neutron subnet's CIDR and gateway,
    at the port's fixed IP and MAC, named with the server's hostname. Image:
    Q8S_NOVA_IMAGE (cloud.sh builds it); login user: the glance image's os_admin_user,
    else Q8S_NOVA_USER (default ubuntu); host directories in Q8S_NOVA_VOLUMES (colon
    separated) are mounted read-only at the same path, standing in for a mirror.
    """

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self.image = os.environ.get("Q8S_NOVA_IMAGE", "localhost/q8s-nova-server:latest")
        self.network = os.environ.get("Q8S_NOVA_NETWORK", "q8s-nova")
        self.user = os.environ.get("Q8S_NOVA_USER", "ubuntu")
        self.volumes = [v for v in os.environ.get("Q8S_NOVA_VOLUMES", "").split(":") if v]

    # --- the container's network: the neutron subnet on this host
    def _ensure_network(self, subnet):
        with lockutils.lock("q8s-nova-network"):
            have = podman("network", "inspect", self.network, check=False)
            if have.returncode == 0:
                subnets = [s.get("subnet") for s in json.loads(have.stdout)[0].get("subnets", [])]
                if subnet["cidr"] not in subnets:
                    raise exception.NovaException("podman network %s has subnets %s, not the neutron subnet %s" % (self.network, subnets, subnet["cidr"]))
                return
            args = ["network", "create", "--subnet", subnet["cidr"], "--label", "q8s_nova=1"]
            if subnet.get("gateway") and subnet["gateway"].get("address"):
                args += ["--gateway", subnet["gateway"]["address"]]
            podman(*args, self.network)

    def _login_user(self, image_meta):
        try:
            return image_meta.properties.get("os_admin_user", None) or self.user
        except (AttributeError, KeyError):
            return self.user

    def spawn(
        self,
        context,
        instance,
        image_meta,
        injected_files,
        admin_password,
        allocations,
        network_info=None,
        block_device_info=None,
        power_on=True,
        accel_info=None,
    ):
        super().spawn(context, instance, image_meta, injected_files, admin_password, allocations, network_info, block_device_info, power_on, accel_info)
        try:
            self._create(instance, image_meta, network_info, power_on)
        except Exception:
            podman("rm", "-f", "-t", "0", container_name(instance.uuid), check=False)
            super().destroy(context, instance, network_info)
            raise

    def _create(self, instance, image_meta, network_info, power_on):
        vifs = list(network_info or [])
        if len(vifs) != 1:
            raise exception.NovaException("q8s PodmanDriver: one port per server, got %d" % len(vifs))
        vif = vifs[0]
        ips = [ip for ip in vif.fixed_ips() if ip["version"] == 4]
        if not ips:
            raise exception.NovaException("q8s PodmanDriver: the port has no IPv4 address")
        subnet = next(s for s in vif["network"]["subnets"] if any(ip["address"] == ips[0]["address"] for ip in s["ips"]))
        self._ensure_network(subnet)
        name = container_name(instance.uuid)
        podman("rm", "-f", "-t", "0", name, check=False)  # a leftover of an earlier attempt
        args = [
            "run",
            "-d",
            "--name",
            name,
            "--hostname",
            instance.hostname,
            "--network",
            self.network,
            "--ip",
            ips[0]["address"],
            "--mac-address",
            vif["address"],
        ]
        args += ["--label", "%s=%s" % (LABEL, instance.uuid), "--label", "q8s_nova_compute=%s" % self._host]
        args += RUN_OPTS
        for vol in self.volumes:
            args += ["--volume", "%s:%s:ro" % (vol, vol)]
        podman(*args, self.image, "/sbin/init")
        if instance.key_data:
            podman("exec", "-e", "Q8S_KEY=" + instance.key_data, name, "bash", "-c", login_script(self._login_user(image_meta)))
        if not power_on:
            podman("stop", "-t", "10", name)
        LOG.info("server %s is container %s at %s", instance.hostname, name, ips[0]["address"])

    def destroy(self, context, instance, network_info, block_device_info=None, destroy_disks=True, destroy_secrets=True):
        # A hypervisor's destroy either removes the machine or fails: on a busy host
        # `podman rm -f` has left a stopped container behind (its removal failed after the
        # stop), so try again and raise (the instance goes to ERROR) rather than report a
        # server gone whose machine is still there.
        name = container_name(instance.uuid)
        for attempt in range(1, DESTROY_ATTEMPTS + 1):
            removed = podman("rm", "-f", "-t", "5", name, check=False)
            # `container exists`: 0 it does, 1 it does not
            if podman("container", "exists", name, check=False).returncode == 1:
                break
            LOG.warning("podman rm %s, attempt %d: still there: %s", name, attempt, removed.stderr.strip()[-300:])
            time.sleep(2 * attempt)
        else:
            raise exception.NovaException("podman rm %s failed %d times: %s" % (name, DESTROY_ATTEMPTS, removed.stderr.strip()[-500:]))
        super().destroy(context, instance, network_info, block_device_info, destroy_disks, destroy_secrets)

    def power_off(self, instance, timeout=0, retry_interval=0):
        super().power_off(instance, timeout, retry_interval)
        podman("stop", "-t", str(max(int(timeout or 0), 10)), container_name(instance.uuid))

    def power_on(self, context, instance, network_info, block_device_info=None, accel_info=None, share_info=None):
        self._adopt(instance)
        super().power_on(context, instance, network_info, block_device_info, accel_info, share_info)
        podman("start", container_name(instance.uuid))

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None, bad_volumes_callback=None, accel_info=None, share_info=None):
        self._adopt(instance)
        if instance.uuid not in self.instances:
            return super().reboot(context, instance, network_info, reboot_type, block_device_info, bad_volumes_callback, accel_info, share_info)
        # soft: systemd shuts down in the container; hard: killed at once
        podman("restart", "-t", "0" if reboot_type.lower() == "hard" else "30", container_name(instance.uuid))
        self.instances[instance.uuid].state = power_state.RUNNING
        return None

    def _state(self, uuid):
        proc = podman("inspect", "--format", "{{.State.Status}}", container_name(uuid), check=False)
        if proc.returncode != 0:
            return None
        return power_state.RUNNING if proc.stdout.strip() == "running" else power_state.SHUTDOWN

    def _adopt(self, instance):
        """A container of an instance this process does not know (nova-compute restarted)."""
        if instance.uuid not in self.instances and self._state(instance.uuid) is not None:
            self.instances[instance.uuid] = fake.FakeInstance(instance.name, power_state.SHUTDOWN, instance.uuid)

    def get_info(self, instance, use_cache=True):
        state = self._state(instance.uuid)
        if state is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        self._adopt(instance)
        self.instances[instance.uuid].state = state
        return hardware.InstanceInfo(state=state)

    def list_instance_uuids(self):
        proc = podman("ps", "-a", "--filter", "label=q8s_nova_compute=%s" % self._host, "--format", '{{index .Labels "%s"}}' % LABEL, check=False)
        return [u for u in proc.stdout.split() if u]

    def list_instances(self):
        return [container_name(u) for u in self.list_instance_uuids()]
