"""The planning of doks.gitops.doks_cluster (plugins/module_utils/doks.py), without HTTP.

Each test gives plain data - the module's parameters and a cluster as DigitalOcean API v2 returns
it (openapi ``specification/resources/kubernetes/models/cluster.yml``, ``node_pool.yml``) - and
asserts on the plan: the calls, the actions, the warnings, the error and the diff.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import doks

CID = "bd5f5959-5e1e-4205-a714-a914373942af"


def params(**extra: Any) -> dict[str, Any]:
    """The module's parameters as AnsibleModule hands them over (defaults filled in)."""
    base: dict[str, Any] = {
        "name": "c1",
        "state": "present",
        "region": "fra1",
        "version": "latest",
        "upgrade": False,
        "vpc_uuid": None,
        "tags": None,
        "ha": None,
        "auto_upgrade": None,
        "surge_upgrade": None,
        "maintenance_policy": None,
        "control_plane_firewall": None,
        "node_pools": [pool("base", count=2)],
        "purge_node_pools": False,
        "dns_owner_id": None,
        "dns_domain_filters": [],
    }
    base.update(extra)
    return base


def pool(name: str, size: str = "s-2vcpu-4gb", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "size": size,
        "count": None,
        "auto_scale": False,
        "min_nodes": None,
        "max_nodes": None,
        "tags": None,
        "labels": None,
        "taints": None,
    }
    base.update(extra)
    return base


def api_pool(name: str, count: int = 2, **extra: Any) -> dict[str, Any]:
    """A node pool as the API returns it, DOKS's own tags included."""
    base: dict[str, Any] = {
        "id": "pool-" + name,
        "name": name,
        "size": "s-2vcpu-4gb",
        "count": count,
        "auto_scale": False,
        "min_nodes": 0,
        "max_nodes": 0,
        "tags": ["k8s", "k8s:" + CID, "k8s-worker"],
        "labels": None,
        "taints": [],
        "nodes": [{"id": f"n{i}", "name": f"{name}-{i}", "status": {"state": "running"}} for i in range(count)],
    }
    base.update(extra)
    return base


def api_cluster(*pools: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": CID,
        "name": "c1",
        "region": "fra1",
        "version": "1.33.5-do.1",
        "endpoint": f"https://{CID}.k8s.ondigitalocean.com",
        "status": {"state": "running"},
        "vpc_uuid": "vpc-1",
        "tags": ["k8s", "k8s:" + CID],
        "auto_upgrade": False,
        "surge_upgrade": True,
        "ha": False,
        "maintenance_policy": {"day": "any", "start_time": "00:00", "duration": "4h0m0s"},
        "control_plane_firewall": None,
        "node_pools": list(pools) or [api_pool("base")],
    }
    base.update(extra)
    return base


def methods(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(method, path.replace("/v2/kubernetes/clusters/" + CID, "")) for method, path, _ in plan["calls"]]


# ---------------------------------------------------------------------- create
def test_create_body_sends_only_what_is_declared() -> None:
    """Omitted settings are the API's choice (``ha`` is version-dependent), so they are not sent."""
    body = doks.create_body(params(tags=["gitops"], node_pools=[pool("base", count=2)]), "1.33.5-do.1")
    assert body == {
        "name": "c1",
        "region": "fra1",
        "version": "1.33.5-do.1",
        "tags": ["gitops"],
        "node_pools": [{"name": "base", "size": "s-2vcpu-4gb", "auto_scale": False, "count": 2}],
    }


def test_autoscaled_pool_without_count_starts_at_its_lower_bound_but_never_empty() -> None:
    body = doks.pool_create_body(pool("tools", auto_scale=True, min_nodes=0, max_nodes=3))
    assert (body["count"], body["min_nodes"], body["max_nodes"]) == (1, 0, 3)
    assert doks.pool_create_body(pool("tools", auto_scale=True, min_nodes=2, max_nodes=3))["count"] == 2


def test_create_sends_the_firewall_and_sorted_unique_taints() -> None:
    firewall = {"enabled": True, "allowed_addresses": ["2.2.2.2", "1.1.0.0/16", "2.2.2.2"]}
    taints = [{"key": "b", "value": None, "effect": "NoSchedule"}, {"key": "a", "value": "x", "effect": "NoExecute"}]
    body = doks.create_body(
        params(control_plane_firewall=firewall, node_pools=[pool("t", count=1, taints=taints)]), "v"
    )
    assert body["control_plane_firewall"] == {"enabled": True, "allowed_addresses": ["1.1.0.0/16", "2.2.2.2"]}
    assert body["node_pools"][0]["taints"] == [
        {"key": "a", "value": "x", "effect": "NoExecute"},
        {"key": "b", "value": "", "effect": "NoSchedule"},
    ]


@pytest.mark.parametrize(
    ("slug", "ha"), [("1.33.5-do.1", False), ("1.35.9-do.0", False), ("1.36.0-do.0", True), ("1.37.1-do.2", True)]
)
def test_check_mode_plans_digitaloceans_ha_default(slug: str, ha: bool) -> None:
    """models/cluster.yml: "for DOKS 1.36.0 and later, the default is true; for earlier versions, false"."""
    planned = doks.planned_create(doks.create_body(params(), slug))
    assert planned["ha"] is ha
    assert planned["id"] is None and planned["status"] == {"state": "provisioning"}
    assert doks.planned_create(doks.create_body(params(ha=False), "1.37.1-do.2"))["ha"] is False


@pytest.mark.parametrize(
    ("wanted", "slug"),
    [("latest", "1.34.1-do.0"), ("1.33", "1.33.5-do.1"), ("1.33.4", "1.33.4-do.2"), ("1.33.5-do.1", "1.33.5-do.1")],
)
def test_version_resolves_to_the_newest_matching_offered_slug(wanted: str, slug: str) -> None:
    options = {"versions": [{"slug": s} for s in ("1.33.4-do.2", "1.33.5-do.1", "1.34.1-do.0")]}
    assert doks.create_version(wanted, options) == (slug, "")


def test_version_that_matches_nothing_names_what_is_offered() -> None:
    slug, problem = doks.create_version("1.3", {"versions": [{"slug": "1.33.5-do.1"}]})
    assert slug is None and "1.33.5-do.1" in problem
    # a prefix matches at a dot or dash boundary only: 1.3 is not 1.33
    assert doks.resolve_version("1.3", ["1.33.5-do.1"]) is None
    assert doks.resolve_version("1.33", ["1.33.9-do.0", "1.33.10-do.0"]) == "1.33.10-do.0"


# ---------------------------------------------------------------------- no change
def test_a_cluster_as_declared_plans_nothing() -> None:
    cluster = api_cluster(
        api_pool("base", labels={"a": "b"}, taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])
    )
    declared = params(
        tags=[],
        surge_upgrade=True,
        maintenance_policy={"day": "any", "start_time": None},
        node_pools=[
            pool(
                "base", count=2, tags=[], labels={"a": "b"}, taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]
            )
        ],
    )
    plan = doks.plan(declared, cluster)
    assert plan["calls"] == [] and plan["actions"] == [] and plan["warnings"] == [] and plan["error"] is None
    assert doks.diff(cluster, doks.planned(cluster, plan))["before"] == doks.diff(cluster, cluster)["after"]


def test_doks_own_tags_are_not_drift() -> None:
    """DOKS adds k8s, k8s:<id> and k8s-worker itself (models/node_pool.yml)."""
    plan = doks.plan(params(tags=[], node_pools=[pool("base", count=2, tags=[])]), api_cluster())
    assert plan["calls"] == []


def test_omitted_options_leave_the_cluster_as_it_is() -> None:
    cluster = api_cluster(
        api_pool("base", labels={"x": "y"}, taints=[{"key": "k", "value": "", "effect": "NoSchedule"}], tags=["team"]),
        tags=["manual"],
        auto_upgrade=True,
        ha=True,
        control_plane_firewall={"enabled": True, "allowed_addresses": ["1.2.3.4"]},
    )
    assert doks.plan(params(), cluster)["calls"] == []


# ---------------------------------------------------------------------- pools
def test_pool_resize_sends_the_whole_pool_with_the_new_count() -> None:
    plan = doks.plan(params(node_pools=[pool("base", count=3)]), api_cluster())
    assert plan["actions"] == ["update node pool base: count"]
    assert methods(plan) == [("PUT", "/node_pools/pool-base")]
    assert plan["calls"][0][2] == {
        "name": "base",
        "count": 3,
        "auto_scale": False,
        "min_nodes": 0,
        "max_nodes": 0,
        "tags": [],
        "labels": {},
        "taints": [],
    }
    after = doks.planned(api_cluster(), plan)
    assert doks.diff(api_cluster(), after)["after"]["node_pools"]["base"]["count"] == 3


def test_turning_on_autoscaling_moves_the_count_into_the_bounds_only_when_outside() -> None:
    inside = doks.plan(params(node_pools=[pool("base", auto_scale=True, min_nodes=1, max_nodes=3)]), api_cluster())
    assert inside["actions"] == ["update node pool base: auto_scale, min_nodes, max_nodes"]
    assert inside["calls"][0][2]["count"] == 2
    above = doks.plan(params(node_pools=[pool("base", auto_scale=True, min_nodes=0, max_nodes=1)]), api_cluster())
    assert above["actions"] == ["update node pool base: auto_scale, max_nodes, count"]
    assert above["calls"][0][2]["count"] == 1


def test_an_autoscaled_pool_count_belongs_to_the_autoscaler() -> None:
    """With auto-scaling the declared count only counts on create; a pool the autoscaler grew is no drift."""
    cluster = api_cluster(api_pool("tools", count=3, auto_scale=True, min_nodes=1, max_nodes=4))
    declared = params(node_pools=[pool("tools", count=1, auto_scale=True, min_nodes=1, max_nodes=4)])
    assert doks.plan(declared, cluster)["calls"] == []


def test_turning_off_autoscaling_zeroes_the_bounds() -> None:
    cluster = api_cluster(api_pool("tools", count=3, auto_scale=True, min_nodes=1, max_nodes=4))
    plan = doks.plan(params(node_pools=[pool("tools", count=3)]), cluster)
    assert plan["actions"] == ["update node pool tools: auto_scale"]
    body = plan["calls"][0][2]
    assert (body["auto_scale"], body["min_nodes"], body["max_nodes"], body["count"]) == (False, 0, 0, 3)


def test_a_new_pool_is_created_after_the_cluster_update_and_before_pool_updates() -> None:
    declared = params(tags=["gitops"], node_pools=[pool("base", count=3), pool("tools", count=1)])
    plan = doks.plan(declared, api_cluster())
    assert plan["actions"] == ["update cluster c1: tags", "update node pool base: count", "create node pool tools"]
    assert methods(plan) == [("PUT", ""), ("POST", "/node_pools"), ("PUT", "/node_pools/pool-base")]
    assert plan["calls"][1][2] == {"name": "tools", "size": "s-2vcpu-4gb", "auto_scale": False, "count": 1}
    after = doks.planned(api_cluster(), plan)
    assert [p["name"] for p in after["node_pools"]] == ["base", "tools"]
    assert after["node_pools"][1]["id"] is None


def test_an_undeclared_pool_is_kept_and_reported() -> None:
    cluster = api_cluster(api_pool("base"), api_pool("manual"))
    plan = doks.plan(params(), cluster)
    assert plan["calls"] == [] and plan["unmanaged"] == ["manual"]
    assert plan["warnings"] == ["node pools not declared, kept (set purge_node_pools: true to delete them): manual"]


def test_an_undeclared_pool_is_deleted_with_purge() -> None:
    cluster = api_cluster(api_pool("base"), api_pool("manual"))
    plan = doks.plan(params(purge_node_pools=True), cluster)
    assert methods(plan) == [("DELETE", "/node_pools/pool-manual")]
    assert plan["actions"] == ["delete node pool manual"] and plan["unmanaged"] == [] and plan["warnings"] == []
    assert list(doks.diff(cluster, doks.planned(cluster, plan))["after"]["node_pools"]) == ["base"]


# ---------------------------------------------------------------------- tags, labels, taints
def test_pool_tags_labels_and_taints_are_replaced_and_empty_clears() -> None:
    cluster = api_cluster(
        api_pool("base", labels={"old": "1"}, taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}], tags=["x"])
    )
    taints = [{"key": "n", "value": "", "effect": "NoExecute"}]
    plan = doks.plan(params(node_pools=[pool("base", count=2, tags=["y", "y"], labels={}, taints=taints)]), cluster)
    assert plan["actions"] == ["update node pool base: tags, labels, taints"]
    body = plan["calls"][0][2]
    assert (body["tags"], body["labels"], body["taints"]) == (["y"], {}, taints)


def test_labels_are_compared_whole_not_as_a_subset() -> None:
    """A label removed from the declaration is removed from the pool (the PUT replaces the map)."""
    cluster = api_cluster(api_pool("base", labels={"a": "1", "b": "2"}))
    plan = doks.plan(params(node_pools=[pool("base", count=2, labels={"a": "1"})]), cluster)
    assert plan["calls"][0][2]["labels"] == {"a": "1"}


def test_taint_order_and_missing_value_are_no_drift() -> None:
    have = [{"key": "b", "value": "", "effect": "NoSchedule"}, {"key": "a", "value": "1", "effect": "NoSchedule"}]
    want = [{"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "b", "value": None, "effect": "NoSchedule"}]
    cluster = api_cluster(api_pool("base", taints=have))
    assert doks.plan(params(node_pools=[pool("base", count=2, taints=want)]), cluster)["calls"] == []


def test_cluster_settings_keep_what_is_not_declared_in_the_put() -> None:
    cluster = api_cluster(
        tags=["k8s", "keep"], control_plane_firewall={"enabled": True, "allowed_addresses": ["9.9.9.9"]}
    )
    plan = doks.plan(params(auto_upgrade=True, maintenance_policy={"day": "sunday", "start_time": None}), cluster)
    assert plan["actions"] == ["update cluster c1: auto_upgrade, maintenance_policy"]
    assert plan["calls"][0] == (
        "PUT",
        "/v2/kubernetes/clusters/" + CID,
        {
            "name": "c1",
            "tags": ["keep"],
            "auto_upgrade": True,
            "surge_upgrade": True,
            "ha": False,
            "maintenance_policy": {"day": "sunday", "start_time": "00:00"},
            "control_plane_firewall": {"enabled": True, "allowed_addresses": ["9.9.9.9"]},
        },
    )
    after = doks.diff(cluster, doks.planned(cluster, plan))["after"]
    assert after["maintenance_policy"] == {"day": "sunday", "start_time": "00:00", "duration": "4h0m0s"}


def test_firewall_addresses_compare_as_a_set_and_null_is_off() -> None:
    cluster = api_cluster(control_plane_firewall={"enabled": True, "allowed_addresses": ["2.2.2.2", "1.1.1.1"]})
    same = {"enabled": True, "allowed_addresses": ["1.1.1.1", "2.2.2.2", "1.1.1.1"]}
    assert doks.plan(params(control_plane_firewall=same), cluster)["calls"] == []
    off = doks.plan(params(control_plane_firewall={"enabled": False, "allowed_addresses": []}), api_cluster())
    assert off["calls"] == []


# ---------------------------------------------------------------------- version
def test_a_version_the_cluster_does_not_run_is_a_warning_without_upgrade() -> None:
    cluster = api_cluster()
    assert not doks.needs_upgrades(params(version="1.34"), cluster)
    plan = doks.plan(params(version="1.34"), cluster)
    assert plan["calls"] == [] and plan["upgrade"] is None
    assert plan["warnings"] == ["cluster c1 runs 1.33.5-do.1 but version is '1.34'; set upgrade: true to upgrade it"]
    assert doks.plan(params(version="latest"), cluster)["warnings"] == []


def test_upgrade_goes_to_the_newest_matching_available_version() -> None:
    cluster = api_cluster()
    declared = params(version="1.34", upgrade=True)
    assert doks.needs_upgrades(declared, cluster)
    plan = doks.plan(declared, cluster, ["1.33.6-do.0", "1.34.1-do.0", "1.34.2-do.1"])
    assert plan["actions"] == ["upgrade cluster c1 from 1.33.5-do.1 to 1.34.2-do.1"]
    assert plan["calls"][-1] == ("POST", f"/v2/kubernetes/clusters/{CID}/upgrade", {"version": "1.34.2-do.1"})
    assert doks.planned(cluster, plan)["version"] == "1.34.2-do.1"


def test_upgrade_to_a_version_already_run_reads_nothing() -> None:
    declared = params(version="1.33", upgrade=True)
    assert not doks.needs_upgrades(declared, api_cluster())
    assert doks.plan(declared, api_cluster())["calls"] == []


def test_upgrade_to_latest_with_nothing_available_is_no_change_but_an_explicit_version_fails() -> None:
    assert doks.needs_upgrades(params(upgrade=True), api_cluster())
    assert doks.plan(params(upgrade=True), api_cluster(), [])["calls"] == []
    plan = doks.plan(params(version="1.35", upgrade=True), api_cluster(), ["1.34.1-do.0"])
    assert plan["error"] == (
        "version '1.35' is not an available upgrade for cluster c1 (runs 1.33.5-do.1; available: 1.34.1-do.0)"
    )
    assert plan["upgrade"] is None


# ---------------------------------------------------------------------- what cannot change
@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"region": "ams3"}, "a region cannot change"),
        ({"vpc_uuid": "vpc-2"}, "vpc_uuid cannot change"),
        ({"node_pools": [pool("base", size="s-4vcpu-8gb", count=2)]}, "a pool's size cannot change"),
    ],
)
def test_what_the_api_cannot_change_is_refused(declared: dict[str, Any], message: str) -> None:
    assert message in (doks.immutable_problem(params(**declared), api_cluster()) or "")


def test_ha_can_be_turned_on_never_off() -> None:
    assert doks.immutable_problem(params(ha=True), api_cluster()) is None
    assert doks.plan(params(ha=True), api_cluster())["actions"] == ["update cluster c1: ha"]
    assert "ha cannot be turned off" in (doks.immutable_problem(params(ha=False), api_cluster(ha=True)) or "")


def test_options_are_read_only_on_a_difference() -> None:
    """/v2/kubernetes/options is one GET: asked for a new pool, another size or region, never on a no-op."""
    assert not doks.needs_options(params(), api_cluster())
    assert doks.needs_options(params(node_pools=[pool("base", count=2), pool("new", count=1)]), api_cluster())
    assert doks.needs_options(params(region="ams3"), api_cluster())


def test_a_size_doks_does_not_offer_is_a_typo_with_the_nearest_slugs() -> None:
    options = {"regions": [{"slug": "fra1"}], "sizes": [{"slug": "s-2vcpu-4gb"}, {"slug": "s-4vcpu-8gb"}]}
    problem = doks.offered_problem(params(node_pools=[pool("base", size="S-2VCPU-4GB", count=1)]), options)
    assert problem and "nearest: s-2vcpu-4gb" in problem
    assert "use one of fra1" in (doks.offered_problem(params(region="xyz1"), options) or "")
    assert doks.offered_problem(params(), options) is None


# ---------------------------------------------------------------------- input, diff, readiness
@pytest.mark.parametrize(
    ("declared", "fragment"),
    [
        ({"name": "C1"}, "name 'C1' must be lowercase"),
        ({"region": None}, "region is required"),
        ({"node_pools": []}, "at least one node pool"),
        ({"node_pools": [pool("a", count=1), pool("a", count=1)]}, "duplicate node pool name"),
        ({"node_pools": [pool("a")]}, "count is required unless auto_scale"),
        ({"node_pools": [pool("a", auto_scale=True, min_nodes=3, max_nodes=2)]}, "min_nodes (3) is greater"),
        ({"node_pools": [pool("a", auto_scale=True, count=5, min_nodes=1, max_nodes=2)]}, "count 5 is outside"),
        ({"tags": ["bad tag"]}, "a tag is 1-255 letters"),
        ({"maintenance_policy": {"day": "monday", "start_time": "25:00"}}, "must be HH:MM"),
        ({"control_plane_firewall": {"enabled": True, "allowed_addresses": []}}, "enabled with no allowed_addresses"),
        ({"dns_owner_id": "prod"}, "dns_domain_filters is empty"),
    ],
)
def test_bad_input_is_named_before_any_call(declared: dict[str, Any], fragment: str) -> None:
    assert any(fragment in e for e in doks.validate(params(**declared))), doks.validate(params(**declared))


def test_absent_needs_no_region_or_pools() -> None:
    assert doks.validate(params(state="absent", region=None, node_pools=None)) == []


def test_diff_shows_managed_settings_and_pools_by_name_without_ids_or_nodes() -> None:
    view = doks.diff(None, api_cluster())
    assert view["before"] == {}
    after = view["after"]
    assert "id" not in after and "endpoint" not in after and "status" not in after
    assert after["node_pools"]["base"] == {
        "size": "s-2vcpu-4gb",
        "count": 2,
        "auto_scale": False,
        "min_nodes": 0,
        "max_nodes": 0,
        "tags": [],
        "labels": {},
        "taints": [],
    }


def test_ready_waits_for_every_declared_pool_node_but_not_for_undeclared_pools() -> None:
    cluster = api_cluster(api_pool("base"), api_pool("manual", nodes=[]))
    assert doks.ready(cluster, ["base"])
    assert not doks.ready(cluster, ["base", "manual"])
    assert not doks.ready(dict(cluster, status={"state": "provisioning"}), ["base"])
    short = copy.deepcopy(cluster)
    short["node_pools"][0]["nodes"].pop()
    assert not doks.ready(short, ["base"])
