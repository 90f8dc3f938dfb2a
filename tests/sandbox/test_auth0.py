"""Contract tests of the Auth0 emulator, judged by the official auth0-python 6.x SDK.

The SDK builds ``https://<domain>/...`` URLs; the emulator's domain is ``127.0.0.1:<port>``.
TLS is trusted through the sandbox CA bundle: ``REQUESTS_CA_BUNDLE`` for the authentication
client (requests) and ``SSL_CERT_FILE`` for the management client (httpx).
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from auth0.authentication import GetToken
from auth0.authentication.exceptions import Auth0Error, RateLimitError
from auth0.management import ManagementClient
from auth0.management.core.api_error import ApiError

from tests.sandbox.auth0_sandbox import Sandbox, start

pytestmark = pytest.mark.sandbox


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
    assert first.response.total == 8  # 6 created + 2 seeded management clients
    assert first.response.limit == 3
    assert len(first.items) == 3
    every = list(client.clients.list(per_page=3, include_totals=True))
    assert len(every) == 8
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
    assert len(list(client.clients.list())) == 2
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
    assert [c.name for c in client.clients.list(is_global=True)] == []
    listed = list(client.clients.list(is_global=False, fields="client_secret,signing_keys", include_fields=False))
    assert len(listed) == 3
    assert all(c.client_secret is None and c.name for c in listed)
