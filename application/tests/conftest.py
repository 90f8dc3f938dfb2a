"""Fixtures for the application/ tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from lofi_charts import HELM


@pytest.fixture(scope="session")
def helm() -> Path:
    assert HELM.is_file(), "run `make setup` first: .tools/bin/helm is missing"
    return HELM
