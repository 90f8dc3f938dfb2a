"""doks.gitops.doks_cluster against the sandbox DigitalOcean emulator: state and request counts."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils.kubeconfig import OK, REJECTED, probe
from ansible_collections.doks.gitops.plugins.modules import doks_cluster

from sandbox import client as sb
from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox

TOOLS_TAINT = {"key": "tools", "value": "true", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def do_settings() -> dict[str, Any]:
    return {"digitalocean": {"provision_seconds": 0.5}}


def pools(**overrides: Any) -> list[dict[str, Any]]:
    declared = {
        "base": {"name": "base", "size": "s-2vcpu-4gb", "count": 1},
        "tools": {"name": "tools", "size": "s-2vcpu-4gb", "count": 1, "taints": [TOOLS_TAINT], "labels": {"tier": "t"}},
    }
    for name, value in overrides.items():
        if value is None:
            declared.pop(name)
        else:
            declared[name] = {**declared.get(name, {"name": name, "size": "s-2vcpu-4gb"}), **value}
    return list(declared.values())


def args(do: DoSandbox, **extra: Any) -> dict[str, Any]:
    base = {"name": "c1", "region": "fra1", "version": "latest", "node_pools": pools(), "poll_interval": 0.1}
    return do.conn(**{**base, **extra})


def apply(do: DoSandbox, capsys: pytest.CaptureFixture[str], **extra: Any) -> dict[str, Any]:
    return run_module(doks_cluster.main, capsys, args(do, **extra))


# ---------------------------------------------------------------------- create and no-op
def test_create_waits_for_running_and_returns_ids(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    result = apply(do, capsys, tags=["gitops"], surge_upgrade=True, maintenance_policy={"day": "sunday"})
    assert result["changed"] and not result.get("failed"), result
    assert result["cluster"]["status"] == "running"
    assert result["cluster"]["id"] and result["cluster"]["endpoint"] is not None
    assert {p["name"]: bool(p["id"]) for p in result["cluster"]["node_pools"]} == {"base": True, "tools": True}
    assert all(n["status"] == "running" for p in result["cluster"]["node_pools"] for n in p["nodes"])
    assert do.writes(mark) == [("POST", "/v2/kubernetes/clusters", 201)]
    cluster = do.cluster("c1")
    assert "gitops" in cluster["tags"] and cluster["surge_upgrade"]
    assert cluster["maintenance_policy"]["day"] == "sunday"
    assert do.pool("c1", "tools")["taints"] == [TOOLS_TAINT]


def test_second_run_is_a_noop_with_one_get(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    mark = do.mark()
    result = apply(do, capsys)
    assert not result["changed"], result["actions"]
    assert do.calls(mark) == [("GET", "/v2/kubernetes/clusters", 200)]
    assert result["api_calls"] == {"get": 1, "write": 0}


def test_check_mode_create_writes_nothing(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    result = apply(do, capsys, _ansible_check_mode=True, _ansible_diff=True)
    assert result["changed"]
    assert result["actions"][0].startswith("create cluster c1")
    assert result["diff"]["before"] == {}
    assert set(result["diff"]["after"]["node_pools"]) == {"base", "tools"}
    assert do.writes(mark) == []
    assert do.cluster("c1") is None


# ---------------------------------------------------------------------- node pools
def test_add_a_pool(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    mark = do.mark()
    result = apply(do, capsys, node_pools=pools(workloads={"count": 2}))
    assert result["actions"] == ["create node pool workloads"]
    assert [w[:2] for w in do.writes(mark)] == [
        ("POST", f"/v2/kubernetes/clusters/{result['cluster']['id']}/node_pools")
    ]
    assert len(do.pool("c1", "workloads")["nodes"]) == 2


def test_change_a_taint_with_put(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    new_taint = {"key": "tools", "value": "true", "effect": "NoExecute"}
    mark = do.mark()
    result = apply(do, capsys, node_pools=pools(tools={"taints": [new_taint]}), _ansible_diff=True)
    assert result["actions"] == ["update node pool tools: taints"]
    assert [w[0] for w in do.writes(mark)] == ["PUT"]
    assert do.pool("c1", "tools")["taints"] == [new_taint]
    assert do.pool("c1", "tools")["labels"] == {"tier": "t"}
    assert result["diff"]["after"]["node_pools"]["tools"]["taints"] == [new_taint]
    assert result["diff"]["before"]["node_pools"]["tools"]["taints"] == [TOOLS_TAINT]


def test_clear_labels_and_taints_only_when_declared_empty(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    omitted = {"name": "tools", "size": "s-2vcpu-4gb", "count": 1}
    mark = do.mark()
    result = apply(do, capsys, node_pools=[pools()[0], omitted])
    assert not result["changed"], "omitted labels/taints must be left alone"
    assert do.writes(mark) == []
    result = apply(do, capsys, node_pools=pools(tools={"labels": {}, "taints": []}))
    assert result["actions"] == ["update node pool tools: labels, taints"]
    assert do.pool("c1", "tools")["labels"] == {}
    assert do.pool("c1", "tools")["taints"] == []


def test_purge_off_keeps_and_reports_purge_on_deletes(do: DoSandbox, capsys) -> None:
    apply(do, capsys, node_pools=pools(extra={"count": 1}))
    mark = do.mark()
    kept = apply(do, capsys)
    assert not kept["changed"]
    assert kept["unmanaged_node_pools"] == ["extra"]
    assert any("purge_node_pools" in w for w in kept["warnings"])
    assert do.writes(mark) == []
    purged = apply(do, capsys, purge_node_pools=True)
    assert purged["actions"] == ["delete node pool extra"]
    assert [w[0] for w in do.writes(mark)] == ["DELETE"]
    assert {p["name"] for p in do.cluster("c1")["node_pools"]} == {"base", "tools"}


def test_count_vs_autoscale(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    result = apply(do, capsys, node_pools=pools(base={"count": 2}))
    assert result["actions"] == ["update node pool base: count"]
    assert do.pool("c1", "base")["count"] == 2
    scaled = {"auto_scale": True, "min_nodes": 1, "max_nodes": 3}
    result = apply(do, capsys, node_pools=pools(base=scaled))
    assert result["actions"] == ["update node pool base: auto_scale, min_nodes, max_nodes"]
    pool = do.pool("c1", "base")
    assert (pool["auto_scale"], pool["min_nodes"], pool["max_nodes"], pool["count"]) == (True, 1, 3, 2)
    # the autoscaler owns count: a scale-up is not drift, and count in the declaration is not enforced
    do.api(
        "PUT",
        f"/v2/kubernetes/clusters/{do.cluster('c1')['id']}/node_pools/{pool['id']}",
        {"name": "base", "count": 3},
    )
    mark = do.mark()
    result = apply(do, capsys, node_pools=pools(base={**scaled, "count": 1}))
    assert not result["changed"], result["actions"]
    assert do.writes(mark) == []
    # narrowing max below the current count clamps it
    result = apply(do, capsys, node_pools=pools(base={**scaled, "max_nodes": 2}))
    assert result["actions"] == ["update node pool base: max_nodes, count"]
    assert do.pool("c1", "base")["count"] == 2


# ---------------------------------------------------------------------- versions
def test_version_prefix_resolves_to_newest_matching_slug(do: DoSandbox, capsys) -> None:
    versions = do.versions()
    older = versions[1]
    prefix = ".".join(older.split(".")[:2])
    result = apply(do, capsys, version=prefix)
    assert result["cluster"]["version"] == older
    mark = do.mark()
    assert not apply(do, capsys, version=prefix)["changed"]
    assert do.writes(mark) == []


def test_upgrade_only_when_asked_and_only_to_an_offered_version(do: DoSandbox, capsys) -> None:
    versions = do.versions()
    older_prefix = ".".join(versions[1].split(".")[:2])
    newer_prefix = ".".join(versions[0].split(".")[:2])
    apply(do, capsys, version=older_prefix)
    mark = do.mark()
    warned = apply(do, capsys, version=newer_prefix)
    assert not warned["changed"]
    assert any("upgrade: true" in w for w in warned["warnings"])
    refused = apply(do, capsys, version="1.99", upgrade=True)
    assert refused["failed"]
    assert "'1.99' is not an available upgrade" in refused["msg"]
    assert versions[0] in refused["msg"]
    assert do.writes(mark) == []
    upgraded = apply(do, capsys, version=newer_prefix, upgrade=True)
    assert upgraded["actions"] == [f"upgrade cluster c1 from {versions[1]} to {versions[0]}"]
    assert upgraded["cluster"]["version"] == versions[0]
    assert upgraded["cluster"]["status"] == "running"
    assert [w[:2] for w in do.writes(mark)] == [
        ("POST", f"/v2/kubernetes/clusters/{upgraded['cluster']['id']}/upgrade")
    ]


@pytest.mark.parametrize(("version", "expected"), [("1.36", True), ("1.35", False)])
def test_omitted_ha_is_the_api_default_planned_and_kept(do: DoSandbox, capsys, version: str, expected: bool) -> None:
    """Without ``ha`` the module sends none and plans DigitalOcean's default.

    github.com/digitalocean/openapi, specification/resources/kubernetes/models/cluster.yml, ha:
    "When omitted on create, the default is version-dependent; for DOKS 1.36.0 and later, the
    default is true; for earlier versions, the default is false." --check --diff shows that value,
    the create sends no ``ha``, and a second run leaves it alone.
    """
    planned = apply(do, capsys, version=version, _ansible_check_mode=True, _ansible_diff=True)
    assert planned["changed"] and planned["cluster"]["ha"] is expected
    assert planned["diff"]["after"]["ha"] is expected
    mark = do.mark()
    created = apply(do, capsys, version=version)
    assert do.cluster("c1")["ha"] is expected and created["cluster"]["ha"] is expected
    assert [e for e in do.log(mark) if e["method"] == "POST"]
    mark = do.mark()
    again = apply(do, capsys, version=version)
    assert not again["changed"] and do.writes(mark) == []


def test_explicit_ha_false_on_136_is_sent(do: DoSandbox, capsys) -> None:
    """An explicit choice still wins over the version-dependent default (models/cluster.yml)."""
    apply(do, capsys, version="1.36", ha=False)
    assert do.cluster("c1")["ha"] is False
    result = apply(do, capsys, version="1.36", ha=True)
    assert result["actions"] == ["update cluster c1: ha"] and do.cluster("c1")["ha"] is True
    refused = apply(do, capsys, version="1.36", ha=False)
    assert refused["failed"] and "ha cannot be turned off" in refused["msg"]


# ---------------------------------------------------------------------- bad input fails before any write
@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"node_pools": pools(tools={"name": "base"})}, "duplicate node pool name"),
        # openapi specification/resources/tags/models/tags.yml: pattern '^[a-zA-Z0-9_\-\:]+$'
        ({"tags": ["team a"]}, "tags: 'team a' - a tag is 1-255 letters"),
        ({"node_pools": pools(base={"tags": ["x" * 256]})}, "node_pools[0] (base).tags"),
        ({"node_pools": pools(base={"auto_scale": True, "min_nodes": 3, "max_nodes": 2})}, "min_nodes (3) is greater"),
        (
            {"node_pools": pools(base={"auto_scale": True, "min_nodes": 1, "max_nodes": 2, "count": 5})},
            "count 5 is outside",
        ),
        ({"node_pools": pools(base={"count": None})}, "count is required"),
        ({"node_pools": pools(tools={"taints": [{"key": "a", "effect": "Sometimes"}]})}, "effect"),
        ({"version": "1.99"}, "version '1.99' matches no DOKS version"),
        ({"region": None}, "region is required"),
        ({"region": "frankfurt"}, "region 'frankfurt' is not a region DOKS offers; use one of "),
        (
            {"node_pools": pools(tools={"size": "S-2VCPU-4GB"})},
            "node_pools tools: size 'S-2VCPU-4GB' is not a droplet size slug DOKS offers (slugs are lower case; "
            "nearest: s-2vcpu-4gb",
        ),
    ],
)
def test_bad_input_fails_before_any_write(do: DoSandbox, capsys, extra: dict[str, Any], message: str) -> None:
    mark = do.mark()
    result = apply(do, capsys, **extra)
    assert result["failed"]
    assert message in result["msg"]
    assert do.writes(mark) == []


def test_region_change_is_refused(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    mark = do.mark()
    result = apply(do, capsys, region="nyc1")
    assert result["failed"] and "a region cannot change" in result["msg"]
    assert do.writes(mark) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # a misspelt region is unknown, not a move (the valid ones come from /v2/kubernetes/options)
        ({"region": "fra"}, "region 'fra' is not a region DOKS offers; use one of "),
        # droplet size slugs are lower case (GET /v2/sizes); upper case is no size, not a resize
        ({"node_pools": pools(base={"size": "S-2VCPU-4GB"})}, "size 'S-2VCPU-4GB' is not a droplet size slug"),
    ],
)
def test_a_typo_on_an_existing_cluster_is_named_as_a_typo(
    do: DoSandbox, capsys, extra: dict[str, Any], message: str
) -> None:
    apply(do, capsys)
    mark = do.mark()
    result = apply(do, capsys, **extra)
    assert result["failed"] and message in result["msg"], result["msg"]
    assert "cannot change" not in result["msg"]
    assert do.writes(mark) == []
    assert "fra1" in result["msg"] or "s-2vcpu-4gb" in result["msg"]


def test_a_refused_token_names_digitalocean_token(do: DoSandbox, capsys) -> None:
    result = run_module(doks_cluster.main, capsys, args(do, api_token="dop_v1_" + "0" * 64))
    assert result["failed"]
    assert "HTTP 401" in result["msg"] and "DIGITALOCEAN_TOKEN" in result["msg"], result["msg"]
    assert "doks_cluster_api_token" in result["msg"]


# ---------------------------------------------------------------------- faults
def test_429_then_success_honours_the_reset_header(do: DoSandbox, capsys) -> None:
    mark = do.mark()
    reset = int(time.time()) + 3
    do.fault(
        status=429, count=1, method="GET", path="^/v2/kubernetes/clusters$", headers={"ratelimit-reset": str(reset)}
    )
    result = apply(do, capsys)
    assert result["changed"] and not result.get("failed")
    lists = [e for e in do.log(mark) if (e["method"], e["path"]) == ("GET", "/v2/kubernetes/clusters")]
    assert [e["status"] for e in lists[:2]] == [429, 200]
    # the retry waited for the announced reset, not a blind short backoff
    assert lists[1]["time"] >= reset - 0.05
    assert lists[1]["time"] - lists[0]["time"] < 5


def test_503_on_a_read_is_retried(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    mark = do.mark()
    do.fault(status=503, count=1, method="GET", path="^/v2/kubernetes/clusters$")
    result = apply(do, capsys, retry_max_delay=1)
    assert not result["changed"] and not result.get("failed")
    assert [c[2] for c in do.calls(mark)] == [503, 200]


def test_create_that_times_out_is_looked_up_not_repeated(do: DoSandbox, capsys) -> None:
    do.fault(delay=1.5, count=1, method="POST", path="^/v2/kubernetes/clusters$")
    mark = do.mark()
    result = apply(do, capsys, timeout=1)
    assert not result.get("failed"), result.get("msg")
    assert any("exists" in w for w in result["warnings"])
    # one create reached the server (the client gave up waiting for its answer) and none followed
    assert result["api_calls"]["write"] == 1
    assert [c[:2] for c in do.calls(mark) if c[0] == "POST"] == [("POST", "/v2/kubernetes/clusters")]
    clusters = do.api("GET", "/v2/kubernetes/clusters")["kubernetes_clusters"]
    assert [c["name"] for c in clusters] == ["c1"]


def test_5xx_on_create_that_did_not_apply_fails_without_retry(do: DoSandbox, capsys) -> None:
    do.fault(status=500, count=1, method="POST", path="^/v2/kubernetes/clusters$")
    mark = do.mark()
    result = apply(do, capsys)
    assert result["failed"]
    assert "server_error" in result["msg"] and "request_id" in result["msg"]
    assert "nothing was created" in result["msg"]
    assert [w[:2] for w in do.writes(mark)] == [("POST", "/v2/kubernetes/clusters")]
    assert do.cluster("c1") is None


# ---------------------------------------------------------------------- kubeconfig, delete
def test_kubeconfig_expiry_is_sent_and_file_is_private(do: DoSandbox, capsys, tmp_path: Path) -> None:
    path = tmp_path / "kube" / "c1.kubeconfig"
    mark = do.mark()
    apply(do, capsys, kubeconfig_path=str(path), kubeconfig_expiry_seconds=7200)
    fetches = [e for e in do.log(mark) if e["path"].endswith("/kubeconfig")]
    assert [e["query"] for e in fetches] == ["expiry_seconds=7200"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "kind: Config" in path.read_text()
    mark = do.mark()
    again = apply(do, capsys, kubeconfig_path=str(path), kubeconfig_expiry_seconds=7200)
    assert not again["changed"]
    assert do.calls(mark) == [("GET", "/v2/kubernetes/clusters", 200)]
    path.unlink()
    rewritten = apply(do, capsys, kubeconfig_path=str(path), kubeconfig_expiry_seconds=7200)
    assert rewritten["actions"] == [f"write kubeconfig {path}"]
    assert path.exists()


def test_kubeconfig_whose_token_was_revoked_is_renewed(do: DoSandbox, capsys, tmp_path: Path) -> None:
    """A revoked token (deleted under API > Tokens, see tools/sandbox/tests/test_digitalocean.py) is not
    in the file's expiry header: one GET /api with it answers 401, and the file is fetched again."""
    path = tmp_path / "c1.kubeconfig"
    first = apply(do, capsys, kubeconfig_path=str(path))
    assert first["kubeconfig_current"] and probe(str(path)).state == OK
    sb.admin(do.endpoints, "digitalocean", "POST", "revoke_kubeconfig_tokens", {"cluster_id": first["cluster"]["id"]})
    assert probe(str(path)).state == REJECTED
    check = apply(do, capsys, kubeconfig_path=str(path), _ansible_check_mode=True)
    assert check["changed"] and not check["kubeconfig_current"]
    assert probe(str(path)).state == REJECTED
    mark = do.mark()
    renewed = apply(do, capsys, kubeconfig_path=str(path))
    assert renewed["actions"] == [f"write kubeconfig {path} (the cluster refused its token: expired or revoked)"]
    assert [e["path"].rsplit("/", 1)[-1] for e in do.log(mark)] == ["clusters", "kubeconfig"]
    assert renewed["kubeconfig_current"] and probe(str(path)).state == OK
    assert not apply(do, capsys, kubeconfig_path=str(path))["changed"]


def test_kubeconfig_kept_when_the_cluster_does_not_answer(do: DoSandbox, capsys, tmp_path: Path) -> None:
    """No answer is no verdict: the file stays (the Kubernetes tasks report the outage themselves)."""
    path = tmp_path / "c1.kubeconfig"
    apply(do, capsys, kubeconfig_path=str(path))
    before = path.read_text()
    mark = sb.last_seq(do.endpoints, "kubernetes")
    sb.fault(do.endpoints, "kubernetes", action="reset", path="/api$", count=1)
    again = apply(do, capsys, kubeconfig_path=str(path))
    assert not again["changed"] and again["kubeconfig_current"]
    probes = [e for e in sb.requests(do.endpoints, "kubernetes", mark) if e["path"].endswith("/api")]
    assert len(probes) == 1 and probes[0]["fault"], probes
    assert path.read_text() == before


def test_kubeconfig_returned_on_request(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    mark = do.mark()
    result = apply(do, capsys, return_kubeconfig=True, kubeconfig_expiry_seconds=900)
    assert not result["changed"]
    assert "kind: Config" in result["kubeconfig"] and "token: dop_v1_" in result["kubeconfig"]
    assert [e["query"] for e in do.log(mark) if e["path"].endswith("/kubeconfig")] == ["expiry_seconds=900"]


def test_state_absent_deletes(do: DoSandbox, capsys) -> None:
    apply(do, capsys)
    result = run_module(doks_cluster.main, capsys, do.conn(name="c1", state="absent", poll_interval=0.1))
    assert result["changed"]
    assert do.cluster("c1") is None
    again = run_module(doks_cluster.main, capsys, do.conn(name="c1", state="absent"))
    assert not again["changed"]
