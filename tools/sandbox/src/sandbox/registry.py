"""The emulators the sandbox runs: name -> "module:Class" (an Emulator subclass)."""

from __future__ import annotations

import importlib

from sandbox.server import Emulator

EMULATORS: dict[str, str] = {
    "kubernetes": "sandbox.kube:KubeEmulator",
    "artifacts": "sandbox.artifacts:ArtifactServer",
    "auth0": "sandbox.auth0:Auth0Emulator",
    "digitalocean": "sandbox.digitalocean:DigitalOceanEmulator",
    "spaces": "sandbox.spaces:SpacesEmulator",
    "git": "sandbox.gitserver:GitServer",
}


def load(name: str) -> type[Emulator]:
    module, _, cls = EMULATORS[name].partition(":")
    return getattr(importlib.import_module(module), cls)
