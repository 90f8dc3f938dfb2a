"""The Kubernetes API emulator: HTTP routing, authentication and the virtual clusters.

The default cluster answers at the server root; others under ``/clusters/<id>/``. Each has
its own objects, bearer tokens and nodes. The DigitalOcean emulator (same process) manages
clusters through the Python API below (``ensure_cluster``, ``set_nodes``, ``remove_cluster``,
``server_url``, ``add_token``, ``kubeconfig``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import yaml

from sandbox.kube import argosync, controllers, judge, openapi, protobuf
from sandbox.kube.cluster import Cluster, Op
from sandbox.kube.errors import KubeError
from sandbox.kube.errors import status as status_body
from sandbox.kube.handlers import Handlers
from sandbox.server import Context, Emulator, Request, Response

DEFAULT = "default"
# The default cluster's nodes when the settings name none (``{"kubernetes": {"nodes": [...]}}``):
# one untainted node. Whoever needs pools (names, labels, taints) configures them.
DEFAULT_NODES: list[dict[str, Any]] = [{"name": "node-1", "labels": {}, "taints": []}]
PUBLIC = {"/version", "/healthz", "/livez", "/readyz"}
# core/v1 TaintEffect
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class KubeEmulator(Emulator):
    name = "kubernetes"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.base_url = ""
        ca_file = ctx.endpoints.get("ca_file")
        self.ca_pem = Path(ca_file).read_text() if ca_file and Path(ca_file).exists() else ""
        self.clusters: dict[str, Cluster] = {}
        self._openapi_cache: dict[Any, Any] = {}
        self.default_nodes = _nodes_setting(ctx.settings.get("nodes"))
        # Argo CD's sync (argosync.py) reaches every virtual cluster and the chart server through this
        self.sync_env = argosync.SyncEnv(
            clusters=self.clusters,
            kube_url=lambda: self.base_url,
            charts_url=lambda: str((ctx.endpoints.get("artifacts") or {}).get("charts") or ""),
            ca_file=lambda: str(ctx.endpoints.get("ca_file") or ""),
            helm_home=str(self.store.path.parent / "argocd-helm"),
            git_url=lambda: str((ctx.endpoints.get("git") or {}).get("url") or ""),
            git_cache=str(self.store.path.parent / "argocd-git"),
        )
        with self.lock:
            self._load()

    # ------------------------------------------------------------------ state

    def _load(self) -> None:
        data = self.store.data.setdefault("clusters", {})
        for cid, cdata in data.items():
            self.clusters[cid] = self._new_cluster(cid, cdata)
        if DEFAULT not in self.clusters:
            self.ensure_cluster(DEFAULT, secrets.token_urlsafe(32), self.default_nodes)
        else:
            self.set_nodes(DEFAULT, self.default_nodes)

    def reset(self) -> None:
        """Wipe every cluster; the default cluster comes back with the same token (endpoints.json)."""
        with self.lock:
            token = self.default_token()
            for cluster in self.clusters.values():
                cluster.bus.close()
            self.clusters.clear()
            self.store.data.clear()
            self.ensure_cluster(DEFAULT, token, self.default_nodes)
            self.store.touch()
        if self.ctx.endpoints.get("state_dir"):
            self._write_kubeconfig()

    def close(self) -> None:
        for cluster in self.clusters.values():
            cluster.bus.close()

    # ------------------------------------------------------------------ Python API for peers

    def ensure_cluster(self, cluster_id: str, token: str, nodes: list[dict[str, Any]]) -> None:
        """Create the virtual cluster if needed, accept ``token`` and set its nodes."""
        with self.lock:
            if cluster_id not in self.clusters:
                cdata = self.store.data.setdefault("clusters", {}).setdefault(cluster_id, {})
                cluster = self.clusters[cluster_id] = self._new_cluster(cluster_id, cdata)
                _bootstrap(cluster)
            self.add_token(cluster_id, token, None)
            self.set_nodes(cluster_id, nodes)

    def _new_cluster(self, cluster_id: str, cdata: dict[str, Any]) -> Cluster:
        cluster = Cluster(cluster_id, cdata, self.store.touch)
        cluster.sync_env = self.sync_env
        return cluster

    def set_nodes(self, cluster_id: str, nodes: list[dict[str, Any]]) -> None:
        """Create, update or delete Node objects to match ``nodes`` (name, labels, taints)."""
        with self.lock:
            _set_nodes(self._cluster(cluster_id), nodes)

    def remove_cluster(self, cluster_id: str) -> None:
        with self.lock:
            cluster = self.clusters.pop(cluster_id, None)
            if cluster is not None:
                cluster.bus.close()
            self.store.data.get("clusters", {}).pop(cluster_id, None)
            self.store.touch()

    def server_url(self, cluster_id: str) -> str:
        return self.base_url if cluster_id == DEFAULT else f"{self.base_url}/clusters/{cluster_id}"

    def add_token(self, cluster_id: str, token: str, expires_at: float | None) -> None:
        with self.lock:
            cluster = self._cluster(cluster_id)
            cluster.data["tokens"][token] = expires_at
            self.store.touch()

    def revoke_tokens(self, cluster_id: str, tokens: list[str]) -> None:
        """Stop accepting ``tokens`` (the DigitalOcean peer revokes the ones it issued)."""
        with self.lock:
            cluster = self.clusters.get(cluster_id)
            if cluster is None:
                return
            for token in tokens:
                cluster.data["tokens"].pop(token, None)
            self.store.touch()

    def kubeconfig(self, cluster_id: str, token: str, name: str | None = None) -> str:
        """A kubeconfig document (YAML) for ``cluster_id`` authenticating with ``token``."""
        label = name or ("sandbox" if cluster_id == DEFAULT else cluster_id)
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": label,
                    "cluster": {
                        "server": self.server_url(cluster_id),
                        "certificate-authority-data": base64.b64encode(self.ca_pem.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": f"{label}-admin", "user": {"token": token}}],
            "contexts": [
                {"name": label, "context": {"cluster": label, "user": f"{label}-admin", "namespace": "default"}}
            ],
            "current-context": label,
            "preferences": {},
        }
        return yaml.safe_dump(doc, sort_keys=False)

    def cluster(self, cluster_id: str = DEFAULT) -> Cluster:
        """The virtual cluster (tests and peers read its objects under ``self.lock``)."""
        return self._cluster(cluster_id)

    def _cluster(self, cluster_id: str) -> Cluster:
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise KeyError(f"no virtual cluster {cluster_id!r}")
        return cluster

    # ------------------------------------------------------------------ sandbox hooks

    def default_token(self) -> str:
        tokens = self.clusters[DEFAULT].data["tokens"]
        return next(t for t, exp in tokens.items() if exp is None)

    def endpoint(self, base_url: str) -> dict[str, Any]:
        self.base_url = base_url
        state = self.store.path.parent
        return {"url": base_url, "kubeconfig": str(state / "kubeconfig"), "token": self.default_token()}

    def on_start(self, endpoints: dict[str, Any]) -> None:
        ca_file = endpoints.get("ca_file")
        if ca_file:
            self.ca_pem = Path(ca_file).read_text()
        self._write_kubeconfig()

    def _write_kubeconfig(self) -> None:
        path = self.store.path.parent / "kubeconfig"
        with self.lock:
            text = self.kubeconfig(DEFAULT, self.default_token())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def tick(self) -> None:
        for cluster in list(self.clusters.values()):
            if not controllers.idle(cluster) or argosync.stale(cluster):
                controllers.reconcile(cluster, self.ca_pem)

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, status_body(status, message, extra.get("reason"), extra.get("details")))

    def fault_headers(self, status: int) -> dict[str, str]:
        return {"Retry-After": "1"} if status == 429 else {}

    # ------------------------------------------------------------------ HTTP

    def admin_routes(self) -> dict[tuple[str, str], Any]:
        return {("GET", "audit"): self._admin_audit}

    def _admin_audit(self, request: Request) -> Response:
        """The fidelity gate: every object of every virtual cluster (or ``?cluster=<id>``) judged again."""
        wanted = request.arg("cluster")
        with self.lock:
            found = [
                problem
                for cid, cluster in sorted(self.clusters.items())
                if not wanted or cid == wanted
                for problem in judge.audit_cluster(cluster)
            ]
            count = sum(
                len(bucket)
                for cid, cluster in self.clusters.items()
                if not wanted or cid == wanted
                for bucket in cluster.data["objects"].values()
            )
        return Response(200, {"objects": count, "problems": found})

    def handle(self, request: Request) -> Response:
        cluster_id, path = DEFAULT, request.path
        if path.startswith("/clusters/"):
            _, _, rest = path.partition("/clusters/")
            cluster_id, _, tail = rest.partition("/")
            path = "/" + tail
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            return self.error(404, f"no cluster {cluster_id!r} on this server")
        prefix = "" if cluster_id == DEFAULT else f"/clusters/{cluster_id}"
        try:
            # /version, /healthz, ... are open to anonymous requests, but a request that presents
            # a bearer token is authenticated first: the API server answers an invalid or expired
            # token with 401 on every path (the token authenticator fails the request before the
            # anonymous one is tried: kubernetes pkg/kubeapiserver/authenticator/config.go, "don't
            # consider a bad bearer token ... anonymous", union.NewFailOnError).
            if path.rstrip("/") not in PUBLIC or request.bearer():
                self._authenticate(cluster, request)
            response = Handlers(self, cluster, request, path, prefix).dispatch()
            if request.method in {"POST", "PUT", "PATCH", "DELETE"} and response.status < 400:
                # Controllers react at once, as if the write had been watched by them.
                controllers.reconcile(cluster, self.ca_pem)
            return response
        except KubeError as exc:
            return Response(exc.code, status_body(exc.code, exc.message, exc.reason, exc.details))

    def _authenticate(self, cluster: Cluster, request: Request) -> None:
        token = request.bearer()
        if not token or token not in cluster.data["tokens"]:
            raise KubeError(401, "Unauthorized")
        expires = cluster.data["tokens"][token]
        if expires is not None and expires < time.time():
            raise KubeError(401, "Unauthorized")

    # ------------------------------------------------------------------ OpenAPI (cached by types)

    def openapi_v2(self, cluster: Cluster, proto: bool) -> bytes:
        key = ("v2", proto, _signature(cluster))
        if key not in self._openapi_cache:
            document = openapi.v2_document(cluster.types)
            self._openapi_cache[key] = protobuf.document(document) if proto else json.dumps(document).encode()
        return self._openapi_cache[key]

    def openapi_v3(self, cluster: Cluster, group: str, version: str) -> tuple[bytes, str]:
        signature = _signature(cluster, group, version)
        key = ("v3", group, version, signature)
        if key not in self._openapi_cache:
            document = openapi.gv_document(cluster.types, group, version)
            self._openapi_cache[key] = (json.dumps(document).encode(), openapi.digest(document))
        return self._openapi_cache[key]


def _signature(cluster: Cluster, group: str | None = None, version: str | None = None) -> str:
    parts = [
        (t.group, t.version, t.kind, json.dumps(t.crd_schema, sort_keys=True))
        for t in cluster.types
        if t.custom and (group is None or (t.group == group and t.version == version))
    ]
    return json.dumps(sorted(parts))


def _bootstrap(cluster: Cluster) -> None:
    op = Op(manager="kube-apiserver")
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        cluster.create(cluster.rtype("/namespaces"), "", {"metadata": {"name": name}}, op)
    cluster.create(
        cluster.rtype("/services"),
        "default",
        {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.245.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 443}]},
        },
        op,
    )
    cluster.create(
        cluster.rtype("storage.k8s.io/storageclasses"),
        "",
        {
            "metadata": {
                "name": "do-block-storage",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "dobs.csi.digitalocean.com",
            "allowVolumeExpansion": True,
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "Immediate",
        },
        op,
    )
    for name, value in (("system-cluster-critical", 2000000000), ("system-node-critical", 2000001000)):
        cluster.create(
            cluster.rtype("scheduling.k8s.io/priorityclasses"),
            "",
            {
                "metadata": {"name": name},
                "value": value,
                "description": "Used for system critical pods that must not be moved from their current node.",
            },
            op,
        )
    cluster.create(
        cluster.rtype("rbac.authorization.k8s.io/clusterroles"),
        "",
        {
            "metadata": {"name": "cluster-admin", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        },
        op,
    )


def _node_object(spec: dict[str, Any], index: int) -> dict[str, Any]:
    name = spec["name"]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": "s-2vcpu-4gb",
        "region": "fra1",
        "topology.kubernetes.io/region": "fra1",
        **(spec.get("labels") or {}),
    }
    capacity = {
        "cpu": "2",
        "ephemeral-storage": "82486728Ki",
        "hugepages-2Mi": "0",
        "memory": "4020024Ki",
        "pods": "110",
    }
    allocatable = {**capacity, "cpu": "1900m", "memory": "3097Mi"}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conditions = [
        {
            "type": kind,
            "status": "False",
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
        for kind, reason, message in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        )
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
    )
    node_spec: dict[str, Any] = {"providerID": f"digitalocean://{400000000 + index}"}
    if spec.get("taints"):
        node_spec["taints"] = [
            {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} for t in spec["taints"]
        ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
        "spec": node_spec,
        "status": {
            "capacity": capacity,
            "allocatable": allocatable,
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": f"10.110.0.{index + 2}"},
                {"type": "Hostname", "address": name},
                {"type": "ExternalIP", "address": f"198.51.100.{index + 2}"},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"{index:08d}-0000-0000-0000-000000000000",
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.0-31-amd64",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.31.9",
                "machineID": f"{index:032d}",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"{index:08d}-0000-0000-0000-000000000000",
            },
        },
    }


def _set_nodes(cluster: Cluster, nodes: list[dict[str, Any]]) -> None:
    import copy  # noqa: PLC0415

    rtype = cluster.rtype("/nodes")
    wanted = {n["name"]: n for n in nodes}
    op = Op(manager="doks-node-controller")
    for index, spec in enumerate(nodes):
        current = cluster.lookup("/nodes", "", spec["name"])
        if current is None:
            cluster.create(rtype, "", _node_object(spec, cluster.seq("node")), op)
            continue
        new = copy.deepcopy(current)
        new["metadata"].setdefault("labels", {}).update(spec.get("labels") or {})
        taints = [
            {"key": t["key"], "value": t.get("value", ""), "effect": t["effect"]} for t in spec.get("taints") or []
        ]
        if taints:
            new["spec"]["taints"] = taints
        else:
            new["spec"].pop("taints", None)
        if new != current:
            cluster.store(rtype, new, "MODIFIED")
        del index
    for node in list(cluster.objects("/nodes")):
        name = node["metadata"]["name"]
        if name not in wanted:
            cluster.unstore(rtype, node)
            for pod in list(cluster.objects("/pods")):
                if pod["spec"].get("nodeName") == name:
                    cluster._delete_now(cluster.rtype("/pods"), pod, "Background")


def _nodes_setting(value: Any) -> list[dict[str, Any]]:
    """The default cluster's nodes from the settings: a list of ``{name, labels, taints}``."""
    if value is None:
        return DEFAULT_NODES
    if not isinstance(value, list) or not value:
        raise ValueError("kubernetes settings: nodes must be a non-empty list of {name, labels, taints}")
    nodes = []
    for node in value:
        if not isinstance(node, dict) or not isinstance(node.get("name"), str) or not node["name"]:
            raise ValueError(f"kubernetes settings: every node needs a name: {node!r}")
        unknown = set(node) - {"name", "labels", "taints"}
        if unknown:
            raise ValueError(f"kubernetes settings: node {node['name']}: unknown keys {sorted(unknown)}")
        for taint in node.get("taints") or []:
            if not isinstance(taint, dict) or not taint.get("key") or taint.get("effect") not in TAINT_EFFECTS:
                raise ValueError(
                    f"kubernetes settings: node {node['name']}: a taint needs a key and an effect {TAINT_EFFECTS}"
                )
        nodes.append(
            {"name": node["name"], "labels": dict(node.get("labels") or {}), "taints": list(node.get("taints") or [])}
        )
    return nodes
