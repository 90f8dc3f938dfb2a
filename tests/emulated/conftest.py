"""Sandboxes the unit tests of the modules share: one per test module, reset before each test.

* ``box``: the Auth0 emulator (``tests.emulated.auth0_sandbox``, a client of ``sandbox.client``), faults cleared.
* ``do``: the DigitalOcean emulator (:class:`tests.emulated.doks_helpers.DoSandbox`); a test module
  that needs other emulator settings overrides the module-scoped ``do_settings`` fixture (by
  default the sandbox inventory's ``sandbox_settings``: the default cluster's nodes are the
  platform's pools, as ``make sandbox-up`` starts it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import client
from sandbox.cli import read_settings
from tests.emulated.auth0_sandbox import Sandbox, start
from tests.emulated.doks_helpers import DoSandbox

SANDBOX_INVENTORY_VARS = Path(__file__).resolve().parents[2] / "inventories/sandbox/group_vars/all/sandbox.yml"


@pytest.fixture(scope="module")
def auth0_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start(Path(tmp_path_factory.mktemp("auth0-unit")))
    yield sandbox
    sandbox.stop()


@pytest.fixture
def box(auth0_sandbox: Sandbox) -> Sandbox:
    auth0_sandbox.reset()
    auth0_sandbox.clear_faults()
    return auth0_sandbox


@pytest.fixture(scope="module")
def do_settings() -> dict[str, Any] | None:
    """Sandbox settings (``settings.json``) of the DigitalOcean sandbox: the sandbox inventory's."""
    return read_settings(SANDBOX_INVENTORY_VARS)


@pytest.fixture(scope="module")
def do_sandbox(tmp_path_factory: pytest.TempPathFactory, do_settings: dict[str, Any] | None) -> Iterator[DoSandbox]:
    state = tmp_path_factory.mktemp("do-sandbox")
    endpoints = client.start(state, do_settings)
    yield DoSandbox(endpoints)
    client.stop(state)


@pytest.fixture
def do(do_sandbox: DoSandbox) -> DoSandbox:
    do_sandbox.reset()
    return do_sandbox
