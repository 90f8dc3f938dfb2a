"""doks.gitops.auth0_apps and its REST client against the sandbox Auth0 emulator."""

from __future__ import annotations

import time

import pytest
from ansible_collections.doks.gitops.plugins.modules import auth0_apps

from tests.emulated.auth0_helpers import Api, run_module, writes
from tests.emulated.auth0_sandbox import Sandbox

pytestmark = pytest.mark.sandbox

CLAIM = "https://sandbox.example.com/groups"


@pytest.fixture
def api(box: Sandbox) -> Api:
    return Api(box)


def declared(**over) -> dict:
    args = {
        "applications": [
            {
                "name": "argocd",
                "callbacks": ["https://argocd.sandbox.example.com/auth/callback"],
                "allowed_logout_urls": ["https://argocd.sandbox.example.com"],
                "web_origins": ["https://argocd.sandbox.example.com"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post",
            },
            {"name": "grafana", "callbacks": ["https://grafana.sandbox.example.com/login/generic_oauth"]},
        ],
        "roles": [
            {"name": "gitops-admins", "description": "Admins", "members": ["alice@example.com"]},
            {"name": "gitops-viewers", "description": "Viewers", "members": []},
        ],
        "groups_action": {"claim": CLAIM},
    }
    args.update(over)
    return args


def test_create_from_empty(box: Sandbox, api: Api) -> None:
    api.user("alice@example.com")
    seq = box.last_seq()
    result = run_module(box, **declared())
    log = box.requests(seq)  # every attempt the emulator saw, the token request among the gets
    assert result["changed"] is True, result
    argocd = api.clients("argocd")
    assert len(argocd) == 1
    assert argocd[0]["client_metadata"] == {"managed_by": "doks.gitops"}
    assert argocd[0]["callbacks"] == ["https://argocd.sandbox.example.com/auth/callback"]
    assert argocd[0]["grant_types"] == ["authorization_code", "refresh_token"]
    assert result["applications"]["argocd"] == {"client_id": argocd[0]["client_id"], "action": "created"}
    roles = api.roles()
    assert set(roles) == {"gitops-admins", "gitops-viewers"}
    assert api.members(roles["gitops-admins"]["id"]) == ["alice@example.com"]
    bound = api.bindings()
    assert [b["action"]["name"] for b in bound] == ["gitops-groups-claim"]
    action = api.get(f"/actions/actions/{bound[0]['action']['id']}")
    assert action["all_changes_deployed"] is True
    assert CLAIM in action["code"]
    assert result["issuer"] == f"https://{box.auth0['domain']}/"
    assert result["groups_claim"] == CLAIM
    assert "client_secret" not in str(result["applications"])
    assert result["actions"] == [
        "create application argocd",
        "create application grafana",
        "create role gitops-admins",
        "add alice@example.com to role gitops-admins",
        "create role gitops-viewers",
        "create Action gitops-groups-claim",
        "deploy Action gitops-groups-claim",
        "bind Action gitops-groups-claim to the post-login trigger",
    ]
    assert result["api_calls"] == {"get": len(log) - len(writes(log)), "write": len(writes(log))}


def test_no_op_sends_no_write_and_one_token(box: Sandbox, api: Api) -> None:
    api.user("alice@example.com")
    run_module(box, **declared())
    seq = box.last_seq()
    result = run_module(box, **declared())
    assert result["changed"] is False, result
    log = box.requests(seq)
    assert writes(log) == []
    assert [e["path"] for e in log if e["method"] == "POST"] == ["/oauth/token"]
    # clients, roles, members of 2 roles, the action by name, the trigger's bindings: one page each
    assert sorted(e["path"] for e in log if e["method"] == "GET") == sorted(
        [
            "/api/v2/clients",
            "/api/v2/roles",
            f"/api/v2/roles/{api.roles()['gitops-admins']['id']}/users",
            f"/api/v2/roles/{api.roles()['gitops-viewers']['id']}/users",
            "/api/v2/actions/actions",
            "/api/v2/actions/triggers/post-login/bindings",
        ]
    )
    assert result["api_calls"] == {"get": 7, "write": 0}  # the token request counts as a get
    assert result["actions"] == []


def test_field_change_patches_only_that_client(box: Sandbox, api: Api) -> None:
    run_module(box, **declared(roles=[], groups_action=None))
    args = declared(roles=[], groups_action=None)
    args["applications"][1]["callbacks"] = ["https://grafana.sandbox.example.com/login/generic_oauth", "https://x/cb"]
    seq = box.last_seq()
    result = run_module(box, diff=True, **args)
    grafana = api.clients("grafana")[0]
    assert writes(box.requests(seq)) == [("PATCH", f"/api/v2/clients/{grafana['client_id']}")]
    assert grafana["callbacks"] == ["https://grafana.sandbox.example.com/login/generic_oauth", "https://x/cb"]
    assert result["applications"]["grafana"]["action"] == "updated"
    assert result["applications"]["argocd"]["action"] == "unchanged"
    after = result["diff"]["after"]["applications"]["grafana"]
    assert set(after) == {"client_id", "callbacks"}


def test_arrays_compare_as_sets(box: Sandbox) -> None:
    run_module(box, **declared(roles=[], groups_action=None))
    args = declared(roles=[], groups_action=None)
    args["applications"][0]["grant_types"] = ["refresh_token", "authorization_code"]
    seq = box.last_seq()
    assert run_module(box, **args)["changed"] is False
    assert writes(box.requests(seq)) == []


def test_purge_removes_only_owned_undeclared(box: Sandbox, api: Api) -> None:
    run_module(box, **declared(groups_action=None))
    foreign = api.post("/clients", {"name": "grafana"})  # same name, not owned
    foreign_role = api.post("/roles", {"name": "ops-team"})
    args = declared(groups_action=None, purge=True)
    args["applications"] = args["applications"][:1]
    args["roles"] = args["roles"][:1]
    result = run_module(box, **args)
    assert result["changed"] is True
    assert [c["client_id"] for c in api.clients("grafana")] == [foreign["client_id"]]
    assert len(api.clients("argocd")) == 1
    assert set(api.roles()) == {"gitops-admins", "ops-team"}
    assert api.roles()["ops-team"]["id"] == foreign_role["id"]
    assert len(result["deleted"]["applications"]) == 1
    assert len(result["deleted"]["roles"]) == 1


def test_purge_with_roles_omitted_leaves_roles_alone(box: Sandbox, api: Api) -> None:
    """Teardown of one cluster removes its clients but not the groups other clusters share."""
    run_module(box, **declared(groups_action=None))
    args = declared(groups_action=None, purge=True, applications=[])
    del args["roles"]
    result = run_module(box, **args)
    assert api.clients("argocd") == []
    assert api.clients("grafana") == []
    assert {"gitops-admins", "gitops-viewers"} <= set(api.roles())
    assert result["deleted"]["roles"] == []
    result = run_module(box, **declared(groups_action=None, purge=True, applications=[], roles=[]))
    assert not {"gitops-admins", "gitops-viewers"} & set(api.roles())
    assert len(result["deleted"]["roles"]) == 2


def test_duplicate_owned_names_fail_naming_both_ids(box: Sandbox, api: Api) -> None:
    meta = {"client_metadata": {"managed_by": "doks.gitops"}}
    one = api.post("/clients", {"name": "argocd", **meta})
    two = api.post("/clients", {"name": "argocd", **meta})
    seq = box.last_seq()
    result = run_module(box, **declared())
    assert result["failed"] is True
    assert one["client_id"] in result["msg"]
    assert two["client_id"] in result["msg"]
    assert writes(box.requests(seq)) == []


def test_foreign_objects_and_bindings_untouched(box: Sandbox, api: Api) -> None:
    api.user("alice@example.com")
    api.deployed_action("tenant-own-action")
    api.patch(
        "/actions/triggers/post-login/bindings",
        {"bindings": [{"ref": {"type": "action_name", "value": "tenant-own-action"}}]},
    )
    foreign = api.post("/clients", {"name": "argocd", "callbacks": ["https://other/cb"]})
    run_module(box, purge=True, **declared())
    assert [b["action"]["name"] for b in api.bindings()] == ["tenant-own-action", "gitops-groups-claim"]
    again = api.get(f"/clients/{foreign['client_id']}")
    assert again["callbacks"] == ["https://other/cb"]
    assert again["client_metadata"] == {}
    assert len(api.clients("argocd")) == 2


def test_check_mode_writes_nothing(box: Sandbox, api: Api) -> None:
    seq = box.last_seq()
    result = run_module(box, check=True, diff=True, **declared())
    assert result["changed"] is True
    assert writes(box.requests(seq)) == []
    assert api.clients("argocd") == []
    assert result["diff"]["after"]["applications"]["argocd"]["callbacks"]


def test_secret_only_when_asked(box: Sandbox, api: Api) -> None:
    first = run_module(box, return_secrets=True, **declared(roles=[], groups_action=None))
    secret = api.get(f"/clients/{first['applications']['argocd']['client_id']}")["client_secret"]
    assert first["applications"]["argocd"]["client_secret"] == secret
    again = run_module(box, return_secrets=True, diff=True, **declared(roles=[], groups_action=None))
    assert again["applications"]["argocd"]["client_secret"] == secret
    assert secret not in str(again["diff"])
    plain = run_module(box, **declared(roles=[], groups_action=None))
    assert secret not in str(plain)


def test_429_then_success(box: Sandbox) -> None:
    seq = box.last_seq()
    box.fault(status=429, headers={"Retry-After": "1"}, count=1, path="^/api/v2/clients$", method="GET")
    result = run_module(box, **declared(roles=[], groups_action=None))
    assert result["changed"] is True
    gets = [e["status"] for e in box.requests(seq) if e["path"] == "/api/v2/clients" and e["method"] == "GET"]
    assert gets[:2] == [429, 200]


def test_429_on_create_is_retried_once_without_duplicate(box: Sandbox, api: Api) -> None:
    box.fault(status=429, count=1, path="^/api/v2/clients$", method="POST")
    run_module(box, **declared(roles=[], groups_action=None))
    assert len(api.clients("argocd")) == 1


def test_500_then_success(box: Sandbox) -> None:
    seq = box.last_seq()
    box.fault(status=500, count=1, path="^/api/v2/roles$", method="GET")
    result = run_module(box, **declared(groups_action=None))
    assert result["changed"] is True
    gets = [e["status"] for e in box.requests(seq) if e["path"] == "/api/v2/roles"]
    assert gets[:2] == [500, 200]


def test_timeout_on_create_makes_no_duplicate(box: Sandbox, api: Api) -> None:
    box.fault(delay=2.5, count=1, path="^/api/v2/clients$", method="POST")
    started = time.monotonic()
    result = run_module(box, timeout=1, **declared(roles=[], groups_action=None))
    assert result["changed"] is True, result
    time.sleep(max(0.0, 3.0 - (time.monotonic() - started)))  # let the delayed create land
    assert len(api.clients("argocd")) == 1
    assert len(api.clients("grafana")) == 1
    assert "was created" in str(result.get("warnings"))


def test_missing_scope_is_named(box: Sandbox) -> None:
    run_module(box, **declared(roles=[], groups_action=None))
    args = declared(roles=[], groups_action=None, purge=True)
    args["applications"] = args["applications"][:1]
    result = run_module(box, limited=True, **args)
    assert result["failed"] is True
    assert "delete:clients" in result["msg"]
    assert "DELETE /api/v2/clients/" in result["msg"]


def test_return_secrets_without_read_client_keys_fails_before_writes(box: Sandbox) -> None:
    seq = box.last_seq()
    result = run_module(box, limited=True, return_secrets=True, **declared())
    assert result["failed"] is True
    assert "read:client_keys" in result["msg"]
    assert writes(box.requests(seq)) == []


@pytest.mark.parametrize("claim", ["groups", "roles", "https://tenant.auth0.com/groups", "https://example.com"])
def test_reserved_or_bare_claims_are_refused_before_any_call(box: Sandbox, claim: str) -> None:
    seq = box.last_seq()
    result = run_module(box, **declared(groups_action={"claim": claim}))
    assert result["failed"] is True
    assert "groups_action.claim" in result["msg"]
    assert box.requests(seq) == []


def test_member_changes_and_missing_member_warning(box: Sandbox, api: Api) -> None:
    api.user("alice@example.com")
    bob = api.user("bob@example.com")
    run_module(box, **declared(groups_action=None))
    args = declared(groups_action=None)
    args["roles"][0].update(members=["bob@example.com", "carol@example.com"], members_purge=True)
    result = run_module(box, **args)
    admins = api.roles()["gitops-admins"]["id"]
    assert api.members(admins) == ["bob@example.com"]
    assert "carol@example.com" in str(result["warnings"])
    assert bob["email"] == "bob@example.com"


def hand_added(api: Api, role: str, email: str) -> str:
    """Add an existing user to a role the way an admin does in the dashboard (POST /roles/{id}/users)."""
    user = next(u for u in api.get(f"/users-by-email?email={email}"))
    role_id = api.roles()[role]["id"]
    api.post(f"/roles/{role_id}/users", {"users": [user["user_id"]]})
    return role_id


def test_hand_added_member_survives_runs_that_list_other_members(box: Sandbox, api: Api) -> None:
    """members lists whom to add; a member added by hand is nobody's business but the admin's."""
    api.user("alice@example.com")
    api.user("bob@example.com")
    run_module(box, **declared(groups_action=None))
    admins = hand_added(api, "gitops-admins", "bob@example.com")
    seq = box.last_seq()
    for _run in range(2):
        result = run_module(box, diff=True, **declared(groups_action=None))
        assert result["changed"] is False, result
        assert result["diff"]["after"]["roles"] == {}
    assert writes(box.requests(seq)) == []
    assert api.members(admins) == ["alice@example.com", "bob@example.com"]
    assert result["roles"]["gitops-admins"]["members"] == ["alice@example.com", "bob@example.com"]


def test_members_purge_removes_unlisted_members_after_a_check_mode_preview(box: Sandbox, api: Api) -> None:
    api.user("alice@example.com")
    bob = api.user("bob@example.com")
    run_module(box, **declared(groups_action=None))
    admins = hand_added(api, "gitops-admins", "bob@example.com")
    args = declared(groups_action=None)
    args["roles"][0]["members_purge"] = True
    seq = box.last_seq()
    preview = run_module(box, check=True, diff=True, **args)
    assert preview["changed"] is True
    assert writes(box.requests(seq)) == []
    assert preview["diff"]["before"]["roles"]["gitops-admins"]["members"] == ["alice@example.com", "bob@example.com"]
    assert preview["diff"]["after"]["roles"]["gitops-admins"]["members"] == ["alice@example.com"]
    assert api.members(admins) == ["alice@example.com", "bob@example.com"]
    seq = box.last_seq()
    applied = run_module(box, **args)
    assert applied["changed"] is True
    assert writes(box.requests(seq)) == [("DELETE", f"/api/v2/users/{bob['user_id']}/roles")]
    assert api.members(admins) == ["alice@example.com"]
    assert run_module(box, **args)["changed"] is False


def test_members_purge_without_members_is_refused_before_any_call(box: Sandbox) -> None:
    seq = box.last_seq()
    result = run_module(box, roles=[{"name": "gitops-admins", "members_purge": True}])
    assert result["failed"] is True
    assert "roles[gitops-admins].members_purge needs members" in result["msg"]
    assert box.requests(seq) == []


def test_action_change_redeploys_and_keeps_one_binding(box: Sandbox, api: Api) -> None:
    run_module(box, **declared(roles=[]))
    result = run_module(box, **declared(roles=[], groups_action={"claim": "https://sandbox.example.com/roles"}))
    assert result["changed"] is True
    assert result["action"]["version"] == 2
    bound = api.bindings()
    assert len(bound) == 1
    assert "https://sandbox.example.com/roles" in api.get(f"/actions/actions/{bound[0]['action']['id']}")["code"]


def test_roles_and_action_created_meanwhile_by_another_cluster_are_used(
    box: Sandbox, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two clusters of one inventory converge in parallel on one tenant: the roles and the Action
    one of them reads as missing can be created by the other before its POST (409): it uses them."""
    run_module(box, owner="doks.gitops:cluster-a", **declared(roles=[{"name": "gitops-viewers", "description": "V"}]))
    stale_reads = {"action": 0}
    real_read_action = auth0_apps.Reconciler.read_action

    def read_action_stale_once(self: auth0_apps.Reconciler) -> dict | None:
        stale_reads["action"] += 1
        return None if stale_reads["action"] == 1 else real_read_action(self)

    monkeypatch.setattr(auth0_apps.Reconciler, "read_roles", lambda self: {})
    monkeypatch.setattr(auth0_apps.Reconciler, "read_action", read_action_stale_once)
    seq = box.last_seq()
    result = run_module(
        box, owner="doks.gitops:cluster-b", **declared(roles=[{"name": "gitops-viewers", "description": "V"}])
    )
    assert "failed" not in result, result
    conflicts = [e for e in box.requests(seq) if e["status"] == 409]
    assert sorted(e["path"] for e in conflicts) == ["/api/v2/actions/actions", "/api/v2/roles"]
    assert list(api.roles()) == ["gitops-viewers"]
    assert result["roles"]["gitops-viewers"]["id"] == api.roles()["gitops-viewers"]["id"]
    bound = api.bindings()
    assert [b["action"]["name"] for b in bound] == ["gitops-groups-claim"]
    assert result["action"]["id"] == bound[0]["action"]["id"]
    assert len(api.clients("argocd")) == 2  # one per cluster (owner)


# ---------------------------------------------------------------------------------------------
# Issue 16: ID tokens signed with RS256, OIDC-conformant clients.


def test_created_clients_sign_with_rs256_and_are_oidc_conformant(box: Sandbox, api: Api) -> None:
    """Management API client type, jwt_configuration.alg: "Algorithm used to sign JWTs. Can be
    `HS256` (default) or `RS256`." A client created without it signs ID tokens with HS256 (the
    client secret); Argo CD, oauth2-proxy and Grafana verify ID tokens against the tenant's JWKS,
    which only an asymmetric algorithm such as RS256 passes. oidc_conformant is false unless sent.
    """
    foreign = api.post("/clients", {"name": "not-ours"})
    assert "alg" not in foreign["jwt_configuration"]  # the tenant's default: HS256
    assert foreign["oidc_conformant"] is False
    run_module(box, **declared(roles=[], groups_action=None))
    for name in ("argocd", "grafana"):
        client = api.clients(name)[0]
        assert client["jwt_configuration"]["alg"] == "RS256", name
        assert client["oidc_conformant"] is True, name


def test_drifted_signing_alg_is_corrected_with_diff_then_no_op(box: Sandbox, api: Api) -> None:
    """A client whose ``jwt_configuration.alg`` drifted to HS256 (someone flipped it in the
    dashboard) is patched back to RS256 with --diff showing it, other JWT settings kept; check
    mode reports it without writing; the next run changes nothing.

    Management API client type, jwt_configuration.alg: "Algorithm used to sign JWTs. Can be
    `HS256` (default) or `RS256`." (HS256 tokens cannot be verified against the tenant's JWKS.)
    """
    run_module(box, **declared(roles=[], groups_action=None))
    grafana = api.clients("grafana")[0]
    api.patch(f"/clients/{grafana['client_id']}", {"jwt_configuration": {"alg": "HS256", "lifetime_in_seconds": 600}})
    api.patch(f"/clients/{grafana['client_id']}", {"oidc_conformant": False})
    seq = box.last_seq()
    check = run_module(box, check=True, diff=True, **declared(roles=[], groups_action=None))
    assert check["changed"] is True
    assert writes(box.requests(seq)) == []
    assert api.clients("grafana")[0]["jwt_configuration"]["alg"] == "HS256"
    seq = box.last_seq()
    result = run_module(box, diff=True, **declared(roles=[], groups_action=None))
    assert result["changed"] is True
    assert writes(box.requests(seq)) == [("PATCH", f"/api/v2/clients/{grafana['client_id']}")]
    assert result["applications"] == {
        "argocd": {"client_id": api.clients("argocd")[0]["client_id"], "action": "unchanged"},
        "grafana": {"client_id": grafana["client_id"], "action": "updated"},
    }
    before = result["diff"]["before"]["applications"]["grafana"]
    after = result["diff"]["after"]["applications"]["grafana"]
    assert (before["jwt_configuration"]["alg"], after["jwt_configuration"]["alg"]) == ("HS256", "RS256")
    assert (before["oidc_conformant"], after["oidc_conformant"]) == (False, True)
    now = api.clients("grafana")[0]
    assert now["jwt_configuration"]["alg"] == "RS256"
    assert now["jwt_configuration"]["lifetime_in_seconds"] == 600  # not the module's business
    assert now["oidc_conformant"] is True
    seq = box.last_seq()
    again = run_module(box, **declared(roles=[], groups_action=None))
    assert again["changed"] is False
    assert writes(box.requests(seq)) == []


def test_signing_alg_and_oidc_conformant_can_be_overridden(box: Sandbox, api: Api) -> None:
    args = declared(roles=[], groups_action=None)
    args["applications"][1].update(signing_alg="PS256", oidc_conformant=False)
    run_module(box, **args)
    grafana = api.clients("grafana")[0]
    assert (grafana["jwt_configuration"]["alg"], grafana["oidc_conformant"]) == ("PS256", False)
    assert run_module(box, **args)["changed"] is False


def test_alg_in_extra_is_refused_before_any_call(box: Sandbox) -> None:
    args = declared(roles=[], groups_action=None)
    args["applications"][0]["extra"] = {"jwt_configuration": {"alg": "HS256"}}
    seq = box.last_seq()
    result = run_module(box, **args)
    assert result["failed"] is True
    assert "signing_alg" in result["msg"]
    assert box.requests(seq) == []


OPEN = "Username-Password-Authentication"


def connection_clients(api: Api) -> dict[str, set[str]]:
    """Connection name -> the client ids enabled on it (GET /connections/{id}/clients)."""
    conns = api.get("/connections?take=100")["connections"]
    return {c["name"]: {e["client_id"] for e in api.get(f"/connections/{c['id']}/clients")["clients"]} for c in conns}


def test_applications_enabled_only_on_the_named_connections(box: Sandbox, api: Api) -> None:
    """A tenant enables every new application on all its connections (tenant flag
    enable_client_connections, "true, default"; auth0-python 6.8.0 tenant_settings_flags.py), so
    the default database connection, open to sign-ups, would let anyone in. With ``connections``
    the module enables ours on the named connections only, through PATCH
    /api/v2/connections/{id}/clients (https://auth0.com/docs/api/management/v2/connections/patch-clients),
    and never touches a client it does not own. The emulator issues no user tokens
    (client_credentials only), so the guard is the connection's enabled clients."""
    api.post("/connections", {"name": "corp-db", "strategy": "auth0"})
    foreign = api.post("/clients", {"name": "someone-else"})["client_id"]
    result = run_module(box, diff=True, **declared(roles=None, groups_action=None, connections=["corp-db"]))
    ours = {api.clients(n)[0]["client_id"] for n in ("argocd", "grafana")}
    enabled = connection_clients(api)
    assert enabled["corp-db"] >= ours
    assert enabled[OPEN] & ours == set()
    assert foreign in enabled[OPEN] and foreign in enabled["corp-db"]  # not ours: left alone
    assert result["connections"]["corp-db"]["applications"] == ["argocd", "grafana"]
    # created while the tenant enables new clients everywhere: only the open connection changes
    assert result["diff"]["before"]["connections"] == {OPEN: ["argocd", "grafana"]}
    assert result["diff"]["after"]["connections"] == {OPEN: []}


def test_connections_no_op_and_move(box: Sandbox, api: Api) -> None:
    api.post("/connections", {"name": "corp-db", "strategy": "auth0"})
    args = declared(roles=None, groups_action=None, connections=["corp-db"])
    run_module(box, **args)
    seq = box.last_seq()
    again = run_module(box, **args)
    log = box.requests(seq)
    assert again["changed"] is False, again
    assert writes(log) == []
    conn_ids = {c["name"]: c["id"] for c in api.get("/connections?take=100")["connections"]}
    assert sorted(e["path"] for e in log if e["method"] == "GET") == sorted(
        ["/api/v2/clients", "/api/v2/connections", *(f"/api/v2/connections/{i}/clients" for i in conn_ids.values())]
    )
    # check mode: reported, nothing written
    moved = declared(roles=None, groups_action=None, connections=[OPEN])
    seq = box.last_seq()
    preview = run_module(box, check=True, diff=True, **moved)
    assert preview["changed"] is True
    assert writes(box.requests(seq)) == []
    assert preview["diff"]["after"]["connections"] == {OPEN: ["argocd", "grafana"], "corp-db": []}
    ours = {api.clients(n)[0]["client_id"] for n in ("argocd", "grafana")}
    assert connection_clients(api)["corp-db"] >= ours
    # the move itself: one PATCH per connection
    seq = box.last_seq()
    run_module(box, **moved)
    assert sorted(writes(box.requests(seq))) == sorted(
        [("PATCH", f"/api/v2/connections/{conn_ids[n]}/clients") for n in ("corp-db", OPEN)]
    )
    enabled = connection_clients(api)
    assert enabled[OPEN] >= ours
    assert enabled["corp-db"] & ours == set()


def test_unknown_connection_fails_before_any_write(box: Sandbox) -> None:
    seq = box.last_seq()
    result = run_module(box, **declared(roles=None, groups_action=None, connections=["corp-sso"]))
    assert result["failed"] is True
    assert "'corp-sso' is not a connection of the tenant" in result["msg"]
    assert OPEN in result["msg"]
    assert writes(box.requests(seq)) == []


@pytest.mark.parametrize(
    ("connections", "message"),
    [([], "must name at least one Auth0 connection"), (["a", "a"], "'a' is named more than once")],
)
def test_bad_connections_are_refused_before_any_call(box: Sandbox, connections: list[str], message: str) -> None:
    seq = box.last_seq()
    result = run_module(box, **declared(connections=connections))
    assert result["failed"] is True
    assert message in result["msg"]
    assert box.requests(seq) == []
