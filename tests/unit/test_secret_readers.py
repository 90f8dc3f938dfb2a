"""Which ServiceAccounts may read every Secret: the charts rendered with the roles' values plus the
Tekton release manifests, evaluated with Kubernetes' RBAC rules, against the allow-list in
docs/security-rbac.md.

Charts are the sandbox stand-ins (``sandbox.CHARTS``), which keep the upstream RBAC of the pinned
versions for the values the platform sets (Alloy: grafana/alloy helm-chart/1.11.1 ``rbac.rules`` and
``rbac.clusterRules``; Argo CD: argo-helm charts/argo-cd ``argocd-*/clusterrole.yaml``); charts whose
stand-in leaves out a ClusterRole are listed in the document from the upstream chart alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox
from tests.unit import test_ingress_certmanager_values as ingress_values
from tests.unit import test_observability_values as observability_values
from tests.unit.rbac_reach import allows, cluster_wide_readers
from tests.unit.role_render import ROOT

HELM = shutil.which("helm") or str(ROOT / ".tools/bin/helm")
DOC = ROOT / "docs/security-rbac.md"
RELEASES = sandbox.RELEASES / "tekton-releases"


def _template(release: str, chart: str, namespace: str, values: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    values_file = tmp_path / f"{release}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    args = [HELM, "template", release, str(sandbox.CHARTS / chart), "-n", namespace, "-f", str(values_file)]
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{chart}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What a converge deploys that carries RBAC: every chart with its role's values, the Tekton releases."""
    tmp = tmp_path_factory.mktemp("rbac")
    obs = observability_values.values(tmp_path_factory.mktemp("observability"))
    ing = ingress_values.rendered(tmp_path_factory.mktemp("ingress"))
    releases = [
        ("kube-prometheus-stack", "kube-prometheus-stack", "observability", obs["kube-prometheus-stack"]),
        ("loki", "loki", "observability", obs["loki"]),
        ("alloy", "alloy", "observability", obs["alloy"]),
        ("metrics-server", "metrics-server", "kube-system", obs["metrics-server"]),
        ("traefik", "traefik", "traefik", ing["traefik-values"]),
        ("cert-manager", "cert-manager", "cert-manager", ing["cert-manager-values"]),
        ("external-dns", "external-dns", "external-dns", ing["external-dns-values"]),
        ("oauth2-proxy", "oauth2-proxy", "oauth2-proxy", ing["oauth2-proxy-values"]),
        ("sealed-secrets", "sealed-secrets", "kube-system", ing["sealed-secrets-values"]),
        # RBAC of the Argo CD chart does not depend on the values the argocd role sets
        ("argocd", "argo-cd", "argocd", {}),
    ]
    objects: list[dict[str, Any]] = []
    for release, chart, namespace, values in releases:
        objects += _template(release, chart, namespace, values, tmp)
    for path in sorted(RELEASES.glob("*/previous/*/*.yaml")):
        if path.name != "release-full.yaml":  # the read-only Dashboard is the default
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def documented_readers() -> set[str]:
    """ServiceAccounts (namespace/name) of the allow-list table of docs/security-rbac.md."""
    text = DOC.read_text()
    section = text.split("## ServiceAccounts that may read every Secret", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+/[a-z0-9-]+)` \|", section, flags=re.MULTILINE))


def test_only_documented_service_accounts_read_every_secret(deployed: list[dict[str, Any]]) -> None:
    readers = cluster_wide_readers(deployed)
    allowed = documented_readers()
    assert readers, "no reader found: the rendering lost the RBAC objects"
    undocumented = {sa: roles for sa, roles in readers.items() if sa not in allowed}
    assert not undocumented, f"read every Secret without a row in {DOC.name}: {undocumented}"


def test_alloy_does_not_read_secrets(deployed: list[dict[str, Any]]) -> None:
    """Alloy's pipeline (config.alloy) only discovers pods; it reads logs from the node's files."""
    assert "observability/alloy" not in cluster_wide_readers(deployed)
    assert "observability/alloy" not in documented_readers()
    bound = {
        b["roleRef"]["name"]
        for b in deployed
        if b["kind"] in ("ClusterRoleBinding", "RoleBinding")
        and any(s.get("name") == "alloy" and s.get("namespace") == "observability" for s in b.get("subjects") or [])
    }
    rules = [
        r
        for o in deployed
        if o["kind"] in ("ClusterRole", "Role") and o["metadata"]["name"] in bound
        for r in o.get("rules") or []
    ]
    assert rules, "Alloy lost its RBAC"
    granted = {res for r in rules for res in r.get("resources") or [] if allows(r, "list", res)}
    assert granted == {"pods"}


def test_the_dashboard_and_external_dns_do_not_read_secrets(deployed: list[dict[str, Any]]) -> None:
    readers = cluster_wide_readers(deployed)
    assert "tekton-pipelines/tekton-dashboard" not in readers
    assert "external-dns/external-dns" not in readers


def test_the_evaluator_follows_rbac() -> None:
    """A RoleBinding to a secret-reading ClusterRole grants it in its namespace only; ``*`` matches; a watch
    reads (it streams whole objects); Secrets are in the core group only."""
    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}],
    }
    subject = [{"kind": "ServiceAccount", "name": "a", "namespace": "n"}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"}
    namespaced = {
        "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "n"},
        "roleRef": ref,
        "subjects": subject,
    }
    cluster = {"kind": "ClusterRoleBinding", "metadata": {"name": "b"}, "roleRef": ref, "subjects": subject}
    assert cluster_wide_readers([role, namespaced]) == {}
    assert cluster_wide_readers([role, cluster]) == {"n/a": ["r"]}
    watch_only = {**role, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["watch"]}]}
    assert cluster_wide_readers([watch_only, cluster]) == {"n/a": ["r"]}
    other_group = {**role, "rules": [{"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}]}
    assert cluster_wide_readers([other_group, cluster]) == {}
