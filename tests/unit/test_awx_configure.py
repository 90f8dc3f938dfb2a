"""playbooks/awx_configure.yml run for real against the AWX API stand-in (tests/awx/standin.py)."""

from __future__ import annotations

import os
import re
import subprocess
import threading

import pytest
import yaml

from sandbox import tls
from sandbox.server import Context, EmulatorServer
from sandbox.store import Store
from tests.awx.standin import AwxStandin
from tests.unit.role_render import ROOT, ansible_playbook

SECRETS = {"DIGITALOCEAN_TOKEN": "dop_v1_" + "a1" * 32, "AUTH0_CLIENT_SECRET": "auth0-secret-Zq81"}


@pytest.fixture(scope="module")
def awx(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("awx")
    ca, ca_key = tls.ensure_ca(tmp)
    cert, key = tls.ensure_server_cert(tmp, ca, ca_key)
    srv = EmulatorServer(AwxStandin(Context("awx", Store(tmp / "awx.json"), {}, {})), 0, tls.server_context(cert, key))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        "CONTROLLER_HOST": f"https://127.0.0.1:{srv.port}",
        "CONTROLLER_OAUTH_TOKEN": "awx-token",
        "SSL_CERT_FILE": str(ca),
        "AUTH0_DOMAIN": "tenant.eu.auth0.com",
        "AUTH0_CLIENT_ID": "mgmt-client",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        **SECRETS,
    }
    env.pop("GITHUB_TOKEN", None)
    yield srv, env
    srv.shutdown()


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return ansible_playbook(["-v", "playbooks/awx_configure.yml"], cwd=ROOT, env=env, timeout=300)


def _recap(output: str) -> dict[str, int]:
    line = re.search(r"localhost\s+:\s+(.*)", output)
    assert line, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def _objects(srv: EmulatorServer, res: str) -> list[dict]:
    return list(srv.emulator.store.data["objects"][res].values())


def test_first_run_creates_everything(awx) -> None:
    srv, env = awx
    result = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr
    for secret in SECRETS.values():
        assert secret not in result.stdout + result.stderr
    types = {t["name"]: t for t in _objects(srv, "credential_types")}
    assert set(types) == {
        "DigitalOcean API token",
        "DigitalOcean Spaces keys",
        "Auth0 Management API",
        "GitHub (lofi pipeline)",
        "Container registry (lofi pipeline)",
        "Alertmanager Slack webhook",
    }
    assert types["DigitalOcean API token"]["injectors"] == {"env": {"DIGITALOCEAN_TOKEN": "{{ token }}"}}
    assert types["Auth0 Management API"]["kind"] == "cloud"
    creds = {c["name"]: c for c in _objects(srv, "credentials")}
    # GitHub values were not in the environment: no credential is created for it
    assert set(creds) == {"doks.gitops digitalocean", "doks.gitops auth0"}
    assert creds["doks.gitops digitalocean"]["inputs"]["token"] == SECRETS["DIGITALOCEAN_TOKEN"]
    templates = {t["name"]: t for t in _objects(srv, "job_templates")}
    assert templates["doks.gitops site"]["playbook"] == "playbooks/site.yml"
    assert templates["doks.gitops teardown"]["playbook"] == "playbooks/teardown.yml"
    surveys = srv.emulator.store.data["surveys"]
    site, teardown = templates["doks.gitops site"], templates["doks.gitops teardown"]
    # clusters by Limit, components by Tags; no survey answer may overwrite a cluster's own values
    assert str(site["id"]) not in surveys and not site["survey_enabled"]
    assert site["ask_limit_on_launch"] and site["ask_tags_on_launch"]
    assert [q["variable"] for q in surveys[str(teardown["id"])]["spec"]] == ["teardown_confirm"]
    assert teardown["survey_enabled"] and teardown["ask_limit_on_launch"]
    # a user allowed only to launch cannot redirect the API endpoints (and with them the tokens)
    assert not site["ask_variables_on_launch"] and not teardown["ask_variables_on_launch"]
    attached = srv.emulator.store.data["jt_credentials"][str(templates["doks.gitops site"]["id"])]
    assert sorted(attached) == sorted(c["id"] for c in creds.values())
    source = _objects(srv, "inventory_sources")[0]
    assert source["source"] == "scm"
    assert source["source_path"] == "inventories/production/hosts.yml"
    assert _objects(srv, "execution_environments")[0]["image"].endswith("doks-gitops-ee:0.1.0")


def test_every_secret_the_site_job_reads_is_injected_by_a_credential_type() -> None:
    """An AWX launch has no shell environment: each secret the inventory or a role default reads
    from the environment must come from a credential type's env injector, or preflight fails."""
    play = yaml.safe_load((ROOT / "playbooks/awx_configure.yml").read_text())[0]
    injected = {name for ct in play["vars"]["awx_credential_types"] for name in ct["injectors"]["env"]}
    sources = [*(ROOT / "inventories/production").rglob("*.yml"), *(ROOT / "roles").glob("*/defaults/main.yml")]
    read = {m for path in sources for m in re.findall(r"env'\s*,\s*'([A-Z][A-Z0-9_]+)'", path.read_text())}
    assert read - {"HOME"} <= injected, sorted(read - {"HOME"} - injected)


def test_second_run_changes_nothing(awx) -> None:
    srv, env = awx
    srv.log.clear()
    result = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _recap(result.stdout)["changed"] == 0, result.stdout
    writes = [e for e in srv.log.since(0) if e["method"] in {"POST", "PATCH", "PUT", "DELETE"}]
    assert writes == []


def test_missing_controller_host_fails_with_a_clear_message(awx) -> None:
    _, env = awx
    result = _run({**env, "CONTROLLER_HOST": ""})
    assert result.returncode != 0
    assert "Set CONTROLLER_HOST" in result.stdout
