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
#   make bench    scripts/bench.sh, or every tests/bench/*.py
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

# The suites `make test` runs, in this order.  A new suite is a new target
# plus an entry here, e.g. `TEST_SUITES += molecule integration`.
TEST_SUITES := lint sanity unit
# Not yet part of `make test`: in a clean clone the integration suite failed (servers
# not ACTIVE under load) and the Molecule suites have not passed a full run; run them
# with `make integration`, `make molecule`, `make molecule-k8s`.

.PHONY: help setup test lint sanity unit bench golden clean distclean check-venv \
	$(TEST_SUITES)

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

setup:
	@scripts/setup.sh

# Each suite runs as its own make so that the order holds even under -j.
test: check-venv
	@for suite in $(TEST_SUITES); do \
		echo "==> make $$suite"; \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$suite || { echo "==> FAILED: $$suite"; exit 1; }; \
		echo "==> ok: $$suite ($$(( $$(date +%s) - start ))s)"; \
	done

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

bench: check-venv
	@if [ -x scripts/bench.sh ]; then \
		scripts/bench.sh; \
	else \
		shopt -s nullglob; found=0; \
		for f in tests/bench/*.py; do found=1; echo "==> $$f"; $(PY) "$$f"; done; \
		[ $$found = 1 ] || echo "no benchmarks (scripts/bench.sh or tests/bench/*.py)"; \
	fi

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
