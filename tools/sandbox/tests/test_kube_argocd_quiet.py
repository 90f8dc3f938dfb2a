"""Regression: an Application in an otherwise quiet cluster still gets reconciled.

The emulated Argo CD controller waits a moment before it reports; that wait must keep the
cluster's controllers scheduled, or nothing revisits the Application until the next write
(site.yml's wait gate timed out on exactly that).
"""

from __future__ import annotations

import json
import time
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

import sandbox
from sandbox.kube import KubeEmulator
from sandbox.server import Context, Request
from sandbox.store import Store

CRDS = sandbox.CHARTS / "argo-cd" / "crds"


def _call(kube: KubeEmulator, token: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    headers = Message()
    headers["Authorization"] = f"Bearer {token}"
    headers["Content-Type"] = "application/json"
    request = Request(method, path, {}, headers, json.dumps(body).encode() if body is not None else b"")
    with kube.lock:
        response = kube.handle(request)
    assert response.status < 300, response.payload()
    return json.loads(response.payload() or b"{}")


def test_application_in_a_quiet_cluster_is_reconciled(tmp_path: Path) -> None:
    kube = KubeEmulator(Context("kubernetes", Store(tmp_path / "k.json"), {}, {}))
    kube.endpoint("https://127.0.0.1:1")
    token = kube.endpoint("https://127.0.0.1:1")["token"]
    for crd in sorted(CRDS.glob("*.yaml")):
        for doc in yaml.safe_load_all(crd.read_text()):
            if doc:
                _call(kube, token, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc)
    _call(kube, token, "POST", "/api/v1/namespaces", {"metadata": {"name": "argocd"}})
    kube.tick()
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "quiet"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/acme/gitops.git", "targetRevision": "main", "path": "apps"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "lofi"},
            "syncPolicy": {"automated": {}},
        },
    }
    path = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
    _call(kube, token, "POST", path, app)
    deadline = time.monotonic() + 5
    status: dict[str, Any] = {}
    while time.monotonic() < deadline and not status.get("sync"):
        time.sleep(0.1)
        with kube.lock:
            kube.tick()  # what the sandbox process does every 100 ms; no other write happens
        status = _call(kube, token, "GET", f"{path}/quiet").get("status") or {}
    assert status.get("sync", {}).get("status") == "Synced"
    assert status["health"]["status"] == "Healthy"
