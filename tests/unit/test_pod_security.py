"""Every pod the platform deploys meets the Pod Security level its namespace enforces.

The namespaces and their ``pod-security.kubernetes.io/*`` labels are those the roles apply
(``test_network_boundaries.render``: each role's declaration through the shared
``platform-namespaces.yml.j2``; Tekton's from its release through the role's transform; the
application's from ``lofi_pipeline``'s levels). The pods are the pod templates of every workload the
roles deploy: the charts rendered with the roles' values (as ``test_secret_readers.py`` renders them:
the sandbox stand-ins, which carry the upstream securityContext defaults of the pinned versions; Falco's
with the optional falco role switched on, whose privileged DaemonSet is why its namespace is privileged), the
Tekton release manifests, the application chart (``application/deployment``) and the pipeline's Task
steps (``application/tekton``: each Task's steps, with its ``stepTemplate``, as the containers of the
TaskRun pod Tekton makes in the pipeline namespace).

The judge is the emulator's Pod Security evaluator (``sandbox/kube/podsecurity.py``), written from
k8s.io/pod-security-admission v0.31.9 and itself judged by upstream's fixtures in
``tools/sandbox/tests/test_kube_podsecurity.py``. A workload in ``kube-system`` (metrics-server,
sealed-secrets) is not judged: that namespace is not the platform's and carries no label (privileged).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox
from sandbox.kube import podsecurity
from tests.unit import test_falco_values as falco_values
from tests.unit import test_ingress_certmanager_values as ingress_values
from tests.unit import test_network_boundaries as boundaries
from tests.unit import test_observability_values as observability_values
from tests.unit.role_render import ROOT, outputs

HELM = shutil.which("helm") or str(ROOT / ".tools/bin/helm")
RELEASES = sandbox.RELEASES / "tekton-releases"
WORKLOADS = {
    "Deployment": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# the values the charts require (the Argo CD Application and lofi_pipeline give them); none is a securityContext
APP_VALUES = {
    "host": "lofi.example.com",
    "image": {"repository": "registry.example.com/lofi", "tag": "1.0.0"},
    "ingress": {"clusterIssuer": "letsencrypt", "className": "traefik"},
    "networkPolicy": {"ingressControllerNamespace": "traefik", "prometheusNamespace": "observability"},
}
PIPELINE_VALUES = {
    "webhook": {"host": "hooks.example.com", "clusterIssuer": "letsencrypt", "ingressClassName": "traefik"},
    "source": {"url": "https://github.com/example/lofi.git"},
    "image": {"repository": "registry.example.com/lofi"},
    "gitops": {"url": "https://github.com/example/gitops.git", "environment": "production"},
}


def _template(release: str, chart: Path, namespace: str, values: dict[str, Any], tmp: Path) -> list[dict[str, Any]]:
    values_file = tmp / f"{release}-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    args = [HELM, "template", release, str(chart), "-n", namespace, "-f", str(values_file)]
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{chart.name}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _pod_templates(objects: list[dict[str, Any]], namespace: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, kind/name, pod template) of every workload among ``objects``."""
    found = []
    for obj in objects:
        path = WORKLOADS.get(obj.get("kind", ""))
        if path is None:
            continue
        node: Any = obj
        for key in path:
            node = node[key]
        found.append((obj["metadata"].get("namespace") or namespace, f"{obj['kind']}/{obj['metadata']['name']}", node))
    return found


def _task_pods(objects: list[dict[str, Any]], namespace: str) -> list[tuple[str, str, dict[str, Any]]]:
    """A Task's TaskRun pod as far as Pod Security sees it: one container per step, with the stepTemplate."""
    found = []
    for task in (o for o in objects if o.get("kind") == "Task"):
        spec = task["spec"]
        template = spec.get("stepTemplate") or {}
        containers = [{**template, **step, "name": f"step-{step['name']}"} for step in spec.get("steps") or []]
        found.append(
            (namespace, f"Task/{task['metadata']['name']}", {"metadata": {}, "spec": {"containers": containers}})
        )
    return found


@pytest.fixture(scope="module")
def namespaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The Pod Security labels of every namespace the roles create, by name."""
    rendered = boundaries.render(tmp_path_factory.mktemp("namespaces"))
    labels = {
        o["metadata"]["name"]: o["metadata"].get("labels") or {}
        for objs in rendered.values()
        for o in objs
        if o["kind"] == "Namespace"
    }
    tekton = yaml.safe_load((ROOT / "roles/tekton/defaults/main.yml").read_text())
    for path in sorted(RELEASES.glob("*/previous/*/*.yaml")):
        # roles/tekton/vars/main.yml tekton_file_docs: every release namespace at tekton_pod_security, Chains' at
        # tekton_chains_pod_security (enforce-version latest)
        component = path.relative_to(RELEASES).parts[0]
        level = tekton["tekton_chains_pod_security" if component == "chains" else "tekton_pod_security"]
        role_labels = {f"pod-security.kubernetes.io/{m}": level for m in ("enforce", "audit", "warn")}
        role_labels["pod-security.kubernetes.io/enforce-version"] = "latest"
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Namespace":
                name = doc["metadata"]["name"]
                labels[name] = {**(doc["metadata"].get("labels") or {}), **role_labels, **labels.get(name, {})}
    defaults = yaml.safe_load((ROOT / "roles/lofi_pipeline/defaults/main.yml").read_text())
    for name, level in (
        ("lofi", defaults["lofi_pipeline_app_pod_security"]),
        ("lofi-ci", defaults["lofi_pipeline_pipeline_pod_security"]),
    ):
        # roles/lofi_pipeline/tasks/app.yml: enforce, enforce-version latest, audit, warn
        labels[name] = {f"pod-security.kubernetes.io/{m}": level for m in ("enforce", "audit", "warn")}
        labels[name]["pod-security.kubernetes.io/enforce-version"] = "latest"
    return labels


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, dict[str, Any]]]:
    """Every pod template a default converge deploys, with its namespace."""
    tmp = tmp_path_factory.mktemp("pods")
    obs = observability_values.values(tmp_path_factory.mktemp("observability"))
    ing = ingress_values.rendered(tmp_path_factory.mktemp("ingress"))
    falco_tmp = tmp_path_factory.mktemp("falco")
    falco = outputs(falco_tmp, falco_values.render(falco_tmp))["values"]  # optional role, switched on
    charts = sandbox.CHARTS
    releases = [
        ("kube-prometheus-stack", charts / "kube-prometheus-stack", "observability", obs["kube-prometheus-stack"]),
        ("loki", charts / "loki", "observability", obs["loki"]),
        ("alloy", charts / "alloy", "observability", obs["alloy"]),
        ("traefik", charts / "traefik", "traefik", ing["traefik-values"]),
        ("cert-manager", charts / "cert-manager", "cert-manager", ing["cert-manager-values"]),
        ("external-dns", charts / "external-dns", "external-dns", ing["external-dns-values"]),
        ("oauth2-proxy", charts / "oauth2-proxy", "oauth2-proxy", ing["oauth2-proxy-values"]),
        ("argocd", charts / "argo-cd", "argocd", {}),
        ("falco", charts / "falco", "falco", falco),
        ("lofi", ROOT / "application/deployment", "lofi", APP_VALUES),
    ]
    found: list[tuple[str, str, dict[str, Any]]] = []
    for release, chart, namespace, values in releases:
        found += _pod_templates(_template(release, chart, namespace, values, tmp), namespace)
    for path in sorted(RELEASES.glob("*/previous/*/*.yaml")):
        if path.name != "release-full.yaml":
            found += _pod_templates([d for d in yaml.safe_load_all(path.read_text()) if d], "")
    pipeline = _template("lofi-ci", ROOT / "application/tekton", "lofi-ci", PIPELINE_VALUES, tmp)
    found += _pod_templates(pipeline, "lofi-ci") + _task_pods(pipeline, "lofi-ci")
    return found


def test_every_pod_meets_its_namespace_level(
    namespaces: dict[str, dict[str, str]], pods: list[tuple[str, str, dict[str, Any]]]
) -> None:
    """Pod Security admission would admit every pod of the platform where its namespace enforces a level."""
    judged = [(ns, name, t) for ns, name, t in pods if ns in namespaces]
    assert {ns for ns, _, _ in judged} >= {"observability", "traefik", "argocd", "tekton-pipelines", "lofi", "falco"}
    refused = {}
    for ns, name, template in judged:
        enforce = podsecurity.policy(namespaces[ns]).enforce
        failed = podsecurity.evaluate(enforce.level, enforce.version, template.get("metadata") or {}, template["spec"])
        if failed:
            refused[f"{ns}/{name}"] = f"{enforce}: {podsecurity.detail(failed)}"
    assert not refused, "\n".join(f"{k}: {v}" for k, v in sorted(refused.items()))


def test_a_namespace_below_restricted_has_a_pod_that_needs_it(
    namespaces: dict[str, dict[str, str]], pods: list[tuple[str, str, dict[str, Any]]]
) -> None:
    """A namespace left below restricted has a pod that needs it (the level is the strictest its pods meet)."""
    for ns, labels in namespaces.items():
        level = podsecurity.policy(labels).enforce.level
        if level == podsecurity.RESTRICTED:
            continue
        stricter = podsecurity.LEVELS[podsecurity.LEVELS.index(level) + 1]
        templates = [t for n, _, t in pods if n == ns]
        if not templates:
            continue
        assert any(podsecurity.evaluate(stricter, None, t.get("metadata") or {}, t["spec"]) for t in templates), (
            f"{ns}: every pod meets {stricter}, the namespace enforces only {level}"
        )


def test_the_judge_can_refuse(namespaces: dict[str, dict[str, str]]) -> None:
    """The same evaluation refuses a root pod in a restricted namespace of the platform."""
    enforce = podsecurity.policy(namespaces["argocd"]).enforce
    assert str(enforce) == "restricted:latest"
    assert podsecurity.evaluate(enforce.level, enforce.version, {}, {"containers": [{"name": "c", "image": "x"}]})


def test_ingress_nginx_pods_meet_their_namespace_level(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With ingress-nginx (molecule ``ingress_certmanager_nginx``) the controller's pods pass its namespace's level.

    The stand-in renders ingress-nginx 4.15.1's container securityContext defaults (``controller.image.*``
    in upstream ``values.yaml`` at ``helm-chart-4.15.1``, built by its ``_helpers.tpl``); without them the
    same pod is refused.
    """
    variables = {"gitops_ingress_controller": "ingress-nginx"}
    rendered = boundaries.render(tmp_path_factory.mktemp("nginx-namespaces"), variables)
    (namespace,) = [
        o
        for objs in rendered.values()
        for o in objs
        if o["kind"] == "Namespace" and o["metadata"]["name"] == "ingress-nginx"
    ]
    enforce = podsecurity.policy(namespace["metadata"].get("labels") or {}).enforce
    assert str(enforce) == "restricted:latest"
    values = ingress_values.rendered(
        tmp_path_factory.mktemp("nginx-values"),
        gitops_ingress_controller="ingress-nginx",
        ingress_certmanager_acme_solver="dns01",
        ingress_certmanager_external_dns_provider="webhook",
    )["ingress-nginx-values"]
    tmp = tmp_path_factory.mktemp("nginx-pods")
    chart = sandbox.CHARTS / "ingress-nginx"
    pods = _pod_templates(_template("ingress-nginx", chart, "ingress-nginx", values, tmp), "ingress-nginx")
    assert [name for _, name, _ in pods] == ["Deployment/ingress-nginx-controller"]
    for _, name, template in pods:
        failed = podsecurity.evaluate(enforce.level, enforce.version, template.get("metadata") or {}, template["spec"])
        assert not failed, f"{name}: {podsecurity.detail(failed)}"
        bare = {
            **template["spec"],
            "containers": [{**c, "securityContext": {}} for c in template["spec"]["containers"]],
        }
        assert podsecurity.evaluate(enforce.level, enforce.version, {}, bare), name
