"""Every shipped inventory passes preflight on the sandbox, or stops there naming what to fill in.

Preflight only (``--tags preflight``: the inventory check, the roles' argument specs and the end
summary), a few seconds per case: the full converges of inventories/local and
inventories/production cost minutes and are not repeated here. What a case may not do is write:
no request that changes state reaches any emulator (Auth0 token requests only read).

- inventories/sandbox as shipped passes.
- inventories/local (an existing cluster: the sandbox's kubeconfig as KUBECONFIG) as shipped
  stops naming exactly the values only its user knows, the GitOps repository and the image
  registry, and the sha256 of every Tekton release file (issue #18: the role defaults pin none, as
  no upstream checksum could be recorded; nothing is applied unverified); with them (and the
  sandbox's chart mirror and stand-ins' checksums) it passes.
- inventories/production with an empty environment stops naming every credential it reads from
  the environment and every Tekton pin; with the sandbox's values in those environment variables
  it passes (the DNS token is the DigitalOcean emulator's DNS-scoped one); with the account token
  as DNS token it stops.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils.preflight import tekton_release_files

from tests.e2e.harness import ROOT, WRITE_METHODS, Sandbox

STATE = ROOT / ".cache" / "sandbox-e2e-inventories"
# Every variable the production inventory (and the role defaults) reads from the environment.
SECRET_ENV = (
    "DIGITALOCEAN_TOKEN",
    "DIGITALOCEAN_DNS_TOKEN",
    "SPACES_ACCESS_KEY_ID",
    "SPACES_SECRET_ACCESS_KEY",
    "AUTH0_DOMAIN",
    "AUTH0_CLIENT_ID",
    "AUTH0_CLIENT_SECRET",
    "GITHUB_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "DOCR_DOCKERCONFIGJSON",
    "ALERTMANAGER_SLACK_WEBHOOK_URL",
)
PRODUCTION_FILL_IN = {
    "doks_cluster_api_token",
    "doks_cluster_spaces_access_key_id",
    "doks_cluster_spaces_secret_access_key",
    "auth0_apps_domain",
    "auth0_apps_client_id",
    "auth0_apps_client_secret",
    "ingress_certmanager_digitalocean_token",
    "observability_alertmanager_secrets[alertmanager-slack].data.api-url",
    # argocd delivery (the default): the token that pushes Tekton's release files to the platform repository
    "gitops_platform_repo_token",
}

# The Tekton files the role defaults download, each of which needs a pin in tekton_release_sha256.
TEKTON_DEFAULTS = yaml.safe_load((ROOT / "roles" / "tekton" / "defaults" / "main.yml").read_text())
TEKTON_PINS = {f"tekton_release_sha256[{key}]" for key in tekton_release_files(TEKTON_DEFAULTS.get)}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(STATE.resolve()).fresh() as box:
        yield box


def preflight(box: Sandbox, inventory: str, env: dict[str, str], *args: str) -> tuple[int, str]:
    """site.yml's preflight on ``inventory`` with ``env`` over a clean environment (no secret of the caller's)."""
    base = {k: v for k, v in box.env().items() if k not in SECRET_ENV and k != "KUBECONFIG"}
    return box.playbook("playbooks/site.yml", "--tags", "preflight", *args, inventory=inventory, env={**base, **env})


def named(output: str) -> set[str]:
    """The variables preflight's message names (``  - <variable>: <message>. Fix: <fix>``)."""
    return set(re.findall(r"^\s+- (\S+): .*\. Fix: ", output, re.MULTILINE))


def writes(box: Sandbox, marks: dict[str, int]) -> list[tuple[str, str, str]]:
    return [
        (name, entry["method"], entry["path"])
        for name, entries in box.requests_since(marks).items()
        for entry in entries
        if entry["method"] in WRITE_METHODS and not (name == "auth0" and entry["path"] == "/oauth/token")
    ]


def sandbox_env(box: Sandbox) -> dict[str, str]:
    """The production inventory's environment variables, holding the sandbox's values."""
    ep = box.endpoints
    return {
        "DIGITALOCEAN_TOKEN": ep["digitalocean"]["token"],
        "DIGITALOCEAN_DNS_TOKEN": ep["digitalocean"]["dns_token"],
        "SPACES_ACCESS_KEY_ID": "sandbox-admin",
        "SPACES_SECRET_ACCESS_KEY": "sandbox-admin-not-a-secret",
        "AUTH0_DOMAIN": ep["auth0"]["domain"],
        "AUTH0_CLIENT_ID": ep["auth0"]["client_id"],
        "AUTH0_CLIENT_SECRET": ep["auth0"]["client_secret"],
        "GITHUB_TOKEN": "ghp_" + "0" * 36,
        "DOCR_DOCKERCONFIGJSON": '{"auths": {"registry.digitalocean.com": {"auth": "eDp5"}}}',
        "ALERTMANAGER_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/sandbox",
        "PLATFORM_REPO_TOKEN": ep["git"]["platform_token"],
    }


def sandbox_endpoints(box: Sandbox, tmp_path: Path, pins: bool = True) -> str:
    """Where the APIs, charts and release files are: the sandbox (no inventory reads these from the environment),
    with the sha256 pins of the sandbox's release files unless ``pins`` is false."""
    ep = box.endpoints
    values = {
        "doks_cluster_api_url": ep["digitalocean"]["url"],
        "doks_cluster_ca_path": ep["ca_bundle"],
        "doks_cluster_spaces_endpoint": ep["spaces"]["url"],
        "auth0_apps_ca_path": ep["ca_bundle"],
        "gitops_ca_bundle": ep["ca_bundle"],
        "gitops_helm_repo_mirror": ep["artifacts"]["charts"],
        "tekton_release_base_url": f"{ep['artifacts']['releases']}/tekton-releases",
        "gitops_kubeconfig": f"{box.state}/{{{{ inventory_hostname }}}}.kubeconfig",
    }
    if pins:
        values["tekton_release_sha256"] = ep["artifacts"]["release_sha256"]["tekton-releases"]
    path = tmp_path / "sandbox-endpoints.yml"
    path.write_text(yaml.safe_dump(values))
    return f"@{path}"


def test_the_sandbox_inventory_passes_preflight(sandbox: Sandbox) -> None:
    marks = sandbox.log_marks()
    rc, out = preflight(sandbox, "inventories/sandbox", {"SANDBOX_STATE_DIR": str(sandbox.state)})
    assert rc == 0, out[-3000:]
    assert writes(sandbox, marks) == []


def test_the_local_inventory_as_shipped_names_what_to_fill_in(sandbox: Sandbox) -> None:
    marks = sandbox.log_marks()
    rc, out = preflight(sandbox, "inventories/local", {"KUBECONFIG": sandbox.endpoints["kubernetes"]["kubeconfig"]})
    assert rc != 0 and "Inventory check found" in out, out[-3000:]
    fill_in = {"lofi_pipeline_gitops_repo_url", "lofi_pipeline_image_registry", "gitops_platform_repo_url"}
    assert named(out) == fill_in | TEKTON_PINS, out[-3000:]
    assert "| sha256sum" in out, out[-3000:]
    assert writes(sandbox, marks) == []


def test_the_local_inventory_filled_in_passes_preflight(sandbox: Sandbox, tmp_path: Path) -> None:
    filled = tmp_path / "filled.yml"
    filled.write_text(
        yaml.safe_dump(
            {
                "lofi_pipeline_gitops_repo_url": "https://github.com/example/doks-gitops.git",
                "lofi_pipeline_image_registry": "registry.digitalocean.com/sandbox",
                "gitops_platform_repo_url": sandbox.endpoints["git"]["platform"],
                "gitops_platform_repo_token": sandbox.endpoints["git"]["platform_token"],
                "gitops_helm_repo_mirror": sandbox.endpoints["artifacts"]["charts"],
                "gitops_ca_bundle": sandbox.endpoints["ca_bundle"],
                "tekton_release_base_url": f"{sandbox.endpoints['artifacts']['releases']}/tekton-releases",
                "tekton_release_sha256": sandbox.endpoints["artifacts"]["release_sha256"]["tekton-releases"],
            }
        )
    )
    marks = sandbox.log_marks()
    env = {"KUBECONFIG": sandbox.endpoints["kubernetes"]["kubeconfig"]}
    rc, out = preflight(sandbox, "inventories/local", env, "-e", f"@{filled}")
    assert rc == 0, out[-3000:]
    assert writes(sandbox, marks) == []


def test_the_production_inventory_without_its_environment_names_every_credential(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    marks = sandbox.log_marks()
    rc, out = preflight(sandbox, "inventories/production", {}, "-e", sandbox_endpoints(sandbox, tmp_path, pins=False))
    assert rc != 0 and "Inventory check found" in out, out[-3000:]
    assert named(out) == PRODUCTION_FILL_IN | TEKTON_PINS, out[-3000:]
    assert writes(sandbox, marks) == []


def test_the_production_inventory_with_the_sandbox_in_its_environment_passes_preflight(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    marks = sandbox.log_marks()
    rc, out = preflight(
        sandbox, "inventories/production", sandbox_env(sandbox), "-e", sandbox_endpoints(sandbox, tmp_path)
    )
    assert rc == 0, out[-3000:]
    assert re.search(r"prod-fra1\s+: ok=\d+\s+changed=0 .*failed=0", out), out[-3000:]
    assert re.search(r"prod-nyc3\s+: ok=\d+\s+changed=0 .*failed=0", out), out[-3000:]
    assert writes(sandbox, marks) == []
    # the DNS token's probe: it reads domains, and is refused Kubernetes (a DNS-scoped token)
    seen = {(e["method"], e["path"].split("?")[0], e["status"]) for e in sandbox.requests_since(marks)["digitalocean"]}
    assert {("GET", "/v2/domains", 200), ("GET", "/v2/kubernetes/clusters", 403)} <= seen, seen


def test_the_production_inventory_with_the_account_token_for_dns_stops_in_preflight(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Issue #18: no account-wide credential in the cluster."""
    env = {**sandbox_env(sandbox), "DIGITALOCEAN_DNS_TOKEN": sandbox.endpoints["digitalocean"]["token"]}
    marks = sandbox.log_marks()
    rc, out = preflight(sandbox, "inventories/production", env, "-e", sandbox_endpoints(sandbox, tmp_path))
    assert rc != 0 and named(out) == {"ingress_certmanager_digitalocean_token"}, out[-3000:]
    assert "domain:read" in out and sandbox.endpoints["digitalocean"]["token"] not in out
    assert writes(sandbox, marks) == []
