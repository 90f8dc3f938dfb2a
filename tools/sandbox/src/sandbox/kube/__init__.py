"""A Kubernetes API server emulator that kubectl, helm and the kubernetes client accept."""

from sandbox.kube.emulator import KubeEmulator

__all__ = ["KubeEmulator"]
