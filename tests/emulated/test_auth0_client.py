"""plugins/module_utils/auth0.py: one token, every list paged, Auth0 errors as sentences."""

from __future__ import annotations

import time

import pytest
from ansible_collections.doks.gitops.plugins.module_utils.auth0 import Auth0Client, error_message
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError, RetryPolicy

from tests.emulated.auth0_helpers import Api
from tests.emulated.auth0_sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def client(box: Sandbox, limited: bool = False, **kw) -> Auth0Client:
    prefix = "limited_" if limited else ""
    return Auth0Client(
        box.auth0["domain"],
        box.auth0[f"{prefix}client_id"],
        box.auth0[f"{prefix}client_secret"],
        ca_path=box.ca_bundle,
        retry=RetryPolicy(retries=2, max_delay=2),
        **kw,
    )


def test_offset_paging_reads_every_page_once(box: Sandbox) -> None:
    api = Api(box)
    for i in range(101):
        api.post("/clients", {"name": f"c{i}"})
    # the 101 creates may have spent the emulator's per-second budget (rate_limit, 100 requests):
    # start the measured reads in a fresh window, or the token request is (rightly) answered 429
    time.sleep(1.1)
    c = client(box)
    seq = box.last_seq()
    names = [x["name"] for x in c.offset_pages("/clients", "clients")]
    assert len(names) == 104  # + the two seeded management clients and the global client
    log = box.requests(seq)
    assert [e["path"] for e in log] == ["/oauth/token", "/api/v2/clients", "/api/v2/clients"]
    assert "page=1" in log[-1]["query"]


def test_checkpoint_paging_follows_next(box: Sandbox) -> None:
    api = Api(box)
    role = api.post("/roles", {"name": "gitops-many"})
    ids = [api.user(f"u{i}@example.com")["user_id"] for i in range(105)]
    api.post(f"/roles/{role['id']}/users", {"users": ids})
    c = client(box)
    seq = box.last_seq()
    members = list(c.checkpoint_pages(f"/roles/{role['id']}/users", "users"))
    assert sorted(m["user_id"] for m in members) == sorted(ids)
    log = [e for e in box.requests(seq) if e["path"].endswith("/users")]
    assert len(log) == 2
    assert "from=" in log[1]["query"]


def test_one_token_per_client(box: Sandbox) -> None:
    c = client(box)
    seq = box.last_seq()
    c.call("GET", "/roles")
    c.call("GET", "/roles")
    assert [e["path"] for e in box.requests(seq)].count("/oauth/token") == 1
    assert "read:client_keys" in c.scopes


def test_token_request_is_retried_after_a_500(box: Sandbox) -> None:
    box.fault(status=500, count=1, path="^/oauth/token")
    c = client(box)
    assert c.token()


def test_wrong_secret_is_a_clear_error(box: Sandbox) -> None:
    c = Auth0Client(box.auth0["domain"], box.auth0["client_id"], "wrong", ca_path=box.ca_bundle)
    with pytest.raises(ApiError) as exc:
        c.token()
    assert exc.value.status == 401
    assert "check client_id and client_secret" in exc.value.message
    assert "wrong" not in exc.value.message


def test_missing_scope_names_scope_and_call(box: Sandbox) -> None:
    c = client(box, limited=True)
    with pytest.raises(ApiError) as exc:
        c.call("DELETE", "/roles/rol_x")
    assert exc.value.status == 403
    assert exc.value.message.startswith(
        "DELETE /api/v2/roles/rol_x: the management client lacks the scope delete:roles"
    )


def test_error_message_shapes() -> None:
    body = {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Payload validation error",
        "errorCode": "invalid_body",
    }
    assert error_message(400, body) == "HTTP 400 invalid_body: Payload validation error"
    assert error_message(502, "<html><h1>Bad Gateway</h1></html>") == "HTTP 502: Bad Gateway"
