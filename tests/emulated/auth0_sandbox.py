"""The Auth0 emulator of a private sandbox: a :class:`sandbox.client.Sandbox` whose admin calls go to ``auth0``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox import client

ROOT = Path(__file__).resolve().parents[2]


class Sandbox(client.Sandbox):
    def __init__(self, state: Path, emulator: str | None = "auth0") -> None:
        super().__init__(state, emulator)

    @property
    def auth0(self) -> dict[str, Any]:
        return self.endpoints["auth0"]


def start(state: Path) -> Sandbox:
    return Sandbox.start(state, emulator="auth0")
