"""Nova's fake virt driver with node UUIDs that survive a restart.

FakeDriver draws its node UUID from a per-process sentinel, so a restarted fake
nova-compute looks like a new node and refuses to start ("No local node identity
found"). cloud.sh writes the same uuid5 into <state_path>/compute_id before each start.
"""

import uuid

from nova.virt import fake


def node_uuid(nodename):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "q8s-fake-node:" + nodename))


class StableFakeDriver(fake.FakeDriver):
    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        resources["uuid"] = node_uuid(nodename)
        return resources

    def get_nodenames_by_uuid(self, refresh=False):
        return {node_uuid(n): n for n in self.get_available_nodes()}
