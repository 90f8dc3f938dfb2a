"""Contract tests of the Auth0 emulator, judged by the official auth0-python 6.x SDK.

The SDK builds ``https://<domain>/...`` URLs; the emulator's domain is ``127.0.0.1:<port>``.
TLS is trusted through the sandbox CA bundle: ``REQUESTS_CA_BUNDLE`` for the authentication
client (requests) and ``SSL_CERT_FILE`` for the management client (httpx).
"""

from __future__ import annotations

import inspect
import os
import ssl
import time
import typing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management import ManagementClient
from auth0.management.clients.raw_client import RawClientsClient
from auth0.management.core.api_error import ApiError
from auth0.management.types.action_trigger_type_enum import ActionTriggerTypeEnum

from sandbox import client
from sandbox.auth0 import sdk_schema

pytestmark = pytest.mark.sandbox


class Sandbox(client.Sandbox):
    """A sandbox whose admin calls (request log, faults, reset) go to the Auth0 emulator."""

    @property
    def auth0(self) -> dict[str, Any]:
        return self.endpoints["auth0"]


def start(state: Path) -> Sandbox:
    return Sandbox.start(state, emulator="auth0")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = start(Path(tmp_path_factory.mktemp("auth0-sandbox")))
    saved = {k: os.environ.get(k) for k in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")}
    os.environ["REQUESTS_CA_BUNDLE"] = box.ca_bundle
    os.environ["SSL_CERT_FILE"] = box.ca_bundle
    yield box
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    box.stop()


@pytest.fixture
def tenant(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox


def token(box: Sandbox, limited: bool = False) -> str:
    prefix = "limited_" if limited else ""
    auth = GetToken(
        box.auth0["domain"], box.auth0[f"{prefix}client_id"], client_secret=box.auth0[f"{prefix}client_secret"]
    )
    return auth.client_credentials(box.auth0["audience"])["access_token"]


def mgmt(box: Sandbox, limited: bool = False, **kw) -> ManagementClient:
    return ManagementClient(domain=box.auth0["domain"], token=token(box, limited), **kw)


def test_client_credentials_token_carries_scopes(tenant: Sandbox) -> None:
    auth = GetToken(tenant.auth0["domain"], tenant.auth0["client_id"], client_secret=tenant.auth0["client_secret"])
    result = auth.client_credentials(tenant.auth0["audience"])
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] > 0
    assert "read:client_keys" in result["scope"].split()
    limited = GetToken(
        tenant.auth0["domain"], tenant.auth0["limited_client_id"], client_secret=tenant.auth0["limited_client_secret"]
    )
    assert "read:client_keys" not in limited.client_credentials(tenant.auth0["audience"])["scope"].split()


def test_token_rejects_a_wrong_secret(tenant: Sandbox) -> None:
    auth = GetToken(tenant.auth0["domain"], tenant.auth0["client_id"], client_secret="wrong")
    with pytest.raises(Auth0Error) as exc:
        auth.client_credentials(tenant.auth0["audience"])
    assert exc.value.status_code == 401
    assert exc.value.error_code == "access_denied"


def test_management_client_fetches_its_own_token(tenant: Sandbox) -> None:
    client = ManagementClient(
        domain=tenant.auth0["domain"], client_id=tenant.auth0["client_id"], client_secret=tenant.auth0["client_secret"]
    )
    names = [c.name for c in client.clients.list()]
    assert "Sandbox Management (all scopes)" in names


def test_clients_paged_with_totals(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    for i in range(5):
        client.clients.create(name=f"app-{i}", app_type="regular_web")
    client.clients.create(name="app-0", app_type="spa")  # duplicate names are allowed, as in Auth0
    first = client.clients.list(page=0, per_page=3, include_totals=True)
    assert first.response.total == 9  # 6 created + 2 seeded management clients + the global client
    assert first.response.limit == 3
    assert len(first.items) == 3
    every = list(client.clients.list(per_page=3, include_totals=True))
    assert len(every) == 9
    assert sum(1 for c in every if c.name == "app-0") == 2
    seq = tenant.last_seq()
    with pytest.raises(ApiError) as exc:
        client.clients.list(per_page=101)
    assert exc.value.status_code == 400
    assert exc.value.body["errorCode"] == "invalid_query_string"
    assert tenant.requests(seq)[-1]["status"] == 400


def test_client_fields_and_secret_needs_read_client_keys(tenant: Sandbox) -> None:
    full = mgmt(tenant)
    created = full.clients.create(name="web", app_type="regular_web", callbacks=["https://a.example/cb"])
    assert created.client_secret
    got = full.clients.get(created.client_id)
    assert got.client_secret == created.client_secret
    only = full.clients.get(created.client_id, fields="name,callbacks", include_fields=True)
    assert only.name == "web"
    assert only.callbacks == ["https://a.example/cb"]
    assert only.client_id is None
    limited = mgmt(tenant, limited=True)
    assert limited.clients.get(created.client_id).client_secret is None
    assert all(c.client_secret is None for c in limited.clients.list())


def test_patch_replaces_arrays_and_removes_metadata_keys_sent_as_null(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    created = client.clients.create(
        name="web",
        callbacks=["https://a/cb", "https://b/cb"],
        client_metadata={"owner": "doks", "team": "platform"},
    )
    updated = client.clients.update(
        created.client_id, callbacks=["https://c/cb"], client_metadata={"team": None, "env": "dev"}
    )
    assert updated.callbacks == ["https://c/cb"]
    assert updated.client_metadata == {"owner": "doks", "env": "dev"}
    with pytest.raises(ApiError) as exc:
        client.clients.update(created.client_id, token_endpoint_auth_method="magic")
    assert exc.value.status_code == 400
    assert exc.value.body["errorCode"] == "invalid_body"
    assert set(exc.value.body) >= {"statusCode", "error", "message", "errorCode"}


def test_rotate_secret_and_delete_need_their_scopes(tenant: Sandbox) -> None:
    full = mgmt(tenant)
    created = full.clients.create(name="rotating")
    rotated = full.clients.rotate_secret(created.client_id)
    assert rotated.client_secret and rotated.client_secret != created.client_secret
    limited = mgmt(tenant, limited=True)
    with pytest.raises(ApiError) as exc:
        limited.clients.delete(created.client_id)
    assert exc.value.status_code == 403
    assert exc.value.body == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Insufficient scope, expected any of: delete:clients",
        "errorCode": "insufficient_scope",
    }
    full.clients.delete(created.client_id)
    with pytest.raises(ApiError) as exc:
        full.clients.get(created.client_id)
    assert exc.value.status_code == 404


def test_client_grants_checkpoint_paging_and_filters(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    rs = client.resource_servers.create(identifier="https://api.example/", name="api", scopes=[{"value": "read:x"}])
    ids = [client.clients.create(name=f"m2m-{i}", app_type="non_interactive").client_id for i in range(3)]
    for cid in ids:
        client.client_grants.create(client_id=cid, audience=rs.identifier, scope=["read:x"])
    page = client.client_grants.list(audience=rs.identifier, take=2)
    assert len(page.items) == 2
    assert page.response.next
    grants = list(client.client_grants.list(audience=rs.identifier, take=2))
    assert sorted(g.client_id for g in grants) == sorted(ids)
    assert [g.client_id for g in client.client_grants.list(client_id=ids[1])] == [ids[1]]
    with pytest.raises(ApiError) as exc:
        client.client_grants.create(client_id=ids[0], audience=rs.identifier, scope=[])
    assert exc.value.status_code == 409


def test_roles_with_name_filter_permissions_and_users(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    client.resource_servers.create(identifier="https://api.example/", scopes=[{"value": "read:x"}])
    admins = client.roles.create(name="doks-admins", description="Admins")
    client.roles.create(name="doks-viewers")
    client.roles.create(name="other")
    assert sorted(r.name for r in client.roles.list(name_filter="doks")) == ["doks-admins", "doks-viewers"]
    client.roles.permissions.add(
        admins.id, permissions=[{"resource_server_identifier": "https://api.example/", "permission_name": "read:x"}]
    )
    assert [p.permission_name for p in client.roles.permissions.list(admins.id)] == ["read:x"]
    alice = client.users.create(
        connection="Username-Password-Authentication", email="alice@example.com", password="S3cure!pass"
    )
    bob = client.users.create(
        connection="Username-Password-Authentication", email="bob@example.com", password="S3cure!pass"
    )
    client.roles.users.assign(admins.id, users=[alice.user_id, bob.user_id])
    members = list(client.roles.users.list(admins.id, take=1))
    assert sorted(m.email for m in members) == ["alice@example.com", "bob@example.com"]
    with pytest.raises(ApiError) as exc:
        client.roles.create(name="doks-admins")
    assert exc.value.status_code == 409


def test_actions_create_deploy_versions_and_bindings(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    code = "exports.onExecutePostLogin = async (event, api) => {};"
    action = client.actions.create(
        name="doks-groups", supported_triggers=[{"id": "post-login", "version": "v3"}], code=code
    )
    assert action.status == "pending"
    with pytest.raises(ApiError) as exc:  # not built yet
        client.actions.deploy(action.id)
    assert exc.value.status_code == 400
    deadline = time.monotonic() + 5
    while client.actions.get(action.id).status != "built":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    version = client.actions.deploy(action.id)
    assert version.deployed is True
    assert version.number == 1
    assert [v.id for v in client.actions.versions.list(action.id)] == [version.id]
    assert client.actions.versions.get(action.id, version.id).code == code
    other = client.actions.create(name="foreign", supported_triggers=[{"id": "post-login", "version": "v3"}], code=code)
    while client.actions.get(other.id).status != "built":
        time.sleep(0.1)
    client.actions.deploy(other.id)
    client.actions.triggers.bindings.update_many(
        "post-login", bindings=[{"ref": {"type": "action_name", "value": "foreign"}, "display_name": "foreign"}]
    )
    result = client.actions.triggers.bindings.update_many(
        "post-login",
        bindings=[
            {"ref": {"type": "action_name", "value": "foreign"}, "display_name": "foreign"},
            {"ref": {"type": "action_id", "value": action.id}, "display_name": "doks-groups"},
        ],
    )
    assert [b.action.name for b in result.bindings] == ["foreign", "doks-groups"]
    bound = list(client.actions.triggers.bindings.list("post-login"))
    assert [b.display_name for b in bound] == ["foreign", "doks-groups"]
    client.actions.triggers.bindings.update_many("post-login", bindings=[])
    assert list(client.actions.triggers.bindings.list("post-login")) == []


def test_rate_limit_headers_on_every_response(tenant: Sandbox) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=tenant.ca_bundle)) as http:
        resp = http.get(f"https://{tenant.auth0['domain']}/api/v2/clients")
    assert resp.status_code == 401
    assert resp.json()["statusCode"] == 401
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert resp.headers[header].isdigit()
    assert int(resp.headers["x-ratelimit-reset"]) >= int(time.time())


def test_fault_429_retry_after_is_honoured_by_the_management_client(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    seq = tenant.last_seq()
    tenant.fault(status=429, headers={"Retry-After": "1"}, count=1, path="^/api/v2/roles")
    started = time.monotonic()
    assert list(client.roles.list()) == []
    assert time.monotonic() - started >= 1.0
    log = [(e["path"], e["status"]) for e in tenant.requests(seq)]
    assert log[:2] == [("/api/v2/roles", 429), ("/api/v2/roles", 200)]


def test_fault_429_ratelimit_reset_reaches_the_authentication_client(tenant: Sandbox) -> None:
    reset = int(time.time()) + 2
    tenant.fault(status=429, headers={"x-ratelimit-reset": str(reset)}, count=1, path="^/oauth/token")
    with pytest.raises(RateLimitError) as exc:
        token(tenant)
    assert exc.value.status_code == 429
    assert exc.value.reset_at == reset
    assert exc.value.error_code == "too_many_requests"
    assert token(tenant)  # the fault was for one request


def test_fault_500_then_success_and_500_surfaced(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    seq = tenant.last_seq()
    tenant.fault(status=500, count=1, path="^/api/v2/clients$", method="GET")
    assert len(list(client.clients.list())) == 3  # 2 management clients + the global client
    assert [e["status"] for e in tenant.requests(seq)][:2] == [500, 200]
    tenant.fault(status=500, count=1, path="^/api/v2/clients$", method="GET")
    with pytest.raises(ApiError) as exc:
        client.clients.list(request_options={"max_retries": 0})
    assert exc.value.status_code == 500
    assert exc.value.body["statusCode"] == 500


def test_fault_delay_beyond_the_client_timeout(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    tenant.fault(delay=1.5, count=1, path="^/api/v2/roles")
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        client.roles.list(request_options={"timeout_in_seconds": 0.5, "max_retries": 0})
    assert time.monotonic() - started < 1.4
    assert list(client.roles.list()) == []


def test_state_survives_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = start(tmp_path / "s")
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", box.ca_bundle)
        client = ManagementClient(
            domain=box.auth0["domain"],
            token=token(box),
            httpx_client=httpx.Client(verify=ssl.create_default_context(cafile=box.ca_bundle)),
        )
        created = client.clients.create(name="persisted")
        time.sleep(0.5)  # the store flushes every 0.2 s
        box.stop()
        box = start(tmp_path / "s")
        client = ManagementClient(
            domain=box.auth0["domain"],
            token=token(box),
            httpx_client=httpx.Client(verify=ssl.create_default_context(cafile=box.ca_bundle)),
        )
        assert client.clients.get(created.client_id).name == "persisted"
    finally:
        box.stop()


def test_connections_and_their_clients(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    db = [c for c in client.connections.list(strategy="auth0") if c.name == "Username-Password-Authentication"]
    assert len(db) == 1
    apps = [client.clients.create(name=f"web-{i}").client_id for i in range(3)]
    client.connections.clients.update(db[0].id, request=[{"client_id": cid, "status": True} for cid in apps])
    enabled = list(client.connections.clients.get(db[0].id, take=2))
    assert sorted(c.client_id for c in enabled) == sorted(apps)
    client.connections.clients.update(db[0].id, request=[{"client_id": apps[0], "status": False}])
    assert sorted(c.client_id for c in client.connections.clients.get(db[0].id)) == sorted(apps[1:])


def test_is_global_filter_and_excluded_fields(tenant: Sandbox) -> None:
    client = mgmt(tenant)
    client.clients.create(name="web")
    assert [c.name for c in client.clients.list(is_global=True)] == ["All Applications"]
    listed = list(client.clients.list(is_global=False, fields="client_secret,signing_keys", include_fields=False))
    assert len(listed) == 3
    assert all(c.client_secret is None and c.name for c in listed)


# ---------------------------------------------------------------------------------------------
# Deviations from the real API found by checking the emulator against upstream artefacts
# (issue 16). Each sends the wrong request with the official client and sees the real refusal,
# and the same request made correctly is accepted.

INVALID_BODY = {"statusCode": 400, "error": "Bad Request", "errorCode": "invalid_body"}


def refused(call, *args, **kwargs) -> dict:
    with pytest.raises(ApiError) as exc:
        call(*args, **kwargs)
    return {"status": exc.value.status_code, **exc.value.body}


def test_client_created_without_alg_signs_with_hs256(tenant: Sandbox) -> None:
    """A client created without ``jwt_configuration.alg`` signs ID tokens with HS256.

    Management API client type, ``jwt_configuration.alg``: "Algorithm used to sign JWTs. Can be
    `HS256` (default) or `RS256`." Real tenants answer such a create with
    ``jwt_configuration: {"secret_encoded": false, "lifetime_in_seconds": 36000}`` (no alg) and
    ``oidc_conformant: false`` (auth0/terraform-provider-auth0 v1.55.0,
    test/data/recordings/TestAccAllowUpdatingTheClientSecret.yaml); a PATCH of ``{"alg": "RS256"}``
    merges into the object (TestAccClientAuthenticationMethodsPrivateKeyJWT.yaml).
    """
    client = mgmt(tenant)
    plain = client.clients.create(name="plain", app_type="regular_web")
    assert plain.jwt_configuration.alg is None
    assert plain.jwt_configuration.lifetime_in_seconds == 36000
    assert plain.oidc_conformant is False
    signed = client.clients.create(
        name="signed", app_type="regular_web", jwt_configuration={"alg": "RS256"}, oidc_conformant=True
    )
    assert signed.jwt_configuration.alg == "RS256"
    assert signed.oidc_conformant is True
    patched = client.clients.update(plain.client_id, jwt_configuration={"alg": "RS256"})
    assert (patched.jwt_configuration.alg, patched.jwt_configuration.lifetime_in_seconds) == ("RS256", 36000)
    body = refused(client.clients.update, plain.client_id, jwt_configuration={"alg": "none"})
    assert body == {"status": 400, **INVALID_BODY, "message": body["message"]}
    assert (
        body["message"] == "Payload validation error: 'No enum match for: \"none\"' on property jwt_configuration.alg."
    )


def test_every_tenant_has_a_global_client(tenant: Sandbox) -> None:
    """Every tenant has one global client, "All Applications", listed with ``is_global=true``.

    Real tenants answer ``GET /api/v2/clients?is_global=true`` with exactly one client and accept
    a PATCH of its login page (auth0/terraform-provider-auth0 v1.55.0,
    test/data/recordings/TestAccGlobalClient.yaml); list readers skip it with ``is_global=false``
    (auth0-deploy-cli v8.43.0 src/tools/auth0/handlers/clients.ts). It is the tenant's own
    object: deleting it is refused (not documented verbatim; the emulator refuses with 403, as it
    does for the system resource server).
    """
    client = mgmt(tenant)
    found = list(client.clients.list(is_global=True))
    assert [(c.name, c.global_) for c in found] == [("All Applications", True)]
    assert "All Applications" not in [c.name for c in client.clients.list(is_global=False)]
    updated = client.clients.update(found[0].client_id, custom_login_page_on=True, custom_login_page="<html/>")
    assert updated.custom_login_page == "<html/>"
    body = refused(client.clients.delete, found[0].client_id)
    assert (body["status"], body["errorCode"]) == (403, "operation_not_supported")
    tenant.reset()
    assert len(list(mgmt(tenant).clients.list(is_global=True))) == 1


@pytest.mark.parametrize("kind", ["rules", "hooks"])
def test_retired_rules_and_hooks_answer_403_deprecated_feature(tenant: Sandbox, kind: str) -> None:
    """The Rules and Hooks endpoints answer 403 "deprecated feature", not 404.

    Rules and Hooks reached end of life (read-only from 2024-11-18, not available to tenants
    created since 2023-10-16); their endpoints answer ``403`` with "Insufficient privileges to
    use this deprecated feature" (auth0-deploy-cli v8.43.0: src/tools/utils.ts
    ``isDeprecatedError`` and test/tools/utils.test.js). The right request is a post-login Action.
    """
    client = mgmt(tenant)
    listed = refused(getattr(client, kind).list)
    assert listed == {
        "status": 403,
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Insufficient privileges to use this deprecated feature",
        "errorCode": "deprecated_feature",
    }
    code = {"rules": {}, "hooks": {"trigger_id": "credentials-exchange"}}[kind]
    created = refused(getattr(client, kind).create, name="groups", script="module.exports = () => {};", **code)
    assert created["status"] == 403
    assert list(client.actions.list()) == []  # the way forward answers


def test_client_metadata_keys_may_hold_punctuation(tenant: Sandbox) -> None:
    """``client_metadata`` keys may contain ``:`` and other punctuation; the limits hold.

    auth0-python 6.8.0 auth0/management/types/client_metadata.py (generated from the Management
    API definition): "object with string values (max 255 chars). Maximum of 10 metadata
    properties allowed. Field names (max 255 chars) are alphanumeric and may only include the
    following special characters:  :,-+=_*?"/\\()<>@    [Tab] [Space]".
    """
    client = mgmt(tenant)
    meta = {"managed_by": "doks.gitops:cluster-a", "team name": "platform", "owner@x": "a/b", "k+v=(1)": "ok"}
    created = client.clients.create(name="meta", client_metadata=meta)
    assert created.client_metadata == meta
    for bad in ({"a.b": "dot"}, {"a": "x" * 256}, {f"k{i}": "v" for i in range(11)}, {"x" * 256: "v"}):
        body = refused(client.clients.create, name="meta", client_metadata=bad)
        assert {k: body[k] for k in ("status", "statusCode", "errorCode")} == {
            "status": 400,
            "statusCode": 400,
            "errorCode": "invalid_body",
        }, bad
        assert "client_metadata" in body["message"]
    ten = {f"k{i}": "v" for i in range(10)}
    assert len(client.clients.create(name="ten", client_metadata=ten).client_metadata) == 10


def test_client_description_is_at_most_140_characters(tenant: Sandbox) -> None:
    """auth0-python 6.8.0 ``clients.create``: "description: Free text description of this client
    (max length: 140 characters)." (generated from the Management API definition)."""
    client = mgmt(tenant)
    assert client.clients.create(name="ok", description="d" * 140).description == "d" * 140
    body = refused(client.clients.create, name="long", description="d" * 141)
    assert body == {
        "status": 400,
        **INVALID_BODY,
        "message": "Payload validation error: 'String is too long (141 chars), maximum 140' on property "
        "description (Free text description of this client (max length: 140 characters)).",
    }
    ok = client.clients.create(name="ok2")
    assert refused(client.clients.update, ok.client_id, description="d" * 141)["status"] == 400


def test_actions_trigger_list_is_the_current_one(tenant: Sandbox) -> None:
    """``GET /api/v2/actions/triggers`` lists every trigger of auth0-python 6.8.0's generated
    ``ActionTriggerTypeEnum`` (auth0/management/types/action_trigger_type_enum.py), post-login at
    v3 (real tenants create post-login Actions at v3: auth0/terraform-provider-auth0 v1.55.0
    test/data/recordings/TestAccAction.yaml); an Action for an unknown trigger is refused."""
    expected = list(typing.get_args(typing.get_args(ActionTriggerTypeEnum)[0]))
    client = mgmt(tenant)
    triggers = client.actions.triggers.list().triggers
    assert [t.id for t in triggers] == expected
    versions = {t.id: t.version for t in triggers}
    assert (versions["post-login"], versions["credentials-exchange"]) == ("v3", "v2")
    body = refused(client.actions.create, name="x", supported_triggers=[{"id": "post-logon", "version": "v3"}])
    assert body["message"] == (
        "Payload validation error: 'No enum match for: \"post-logon\"' on property supported_triggers[0].id."
    )
    created = client.actions.create(name="x", supported_triggers=[{"id": "credentials-exchange", "version": "v2"}])
    assert created.supported_triggers[0].id == "credentials-exchange"


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("clients.create", lambda c, **kw: c.clients.create(name="web", **kw)),
        ("clients.update", lambda c, **kw: c.clients.update(c.clients.create(name="web").client_id, **kw)),
        ("roles.create", lambda c, **kw: c.roles.create(name="gitops-x", **kw)),
        ("roles.update", lambda c, **kw: c.roles.update(c.roles.create(name=f"gitops-{uuid.uuid4().hex}").id, **kw)),
        (
            "actions.create",
            lambda c, **kw: c.actions.create(
                name="a", supported_triggers=[{"id": "post-login", "version": "v3"}], **kw
            ),
        ),
        (
            "actions.update",
            lambda c, **kw: c.actions.update(
                c.actions.create(name=uuid.uuid4().hex, supported_triggers=[{"id": "post-login", "version": "v3"}]).id,
                **kw,
            ),
        ),
    ],
)
def test_unknown_fields_are_refused_like_the_real_api(tenant: Sandbox, operation: str, call) -> None:
    """Unknown properties of client, role and action bodies answer 400 ``invalid_body``.

    The fields are those of the request types auth0-python 6.8.0 generates from the Management API
    definition (keyword parameters of ``auth0/management/{clients,roles,actions}/raw_client.py``);
    Auth0's validator answers "Payload validation error: 'Additional properties not allowed: foo'."
    """
    client = mgmt(tenant)
    body = refused(call, client, request_options={"additional_body_parameters": {"foo": 1}})
    assert body == {
        "status": 400,
        **INVALID_BODY,
        "message": "Payload validation error: 'Additional properties not allowed: foo'.",
    }
    assert call(client) is not None


def test_ill_typed_fields_are_refused(tenant: Sandbox) -> None:
    """Types come from auth0-python 6.8.0's generated annotations: ``oidc_conformant: bool``,
    ``callbacks: Sequence[str]``, ``app_type: ClientAppTypeEnum``, ``description: str`` (role)."""
    client = mgmt(tenant)
    body = refused(client.clients.create, name="web", oidc_conformant="yes")
    assert body["message"].startswith(
        "Payload validation error: 'Expected type boolean but found type string' on property oidc_conformant"
    )
    assert refused(client.clients.create, name="web", callbacks="https://a/cb")["status"] == 400
    assert refused(client.clients.create, name="web", app_type="website")["errorCode"] == "invalid_body"
    assert refused(client.roles.create, name="gitops-z", description=5)["status"] == 400
    assert client.clients.create(name="web", oidc_conformant=True, callbacks=["https://a/cb"]).oidc_conformant


def test_the_judge_covers_every_generated_field() -> None:
    """The emulator's request schemas are the SDK's parameters, not a hand-written list."""
    params = set(inspect.signature(RawClientsClient.create).parameters) - {"self", "request_options"}
    fields = set(sdk_schema.schema("clients.create").fields)
    assert fields == {p.replace("b_2_b_", "b2b_") for p in params}
    assert sdk_schema.SDK_VERSION == "6.8.0"


def test_a_new_client_is_enabled_on_every_connection(tenant: Sandbox) -> None:
    """A fresh tenant's flag ``enable_client_connections`` is on: "Whether all current connections
    should be enabled when a new client (application) is created (true, default)" (auth0-python
    6.8.0 types/tenant_settings_flags.py). So the default database connection
    Username-Password-Authentication, where anyone may sign up, serves every new application until
    it is disabled there."""
    client = mgmt(tenant)
    other = client.connections.create(name="corp-db", strategy="auth0")
    app = client.clients.create(name="web").client_id
    for conn in client.connections.list():
        assert app in [c.client_id for c in client.connections.clients.get(conn.id)], conn.name
    assert app in [c.client_id for c in client.connections.clients.get(other.id)]


def test_connection_list_items_carry_no_enabled_clients(tenant: Sandbox) -> None:
    """``ConnectionForList`` (auth0-python 6.8.0) has no ``enabled_clients``: the clients of a
    connection are read with GET /connections/{id}/clients."""
    client = mgmt(tenant)
    client.clients.create(name="web")
    raw = httpx.get(
        f"https://{tenant.auth0['domain']}/api/v2/connections",
        headers={"Authorization": f"Bearer {token(tenant)}"},
        params={"take": 10},
        verify=ssl.create_default_context(cafile=tenant.ca_bundle),
    ).json()
    assert raw["connections"]
    assert all("enabled_clients" not in c for c in raw["connections"])


def test_connection_clients_patch_is_judged_by_the_sdk_type(tenant: Sandbox) -> None:
    """PATCH /connections/{id}/clients takes an array of ``{client_id, status}``
    (UpdateEnabledClientConnectionsRequestContentItem, both required), "Minimum array length: 1" and
    "the limit per PATCH request is 50 clients"; GET's take is "Required range: 1 <= x <= 1000"
    (https://auth0.com/docs/api/management/v2/connections/patch-clients and get-connection-clients).
    A refused request changes nothing."""
    client = mgmt(tenant)
    conn = next(c for c in client.connections.list() if c.name == "Username-Password-Authentication")
    app = client.clients.create(name="web").client_id
    update = client.connections.clients.update
    assert refused(update, conn.id, request=[]) == {
        **INVALID_BODY,
        "status": 400,
        "statusCode": 400,
        "message": "Payload validation error: 'Array is too short (0), minimum 1'.",
    }
    too_many = [{"client_id": app, "status": False}] * 51
    assert "maximum 50" in refused(update, conn.id, request=too_many)["message"]
    assert "Missing required property: status" in refused(update, conn.id, request=[{"client_id": app}])["message"]
    bad = refused(update, conn.id, request=[{"client_id": app, "status": "off"}])["message"]
    assert "Expected type boolean but found type string" in bad
    extra = refused(update, conn.id, request=[{"client_id": app, "status": False, "enabled": False}])["message"]
    assert "Additional properties not allowed: enabled" in extra
    missing = refused(update, conn.id, request=[{"client_id": app, "status": False}, {"client_id": "x", "status": 1}])
    assert missing["errorCode"] == "invalid_body"
    gone = refused(
        update, conn.id, request=[{"client_id": app, "status": False}, {"client_id": "nope", "status": True}]
    )
    assert gone["status"] == 404
    assert app in [c.client_id for c in client.connections.clients.get(conn.id)]  # nothing applied
    assert refused(lambda: list(client.connections.clients.get(conn.id, take=1001)))["errorCode"] == (
        "invalid_query_string"
    )
    update(conn.id, request=[{"client_id": app, "status": False}])
    assert app not in [c.client_id for c in client.connections.clients.get(conn.id, take=1000)]


def test_authorize_refuses_a_redirect_uri_outside_the_callbacks(tenant: Sandbox) -> None:
    """RFC 6749 §4.1.2.1: an unregistered redirection URI gets an error page, never a redirect to it;
    Auth0 matches redirect_uri against Allowed Callback URLs exactly ("Callback URL mismatch. {URL}
    is not in the list of allowed callback URLs", Auth0 support article of that name): another host,
    a trailing slash or http instead of https are all mismatches."""
    client = mgmt(tenant).clients.create(
        name="gate",
        app_type="regular_web",
        callbacks=["https://tekton.example.com/oauth2/callback"],
        grant_types=["authorization_code"],
    )
    good = "https://tekton.example.com/oauth2/callback"
    status, location, _ = tenant.authorize(client_id=client.client_id, redirect_uri=good, response_type="code")
    assert (status, location.split("?")[0]) == (302, f"https://{tenant.auth0['domain']}/u/login")
    for wrong in (
        "https://lofi.example.com/oauth2/callback",
        "https://tekton.example.com/oauth2/callback/",
        "http://tekton.example.com/oauth2/callback",
        "",
    ):
        status, location, body = tenant.authorize(client_id=client.client_id, redirect_uri=wrong, response_type="code")
        assert (status, location) == (400, ""), wrong
        assert body == {
            "error": "invalid_request",
            "error_description": f"Callback URL mismatch. {wrong} is not in the list of allowed callback URLs",
        }
    status, location, body = tenant.authorize(client_id="nobody", redirect_uri=good, response_type="code")
    assert (status, location, body["error"]) == (400, "", "invalid_request")
    # errors once the redirect_uri is known to be the client's go back to it (§4.1.2.1)
    status, location, _ = tenant.authorize(
        client_id=client.client_id, redirect_uri=good, response_type="token", state="s"
    )
    assert status == 302
    assert location.startswith(good + "?error=unsupported_response_type&")
    assert location.endswith("&state=s")
