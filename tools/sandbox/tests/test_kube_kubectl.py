"""The Kubernetes emulator judged by the real kubectl 1.31 (no validation flags, TLS verified)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sandbox_tools import TOOLS, run

KUBECTL = str(TOOLS / "kubectl")

DEPLOYMENT = """
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {ns}
  labels: {{app: web}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      nodeSelector:
        doks.digitalocean.com/node-pool: workloads
      tolerations:
        - {{key: workloads, operator: Equal, value: "true", effect: NoSchedule}}
      containers:
        - name: web
          image: nginx:1.27
          ports: [{{containerPort: 80}}]
          env: [{{name: COLOR, value: {color}}}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: {ns}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 80}}]
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.kubectl.example.com
spec:
  group: kubectl.example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wdg]}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
"""


def kubectl(env: dict[str, str], *args: str, check: bool = True, stdin: str | None = None) -> str:
    if stdin is not None:
        import subprocess  # noqa: PLC0415

        result = subprocess.run(
            [KUBECTL, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout + result.stderr
    result = run(env, KUBECTL, *args, check=check)
    return result.stdout + result.stderr


def get(env: dict[str, str], *args: str) -> dict:
    return json.loads(kubectl(env, "get", *args, "-o", "json", "--show-managed-fields"))


@pytest.fixture
def manifest(tmp_path: Path):
    def write(text: str, name: str = "manifest.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_version_and_discovery(kube_env: dict[str, str]) -> None:
    version = json.loads(kubectl(kube_env, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.31.9"
    resources = kubectl(kube_env, "api-resources", "-o", "wide")
    for line in ("deployments ", "statefulsets ", "customresourcedefinitions ", "horizontalpodautoscalers ", "leases "):
        assert line in resources
    nodes = get(kube_env, "nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["base-1", "tools-1", "workloads-1"]
    tools = next(n for n in nodes if n["metadata"]["name"] == "tools-1")
    assert tools["spec"]["taints"] == [{"key": "tools", "value": "true", "effect": "NoSchedule"}]
    assert tools["metadata"]["labels"]["doks.digitalocean.com/node-pool"] == "tools"


def test_client_side_apply_twice_then_change(kube_env: dict[str, str], manifest) -> None:
    path = manifest(DEPLOYMENT.format(ns="csa", replicas=2, color="blue"))
    first = kubectl(kube_env, "apply", "-f", path)
    assert "deployment.apps/web created" in first
    kubectl(kube_env, "wait", "--for=condition=Available", "deployment/web", "-n", "csa", "--timeout=30s")
    before = get(kube_env, "deployment", "web", "-n", "csa")
    second = kubectl(kube_env, "apply", "-f", path)
    assert "deployment.apps/web unchanged" in second
    assert "service/web unchanged" in second
    assert "warning" not in second.lower()
    after = get(kube_env, "deployment", "web", "-n", "csa")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    # A change goes through a strategic merge patch: env merged by name, generation bumped.
    changed = kubectl(
        kube_env, "apply", "-f", manifest(DEPLOYMENT.format(ns="csa", replicas=3, color="red"), "v2.yaml")
    )
    assert "deployment.apps/web configured" in changed
    assert "warning" not in changed.lower()
    live = get(kube_env, "deployment", "web", "-n", "csa")
    assert live["metadata"]["generation"] == 2
    assert live["spec"]["replicas"] == 3
    assert live["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "COLOR", "value": "red"}]
    kubectl(kube_env, "wait", "--for=condition=Available", "deployment/web", "-n", "csa", "--timeout=30s")
    status = get(kube_env, "deployment", "web", "-n", "csa")["status"]
    assert status["readyReplicas"] == 3
    assert status["observedGeneration"] == 2
    pods = get(kube_env, "pods", "-n", "csa", "-l", "app=web")["items"]
    assert len(pods) == 3
    assert {p["spec"]["nodeName"] for p in pods} == {"workloads-1"}
    assert all("pod-template-hash" in p["metadata"]["labels"] for p in pods)
    endpoints = get(kube_env, "endpoints", "web", "-n", "csa")
    assert len(endpoints["subsets"][0]["addresses"]) == 3


def test_server_side_apply_twice_keeps_resource_version(kube_env: dict[str, str], manifest) -> None:
    path = manifest(DEPLOYMENT.format(ns="ssa", replicas=1, color="blue"))
    kubectl(kube_env, "apply", "--server-side", "-f", path)
    kubectl(kube_env, "wait", "--for=condition=Available", "deployment/web", "-n", "ssa", "--timeout=30s")
    before = get(kube_env, "deployment", "web", "-n", "ssa")
    out = kubectl(kube_env, "apply", "--server-side", "-f", path)
    assert "deployment.apps/web serverside-applied" in out
    after = get(kube_env, "deployment", "web", "-n", "ssa")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    managers = {(m["manager"], m["operation"]) for m in after["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers


def test_server_side_apply_conflict_and_force(kube_env: dict[str, str], manifest) -> None:
    base = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {key: %s}\n"
    kubectl(kube_env, "apply", "--server-side", "--field-manager=alice", "-f", manifest(base % "a", "a.yaml"))
    conflict = kubectl(
        kube_env, "apply", "--server-side", "--field-manager=bob", "-f", manifest(base % "b", "b.yaml"), check=False
    )
    assert "conflict" in conflict.lower() and "alice" in conflict
    assert get(kube_env, "configmap", "shared")["data"] == {"key": "a"}
    kubectl(
        kube_env,
        "apply",
        "--server-side",
        "--field-manager=bob",
        "--force-conflicts",
        "-f",
        manifest(base % "b", "b.yaml"),
    )
    assert get(kube_env, "configmap", "shared")["data"] == {"key": "b"}


def test_get_yaml_create_conflict_and_strict_validation(kube_env: dict[str, str], manifest) -> None:
    path = manifest("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once, namespace: default}\ndata: {a: '1'}\n")
    assert "configmap/once created" in kubectl(kube_env, "create", "-f", path)
    again = kubectl(kube_env, "create", "-f", path, check=False)
    assert 'configmaps "once" already exists' in again
    doc = yaml.safe_load(kubectl(kube_env, "get", "configmap", "once", "-o", "yaml"))
    assert doc["data"] == {"a": "1"}
    assert doc["metadata"]["uid"] and doc["metadata"]["creationTimestamp"]
    bogus = manifest(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bogus, namespace: default}\nbogus: field\n", "b.yaml"
    )
    rejected = kubectl(kube_env, "apply", "-f", bogus, check=False)
    assert 'unknown field "bogus"' in rejected
    assert "NotFound" in kubectl(kube_env, "get", "configmap", "bogus", check=False)


def test_crd_established_and_custom_resources(kube_env: dict[str, str], manifest) -> None:
    kubectl(kube_env, "apply", "-f", manifest(CRD, "crd.yaml"))
    kubectl(kube_env, "wait", "--for=condition=Established", "crd/widgets.kubectl.example.com", "--timeout=30s")
    widget = (
        "apiVersion: kubectl.example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: default}\nspec: {size: %d}\n"
    )
    kubectl(kube_env, "apply", "-f", manifest(widget % 1, "w.yaml"))
    assert "unchanged" in kubectl(kube_env, "apply", "-f", manifest(widget % 1, "w.yaml"))
    assert get(kube_env, "wdg", "w1")["spec"] == {"size": 1}
    kubectl(kube_env, "apply", "--server-side", "-f", manifest(widget % 2, "w2.yaml"))
    before = get(kube_env, "widgets.kubectl.example.com", "w1")
    assert before["spec"] == {"size": 2}
    kubectl(kube_env, "apply", "--server-side", "-f", manifest(widget % 2, "w2.yaml"))
    assert get(kube_env, "wdg", "w1")["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    kubectl(kube_env, "delete", "crd", "widgets.kubectl.example.com")
    missing = kubectl(kube_env, "get", "wdg", check=False)
    assert "doesn't have a resource type" in missing or "the server could not find" in missing


def test_delete_and_namespace_cascade(kube_env: dict[str, str], manifest) -> None:
    kubectl(kube_env, "apply", "-f", manifest(DEPLOYMENT.format(ns="doomed", replicas=1, color="blue")))
    kubectl(kube_env, "wait", "--for=condition=Available", "deployment/web", "-n", "doomed", "--timeout=30s")
    assert get(kube_env, "replicasets", "-n", "doomed")["items"]
    assert 'service "web" deleted' in kubectl(kube_env, "delete", "service", "web", "-n", "doomed")
    assert "NotFound" in kubectl(kube_env, "get", "service", "web", "-n", "doomed", check=False)
    kubectl(kube_env, "delete", "namespace", "doomed", "--timeout=30s")
    assert "NotFound" in kubectl(kube_env, "get", "namespace", "doomed", check=False)
    for kind in ("deployments", "replicasets", "pods", "serviceaccounts", "configmaps"):
        assert get(kube_env, kind, "-n", "doomed")["items"] == []


def test_unschedulable_pod_stays_pending(kube_env: dict[str, str], manifest) -> None:
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: lost, namespace: default}\n"
        "spec:\n  nodeSelector: {doks.digitalocean.com/node-pool: tools}\n  containers: [{name: c, image: busybox:1.37}]\n"
    )
    kubectl(kube_env, "apply", "-f", manifest(pod))
    live = get(kube_env, "pod", "lost")
    assert live["status"]["phase"] == "Pending"
    condition = live["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert "untolerated taint {tools: true}" in condition["message"]
    assert "nodeName" not in live["spec"]


def test_explain_reads_both_openapi_versions(kube_env: dict[str, str]) -> None:
    v3 = kubectl(kube_env, "explain", "deployment.spec.template.spec.containers")
    assert "FIELD: containers <[]" in v3 and "image\t<string>" in v3
    v2 = kubectl(
        kube_env, "explain", "deployment.spec.replicas", "--output=plaintext-openapiv2"
    )  # the protobuf document
    assert "FIELD:    replicas <integer>" in v2


def test_delete_propagation_policies(kube_env: dict[str, str], manifest) -> None:
    kubectl(kube_env, "apply", "-f", manifest(DEPLOYMENT.format(ns="orphans", replicas=1, color="blue")))
    kubectl(kube_env, "wait", "--for=condition=Available", "deployment/web", "-n", "orphans", "--timeout=30s")
    kubectl(kube_env, "delete", "deployment", "web", "-n", "orphans", "--cascade=orphan")
    sets = get(kube_env, "replicasets", "-n", "orphans")["items"]
    assert len(sets) == 1 and "ownerReferences" not in sets[0]["metadata"]
    assert len(get(kube_env, "pods", "-n", "orphans")["items"]) == 1
    kubectl(kube_env, "delete", "replicaset", sets[0]["metadata"]["name"], "-n", "orphans", "--cascade=foreground")
    assert get(kube_env, "pods", "-n", "orphans")["items"] == []


def test_client_side_to_server_side_migration(kube_env: dict[str, str], manifest) -> None:
    kubectl(kube_env, "apply", "-f", manifest(DEPLOYMENT.format(ns="migrate", replicas=2, color="blue")))
    out = kubectl(
        kube_env,
        "apply",
        "--server-side",
        "-f",
        manifest(DEPLOYMENT.format(ns="migrate", replicas=2, color="blue"), "b.yaml"),
    )
    assert "deployment.apps/web serverside-applied" in out and "Warning" not in out
    live = get(kube_env, "deployment", "web", "-n", "migrate")
    managers = {(m["manager"], m["operation"]) for m in live["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers and ("kubectl-client-side-apply", "Update") not in managers
    assert live["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    dry = kubectl(
        kube_env,
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        manifest(DEPLOYMENT.format(ns="migrate", replicas=5, color="blue"), "c.yaml"),
    )
    assert "deployment.apps/web serverside-applied (server dry run)" in dry
    diff = run(
        kube_env,
        KUBECTL,
        "diff",
        "--server-side",
        "-f",
        manifest(DEPLOYMENT.format(ns="migrate", replicas=5, color="blue"), "c.yaml"),
        check=False,
    )
    assert diff.returncode == 1 and "+  replicas: 5" in diff.stdout
    assert get(kube_env, "deployment", "web", "-n", "migrate")["spec"]["replicas"] == 2
