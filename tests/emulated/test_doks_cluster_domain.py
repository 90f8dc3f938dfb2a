"""doks.gitops.digitalocean_domain against the sandbox DigitalOcean emulator."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import digitalocean_domain

from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox


def zone(do: DoSandbox, capsys: pytest.CaptureFixture[str], **extra: Any) -> dict[str, Any]:
    return run_module(digitalocean_domain.main, capsys, do.conn(**{"name": "gitops.example.com", **extra}))


def names(do: DoSandbox) -> list[str]:
    return [d["name"] for d in do.api("GET", "/v2/domains")["domains"]]


def test_created_once_then_noop(do: DoSandbox, capsys) -> None:
    assert zone(do, capsys)["changed"]
    assert names(do) == ["gitops.example.com"]
    mark = do.mark()
    again = zone(do, capsys)
    assert not again["changed"]
    assert do.calls(mark) == [("GET", "/v2/domains/gitops.example.com", 200)]


def test_check_mode_and_absent(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    planned = zone(do, capsys, _ansible_check_mode=True, _ansible_diff=True)
    assert planned["changed"] and planned["diff"]["after"] == {"name": "gitops.example.com"}
    assert do.writes(mark) == []
    zone(do, capsys)
    assert zone(do, capsys, state="absent")["changed"]
    assert names(do) == []


def test_bad_name_fails_before_any_call(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    result = zone(do, capsys, name="not a domain")
    assert result["failed"] and "fully qualified" in result["msg"]
    assert do.calls(mark) == []


def test_429_on_lookup_is_retried(do: DoSandbox, capsys) -> None:
    do.fault(status=429, count=1, method="GET", path="^/v2/domains/")
    mark = do.mark()
    assert zone(do, capsys)["changed"]
    assert [c[2] for c in do.calls(mark)][:2] == [429, 404]


def test_only_if_empty_keeps_a_zone_with_records(do: DoSandbox, capsys) -> None:
    """Teardown deletes a managed zone only once nothing but NS and SOA is left in it: a record made
    by hand keeps the zone, and the result says which records it holds."""
    zone(do, capsys)
    do.api("POST", "/v2/domains/gitops.example.com/records", {"type": "A", "name": "www", "data": "192.0.2.1"})
    mark = do.mark()
    kept = zone(do, capsys, state="absent", only_if_empty=True)
    assert not kept["changed"] and kept["kept"] == "holds 1 record: www.gitops.example.com A"
    assert do.writes(mark) == [] and names(do) == ["gitops.example.com"]
    record = next(
        r for r in do.api("GET", "/v2/domains/gitops.example.com/records")["domain_records"] if r["type"] == "A"
    )
    do.api("DELETE", f"/v2/domains/gitops.example.com/records/{record['id']}")
    gone = zone(do, capsys, state="absent", only_if_empty=True)
    assert gone["changed"] and gone["kept"] == "" and names(do) == []
