"""The falco role's values and alert rule, rendered by Ansible, installed into the falco stand-in and judged.

The values are the role's ``falco-values.yml.j2`` rendered with its defaults (falco_enabled), then
``helm template`` of the sandbox stand-in (``sandbox/charts/falco``, written from falcosecurity/charts
tag ``falco-9.1.0`` and its falcosidekick dependency ``0.12.1``, with a values schema stricter than
upstream's, which has none). Every rendered object is judged: built-in kinds by Kubernetes' own
OpenAPI (``kubernetes-validate``, ``sandbox.kube.judge``), ServiceMonitor by the CRD of the
observability role's kube-prometheus-stack (``sandbox.crdgen upstream``).

Where the events go is checked against what the observability role really deploys: its
kube-prometheus-stack and Loki stand-ins rendered with its own values name the Services falcosidekick
must reach (upstream kube-prometheus-stack 88.5.3 ``<fullname>-alertmanager`` on 9093, Loki 18.11.0
``loki`` on 3100).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox
from sandbox.kube import judge, resources, schema, structural
from tests.unit import test_observability_values as observability_values
from tests.unit.promtool_judge import judge_alert
from tests.unit.role_render import ROOT, outputs, render_role

HELM = shutil.which("helm") or str(ROOT / ".tools/bin/helm")
PROMETHEUS_CRDS = sandbox.CHARTS / "kube-prometheus-stack" / "crds"
TOOLS = {
    "nodeSelector": {"doks.digitalocean.com/node-pool": "tools"},
    "tolerations": [{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
}

TASKS = """
    - name: Write the chart values
      ansible.builtin.copy:
        dest: "{out}/values.json"
        content: "{{{{ lookup('ansible.builtin.template', 'falco-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
    - name: Write the alert rule
      ansible.builtin.copy:
        dest: "{out}/rules.json"
        content: "{{{{ lookup('ansible.builtin.template', 'falco-rules.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""


def render(tmp_path: Path, preflight: bool = False, **variables: Any) -> subprocess.CompletedProcess[str]:
    return render_role(
        tmp_path,
        "falco",
        TASKS,
        {"falco_enabled": True, **variables},
        defaults_of=("observability",),
        preflight=preflight,
    )


def helm_template(
    tmp_path: Path, chart: str, values: dict[str, Any], namespace: str, release: str
) -> subprocess.CompletedProcess[str]:
    file = tmp_path / f"{release}-values.yaml"
    file.write_text(yaml.safe_dump(values))
    args = [HELM, "template", release, str(sandbox.CHARTS / chart), "-n", namespace, "-f", str(file)]
    # the cluster serves the Prometheus Operator's kinds (the observability role installs them first)
    args += ["--api-versions", "monitoring.coreos.com/v1"]
    return subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)


def install(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    result = helm_template(tmp_path, "falco", values, "falco", "falco")
    assert result.returncode == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [obj] = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("falco")
    out = outputs(tmp, render(tmp))
    return {**out, "objects": install(tmp, out["values"])}


def judged(obj: dict[str, Any]) -> list[Any]:
    """What a 1.31 API server with the observability role's CRDs would refuse in ``obj``."""
    if obj["apiVersion"].startswith("monitoring.coreos.com/"):
        plural = {"ServiceMonitor": "servicemonitors", "PrometheusRule": "prometheusrules"}[obj["kind"]]
        crd = yaml.safe_load((PROMETHEUS_CRDS / f"{plural}.monitoring.coreos.com.yaml").read_text())
        rtype = next(r for r in resources.from_crd(crd) if r.api_version == obj["apiVersion"])
        return [*schema.unknown_fields(schema.root(rtype), obj), *structural.check(rtype.crd_schema, obj)]
    api_version = obj["apiVersion"]
    verdict = judge.judge(obj, api_version, obj["kind"])
    return [*judge.unknown_paths(verdict), *verdict.types, *verdict.required]


def test_every_rendered_object_passes_the_upstream_judges(rendered: dict[str, Any]) -> None:
    objects = rendered["objects"]
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == ["ConfigMap", "DaemonSet", "Deployment", "Secret", "Service", "ServiceAccount", "ServiceMonitor"]
    for obj in [*objects, rendered["rules"]]:
        assert judged(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_the_judges_refuse_a_misplaced_field(rendered: dict[str, Any]) -> None:
    """The judges are live: a toleration field the API does not have, a ServiceMonitor endpoint typo."""
    daemonset = yaml.safe_load(yaml.safe_dump(find(rendered["objects"], "DaemonSet", "falco")))
    daemonset["spec"]["template"]["spec"]["tolerations"][0]["operators"] = "Exists"
    assert judged(daemonset)
    monitor = yaml.safe_load(yaml.safe_dump(find(rendered["objects"], "ServiceMonitor", "falco")))
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    assert judged(monitor)


def test_falco_watches_every_node_with_the_modern_ebpf_probe(rendered: dict[str, Any]) -> None:
    """A DaemonSet tolerating every taint (an empty key with operator Exists matches every taint,
    core/v1 Toleration) and no nodeSelector, so every node of every pool runs Falco."""
    pod = find(rendered["objects"], "DaemonSet", "falco")["spec"]["template"]["spec"]
    assert pod["tolerations"] == [{"operator": "Exists"}]
    assert "nodeSelector" not in pod
    [falco] = [c for c in pod["containers"] if c["name"] == "falco"]
    # falco 9.1.0 pod-template.tpl falco.securityContext: modern_ebpf without leastPrivileged is privileged
    assert falco["securityContext"] == {"privileged": True}
    assert "falcoctl-artifact-follow" not in [c["name"] for c in pod["containers"]]
    config = yaml.safe_load(find(rendered["objects"], "ConfigMap", "falco")["data"]["falco.yaml"])
    assert config["engine"] == {"kind": "modern_ebpf"}
    assert config["priority"] == "notice"
    assert config["webserver"]["prometheus_metrics_enabled"] is True


def test_falco_posts_its_events_to_the_falcosidekick_service(rendered: dict[str, Any]) -> None:
    config = yaml.safe_load(find(rendered["objects"], "ConfigMap", "falco")["data"]["falco.yaml"])
    assert config["json_output"] is True
    url = config["http_output"]["url"]
    service = find(rendered["objects"], "Service", "falco-falcosidekick")
    assert url == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    assert config["http_output"]["enabled"] is True


@pytest.fixture(scope="module")
def observability_services(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, int]]:
    """(namespace, name, port) of every Service the observability role's releases create."""
    tmp = tmp_path_factory.mktemp("observability")
    obs = observability_values.values(tmp)
    found = set()
    for release in ("kube-prometheus-stack", "loki"):
        result = helm_template(tmp, release, obs[release], "observability", release)
        assert result.returncode == 0, result.stderr
        for doc in yaml.safe_load_all(result.stdout):
            if doc and doc["kind"] == "Service":
                for port in doc["spec"]["ports"]:
                    found.add((doc["metadata"]["namespace"], doc["metadata"]["name"], port["port"]))
    return found


def test_falcosidekick_reaches_the_observability_roles_loki_and_alertmanager(
    rendered: dict[str, Any], observability_services: set[tuple[str, str, int]]
) -> None:
    env = secret_data(find(rendered["objects"], "Secret", "falco-falcosidekick"))
    for variable in ("LOKI_HOSTPORT", "ALERTMANAGER_HOSTPORT"):
        host, _, port = env[variable].removeprefix("http://").partition(":")
        name, namespace, *_ = host.split(".")
        assert (namespace, name, int(port)) in observability_services, env[variable]
    assert env["LOKI_HOSTPORT"].startswith("http://loki.observability.")
    assert env["ALERTMANAGER_HOSTPORT"].startswith("http://kube-prometheus-stack-alertmanager.observability.")
    # Alertmanager 0.27 removed the v1 API; falcosidekick's default endpoint is /api/v1/alerts
    assert env["ALERTMANAGER_ENDPOINT"] == "/api/v2/alerts"
    assert (env["LOKI_MINIMUMPRIORITY"], env["ALERTMANAGER_MINIMUMPRIORITY"]) == ("notice", "critical")
    assert env["LOKI_TENANT"] == ""
    # the dashboards are the observability role's: no sidecar ConfigMap from the subchart
    assert not [o for o in rendered["objects"] if o["metadata"].get("labels", {}).get("grafana_dashboard")]


def test_falcosidekick_runs_on_the_tools_pool_and_is_scraped(rendered: dict[str, Any]) -> None:
    deployment = find(rendered["objects"], "Deployment", "falco-falcosidekick")
    pod = deployment["spec"]["template"]["spec"]
    assert {k: pod[k] for k in ("nodeSelector", "tolerations")} == TOOLS
    assert deployment["spec"]["replicas"] == 2
    monitors = {o["metadata"]["name"] for o in rendered["objects"] if o["kind"] == "ServiceMonitor"}
    assert monitors == {"falco", "falco-falcosidekick"}


def test_a_multi_tenant_loki_gets_the_tenant(tmp_path: Path) -> None:
    out = outputs(tmp_path, render(tmp_path, observability_loki_auth_enabled=True, observability_loki_tenant="ops"))
    env = secret_data(find(install(tmp_path, out["values"]), "Secret", "falco-falcosidekick"))
    assert env["LOKI_TENANT"] == "ops"


def test_outputs_off_leaves_falco_alone(tmp_path: Path) -> None:
    out = outputs(tmp_path, render(tmp_path, falco_outputs_enabled=False))
    objects = install(tmp_path, out["values"])
    assert not [o for o in objects if "falcosidekick" in o["metadata"]["name"]]
    config = yaml.safe_load(find(objects, "ConfigMap", "falco")["data"]["falco.yaml"])
    assert config["http_output"]["enabled"] is False


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("falcosidekick", "config", "alertmanager", "endpoint"), "/api/v3/alerts", "endpoint"),
        (("falcosidekick", "config", "loki", "minimumpriority"), "verbose", "minimumpriority"),
        (("driver", "kind"), "ebpf", "kind"),
        (("tolerations",), [{"operator": "Exist"}], "operator"),
    ],
)
def test_the_stand_in_refuses_what_falco_would_misread(
    rendered: dict[str, Any], tmp_path: Path, path: tuple[str, ...], value: Any, needle: str
) -> None:
    """The stand-in is stricter than upstream: falcosidekick 2.32.0 reads an unknown minimumpriority as
    "" (every event, types/priority.go) and posts to any endpoint; falco 9.1.0 fails on a driver kind
    other than kmod, modern_ebpf, auto (and aliases), ``falco.engineConfiguration``."""
    values = yaml.safe_load(yaml.safe_dump(rendered["values"]))
    node = values
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    result = helm_template(tmp_path, "falco", values, "falco", "falco")
    assert result.returncode != 0
    assert needle in result.stderr


@pytest.mark.parametrize(
    ("variables", "variable"),
    [
        ({"falco_loki_minimum_priority": "verbose"}, "falco_loki_minimum_priority"),
        ({"falco_minimum_priority": "error"}, "falco_loki_minimum_priority"),
        ({"observability_enabled": False}, "falco_outputs_enabled"),
    ],
)
def test_bad_input_fails_naming_the_variable(tmp_path: Path, variables: dict[str, Any], variable: str) -> None:
    """The role's first task (preflight: argument spec, then RULES['falco']) stops before any template."""
    result = render(tmp_path, preflight=True, **variables)
    assert result.returncode != 0
    assert variable in result.stdout
    assert not list((tmp_path / "out").glob("*.json"))


def test_the_critical_alert_passes_promtool_and_fires_on_a_new_critical_event(
    rendered: dict[str, Any], tmp_path: Path
) -> None:
    """``promtool check rules`` and ``promtool test rules``: a Critical event counted by falcosidekick
    (falcosecurity_falcosidekick_falco_events_total, labels as falcosidekick 2.32.0 handlers.go sets
    them) fires FalcoCriticalEvent once, a Warning one does not, and the alert ends after the window."""
    base = 'hostname="node-1",source="syscall",k8s_ns_name="lofi",k8s_pod_name="lofi-0"'
    metric = "falcosecurity_falcosidekick_falco_events_total"
    critical = f'{metric}{{{base},rule="Terminal shell in container",priority="6",priority_raw="critical"}}'
    warning = f'{metric}{{{base},rule="Read sensitive file untrusted",priority="4",priority_raw="warning"}}'
    judge_alert(
        tmp_path,
        rendered["rules"]["spec"]["groups"],
        input_series=[
            {"series": critical, "values": "0x10 1x30"},
            {"series": warning, "values": "0+1x40"},
        ],
        alert_rule_test=[
            {"eval_time": "5m", "alertname": "FalcoCriticalEvent", "exp_alerts": []},
            {
                "eval_time": "12m",
                "alertname": "FalcoCriticalEvent",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "critical",
                            "rule": "Terminal shell in container",
                            "priority_raw": "critical",
                            "hostname": "node-1",
                            "k8s_ns_name": "lofi",
                            "k8s_pod_name": "lofi-0",
                        },
                        "exp_annotations": {
                            "summary": "Falco rule Terminal shell in container fired (critical) on node-1",
                            "description": "Falco raised critical events of rule Terminal shell in container"
                            " on node node-1 (pod lofi/lofi-0) in the last 10m. Read the events in Grafana"
                            ' (dashboard Falco, Loki {source="syscall"}).',
                        },
                    }
                ],
            },
            {"eval_time": "30m", "alertname": "FalcoCriticalEvent", "exp_alerts": []},
        ],
    )


def test_defaults_are_documented_in_the_readme() -> None:
    role = ROOT / "roles/falco"
    defaults = yaml.safe_load((role / "defaults/main.yml").read_text())
    readme = (role / "README.md").read_text()
    for name in defaults:
        assert f"`{name}`" in readme, name
