"""Local emulators of the APIs the doks.gitops platform talks to.

Kubernetes, DigitalOcean API v2, Auth0 Management API, Spaces (S3, via moto) and an artifact
server (Helm chart repository and release manifests), all over HTTPS from one sandbox CA,
bound to 127.0.0.1, with state kept under the state directory (default ``.sandbox/``).
Not part of the Galaxy artifact.
"""
