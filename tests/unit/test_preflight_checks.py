"""Cross-field inventory checks (plugins/module_utils/preflight.py) on plain dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.doks.gitops.plugins.action import preflight as action
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf

LABEL = "doks.digitalocean.com/node-pool"


def good() -> dict[str, Any]:
    return {
        "gitops_domain": "platform.example.com",
        "gitops_hosts": {"argocd": "argocd.platform.example.com", "grafana": "grafana.platform.example.com"},
        "gitops_acme_email": "ops@example.com",
        "doks_cluster_enabled": True,
        "doks_cluster_api_token": "dop_v1_x",
        "ingress_certmanager_digitalocean_token": "dop_v1_dns",
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
        "auth0_apps_connections": ["corporate-sso"],
        "gitops_ingress_controller": "traefik",
        "gitops_platform_repo_url": "https://github.com/acme/platform-gitops.git",
        "gitops_platform_repo_token": "github_pat_x",
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


def test_taint_key_and_value_must_be_label_style() -> None:
    """Taint key and value follow the label syntax (k8s.io/apimachinery validation: a taint's key is a
    qualified name, its value a label value)."""
    assert pf.check_taint("t", {"key": "tools", "value": "true", "effect": "NoSchedule"}) == []
    problems = pf.check_taint("t", {"key": "bad key", "value": "x" * 64, "effect": "NoSchedule"})
    assert [(p.variable, p.message, p.fix) for p in problems] == [
        ("t.key", "'bad key' is not a valid taint key", "use a label-style key such as tools"),
        ("t.value", f"{'x' * 64!r} is not a valid taint value", "use a label-style value such as 'true'"),
    ]


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


def test_the_removed_controller_knob_names_its_replacement() -> None:
    """ingress_certmanager_controller's only legal value was gitops_ingress_controller: it is gone, and an
    inventory that still sets it is told which variable replaced it."""
    problems = pf.check_unknown(["ingress_certmanager_controller"], {"gitops_ingress_controller"}, ("ingress_",))
    assert variables(problems) == ["ingress_certmanager_controller"]
    assert "was removed" in problems[0].message
    assert "set gitops_ingress_controller instead" in problems[0].fix


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


@pytest.mark.parametrize(
    ("over", "variable", "fix"),
    [
        ({"doks_cluster_tools_size": "S-4VCPU-8GB"}, "doks_cluster_tools_size", "for example s-4vcpu-8gb"),
        ({"doks_cluster_base_size": "s 2vcpu"}, "doks_cluster_base_size", "for example s-2vcpu-4gb"),
        ({"doks_cluster_region": "Fra1"}, "doks_cluster_region", "fra1, ams3 or nyc1"),
        ({"doks_cluster_region": "frankfurt"}, "doks_cluster_region", "fra1, ams3 or nyc1"),
    ],
)
def test_size_and_region_slugs_are_lower_case(over: dict[str, Any], variable: str, fix: str) -> None:
    """Slugs of GET /v2/sizes and /v2/regions (DigitalOcean API v2) are lower case: s-4vcpu-8gb, fra1."""
    problems = run({**good(), **over})
    assert variables(problems) == [variable]
    assert fix in problems[0].fix


def test_good_slugs_pass() -> None:
    values = {**good(), "doks_cluster_tools_size": "so1_5-2vcpu-16gb", "doks_cluster_region": "sfo3"}
    assert run(values) == []


INDEX = {"loki": ["18.11.0", "18.10.2", "18.12.0-rc.1", "17.0.0"], "alloy": ["1.11.1"]}


def test_chart_versions_are_checked_against_the_index() -> None:
    pins = {
        "observability_loki_chart": {"name": "loki", "repo": "https://charts.example.com", "version": "18.11.9"},
        "observability_alloy_chart": {"name": "alloy", "repo": "https://charts.example.com", "version": "1.11.1"},
        "observability_tempo_chart": {"name": "tempo", "repo": "https://charts.example.com", "version": "1.0.0"},
    }
    seen: list[str] = []

    def index_of(repo: str) -> dict[str, list[str]]:
        seen.append(repo)
        return INDEX

    problems = pf.check_chart_versions(pins, "https://mirror.example.com/", index_of)
    assert variables(problems) == ["observability_loki_chart.version", "observability_tempo_chart.name"]
    assert problems[0].fix == "pin a published version; nearest: 18.11.0, 18.10.2, 17.0.0"
    assert "https://mirror.example.com/index.yaml" in problems[0].message
    assert set(seen) == {"https://mirror.example.com"}


def test_an_unreadable_index_or_an_oci_repository_is_not_judged() -> None:
    pins = {
        "a_chart": {"name": "loki", "repo": "https://charts.example.com", "version": "9.9.9"},
        "b_chart": {"name": "x", "repo": "oci://registry.example.com/charts", "version": "9.9.9"},
    }
    assert pf.check_chart_versions(pins, "", lambda repo: None) == []
    assert pf.check_chart_versions({"b_chart": pins["b_chart"]}, "", lambda repo: INDEX) == []


SSO = {
    "gitops_sso_enabled": True,
    "gitops_sso_group_names": {"admins": "gitops-admins", "developers": "gitops-developers"},
    "observability_grafana_admin_groups": ["gitops-admins"],
    "tekton_dashboard_allowed_groups": ["gitops-admins", "gitops-developers"],
    "argocd_rbac_group_roles": {"gitops-admins": "role:admin"},
}


def test_sso_mappings_resolve_to_the_auth0_groups_of_the_run() -> None:
    assert run({**good(), **SSO}) == []


@pytest.mark.parametrize(
    ("over", "variable", "name"),
    [
        (
            {"observability_grafana_admin_groups": ["gitops-admin"]},
            "observability_grafana_admin_groups",
            "gitops-admin",
        ),
        ({"tekton_dashboard_allowed_groups": ["admins"]}, "tekton_dashboard_allowed_groups", "admins"),
        ({"argocd_rbac_group_roles": {"ops": "role:admin"}}, "argocd_rbac_group_roles", "ops"),
        (
            {"ingress_certmanager_oauth2_proxy_allowed_groups": ["everyone"]},
            "ingress_certmanager_oauth2_proxy_allowed_groups",
            "everyone",
        ),
    ],
)
def test_a_mapping_naming_a_group_auth0_does_not_have_is_named(over: dict[str, Any], variable: str, name: str) -> None:
    """A group name that resolves to no Auth0 role matches no user's claim: the UI would silently admit nobody."""
    problems = run({**good(), **SSO, **over})
    assert variables(problems) == [variable]
    assert repr(name) in problems[0].message
    assert "gitops-admins, gitops-developers" in problems[0].fix


def test_group_mappings_are_not_resolved_when_another_identity_provider_holds_the_groups() -> None:
    over = {"auth0_apps_enabled": False, "observability_grafana_admin_groups": ["corp-admins"]}
    assert run({**good(), **SSO, **over}) == []


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://shop.example.com/callback", True),
        ("http://localhost:3000/callback", True),
        ("http://shop.example.com/callback", False),
        ("shop.example.com/callback", False),
    ],
)
def test_callbacks_are_https(url: str, ok: bool) -> None:
    """Auth0 sends the authorization code to the callback: over http:// it travels in clear."""
    problems = run({**good(), "auth0_apps_extra_apps": {"shop": {"callbacks": [url]}}})
    assert variables(problems) == ([] if ok else ["auth0_apps_extra_apps.shop.callbacks"])


def test_members_are_e_mail_addresses() -> None:
    groups = {"admins": {"members": ["alice@example.com", "bob"]}, "viewers": {}}
    problems = run({**good(), "auth0_apps_groups": groups})
    assert variables(problems) == ["auth0_apps_groups.admins.members"]
    assert "'bob'" in problems[0].message


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://github.com/acme/gitops.git", True),
        ("ssh://git@github.com/acme/gitops.git", True),
        ("git@github.com:acme/gitops.git", True),
        ("github.com/acme/gitops.git", False),
        ("http//github.com/acme/gitops.git", False),
    ],
)
def test_repository_urls_have_a_scheme(url: str, ok: bool) -> None:
    app = {"name": "lofi", "source_repo_url": url, "image_repository": "registry.example.com/acme/lofi"}
    values = {
        **good(),
        "lofi_pipeline_gitops_repo_url": "https://github.com/acme/gitops.git",
        "lofi_pipeline_apps": [app],
    }
    assert variables(run(values)) == ([] if ok else ["lofi_pipeline_apps[0].source_repo_url"])


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


def test_the_dns_token_is_refused_when_it_is_the_account_token() -> None:
    """Issue #18: no account-wide credential in the cluster; the fix says how to make a scoped one."""
    same = {**good(), "ingress_certmanager_digitalocean_token": " dop_v1_x"}
    problems = run(same)
    assert variables(problems) == ["ingress_certmanager_digitalocean_token"]
    assert "account-wide doks_cluster_api_token" in problems[0].message
    for scope in ("domain:read", "domain:create", "domain:update", "domain:delete"):
        assert scope in problems[0].fix
    assert "DIGITALOCEAN_DNS_TOKEN" in problems[0].fix
    # nothing keeps it in the cluster when external-dns is off and the solver is http01
    assert run({**same, "ingress_certmanager_external_dns_enabled": False}) == []
    dns01 = {**same, "ingress_certmanager_external_dns_enabled": False, "ingress_certmanager_acme_solver": "dns01"}
    assert variables(run(dns01)) == ["ingress_certmanager_digitalocean_token"]
    assert run(good()) == []


def test_every_application_needs_a_gitops_repository_and_an_image_registry() -> None:
    base = {"ingress_certmanager_digitalocean_token": "dop_v1_y"}
    empty = _local(**base, lofi_pipeline_gitops_repo_url="", lofi_pipeline_image_registry="")
    assert variables(run(empty)) == ["lofi_pipeline_gitops_repo_url", "lofi_pipeline_image_registry"]
    own = [{"name": "lofi", "gitops_repo_url": "https://x/y.git", "image_repository": "registry.example.com/a/lofi"}]
    # the source the pipeline builds follows lofi_pipeline_source_repo_url, not the entry's GitOps repository
    problems = run({**empty, "lofi_pipeline_apps": own})
    assert variables(problems) == ["lofi_pipeline_source_repo_url"] and "clone URL" in problems[0].fix
    own[0]["source_repo_url"] = "https://x/src.git"
    assert run({**empty, "lofi_pipeline_apps": own}) == []
    assert run({**empty, "lofi_pipeline_enabled": False}) == []


TRIVY = "docker.io/aquasec/trivy:0.74.0@sha256:" + "6" * 64


@pytest.mark.parametrize(
    ("over", "expected"),
    [
        ({}, []),
        (
            {"lofi_pipeline_trivy_image": TRIVY, "lofi_pipeline_scan_db_repositories": ["r.example.com/m/trivy-db:2"]},
            [],
        ),
        ({"lofi_pipeline_scan_db_repositories": []}, ["lofi_pipeline_scan_db_repositories"]),
        ({"lofi_pipeline_scan_java_db_repositories": []}, ["lofi_pipeline_scan_java_db_repositories"]),
        ({"lofi_pipeline_scan_db_repositories": ["https://mirror.gcr.io/x:2"]}, ["lofi_pipeline_scan_db_repositories"]),
        ({"lofi_pipeline_scan_db_repositories": ["a.io/x:2,b.io/y:2"]}, ["lofi_pipeline_scan_db_repositories"]),
        ({"lofi_pipeline_trivy_image": "docker.io/aquasec/trivy:0.74.0"}, ["lofi_pipeline_trivy_image"]),
        ({"lofi_pipeline_trivy_image": "docker.io/aquasec/trivy@sha256:" + "6" * 64}, ["lofi_pipeline_trivy_image"]),
        ({"lofi_pipeline_scan_enabled": False, "lofi_pipeline_scan_db_repositories": []}, []),
        ({"lofi_pipeline_enabled": False, "lofi_pipeline_trivy_image": "trivy:latest"}, []),
    ],
)
def test_the_scan_needs_a_database_source_and_a_pinned_trivy(over: dict[str, Any], expected: list[str]) -> None:
    """With lofi_pipeline_scan_enabled, Trivy gets its database repositories joined with commas (each an
    OCI repository without scheme) and runs the image pinned by tag and digest."""
    problems = run(_local(ingress_certmanager_digitalocean_token="dop_v1_y", **over))
    assert variables(problems) == expected
    if expected:
        assert problems[0].fix


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


LOFI = {"lofi_pipeline_apps": [{"name": "lofi"}], "lofi_pipeline_gitops_repo_url": "https://github.com/acme/gitops.git"}
LOFI_IMAGE = {"lofi_pipeline_image_registry": "registry.example.com/acme"}


@pytest.mark.parametrize(
    ("over", "variable"),
    [
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "git_token": "t", "sealed_git_credentials": "AgB"}]},
            "lofi_pipeline_apps[0].git_token",
        ),
        ({"lofi_pipeline_registry_dockerconfigjson": "user:password"}, "lofi_pipeline_registry_dockerconfigjson"),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "webhook_secret": "s3cr3t"}]},
            "lofi_pipeline_apps[0].webhook_secret",
        ),
        ({"lofi_pipeline_git_host": "https://github.com"}, "lofi_pipeline_git_host"),
        (
            {"lofi_pipeline_git_token": "s3cr3t", "lofi_pipeline_apps": [{"name": "lofi", "git_read_token": "s3cr3t"}]},
            "lofi_pipeline_apps[0].git_read_token",
        ),
        (
            {"lofi_pipeline_git_read_token": "s3cr3t", "lofi_pipeline_sealed_git_read_credentials": "AgB"},
            "lofi_pipeline_git_read_token",
        ),
        ({"lofi_pipeline_webhook_secret_length": 8}, "lofi_pipeline_webhook_secret_length"),
    ],
)
def test_application_credentials_are_checked_before_any_write(over: dict[str, Any], variable: str) -> None:
    """lofi_pipeline checked these only once it ran, after the cluster, bucket, key and Auth0 apps existed."""
    problems = run({**good(), **LOFI, **LOFI_IMAGE, "lofi_pipeline_git_username": "x-access-token", **over})
    assert variables(problems) == [variable]
    assert "s3cr3t" not in str(problems[0]) and "password" not in str(problems[0])  # values are never shown


def test_good_application_credentials_pass() -> None:
    good_config = '{"auths": {"registry.example.com": {"auth": "eDp5"}}}'
    values = {**good(), **LOFI, **LOFI_IMAGE, "lofi_pipeline_git_username": "x-access-token"}
    assert (
        run({**values, "lofi_pipeline_registry_dockerconfigjson": good_config, "lofi_pipeline_git_host": "github.com"})
        == []
    )


@pytest.mark.parametrize(
    ("over", "variable"),
    [
        ({"ingress_certmanager_acme_email": "ops-at-example.com"}, "ingress_certmanager_acme_email"),
        (
            {
                "ingress_certmanager_acme_servers": {
                    "letsencrypt-staging": "http://acme.test/dir",
                    "letsencrypt-production": "https://acme.test/d",
                }
            },
            "ingress_certmanager_acme_servers.letsencrypt-staging",
        ),
    ],
)
def test_acme_settings_are_checked_before_any_write(over: dict[str, Any], variable: str) -> None:
    assert variables(run({**good(), **over})) == [variable]


@pytest.mark.parametrize(
    ("firewall", "problems"),
    [
        (None, []),
        ({"enabled": False, "allowed_addresses": []}, []),
        ({"enabled": True, "allowed_addresses": ["1.2.3.4/32", "1.1.0.0/16", "8.8.8.8"]}, []),
        ({"enabled": True, "allowed_addresses": []}, ["is empty while the firewall is enabled"]),
        ({"enabled": True, "allowed_addresses": ["1.2.3.4", "10.0.0.0/8"]}, ["'10.0.0.0/8' is not a public address"]),
        ({"enabled": True, "allowed_addresses": ["1.2.3.4/16"]}, ["'1.2.3.4/16' is not an IPv4 address or CIDR"]),
        ({"enabled": True, "allowed_addresses": ["2001:4860::/32"]}, ["'2001:4860::/32' is not IPv4"]),
        ({"enabled": "yes"}, ["must be a mapping with a boolean enabled"]),
    ],
)
def test_the_control_plane_firewall_is_checked_before_any_write(firewall: Any, problems: list[str]) -> None:
    """DigitalOcean openapi, specification/resources/kubernetes/models/control_plane_firewall.yml:
    allowed_addresses is "An array of public addresses (IPv4 or CIDR) allowed to access the control
    plane"; an enabled firewall with no address would shut out the roles after doks_cluster."""
    found = run({**good(), "doks_cluster_control_plane_firewall": firewall})
    assert len(found) == len(problems), found
    for problem, message in zip(found, problems, strict=True):
        assert problem.variable.startswith("doks_cluster_control_plane_firewall")
        assert message in problem.message


@pytest.mark.parametrize(
    ("connections", "message"),
    [
        (None, "is empty"),
        ([], "is empty"),
        ("corporate-sso", "is empty"),
        (["corporate-sso", " "], "' ' is not a connection name"),
        (["a", "a"], "names 'a' more than once"),
    ],
)
def test_auth0_applications_need_named_connections(connections: Any, message: str) -> None:
    """A tenant enables a new application on every connection (tenant flag enable_client_connections,
    "true, default", auth0-python 6.8.0 tenant_settings_flags.py), the sign-up-open
    Username-Password-Authentication among them: SSO on needs the connections named."""
    values = {**good(), "auth0_apps_connections": connections}
    problems = run(values)
    assert variables(problems) == ["auth0_apps_connections"]
    assert message in problems[0].message
    if message == "is empty":
        assert "auth0_apps_connections: [corporate-sso]" in problems[0].fix


def test_connections_are_not_required_with_sso_off() -> None:
    assert run({**good(), "auth0_apps_enabled": False, "auth0_apps_connections": []}) == []


def test_the_sealed_secrets_backup_needs_a_passphrase_and_a_bucket() -> None:
    """The backup is encrypted with the passphrase: a short or missing one is refused before any write."""
    on = {**good(), "ingress_certmanager_sealed_secrets_backup_enabled": True}
    assert variables(run(on)) == [
        "ingress_certmanager_sealed_secrets_backup_passphrase",
        "ingress_certmanager_sealed_secrets_backup_bucket",
        "ingress_certmanager_sealed_secrets_backup_endpoint",
    ]
    complete = {
        **on,
        "ingress_certmanager_sealed_secrets_backup_passphrase": "x" * 16,
        "ingress_certmanager_sealed_secrets_backup_bucket": "c1-logs",
        "ingress_certmanager_sealed_secrets_backup_endpoint": "https://fra1.digitaloceanspaces.com",
    }
    assert run(complete) == []
    assert run({**on, "ingress_certmanager_sealed_secrets_enabled": False}) == []


@pytest.mark.parametrize(
    ("over", "variable", "words"),
    [
        # formerly roles/tekton/tasks/validate.yml
        (
            {"tekton_release_base_url": "https://storage.googleapis.com/tekton-releases"},
            "tekton_release_base_url",
            "release host",
        ),
        ({"tekton_release_base_url": "ftp://mirror/tekton"}, "tekton_release_base_url", "http(s) URL"),
        ({"tekton_pipeline_release": {"version": "v1.15.0", "files": []}}, "tekton_pipeline_release.files", "empty"),
        ({"tekton_prune_keep": 0}, "tekton_prune_keep", "whole number >= 1"),
        ({"tekton_prune_schedule": "daily"}, "tekton_prune_schedule", "five-field cron"),
        ({"tekton_prune_image": ""}, "tekton_prune_image", "empty"),
        ({"tekton_dashboard_namespaces": ["Lofi_CI"]}, "tekton_dashboard_namespaces", "namespace name"),
        # formerly roles/ingress_certmanager/tasks/validate.yml
        ({"ingress_certmanager_hsts_seconds": -1}, "ingress_certmanager_hsts_seconds", "negative"),
        (
            {
                "ingress_certmanager_external_dns_provider": "webhook",
                "ingress_certmanager_external_dns_webhook_image": {},
            },
            "ingress_certmanager_external_dns_webhook_image",
            "repository and a tag",
        ),
        (
            {"ingress_certmanager_oauth2_proxy_enabled": True, "ingress_certmanager_oauth2_proxy_allowed_groups": []},
            "ingress_certmanager_oauth2_proxy_allowed_groups",
            "every user of the Auth0 tenant",
        ),
        # formerly roles/doks_cluster/tasks/validate.yml and teardown.yml
        ({"doks_cluster_spaces_bucket": "Logs_Bucket"}, "doks_cluster_spaces_bucket", "Spaces bucket name"),
        (
            {"doks_cluster_teardown_dns_owner_id": "fra1", "doks_cluster_teardown_dns_domain_filters": []},
            "doks_cluster_teardown_dns_domain_filters",
            "owner_id is set",
        ),
        # formerly roles/auth0_apps/tasks/validate.yml
        ({"auth0_apps_claim": "groups"}, "auth0_apps_claim", "namespaced URL"),
        (
            {"auth0_apps_platform_app_keys": ["argocd", "jenkins"], "auth0_apps_platform_apps": {"argocd": {}}},
            "auth0_apps_platform_app_keys",
            "'jenkins'",
        ),
        ({"auth0_apps_extra_apps": {"shop": {"name": "Shop"}}}, "auth0_apps_extra_apps.shop.name", "from its key"),
    ],
)
def test_rules_moved_from_the_roles_asserts(over: dict[str, Any], variable: str, words: str) -> None:
    """Each rule a role's tasks/validate.yml used to assert is one preflight rule now, named with its fix."""
    problems = run({**good(), **over})
    assert variables(problems) == [variable]
    assert words in problems[0].message and problems[0].fix


def test_every_rule_is_keyed_by_the_role_that_obeys_it() -> None:
    """A role run alone runs RULES[role] (and gitops's): the rule of another role is not its business."""
    assert pf.check_tekton_settings in pf.RULES["tekton"]
    assert pf.check_dns_token in pf.RULES["ingress_certmanager"]
    assert pf.check_doks_credentials in pf.RULES["doks_cluster"]
    assert not any(pf.check_dns_token in checks for role, checks in pf.RULES.items() if role != "ingress_certmanager")


LOFI_APP = {**LOFI, **LOFI_IMAGE, "lofi_pipeline_git_username": "x-access-token"}


@pytest.mark.parametrize(
    ("over", "variable", "words"),
    [
        # formerly roles/lofi_pipeline/tasks/validate.yml and validate_app.yml
        ({"lofi_pipeline_apps": []}, "lofi_pipeline_apps", "is empty"),
        ({"lofi_pipeline_apps": [{"name": "lofi"}, {"name": "lofi"}]}, "lofi_pipeline_apps[1].name", "also the name"),
        ({"lofi_pipeline_apps": [{"name": "Lofi_App"}]}, "lofi_pipeline_apps[0].name", "DNS label"),
        ({"lofi_pipeline_apps": [{"name": "a" * 41}]}, "lofi_pipeline_apps[0].name", "at most 40"),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "app_namespace": "Shop"}]},
            "lofi_pipeline_apps[0].app_namespace",
            "namespace name",
        ),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "pipeline_namespace": "lofi"}]},
            "lofi_pipeline_apps[0].pipeline_namespace",
            "the app's namespace too",
        ),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "root_name": "-apps"}]},
            "lofi_pipeline_apps[0].root_name",
            "object name",
        ),
        ({"lofi_pipeline_gitops_revision": ""}, "lofi_pipeline_gitops_revision", "is empty"),
        ({"lofi_pipeline_gitops_path": ""}, "lofi_pipeline_gitops_path", "is empty"),
        (
            {"lofi_pipeline_image_registry": "registry.example.com/acme:1.0"},
            "lofi_pipeline_image_registry",
            "without tag or digest",
        ),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "image_repository": "Registry.example.com/Lofi"}]},
            "lofi_pipeline_apps[0].image_repository",
            "without tag or digest",
        ),
        ({"lofi_pipeline_image_tag": "latest"}, "lofi_pipeline_image_tag", "moving tag"),
        ({"lofi_pipeline_environment": "Prod Env"}, "lofi_pipeline_environment", "environment name"),
        ({"lofi_pipeline_app_domain": "apps_example.com"}, "lofi_pipeline_app_domain", "not a DNS name"),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "host": "lofi"}]},
            "lofi_pipeline_apps[0].host",
            "not a DNS name",
        ),
        ({"lofi_pipeline_webhook_host": "hooks example.com"}, "lofi_pipeline_webhook_host", "not a DNS name"),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "webhook_path": "lofi"}]},
            "lofi_pipeline_apps[0].webhook_path",
            "URL path",
        ),
        (
            {"lofi_pipeline_apps": [{"name": "lofi", "app_values": {"image": {"digest": "sha256:0"}}}]},
            "lofi_pipeline_apps[0].app_values.image.digest",
            "promotes the digest",
        ),
        ({"lofi_pipeline_ingress_class": ""}, "lofi_pipeline_ingress_class", "is empty"),
        ({"lofi_pipeline_cluster_issuer": ""}, "lofi_pipeline_cluster_issuer", "is empty"),
        ({"lofi_pipeline_wait_timeout": 0}, "lofi_pipeline_wait_timeout", "positive"),
        ({"lofi_pipeline_wait_delay": -5}, "lofi_pipeline_wait_delay", "positive"),
        # formerly roles/observability/tasks/validate.yml
        ({"observability_prometheus_retention": "two weeks"}, "observability_prometheus_retention", "duration"),
        ({"observability_loki_retention_period": "31 days"}, "observability_loki_retention_period", "duration"),
        ({"observability_prometheus_storage_size": "50GB"}, "observability_prometheus_storage_size", "volume size"),
        ({"observability_loki_storage_size": "10"}, "observability_loki_storage_size", "volume size"),
        ({"observability_loki_bucket": ""}, "observability_loki_bucket", "is empty"),
        ({"observability_loki_endpoint": ""}, "observability_loki_endpoint", "is empty"),
        ({"observability_loki_s3_secret_name": ""}, "observability_loki_s3_secret_name", "is empty"),
        (
            {"observability_alertmanager_receivers": [{"name": "null"}, {"slack_configs": []}]},
            "observability_alertmanager_receivers[1].name",
            "is missing",
        ),
        (
            {"observability_alertmanager_receivers": [{"name": "null"}, {"name": "null"}]},
            "observability_alertmanager_receivers[1].name",
            "names another receiver",
        ),
        (
            {"observability_alertmanager_route": {"receiver": "null", "routes": [{"receiver": "pager"}]}},
            "observability_alertmanager_route.routes[0].receiver",
            "'pager', which is none of the receivers",
        ),
        (
            {
                "observability_alertmanager_receivers": [
                    {"name": "null"},
                    {"name": "slack", "slack_configs": [{"api_url": "https://hooks.slack.com/services/s3cr3t"}]},
                ]
            },
            "observability_alertmanager_receivers[slack].slack_configs[0].api_url",
            "credential inline",
        ),
        (
            {"observability_grafana_sso_enabled": True, "observability_grafana_admin_groups": []},
            "observability_grafana_admin_groups",
            "nobody could administer Grafana",
        ),
        # formerly roles/tekton/tasks/validate.yml
        (
            {
                "gitops_sso_enabled": True,
                "tekton_dashboard_ingress_enabled": True,
                "tekton_dashboard_ingress_annotations": {},
            },
            "tekton_dashboard_ingress_annotations",
            "without the oauth2-proxy gate",
        ),
        # formerly roles/argocd/tasks/validate.yml
        (
            {
                "argocd_argo_cd_chart": {
                    "name": "argocd",
                    "repo": "https://argoproj.github.io/argo-helm",
                    "version": "1.0.0",
                }
            },
            "argocd_argo_cd_chart.name",
            "argo-cd chart",
        ),
        ({"argocd_oidc_enabled": False, "argocd_admin_enabled": False}, "argocd_admin_enabled", "nobody could log in"),
        ({"argocd_rbac_group_roles": {"admins": "admin"}}, "argocd_rbac_group_roles", "not a role"),
        ({"argocd_rbac_group_roles": {"a,b": "role:admin"}}, "argocd_rbac_group_roles", "comma"),
        ({"argocd_rbac_default_role": "readonly"}, "argocd_rbac_default_role", "not a role"),
    ],
)
def test_rules_moved_from_the_roles_asserts_in_issue_19(over: dict[str, Any], variable: str, words: str) -> None:
    """Each inventory-only rule lofi_pipeline's, observability's and argocd's tasks/validate.yml asserted
    (after earlier roles wrote) is one preflight rule, named with its fix, and the value of a secret never shown."""
    base = {
        **good(),
        **LOFI_APP,
        "observability_alertmanager_receivers": [{"name": "null"}],
        "observability_alertmanager_route": {"receiver": "null"},
    }
    problems = run({**base, **over})
    assert run(base) == []
    assert variables(problems) == [variable]
    assert words in problems[0].message and problems[0].fix
    assert "s3cr3t" not in str(problems[0])


def projects(**over: Any) -> dict[str, Any]:
    """argocd's defaults as the role templates them, for one application entry (lofi)."""
    server = "https://kubernetes.default.svc"
    repo = "https://github.com/acme/gitops.git"
    values = {
        "argocd_namespace": "argocd",
        "argocd_applications_namespace": "argocd-apps",
        "argocd_platform_namespaces": ["argocd", "argocd-apps", "default", "kube-system", "observability"],
        "argocd_platform_project": {
            "name": "platform",
            "sourceRepos": ["*"],
            "destinations": [{"server": server, "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
        "argocd_applications_project": {
            "name": "applications",
            "sourceRepos": [repo],
            "sourceNamespaces": ["argocd-apps"],
            "destinations": [{"server": server, "namespace": "lofi"}, {"server": server, "namespace": "lofi-ci"}],
            "clusterResourceWhitelist": [],
        },
        "argocd_apps_root_project": {
            "name": "apps-root",
            "sourceRepos": [repo],
            "destinations": [{"server": server, "namespace": "argocd-apps"}],
            "clusterResourceWhitelist": [],
            "namespaceResourceWhitelist": [{"group": "argoproj.io", "kind": "Application"}],
        },
    }
    for path, value in over.items():
        var, _, key = path.partition("__")
        if key:
            values[var] = {**values[var], key: value}
        else:
            values[var] = value
    return {**good(), **values}


@pytest.mark.parametrize(
    ("over", "variable", "words"),
    [
        ({"argocd_applications_project__sourceRepos": ["*"]}, "argocd_applications_project.sourceRepos", "wildcard"),
        (
            {"argocd_apps_root_project__sourceRepos": ["https://github.com/acme/*"]},
            "argocd_apps_root_project.sourceRepos",
            "wildcard",
        ),
        (
            {"argocd_applications_project__destinations": [{"server": "https://kubernetes.default.svc"}]},
            "argocd_applications_project.destinations",
            "pattern",
        ),
        (
            {"argocd_applications_project__destinations": [{"namespace": "lofi-*"}]},
            "argocd_applications_project.destinations",
            "pattern",
        ),
        (
            {"argocd_applications_project__destinations": [{"namespace": "kube-system"}]},
            "argocd_applications_project.destinations",
            "platform namespace",
        ),
        (
            {"argocd_applications_project__clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]},
            "argocd_applications_project.clusterResourceWhitelist",
            "cluster-scoped",
        ),
        (
            {"argocd_apps_root_project__clusterResourceWhitelist": [{"group": "*", "kind": "*"}]},
            "argocd_apps_root_project.clusterResourceWhitelist",
            "cluster-scoped",
        ),
        (
            {"argocd_applications_project__sourceNamespaces": ["*"]},
            "argocd_applications_project.sourceNamespaces",
            "only there",
        ),
        (
            {"argocd_platform_project__sourceNamespaces": ["argocd-apps"]},
            "argocd_platform_project.sourceNamespaces",
            "could then use this project",
        ),
        (
            {"argocd_apps_root_project__sourceNamespaces": ["argocd-apps"]},
            "argocd_apps_root_project.sourceNamespaces",
            "could then use this project",
        ),
        (
            {"argocd_apps_root_project__destinations": [{"namespace": "argocd"}]},
            "argocd_apps_root_project.destinations",
            "only create Applications",
        ),
        (
            {"argocd_apps_root_project__namespaceResourceWhitelist": [{"group": "*", "kind": "*"}]},
            "argocd_apps_root_project.namespaceResourceWhitelist",
            "more than Application objects",
        ),
        ({"argocd_apps_root_project__name": ""}, "argocd_apps_root_project.name", "is empty"),
        ({"argocd_apps_root_project__name": "platform"}, "argocd_apps_root_project.name", "distinct"),
    ],
)
def test_the_argocd_projects_are_boundaries(over: dict[str, Any], variable: str, words: str) -> None:
    """Formerly roles/argocd/tasks/validate.yml ("Check that the applications project is a boundary")."""
    assert run(projects()) == []
    problems = run(projects(**over))
    assert variables(problems) == [variable]
    assert words in problems[0].message + problems[0].fix and problems[0].fix


def test_the_applications_namespace_is_not_argocds_own() -> None:
    problems = run(
        projects(
            argocd_applications_namespace="argocd",
            argocd_applications_project__sourceNamespaces=["argocd"],
            argocd_apps_root_project__destinations=[{"namespace": "argocd"}],
        )
    )
    assert variables(problems) == ["argocd_applications_namespace"]
    assert "argocd-apps" in problems[0].fix


def test_every_moved_rule_is_keyed_by_its_role() -> None:
    assert pf.check_app_entries in pf.RULES["lofi_pipeline"]
    assert {pf.check_observability_settings, pf.check_alertmanager_config} <= set(pf.RULES["observability"])
    assert {pf.check_argocd_settings, pf.check_argocd_projects} <= set(pf.RULES["argocd"])


ROOT = Path(__file__).resolve().parents[2]


def _yaml(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def _trusted(value: Any) -> Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value


ENTRIES = [
    {"name": "lofi"},
    {
        "name": "shop",
        "app_namespace": "store",
        "image_repository": "registry.example.com/team/shop",
        "host": "shop.example.org",
        "app_values": {"replicas": 2},
        "git_token": "tok",
    },
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_preflight_fills_an_entry_as_the_role_does(entry: dict[str, Any]) -> None:
    """pf.app_value derives every key of an entry as vars/main.yml's lofi_pipeline_entry_defaults does
    (rendered here by Ansible's own templar with the role's and the shared defaults), so the rules judge
    the values the role will use."""
    inventory = {"lofi_pipeline_image_registry": "registry.example.com/acme/", "lofi_pipeline_apps": [entry]}
    variables_ = {
        **_trusted(_yaml("roles/gitops/defaults/main.yml")),
        **_trusted(_yaml("roles/lofi_pipeline/defaults/main.yml")),
        **_trusted(_yaml("roles/lofi_pipeline/vars/main.yml")),
        "gitops_domain": "platform.example.com",
        **inventory,
        "lofi_pipeline_app": entry,
    }
    templar = Templar(loader=DataLoader(), variables=variables_)
    role = templar.template(variables_["lofi_pipeline_cur"])
    get = _getter(templar, variables_)
    preflight = {key: pf.app_value(get, 0, entry, key)[1] for key in role if key != "name"}
    assert preflight == {key: value for key, value in role.items() if key != "name"}


def _getter(templar: Templar, values: dict[str, Any]) -> Any:
    def get(name: str, default: Any = None) -> Any:
        return templar.template(values[name]) if name in values else default

    return get


def test_the_argument_spec_declares_every_key_of_an_entry() -> None:
    """The keys an entry may carry are the argument spec's options of lofi_pipeline_apps: the ones
    vars/main.yml fills, and name."""
    spec = _yaml("roles/lofi_pipeline/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    options = spec["lofi_pipeline_apps"]["options"]
    filled = _yaml("roles/lofi_pipeline/vars/main.yml")["lofi_pipeline_entry_defaults"]
    assert sorted(options) == sorted(["name", *filled])
    assert options["name"]["required"] is True
    for key in ("webhook_secret", "registry_dockerconfigjson", "git_token", "git_read_token"):
        assert options[key].get("no_log") is True, key


@pytest.mark.parametrize(
    ("role", "value", "words"),
    [
        ("lofi_pipeline", {"lofi_pipeline_apps": [{"app_namespace": "x"}]}, "missing required arguments: name"),
        ("lofi_pipeline", {"lofi_pipeline_apps": [{"name": "lofi", "hots": "x"}]}, "lofi_pipeline_apps.hots"),
        ("lofi_pipeline", {"lofi_pipeline_apps": [{"name": "lofi", "app_values": "x"}]}, "app_values"),
        ("lofi_pipeline", {"lofi_pipeline_apps": [{"name": "lofi", "sealed_scope": "cluster"}]}, "sealed_scope"),
        ("lofi_pipeline", {"lofi_pipeline_sealed_scope": "cluster"}, "lofi_pipeline_sealed_scope"),
        ("argocd", {"argocd_resource_exclusions_extra": [{"apiGroups": ["x"]}]}, "missing required arguments: kinds"),
    ],
)
def test_shapes_moved_to_the_argument_specs(role: str, value: dict[str, Any], words: str) -> None:
    """Formerly asserted by the roles (lofi_pipeline's entries and sealed scope, argocd's exclusions): the
    argument spec refuses them, in preflight and when the role starts."""
    spec = _yaml(f"roles/{role}/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    errors = [str(e) for e in ArgumentSpecValidator(spec).validate(value).errors]
    assert any(words in e for e in errors), errors


@pytest.mark.parametrize("domain", [["example.com"], {"zone": "example.com"}])
def test_a_domain_of_the_wrong_type_is_one_finding_not_a_crash(domain: Any) -> None:
    """The entries' hosts derive from gitops_domain: a list or mapping there (the argument spec's finding)
    must not break the rules that compare with it."""
    assert variables(run({**good(), **LOFI_APP, "gitops_domain": domain})) == ["gitops_domain"]


def test_the_removed_gated_hosts_knob_names_its_replacement() -> None:
    """ingress_certmanager_oauth2_proxy_gated_hosts became the shared gitops_sso_gated_hosts (issue 18)."""
    problems = pf.check_unknown(
        ["ingress_certmanager_oauth2_proxy_gated_hosts"], {"gitops_sso_gated_hosts"}, ("ingress_certmanager_",)
    )
    assert variables(problems) == ["ingress_certmanager_oauth2_proxy_gated_hosts"]
    assert "set gitops_sso_gated_hosts instead" in problems[0].fix


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"gitops_sso_gated_hosts": ["tekton.example.com/"]}, "gitops_sso_gated_hosts"),
        ({"gitops_sso_gated_hosts": "tekton.example.com"}, "gitops_sso_gated_hosts"),
        ({"ingress_certmanager_oauth2_proxy_extra_args": ["--whitelist-domain=.example.com"]}, None),
        ({"ingress_certmanager_oauth2_proxy_extra_args": ["--cookie-domain", ".example.com"]}, None),
    ],
)
def test_the_gate_stays_on_its_hosts(values: dict[str, Any], variable: str | None) -> None:
    """The gate's hosts are host names and no extra flag widens its cookie or redirects (issue 18)."""
    base = {"ingress_certmanager_oauth2_proxy_enabled": True, "gitops_sso_gated_hosts": ["tekton.example.com"]}
    assert pf.check_ingress_settings({**base}.get) == []
    problems = pf.check_ingress_settings({**base, **values}.get)
    assert variables(problems) == [variable or "ingress_certmanager_oauth2_proxy_extra_args"]


def test_kyverno_signature_policy_needs_a_published_key() -> None:
    """The kyverno role's signature policy carries the Chains public key: with Chains off and no
    kyverno_public_key there is nothing to verify with, refused before any write."""
    no_chains = {**good(), "tekton_chains_enabled": False}
    problems = run(no_chains)
    assert variables(problems) == ["kyverno_verify_images_enabled"]
    assert "kyverno_public_key" in problems[0].fix
    assert variables(run({**good(), "tekton_enabled": False})) == ["kyverno_verify_images_enabled"]
    assert run({**no_chains, "kyverno_public_key": "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----"}) == []
    assert run({**no_chains, "kyverno_verify_images_enabled": False}) == []
    assert run({**no_chains, "kyverno_enabled": False}) == []
    assert run(good()) == []


def test_kyverno_without_app_namespaces_needs_no_key() -> None:
    """A cluster without lofi_pipeline (the journey's lighter second cluster: tekton and lofi_pipeline
    off) has no application namespace, so no signature policy and no key to ask for."""
    assert run({**good(), "tekton_enabled": False, "kyverno_app_namespaces": []}) == []
    assert variables(run({**good(), "tekton_enabled": False, "kyverno_app_namespaces": ["lofi"]})) == [
        "kyverno_verify_images_enabled"
    ]


DOCR_ENFORCE = {
    **good(),
    **LOFI_APP,
    "lofi_pipeline_image_registry": "registry.digitalocean.com/acme",
    "kyverno_validation_failure_action": "Enforce",
}
READ_ONLY = '{"auths": {"registry.digitalocean.com": {"auth": "cmVhZDp0b2tlbg=="}}}'


def test_kyverno_enforce_on_docr_needs_a_registry_credential() -> None:
    """Kyverno reads signatures from the registry with the Secrets its rule names
    (``imageRegistryCredentials.secrets``); DOCR refuses anonymous reads, so Enforce without a credential
    would refuse every Pod of the apps. The finding names the variable to set and how to get a
    read-only credential."""
    (problem,) = run(DOCR_ENFORCE)
    assert problem.variable == "kyverno_registry_dockerconfigjson"
    assert "Enforce" in problem.message and "registry.digitalocean.com/acme" in problem.message
    assert "kyverno_sealed_registry" in problem.message
    assert "doctl registry docker-config" in problem.fix and "--read-write" in problem.fix
    assert "kyverno_validation_failure_action: Audit" in problem.fix


@pytest.mark.parametrize(
    "over",
    [
        {"kyverno_registry_dockerconfigjson": READ_ONLY},
        {"kyverno_sealed_registry": "AgBy3i4OJSWK+PiTySYZZA9rO43c"},
        {"kyverno_validation_failure_action": "Audit"},
        {"lofi_pipeline_image_registry": "ghcr.io/acme"},
        {"kyverno_verify_images_enabled": False},
        {"kyverno_app_namespaces": []},
        {"kyverno_enabled": False},
    ],
    ids=["clear", "sealed", "audit", "not-docr", "no-verification", "no-app-namespace", "kyverno-off"],
)
def test_kyverno_enforce_on_docr_passes_with_a_credential_or_outside_the_case(over: dict[str, Any]) -> None:
    assert run({**DOCR_ENFORCE, **over}) == []


def test_kyverno_enforce_sees_an_entry_image_repository_in_docr() -> None:
    """An entry's own image_repository (instead of the role-wide registry) is what Kyverno reads."""
    apps = [{"name": "lofi", "image_repository": "registry.digitalocean.com/acme/lofi"}]
    values = {**DOCR_ENFORCE, "lofi_pipeline_image_registry": "ghcr.io/acme", "lofi_pipeline_apps": apps}
    (problem,) = run(values)
    assert problem.variable == "kyverno_registry_dockerconfigjson"
    assert "lofi_pipeline_apps[0].image_repository" in problem.message


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"kyverno_registry_dockerconfigjson": READ_ONLY, "kyverno_sealed_registry": "AgB"}, "both set"),
        ({"kyverno_registry_dockerconfigjson": "user:password"}, '"auths"'),
    ],
)
def test_kyverno_registry_credential_shape(over: dict[str, Any], words: str) -> None:
    """One credential, clear or sealed; a clear one is a docker config JSON (the value never in the finding)."""
    (problem,) = run({**good(), **over})
    assert problem.variable == "kyverno_registry_dockerconfigjson"
    assert words in problem.message
    assert "password" not in problem.message + problem.fix and "cmVhZDp0b2tlbg" not in problem.message


def test_kyverno_registry_credential_is_no_log_in_the_argument_spec() -> None:
    spec = _yaml("roles/kyverno/meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert spec["kyverno_registry_dockerconfigjson"].get("no_log") is True
    gitops = _yaml("roles/gitops/meta/argument_specs.yml")["argument_specs"]["secret"]["options"]
    assert gitops["gitops_secret_data"].get("no_log") is True
    assert gitops["gitops_secret_sealed"].get("no_log") is True


def test_site_preflight_checks_every_role_of_site_yml() -> None:
    """site.yml's preflight (no ``roles:``) checks DEFAULT_ROLES: every role the playbook runs, and every
    key of RULES, must be there, or a new role's inventory is only checked after the roles before it wrote."""
    play = yaml.safe_load((Path(__file__).resolve().parents[2] / "playbooks/site.yml").read_text())[0]
    site_roles = [r["role"].removeprefix("doks.gitops.") for r in play["roles"]]
    assert set(action.DEFAULT_ROLES) == {"gitops", *site_roles}
    assert set(pf.RULES) <= set(action.DEFAULT_ROLES)


def test_a_release_name_must_fit_the_component_label_of_a_spoke() -> None:
    """A spoke switches a component on with the label ``doks.gitops/component.<release>`` on its cluster
    Secret (the hub's ApplicationSet selector); a label key's name part is at most 63 characters
    (apimachinery IsQualifiedName), so a release name the inventory sets must fit, with a hub only."""
    hub = {**good(), "gitops_delivery": "argocd", "gitops_hub": "sandbox-1"}
    assert run(hub) == []
    assert variables(run({**hub, "gitops_oauth2_proxy_service": "x" * 54})) == ["gitops_oauth2_proxy_service"]
    assert run({**hub, "gitops_oauth2_proxy_service": "x" * 53}) == []
    assert run({**good(), "gitops_oauth2_proxy_service": "x" * 54}) == []


def test_argocd_delivery_needs_argocd() -> None:
    """gitops_delivery=argocd hands every component to the cluster's Argo CD: with argocd_enabled false
    nothing would ever install them, so preflight refuses it naming gitops_delivery (helm is the fix)."""
    assert run({**good(), "gitops_delivery": "argocd"}) == []
    assert variables(run({**good(), "gitops_delivery": "argocd", "argocd_enabled": False})) == ["gitops_delivery"]
    assert run({**good(), "gitops_delivery": "helm", "argocd_enabled": False}) == []


def test_argocd_delivery_of_tekton_needs_the_platform_repository() -> None:
    """With argocd delivery Argo CD reads Tekton's release files from the platform GitOps repository the
    tekton role pushes them to (doks.gitops.git_files): an HTTPS clone URL without credentials in it,
    and a token that may push. Helm delivery, or Tekton off, needs neither."""
    argocd = {**good(), "gitops_delivery": "argocd"}
    (empty,) = run({**argocd, "gitops_platform_repo_url": ""})
    assert empty.variable == "gitops_platform_repo_url" and "Argo CD reads Tekton's release files" in empty.message
    assert "HTTPS clone URL" in empty.fix
    for url in ("git@github.com:acme/p.git", "https://user:pw@github.com/acme/p.git", "http://github.com/acme/p.git"):
        assert variables(run({**argocd, "gitops_platform_repo_url": url})) == ["gitops_platform_repo_url"], url
    (token,) = run({**argocd, "gitops_platform_repo_token": ""})
    assert token.variable == "gitops_platform_repo_token" and "write access" in token.fix
    assert run({**good(), "gitops_delivery": "helm", "gitops_platform_repo_url": ""}) == []
    tekton_off = {**argocd, "tekton_enabled": False, "kyverno_verify_images_enabled": False}
    assert run({**tekton_off, "gitops_platform_repo_url": ""}) == []


def hub_spoke(hub: dict[str, Any] | None = None, spoke: dict[str, Any] | None = None) -> list[pf.Problem]:
    shared = {"gitops_delivery": "argocd", "gitops_hub": "hub"}
    mine = {**good(), **shared, "inventory_hostname": "spoke-1", **(spoke or {})}
    theirs = {**good(), **shared, "inventory_hostname": "hub", **(hub or {})}
    return run(mine) + pf.check_hub(mine.get, {"hub": theirs.get})


def test_a_spoke_needs_a_hub_that_delivers_through_argo_cd() -> None:
    """A spoke's components become Applications of the hub's Argo CD, in the hub's argocd_namespace:
    gitops_hub must name another host of the inventory that is that hub (argocd delivery, the same
    gitops_hub, argocd enabled, the same namespace). The spoke itself needs no Argo CD of its own."""
    assert hub_spoke(spoke={"argocd_enabled": False}) == []
    assert variables(hub_spoke(hub={"argocd_enabled": False})) == ["gitops_hub"]
    assert variables(hub_spoke(hub={"gitops_delivery": "helm"})) == ["gitops_hub"]
    assert variables(hub_spoke(hub={"argocd_namespace": "gitops"})) == ["argocd_namespace"]
    mine = {**good(), "gitops_delivery": "argocd", "gitops_hub": "elsewhere", "inventory_hostname": "spoke-1"}
    (problem,) = pf.check_hub(mine.get, {"hub": {}.get})
    assert (problem.variable, "no other host" in problem.message) == ("gitops_hub", True)


def test_a_hub_needs_argocd_delivery() -> None:
    """gitops_hub means an Argo CD hub; with Helm delivery nothing would reach the spokes."""
    helm = {**good(), "gitops_delivery": "helm", "gitops_hub": "hub", "inventory_hostname": "hub"}
    assert variables(run(helm)) == ["gitops_hub"]
    assert run({**helm, "gitops_delivery": "argocd"}) == []
    # argocd is the default: a hub that names no delivery is fine
    assert run({key: value for key, value in helm.items() if key != "gitops_delivery"}) == []


def test_falco_is_not_checked_while_off() -> None:
    """falco_enabled defaults to false: an inventory that never names falco has nothing to fix."""
    assert run({**good(), "observability_enabled": False, "falco_minimum_priority": "error"}) == [
        p for p in run({**good(), "observability_enabled": False}) if not p.variable.startswith("falco_")
    ]
    assert not [p for p in run({**good(), "falco_loki_minimum_priority": "debug"}) if p.variable.startswith("falco_")]


def test_falco_outputs_and_monitors_need_the_observability_role() -> None:
    """falcosidekick pushes to observability's Loki and Alertmanager; the ServiceMonitor and
    PrometheusRule kinds are its Prometheus Operator's (falco 9.1.0 renders its ServiceMonitor on
    serviceMonitor.create alone, so the install would fail without the CRD)."""
    on = {**good(), "falco_enabled": True}
    assert run(on) == []
    off = [p for p in run({**on, "observability_enabled": False}) if p.variable.startswith("falco_")]
    assert variables(off) == ["falco_outputs_enabled", "falco_service_monitors_enabled"]
    assert "falco_outputs_enabled: false" in off[0].fix
    quiet = {
        **on,
        "observability_enabled": False,
        "falco_outputs_enabled": False,
        "falco_service_monitors_enabled": False,
    }
    assert not [p for p in run(quiet) if p.variable.startswith("falco_")]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, []),
        ({"falco_minimum_priority": "error"}, ["falco_loki_minimum_priority"]),
        ({"falco_minimum_priority": "alert"}, ["falco_loki_minimum_priority", "falco_alertmanager_minimum_priority"]),
        ({"falco_minimum_priority": "error", "falco_loki_minimum_priority": "Critical"}, []),
        ({"falco_minimum_priority": "debug", "falco_loki_minimum_priority": "debug"}, []),
        # outputs off: no output priority to reach
        ({"falco_minimum_priority": "emergency", "falco_outputs_enabled": False}, []),
        # an unknown name is the argument spec's finding (choices), not reported twice
        ({"falco_minimum_priority": "verbose"}, []),
        ({"falco_loki_minimum_priority": "verbose"}, []),
    ],
)
def test_falco_outputs_get_only_priorities_falco_produces(values: dict[str, Any], expected: list[str]) -> None:
    """Falco loads only the rules at or above falco_minimum_priority, so an output asking for less severe
    events would silently get nothing below it (priorities as falcosidekick 2.32.0 types/priority.go
    orders them, case-insensitive)."""
    problems = run({**good(), "falco_enabled": True, **values})
    assert variables(problems) == expected
    for problem in problems:
        assert "falco_minimum_priority" in problem.message and problem.fix
