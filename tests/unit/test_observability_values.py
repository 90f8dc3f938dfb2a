"""The observability role's Helm values and input checks, rendered by Ansible itself (no cluster).

A tiny playbook renders the role's templates with the role's and the shared defaults plus the
overrides of each case, the way the role's tasks do, and the tests read the result back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jmespath
import pytest
import yaml

from tests.unit.role_render import ROOT, outputs, render_role

ROLE = ROOT / "roles" / "observability"
TEMPLATES = ["kube-prometheus-stack", "loki", "alloy", "metrics-server"]
CLIENT_SECRET = "grafana-client-secret-must-not-leak"
CLAIM = 'https://doks.gitops/groups"odd\\claim'

TASKS = """
    - name: Render every values template
      ansible.builtin.copy:
        dest: "{out}/{{{{ item }}}}.json"
        content: "{{{{ lookup('ansible.builtin.template', item ~ '-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
      loop: {templates}
    - name: Render the alert rules
      ansible.builtin.copy:
        dest: "{out}/rules.json"
        content: "{{{{ lookup('ansible.builtin.template', 'platform-rules.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""

BASE_VARS: dict[str, Any] = {
    "auth0_apps_issuer": "https://tenant.eu.auth0.com/",
    "auth0_apps_groups_claim": CLAIM,
    "auth0_apps_clients": {"grafana": {"client_id": "grafana-id", "client_secret": CLIENT_SECRET}},
    "doks_cluster_spaces_bucket": "logs-bucket",
    "doks_cluster_region": "fra1",
}


def render(tmp_path: Path, preflight: bool = False, **overrides: Any) -> subprocess.CompletedProcess[str]:
    return render_role(
        tmp_path,
        "observability",
        TASKS,
        {**BASE_VARS, **overrides},
        preflight=preflight,
        templates=json.dumps(TEMPLATES),
    )


def values(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    out = outputs(tmp_path, render(tmp_path, **overrides))
    assert sorted(out) == sorted([*TEMPLATES, "rules"])
    return out


@pytest.fixture(scope="module")
def default_values(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return values(tmp_path_factory.mktemp("default"))


def test_no_secret_in_any_values(default_values: dict[str, Any]) -> None:
    assert CLIENT_SECRET not in json.dumps(default_values)
    grafana = default_values["kube-prometheus-stack"]["grafana"]
    ref = grafana["envValueFrom"]["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"]["secretKeyRef"]
    assert ref == {"name": "grafana-oidc", "key": "client-secret"}
    assert "client_secret" not in grafana["grafana.ini"]["auth.generic_oauth"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"


def test_group_names_with_quotes_and_backslashes(tmp_path: Path) -> None:
    odd = "o'brien\\ops`team\""
    ini = values(tmp_path, observability_grafana_editor_groups=[odd])["kube-prometheus-stack"]["grafana"]["grafana.ini"]
    path = ini["auth.generic_oauth"]["role_attribute_path"]
    assert jmespath.search(path, {CLAIM: [odd]}) == "Editor"
    assert jmespath.search(path, {CLAIM: ["o'brien"]}) in (None, False)


def test_sso_off_keeps_the_login_form_and_no_oauth(tmp_path: Path) -> None:
    grafana = values(tmp_path, gitops_sso_enabled=False, auth0_apps_clients={})["kube-prometheus-stack"]["grafana"]
    assert grafana["grafana.ini"]["auth"]["disable_login_form"] is False
    assert "auth.generic_oauth" not in grafana["grafana.ini"]
    assert "envValueFrom" not in grafana


@pytest.mark.parametrize("sso", [True, False])
def test_grafana_session_cookie_is_secure_and_lax(tmp_path: Path, sso: bool) -> None:
    """Grafana configuration, [security]: ``cookie_secure`` "Set to true if you host Grafana behind
    HTTPS" (default false); ``cookie_samesite`` lax (strict would drop the cookie on the redirect
    back from the identity provider). Grafana is only published over TLS, with or without SSO."""
    extra: dict[str, Any] = {} if sso else {"gitops_sso_enabled": False, "auth0_apps_clients": {}}
    ini = values(tmp_path, **extra)["kube-prometheus-stack"]["grafana"]["grafana.ini"]
    assert ini["security"] == {"cookie_secure": True, "cookie_samesite": "lax"}
    assert ini["server"]["root_url"].startswith("https://")


def test_placement(default_values: dict[str, Any]) -> None:
    tools = {"doks.digitalocean.com/node-pool": "tools"}
    kps = default_values["kube-prometheus-stack"]
    placed = [
        kps["prometheusOperator"],
        kps["prometheusOperator"]["admissionWebhooks"]["patch"],
        kps["prometheus"]["prometheusSpec"],
        kps["alertmanager"]["alertmanagerSpec"],
        kps["grafana"],
        kps["kube-state-metrics"],
        default_values["loki"]["singleBinary"],
        default_values["metrics-server"],
    ]
    for section in placed:
        assert section["nodeSelector"] == tools
        assert {"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in section["tolerations"]
    assert kps["prometheus-node-exporter"]["tolerations"] == [{"operator": "Exists"}]
    assert default_values["alloy"]["controller"]["tolerations"] == [{"operator": "Exists"}]
    assert default_values["alloy"]["controller"]["type"] == "daemonset"


def test_loki_storage_and_credentials(default_values: dict[str, Any]) -> None:
    loki = default_values["loki"]
    s3 = loki["loki"]["storage"]["s3"]
    assert (s3["accessKeyId"], s3["secretAccessKey"]) == ("${AWS_ACCESS_KEY_ID}", "${AWS_SECRET_ACCESS_KEY}")
    assert s3["endpoint"] == "fra1.digitaloceanspaces.com" and s3["region"] == "fra1" and s3["insecure"] is False
    # grafana-community/helm-charts loki-18.11.0 templates/_helpers.tpl reads only
    # `dig "storage" "bucketNames" "chunks"` and `... "ruler"`: no `admin` bucket.
    assert loki["loki"]["storage"]["bucketNames"] == {"chunks": "logs-bucket", "ruler": "logs-bucket"}
    assert loki["loki"]["schemaConfig"]["configs"][0] | {"index": None} == {
        "from": "2024-04-01",
        "store": "tsdb",
        "object_store": "s3",
        "schema": "v13",
        "index": None,
    }
    assert loki["loki"]["compactor"]["retention_enabled"] is True
    assert loki["loki"]["limits_config"]["retention_period"] == "744h"
    assert loki["singleBinary"]["extraEnvFrom"] == [{"secretRef": {"name": "loki-spaces"}}]
    # loki-18.11.0 templates/_pod.tpl passes `-config.expand-env=true` to every target but the
    # canary itself; the role must not add a second copy.
    assert "-config.expand-env=true" not in json.dumps(loki)
    assert loki["loki"]["auth_enabled"] is False
    assert "tenant_id" not in default_values["alloy"]["alloy"]["configMap"]["content"]


def test_an_http_endpoint_is_insecure_and_loses_its_scheme(tmp_path: Path) -> None:
    s3 = values(tmp_path, observability_loki_endpoint="http://127.0.0.1:9000")["loki"]["loki"]["storage"]["s3"]
    assert (s3["endpoint"], s3["insecure"]) == ("127.0.0.1:9000", True)


def test_filesystem_loki_keeps_logs_on_its_volume_without_any_spaces_key(tmp_path: Path) -> None:
    """Loki's own `filesystem` store (loki-18.11.0 values.yaml `loki.storage.type`; the schema's
    `object_store` and the compactor's `delete_request_store` name the same store): no bucket, no
    key Secret in the pod's environment, no key hash to roll the pod by."""
    loki = values(tmp_path, observability_loki_storage="filesystem")["loki"]
    assert loki["loki"]["storage"] == {"type": "filesystem"}
    assert loki["loki"]["schemaConfig"]["configs"][0]["object_store"] == "filesystem"
    assert loki["loki"]["compactor"]["delete_request_store"] == "filesystem"
    assert "extraEnvFrom" not in loki["singleBinary"] and "podAnnotations" not in loki["singleBinary"]
    assert loki["singleBinary"]["persistence"]["enabled"] is True


def test_multi_tenant_loki_sends_the_tenant_everywhere(tmp_path: Path) -> None:
    rendered = values(tmp_path, observability_loki_auth_enabled=True, observability_loki_tenant="team-a")
    assert rendered["loki"]["loki"]["auth_enabled"] is True
    assert 'tenant_id = "team-a"' in rendered["alloy"]["alloy"]["configMap"]["content"]
    loki_ds = next(
        d for d in rendered["kube-prometheus-stack"]["grafana"]["additionalDataSources"] if d["type"] == "loki"
    )
    assert loki_ds["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"
    assert loki_ds["secureJsonData"]["httpHeaderValue1"] == "team-a"


def test_alloy_labels_pod_logs(default_values: dict[str, Any]) -> None:
    content = default_values["alloy"]["alloy"]["configMap"]["content"]
    for label in ("namespace", "pod", "container", "node"):
        assert f'target_label  = "{label}"' in content
    assert 'url = "http://loki.observability.svc.cluster.local:3100/loki/api/v1/push"' in content
    assert '"spec.nodeName=" + sys.env("HOSTNAME")' in content


def test_alloy_rbac_is_what_its_pipeline_needs(default_values: dict[str, Any]) -> None:
    """grafana/alloy helm-chart/1.11.1: the ClusterRole is ``rbac.rules`` then ``rbac.clusterRules``, written
    as YAML one after the other (templates/rbac.yaml), so both must be non-empty lists; the defaults
    (values.yaml) read configmaps and secrets cluster-wide. config.alloy only discovers pods."""
    rbac = default_values["alloy"]["rbac"]
    assert rbac["create"] is True
    assert rbac["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    assert rbac["clusterRules"] == [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]
    assert "namespaces" not in rbac
    content = default_values["alloy"]["alloy"]["configMap"]["content"]
    assert "remote.kubernetes" not in content and "loki.source.kubernetes" not in content


def test_platform_rules_use_the_real_metric_names(default_values: dict[str, Any]) -> None:
    rules = [r for g in default_values["rules"]["spec"]["groups"] for r in g["rules"]]
    exprs = {r["alert"]: r["expr"] for r in rules}
    assert 'argocd_app_info{sync_status!="Synced"}' in exprs["ArgoCDApplicationOutOfSync"]
    assert 'health_status=~"Degraded|Missing"' in exprs["ArgoCDApplicationDegraded"]
    assert (
        'tekton_pipelines_controller_pipelinerun_duration_seconds_count{status="failed"}[15m]'
        in exprs["TektonPipelineRunFailed"]
    )
    assert "< 1209600" in exprs["CertificateExpiresSoon"]
    assert "loki_discarded_samples_total" in exprs["LokiDiscardingSamples"]
    assert "> 0.05" in exprs["LokiPushErrors"]
    for rule in rules:
        assert "{{ $labels" not in rule["expr"]
        assert rule["labels"]["severity"] in {"warning", "critical"}


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"observability_prometheus_retention": "two weeks"}, "observability_prometheus_retention"),
        ({"doks_cluster_spaces_bucket": ""}, "observability_loki_bucket"),
        (
            {
                "observability_alertmanager_receivers": [
                    {"name": "slack", "slack_configs": [{"api_url": "https://hooks/x"}]}
                ]
            },
            "observability_alertmanager_secrets",
        ),
        ({"observability_alertmanager_route": {"receiver": "pager"}}, "observability_alertmanager_route"),
        ({"auth0_apps_issuer": "https://tenant.eu.auth0.com"}, "observability_grafana_oidc_issuer"),
        ({"auth0_apps_clients": {}}, "observability_grafana_oidc_client_secret"),
    ],
)
def test_bad_input_fails_naming_the_variable(tmp_path: Path, overrides: dict[str, Any], needle: str) -> None:
    """The role's first task (preflight) refuses the inventory's mistakes, its single sign-on check the
    inputs auth0_apps publishes; nothing is rendered after either."""
    result = render(tmp_path, preflight=True, **overrides)
    assert result.returncode != 0
    assert needle in result.stdout + result.stderr
    assert not list((tmp_path / "out").iterdir()), "nothing may be rendered after a failed check"


def test_defaults_are_documented_in_the_readme() -> None:
    defaults = yaml.safe_load((ROLE / "defaults/main.yml").read_text())
    readme = (ROLE / "README.md").read_text()
    for name in defaults:
        assert f"`{name}`" in readme
