"""Cross-field inventory checks (plugins/module_utils/preflight.py) on plain dicts."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf

LABEL = "doks.digitalocean.com/node-pool"


def good() -> dict[str, Any]:
    return {
        "gitops_domain": "platform.example.com",
        "gitops_hosts": {"argocd": "argocd.platform.example.com", "grafana": "grafana.platform.example.com"},
        "gitops_acme_email": "ops@example.com",
        "doks_cluster_enabled": True,
        "doks_cluster_api_token": "dop_v1_x",
        "ingress_certmanager_digitalocean_token": "dop_v1_x",
        "doks_cluster_spaces_access_key_id": "AK",
        "doks_cluster_spaces_secret_access_key": "SK",
        "doks_cluster_version": "1.34",
        "doks_cluster_base_count": 2,
        "doks_cluster_base_min_nodes": 1,
        "doks_cluster_base_max_nodes": 3,
        "doks_cluster_base_autoscale": False,
        "auth0_apps_enabled": True,
        "auth0_apps_domain": "tenant.eu.auth0.com",
        "auth0_apps_client_id": "cid",
        "auth0_apps_client_secret": "secret",
        "gitops_ingress_controller": "traefik",
        "ingress_certmanager_controller": "traefik",
        "gitops_pool_label": LABEL,
        "gitops_pool_base": "base",
        "gitops_pool_tools": "tools",
        "gitops_pool_workloads": "workloads",
        "gitops_pool_tools_taint": {"key": "tools", "value": "true", "effect": "NoSchedule"},
        "gitops_pool_workloads_taint": {"key": "workloads", "value": "true", "effect": "NoSchedule"},
        "gitops_placement_tools": {
            "nodeSelector": {LABEL: "tools"},
            "tolerations": [{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        },
        "gitops_placement_workloads": {
            "nodeSelector": {LABEL: "workloads"},
            "tolerations": [{"key": "workloads", "operator": "Exists"}],
        },
    }


def run(values: dict[str, Any]) -> list[pf.Problem]:
    def get(name: str, default: Any = None) -> Any:
        return values.get(name, default)

    return [p for check in pf.SHARED_CHECKS for p in check(get)]


def variables(problems: list[pf.Problem]) -> list[str]:
    return [p.variable for p in problems]


def test_the_default_shape_is_valid() -> None:
    assert run(good()) == []


@pytest.mark.parametrize(
    "domain",
    [
        "example",
        "Example.com",
        "-a.example.com",
        "a..example.com",
        "a_b.example.com",
        "example.com\n",
        "x" * 64 + ".com",
        "example.com.",
        42,
        "1.2.3.4",
    ],
)
def test_malformed_domains_are_named(domain: Any) -> None:
    values = {**good(), "gitops_domain": domain}
    assert variables(run(values)) == ["gitops_domain"]


def test_hosts_derived_from_a_broken_domain_are_not_reported_twice() -> None:
    values = {**good(), "gitops_domain": "bad_domain", "gitops_hosts": {"argocd": "argocd.bad_domain"}}
    values["gitops_acme_email"] = "admin@bad_domain"
    assert variables(run(values)) == ["gitops_domain"]


def test_a_bad_host_name_is_named_with_its_key() -> None:
    values = {**good(), "gitops_hosts": {"grafana": "grafana_.platform.example.com"}}
    problems = run(values)
    assert variables(problems) == ["gitops_hosts.grafana"]
    assert "grafana.<gitops_domain>" in problems[0].fix


def test_duplicate_pool_names() -> None:
    values = {**good(), "gitops_pool_workloads": "tools"}
    values["gitops_placement_workloads"] = {**values["gitops_placement_workloads"], "nodeSelector": {LABEL: "tools"}}
    problems = run(values)
    assert "gitops_pool_workloads" in variables(problems)
    assert "also used by gitops_pool_tools" in str(problems[0])


@pytest.mark.parametrize("effect", ["NoSchedul", "noschedule", "", None])
def test_taint_effect_typo(effect: Any) -> None:
    values = {**good(), "gitops_pool_tools_taint": {"key": "tools", "value": "true", "effect": effect}}
    problems = run(values)
    assert "gitops_pool_tools_taint.effect" in variables(problems)
    assert "NoSchedule, PreferNoSchedule, NoExecute" in str(problems[0])


def test_placement_naming_a_pool_that_does_not_exist() -> None:
    values = {**good()}
    values["gitops_placement_tools"] = {**values["gitops_placement_tools"], "nodeSelector": {LABEL: "tooling"}}
    problems = run(values)
    assert variables(problems) == ["gitops_placement_tools.nodeSelector"]
    assert "'tooling'" in problems[0].message


def test_placement_without_the_toleration_for_its_pool() -> None:
    values = {**good()}
    values["gitops_placement_tools"] = {"nodeSelector": {LABEL: "tools"}, "tolerations": []}
    assert variables(run(values)) == ["gitops_placement_tools.tolerations"]


def test_placement_to_the_untainted_pool_needs_no_toleration() -> None:
    values = {**good()}
    values["gitops_placement_tools"] = {"nodeSelector": {LABEL: "base"}, "tolerations": []}
    assert run(values) == []


def test_chart_and_release_pins() -> None:
    problems = pf.check_pins(
        {
            "x_traefik_chart": {"name": "traefik", "repo": "https://traefik.github.io/charts", "version": "41.3.0"},
            "x_bad_chart": {"name": "loki", "repo": "http://insecure", "version": "latest"},
            "x_incomplete_chart": {"name": "alloy"},
            "tekton_pipelines_release": {"version": "1.15"},
            "tekton_ok_release": {"version": "v1.15.0"},
        }
    )
    assert variables(problems) == [
        "tekton_pipelines_release.version",
        "x_bad_chart.version",
        "x_bad_chart.repo",
        "x_incomplete_chart.repo",
        "x_incomplete_chart.version",
    ]


@pytest.mark.parametrize(
    "name", ["doks_cluster_api_token", "doks_cluster_spaces_secret_access_key", "auth0_apps_client_secret"]
)
def test_missing_credential_is_named_without_its_value(name: str) -> None:
    problems = run({**good(), name: ""})
    assert variables(problems) == [name]
    assert "export" in problems[0].fix


def test_credentials_of_a_disabled_target_are_not_required() -> None:
    values = {**good(), "doks_cluster_enabled": False, "doks_cluster_api_token": "", "auth0_apps_enabled": "false"}
    values["auth0_apps_client_secret"] = ""
    assert run(values) == []


def test_controller_mismatch_is_a_conflict() -> None:
    assert variables(run({**good(), "ingress_certmanager_controller": "ingress-nginx"})) == [
        "ingress_certmanager_controller"
    ]


@pytest.mark.parametrize(
    ("over", "variable"),
    [
        ({"doks_cluster_base_min_nodes": 4}, "doks_cluster_base_min_nodes"),
        ({"doks_cluster_base_autoscale": True, "doks_cluster_base_count": 5}, "doks_cluster_base_count"),
        ({"doks_cluster_base_count": 0}, "doks_cluster_base_count"),
        ({"doks_cluster_version": "1.34.x"}, "doks_cluster_version"),
    ],
)
def test_pool_and_version_conflicts(over: dict[str, Any], variable: str) -> None:
    assert variables(run({**good(), **over})) == [variable]


@pytest.mark.parametrize("version", ["latest", "1.34", "1.34.1", "1.34.1-do.0"])
def test_good_versions(version: str) -> None:
    assert run({**good(), "doks_cluster_version": version}) == []


DECLARED = {"gitops_domain", "gitops_sso_enabled", "observability_grafana_admin_groups", "auth0_apps_groups"}
PREFIXES = ("observability_", "auth0_apps_", "gitops_")


def test_unknown_variables_are_named_with_the_nearest_declared_name() -> None:
    problems = pf.check_unknown(
        ["gitops_domian", "observability_grafana_admin_group", "gitops_domain", "ansible_host", "argocd_x"],
        DECLARED,
        PREFIXES,
    )
    assert variables(problems) == ["gitops_domian", "observability_grafana_admin_group"]
    assert "rename it to gitops_domain" in problems[0].fix
    assert "role observability" in problems[1].message
    assert "rename it to observability_grafana_admin_groups" in problems[1].fix


def test_an_unknown_variable_with_nothing_close_is_still_reported() -> None:
    (problem,) = pf.check_unknown(["auth0_apps_zzz"], DECLARED, PREFIXES)
    assert problem.fix.startswith("remove it") and "roles/auth0_apps/meta/argument_specs.yml" in problem.fix


def test_names_a_cluster_owns_are_unique_across_hosts() -> None:
    """Two hosts sharing a log bucket: tearing one down deleted the other's bucket (issue 17)."""
    mine = good() | {"doks_cluster_name": "c2", "doks_cluster_spaces_bucket": "c1-logs"}
    theirs = good() | {
        "gitops_domain": "other.example.com",
        "gitops_hosts": {"argocd": "argocd.platform.example.com"},
        "doks_cluster_name": "c1",
        "doks_cluster_spaces_bucket": "c1-logs",
    }
    problems = pf.check_unique_across_hosts(mine.get, {"c1": theirs.get})
    assert variables(problems) == ["gitops_hosts.argocd", "doks_cluster_spaces_bucket"]
    assert "'c1-logs' is also doks_cluster_spaces_bucket of host c1" in problems[1].message
    assert pf.check_unique_across_hosts(mine.get, {}) == []


def test_a_shared_domain_is_reported_once_not_for_every_host_name_under_it() -> None:
    mine = good() | {"doks_cluster_name": "c2", "doks_cluster_spaces_bucket": "c2-logs"}
    theirs = good() | {"doks_cluster_name": "c1", "doks_cluster_spaces_bucket": "c1-logs"}
    assert variables(pf.check_unique_across_hosts(mine.get, {"c1": theirs.get})) == ["gitops_domain"]


def test_a_disabled_cluster_role_owns_no_cluster_name_or_bucket() -> None:
    mine = good() | {"gitops_domain": "a.example.com", "gitops_hosts": {}, "doks_cluster_enabled": False}
    theirs = good() | {"gitops_domain": "b.example.com", "gitops_hosts": {}, "doks_cluster_enabled": False}
    assert pf.check_unique_across_hosts(mine.get, {"h": theirs.get}) == []


def _local(**over: Any) -> dict[str, Any]:
    """inventories/local's shape: no doks_cluster, so no Spaces bucket nor key, nor a DigitalOcean token."""
    return {
        **good(),
        "doks_cluster_enabled": False,
        "doks_cluster_api_token": "",
        "ingress_certmanager_digitalocean_token": "",
        "observability_loki_storage": "s3",
        "lofi_pipeline_apps": [{"name": "lofi"}],
        "lofi_pipeline_gitops_repo_url": "https://github.com/acme/gitops.git",
        "lofi_pipeline_image_registry": "registry.example.com/acme",
        **over,
    }


def test_loki_on_s3_without_doks_cluster_spaces_needs_a_named_bucket_and_secret() -> None:
    values = _local()
    get = values.get
    assert variables(pf.check_loki_storage(get, set())) == ["observability_loki_storage"]
    assert "filesystem" in pf.check_loki_storage(get, set())[0].fix
    given = {"observability_loki_bucket", "observability_loki_s3_secret_name"}
    assert pf.check_loki_storage(get, given) == []
    assert pf.check_loki_storage(_local(observability_loki_storage="filesystem").get, set()) == []
    assert pf.check_loki_storage(_local(observability_enabled=False).get, set()) == []
    # doks_cluster with Spaces creates the bucket and writes the key
    assert pf.check_loki_storage(_local(doks_cluster_enabled=True).get, set()) == []
    off = _local(doks_cluster_enabled=True, doks_cluster_spaces_enabled=False)
    assert variables(pf.check_loki_storage(off.get, set())) == ["observability_loki_storage"]


def test_external_dns_and_dns01_need_the_digitalocean_token() -> None:
    assert variables(run(_local())) == ["ingress_certmanager_digitalocean_token"]
    assert run(_local(ingress_certmanager_external_dns_enabled=False)) == []
    dns01 = _local(ingress_certmanager_external_dns_enabled=False, ingress_certmanager_acme_solver="dns01")
    assert variables(run(dns01)) == ["ingress_certmanager_digitalocean_token"]
    assert run(_local(ingress_certmanager_digitalocean_token="dop_v1_y")) == []
    assert run(_local(ingress_certmanager_enabled=False)) == []


def test_every_application_needs_a_gitops_repository_and_an_image_registry() -> None:
    base = {"ingress_certmanager_digitalocean_token": "dop_v1_y"}
    empty = _local(**base, lofi_pipeline_gitops_repo_url="", lofi_pipeline_image_registry="")
    assert variables(run(empty)) == ["lofi_pipeline_gitops_repo_url", "lofi_pipeline_image_registry"]
    own = [{"name": "lofi", "gitops_repo_url": "https://x/y.git", "image_repository": "registry.example.com/a/lofi"}]
    assert run({**empty, "lofi_pipeline_apps": own}) == []
    assert run({**empty, "lofi_pipeline_enabled": False}) == []


def test_an_empty_alertmanager_receiver_secret_is_named_by_its_key() -> None:
    secrets = [{"name": "alertmanager-slack", "data": {"api-url": ""}}]
    problems = run({**good(), "observability_alertmanager_secrets": secrets})
    assert variables(problems) == ["observability_alertmanager_secrets[alertmanager-slack].data.api-url"]
    assert "ALERTMANAGER_SLACK_WEBHOOK_URL" in problems[0].fix
    secrets[0]["data"]["api-url"] = "https://hooks.slack.com/services/T/B/x"
    assert run({**good(), "observability_alertmanager_secrets": secrets}) == []


@pytest.mark.parametrize(
    "domain", ["https://tenant.eu.auth0.com", "https://tenant.eu.auth0.com/", "tenant.eu.auth0.com/"]
)
def test_an_auth0_domain_given_as_a_url_is_refused(domain: str) -> None:
    assert variables(run({**good(), "auth0_apps_domain": domain})) == ["auth0_apps_domain"]
    assert run({**good(), "auth0_apps_domain": domain, "auth0_apps_enabled": False}) == []


def test_the_sandbox_auth0_domain_with_a_port_is_a_domain() -> None:
    assert run({**good(), "auth0_apps_domain": "127.0.0.1:39513"}) == []
