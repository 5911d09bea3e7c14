"""The e2e suite (tests/e2e.sh): the main command against the loopback OpenStack whose
servers are podman containers (cloud.sh with Q8S_CLOUD_COMPUTE=podman)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: site.yml on the loopback OpenStack with container servers (tests/e2e.sh)")
