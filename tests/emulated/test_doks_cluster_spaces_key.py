"""doks.gitops.spaces_key against the sandbox DigitalOcean emulator."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import spaces_key

from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox
GRANTS = [{"bucket": "logs", "permission": "readwrite"}]


def key(do: DoSandbox, capsys: pytest.CaptureFixture[str], **extra: Any) -> dict[str, Any]:
    return run_module(spaces_key.main, capsys, do.conn(**{"name": "loki", "grants": GRANTS, **extra}))


def keys(do: DoSandbox) -> list[dict[str, Any]]:
    return do.api("GET", "/v2/spaces/keys?name=loki")["keys"]


def test_created_once_secret_returned_once(do: DoSandbox, capsys) -> None:
    created = key(do, capsys)
    assert created["changed"] and created["secret_key"]
    assert created["key"]["access_key"].startswith("DO")
    mark = do.mark()
    again = key(do, capsys, stored_access_key=created["key"]["access_key"])
    assert not again["changed"]
    assert "secret_key" not in again
    assert do.writes(mark) == []
    assert [k["access_key"] for k in keys(do)] == [created["key"]["access_key"]]


def test_rotated_when_the_stored_secret_is_gone(do: DoSandbox, capsys) -> None:
    first = key(do, capsys)
    mark = do.mark()
    rotated = key(do, capsys, stored_access_key="")
    assert rotated["changed"] and rotated["rotated"]
    assert rotated["secret_key"] and rotated["secret_key"] != first["secret_key"]
    assert rotated["key"]["access_key"] != first["key"]["access_key"]
    assert [w[0] for w in do.writes(mark)] == ["POST", "DELETE"]
    assert [k["access_key"] for k in keys(do)] == [rotated["key"]["access_key"]]


def test_rotated_when_the_stored_secret_belongs_to_another_key(do: DoSandbox, capsys) -> None:
    key(do, capsys)
    rotated = key(do, capsys, stored_access_key="DOSOMEOTHERKEY000000")
    assert rotated["rotated"]
    assert len(keys(do)) == 1


def test_grant_drift_rotates_the_key(do: DoSandbox, capsys) -> None:
    """Other grants make a new key: DigitalOcean cannot change an existing key's grants.

    github.com/digitalocean/openapi, specification/resources/spaces/key_update.yml (PUT) and
    key_patch.yml (PATCH): "You can only update the name of the key." A PUT with new grants
    leaves the old grant in place (Loki gets 403 on the new bucket) and every run reports a change.
    """
    first = key(do, capsys)
    mark = do.mark()
    wanted = [{"bucket": "other", "permission": "readwrite"}]
    rotated = key(do, capsys, grants=wanted, stored_access_key=first["key"]["access_key"], _ansible_diff=True)
    assert rotated["changed"] and rotated["rotated"]
    assert rotated["secret_key"] and rotated["key"]["access_key"] != first["key"]["access_key"]
    # one create (never a PUT), then the old key goes
    assert [w[0] for w in do.writes(mark)] == ["POST", "DELETE"]
    assert [(k["access_key"], k["grants"]) for k in keys(do)] == [(rotated["key"]["access_key"], wanted)]
    assert rotated["diff"] == {
        "before": {"name": "loki", "grants": GRANTS},
        "after": {"name": "loki", "grants": wanted},
    }
    # second run with the new key stored: nothing to do
    mark = do.mark()
    again = key(do, capsys, grants=wanted, stored_access_key=rotated["key"]["access_key"])
    assert not again["changed"] and "secret_key" not in again
    assert do.writes(mark) == []


def test_grant_drift_in_check_mode_reports_the_rotation_and_writes_nothing(do: DoSandbox, capsys) -> None:
    first = key(do, capsys)
    mark = do.mark()
    wanted = [{"bucket": "other", "permission": "readwrite"}]
    result = key(do, capsys, grants=wanted, stored_access_key=first["key"]["access_key"], _ansible_check_mode=True)
    assert result["changed"] and result["rotated"] and "secret_key" not in result
    assert result["actions"][0].startswith("rotate key loki with grants other:readwrite")
    assert do.writes(mark) == []
    assert [k["grants"] for k in keys(do)] == [GRANTS]


def test_rotation_keeps_the_replaced_key_until_the_new_secret_is_stored(do: DoSandbox, capsys) -> None:
    """delete_replaced=false: the old key works until the caller stored the new secret, then goes."""
    first = key(do, capsys)
    wanted = [{"bucket": "other", "permission": "readwrite"}]
    mark = do.mark()
    rotated = key(do, capsys, grants=wanted, stored_access_key=first["key"]["access_key"], delete_replaced=False)
    assert rotated["rotated"] and rotated["replaced"] == [first["key"]["access_key"]]
    assert [w[0] for w in do.writes(mark)] == ["POST"]
    assert len(keys(do)) == 2
    # the caller stored the new secret: the second call deletes the replaced key and nothing else
    mark = do.mark()
    cleanup = key(do, capsys, grants=wanted, stored_access_key=rotated["key"]["access_key"], delete_replaced=False)
    assert cleanup["changed"] and not cleanup["rotated"] and "secret_key" not in cleanup
    assert do.writes(mark) == [("DELETE", "/v2/spaces/keys/" + first["key"]["access_key"], 204)]
    assert [k["access_key"] for k in keys(do)] == [rotated["key"]["access_key"]]
    again = key(do, capsys, grants=wanted, stored_access_key=rotated["key"]["access_key"], delete_replaced=False)
    assert not again["changed"]


def test_rotation_whose_secret_was_never_stored_is_replaced_again(do: DoSandbox, capsys) -> None:
    """A run that stopped after the create: the stored (old) key has the old grants, so rotate all."""
    first = key(do, capsys)
    wanted = [{"bucket": "other", "permission": "readwrite"}]
    lost = key(do, capsys, grants=wanted, stored_access_key=first["key"]["access_key"], delete_replaced=False)
    again = key(do, capsys, grants=wanted, stored_access_key=first["key"]["access_key"])
    assert again["rotated"] and again["secret_key"]
    assert [k["access_key"] for k in keys(do)] == [again["key"]["access_key"]]
    assert again["key"]["access_key"] not in (first["key"]["access_key"], lost["key"]["access_key"])


def test_check_mode_writes_nothing(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    result = key(do, capsys, _ansible_check_mode=True)
    assert result["changed"] and "secret_key" not in result
    assert do.writes(mark) == []


def test_lost_create_deletes_the_orphan_and_creates_once_more(do: DoSandbox, capsys) -> None:
    do.fault(delay=1.5, count=1, method="POST", path="^/v2/spaces/keys$")
    mark = do.mark()
    result = key(do, capsys, timeout=1)
    assert result["changed"] and result["secret_key"]
    # the lost create (its answer never reached the client), the orphan's delete, one new create
    assert result["api_calls"]["write"] == 3
    assert [w[0] for w in do.writes(mark)] == ["POST", "DELETE", "POST"]
    assert any("secret was lost" in a for a in result["actions"])
    assert [k["access_key"] for k in keys(do)] == [result["key"]["access_key"]]


def test_bad_grant_fails_before_any_call(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    result = key(do, capsys, grants=[{"bucket": "logs", "permission": "fullaccess"}])
    assert result["failed"] and "fullaccess" in result["msg"]
    assert do.calls(mark) == []


def test_mixed_fullaccess_and_bucket_grants_fail_before_any_call(do: DoSandbox, capsys) -> None:
    """openapi specification/resources/spaces/key_create.yml: "At the moment, you cannot mix a
    fullaccess permission with scoped permissions." (400 bad_request, responses/bad_request.yml)."""
    mark = do.mark()
    mixed = [{"bucket": "", "permission": "fullaccess"}, {"bucket": "logs", "permission": "read"}]
    result = key(do, capsys, grants=mixed)
    assert result["failed"] and "cannot be mixed" in result["msg"]
    assert do.calls(mark) == []


def test_absent_deletes(do: DoSandbox, capsys) -> None:
    key(do, capsys)
    result = key(do, capsys, state="absent")
    assert result["changed"]
    assert keys(do) == []
