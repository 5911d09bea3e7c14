"""Test-only Neutron ML2 mechanism driver for the q8s loopback cloud."""
