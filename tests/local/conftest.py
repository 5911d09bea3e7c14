"""The local provider suite (tests/local.sh)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "local: deploys examples/local.yml on this machine (tests/local.sh)")
