# q8s.cluster developer entry points.  CI runs `make setup && make test`.
#
#   make setup    .venv/ + .collections/ (scripts/setup.sh, idempotent)
#   make test     every suite of TEST_SUITES in order, stops at the first failure
#   make lint     yamllint, ansible-lint, ruff            (scripts/lint.sh)
#   make sanity   ansible-test sanity on a copy of the tree (scripts/sanity.sh)
#   make unit     pytest tests/unit
#   make integration  provision/teardown against a loopback OpenStack (tests/integration/run.sh)
#   make molecule     QEMU layer roles on podman hosts with real guests (tests/molecule.sh)
#   make molecule-k8s Kubernetes layer roles (tests/molecule_k8s.sh)
#   make local        the local provider end to end: examples/local.yml on podman (tests/local.sh)
#   make local-cluster | local-golden   its two halves: the example cluster, the golden image
#   make e2e          site.yml on the loopback OpenStack with container servers (tests/e2e.sh)
#   make deploy       site.yml for CLUSTER (default examples/local.yml), ARGS passed on
#   make teardown     teardown.yml for CLUSTER; deletes only with CONFIRM=true
#   make bench    scripts/bench.sh, or every tests/bench/*.py
#   make package  build, install and check the tarball as Galaxy and ansible-builder would (tests/package.sh)
#   make golden   regenerate golden inventory files (tests/unit/regen_golden.py)
#   make clean    remove generated files (keeps .venv/ and .collections/)
#   make distclean  clean + remove .venv/ and .collections/

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python

# Tools of the venv first, and the checkout's ansible.cfg for every command.
export PATH := $(VENV)/bin:$(PATH)
export VIRTUAL_ENV := $(VENV)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PIP_CACHE_DIR ?= /var/cache/q8s/pip

# The stages `make test` runs, in this order (scripts/test.sh): lint, sanity and unit side
# by side (each keeps about one core busy), then two lanes side by side. Each lane mixes
# suites that mostly compute (TCG guests) with suites that mostly wait: the loopback cloud
# (integration, then e2e: they share its ports, so one lane, one after the other) and the
# local provider in one; the QEMU-layer Molecule scenarios, the Kubernetes-layer ones and
# the package checks in the other. The local suite's golden-image module (its own cluster,
# network and image directory) ends the first lane: with keystone's cache the cloud's
# suites take less than the Molecule lane. Figures per suite: docs/performance.md.
TEST_SUITES := lint,sanity,unit integration+e2e+local-cluster+local-golden,molecule+molecule-k8s+package
CLUSTER ?= examples/local.yml
ARGS ?=
CONFIRM ?= false

.PHONY: help setup test lint sanity unit integration molecule molecule-k8s local local-cluster local-golden e2e bench golden \
	clean distclean check-venv deploy teardown package

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup:
	@scripts/setup.sh

# Each suite runs as its own make, in order, timed (scripts/test.sh); the test bed's
# images are built in the background while the first suites run.
test: check-venv
	@scripts/test.sh $(TEST_SUITES)

check-venv:
	@test -x $(PY) || { echo "no .venv: run 'make setup' first" >&2; exit 1; }

lint: check-venv
	@scripts/lint.sh

sanity: check-venv
	@scripts/sanity.sh

unit: check-venv
	cd $(ROOT) && $(PY) -m pytest tests/unit

# The loopback OpenStack (tests/integration/cloud/): installed, started, stopped.
integration: check-venv
	tests/integration/run.sh

# The QEMU layer on podman "hosts": qemu_host, nat_bridge, the three roles together.
molecule: check-venv
	tests/molecule.sh

# The Kubernetes layer: k8s_common, control_plane, kubeadm paths against stubs.
molecule-k8s: check-venv
	tests/molecule_k8s.sh

# The local provider: the README's deploy command up to the Kubernetes steps, checked.
local: check-venv
	tests/local.sh

# The same suite in two halves that can run side by side (make test's lanes): the
# example cluster and what uses it, and the golden image module with its own cluster.
local-cluster: check-venv
	tests/local.sh --ignore tests/local/test_golden.py

local-golden: check-venv
	LOCAL_TESTS=tests/local/test_golden.py tests/local.sh

# The OpenStack provider end to end: the loopback cloud's servers are podman containers.
e2e: check-venv
	tests/e2e.sh

# The built tarball: installed offline with its dependencies, used from outside the checkout
# (also with the oldest ansible-core requires_ansible claims), galaxy-importer, ansible-builder,
# antsibull-docs and antsibull-changelog; tools in venvs cached under /var/cache/q8s.
package: check-venv
	tests/package.sh

deploy: check-venv
	scripts/deploy.sh $(CLUSTER) $(ARGS)

teardown: check-venv
	ansible-playbook playbooks/teardown.yml -e @$(CLUSTER) -e q8s_teardown_confirm=$(CONFIRM) $(ARGS)

bench: check-venv
	@scripts/bench.sh

golden: check-venv
	@if [ -f tests/unit/regen_golden.py ]; then \
		$(PY) tests/unit/regen_golden.py; \
	else \
		echo "tests/unit/regen_golden.py does not exist yet: nothing to regenerate"; \
	fi

clean:
	rm -rf tests/output .pytest_cache .ruff_cache logs *.tar.gz .ansible
	find . -path ./.venv -prune -o -path ./.collections -prune -o \
		-name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf .venv .collections
