"""The DOKS control-plane firewall: doks.gitops.doks_cluster against the DigitalOcean emulator.

github.com/digitalocean/openapi, specification/resources/kubernetes/models/control_plane_firewall.yml
(referenced by models/cluster.yml for create, cluster_update.yml for ``PUT`` and cluster_read.yml):
a nullable object ``{enabled: boolean, allowed_addresses: [string]}``, "An array of public addresses
(IPv4 or CIDR) allowed to access the control plane". The module sends it on create, reconciles it
with the cluster ``PUT`` (addresses compared as a set, so a second run writes nothing), leaves it
alone when omitted, and refuses a bad address or an enabled firewall with no address before any
write; the emulator stores and returns it, and refuses what the spec does not allow.
"""

from __future__ import annotations

import urllib.error
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import doks_cluster

from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox

OFFICE = "1.2.3.4/32"
CI = "1.1.0.0/16"
POOLS = [{"name": "base", "size": "s-2vcpu-4gb", "count": 1}]


@pytest.fixture(scope="module")
def do_settings() -> dict[str, Any]:
    return {"digitalocean": {"provision_seconds": 0.2}}


def apply(do: DoSandbox, capsys: pytest.CaptureFixture[str], **extra: Any) -> dict[str, Any]:
    base = {"name": "fw", "region": "fra1", "version": "latest", "node_pools": POOLS, "poll_interval": 0.1}
    return run_module(doks_cluster.main, capsys, do.conn(**{**base, **extra}))


def firewall(enabled: bool, *addresses: str) -> dict[str, Any]:
    return {"enabled": enabled, "allowed_addresses": list(addresses)}


def test_create_sends_the_firewall_and_a_second_run_writes_nothing(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    created = apply(do, capsys, control_plane_firewall=firewall(True, OFFICE, CI))
    assert created["changed"] and not created.get("failed"), created
    assert do.writes(mark) == [("POST", "/v2/kubernetes/clusters", 201)]
    stored = do.cluster("fw")["control_plane_firewall"]
    assert stored["enabled"] is True and sorted(stored["allowed_addresses"]) == sorted([OFFICE, CI])
    assert created["cluster"]["control_plane_firewall"] == firewall(True, CI, OFFICE)
    mark = do.mark()
    again = apply(do, capsys, control_plane_firewall=firewall(True, CI, OFFICE))  # another order, same set
    assert not again["changed"], again["actions"]
    assert do.calls(mark) == [("GET", "/v2/kubernetes/clusters", 200)]


def test_an_omitted_firewall_is_left_as_it_is(do: DoSandbox, capsys) -> None:
    apply(do, capsys, control_plane_firewall=firewall(True, OFFICE))
    mark = do.mark()
    result = apply(do, capsys, tags=["other"])
    assert result["actions"] == ["update cluster fw: tags"]
    assert [w[0] for w in do.writes(mark)] == ["PUT"]
    assert do.cluster("fw")["control_plane_firewall"] == firewall(True, OFFICE)


def test_a_cluster_created_without_one_has_none_and_omitting_it_writes_nothing(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    assert do.cluster("fw")["control_plane_firewall"] is None
    mark = do.mark()
    assert not apply(do, capsys)["changed"]
    assert not apply(do, capsys, control_plane_firewall=firewall(False))["changed"], "null is off, no address"
    assert do.writes(mark) == []


def test_drift_is_reconciled_with_one_put_and_shown_in_check_and_diff(do: DoSandbox, capsys) -> None:
    apply(do, capsys, control_plane_firewall=firewall(True, OFFICE))
    wanted = firewall(True, OFFICE, CI)
    mark = do.mark()
    planned = apply(do, capsys, control_plane_firewall=wanted, _ansible_check_mode=True, _ansible_diff=True)
    assert planned["changed"] and planned["actions"] == ["update cluster fw: control_plane_firewall"]
    assert planned["diff"]["before"]["control_plane_firewall"] == firewall(True, OFFICE)
    assert planned["diff"]["after"]["control_plane_firewall"] == firewall(True, CI, OFFICE)
    assert do.writes(mark) == []
    assert do.cluster("fw")["control_plane_firewall"] == firewall(True, OFFICE)
    result = apply(do, capsys, control_plane_firewall=wanted)
    assert result["actions"] == ["update cluster fw: control_plane_firewall"]
    assert [w[0] for w in do.writes(mark)] == ["PUT"]
    assert sorted(do.cluster("fw")["control_plane_firewall"]["allowed_addresses"]) == sorted([OFFICE, CI])
    off = apply(do, capsys, control_plane_firewall=firewall(False, OFFICE, CI))
    assert off["actions"] == ["update cluster fw: control_plane_firewall"]
    assert do.cluster("fw")["control_plane_firewall"]["enabled"] is False


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        (firewall(True), "control_plane_firewall is enabled with no allowed_addresses"),
        (firewall(True, "1.2.3.400"), "'1.2.3.400' is not an IPv4 address or CIDR"),
        (firewall(True, "1.2.3.4/16"), "'1.2.3.4/16' is not an IPv4 address or CIDR (host bits"),
        (firewall(True, "10.0.0.0/8"), "'10.0.0.0/8' is not a public address"),
        (firewall(True, "2001:db8::/32"), "'2001:db8::/32' is not IPv4"),
    ],
)
def test_bad_firewall_input_fails_before_any_write(do: DoSandbox, capsys, wanted: dict[str, Any], message: str) -> None:
    mark = do.mark()
    result = apply(do, capsys, control_plane_firewall=wanted)
    assert result["failed"] and message in result["msg"], result
    assert do.writes(mark) == []


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        ("on", 400, "control_plane_firewall must be a JSON object"),
        ({"enabled": "true"}, 400, "control_plane_firewall.enabled must be a JSON boolean"),
        ({"enabled": True, "allowed_addresses": "1.2.3.4"}, 400, "must be an array of strings"),
        ({"enabled": True, "allowed_addresses": ["not-an-ip"]}, 422, "'not-an-ip' is not an IPv4 address or CIDR"),
        ({"enabled": True, "allowed_addresses": ["192.168.0.0/16"]}, 422, "is not a public address"),
    ],
)
def test_the_emulator_refuses_what_the_spec_does_not_allow(
    do: DoSandbox, value: Any, status: int, message: str
) -> None:
    """Straight to the API: a create and an update with a bad value are refused and store nothing."""
    body = {"name": "raw", "region": "fra1", "version": "latest", "node_pools": POOLS}
    with pytest.raises(urllib.error.HTTPError) as refused:
        do.api("POST", "/v2/kubernetes/clusters", {**body, "control_plane_firewall": value})
    assert refused.value.code == status and message in refused.value.read().decode()
    assert do.cluster("raw") is None
    cluster = do.api("POST", "/v2/kubernetes/clusters", body)["kubernetes_cluster"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        do.api("PUT", f"/v2/kubernetes/clusters/{cluster['id']}", {"name": "raw", "control_plane_firewall": value})
    assert refused.value.code == status
    assert do.cluster("raw")["control_plane_firewall"] is None
