"""The rules of a cluster's security group in neutron (module_utils/q8s_openstack.py,
filter security_group_rules) where the list could hold a rule twice: admin_cidr
0.0.0.0/0 with the open-to-world opt-in."""

import pytest

from conftest import cluster_servers, make_spec, playbook

pytestmark = pytest.mark.integration

WORLD = "q8s_provision_open_to_world=true"


def test_a_world_admin_cidr_opened_to_the_world_gets_each_rule_once(cloud_env, tmp_path, tenant):
    spec = make_spec(tmp_path, "world", admin_cidr="0.0.0.0/0")
    try:
        run = playbook(cloud_env, "provision.yml", spec, WORLD)
        assert run.rc == 0, run
        assert len(cluster_servers(tenant, "world")) == 2
        group = tenant.network.find_security_group("world-cluster")
        ingress = [r for r in tenant.network.security_group_rules(security_group_id=group.id) if r.direction == "ingress"]
        opened = sorted((r.protocol, r.port_range_min, r.port_range_max) for r in ingress if r.remote_ip_prefix == "0.0.0.0/0")
        assert opened == [("tcp", 22, 22), ("tcp", 6443, 6443)]
        again = playbook(cloud_env, "provision.yml", spec, WORLD)
        assert again.rc == 0 and again.changed == 0, again
    finally:
        down = playbook(cloud_env, "teardown.yml", spec, "q8s_teardown_confirm=true", WORLD)
        assert down.rc == 0, down
