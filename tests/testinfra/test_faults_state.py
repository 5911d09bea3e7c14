"""playbooks/faults.yml's host state once a partition is healed (Molecule link_profile):
no chain Q8S-PARTITION and no jump to it in the raw table, on either side."""

CHAIN = "Q8S-PARTITION"


def test_no_partition_chain(host):
    raw = host.iptables.rules("raw")
    assert not [rule for rule in raw if CHAIN in rule], raw
