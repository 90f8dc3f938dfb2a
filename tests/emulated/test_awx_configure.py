"""playbooks/awx_configure.yml run for real against the AWX API stand-in (tests/awx/standin.py)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils.preflight import tekton_release_files
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sandbox import tls
from sandbox.server import Context, EmulatorServer
from sandbox.store import Store
from tests.awx.standin import AwxStandin
from tests.unit.role_render import ROOT, ansible_playbook

SECRETS = {
    "DIGITALOCEAN_TOKEN": "dop_v1_" + "a1" * 32,
    "DIGITALOCEAN_DNS_TOKEN": "dop_v1_" + "d4" * 32,
    "AUTH0_CLIENT_SECRET": "auth0-secret-Zq81",
}


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
        "DigitalOcean DNS token",
        "DigitalOcean Spaces keys",
        "Auth0 Management API",
        "GitHub (lofi pipeline)",
        "Container registry (lofi pipeline)",
        "Alertmanager Slack webhook",
        "Sealed-secrets key backup",
        "Platform GitOps repository",
    }
    assert types["DigitalOcean API token"]["injectors"] == {"env": {"DIGITALOCEAN_TOKEN": "{{ token }}"}}
    assert types["DigitalOcean DNS token"]["injectors"] == {"env": {"DIGITALOCEAN_DNS_TOKEN": "{{ token }}"}}
    assert types["Auth0 Management API"]["kind"] == "cloud"
    creds = {c["name"]: c for c in _objects(srv, "credentials")}
    # GitHub values were not in the environment: no credential is created for it
    assert set(creds) == {"doks.gitops digitalocean", "doks.gitops dns", "doks.gitops auth0"}
    assert creds["doks.gitops digitalocean"]["inputs"]["token"] == SECRETS["DIGITALOCEAN_TOKEN"]
    assert creds["doks.gitops dns"]["inputs"]["token"] == SECRETS["DIGITALOCEAN_DNS_TOKEN"]
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


# Every credential value an operator enters in AWX, by credential type (fields as awx_configure.yml defines them).
LAUNCH_SECRETS = {
    "DIGITALOCEAN_TOKEN": "dop_v1_" + "b2" * 32,
    "DIGITALOCEAN_DNS_TOKEN": "dop_v1_" + "e5" * 32,
    "SPACES_ACCESS_KEY_ID": "DO00SPACESKEYID",
    "SPACES_SECRET_ACCESS_KEY": "spaces-secret-Qx7",
    "AUTH0_CLIENT_SECRET": "auth0-secret-Zq81",
    "GITHUB_TOKEN": "ghp_" + "c3" * 18,
    "GITHUB_WEBHOOK_SECRET": "webhook-secret-0123456789",
    "DOCR_DOCKERCONFIGJSON": '{"auths": {"registry.digitalocean.com": {"auth": "eDp5"}}}',
    "ALERTMANAGER_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/launch",
    "SEALED_SECRETS_BACKUP_PASSPHRASE": "backup-passphrase-5f0c2e",
    "PLATFORM_REPO_TOKEN": "github_pat_" + "d4" * 20,
}


def _launch(
    srv: EmulatorServer, template: str, limit: str, answers: dict[str, str], inputs: dict[str, dict[str, str]]
) -> subprocess.CompletedProcess[str]:
    """What AWX does when a job template is launched, up to the playbook's preflight.

    AWX (awx/main/models/credential/__init__.py, CredentialType.inject_credential) renders each
    attached credential's type injectors with an ImmutableSandboxedEnvironment over the
    credential's inputs: ``env`` becomes the job's environment, ``extra_vars`` its extra
    variables; the survey's answers (or defaults) are extra variables too, and nothing else is
    accepted at launch when ask_variables_on_launch is off. The job runs the template's playbook
    from the project's checkout with the inventory synced from the inventory source and the
    launch's Limit. ``inputs`` replaces a credential's inputs, as an operator would have entered them.
    The inventory is the production one with the sha256 of each Tekton release file recorded, as the
    operator commits them to the git-sourced inventory (issue #18: the role defaults pin none, and
    preflight names each missing pin; these stand-in values are well-formed, preflight downloads nothing).
    """
    db = srv.emulator.store.data
    jt = next(t for t in _objects(srv, "job_templates") if t["name"] == template)
    assert not jt["ask_variables_on_launch"]
    extra: dict[str, str] = {}
    if jt["survey_enabled"]:
        for question in db["surveys"][str(jt["id"])]["spec"]:
            extra[question["variable"]] = answers.get(question["variable"], question.get("default", ""))
    assert set(answers) <= set(extra), f"AWX refuses launch variables the survey does not ask: {answers}"
    types = {t["id"]: t for t in _objects(srv, "credential_types")}
    creds = {c["id"]: c for c in _objects(srv, "credentials")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH0_", "SPACES_", "DIGITALOCEAN_", "GITHUB_"))}
    env.pop("DOCR_DOCKERCONFIGJSON", None)
    env.pop("ALERTMANAGER_SLACK_WEBHOOK_URL", None)
    env.pop("SEALED_SECRETS_BACKUP_PASSPHRASE", None)
    sandbox = ImmutableSandboxedEnvironment()
    for cred_id in db["jt_credentials"][str(jt["id"])]:
        cred = creds[cred_id]
        ctype = types[cred["credential_type"]]
        namespace = inputs.get(cred["name"], cred["inputs"])
        for name, template_text in ctype["injectors"].get("env", {}).items():
            env[name] = sandbox.from_string(template_text).render(**namespace)
        for name, template_text in ctype["injectors"].get("extra_vars", {}).items():
            extra[name] = sandbox.from_string(template_text).render(**namespace)
    source = _objects(srv, "inventory_sources")[0]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(extra, handle)
    tekton = yaml.safe_load((ROOT / "roles/tekton/defaults/main.yml").read_text())
    pins = {key: hashlib.sha256(key.encode()).hexdigest() for key in tekton_release_files(tekton.get)}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as recorded:
        yaml.safe_dump({"all": {"vars": {"tekton_release_sha256": pins}}}, recorded)
    args = [
        "-i",
        source["source_path"],
        "-i",
        recorded.name,
        jt["playbook"],
        "--limit",
        limit,
        "--tags",
        "preflight",
        "-e",
        f"@{handle.name}",
    ]
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    try:
        return ansible_playbook(args, cwd=ROOT, env=env, timeout=300)
    finally:
        os.unlink(handle.name)
        os.unlink(recorded.name)


def _named(output: str) -> set[str]:
    return set(re.findall(r"^\s+- (\S+): .*\. Fix: ", output, re.MULTILINE))


@pytest.fixture(scope="module")
def awx_with_every_credential(awx):
    """awx_configure.yml run again with a value for every credential type: all of them exist and are attached."""
    srv, env = awx
    result = _run({**env, **LAUNCH_SECRETS})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(_objects(srv, "credentials")) == len(_objects(srv, "credential_types"))
    return srv


def test_a_launch_reaches_preflight_with_every_credential_injected(awx_with_every_credential) -> None:
    srv = awx_with_every_credential
    result = _launch(srv, "doks.gitops site", "prod-fra1", {}, {})
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "Validate the inventory before any API call" in out
    # the Limit picks the cluster; the other one is not touched
    assert re.search(r"^prod-fra1\s+: ok=", out, re.MULTILINE) and not re.search(r"^prod-nyc3\s+:", out, re.MULTILINE)
    for secret in LAUNCH_SECRETS.values():
        assert secret not in out


def test_a_wrong_credential_value_is_refused_by_preflight_naming_the_variable(awx_with_every_credential) -> None:
    srv = awx_with_every_credential
    auth0 = {"domain": "https://tenant.eu.auth0.com/", "client_id": "mgmt-client", "client_secret": "x" * 16}
    result = _launch(srv, "doks.gitops site", "prod-fra1", {}, {"doks.gitops auth0": auth0})
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert _named(out) == {"auth0_apps_domain"}, out[-3000:]


def test_the_account_token_in_the_dns_credential_is_refused_by_preflight(awx_with_every_credential) -> None:
    """Issue #18: the DNS credential holding the account-wide token would put it in the cluster."""
    srv = awx_with_every_credential
    account = next(c for c in _objects(srv, "credentials") if c["name"] == "doks.gitops digitalocean")["inputs"]
    result = _launch(srv, "doks.gitops site", "prod-fra1", {}, {"doks.gitops dns": account})
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert _named(out) == {"ingress_certmanager_digitalocean_token"}, out[-3000:]
    assert account["token"] not in out


def test_a_credential_left_out_of_the_launch_is_named_by_preflight(awx_with_every_credential) -> None:
    srv = awx_with_every_credential
    empty = {"slack_webhook_url": ""}
    result = _launch(srv, "doks.gitops site", "prod-nyc3", {}, {"doks.gitops alerting": empty})
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert _named(out) == {"observability_alertmanager_secrets[alertmanager-slack].data.api-url"}, out[-3000:]


def _scalars(node: object) -> list[str]:
    """Every string a parsed playbook holds (task arguments, conditions, templates; comments are gone)."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*_scalars(key), *_scalars(value))]
    if isinstance(node, list):
        return [s for item in node for s in _scalars(item)]
    return [node] if isinstance(node, str) else []


def test_every_survey_variable_is_read_by_its_playbook(awx) -> None:
    """A survey question whose variable nothing reads would be an answer silently dropped.

    (The survey once asked `gitops_components` and `awx_limit_cluster`, which no play read: the
    clusters are the job's Limit and the components its Tags.) The playbook must use the variable
    in a task, not only name it in a comment.
    """
    srv, env = awx
    if not srv.emulator.store.data.get("surveys"):
        assert _run(env).returncode == 0
    surveys = srv.emulator.store.data["surveys"]
    asked = []
    for jt in _objects(srv, "job_templates"):
        used = " ".join(_scalars(yaml.safe_load((ROOT / jt["playbook"]).read_text())))
        for question in surveys.get(str(jt["id"]), {}).get("spec", []):
            asked.append(question["variable"])
            assert re.search(rf"\b{question['variable']}\b", used), (jt["name"], question["variable"])
    assert asked == ["teardown_confirm"]
