"""Bad-input matrix: broken inventories fail in preflight, naming the variable, before any write.

Each case runs the whole site.yml on the sandbox inventory with one broken setting (extra vars
override the inventory) and must fail with the variable's name in the message. A case the
inventory alone decides makes no request of any kind to any emulator; a case that needs a read
(ONLINE: a chart repository's index, a credential tried with one authenticated read per API)
makes reads only, never a write. Several refusals preflight reports together share one case
(one ansible-playbook run).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ROOT, Sandbox

STATE = ROOT / ".cache" / "sandbox-e2e-bad-input"
LABEL = "doks.digitalocean.com/node-pool"
TOOLS_TOLERATION = [{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("domain with underscore", {"gitops_domain": "bad_domain.example.com"}, "gitops_domain"),
    ("domain without a dot", {"gitops_domain": "example"}, "gitops_domain"),
    ("domain of the wrong type", {"gitops_domain": ["example.com"]}, "gitops_domain"),
    ("upper-case domain", {"gitops_domain": "Platform.Example.com"}, "gitops_domain"),
    ("host name with underscore", {"gitops_hosts": {"argocd": "argo_cd.sandbox.example.com"}}, "gitops_hosts.argocd"),
    ("malformed ACME e-mail", {"gitops_acme_email": "ops-at-example.com"}, "gitops_acme_email"),
    ("unknown ingress controller", {"gitops_ingress_controller": "haproxy"}, "gitops_ingress_controller"),
    ("unknown cluster issuer", {"gitops_cluster_issuer": "letsencrypt"}, "gitops_cluster_issuer"),
    ("duplicate pool names", {"gitops_pool_workloads": "tools"}, "gitops_pool_workloads"),
    ("invalid pool name", {"gitops_pool_tools": "Tools_Pool"}, "gitops_pool_tools"),
    (
        "taint effect typo",
        {"gitops_pool_tools_taint": {"key": "tools", "value": "true", "effect": "NoSchedul"}},
        "gitops_pool_tools_taint.effect",
    ),
    (
        "placement naming a pool that does not exist",
        {"gitops_placement_tools": {"nodeSelector": {LABEL: "tooling"}, "tolerations": TOOLS_TOLERATION}},
        "gitops_placement_tools.nodeSelector",
    ),
    (
        "placement that does not tolerate its pool",
        {"gitops_placement_tools": {"nodeSelector": {LABEL: "tools"}, "tolerations": []}},
        "gitops_placement_tools.tolerations",
    ),
    ("missing DigitalOcean token", {"doks_cluster_api_token": ""}, "doks_cluster_api_token"),
    (
        "missing Spaces admin key",
        {"doks_cluster_spaces_secret_access_key": ""},
        "doks_cluster_spaces_secret_access_key",
    ),
    ("missing Auth0 client secret", {"auth0_apps_client_secret": ""}, "auth0_apps_client_secret"),
    (
        "the account-wide DigitalOcean token as DNS token",
        {"ingress_certmanager_digitalocean_token": "{{ doks_cluster_api_token }}"},
        "ingress_certmanager_digitalocean_token",
    ),
    ("missing Auth0 domain", {"auth0_apps_domain": ""}, "auth0_apps_domain"),
    ("node count of the wrong type", {"doks_cluster_base_count": "three"}, "doks_cluster_base_count"),
    ("boolean of the wrong type", {"doks_cluster_ha": "maybe"}, "doks_cluster_ha"),
    ("min nodes above max nodes", {"doks_cluster_tools_min_nodes": 5}, "doks_cluster_tools_min_nodes"),
    (
        "count outside the autoscaling range",
        {"doks_cluster_workloads_autoscale": True, "doks_cluster_workloads_count": 9},
        "doks_cluster_workloads_count",
    ),
    ("malformed Kubernetes version", {"doks_cluster_version": "v1.34-latest"}, "doks_cluster_version"),
    (
        "chart pinned to a moving tag",
        {
            "argocd_argo_cd_chart": {
                "name": "argo-cd",
                "repo": "https://argoproj.github.io/argo-helm",
                "version": "latest",
            }
        },
        "argocd_argo_cd_chart.version",
    ),
    (
        "chart repository over plain HTTP",
        {"observability_loki_chart": {"name": "loki", "repo": "http://charts.example.com", "version": "18.11.0"}},
        "observability_loki_chart.repo",
    ),
    (
        "release tag without v",
        {"tekton_pipeline_release": {"version": "1.15.0", "files": ["release.yaml"]}},
        "tekton_pipeline_release.version",
    ),
    (
        "tekton release file without a pinned sha256",
        {"tekton_release_sha256": {}},
        "tekton_release_sha256[pipeline/previous/v1.15.0/release.yaml]",
    ),
    ("unknown ACME solver", {"ingress_certmanager_acme_solver": "tls-alpn01"}, "ingress_certmanager_acme_solver"),
    (
        "the removed controller knob",
        {"gitops_ingress_controller": "traefik", "ingress_certmanager_controller": "ingress-nginx"},
        "ingress_certmanager_controller",
    ),
    (
        "rules the roles' own asserts used to find after earlier roles wrote",
        {"tekton_prune_schedule": "daily", "auth0_apps_claim": "groups", "doks_cluster_spaces_bucket": "Logs_Bucket"},
        ("tekton_prune_schedule", "auth0_apps_claim", "doks_cluster_spaces_bucket"),
    ),
    (
        "rules observability, argocd and lofi_pipeline asserted only once they ran",
        {
            "observability_prometheus_retention": "two weeks",
            "argocd_rbac_default_role": "readonly",
            "lofi_pipeline_image_tag": "latest",
            "lofi_pipeline_apps": [{"name": "lofi", "pipeline_namespace": "lofi", "hots": "x"}],
        },
        (
            "observability_prometheus_retention",
            "argocd_rbac_default_role",
            "lofi_pipeline_image_tag",
            "lofi_pipeline_apps[0].pipeline_namespace",
            "lofi_pipeline_apps",
        ),
    ),
    ("unknown Pod Security level", {"lofi_pipeline_app_pod_security": "strict"}, "lofi_pipeline_app_pod_security"),
    (
        "Kyverno mode in lower case",
        {"kyverno_validation_failure_action": "enforce"},
        "kyverno_validation_failure_action",
    ),
    (
        "signature policy without a key source",
        {"tekton_chains_enabled": False},
        "kyverno_verify_images_enabled",
    ),
    (
        "Falco output below the priorities Falco loads",
        {"falco_enabled": True, "falco_minimum_priority": "error", "falco_loki_minimum_priority": "warning"},
        "falco_loki_minimum_priority",
    ),
    (
        "singular where the role declares a plural",
        {"observability_grafana_admin_group": ["gitops-admins"]},
        "observability_grafana_admin_group",
    ),
    ("misspelt shared setting", {"gitops_sso_enable": False}, "gitops_sso_enable"),
    (
        "upper-case droplet size and misspelt region",
        {"doks_cluster_tools_size": "S-4VCPU-8GB", "doks_cluster_region": "frankfurt"},
        ("doks_cluster_tools_size", "doks_cluster_region"),
    ),
    (
        "chart version absent from the repository index",
        {
            "observability_loki_chart": {
                "name": "loki",
                "repo": "https://grafana.github.io/helm-charts",
                "version": "18.11.9",
            }
        },
        "observability_loki_chart.version",
    ),
    (
        "references that resolve to nothing",
        {
            "observability_grafana_admin_groups": ["gitops-admin"],
            "auth0_apps_extra_apps": {"shop": {"description": "Shop", "callbacks": ["http://shop.example.com/cb"]}},
            "auth0_apps_groups": {"admins": {"members": ["bob"]}, "developers": {}, "viewers": {}},
            "lofi_pipeline_apps": [{"name": "lofi", "source_repo_url": "github.com/example/lofi.git"}],
        },
        (
            "observability_grafana_admin_groups",
            "auth0_apps_extra_apps.shop.callbacks",
            "auth0_apps_groups.admins.members",
            "lofi_pipeline_apps[0].source_repo_url",
        ),
    ),
    (
        "application credentials and ACME settings lofi_pipeline and ingress_certmanager used to find late",
        {
            "lofi_pipeline_git_host": "https://github.com",
            "lofi_pipeline_registry_dockerconfigjson": "user:password",
            "ingress_certmanager_acme_email": "ops-at-example.com",
        },
        ("lofi_pipeline_git_host", "lofi_pipeline_registry_dockerconfigjson", "ingress_certmanager_acme_email"),
    ),
    (
        "refused credentials of DigitalOcean, Auth0 and Spaces",
        {
            "doks_cluster_api_token": "dop_v1_" + "0" * 64,
            "auth0_apps_client_secret": "not-the-management-client-secret",
            "doks_cluster_spaces_secret_access_key": "not-the-spaces-secret",
        },
        ("doks_cluster_api_token", "auth0_apps_client_secret", "doks_cluster_spaces_secret_access_key"),
    ),
]
# Cases decided by a read (chart index, credentials): reads are allowed, writes never.
ONLINE = {"chart version absent from the repository index", "refused credentials of DigitalOcean, Auth0 and Spaces"}
# What a case's lines must carry besides the variable's name and a fix (by case title, then variable).
EXPECTED = {
    "the removed controller knob": {"ingress_certmanager_controller": "set gitops_ingress_controller instead"},
    "tekton release file without a pinned sha256": {
        "tekton_release_sha256[pipeline/previous/v1.15.0/release.yaml]": "| sha256sum",
    },
    "upper-case droplet size and misspelt region": {
        "doks_cluster_tools_size": "use the lower-case slug, for example s-4vcpu-8gb",
        "doks_cluster_region": "fra1, ams3 or nyc1",
    },
    "chart version absent from the repository index": {"observability_loki_chart.version": "nearest: 18.11.0"},
    "rules observability, argocd and lofi_pipeline asserted only once they ran": {
        "lofi_pipeline_apps": "lofi_pipeline_apps.hots. Supported parameters include",
    },
    "the account-wide DigitalOcean token as DNS token": {
        "ingress_certmanager_digitalocean_token": "custom scopes domain:read, domain:create, domain:update and domain:delete"
    },
    "refused credentials of DigitalOcean, Auth0 and Spaces": {
        "doks_cluster_api_token": "environment variable DIGITALOCEAN_TOKEN",
        "auth0_apps_client_secret": "environment variable AUTH0_CLIENT_SECRET",
        "doks_cluster_spaces_secret_access_key": "SignatureDoesNotMatch",
    },
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(STATE.resolve()).fresh() as box:
        yield box


def test_the_matrix_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(("title", "override", "variable"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_in_preflight_without_any_request(
    sandbox: Sandbox, tmp_path: Path, title: str, override: dict[str, Any], variable: str | tuple[str, ...]
) -> None:
    extra = tmp_path / "override.json"
    extra.write_text(json.dumps(override))
    marks = sandbox.log_marks()
    rc, out = sandbox.playbook("playbooks/site.yml", "-e", f"@{extra}")
    assert rc != 0, f"{title}: site.yml did not fail\n{out[-3000:]}"
    assert "Inventory check found" in out, f"{title}: did not fail in preflight\n{out[-3000:]}"
    for name in (variable,) if isinstance(variable, str) else variable:
        line = next((x for x in out.splitlines() if x.strip().startswith(f"- {name}:")), None)
        assert line is not None, f"{title}: {name} not named\n{out[-3000:]}"
        assert EXPECTED.get(title, {}).get(name, "Fix:") in line and "Fix:" in line, line
    requests = sandbox.requests_since(marks)
    if title in ONLINE:
        writes = [
            (api, e["method"], e["path"])
            for api, entries in requests.items()
            for e in entries
            if e["method"] not in {"GET", "HEAD"} and not (api == "auth0" and e["path"] == "/oauth/token")
        ]
        assert writes == [], title
    else:
        assert {name: entries for name, entries in requests.items() if entries} == {}, title


def test_two_hosts_sharing_a_domain_are_refused_before_any_request(sandbox: Sandbox, tmp_path: Path) -> None:
    """A second host of `clusters` with the first one's domain (and so its bucket-free names) is refused
    for both, naming gitops_domain: one cluster's external-dns and teardown would act on the other's."""
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventories" / "sandbox", inventory)
    hosts = inventory / "hosts.yml"
    hosts.write_text(
        hosts.read_text() + "    sandbox-2:\n      ansible_connection: local\n"
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n'
    )
    marks = sandbox.log_marks()
    rc, out = sandbox.playbook("playbooks/site.yml", inventory=str(inventory))
    assert rc != 0, out[-3000:]
    assert "Inventory check found" in out, out[-3000:]
    named = [x for x in out.splitlines() if x.strip().startswith("- gitops_domain:") and "sandbox-" in x]
    assert named and all("Fix:" in x for x in named), out[-3000:]
    assert {name: entries for name, entries in sandbox.requests_since(marks).items() if entries} == {}


def test_yaml_error_in_group_vars_names_the_file_and_line(sandbox: Sandbox, tmp_path: Path) -> None:
    """A YAML error in a group_vars file stops the run before any request, naming the file and line.

    ansible-core 2.19's host_group_vars drops the file from the error (``[ERROR]: YAML parsing
    failed: ...`` only); the doks.gitops.vars_files callback (ansible.cfg) reports it with its origin.
    """
    inventory = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventories" / "sandbox", inventory)
    broken = inventory / "group_vars" / "all" / "main.yml"
    broken.write_text(broken.read_text() + "gitops_acme_email: ops: example.com\n")
    line = len(broken.read_text().splitlines())
    marks = sandbox.log_marks()
    rc, out = sandbox.playbook("playbooks/site.yml", inventory=str(inventory))
    assert rc != 0, out[-3000:]
    assert f"Origin: {broken}:{line}:23" in out, out[-3000:]
    assert "Colons in unquoted values must be followed by a non-space character" in out
    assert {name: entries for name, entries in sandbox.requests_since(marks).items() if entries} == {}
