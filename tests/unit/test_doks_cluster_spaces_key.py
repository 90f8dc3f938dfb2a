"""doks.gitops.spaces_key against the sandbox DigitalOcean emulator."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import spaces_key

from tests.unit.doks_helpers import DoSandbox, run_module

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


def test_grant_drift_is_updated_in_place(do: DoSandbox, capsys) -> None:
    first = key(do, capsys)
    mark = do.mark()
    updated = key(do, capsys, grants=[{"bucket": "logs", "permission": "read"}], _ansible_diff=True)
    assert updated["actions"] == ["update grants of key loki"]
    assert "secret_key" not in updated
    assert [w[0] for w in do.writes(mark)] == ["PUT"]
    assert keys(do)[0]["access_key"] == first["key"]["access_key"]
    assert keys(do)[0]["grants"] == [{"bucket": "logs", "permission": "read"}]
    assert updated["diff"]["before"]["grants"] == GRANTS


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


def test_absent_deletes(do: DoSandbox, capsys) -> None:
    key(do, capsys)
    result = key(do, capsys, state="absent")
    assert result["changed"]
    assert keys(do) == []
