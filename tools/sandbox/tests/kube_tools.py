"""Helpers for contract tests that drive the Kubernetes emulator with the kubernetes Python client.

Imported by name (``from kube_tools import wait_for``): pytest puts this directory on sys.path.
The tests share one sandbox per session (conftest.py), so whatever a module creates may already
exist: a 409 Conflict from a create is the object another module made, not a failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

import sandbox

# The CRDs of the stand-in argo-cd chart (generated from argoproj/argo-cd's manifests).
ARGO_CD_CRDS = sandbox.CHARTS / "argo-cd" / "crds"


def argo_cd_crds(*plurals: str) -> list[dict[str, Any]]:
    """The stand-in chart's CRDs ``<plural>.argoproj.io``, e.g. ``argo_cd_crds("applications")``."""
    return [yaml.safe_load((ARGO_CD_CRDS / f"{plural}.argoproj.io.yaml").read_text()) for plural in plurals]


def install_crds(api_client: client.ApiClient, crds: Iterable[dict[str, Any]], namespace: str) -> None:
    """Create ``crds`` and the test module's ``namespace``, each unless it exists already."""
    ext = client.ApiextensionsV1Api(api_client)
    for crd in crds:
        try:
            ext.create_custom_resource_definition(crd)
        except client.ApiException as exc:
            assert exc.status == 409
    try:
        client.CoreV1Api(api_client).create_namespace({"metadata": {"name": namespace}})
    except client.ApiException as exc:
        assert exc.status == 409


def wait_for(probe: Callable[[], Any], what: str, timeout: float, interval: float = 0.2) -> Any:
    """``probe()``'s first truthy result, polled every ``interval`` seconds for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def listable(custom: client.CustomObjectsApi, namespace: str, *resources: tuple[str, str, str]) -> bool:
    """Whether each ``(group, version, plural)`` lists in ``namespace`` yet: CRDs are served at once,
    but give discovery a moment on a loaded machine (poll it with :func:`wait_for`)."""
    try:
        for group, version, plural in resources:
            custom.list_namespaced_custom_object(group, version, namespace, plural)
    except client.ApiException:
        return False
    return True


def served_dynamic(
    api_client: client.ApiClient, api_version: str, kind: str, timeout: float, interval: float = 0.2
) -> dynamic.DynamicClient:
    """A dynamic client once discovery serves ``kind`` (a CRD just created is not in it at once)."""

    def probe() -> dynamic.DynamicClient | None:
        dyn_client = dynamic.DynamicClient(api_client)
        try:
            dyn_client.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:  # discovery not refreshed yet
            return None
        return dyn_client

    group = api_version.split("/", maxsplit=1)[0]
    return wait_for(probe, f"the {group} API to be served", timeout=timeout, interval=interval)


def cluster_secret(
    name: str,
    server: str,
    config: dict[str, Any],
    *,
    secret_name: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An Argo CD cluster Secret (argo-cd v3.4.4 docs/operator-manual/declarative-setup.md, util/db/cluster.go):
    labelled ``argocd.argoproj.io/secret-type=cluster``, the cluster's ``name``, ``server`` and
    ``config`` (JSON) as data; ``labels`` and ``annotations`` are added (the ApplicationSet cluster
    generator reads them), the Secret is named ``secret_name`` or else the cluster's name."""
    metadata: dict[str, Any] = {
        "name": secret_name or name,
        "labels": {"argocd.argoproj.io/secret-type": "cluster", **(labels or {})},
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"metadata": metadata, "stringData": {"name": name, "server": server, "config": json.dumps(config)}}


def applications(dyn: dynamic.DynamicClient) -> Any:
    """The Application resource of Argo CD's API group."""
    return dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Application")


def app_status(dyn: dynamic.DynamicClient, name: str, namespace: str = "argocd") -> dict[str, Any]:
    """The Application's status, ``{}`` before the controller wrote one."""
    return applications(dyn).get(name=name, namespace=namespace).to_dict().get("status") or {}


def delete_application(dyn: dynamic.DynamicClient, name: str, namespace: str = "argocd", timeout: float = 30.0) -> None:
    """Delete the Application and wait until it is gone (its finalizers done)."""
    applications(dyn).delete(name=name, namespace=namespace)

    def gone() -> bool:
        try:
            applications(dyn).get(name=name, namespace=namespace)
        except NotFoundError:
            return True
        return False

    wait_for(gone, f"{name} to be deleted", timeout)


def wait_synced_healthy(
    dyn: dynamic.DynamicClient, name: str, namespace: str = "argocd", timeout: float = 30.0
) -> dict[str, Any]:
    """The Application's status once it is Synced and Healthy; the last status in the failure."""

    def probe() -> dict[str, Any] | None:
        status = app_status(dyn, name, namespace)
        ok = (status.get("sync") or {}).get("status") == "Synced" and status["health"]["status"] == "Healthy"
        return status if ok else None

    try:
        return wait_for(probe, f"{name} to be Synced and Healthy", timeout)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; status: {json.dumps(app_status(dyn, name, namespace), indent=1)[:3000]}"
        ) from None
