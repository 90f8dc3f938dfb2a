"""Workloads in an emulated DOKS cluster that make DigitalOcean objects appear.

A LoadBalancer Service (the cloud controller's load balancer), a bound claim (the CSI driver's
volume), and external-dns with the DigitalOcean provider publishing an Ingress host (records).
The contract tests of the emulator and the unit tests of doks_cluster share them.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client, config

TRAEFIK_LABELS = {"app.kubernetes.io/name": "traefik"}


class DoApi:
    """Plain DigitalOcean API calls with the sandbox token (no client library in the way)."""

    def __init__(self, url: str, token: str, ca_file: str) -> None:
        self.url, self.token, self.ca = url, token, ca_file

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        req = urllib.request.Request(  # noqa: S310
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        context = ssl.create_default_context(cafile=self.ca)
        try:
            with urllib.request.urlopen(req, context=context, timeout=30) as resp:  # noqa: S310
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw, status = err.read(), err.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode()

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        assert status == 200, (path, status, body)
        return body


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(0.1)


def running_cluster(api: DoApi, name: str) -> dict[str, Any]:
    """Create a one-node cluster (fra1) and wait until it runs."""
    status, body = api.call(
        "POST",
        "/v2/kubernetes/clusters",
        {
            "name": name,
            "region": "fra1",
            "version": "latest",
            "node_pools": [{"name": "base", "size": "s-2vcpu-4gb", "count": 1}],
        },
    )
    assert status == 201, body
    cluster_id = body["kubernetes_cluster"]["id"]

    def running() -> dict[str, Any] | None:
        cluster = api.get(f"/v2/kubernetes/clusters/{cluster_id}")["kubernetes_cluster"]
        return cluster if cluster["status"]["state"] == "running" else None

    return wait_for(f"cluster {name} running", running)


def kube(api: DoApi, cluster_id: str) -> client.ApiClient:
    """A Kubernetes client for the cluster, from the kubeconfig the API issues."""
    status, text = api.call("GET", f"/v2/kubernetes/clusters/{cluster_id}/kubeconfig?expiry_seconds=3600")
    assert status == 200, text
    return config.new_client_from_config_dict(yaml.safe_load(text))


def load_balancer_service(
    kc: client.ApiClient, name: str, lb_name: str | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    annotations = {"service.beta.kubernetes.io/do-loadbalancer-name": lb_name} if lb_name else None
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "annotations": annotations, "labels": labels},
        "spec": {"type": "LoadBalancer", "selector": {"app": name}, "ports": [{"name": "http", "port": 80}]},
    }
    return client.CoreV1Api(kc).create_namespaced_service("default", body).to_dict()


def claim(kc: client.ApiClient, name: str, size: str = "5Gi") -> dict[str, Any]:
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }
    return client.CoreV1Api(kc).create_namespaced_persistent_volume_claim("default", body).to_dict()


def external_dns(kc: client.ApiClient, token: str, owner: str, domain: str, policy: str = "upsert-only") -> None:
    """external-dns as the chart 1.20.0 stand-in renders it for roles/ingress_certmanager's values:
    the token by reference, the flags of its template."""
    core, apps = client.CoreV1Api(kc), client.AppsV1Api(kc)
    core.create_namespace({"metadata": {"name": "external-dns"}})
    secret = {
        "metadata": {"name": "digitalocean-dns"},
        "data": {"access-token": base64.b64encode(token.encode()).decode()},
    }
    core.create_namespaced_secret("external-dns", secret)
    args = [
        "--log-level=info",
        "--log-format=text",
        "--interval=1m",
        "--source=ingress",
        "--source=service",
        f"--policy={policy}",
        "--registry=txt",
        f"--txt-owner-id={owner}",
        f"--domain-filter={domain}",
        "--provider=digitalocean",
    ]
    env = [{"name": "DO_TOKEN", "valueFrom": {"secretKeyRef": {"name": "digitalocean-dns", "key": "access-token"}}}]
    labels = {"app.kubernetes.io/name": "external-dns"}
    container = {
        "name": "external-dns",
        "image": "registry.k8s.io/external-dns/external-dns:v0.20.0",
        "args": args,
        "env": env,
    }
    deployment = {
        "metadata": {"name": "external-dns"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    apps.create_namespaced_deployment("external-dns", deployment)


def ingress(kc: client.ApiClient, name: str, host: str) -> None:
    """An Ingress for ``host``; the first call adds the IngressClass and the controller's
    LoadBalancer Service whose address the Ingress gets."""
    net = client.NetworkingV1Api(kc)
    if not net.list_ingress_class().items:
        net.create_ingress_class(
            {"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}}
        )
        load_balancer_service(kc, "traefik", labels=TRAEFIK_LABELS)
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    rule = {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    body = {"metadata": {"name": name}, "spec": {"ingressClassName": "traefik", "rules": [rule]}}
    net.create_namespaced_ingress("default", body)


def delete_ingress(kc: client.ApiClient, name: str) -> None:
    client.NetworkingV1Api(kc).delete_namespaced_ingress(name, "default")


def records(api: DoApi, zone: str) -> list[tuple[str, str, str]]:
    """(type, name, data) of the zone's records other than NS and SOA."""
    found = api.get(f"/v2/domains/{zone}/records?per_page=200")["domain_records"]
    return sorted((r["type"], r["name"], r["data"]) for r in found if r["type"] not in {"NS", "SOA"})
