"""What the observability role ships to Prometheus and Alertmanager, judged by their own tools.

``promtool`` (Debian package ``prometheus``) checks every PrometheusRule the roles ship and runs
unit tests of the fixed alerts; ``amtool`` (Debian ``prometheus-alertmanager``) checks the
Alertmanager configuration the role renders, with the defaults and with the production example
inventory. ``make tools`` installs both; without them this module fails (it never skips).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.role_render import ROOT, outputs, render_role

TASKS = """
    - name: Render the alert rules
      ansible.builtin.copy:
        dest: "{out}/rules.json"
        content: "{{{{ lookup('ansible.builtin.template', 'platform-rules.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
    - name: Render the kube-prometheus-stack values
      ansible.builtin.copy:
        dest: "{out}/kps.json"
        content: "{{{{ lookup('ansible.builtin.template', 'kube-prometheus-stack-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""
BASE_VARS: dict[str, Any] = {
    "auth0_apps_issuer": "https://tenant.eu.auth0.com/",
    "auth0_apps_groups_claim": "https://doks.gitops/groups",
    "auth0_apps_clients": {"grafana": {"client_id": "grafana-id", "client_secret": "s"}},
    "doks_cluster_spaces_bucket": "logs-bucket",
}
SLACK_URL = "https://hooks.slack.com/services/T000/B000/must-not-leak"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not on PATH: run `make tools` (installs Debian prometheus / prometheus-alertmanager)",
            pytrace=False,
        )
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], check=False, capture_output=True, text=True, timeout=120)


def rendered(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return outputs(tmp_path, render_role(tmp_path, "observability", TASKS, {**BASE_VARS, **overrides}))


@pytest.fixture(scope="module")
def default_render(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendered(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def rules_file(default_render: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PrometheusRule's ``spec`` is a Prometheus rule file (``groups:``) as the operator writes it."""
    path = tmp_path_factory.mktemp("rules") / "platform-health.yml"
    path.write_text(yaml.safe_dump({"groups": default_render["rules"]["spec"]["groups"]}))
    return path


def test_tools_versions() -> None:
    """The judges in use: Debian bookworm ships promtool 2.42.0 and amtool 0.25.0."""
    for name in ("promtool", "amtool"):
        result = run(tool(name), "--version")
        assert result.returncode == 0 and "version" in result.stdout + result.stderr


def test_every_shipped_prometheus_rule_passes_promtool(rules_file: Path, default_render: dict[str, Any]) -> None:
    """``promtool check rules``: PromQL parses, templates of labels/annotations expand, no duplicate."""
    shipped = sorted(
        p.name for p in (ROOT / "roles").glob("*/*/**/*") if p.is_file() and "kind: PrometheusRule" in p.read_text()
    )
    # kyverno-rules.yml.j2: tests/unit/test_kyverno_policies.py, falco-rules.yml.j2: tests/unit/test_falco_values.py
    # (promtool check and test rules)
    assert shipped == ["falco-rules.yml.j2", "kyverno-rules.yml.j2", "platform-rules.yml.j2"], (
        f"render and check every PrometheusRule: {shipped}"
    )
    result = run(tool("promtool"), "check", "rules", rules_file)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(g["rules"]) for g in default_render["rules"]["spec"]["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout


# Input series as Prometheus stores them. cert-manager v1.21.1's chart ServiceMonitor renders
# `honorLabels: {{ .Values.prometheus.servicemonitor.honorLabels }}`, values.yaml `honorLabels:
# false` ("Keep labels from scraped data, overriding server-side labels"); Prometheus docs
# (scrape_config honor_labels): "If honor_labels is set to false, label conflicts are resolved by
# renaming conflicting labels in the scraped data to exported_<original-label>". The target's
# namespace (the operator's `namespace` target label) is cert-manager's / tekton-pipelines.
CERT = 'namespace="cert-manager",exported_namespace="lofi",name="lofi-tls",job="cert-manager"'
# tektoncd/pipeline v1.15.0 pkg/pipelinerunmetrics/metrics.go: the duration histogram records
# `attribute.String("namespace", pr.Namespace), attribute.String("status", status)`, while
# `r.prTotalCounter.Add(ctx, 1, metric.WithAttributes(attribute.String("status", status)))`.
TEKTON = 'namespace="tekton-pipelines",job="tekton-pipelines-controller"'
UNIT_TESTS = {
    "evaluation_interval": "1m",
    "tests": [
        {
            "name": "a Certificate's own namespace reaches the alert (exported_namespace)",
            "interval": "1m",
            "input_series": [
                {
                    "series": "certmanager_certificate_expiration_timestamp_seconds{" + CERT + "}",
                    "values": "259200x180",
                },
                {"series": 'certmanager_certificate_ready_status{condition="False",' + CERT + "}", "values": "1x60"},
                {"series": 'certmanager_certificate_ready_status{condition="True",' + CERT + "}", "values": "0x60"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "2h",
                    "alertname": "CertificateExpiresSoon",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "namespace": "lofi", "name": "lofi-tls"},
                            "exp_annotations": {
                                "summary": "Certificate lofi/lofi-tls expires soon",
                                "description": "Certificate lofi/lofi-tls expires in 2d 22h 0m 0s; "
                                "cert-manager should have renewed it by now.",
                            },
                        }
                    ],
                },
                {
                    "eval_time": "45m",
                    "alertname": "CertificateNotReady",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "namespace": "lofi", "name": "lofi-tls"},
                            "exp_annotations": {
                                "summary": "Certificate lofi/lofi-tls is not ready",
                                "description": "cert-manager has not issued certificate lofi/lofi-tls for 30 minutes.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "with honorLabels true the namespace label is the Certificate's and stays",
            "interval": "1m",
            "input_series": [
                {
                    "series": 'certmanager_certificate_ready_status{condition="False",namespace="shop",name="shop-tls"}',
                    "values": "1x60",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "45m",
                    "alertname": "CertificateNotReady",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "namespace": "shop", "name": "shop-tls"},
                            "exp_annotations": {
                                "summary": "Certificate shop/shop-tls is not ready",
                                "description": "cert-manager has not issued certificate shop/shop-tls for 30 minutes.",
                            },
                        }
                    ],
                },
            ],
        },
        {
            "name": "a failed PipelineRun is reported in its own namespace",
            "interval": "1m",
            "input_series": [
                {
                    "series": "tekton_pipelines_controller_pipelinerun_duration_seconds_count{"
                    + TEKTON
                    + ',exported_namespace="lofi",status="failed",pipeline="build"}',
                    "values": "0 0 0 1 1 1 1 1 1 1 1",
                },
                {
                    "series": "tekton_pipelines_controller_pipelinerun_duration_seconds_count{"
                    + TEKTON
                    + ',exported_namespace="shop",status="success",pipeline="build"}',
                    "values": "0 1 2 3 4 5 6 7 8 9 10",
                },
                {
                    "series": "tekton_pipelines_controller_pipelinerun_total{" + TEKTON + ',status="failed"}',
                    "values": "0 0 0 1 1 1 1 1 1 1 1",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "TektonPipelineRunFailed",
                    "exp_alerts": [
                        {
                            "exp_labels": {"severity": "warning", "namespace": "lofi"},
                            "exp_annotations": {
                                "summary": "Tekton PipelineRuns failed in lofi",
                                "description": "1 PipelineRun(s) failed in namespace lofi during the last 15m.",
                            },
                        }
                    ],
                },
            ],
        },
    ],
}


def test_fixed_alerts_carry_the_objects_namespace(rules_file: Path) -> None:
    """``promtool test rules``: the alert's ``namespace`` is the Certificate's / PipelineRun's.

    On main, CertificateExpiresSoon/NotReady grouped by ``namespace`` (so every certificate
    reported ``cert-manager``) and TektonPipelineRunFailed grouped a counter that only carries
    ``status`` (so every failure reported ``tekton-pipelines``).
    """
    tests = rules_file.parent / "tests.yml"
    tests.write_text(yaml.safe_dump({"rule_files": [rules_file.name], **UNIT_TESTS}, sort_keys=False))
    result = subprocess.run(
        [tool("promtool"), "test", "rules", tests.name],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=rules_file.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def alertmanager_config(values: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(values["kps"]["alertmanager"]["config"]))
    return path


def test_default_alertmanager_config_passes_amtool(default_render: dict[str, Any], tmp_path: Path) -> None:
    """``amtool check-config``: Alertmanager's own loader accepts the rendered configuration."""
    result = run(tool("amtool"), "check-config", alertmanager_config(default_render, tmp_path / "am.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def production_vars() -> dict[str, Any]:
    inventory = ROOT / "inventories/production"
    merged: dict[str, Any] = {}
    for path in [*sorted((inventory / "group_vars/all").glob("*.yml")), inventory / "host_vars/prod-fra1.yml"]:
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def test_production_alerts_reach_a_real_receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production example routes to a real receiver whose credential is a file, never a value.

    Alertmanager slack_config: "api_url_file: The Slack webhook URL read from a file" (0.22+);
    kube-prometheus-stack mounts ``alertmanagerSpec.secrets`` at ``/etc/alertmanager/secrets/<name>``.
    On main the production inventory left the only receiver ``null``.
    """
    monkeypatch.setenv("ALERTMANAGER_SLACK_WEBHOOK_URL", SLACK_URL)
    values = rendered(tmp_path, **production_vars())
    config = values["kps"]["alertmanager"]["config"]
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] != "null"
    slack = receivers[config["route"]["receiver"]]["slack_configs"][0]
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/alertmanager-slack/api-url"
    assert values["kps"]["alertmanager"]["alertmanagerSpec"]["secrets"] == ["alertmanager-slack"]
    assert SLACK_URL not in json.dumps(values)
    result = run(tool("amtool"), "check-config", alertmanager_config(values, tmp_path / "am.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " - 2 receivers" in result.stdout


def test_production_without_the_webhook_fails_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The empty receiver secret is preflight's finding (RULES['observability']), run first by the role."""
    monkeypatch.delenv("ALERTMANAGER_SLACK_WEBHOOK_URL", raising=False)
    result = render_role(tmp_path, "observability", TASKS, {**BASE_VARS, **production_vars()}, preflight=True)
    assert result.returncode != 0
    assert "ALERTMANAGER_SLACK_WEBHOOK_URL" in result.stdout + result.stderr
    assert not list((tmp_path / "out").iterdir())


DASHBOARDS = ROOT / "roles/observability/files/dashboards"


def dashboard_queries(*, legend: bool = False) -> list[tuple[str, str, str]]:
    """(dashboard, panel title, PromQL [+ legend]) of every Prometheus target of the dashboards."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                source = target.get("datasource") or panel.get("datasource") or {}
                if source.get("type") == "prometheus":
                    extra = " legend " + target.get("legendFormat", "") if legend else ""
                    found.append((path.stem, panel["title"], target["expr"] + extra))
    return found


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    """Each dashboard's PromQL, as a recording rule, passes ``promtool check rules`` (Prometheus' parser)."""
    queries = dashboard_queries()
    rules = [{"record": f"dashboard:query_{i}", "expr": expr} for i, (_, _, expr) in enumerate(queries)]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_dashboards_show_the_objects_namespace() -> None:
    """cert-manager and Tekton object metrics are split by ``exported_namespace`` (honorLabels false).

    A ``namespace`` there is the scrape target's (cert-manager, tekton-pipelines) for every
    object; on main the certificate expiry panel labelled every certificate ``cert-manager/<name>``.
    """
    objects = ("certmanager_certificate_", "tekton_pipelines_controller_pipelinerun_duration_seconds_count")
    queries = [(d, t, e) for d, t, e in dashboard_queries(legend=True) if any(m in e for m in objects)]
    for dashboard, title, expr in queries:
        assert "(namespace" not in expr and "{{namespace}}" not in expr, (dashboard, title, expr)
    split = {d for d, _, e in queries if "{{exported_namespace}}" in e and "by (exported_namespace" in e}
    assert split == {"cert-manager", "tekton"}, queries
