"""The Auth0 Management API emulator (see :mod:`sandbox.auth0.emulator`)."""

from sandbox.auth0.emulator import Auth0Emulator

__all__ = ["Auth0Emulator"]
