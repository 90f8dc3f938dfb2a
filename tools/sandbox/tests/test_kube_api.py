"""The Kubernetes emulator's API semantics, through the kubernetes Python client and raw HTTPS."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, dynamic, watch

Reply = tuple[int, dict[str, str], Any]


class Api:
    """Raw HTTPS against the sandbox (for status codes and headers the clients hide)."""

    def __init__(self, endpoint: dict[str, Any], ca_file: str) -> None:
        parsed = urllib.parse.urlsplit(endpoint["url"])
        self.host, self.port = parsed.hostname, parsed.port
        self.token = endpoint["token"]
        self.context = ssl.create_default_context(cafile=ca_file)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = "", headers: dict[str, str] | None = None
    ) -> Reply:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token or self.token}"
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=sent)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        ctype = resp.getheader("Content-Type") or ""
        if not data or "json" not in ctype:
            return resp.status, dict(resp.getheaders()), data
        if resp.getheader("Transfer-Encoding") == "chunked":  # a watch: one JSON event per line
            return resp.status, dict(resp.getheaders()), [json.loads(line) for line in data.splitlines() if line]
        return resp.status, dict(resp.getheaders()), json.loads(data)


@pytest.fixture(scope="module")
def api(sandbox_endpoints: dict[str, Any]) -> Api:
    return Api(sandbox_endpoints["kubernetes"], sandbox_endpoints["ca_file"])


@pytest.fixture(scope="module")
def k8s(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(str(kubeconfig))


@pytest.fixture(scope="module")
def ns(api: Api) -> str:
    status, _, _ = api.call("POST", "/api/v1/namespaces", {"metadata": {"name": "api-tests"}})
    assert status == 201
    return "api-tests"


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}, "data": data or {}}


def test_authentication(api: Api) -> None:
    status, _, body = api.call("GET", "/api/v1/namespaces", token=None)
    assert (status, body["kind"], body["reason"], body["code"]) == (401, "Status", "Unauthorized", 401)
    assert api.call("GET", "/api/v1/namespaces", token="wrong")[0] == 401
    status, _, body = api.call("GET", "/version", token=None)
    assert status == 200 and body["gitVersion"] == "v1.31.9"


def test_error_statuses(api: Api, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    status, _, body = api.call("GET", f"{base}/missing")
    assert (status, body["reason"], body["message"]) == (404, "NotFound", 'configmaps "missing" not found')
    assert api.call("POST", base, cm("dup"))[0] == 201
    status, _, body = api.call("POST", base, cm("dup"))
    assert (status, body["reason"]) == (409, "AlreadyExists")
    stale = cm("dup", {"a": "1"}, resourceVersion="1")
    status, _, body = api.call("PUT", f"{base}/dup", stale)
    assert (status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    status, _, body = api.call("POST", base, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
    assert (status, body["reason"]) == (400, "BadRequest")
    status, _, body = api.call("POST", base, cm("Bad_Name"))
    assert (status, body["reason"]) == (422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    bad_deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}},
        },
    }
    status, _, body = api.call("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", bad_deploy)
    assert (status, body["reason"]) == (422, "Invalid")
    fields = {c["field"] for c in body["details"]["causes"]}
    assert fields == {"spec.template.metadata.labels", "spec.template.spec.containers[0].image"}
    assert api.call("POST", f"{base}/dup", cm("dup"))[0] == 405
    status, _, body = api.call("GET", "/apis/nothing.example.com/v1/things")
    assert (status, body["reason"]) == (404, "NotFound")
    status, _, body = api.call("POST", f"{base}?fieldValidation=Strict", {**cm("strict"), "spce": {}})
    assert status == 400 and 'unknown field "spce"' in body["message"]
    status, headers, _ = api.call("POST", base, {**cm("warned"), "spce": {}})
    assert status == 201
    assert headers["Warning"] == '299 - "unknown field \\"spce\\""'
    assert "spce" not in api.call("GET", f"{base}/warned")[2]  # dropped, as the API server drops it


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("stale-merge", "application/merge-patch+json"),
        ("stale-strategic", "application/strategic-merge-patch+json"),
        ("stale-apply", "application/apply-patch+yaml"),
    ],
)
def test_stale_resource_version_in_a_patch_conflicts(api: Api, ns: str, name: str, content_type: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/{name}"
    assert api.call("POST", f"/api/v1/namespaces/{ns}/configmaps", cm(name, {"a": "1"}))[0] == 201
    stale = json.dumps(cm(name, {"b": "2"}, resourceVersion="1")).encode()
    status, _, body = api.call("PATCH", path + "?fieldManager=tests", stale, headers={"Content-Type": content_type})
    assert (status, body["reason"]) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert api.call("GET", path)[2]["data"] == {"a": "1"}


def test_strategic_merge_patch_follows_patch_strategies(k8s: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(k8s)
    body = {
        "metadata": {"name": "smp"},
        "spec": {
            "selector": {"matchLabels": {"app": "smp"}},
            "template": {
                "metadata": {"labels": {"app": "smp"}},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "a:1",
                            "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                        },
                        {"name": "b", "image": "b:1", "ports": [{"containerPort": 80}]},
                    ],
                    "tolerations": [{"key": "k1", "operator": "Exists"}],
                },
            },
        },
    }
    apps.create_namespaced_deployment(ns, body)
    patch = {
        "spec": {
            "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
                    "containers": [
                        {"name": "a", "env": [{"name": "Y", "$patch": "delete"}, {"name": "Z", "value": "3"}]},
                        {"name": "b", "ports": [{"containerPort": 8080}]},
                    ],
                    "tolerations": [{"key": "k2", "operator": "Exists"}],
                }
            },
        }
    }
    live = apps.patch_namespaced_deployment("smp", ns, patch)  # the client sends strategic merge patch
    spec = live.spec.template.spec
    assert [c.name for c in spec.containers] == ["b", "a"]
    a = next(c for c in spec.containers if c.name == "a")
    assert [(e.name, e.value) for e in a.env] == [("X", "1"), ("Z", "3")]
    assert a.image == "a:1"
    b = next(c for c in spec.containers if c.name == "b")
    assert sorted(p.container_port for p in b.ports) == [80, 8080]
    assert [t.key for t in spec.tolerations] == ["k2"]  # atomic upstream: replaced
    assert live.spec.strategy.type == "Recreate"
    assert live.spec.strategy.rolling_update is None
    assert live.metadata.generation == 2


def test_json_and_merge_patch(api: Api, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    api.call("POST", base, cm("patched", {"a": "1", "b": "2"}))
    status, _, body = api.call(
        "PATCH",
        f"{base}/patched",
        [{"op": "replace", "path": "/data/a", "value": "9"}, {"op": "remove", "path": "/data/b"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert status == 200 and body["data"] == {"a": "9"}
    status, _, body = api.call(
        "PATCH",
        f"{base}/patched",
        {"data": {"a": None, "c": "3"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status == 200 and body["data"] == {"c": "3"}
    status, _, body = api.call(
        "PATCH",
        f"{base}/patched",
        [{"op": "test", "path": "/data/c", "value": "4"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert status == 422


def _apply(api: Api, path: str, manager: str, doc: dict[str, Any], force: bool = False) -> Reply:
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    return api.call(
        "PATCH", path + query, json.dumps(doc).encode(), headers={"Content-Type": "application/apply-patch+yaml"}
    )


def test_server_side_apply_tracks_owners(api: Api, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/configmaps/owned"
    status, _, body = _apply(api, path, "alice", cm("owned", {"a": "1", "b": "2"}, labels={"team": "x"}))
    assert status == 201
    assert _apply(api, path, "bob", cm("owned", {"c": "3", "a": "1"}))[0] == 200
    status, _, body = _apply(api, path, "alice", cm("owned", {"a": "1"}))
    assert status == 200
    # b and the label were only alice's: gone; a is shared with bob: kept; c is bob's: kept
    assert body["data"] == {"a": "1", "c": "3"}
    assert "labels" not in body["metadata"]
    rv = body["metadata"]["resourceVersion"]
    status, _, again = _apply(api, path, "alice", cm("owned", {"a": "1"}))
    assert again["metadata"]["resourceVersion"] == rv
    status, _, body = _apply(api, path, "alice", cm("owned", {"c": "4"}))
    assert status == 409 and body["reason"] == "Conflict"
    assert body["details"]["causes"][0]["field"] == ".data.c"
    status, _, body = _apply(api, path, "alice", cm("owned", {"c": "4"}), force=True)
    assert status == 200 and body["data"] == {"a": "1", "c": "4"}
    owners = {m["manager"]: m["fieldsV1"] for m in body["metadata"]["managedFields"]}
    assert owners["alice"] == {"f:data": {"f:c": {}}}
    assert owners["bob"] == {"f:data": {"f:a": {}}}
    status, _, body = api.call(
        "PATCH", path, json.dumps(cm("owned")).encode(), headers={"Content-Type": "application/apply-patch+yaml"}
    )
    assert status == 400 and "fieldManager" in body["message"]


def test_watch_events_and_expiry(k8s: client.ApiClient, api: Api, ns: str) -> None:
    core = client.CoreV1Api(k8s)
    listing = core.list_namespaced_config_map(ns, label_selector="watched=yes")
    events: list[tuple[str, str, str]] = []

    def follow() -> None:
        stream = watch.Watch().stream(
            core.list_namespaced_config_map,
            ns,
            label_selector="watched=yes",
            resource_version=listing.metadata.resource_version,
            timeout_seconds=3,
        )
        for event in stream:
            obj = event["object"]
            events.append((event["type"], obj.metadata.name, (obj.data or {}).get("v", "")))

    thread = threading.Thread(target=follow)
    started = time.monotonic()
    thread.start()
    time.sleep(0.3)
    core.create_namespaced_config_map(ns, cm("w1", {"v": "1"}, labels={"watched": "yes"}))
    core.create_namespaced_config_map(ns, cm("other", {"v": "1"}))
    core.patch_namespaced_config_map("w1", ns, {"data": {"v": "2"}})
    core.patch_namespaced_config_map("w1", ns, {"data": {"v": "2"}})  # no change: no event
    core.delete_namespaced_config_map("w1", ns)
    thread.join(15)
    assert not thread.is_alive()
    assert 3 <= time.monotonic() - started < 12  # timeoutSeconds=3 closed the stream
    assert events == [("ADDED", "w1", "1"), ("MODIFIED", "w1", "2"), ("DELETED", "w1", "2")]
    # a watch from an old resourceVersion replays the history it still holds
    status, _, replay = api.call(
        "GET", f"/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1"
    )
    assert status == 200
    assert [
        (e["type"], e["object"]["metadata"]["name"]) for e in replay if e["object"]["metadata"]["name"] == "w1"
    ] == [
        ("ADDED", "w1"),
        ("MODIFIED", "w1"),
        ("DELETED", "w1"),
    ]


def test_dry_run_finalizers_and_selectors(api: Api, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    status, _, body = api.call("POST", f"{base}?dryRun=All", cm("dry"))
    assert status == 201 and body["metadata"]["name"] == "dry"
    assert api.call("GET", f"{base}/dry")[0] == 404
    api.call("POST", base, cm("held", {"k": "v"}, finalizers=["example.com/hold"], labels={"tier": "a"}))
    status, _, body = api.call("DELETE", f"{base}/held?dryRun=All")
    assert status == 200 and "deletionTimestamp" not in body["metadata"]
    status, _, body = api.call("DELETE", f"{base}/held")
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    assert api.call("GET", f"{base}/held")[0] == 200
    _, _, found = api.call("GET", f"{base}?labelSelector=tier%20in%20(a,b)")
    assert [i["metadata"]["name"] for i in found["items"]] == ["held"]
    _, _, found = api.call("GET", f"/api/v1/configmaps?fieldSelector=metadata.name%3Dheld,metadata.namespace%3D{ns}")
    assert [i["metadata"]["name"] for i in found["items"]] == ["held"]
    _, _, found = api.call("GET", f"{base}?labelSelector=tier!%3Da")
    assert "held" not in [i["metadata"]["name"] for i in found["items"]]
    api.call(
        "PATCH",
        f"{base}/held",
        {"metadata": {"finalizers": None}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert api.call("GET", f"{base}/held")[0] == 404


def test_fault_injection_speaks_status(api: Api) -> None:
    status, _, _ = api.call(
        "POST", "/_sandbox/faults", {"status": 429, "path": "^/api/v1/nodes$", "count": 1}, token=None
    )
    assert status == 201
    status, headers, body = api.call("GET", "/api/v1/nodes")
    assert (status, headers["Retry-After"], body["kind"], body["reason"]) == (429, "1", "Status", "TooManyRequests")
    assert api.call("GET", "/api/v1/nodes")[0] == 200


def test_controllers_for_workloads(k8s: client.ApiClient, api: Api, ns: str) -> None:
    dyn = dynamic.DynamicClient(k8s)
    template = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}
    sts = dyn.resources.get(api_version="apps/v1", kind="StatefulSet")
    sts.create(
        namespace=ns,
        body={
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": {"app": "x"}},
                "template": template,
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                    }
                ],
            },
        },
    )
    everywhere = {
        "metadata": {"labels": {"app": "agent"}},
        "spec": {"tolerations": [{"operator": "Exists"}], "containers": [{"name": "c", "image": "busybox:1.37"}]},
    }
    plain = {"metadata": {"labels": {"app": "plain"}}, "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}}
    for name, tpl in (("agent", everywhere), ("plain", plain)):
        api.call(
            "POST",
            f"/apis/apps/v1/namespaces/{ns}/daemonsets",
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": name},
                "spec": {"selector": {"matchLabels": tpl["metadata"]["labels"]}, "template": tpl},
            },
        )
    api.call(
        "POST",
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}},
    )
    api.call(
        "POST",
        f"/api/v1/namespaces/{ns}/secrets",
        {
            "metadata": {"name": "sa-token", "annotations": {"kubernetes.io/service-account.name": "default"}},
            "type": "kubernetes.io/service-account-token",
        },
    )
    live = sts.get(name="db", namespace=ns)
    assert live.status.readyReplicas == 2 and live.status.currentRevision == live.status.updateRevision
    _, _, claims = api.call("GET", f"/api/v1/namespaces/{ns}/persistentvolumeclaims")
    assert sorted((c["metadata"]["name"], c["status"]["phase"]) for c in claims["items"]) == [
        ("data-db-0", "Bound"),
        ("data-db-1", "Bound"),
    ]
    assert claims["items"][0]["spec"]["storageClassName"] == "do-block-storage"
    _, _, pods = api.call("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dagent")
    assert sorted(p["spec"]["nodeName"] for p in pods["items"]) == ["base-1", "tools-1", "workloads-1"]
    _, _, ds = api.call("GET", f"/apis/apps/v1/namespaces/{ns}/daemonsets/plain")
    assert (ds["status"]["desiredNumberScheduled"], ds["status"]["numberReady"]) == (1, 1)
    _, _, token = api.call("GET", f"/api/v1/namespaces/{ns}/secrets/sa-token")
    assert set(token["data"]) == {"token", "ca.crt", "namespace"}
    assert api.call("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/default")[0] == 200
    deadline = time.monotonic() + 5
    ingress = None
    while time.monotonic() < deadline and not ingress:
        ingress = api.call("GET", f"/api/v1/namespaces/{ns}/services/lb")[2]["status"]["loadBalancer"].get("ingress")
        time.sleep(0.2)
    assert ingress and ingress[0]["ip"]


def test_discovery_documents(api: Api) -> None:
    aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    status, headers, body = api.call("GET", "/apis", headers={"Accept": aggregated})
    assert status == 200 and headers["Content-Type"].startswith("application/json;g=apidiscovery.k8s.io;v=v2")
    apps = next(g for g in body["items"] if g["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert (
        deployments["scope"] == "Namespaced"
        and deployments["shortNames"] == ["deploy"]
        and deployments["categories"] == ["all"]
    )
    assert {s["subresource"] for s in deployments["subresources"]} == {"status", "scale"}
    _, _, legacy = api.call("GET", "/api/v1")
    nodes = next(r for r in legacy["resources"] if r["name"] == "nodes")
    assert (nodes["namespaced"], nodes["singularName"], nodes["kind"]) == (False, "node", "Node")
    _, _, root = api.call("GET", "/openapi/v3")
    assert root["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    _, _, doc = api.call("GET", root["paths"]["apis/apps/v1"]["serverRelativeURL"])
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    containers = doc["components"]["schemas"]["io.k8s.sandbox.V1PodSpec"]["properties"]["containers"]
    assert (containers["x-kubernetes-patch-merge-key"], containers["x-kubernetes-patch-strategy"]) == ("name", "merge")
    status, headers, proto = api.call(
        "GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}
    )
    assert status == 200 and headers["Content-Type"] == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
    assert proto[:5] == b"\n\x032.0"


def test_token_request_and_reviews(api: Api, ns: str) -> None:
    status, _, body = api.call(
        "POST", f"/api/v1/namespaces/{ns}/serviceaccounts/default/token", {"spec": {"expirationSeconds": 600}}
    )
    assert status == 201 and body["kind"] == "TokenRequest"
    token = body["status"]["token"]
    assert api.call("GET", f"/api/v1/namespaces/{ns}/configmaps", token=token)[0] == 200
    status, _, review = api.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": token}})
    assert status == 201 and review["status"]["authenticated"] is True
    _, _, review = api.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": "nope"}})
    assert review["status"] == {"authenticated": False}
    status, _, access = api.call(
        "POST",
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        {"spec": {"resourceAttributes": {"verb": "create", "resource": "pods"}}},
    )
    assert status == 201 and access["status"]["allowed"] is True
    assert api.call("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/missing/token", {})[0] == 404


def test_custom_resources_follow_their_schema(api: Api, ns: str) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "boxes.api.example.com"},
        "spec": {
            "group": "api.example.com",
            "names": {"kind": "Box", "plural": "boxes"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {"type": "integer"},
                                        "color": {"type": "string", "default": "red"},
                                    },
                                },
                                "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
                            },
                        }
                    },
                }
            ],
        },
    }
    status, _, created = api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert status == 201
    assert created["spec"]["names"]["singular"] == "box" and created["spec"]["names"]["listKind"] == "BoxList"
    assert {c["type"] for c in created["status"]["conditions"]} == {"NamesAccepted", "Established"}
    base = f"/apis/api.example.com/v1/namespaces/{ns}/boxes"
    status, _, box = api.call(
        "POST",
        base,
        {
            "apiVersion": "api.example.com/v1",
            "kind": "Box",
            "metadata": {"name": "b"},
            "spec": {"size": 1, "junk": 1},
            "status": {"ready": True},
        },
    )
    assert status == 201
    assert box["spec"] == {"size": 1, "color": "red"}  # defaulted, unknown field pruned
    assert "status" not in box  # the status subresource owns status
    assert box["metadata"]["generation"] == 1
    status, _, body = api.call(
        "POST",
        base,
        {"apiVersion": "api.example.com/v1", "kind": "Box", "metadata": {"name": "c"}, "spec": {"size": "big"}},
    )
    assert (status, body["reason"], body["details"]["causes"][0]["field"]) == (422, "Invalid", "spec.size")
    status, _, box = api.call(
        "PATCH",
        f"{base}/b/status",
        {"status": {"ready": True}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status == 200 and box["status"] == {"ready": True} and box["metadata"]["generation"] == 1
    status, _, body = api.call(
        "PATCH", f"{base}/b", {"spec": {"size": 2}}, headers={"Content-Type": "application/strategic-merge-patch+json"}
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, _, box = api.call(
        "PATCH", f"{base}/b", {"spec": {"size": 2}}, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert box["metadata"]["generation"] == 2 and box["status"] == {"ready": True}
    assert api.call("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/boxes.api.example.com")[0] == 200
    status, _, body = api.call("GET", base)
    assert status == 404


def test_immutable_config_and_ingress_address(api: Api, ns: str) -> None:
    base = f"/api/v1/namespaces/{ns}/configmaps"
    api.call("POST", base, {**cm("frozen", {"a": "1"}), "immutable": True})
    status, _, body = api.call(
        "PATCH", f"{base}/frozen", {"data": {"a": "2"}}, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert (status, body["reason"], body["details"]["causes"][0]["field"]) == (422, "Invalid", "data")
    assert (
        api.call(
            "PATCH",
            f"{base}/frozen",
            {"metadata": {"labels": {"ok": "yes"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )[0]
        == 200
    )
    api.call(
        "POST",
        "/apis/networking.k8s.io/v1/ingressclasses",
        {"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}},
    )
    labels = {"app.kubernetes.io/name": "traefik"}
    api.call(
        "POST",
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "traefik", "labels": labels}, "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]}},
    )
    rule = {
        "host": "app.example.com",
        "http": {
            "paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}
            ]
        },
    }
    api.call(
        "POST",
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
        {"metadata": {"name": "web"}, "spec": {"ingressClassName": "traefik", "rules": [rule]}},
    )
    deadline = time.monotonic() + 5
    published, service_ip = None, None
    while time.monotonic() < deadline and (not service_ip or published != [{"ip": service_ip}]):
        time.sleep(0.2)
        ingress = api.call("GET", f"/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/web")[2]
        published = ingress.get("status", {}).get("loadBalancer", {}).get("ingress")
        addresses = api.call("GET", f"/api/v1/namespaces/{ns}/services/traefik")[2]["status"]["loadBalancer"].get(
            "ingress"
        )
        service_ip = addresses[0]["ip"] if addresses else None
    assert published == [{"ip": service_ip}]
