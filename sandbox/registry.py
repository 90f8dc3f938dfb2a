"""The emulators the sandbox runs: name -> "module:Class" (an Emulator subclass)."""

from __future__ import annotations

import importlib

from sandbox.server import Emulator

EMULATORS: dict[str, str] = {
    "artifacts": "sandbox.artifacts:ArtifactServer",
    "kubernetes": "sandbox.kube:KubeEmulator",
}


def load(name: str) -> type[Emulator]:
    module, _, cls = EMULATORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
