"""playbooks/awx_configure.yml run for real against the AWX API stand-in (tests/awx/standin.py)."""

from __future__ import annotations

import os
import re
import subprocess
import threading

import pytest

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
    assert set(types) == {"DigitalOcean API token", "Auth0 Management API", "GitHub (lofi pipeline)"}
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
    site_vars = [q["variable"] for q in surveys[str(templates["doks.gitops site"]["id"])]["spec"]]
    assert site_vars == ["awx_limit_cluster", "doks_cluster_region", "gitops_domain", "gitops_components"]
    attached = srv.emulator.store.data["jt_credentials"][str(templates["doks.gitops site"]["id"])]
    assert sorted(attached) == sorted(c["id"] for c in creds.values())
    source = _objects(srv, "inventory_sources")[0]
    assert source["source"] == "scm"
    assert source["source_path"] == "inventories/production/hosts.yml"
    assert _objects(srv, "execution_environments")[0]["image"].endswith("doks-gitops-ee:0.1.0")


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
