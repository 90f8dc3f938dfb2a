"""The planning of doks.gitops.auth0_apps (plugins/module_utils/auth0.py), without HTTP.

Each test gives plain data - the module's parameters as AnsibleModule hands them over and objects
as the Auth0 Management API v2 returns them (clients, roles, users, Actions, trigger bindings:
https://auth0.com/docs/api/management/v2) - and asserts on the plan: what is sent, what --diff
shows, the result entries, the warnings and the errors. Where the client is involved (paging) its
``call`` method is patched, as community.general's Keycloak tests patch their API methods.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import auth0
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError

OWNER = "doks.gitops"


def app(name: str, **extra: Any) -> dict[str, Any]:
    """An applications[] entry with the argument spec's defaults filled in."""
    base: dict[str, Any] = {
        "name": name,
        "app_type": "regular_web",
        "description": None,
        "callbacks": None,
        "allowed_logout_urls": None,
        "web_origins": None,
        "allowed_origins": None,
        "grant_types": None,
        "token_endpoint_auth_method": None,
        "initiate_login_uri": None,
        "oidc_conformant": True,
        "signing_alg": "RS256",
        "client_metadata": None,
        "extra": None,
    }
    base.update(extra)
    return base


def role(name: str, members: list[str] | None = None, purge: bool = False, description: str = "") -> dict[str, Any]:
    return {"name": name, "description": description, "members": members, "members_purge": purge}


def params(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "applications": [],
        "roles": None,
        "role_prefix": "gitops-",
        "groups_action": None,
        "connections": None,
        "owner": OWNER,
        "purge": False,
        "return_secrets": False,
        "missing_members": "warn",
    }
    base.update(extra)
    return base


def client(name: str, client_id: str, **extra: Any) -> dict[str, Any]:
    """A client as GET /api/v2/clients returns it, owned by OWNER."""
    base: dict[str, Any] = {
        "client_id": client_id,
        "client_secret": f"secret-of-{client_id}",
        "name": name,
        "app_type": "regular_web",
        "oidc_conformant": True,
        "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000, "secret_encoded": False},
        "client_metadata": {"managed_by": OWNER},
    }
    base.update(extra)
    return base


def action_spec(**extra: Any) -> dict[str, Any]:
    base = {
        "state": "present",
        "name": "gitops-groups-claim",
        "claim": "https://example.com/groups",
        "runtime": "node22",
        "wait_timeout": 60,
    }
    base.update(extra)
    return base


# ---------------------------------------------------------------------- input checks
def test_input_checks_name_every_problem_before_any_call() -> None:
    errors = auth0.validate_input(
        params(
            applications=[
                app("argocd"),
                app("argocd"),
                app("grafana", extra={"callbacks": ["https://x"], "jwt_configuration": {"alg": "HS256"}}),
                app("kiali", client_metadata={"managed_by": "me", "team": 3}),
            ],
            roles=[role("gitops-admins"), role("admins"), role("gitops-admins"), role("gitops-x", purge=True)],
            connections=["corp", "corp", " "],
            groups_action=action_spec(claim="groups"),
        )
    )
    assert errors == [
        "applications: the name 'argocd' is declared more than once",
        "applications[grafana].extra: set callbacks, jwt_configuration.alg (signing_alg) with their own options, "
        "not in extra",
        "applications[kiali].client_metadata: the key 'managed_by' is reserved for the ownership marker",
        "applications[kiali].client_metadata.team: values must be strings",
        "connections: a name is empty",
        "connections: 'corp' is named more than once",
        "roles: the name 'gitops-admins' is declared more than once",
        "roles: 'admins' must start with role_prefix 'gitops-' (and say more than it)",
        "roles[gitops-x].members_purge needs members: list the members to keep (an empty list removes every "
        "member), or drop members_purge",
        "groups_action.claim 'groups' must be a namespaced URL such as https://example.com/groups; plain names "
        "like 'groups' or 'roles' are reserved",
    ]


def test_valid_input_has_no_problem() -> None:
    assert auth0.validate_input(params(applications=[app("argocd")], roles=[role("gitops-admins", ["a@x.io"])])) == []


def test_an_empty_connections_list_is_refused() -> None:
    assert "connections must name at least one Auth0 connection" in auth0.validate_input(params(connections=[]))[0]


@pytest.mark.parametrize(
    ("claim", "fragment"),
    [
        (None, "is required"),
        ("roles", "must be a namespaced URL"),
        ("https://tenant.auth0.com/groups", "uses a domain Auth0 reserves (tenant.auth0.com)"),
        ("https://webtask.io/groups", "uses a domain Auth0 reserves (webtask.io)"),
    ],
)
def test_unusable_claims_are_refused(claim: str | None, fragment: str) -> None:
    reason = auth0.validate_claim(claim)
    assert reason is not None and fragment in reason


def test_an_absent_action_needs_no_claim() -> None:
    assert auth0.validate_input(params(groups_action=action_spec(state="absent", claim=None))) == []


# ---------------------------------------------------------------------- desired client and compare
def test_the_desired_client_carries_the_marker_and_the_signing_alg_beside_extra() -> None:
    body = auth0.desired_client(
        app("argocd", callbacks=["https://a/cb"], extra={"jwt_configuration": {"lifetime_in_seconds": 600}}),
        OWNER,
    )
    assert body == {
        "name": "argocd",
        "app_type": "regular_web",
        "oidc_conformant": True,
        "callbacks": ["https://a/cb"],
        "jwt_configuration": {"lifetime_in_seconds": 600, "alg": "RS256"},
        "client_metadata": {"managed_by": OWNER},
    }


def test_url_arrays_compare_as_sets_and_an_equal_client_needs_no_patch() -> None:
    desired = auth0.desired_client(app("argocd", callbacks=["https://b", "https://a", "https://a"]), OWNER)
    current = client("argocd", "c1", callbacks=["https://a", "https://b"])
    assert auth0.client_changes(desired, current) == {}


def test_a_drifted_alg_sends_the_whole_jwt_configuration_with_current_values_kept() -> None:
    desired = auth0.desired_client(app("argocd"), OWNER)
    current = client("argocd", "c1", jwt_configuration={"alg": "HS256", "lifetime_in_seconds": 36000})
    assert auth0.client_changes(desired, current) == {
        "jwt_configuration": {"alg": "RS256", "lifetime_in_seconds": 36000}
    }


def test_undeclared_metadata_keys_are_removed_with_null() -> None:
    desired = auth0.desired_client(app("argocd", client_metadata={"team": "platform"}), OWNER)
    current = client("argocd", "c1", client_metadata={"managed_by": OWNER, "old": "x"})
    assert auth0.client_changes(desired, current) == {"client_metadata": {"team": "platform", "old": None}}


# ---------------------------------------------------------------------- what was read
def test_only_clients_marked_with_the_owner_are_owned() -> None:
    mine, theirs, bare = client("a", "c1"), client("a", "c2", client_metadata={"managed_by": "else"}), client("b", "c3")
    bare.pop("client_metadata")
    assert auth0.owned_clients([mine, theirs, bare], OWNER) == [mine]


def test_two_owned_clients_with_one_name_fail_naming_both_ids() -> None:
    with pytest.raises(ApiError) as raised:
        auth0.clients_by_name([client("argocd", "c1"), client("argocd", "c2"), client("grafana", "c3")], OWNER)
    assert "'argocd': c1, c2" in raised.value.message
    assert "grafana" not in raised.value.message


def test_a_named_connection_the_tenant_lacks_fails_listing_what_it_has() -> None:
    found = [{"id": "con_1", "name": "Username-Password-Authentication"}, {"id": "con_2", "name": "google-oauth2"}]
    assert auth0.connections_by_name(found, ["google-oauth2"]) == {
        "Username-Password-Authentication": "con_1",
        "google-oauth2": "con_2",
    }
    with pytest.raises(ApiError, match=r"'corp' is not a connection of the tenant \(it has: Username-Pass"):
        auth0.connections_by_name(found, ["corp"])


def test_roles_are_read_only_when_declared_or_purged() -> None:
    assert not auth0.reads_roles(params(roles=None, purge=True))
    assert not auth0.reads_roles(params(roles=[], purge=False))
    assert auth0.reads_roles(params(roles=[], purge=True))
    assert auth0.reads_roles(params(roles=[role("gitops-a")]))
    found = [{"id": "r1", "name": "gitops-a"}, {"id": "r2", "name": "admins-gitops-"}]
    assert auth0.owned_roles(found, "gitops-") == {"gitops-a": found[0]}


# ---------------------------------------------------------------------- clients
def test_client_steps_create_update_keep_and_purge_without_secrets_in_the_diff() -> None:
    owned = {
        "argocd": client("argocd", "c1", callbacks=["https://old"]),
        "grafana": client("grafana", "c2"),
        "stale": client("stale", "c3"),
    }
    p = params(
        applications=[app("argocd", callbacks=["https://new"]), app("grafana"), app("kiali")],
        purge=True,
        return_secrets=True,
    )
    steps = auth0.plan_clients(p, owned)
    assert [(s["op"], s["name"]) for s in steps] == [
        ("update", "argocd"),
        ("unchanged", "grafana"),
        ("create", "kiali"),
        ("delete", "stale"),
    ]
    update, unchanged, create, delete = steps
    assert update["body"] == {"callbacks": ["https://new"]}
    assert update["diff"] == (
        {"client_id": "c1", "callbacks": ["https://old"]},
        {"client_id": "c1", "callbacks": ["https://new"]},
    )
    assert update["entry"] == {"client_id": "c1", "action": "updated", "client_secret": "secret-of-c1"}
    assert unchanged["diff"] is None and unchanged["entry"]["action"] == "unchanged"
    assert create["diff"][0] == {} and create["diff"][1]["name"] == "kiali"
    assert "client_secret" not in create["diff"][1] and create["body"]["client_metadata"] == {"managed_by": OWNER}
    assert delete["client_id"] == "c3" and delete["diff"] == ({"client_id": "c3", "name": "stale"}, {})


def test_without_purge_undeclared_owned_clients_are_left_alone() -> None:
    steps = auth0.plan_clients(params(applications=[]), {"stale": client("stale", "c3")})
    assert steps == []


def test_a_metadata_change_shows_the_declared_metadata_after() -> None:
    owned = {"argocd": client("argocd", "c1", client_metadata={"managed_by": OWNER, "old": "x"})}
    (step,) = auth0.plan_clients(params(applications=[app("argocd")]), owned)
    assert step["body"] == {"client_metadata": {"old": None}}
    assert step["diff"][1]["client_metadata"] == {"managed_by": OWNER}


def test_a_created_client_entry_has_the_secret_only_when_asked_and_created() -> None:
    created = {"client_id": "c9", "client_secret": "s9"}
    assert auth0.created_client(created, True) == {"client_id": "c9", "action": "created", "client_secret": "s9"}
    assert auth0.created_client(created, False) == {"client_id": "c9", "action": "created"}
    assert auth0.created_client(None, True) == {"client_id": None, "action": "created"}


# ---------------------------------------------------------------------- connections
def test_a_named_connection_enables_ours_and_leaves_other_clients_out() -> None:
    ours, pending = auth0.connection_targets(
        {"argocd": {"client_id": "c1"}, "grafana": {"client_id": "c2"}, "kiali": {"client_id": None}}
    )
    assert (ours, pending) == ({"c1": "argocd", "c2": "grafana"}, ["kiali"])
    step = auth0.plan_connection("con_1", True, ours, pending, ["c1", "someone-elses"])
    assert step == {
        "action": "enable grafana, kiali",
        "entry": {"id": "con_1", "applications": ["argocd", "grafana", "kiali"], "action": "updated"},
        "diff": (["argocd"], ["argocd", "grafana", "kiali"]),
        "patches": [[{"client_id": "c2", "status": True}]],
    }


def test_an_unnamed_connection_disables_ours_and_one_without_ours_is_skipped() -> None:
    ours = {"c1": "argocd"}
    step = auth0.plan_connection("con_db", False, ours, [], ["c1", "other"])
    assert step is not None
    assert step["patches"] == [[{"client_id": "c1", "status": False}]]
    assert step["diff"] == (["argocd"], [])
    assert step["action"] == "disable argocd"
    assert auth0.plan_connection("con_db", False, ours, [], ["other"]) is None


def test_a_converged_connection_sends_nothing() -> None:
    step = auth0.plan_connection("con_1", True, {"c1": "argocd"}, [], ["c1"])
    assert step == {
        "action": "",
        "entry": {"id": "con_1", "applications": ["argocd"], "action": "unchanged"},
        "diff": None,
        "patches": [],
    }


def test_connection_changes_go_in_patches_of_at_most_50_clients() -> None:
    """PATCH /connections/{id}/clients: "the limit per PATCH request is 50 clients"."""
    ours = {f"c{i:03}": f"app{i:03}" for i in range(120)}
    step = auth0.plan_connection("con_1", True, ours, [], [])
    assert step is not None
    assert [len(p) for p in step["patches"]] == [50, 50, 20]
    assert step["patches"][2][-1] == {"client_id": "c119", "status": True}


# ---------------------------------------------------------------------- roles and members
def test_role_steps_create_update_keep_and_purge() -> None:
    owned = {
        "gitops-admins": {"id": "r1", "name": "gitops-admins", "description": "old"},
        "gitops-viewers": {"id": "r2", "name": "gitops-viewers"},
        "gitops-stale": {"id": "r3", "name": "gitops-stale", "description": ""},
    }
    p = params(
        roles=[role("gitops-admins", description="Admins"), role("gitops-viewers"), role("gitops-devs")], purge=True
    )
    steps = auth0.plan_roles(p, owned)
    assert [(s["op"], s["name"], s["id"]) for s in steps] == [
        ("update", "gitops-admins", "r1"),
        ("unchanged", "gitops-viewers", "r2"),
        ("create", "gitops-devs", None),
        ("delete", "gitops-stale", "r3"),
    ]
    assert steps[0]["body"] == {"description": "Admins"}
    assert steps[0]["diff"] == ({"description": "old"}, {"description": "Admins"})
    assert steps[1]["diff"] is None  # a missing description is the empty one
    assert steps[2]["body"] == {"name": "gitops-devs", "description": ""}
    assert steps[3]["diff"] == ({"name": "gitops-stale", "id": "r3"}, {})


def test_undeclared_roles_are_never_purged_when_roles_is_omitted() -> None:
    owned = {"gitops-stale": {"id": "r3", "name": "gitops-stale"}}
    assert auth0.plan_roles(params(roles=None, purge=True), owned) == []
    assert [s["op"] for s in auth0.plan_roles(params(roles=[], purge=True), owned)] == ["delete"]


class Directory:
    """GET /api/v2/users-by-email faked: the users per e-mail, and which e-mails were asked."""

    def __init__(self, users: dict[str, list[dict[str, Any]]]) -> None:
        self.users = users
        self.asked: list[str] = []

    def __call__(self, email: str) -> list[dict[str, Any]]:
        self.asked.append(email)
        return self.users.get(email, [])


MEMBERS = [{"user_id": "auth0|alice", "email": "Alice@Example.com"}, {"user_id": "auth0|hand", "email": "hand@x.io"}]


def test_members_are_added_by_email_and_hand_added_ones_stay() -> None:
    users = Directory({"bob@x.io": [{"user_id": "auth0|bob", "email": "bob@x.io"}]})
    plan = auth0.plan_members(role("gitops-a", [" alice@example.com", "BOB@x.io"]), MEMBERS, users, "warn")
    assert users.asked == ["bob@x.io"]  # only e-mails that are not members yet are looked up
    assert plan["add"] == ["auth0|bob"] and plan["remove"] == []
    assert plan["members"] == ["alice@example.com", "bob@x.io", "hand@x.io"]
    assert plan["added"] == ["bob@x.io"] and plan["removed"] == []
    assert plan["diff"] == (["alice@example.com", "hand@x.io"], ["alice@example.com", "bob@x.io", "hand@x.io"])


def test_members_purge_removes_the_unlisted_members() -> None:
    plan = auth0.plan_members(role("gitops-a", ["alice@example.com"], purge=True), MEMBERS, Directory({}), "warn")
    assert plan["add"] == [] and plan["remove"] == ["auth0|hand"]
    assert plan["removed"] == ["hand@x.io"] and plan["members"] == ["alice@example.com"]


def test_a_converged_membership_plans_nothing() -> None:
    users = Directory({})
    plan = auth0.plan_members(role("gitops-a", ["alice@example.com"]), MEMBERS, users, "warn")
    assert (plan["add"], plan["remove"], plan["diff"], users.asked) == ([], [], None, [])


def test_an_unknown_email_warns_or_fails_before_the_next_lookup() -> None:
    spec = role("gitops-a", ["ghost@x.io", "zed@x.io"])
    users = Directory({"zed@x.io": [{"user_id": "auth0|zed"}]})
    plan = auth0.plan_members(spec, [], users, "warn")
    assert plan["warnings"] == ["roles[gitops-a].members: no Auth0 user has the e-mail ghost@x.io yet; not added"]
    assert plan["add"] == ["auth0|zed"] and plan["added"] == ["zed@x.io"]
    users = Directory({"zed@x.io": [{"user_id": "auth0|zed"}]})
    with pytest.raises(ApiError, match=r"no Auth0 user has the e-mail ghost@x\.io"):
        auth0.plan_members(spec, [], users, "fail")
    assert users.asked == ["ghost@x.io"]


# ---------------------------------------------------------------------- the groups-claim Action
def deployed_action(spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The Action as GET /api/v2/actions/actions returns it after a deploy of ``spec``."""
    body = auth0.desired_action(spec)
    base = {
        "id": "act-1",
        "name": body["name"],
        "code": body["code"],
        "runtime": body["runtime"],
        "supported_triggers": [{"id": "post-login", "version": "v3"}],
        "all_changes_deployed": True,
        "deployed_version": {"number": 2},
    }
    base.update(extra)
    return base


def test_the_action_code_writes_the_escaped_claim_to_both_tokens() -> None:
    code = auth0.desired_action(action_spec(claim='https://x.io/"g\\'))["code"]
    assert 'const claim = "https://x.io/\\"g\\\\";' in code
    assert "api.idToken.setCustomClaim(claim, roles)" in code and "api.accessToken.setCustomClaim(claim, roles)" in code


def test_a_missing_action_is_created_and_deployed() -> None:
    plan = auth0.plan_action(action_spec(), None)
    assert plan["op"] == "create" and plan["deploy"]
    assert plan["body"]["supported_triggers"] == [{"id": "post-login", "version": "v3"}]
    assert plan["diff"] == (
        {},
        {"name": "gitops-groups-claim", "claim": "https://example.com/groups", "runtime": "node22"},
    )


def test_a_deployed_action_is_left_alone() -> None:
    spec = action_spec()
    assert auth0.plan_action(spec, deployed_action(spec)) == {"op": "unchanged", "diff": None, "deploy": False}


def test_undeployed_changes_are_deployed_without_a_patch() -> None:
    spec = action_spec()
    assert auth0.plan_action(spec, deployed_action(spec, all_changes_deployed=False))["deploy"]
    assert auth0.plan_action(spec, deployed_action(spec, deployed_version=None))["deploy"]


def test_a_drifted_claim_runtime_or_trigger_is_patched_and_deployed() -> None:
    spec = action_spec()
    current = deployed_action(
        action_spec(claim="https://old.io/groups"),
        runtime="node18",
        supported_triggers=[{"id": "credentials-exchange", "version": "v2"}],
    )
    plan = auth0.plan_action(spec, current)
    assert plan["op"] == "update" and plan["deploy"]
    assert sorted(plan["body"]) == ["code", "runtime", "supported_triggers"]
    assert plan["diff"][0]["runtime"] == "node18" and plan["diff"][1]["runtime"] == "node22"


BINDINGS = [
    {"id": "b1", "trigger_id": "post-login", "display_name": "mfa", "action": {"id": "act-mfa", "name": "mfa"}},
]


def test_the_action_is_bound_after_the_other_bindings() -> None:
    plan = auth0.plan_binding(BINDINGS, "act-1", "gitops-groups-claim")
    assert plan == {
        "body": {
            "bindings": [
                {"ref": {"type": "action_id", "value": "act-mfa"}, "display_name": "mfa"},
                {"ref": {"type": "action_id", "value": "act-1"}, "display_name": "gitops-groups-claim"},
            ]
        },
        "diff": (["mfa"], ["mfa", "gitops-groups-claim"]),
    }
    bound = [*BINDINGS, {"id": "b2", "display_name": "gitops-groups-claim", "action": {"id": "act-1"}}]
    assert auth0.plan_binding(bound, "act-1", "gitops-groups-claim") is None


def test_removing_the_action_unbinds_only_it() -> None:
    action = {"id": "act-1", "name": "gitops-groups-claim"}
    bound = [*BINDINGS, {"id": "b2", "display_name": "gitops-groups-claim", "action": {"id": "act-1"}}]
    plan = auth0.plan_unbind(bound, action)
    assert plan["bindings"] == {"bindings": [{"ref": {"type": "action_id", "value": "act-mfa"}, "display_name": "mfa"}]}
    assert plan["diff"] == ({"name": "gitops-groups-claim", "bindings": ["mfa", "gitops-groups-claim"]}, {})
    assert auth0.plan_unbind(BINDINGS, action)["bindings"] is None


# ---------------------------------------------------------------------- run-level
def test_return_secrets_needs_the_read_client_keys_scope() -> None:
    assert auth0.scope_problem(params(return_secrets=True), {"read:clients", "read:client_keys"}) is None
    assert auth0.scope_problem(params(return_secrets=False), set()) is None
    problem = auth0.scope_problem(params(return_secrets=True), {"read:clients"})
    assert problem is not None and "read:client_keys" in problem


def test_api_calls_count_gets_and_writes_with_the_token_request_as_a_get() -> None:
    """The DigitalOcean modules' ``api_calls`` contract: ``write`` is 0 when nothing that could change
    the tenant was sent; the token request (client credentials grant) changes nothing."""
    client = api()
    base = "https://tenant.example.auth0.com"
    client.http.calls.extend(
        [
            ("POST", base + "/oauth/token", 200),
            ("GET", base + "/api/v2/clients?page=0", 200),
            ("GET", base + "/api/v2/clients?page=0", 429),
            ("POST", base + "/api/v2/roles", None),
            ("PATCH", base + "/api/v2/clients/c1", 200),
            ("DELETE", base + "/api/v2/roles/r1", 204),
        ]
    )
    assert client.counts() == {"get": 3, "write": 3}


# ---------------------------------------------------------------------- paging (client.call patched)
def api() -> auth0.Auth0Client:
    return auth0.Auth0Client("tenant.example.auth0.com", "id", "secret")


def test_offset_paging_stops_at_total() -> None:
    pages = [
        {"clients": [{"name": f"c{i}"} for i in range(100)], "total": 150},
        {"clients": [{"name": f"c{i}"} for i in range(100, 150)], "total": 150},
    ]
    with patch.object(auth0.Auth0Client, "call", side_effect=pages) as call:
        names = [c["name"] for c in api().offset_pages("/clients", "clients", {"is_global": "false"})]
    assert names == [f"c{i}" for i in range(150)]
    assert [c.kwargs["query"]["page"] for c in call.call_args_list] == [0, 1]
    assert call.call_args_list[0].kwargs["query"] == {
        "is_global": "false",
        "page": 0,
        "per_page": 100,
        "include_totals": "true",
    }


def test_checkpoint_paging_follows_next() -> None:
    pages = [{"users": [{"user_id": "u1"}], "next": "cur1"}, {"users": [{"user_id": "u2"}]}]
    with patch.object(auth0.Auth0Client, "call", side_effect=pages) as call:
        ids = [u["user_id"] for u in api().checkpoint_pages("/roles/r1/users", "users")]
    assert ids == ["u1", "u2"]
    assert [c.kwargs["query"] for c in call.call_args_list] == [{"take": 100}, {"take": 100, "from": "cur1"}]


def test_action_paging_reads_until_total() -> None:
    pages = [
        {"actions": [{"name": f"a{i}"} for i in range(50)], "total": 51},
        {"actions": [{"name": "a50"}], "total": 51},
    ]
    with patch.object(auth0.Auth0Client, "call", side_effect=pages) as call:
        found = list(api().action_pages("/actions/actions", "actions"))
    assert len(found) == 51 and call.call_count == 2
    assert auth0.first_named(found, "a50") == {"name": "a50"} and auth0.first_named(found, "zz") is None
