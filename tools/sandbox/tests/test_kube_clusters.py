"""Virtual clusters and the Python API the DigitalOcean emulator uses (in-process emulator)."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import tls
from sandbox.kube import KubeEmulator
from sandbox.server import Context, EmulatorServer
from sandbox.store import Store


class Running:
    def __init__(self, state: Path, settings: dict[str, Any] | None = None) -> None:
        ca, ca_key = tls.ensure_ca(state)
        cert, key = tls.ensure_server_cert(state, ca, ca_key)
        self.ca = ca
        self.store = Store(state / "kubernetes.json")
        endpoints: dict[str, Any] = {"state_dir": str(state), "ca_file": str(ca)}
        self.emulator = KubeEmulator(Context("kubernetes", self.store, endpoints, settings or {}))
        self.server = EmulatorServer(self.emulator, 0, tls.server_context(cert, key))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.port}"
        endpoints["kubernetes"] = self.emulator.endpoint(self.url)
        self.emulator.on_start(endpoints)

    def call(self, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.server.port, context=ssl.create_default_context(cafile=str(self.ca))
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if resp.getheader("Transfer-Encoding") == "chunked":
            return resp.status, [json.loads(line) for line in data.splitlines() if line]
        return resp.status, json.loads(data) if data else None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.emulator.close()
        self.store.close()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    instance = Running(tmp_path)
    yield instance
    instance.stop()


NODES = [
    {"name": "pool-a-1", "labels": {"doks.digitalocean.com/node-pool": "pool-a"}, "taints": []},
    {
        "name": "pool-b-1",
        "labels": {"doks.digitalocean.com/node-pool": "pool-b"},
        "taints": [{"key": "dedicated", "value": "b", "effect": "NoSchedule"}],
    },
]


def test_default_cluster_kubeconfig_and_nodes(running: Running, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    doc = yaml.safe_load(kubeconfig.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == running.url
    token = doc["users"][0]["user"]["token"]
    assert token == running.emulator.endpoint(running.url)["token"]
    status, nodes = running.call("GET", "/api/v1/nodes", token)
    assert status == 200
    # no nodes in the settings: one untainted node, no pool of anyone's product
    assert {n["metadata"]["name"]: n["spec"].get("taints") for n in nodes["items"]} == {"node-1": None}
    _, namespaces = running.call("GET", "/api/v1/namespaces", token)
    assert {n["metadata"]["name"] for n in namespaces["items"]} == {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }


def _nodes(running: Running) -> dict[str, tuple[dict[str, str], Any]]:
    token = running.emulator.endpoint(running.url)["token"]
    status, nodes = running.call("GET", "/api/v1/nodes", token)
    assert status == 200
    return {n["metadata"]["name"]: (n["metadata"]["labels"], n["spec"].get("taints")) for n in nodes["items"]}


def test_default_cluster_nodes_come_from_the_settings(tmp_path: Path) -> None:
    """``{"kubernetes": {"nodes": [...]}}`` names the default cluster's nodes; a restart with other
    settings moves the nodes to them (the objects of the cluster stay)."""
    first = Running(tmp_path, {"nodes": NODES})
    try:
        nodes = _nodes(first)
        assert sorted(nodes) == ["pool-a-1", "pool-b-1"]
        assert nodes["pool-b-1"][0]["doks.digitalocean.com/node-pool"] == "pool-b"
        assert nodes["pool-b-1"][1] == [{"key": "dedicated", "value": "b", "effect": "NoSchedule"}]
        token = first.emulator.endpoint(first.url)["token"]
        body = {"metadata": {"name": "kept"}, "data": {}}
        assert first.call("POST", "/api/v1/namespaces/default/configmaps", token, body)[0] == 201
    finally:
        first.stop()
    second = Running(tmp_path, {"nodes": NODES[:1]})
    try:
        assert sorted(_nodes(second)) == ["pool-a-1"]
        token = second.emulator.endpoint(second.url)["token"]
        assert second.call("GET", "/api/v1/namespaces/default/configmaps/kept", token)[0] == 200
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([], "non-empty list"),
        ([{"labels": {}}], "every node needs a name"),
        ([{"name": "n", "pool": "a"}], "unknown keys ['pool']"),
        ([{"name": "n", "taints": [{"key": "k", "effect": "Sometimes"}]}], "a taint needs a key and an effect"),
    ],
)
def test_bad_node_settings_are_refused(tmp_path: Path, nodes: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        KubeEmulator(Context("kubernetes", Store(tmp_path / "k.json"), {}, {"nodes": nodes}))


def test_virtual_clusters_are_isolated(running: Running) -> None:
    emulator = running.emulator
    emulator.ensure_cluster("c-123", "token-123", NODES)
    emulator.ensure_cluster("c-123", "token-123", NODES)  # idempotent
    assert emulator.server_url("c-123") == f"{running.url}/clusters/c-123"
    default_token = emulator.endpoint(running.url)["token"]
    assert running.call("GET", "/clusters/c-123/api/v1/nodes", default_token)[0] == 401
    status, nodes = running.call("GET", "/clusters/c-123/api/v1/nodes", "token-123")
    assert status == 200
    assert sorted(n["metadata"]["name"] for n in nodes["items"]) == ["pool-a-1", "pool-b-1"]
    node = next(n for n in nodes["items"] if n["metadata"]["name"] == "pool-b-1")
    assert node["metadata"]["labels"]["doks.digitalocean.com/node-pool"] == "pool-b"
    assert any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"]["conditions"])
    assert node["status"]["capacity"]["pods"] == "110"
    body = {"metadata": {"name": "only-here"}, "data": {}}
    assert running.call("POST", "/clusters/c-123/api/v1/namespaces/default/configmaps", "token-123", body)[0] == 201
    assert running.call("GET", "/api/v1/namespaces/default/configmaps/only-here", default_token)[0] == 404
    # kubeconfig for peers (the DigitalOcean emulator serves it)
    doc = yaml.safe_load(emulator.kubeconfig("c-123", "token-123"))
    assert doc["clusters"][0]["cluster"]["server"] == f"{running.url}/clusters/c-123"
    # the OpenAPI v3 root points at the cluster's own prefix
    _, root = running.call("GET", "/clusters/c-123/openapi/v3", "token-123")
    assert root["paths"]["api/v1"]["serverRelativeURL"].startswith("/clusters/c-123/openapi/v3/api/v1?hash=")


def test_tokens_expire(running: Running) -> None:
    emulator = running.emulator
    emulator.ensure_cluster("c-tok", "first", [])
    emulator.add_token("c-tok", "short", time.time() - 1)
    emulator.add_token("c-tok", "long", time.time() + 3600)
    status, body = running.call("GET", "/clusters/c-tok/api/v1/namespaces", "short")
    assert (status, body["reason"]) == (401, "Unauthorized")
    assert running.call("GET", "/clusters/c-tok/api/v1/namespaces", "long")[0] == 200
    assert running.call("GET", "/clusters/c-tok/api/v1/namespaces", "first")[0] == 200


def test_set_nodes_moves_workloads(running: Running) -> None:
    emulator = running.emulator
    emulator.ensure_cluster("c-nodes", "t", NODES[:1])
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "pinned"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "pinned"}},
            "template": {
                "metadata": {"labels": {"app": "pinned"}},
                "spec": {
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "doks.digitalocean.com/node-pool",
                                                "operator": "In",
                                                "values": ["pool-b"],
                                            }
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "b", "effect": "NoSchedule"}],
                    "containers": [{"name": "c", "image": "busybox:1.37"}],
                },
            },
        },
    }
    assert running.call("POST", "/clusters/c-nodes/apis/apps/v1/namespaces/default/deployments", "t", deploy)[0] == 201
    _, pods = running.call("GET", "/clusters/c-nodes/api/v1/namespaces/default/pods", "t")
    assert [p["status"]["phase"] for p in pods["items"]] == ["Pending"]
    assert "didn't match Pod's node affinity/selector" in pods["items"][0]["status"]["conditions"][0]["message"]
    emulator.set_nodes("c-nodes", NODES)
    with emulator.lock:
        emulator.tick()
    _, pods = running.call("GET", "/clusters/c-nodes/api/v1/namespaces/default/pods", "t")
    assert [(p["spec"].get("nodeName"), p["status"]["phase"]) for p in pods["items"]] == [("pool-b-1", "Running")]
    _, dep = running.call("GET", "/clusters/c-nodes/apis/apps/v1/namespaces/default/deployments/pinned", "t")
    assert dep["status"]["availableReplicas"] == 1
    # labels are merged (DOKS keeps labels removed from a pool), taints follow the pool
    emulator.set_nodes(
        "c-nodes",
        [
            {
                "name": "pool-a-1",
                "labels": {"extra": "yes"},
                "taints": [{"key": "x", "value": "y", "effect": "NoSchedule"}],
            }
        ],
    )
    _, nodes = running.call("GET", "/clusters/c-nodes/api/v1/nodes", "t")
    assert [n["metadata"]["name"] for n in nodes["items"]] == ["pool-a-1"]
    labels = nodes["items"][0]["metadata"]["labels"]
    assert labels["extra"] == "yes" and labels["doks.digitalocean.com/node-pool"] == "pool-a"
    assert nodes["items"][0]["spec"]["taints"] == [{"key": "x", "value": "y", "effect": "NoSchedule"}]
    with emulator.lock:
        emulator.tick()
    _, pods = running.call("GET", "/clusters/c-nodes/api/v1/namespaces/default/pods", "t")
    assert [p["status"]["phase"] for p in pods["items"]] == ["Pending"]


def test_remove_cluster(running: Running) -> None:
    running.emulator.ensure_cluster("c-gone", "t", [])
    running.emulator.remove_cluster("c-gone")
    status, body = running.call("GET", "/clusters/c-gone/api/v1/namespaces", "t")
    assert status == 404 and body["kind"] == "Status"


def test_state_survives_restart_and_old_watches_expire(tmp_path: Path) -> None:
    first = Running(tmp_path)
    token = first.emulator.endpoint(first.url)["token"]
    first.emulator.ensure_cluster("c-keep", "k", NODES)
    assert (
        first.call(
            "POST", "/api/v1/namespaces/default/configmaps", token, {"metadata": {"name": "kept"}, "data": {"a": "1"}}
        )[0]
        == 201
    )
    first.stop()
    second = Running(tmp_path)
    try:
        assert second.emulator.endpoint(second.url)["token"] == token
        status, kept = second.call("GET", "/api/v1/namespaces/default/configmaps/kept", token)
        assert status == 200 and kept["data"] == {"a": "1"}
        assert second.call("GET", "/clusters/c-keep/api/v1/nodes", "k")[0] == 200
        status, events = second.call(
            "GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2&timeoutSeconds=1", token
        )
        assert status == 200
        assert (
            events[0]["type"] == "ERROR"
            and events[0]["object"]["code"] == 410
            and events[0]["object"]["reason"] == "Expired"
        )
    finally:
        second.stop()


def test_reset_keeps_the_default_token(running: Running) -> None:
    token = running.emulator.endpoint(running.url)["token"]
    running.emulator.ensure_cluster("c-reset", "t", [])
    assert (
        running.call("POST", "/api/v1/namespaces/default/configmaps", token, {"metadata": {"name": "gone"}})[0] == 201
    )
    assert running.call("POST", "/_sandbox/reset", None)[0] == 200
    assert running.call("GET", "/api/v1/namespaces/default/configmaps/gone", token)[0] == 404
    assert running.call("GET", "/clusters/c-reset/api/v1/nodes", "t")[0] == 404
    status, nodes = running.call("GET", "/api/v1/nodes", token)
    assert status == 200 and [n["metadata"]["name"] for n in nodes["items"]] == ["node-1"]  # the default comes back


def test_watch_list_ends_initial_events_with_a_bookmark(running: Running) -> None:
    token = running.emulator.endpoint(running.url)["token"]
    query = (
        "watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    )
    status, events = running.call("GET", f"/api/v1/namespaces?{query}", token)
    assert status == 200
    kinds = [e["type"] for e in events]
    assert kinds[:4] == ["ADDED"] * 4 and kinds[4] == "BOOKMARK"
    assert events[4]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
