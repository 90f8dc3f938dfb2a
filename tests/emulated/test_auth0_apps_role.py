"""The auth0_apps role on the sandbox: no secret in -vvv output; a no-op makes no write; members
added by hand survive the shipped defaults."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.bench_auth0 import counts, run_playbook
from tests.emulated.auth0_helpers import Api, run_module
from tests.emulated.auth0_sandbox import ROOT, Sandbox, start
from tests.unit.role_render import ansible_playbook

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start(Path(tmp_path_factory.mktemp("auth0-role")))
    yield sandbox
    sandbox.stop()


def secrets_of(box: Sandbox) -> list[str]:
    api = Api(box)
    values = [c["client_secret"] for c in api.clients()]
    values += [box.auth0["client_secret"], box.auth0["limited_client_secret"], api.token]
    assert all(len(v) >= 32 for v in values)
    return values


def test_converge_at_vvv_prints_no_secret_and_no_op_writes_nothing(box: Sandbox) -> None:
    first = run_playbook(box, "-vvv")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "changed=1" in first.stdout
    seq = box.last_seq()
    second = run_playbook(box, "-vvv", "--diff")
    assert second.returncode == 0, second.stdout[-3000:]
    assert "changed=0" in second.stdout
    calls = counts(box.requests(seq))
    assert calls["POST /oauth/token"] == 1
    assert [c for c in calls if not c.startswith("GET") and "oauth/token" not in c] == []
    check = run_playbook(box, "-vvv", "--check", "--diff")
    assert check.returncode == 0
    output = first.stdout + first.stderr + second.stdout + second.stderr + check.stdout + check.stderr
    secrets = secrets_of(box)
    assert len(secrets) >= 6  # 3 platform clients + 2 management clients + the token
    assert any(c["client_id"] in output for c in Api(box).clients())  # the output is really there
    leaked = [s[:6] + "..." for s in secrets if s in output]
    assert leaked == []


def test_the_gate_application_has_one_callback_per_gated_host(box: Sandbox) -> None:
    """The oauth2-proxy application's callbacks are the gate's hosts (its own and every one of
    gitops_sso_gated_hosts, the one list the Ingress and --whitelist-domain also derive from), each
    ``https://<host>/oauth2/callback``: the redirect_uri oauth2-proxy v7.15.3 builds from the
    request's host when --redirect-url is unset (oauthproxy.go ``getOAuthRedirectURI``). The
    emulator's /authorize, exact like Auth0's callback check, sends each to the login page and
    refuses an app host that is not gated."""
    gated = ["tekton.sandbox.example.com", "alerts.sandbox.example.com"]
    proc = run_playbook(box, "-e", json.dumps({"gitops_sso_gated_hosts": gated}))
    assert proc.returncode == 0, proc.stdout[-3000:]
    [client] = Api(box).clients("sandbox-1-oauth2_proxy")
    hosts = ["auth.sandbox.example.com", *gated]
    assert client["callbacks"] == [f"https://{host}/oauth2/callback" for host in hosts]
    login = f"https://{box.auth0['domain']}/u/login"
    for host in hosts:
        status, location, _ = box.authorize(
            client_id=client["client_id"],
            redirect_uri=f"https://{host}/oauth2/callback",
            response_type="code",
            scope="openid profile email",
            state="opaque",
        )
        assert (status, location.split("?")[0]) == (302, login), host
    status, location, body = box.authorize(
        client_id=client["client_id"],
        redirect_uri="https://lofi.sandbox.example.com/oauth2/callback",
        response_type="code",
    )
    assert (status, location) == (400, "")
    assert "Callback URL mismatch" in body["error_description"]
    # back to the shipped list: the extra host's callback goes away again
    assert run_playbook(box).returncode == 0
    [client] = Api(box).clients("sandbox-1-oauth2_proxy")
    assert client["callbacks"] == [f"https://{h}/oauth2/callback" for h in hosts[:2]]


def test_disabled_role_publishes_empty_facts_and_calls_nothing(box: Sandbox) -> None:
    seq = box.last_seq()
    proc = run_playbook(box, "-e", "gitops_sso_enabled=false", "-v")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Publish empty SSO facts" in proc.stdout
    assert box.requests(seq) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("auth0_apps_client_secret=not-the-secret", "check client_id and client_secret"),
        ("auth0_apps_claim=groups", "auth0_apps_claim: 'groups' must be a namespaced URL"),
    ],
)
def test_failures_are_reported_despite_no_log(box: Sandbox, extra: str, message: str) -> None:
    seq = box.last_seq()
    proc = run_playbook(box, "-e", extra)
    assert proc.returncode != 0
    assert message in proc.stdout.replace("\n", " ").replace("  ", " ")
    assert writes_in(box.requests(seq)) == []


def writes_in(log: list[dict]) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in log if e["method"] != "GET" and e["path"] != "/oauth/token"]


def test_hand_added_member_survives_two_runs_with_the_defaults(box: Sandbox) -> None:
    """The shipped groups carry no members: the role never reads nor changes a group's membership.

    An admin added alice to gitops-admins in the dashboard before the first run; two runs leave
    her there. Only members_purge in the inventory removes her (previewed first in check mode).
    """
    box.reset()
    api = Api(box)
    alice = api.user("alice@example.com")
    admins = api.post("/roles", {"name": "gitops-admins", "description": "Platform administrators (full access)"})
    api.post(f"/roles/{admins['id']}/users", {"users": [alice["user_id"]]})
    seq = box.last_seq()
    for run in ("converge", "no-op"):
        proc = run_playbook(box)
        assert proc.returncode == 0, f"{run}: {proc.stdout[-3000:]}"
    assert "changed=0" in proc.stdout
    assert not [e for e in box.requests(seq) if "/users" in e["path"]]  # membership neither read nor written
    assert api.members(admins["id"]) == ["alice@example.com"]
    managed = {"admins": {"description": "Platform administrators (full access)", "members": [], "members_purge": True}}
    extra = json.dumps({"auth0_apps_groups": managed})
    seq = box.last_seq()
    preview = run_playbook(box, "--check", "--diff", "-e", extra)
    assert preview.returncode == 0, preview.stdout[-3000:]
    assert "gitops-admins: updated" in preview.stdout
    # the summary names whom purge would remove (the module's own diff is hidden by no_log)
    assert re.search(r"gitops-admins:\s+added: \[\]\s+removed:\s+- alice@example.com", preview.stdout)
    assert writes_in(box.requests(seq)) == []
    assert run_playbook(box, "-e", extra).returncode == 0
    assert api.members(admins["id"]) == []


TEARDOWN = """
- name: Tear down the Auth0 objects of the selected clusters
  hosts: clusters
  gather_facts: false
  tasks:
    - name: Delete this cluster's Auth0 objects
      ansible.builtin.include_role:
        name: doks.gitops.auth0_apps
        tasks_from: teardown
"""


def teardown_auth0(box: Sandbox, tmp_path: Path, hosts: dict[str, dict], *args: str) -> str:
    """The role's teardown entry point for ``-l c1`` of an inventory of ``hosts`` (host vars by host)
    over the sandbox inventory's group_vars (one tenant, auth0_apps_teardown_shared: true)."""
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "group_vars").symlink_to(ROOT / "inventories/sandbox/group_vars")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    clusters = {"clusters": {"hosts": {host: {**local, **values} for host, values in hosts.items()}}}
    (inventory / "hosts.yml").write_text(json.dumps(clusters))
    (tmp_path / "teardown.yml").write_text(TEARDOWN)
    env = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(box.state),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_FORCE_COLOR": "0",
    }
    cmd = ["-i", str(inventory), str(tmp_path / "teardown.yml"), "-l", "c1", *args]
    proc = ansible_playbook(cmd, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def shared_objects(box: Sandbox) -> tuple[list[str], list[str]]:
    api = Api(box)
    actions = api.get("/actions/actions?actionName=gitops-groups-claim")["actions"]
    return sorted(api.roles()), [a["name"] for a in actions]


@pytest.mark.parametrize(
    ("others", "kept_for"),
    [
        # c2 (same tenant, default prefix and Action) is outside --limit: its groups stay, and
        # c3 (another tenant) does not count
        ({"c2": {}, "c3": {"auth0_apps_domain": "other-tenant.eu.auth0.com"}}, "c2"),
        # a cluster on the same tenant with SSO off, or with its own groups and Action, uses nothing of c1's
        (
            {
                "c2": {"gitops_sso_enabled": False},
                "c3": {"auth0_apps_role_prefix": "team-", "auth0_apps_action_name": "team-groups-claim"},
            },
            None,
        ),
    ],
)
def test_teardown_keeps_shared_groups_while_another_cluster_uses_the_tenant(
    box: Sandbox, tmp_path: Path, others: dict[str, dict], kept_for: str | None
) -> None:
    box.reset()
    roles = [{"name": "gitops-admins"}, {"name": "gitops-viewers"}]
    run_module(box, roles=roles, groups_action={"claim": "https://doks.gitops/groups"})
    before = shared_objects(box)
    assert before == (["gitops-admins", "gitops-viewers"], ["gitops-groups-claim"])
    out = teardown_auth0(box, tmp_path, {"c1": {}, **others})
    if kept_for:
        assert shared_objects(box) == before
        assert f"still used by {kept_for} (same tenant in this inventory)" in out
        assert "Kept the groups gitops-* and the Action gitops-groups-claim" in out
    else:
        assert shared_objects(box) == ([], [])
        assert "Kept the groups" not in out
