"""Local emulators of the APIs the doks.gitops platform talks to.

Kubernetes, DigitalOcean API v2, Auth0 Management API, Spaces (S3, via moto) and an artifact
server (Helm chart repository and release manifests), all over HTTPS from one sandbox CA,
bound to 127.0.0.1, with state kept under the state directory (default ``.sandbox/``).
Not part of the Galaxy artifact. ``sandbox.client`` starts and drives a sandbox.

``CHARTS`` and ``RELEASES`` are the stand-in chart sources and release manifests the artifact
server serves (tests that render or apply them read them from here).
"""

from pathlib import Path

CHARTS = Path(__file__).resolve().parent / "charts"
RELEASES = Path(__file__).resolve().parent / "releases"
