"""The stand-in charts and release manifests: pinned by the roles, lint-clean, renderable, valid CRDs.

Pin convention (tools/sandbox/src/sandbox/charts/README.md): in ``roles/<role>/defaults/main.yml`` every chart is one
dict ``<role>_<component>_chart: {name, repo, version}`` and every release manifest set is one dict
``<role>_<component>_release: {version, files}`` next to ``<role>_release_base_url``. A release's
component is the directory on the release host, and the base URL's last path segment is the
directory under the sandbox's releases/ (``https://infra.tekton.dev/tekton-releases`` ->
``releases/tekton-releases/<component>/previous/<version>/<file>``).
"""

from __future__ import annotations

import shutil
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox

ROOT = Path(__file__).resolve().parents[2]
HELM = shutil.which("helm") or str(ROOT / ".tools" / "bin" / "helm")
CHARTS = sandbox.CHARTS
RELEASES = sandbox.RELEASES
CHART_DIRS = sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml"))
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
MARK_TOLERATION = {"key": "sandbox-placement", "operator": "Exists", "effect": "NoSchedule"}
MARK_SELECTOR = {"sandbox-placement": "yes"}
# Where each stand-in takes placement keys, exactly where the upstream chart has them
# ("" is the chart's top level). argo-cd's per-component keys fall back to global.*.
PLACEMENT: dict[str, list[str]] = {
    "alloy": ["controller"],
    "argo-cd": ["global"],
    "cert-manager": ["", "webhook", "cainjector", "startupapicheck"],
    "external-dns": [""],
    "ingress-nginx": ["controller"],
    "kube-prometheus-stack": [
        "prometheusOperator",
        "prometheus.prometheusSpec",
        "alertmanager.alertmanagerSpec",
        "grafana",
        "kube-state-metrics",
        "prometheus-node-exporter",
    ],
    # per controller, falling back to global.* like upstream (kubernetes.io/os: linux always merged)
    "kyverno": ["admissionController", "backgroundController", "cleanupController", "reportsController"],
    # the Falco DaemonSet at the top level, the falcosidekick subchart's Deployment under falcosidekick.
    "falco": ["", "falcosidekick"],
    "loki": ["singleBinary", "gateway", "chunksCache", "resultsCache", "lokiCanary"],
    "metrics-server": [""],
    "oauth2-proxy": [""],
    "sealed-secrets": [""],
    "traefik": [""],
}
# Objects whose pod placement lives in the custom resource's spec (the operator builds the pods).
POD_SPEC_CRS = {"Prometheus", "Alertmanager"}


def _defaults() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(ROOT.glob("roles/*/defaults/main.yml")):
        out[path.parts[-3]] = yaml.safe_load(path.read_text()) or {}
    return out


def _pins(suffix: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (role, name, value)
        for role, defaults in _defaults().items()
        for name, value in defaults.items()
        if name.endswith(suffix) and isinstance(value, dict)
    ]


def _helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HELM, *args], capture_output=True, text=True, check=False, timeout=120)


def _ci_values(chart: str) -> list[str]:
    """Charts that, like upstream, need a value to render ship it in ci/ (helm chart-testing layout)."""
    return [arg for f in sorted((CHARTS / chart / "ci").glob("*.yaml")) for arg in ("-f", str(f))]


def _render(chart: str, *extra: str) -> list[dict[str, Any]]:
    result = _helm("template", "release", str(CHARTS / chart), "--namespace", "sandbox", *_ci_values(chart), *extra)
    assert result.returncode == 0, f"{chart}: {result.stderr}"
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _chart_meta(chart: str) -> dict[str, Any]:
    return yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text())


# ---------------------------------------------------------------- pins


def test_roles_pin_charts_and_releases() -> None:
    charts = {value["name"] for _, _, value in _pins("_chart")}
    assert charts == set(CHART_DIRS), "every stand-in is pinned by a role and every pinned chart has a stand-in"
    assert {name for _, name, _ in _pins("_release")} >= {
        "tekton_pipeline_release",
        "tekton_triggers_release",
        "tekton_dashboard_release",
    }


@pytest.mark.parametrize(("role", "var", "pin"), _pins("_chart"), ids=lambda v: v if isinstance(v, str) else "")
def test_chart_pin_has_a_standin_at_that_version(role: str, var: str, pin: dict[str, Any]) -> None:
    assert set(pin) == {"name", "repo", "version"}, f"{role}: {var} must have exactly name, repo, version"
    assert var.startswith(f"{role}_")
    assert urllib.parse.urlsplit(pin["repo"]).scheme == "https", f"{var}.repo is the upstream https repository"
    chart = CHARTS / pin["name"] / "Chart.yaml"
    assert chart.is_file(), f"{var}: no stand-in tools/sandbox/src/sandbox/charts/{pin['name']}"
    meta = yaml.safe_load(chart.read_text())
    assert meta["name"] == pin["name"]
    assert str(meta["version"]) == str(pin["version"]), f"{var} pins {pin['version']}, stand-in is {meta['version']}"


@pytest.mark.parametrize(("role", "var", "pin"), _pins("_release"), ids=lambda v: v if isinstance(v, str) else "")
def test_release_pin_has_its_manifests(role: str, var: str, pin: dict[str, Any]) -> None:
    assert {"version", "files"} <= set(pin) <= {"version", "files", "sha256"}, (
        f"{role}: {var} must have version and files (and optionally sha256 pins per file)"
    )
    assert set(pin.get("sha256") or {}) <= set(pin["files"]), f"{role}: {var}.sha256 names a file it does not pin"
    base = _defaults()[role].get(f"{role}_release_base_url")
    assert base, f"{role}: {var} needs {role}_release_base_url"
    host_dir = urllib.parse.urlsplit(base).path.strip("/").split("/")[-1]
    component = var.removeprefix(f"{role}_").removesuffix("_release")
    assert pin["files"], f"{var}: no files"
    for name in pin["files"]:
        path = RELEASES / host_dir / component / "previous" / pin["version"] / name
        assert path.is_file(), f"{var}: no stand-in {path.relative_to(ROOT)}"
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)


# ---------------------------------------------------------------- charts


@pytest.mark.parametrize("chart", CHART_DIRS)
def test_chart_metadata_says_stand_in(chart: str) -> None:
    meta = _chart_meta(chart)
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart
    assert meta["appVersion"]
    assert "sandbox stand-in" in meta["description"].lower()


@pytest.mark.parametrize("chart", CHART_DIRS)
def test_chart_lints_clean(chart: str) -> None:
    result = _helm("lint", "--strict", str(CHARTS / chart), *_ci_values(chart))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout and "[ERROR]" not in result.stdout, result.stdout


@pytest.mark.parametrize("chart", CHART_DIRS)
def test_chart_renders_workloads_with_default_values(chart: str) -> None:
    docs = _render(chart)
    workloads = [d for d in docs if d["kind"] in WORKLOADS | POD_SPEC_CRS]
    assert workloads, f"{chart}: renders no workload"
    for doc in docs:
        assert doc["metadata"].get("name"), f"{chart}: {doc['kind']} without a name"


def _set(values: dict[str, Any], dotted: str, key: str, value: Any) -> None:
    node = values
    for part in [p for p in dotted.split(".") if p]:
        node = node.setdefault(part, {})
    node[key] = value


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] in POD_SPEC_CRS:
        return doc["spec"]
    return doc["spec"]["template"]["spec"]


@pytest.mark.parametrize("chart", CHART_DIRS)
def test_chart_places_every_workload_with_its_placement_keys(chart: str, tmp_path: Path) -> None:
    assert chart in PLACEMENT, f"{chart}: add its placement keys to PLACEMENT"
    values: dict[str, Any] = {}
    for path in PLACEMENT[chart]:
        _set(values, path, "tolerations", [MARK_TOLERATION])
        _set(values, path, "nodeSelector", MARK_SELECTOR)
    file = tmp_path / "placement.yaml"
    file.write_text(yaml.safe_dump(values))
    docs = _render(chart, "-f", str(file))
    placed = [d for d in docs if d["kind"] in WORKLOADS | POD_SPEC_CRS and "helm.sh/hook" not in str(d["metadata"])]
    assert placed
    for doc in placed:
        spec = _pod_spec(doc)
        where = f"{chart}: {doc['kind']}/{doc['metadata']['name']}"
        assert MARK_TOLERATION in spec.get("tolerations", []), f"{where} lacks the toleration"
        assert spec.get("nodeSelector", {}).get("sandbox-placement") == "yes", f"{where} lacks the nodeSelector"


# ---------------------------------------------------------------- CRDs


def _crds_of(chart: str) -> list[dict[str, Any]]:
    docs = [d for f in sorted((CHARTS / chart / "crds").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    if chart == "cert-manager":  # CRDs are templates gated by crds.enabled upstream
        docs += _render(chart, "--set", "crds.enabled=true")
    return [d for d in docs if d and d["kind"] == "CustomResourceDefinition"]


def _release_crds() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(RELEASES.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "CustomResourceDefinition":
                out.append((str(path.relative_to(RELEASES)), doc))
    return out


def assert_valid_crd(doc: dict[str, Any]) -> None:
    assert doc["apiVersion"] == "apiextensions.k8s.io/v1"
    spec, names = doc["spec"], doc["spec"]["names"]
    assert spec["group"] and "." in spec["group"]
    assert doc["metadata"]["name"] == f"{names['plural']}.{spec['group']}"
    assert names["kind"] and names["plural"] == names["plural"].lower()
    assert names.get("singular", names["kind"].lower()) == names.get("singular", "").lower()
    assert spec["scope"] in {"Namespaced", "Cluster"}
    assert spec["versions"], "no versions"
    assert sum(1 for v in spec["versions"] if v["storage"]) == 1, "exactly one storage version"
    for version in spec["versions"]:
        assert isinstance(version["served"], bool)
        schema = version["schema"]["openAPIV3Schema"]
        assert schema["type"] == "object"
        # Tekton Triggers' CRDs keep everything at the root, as upstream (their webhook judges)
        open_root = schema.get("x-kubernetes-preserve-unknown-fields") is True
        # wgpolicyk8s.io reports keep scope, summary and results at the root (Kyverno's
        # wgpolicyk8s.io_policyreports.yaml), no spec
        rootless = names["kind"] in {"Extension", "PolicyReport", "ClusterPolicyReport"}
        assert "spec" in schema.get("properties", {}) or open_root or rootless


EXPECTED_CRDS = {
    "cert-manager": {"certificates", "certificaterequests", "issuers", "clusterissuers", "orders", "challenges"},
    "traefik": {"middlewares", "ingressroutes", "ingressroutetcps", "tlsoptions", "serverstransports"},
    "kube-prometheus-stack": {
        "servicemonitors",
        "podmonitors",
        "prometheusrules",
        "prometheuses",
        "alertmanagers",
        "alertmanagerconfigs",
    },
    "argo-cd": {"applications", "appprojects", "applicationsets"},
    "sealed-secrets": {"sealedsecrets"},
    "kyverno": {"clusterpolicies", "policies", "policyexceptions", "policyreports", "clusterpolicyreports"},
}


@pytest.mark.parametrize("chart", sorted(EXPECTED_CRDS))
def test_chart_crds_are_valid(chart: str) -> None:
    crds = _crds_of(chart)
    assert EXPECTED_CRDS[chart] <= {d["spec"]["names"]["plural"] for d in crds}
    for doc in crds:
        assert_valid_crd(doc)


def test_cert_manager_crds_follow_crds_enabled_and_keep() -> None:
    assert not [d for d in _render("cert-manager") if d["kind"] == "CustomResourceDefinition"]
    kept = [d for d in _render("cert-manager", "--set", "crds.enabled=true") if d["kind"] == "CustomResourceDefinition"]
    assert len(kept) == 6
    assert all(d["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for d in kept)
    loose = _render("cert-manager", "--set", "crds.enabled=true", "--set", "crds.keep=false")
    assert all("annotations" not in d["metadata"] for d in loose if d["kind"] == "CustomResourceDefinition")


def test_release_crds_are_valid() -> None:
    crds = _release_crds()
    plurals = {d["metadata"]["name"] for _, d in crds}
    assert {
        "pipelines.tekton.dev",
        "tasks.tekton.dev",
        "pipelineruns.tekton.dev",
        "taskruns.tekton.dev",
        "customruns.tekton.dev",
        "stepactions.tekton.dev",
        "resolutionrequests.resolution.tekton.dev",
        "eventlisteners.triggers.tekton.dev",
        "triggers.triggers.tekton.dev",
        "triggerbindings.triggers.tekton.dev",
        "clustertriggerbindings.triggers.tekton.dev",
        "triggertemplates.triggers.tekton.dev",
        "interceptors.triggers.tekton.dev",
        "clusterinterceptors.triggers.tekton.dev",
    } <= plurals
    for _, doc in crds:
        assert_valid_crd(doc)


def test_invalid_crd_is_caught() -> None:
    doc = yaml.safe_load((CHARTS / "sealed-secrets" / "crds" / "sealedsecrets.bitnami.com.yaml").read_text())
    doc["spec"]["versions"].append({**doc["spec"]["versions"][0], "name": "v1"})
    with pytest.raises(AssertionError, match="exactly one storage version"):
        assert_valid_crd(doc)


# ---------------------------------------------------------------- release manifests


def _release(path: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((RELEASES / "tekton-releases" / path).read_text()) if d]


def test_pipeline_release_objects() -> None:
    docs = _release("pipeline/previous/v1.15.0/release.yaml")
    named = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
    for name in ("tekton-pipelines-controller", "tekton-pipelines-webhook", "tekton-events-controller"):
        assert ("Deployment", "tekton-pipelines", name) in named
        assert ("Service", "tekton-pipelines", name) in named
    assert ("Deployment", "tekton-pipelines-resolvers", "tekton-pipelines-remote-resolvers") in named
    for cm in ("feature-flags", "config-defaults", "config-observability", "pipelines-info"):
        assert ("ConfigMap", "tekton-pipelines", cm) in named
    for cm in ("bundleresolver-config", "git-resolver-config", "resolvers-feature-flags"):
        assert ("ConfigMap", "tekton-pipelines-resolvers", cm) in named
    flags = next(d for d in docs if d["metadata"]["name"] == "feature-flags")["data"]
    assert flags["enable-api-fields"] == "beta"
    assert flags["enable-tekton-oci-bundles"] == "false"
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert all(d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "tekton-pipelines" for d in deployments)
    assert all(d["metadata"]["labels"]["pipeline.tekton.dev/release"] == "v1.15.0" for d in deployments)


def test_triggers_and_interceptors_release_objects() -> None:
    docs = _release("triggers/previous/v0.37.0/release.yaml")
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "tekton-triggers-controller"), ("Deployment", "tekton-triggers-webhook")} <= names
    interceptors = _release("triggers/previous/v0.37.0/interceptors.yaml")
    cluster = {d["metadata"]["name"] for d in interceptors if d["kind"] == "ClusterInterceptor"}
    assert cluster == {"github", "gitlab", "bitbucket", "cel", "slack"}
    assert ("Deployment", "tekton-triggers-core-interceptors") in {
        (d["kind"], d["metadata"]["name"]) for d in interceptors
    }


def test_dashboard_read_only_versus_full() -> None:
    def args(path: str) -> list[str]:
        dep = next(d for d in _release(path) if d["kind"] == "Deployment")
        assert dep["metadata"]["name"] == "tekton-dashboard"
        assert dep["metadata"]["namespace"] == "tekton-pipelines"
        return dep["spec"]["template"]["spec"]["containers"][0]["args"]

    assert "--read-only=true" in args("dashboard/previous/v0.71.0/release.yaml")
    assert "--read-only=false" in args("dashboard/previous/v0.71.0/release-full.yaml")
    full = {d["metadata"]["name"] for d in _release("dashboard/previous/v0.71.0/release-full.yaml")}
    read_only = {d["metadata"]["name"] for d in _release("dashboard/previous/v0.71.0/release.yaml")}
    assert "tekton-dashboard-backend-edit" in full - read_only


def test_alloy_rbac_follows_rules_and_cluster_rules_like_upstream(tmp_path: Path) -> None:
    """grafana/alloy helm-chart/1.11.1 templates/rbac.yaml: a ClusterRole of ``rbac.rules`` then
    ``rbac.clusterRules``, written as YAML one after the other (an empty list next to items does not
    parse), or with ``rbac.namespaces`` one Role per namespace of ``rbac.rules`` only; the default
    rules (values.yaml) read configmaps and secrets for remote.kubernetes.*."""
    default = {d["kind"]: d for d in _render("alloy") if d["kind"] in ("ClusterRole", "ClusterRoleBinding")}
    secrets = [r for r in default["ClusterRole"]["rules"] if "secrets" in r.get("resources", [])]
    assert secrets and set(secrets[0]["verbs"]) == {"get", "list", "watch"}
    pods = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    metrics = [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"rbac": {"rules": pods, "clusterRules": metrics}}))
    narrow = [d for d in _render("alloy", "-f", str(values)) if d["kind"] == "ClusterRole"]
    assert narrow[0]["rules"] == pods + metrics
    values.write_text(yaml.safe_dump({"rbac": {"rules": pods, "clusterRules": []}}))
    broken = _helm("template", "release", str(CHARTS / "alloy"), "-f", str(values))
    assert broken.returncode != 0 and "YAML parse error" in broken.stderr
    values.write_text(yaml.safe_dump({"rbac": {"rules": pods, "namespaces": ["a", "b"]}}))
    roles = [d for d in _render("alloy", "-f", str(values)) if d["kind"] in ("Role", "ClusterRole")]
    assert [(r["kind"], r["metadata"]["namespace"], r["rules"]) for r in roles] == [
        ("Role", "a", pods),
        ("Role", "b", pods),
    ]
