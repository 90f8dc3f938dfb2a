# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning for doks.gitops.doks_cluster: pure functions on plain data, no HTTP.

The module reads (the cluster list, and only when needed ``/v2/kubernetes/options`` and the
cluster's available upgrades), hands what it read to these functions, and applies the plan they
return. Every function here takes and returns dicts, lists and strings, so the decisions - what
to create, which fields drift, which version to upgrade to, what ``--diff`` shows - are tested
without a server (tests/unit/plugins/module_utils/test_doks.py).

Comparison is a subset rule: an option the user omitted is not compared (left as it is); a given
one is compared with the API's value after both are normalised (user tags without DOKS's own,
taints sorted, the firewall's addresses as a set).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.doks.gitops.plugins.module_utils.preflight import firewall_address_problem

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Tag names (openapi specification/resources/tags/models/tags.yml): "Tags may contain letters,
# numbers, colons, dashes, and underscores. There is a limit of 255 characters per tag."
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
CLUSTERS = "/v2/kubernetes/clusters"
OPTIONS = "/v2/kubernetes/options"
# Cluster settings the PUT carries, in the order a change is reported.
CLUSTER_FIELDS = ("tags", "auto_upgrade", "surge_upgrade", "ha", "maintenance_policy", "control_plane_firewall")
# Node pool settings the PUT carries, in the order a change is reported.
POOL_FIELDS = ("auto_scale", "min_nodes", "max_nodes", "count", "tags", "labels", "taints")


# ------------------------------------------------------------------------- normalisation
def user_tags(tags: Optional[List[str]]) -> List[str]:
    """Tags without the ones DOKS adds: ``k8s``, ``k8s:<cluster id>`` and, on node pools,
    ``k8s-worker`` (openapi specification/resources/kubernetes/models/node_pool.yml); any other
    ``k8s:`` tag is DigitalOcean's too."""
    return sorted(t for t in (tags or []) if t not in ("k8s", "k8s-worker") and not t.startswith("k8s:"))


def norm_taints(taints: Optional[List[Dict[str, Any]]]) -> List[Dict[str, str]]:
    items = [{"key": t["key"], "value": str(t.get("value") or ""), "effect": t["effect"]} for t in (taints or [])]
    return sorted(items, key=lambda t: (t["key"], t["effect"], t["value"]))


def firewall_summary(firewall: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The control-plane firewall as compared and shown: null (never set) is off with no address."""
    firewall = firewall or {}
    return {
        "enabled": bool(firewall.get("enabled")),
        "allowed_addresses": sorted(set(firewall.get("allowed_addresses") or [])),
    }


def pool_summary(pool: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "id": pool.get("id"),
        "name": pool["name"],
        "size": pool.get("size"),
        "count": pool.get("count"),
        "auto_scale": bool(pool.get("auto_scale")),
        "min_nodes": pool.get("min_nodes") or 0,
        "max_nodes": pool.get("max_nodes") or 0,
        "tags": user_tags(pool.get("tags")),
        "labels": dict(pool.get("labels") or {}),
        "taints": norm_taints(pool.get("taints")),
        "nodes": [
            {
                "id": n.get("id"),
                "name": n.get("name"),
                "status": (n.get("status") or {}).get("state"),
                "droplet_id": n.get("droplet_id"),
            }
            for n in pool.get("nodes") or []
        ],
    }


def cluster_summary(cluster: Dict[str, Any]) -> Dict[str, Any]:
    """The cluster as the module returns it (RV(cluster))."""
    return {
        "id": cluster.get("id"),
        "name": cluster["name"],
        "region": cluster.get("region"),
        "version": cluster.get("version"),
        "endpoint": cluster.get("endpoint") or "",
        "status": (cluster.get("status") or {}).get("state"),
        "vpc_uuid": cluster.get("vpc_uuid"),
        "tags": user_tags(cluster.get("tags")),
        "auto_upgrade": bool(cluster.get("auto_upgrade")),
        "surge_upgrade": bool(cluster.get("surge_upgrade")),
        "ha": bool(cluster.get("ha")),
        "maintenance_policy": dict(cluster.get("maintenance_policy") or {}),
        "control_plane_firewall": firewall_summary(cluster.get("control_plane_firewall")),
        "node_pools": [pool_summary(p) for p in cluster.get("node_pools") or []],
    }


def diff_view(cluster: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What --diff shows of a cluster (as the API or a plan has it): managed settings, pools by
    name, no node lists or ids; ``{}`` for no cluster."""
    if not cluster:
        return {}
    summary = cluster_summary(cluster)
    view = {k: v for k, v in summary.items() if k not in ("id", "endpoint", "status", "node_pools")}
    view["node_pools"] = {
        p["name"]: {k: v for k, v in p.items() if k not in ("id", "name", "nodes")} for p in summary["node_pools"]
    }
    return view


def changed_keys(desired: Dict[str, Any], current: Dict[str, Any], whole: Tuple[str, ...] = ()) -> List[str]:
    """The keys of ``desired`` whose value ``current`` does not hold. A dict value is compared as a
    subset (its omitted keys are left alone), except under the keys in ``whole``, compared whole."""

    def holds(want: Any, have: Any) -> bool:
        if isinstance(want, dict):
            return isinstance(have, dict) and all(holds(v, have.get(k)) for k, v in want.items())
        return want == have

    return [k for k, v in desired.items() if (v != current.get(k) if k in whole else not holds(v, current.get(k)))]


# ------------------------------------------------------------------------- versions
def version_key(slug: str) -> Tuple[int, ...]:
    numbers = re.findall(r"\d+", slug)
    return tuple(int(n) for n in numbers)


def version_matches(slug: str, wanted: str) -> bool:
    if wanted == "latest":
        return True
    return slug == wanted or slug.startswith(wanted + ".") or slug.startswith(wanted + "-")


def ha_default(slug: str) -> bool:
    """DigitalOcean's ``ha`` when a create omits it: "When omitted on create, the default is
    version-dependent; for DOKS 1.36.0 and later, the default is true; for earlier versions, the
    default is false." (openapi specification/resources/kubernetes/models/cluster.yml)."""
    return version_key(slug.split("-", 1)[0])[:3] >= (1, 36, 0)


def resolve_version(wanted: str, offered: List[str]) -> Optional[str]:
    """The newest offered slug matching ``wanted`` (slug, prefix or ``latest``)."""
    candidates = [s for s in offered if version_matches(s, wanted)]
    return max(candidates, key=version_key) if candidates else None


def create_version(wanted: str, options: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """The slug to create with, from ``/v2/kubernetes/options``, or None and why not."""
    offered = [v["slug"] for v in options.get("versions") or []]
    slug = resolve_version(wanted, offered)
    if slug is None:
        return None, "version %r matches no DOKS version offered (%s)" % (wanted, ", ".join(offered) or "none")
    return slug, ""


def needs_upgrades(params: Dict[str, Any], cluster: Dict[str, Any]) -> bool:
    """Whether the plan needs the cluster's available upgrades (one GET): only with upgrade=true
    and a version the cluster does not run (``latest`` always asks)."""
    wanted = params["version"]
    return bool(params["upgrade"]) and not (wanted != "latest" and version_matches(cluster["version"], wanted))


def upgrade_decision(
    params: Dict[str, Any], cluster: Dict[str, Any], available: Optional[List[str]]
) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """``(target, warning, error)`` for the cluster's version. Without upgrade=true a different
    version is only a warning; with it, the newest matching available upgrade is the target, and
    none matching an explicit version is an error (``latest`` with none available is no change)."""
    wanted, current = params["version"], cluster["version"]
    if wanted != "latest" and version_matches(current, wanted):
        return None, None, None
    if not params["upgrade"]:
        if wanted == "latest":
            return None, None, None
        warning = "cluster %s runs %s but version is %r; set upgrade: true to upgrade it" % (
            cluster["name"],
            current,
            wanted,
        )
        return None, warning, None
    target = resolve_version(wanted, available or [])
    if target is None and wanted != "latest":
        error = "version %r is not an available upgrade for cluster %s (runs %s; available: %s)" % (
            wanted,
            cluster["name"],
            current,
            ", ".join(available or []) or "none",
        )
        return None, None, error
    return target, None, None


# ------------------------------------------------------------------------- input checks
def validate(params: Dict[str, Any]) -> List[str]:
    """Every problem with the declaration, found before any API call."""
    errors: List[str] = []
    if not NAME_RE.match(params["name"]):
        errors.append("name %r must be lowercase letters, digits and dashes" % params["name"])
    errors.extend(_validate_dns(params))
    if params["state"] == "absent":
        return errors
    if not params.get("region"):
        errors.append("region is required with state=present (for example fra1)")
    pools = params.get("node_pools") or []
    if not pools:
        errors.append("node_pools must declare at least one node pool with state=present")
    seen = set()
    for index, pool in enumerate(pools):
        where = "node_pools[%d] (%s)" % (index, pool.get("name"))
        if not NAME_RE.match(pool["name"] or ""):
            errors.append("%s: name must be lowercase letters, digits and dashes" % where)
        if pool["name"] in seen:
            errors.append("%s: duplicate node pool name; every pool needs its own name" % where)
        seen.add(pool["name"])
        errors.extend(_validate_scaling(pool, where))
        keys = [(t["key"], t["effect"]) for t in pool.get("taints") or []]
        if len(set(keys)) != len(keys):
            errors.append("%s: taints repeat the same key and effect" % where)
    for where, tags in [("tags", params.get("tags"))] + [
        ("node_pools[%d] (%s).tags" % (i, p.get("name")), p.get("tags")) for i, p in enumerate(pools)
    ]:
        bad = [t for t in tags or [] if not TAG_RE.match(t)]
        if bad:
            errors.append(
                "%s: %s - a tag is 1-255 letters, digits, colons, dashes and underscores"
                % (where, ", ".join(repr(t) for t in bad))
            )
    errors.extend(_validate_firewall(params.get("control_plane_firewall")))
    policy = params.get("maintenance_policy") or {}
    start = policy.get("start_time")
    if start is not None and not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", start):
        errors.append("maintenance_policy.start_time %r must be HH:MM (UTC)" % start)
    return errors


def _validate_firewall(firewall: Optional[Dict[str, Any]]) -> List[str]:
    if not firewall:
        return []
    addresses = firewall.get("allowed_addresses") or []
    errors = [
        "control_plane_firewall.allowed_addresses: %r %s" % (a, firewall_address_problem(a))
        for a in addresses
        if firewall_address_problem(a)
    ]
    if firewall.get("enabled") and not addresses:
        errors.append(
            "control_plane_firewall is enabled with no allowed_addresses: nothing could reach the Kubernetes "
            "API, not even the roles after this one; list the public addresses of AWX/CI and your workstation"
        )
    return errors


def _validate_dns(params: Dict[str, Any]) -> List[str]:
    owner = params.get("dns_owner_id")
    if owner is not None and not owner.strip():
        return ["dns_owner_id is empty: give the external-dns --txt-owner-id of this cluster, or omit it"]
    if owner and not params.get("dns_domain_filters"):
        return ["dns_domain_filters is empty: with dns_owner_id, give the external-dns --domain-filter zones"]
    return []


def _validate_scaling(pool: Dict[str, Any], where: str) -> List[str]:
    count, low, high = pool.get("count"), pool.get("min_nodes"), pool.get("max_nodes")
    if not pool.get("auto_scale"):
        if count is None:
            problem = "count is required unless auto_scale is true"
        elif count < 1:
            problem = "count must be at least 1 (got %d)" % count
        else:
            problem = ""
    elif low is None or high is None:
        problem = "auto_scale needs min_nodes and max_nodes"
    elif low < 0 or high < 1:
        problem = "min_nodes must be >= 0 and max_nodes >= 1"
    elif low > high:
        problem = "min_nodes (%d) is greater than max_nodes (%d)" % (low, high)
    elif count is not None and not low <= count <= high:
        problem = "count %d is outside min_nodes..max_nodes (%d..%d)" % (count, low, high)
    else:
        problem = ""
    return ["%s: %s" % (where, problem)] if problem else []


# ------------------------------------------------------------------------- checks against the API
def needs_options(params: Dict[str, Any], current: Dict[str, Any]) -> bool:
    """Whether an existing cluster's declaration must be checked against ``/v2/kubernetes/options``
    (one GET, only on a difference): an unknown region or size is then a typo, not a change."""
    by_name = {pool["name"]: pool for pool in current.get("node_pools") or []}
    if params["region"] != current.get("region"):
        return True
    for want in params["node_pools"]:
        have = by_name.get(want["name"])
        if have is None or have.get("size") != want["size"]:
            return True
    return False


def offered_problem(params: Dict[str, Any], options: Dict[str, Any]) -> Optional[str]:
    """A region or droplet size DOKS does not offer, naming the valid ones (or the nearest)."""
    regions = [r["slug"] for r in options.get("regions") or []]
    sizes = [s["slug"] for s in options.get("sizes") or []]
    if regions and params["region"] not in regions:
        return "region %r is not a region DOKS offers; use one of %s" % (params["region"], ", ".join(sorted(regions)))
    for pool in params["node_pools"]:
        if sizes and pool["size"] not in sizes:
            near = difflib.get_close_matches(pool["size"].lower(), sizes, n=3, cutoff=0.6)
            return "node_pools %s: size %r is not a droplet size slug DOKS offers (slugs are lower case%s)" % (
                pool["name"],
                pool["size"],
                "; nearest: " + ", ".join(near) if near else "",
            )
    return None


def immutable_problem(params: Dict[str, Any], current: Dict[str, Any]) -> Optional[str]:
    """A declared change the API cannot make on an existing cluster (region, VPC, HA off, pool size)."""
    if params["region"] != current.get("region"):
        return "region is %s but cluster %s is in %s; a region cannot change (create a new cluster)" % (
            params["region"],
            current["name"],
            current.get("region"),
        )
    if params.get("vpc_uuid") and params["vpc_uuid"] != current.get("vpc_uuid"):
        return "vpc_uuid cannot change on an existing cluster (it is %s)" % current.get("vpc_uuid")
    if params.get("ha") is False and current.get("ha"):
        return "ha cannot be turned off once the control plane is highly available"
    by_name = {pool["name"]: pool for pool in current.get("node_pools") or []}
    for want in params["node_pools"]:
        have = by_name.get(want["name"])
        if have is not None and have.get("size") != want["size"]:
            return (
                "node_pools %s: size is %s but the pool runs %s; a pool's size cannot change "
                "(add a pool with a new name instead)" % (want["name"], want["size"], have.get("size"))
            )
    return None


# ------------------------------------------------------------------------- desired state
def pool_create_body(pool: Dict[str, Any]) -> Dict[str, Any]:
    """The POST body of a declared pool; with auto-scaling and no count, it starts at max(min_nodes, 1)."""
    body: Dict[str, Any] = {"name": pool["name"], "size": pool["size"], "auto_scale": bool(pool["auto_scale"])}
    if pool["auto_scale"]:
        body.update(min_nodes=pool["min_nodes"], max_nodes=pool["max_nodes"])
        body["count"] = pool["count"] if pool.get("count") is not None else max(pool["min_nodes"], 1)
    else:
        body["count"] = pool["count"]
    for key in ("tags", "labels"):
        if pool.get(key) is not None:
            body[key] = pool[key]
    if pool.get("taints") is not None:
        body["taints"] = norm_taints(pool["taints"])
    return body


def create_body(params: Dict[str, Any], version: str) -> Dict[str, Any]:
    """The POST body of a new cluster: the declared settings only (omitted ones are the API's)."""
    body: Dict[str, Any] = {
        "name": params["name"],
        "region": params["region"],
        "version": version,
        "node_pools": [pool_create_body(pool) for pool in params["node_pools"]],
    }
    for key in ("vpc_uuid", "tags", "ha", "auto_upgrade", "surge_upgrade"):
        if params.get(key) is not None:
            body[key] = params[key]
    body.update(declared_policies(params))
    return body


def declared_policies(params: Dict[str, Any]) -> Dict[str, Any]:
    """The maintenance policy (its set fields) and control-plane firewall the user declared, as the
    API carries them; a create sends them and the compare reads them the same way."""
    declared: Dict[str, Any] = {}
    policy = {k: v for k, v in (params.get("maintenance_policy") or {}).items() if v is not None}
    if policy:
        declared["maintenance_policy"] = policy
    if params.get("control_plane_firewall") is not None:
        declared["control_plane_firewall"] = firewall_summary(params["control_plane_firewall"])
    return declared


def planned_create(body: Dict[str, Any]) -> Dict[str, Any]:
    """The cluster a create would make (check mode): the body, provisioning, DigitalOcean's ``ha``
    default when none was sent."""
    planned = dict(body, id=None, status={"state": "provisioning"})
    planned.setdefault("ha", ha_default(body["version"]))
    planned["node_pools"] = [dict(p, id=None, nodes=[]) for p in body["node_pools"]]
    return planned


def desired_cluster(params: Dict[str, Any]) -> Dict[str, Any]:
    """The cluster settings the user declared, normalised as :func:`current_cluster` has them."""
    desired: Dict[str, Any] = {}
    if params.get("tags") is not None:
        desired["tags"] = sorted(set(params["tags"]))
    for flag in ("auto_upgrade", "surge_upgrade", "ha"):
        if params.get(flag) is not None:
            desired[flag] = params[flag]
    desired.update(declared_policies(params))
    return desired


def current_cluster(cluster: Dict[str, Any]) -> Dict[str, Any]:
    """The cluster's settings as its PUT carries them (DigitalOcean's own tags left out)."""
    current: Dict[str, Any] = {
        "name": cluster["name"],
        "tags": user_tags(cluster.get("tags")),
        "auto_upgrade": bool(cluster.get("auto_upgrade")),
        "surge_upgrade": bool(cluster.get("surge_upgrade")),
        "ha": bool(cluster.get("ha")),
        "maintenance_policy": {
            k: v for k, v in (cluster.get("maintenance_policy") or {}).items() if k in ("day", "start_time")
        },
    }
    if cluster.get("control_plane_firewall") is not None:
        current["control_plane_firewall"] = firewall_summary(cluster["control_plane_firewall"])
    return current


def cluster_update(params: Dict[str, Any], cluster: Dict[str, Any]) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    """The cluster PUT body (every managed field explicit, current values kept) and the changed
    fields, or ``(None, [])`` when the cluster holds what is declared."""
    desired = desired_cluster(params)
    current = current_cluster(cluster)
    compared = dict(current, control_plane_firewall=firewall_summary(cluster.get("control_plane_firewall")))
    changed = [k for k in CLUSTER_FIELDS if k in changed_keys(desired, compared)]
    if not changed:
        return None, []
    body = current
    for key in changed:
        body[key] = dict(body[key], **desired[key]) if key == "maintenance_policy" else desired[key]
    return body, changed


def desired_pool(want: Dict[str, Any], current_count: Optional[int]) -> Dict[str, Any]:
    """A declared pool's settings as its PUT carries them. With auto-scaling the autoscaler owns the
    count: only a count outside the new bounds is moved to the nearest bound."""
    desired: Dict[str, Any] = {"auto_scale": want["auto_scale"]}
    if want["auto_scale"]:
        desired.update(min_nodes=want["min_nodes"], max_nodes=want["max_nodes"])
        desired["count"] = min(max(current_count or 0, want["min_nodes"]), want["max_nodes"])
    else:
        desired["count"] = want["count"]
    if want.get("tags") is not None:
        desired["tags"] = sorted(set(want["tags"]))
    if want.get("labels") is not None:
        desired["labels"] = dict(want["labels"])
    if want.get("taints") is not None:
        desired["taints"] = norm_taints(want["taints"])
    return desired


def pool_update(have: Dict[str, Any], want: Dict[str, Any]) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    """The node pool PUT body (name and count always, every field explicit) and the changed fields,
    or ``(None, [])``. An empty ``labels``/``taints``/``tags`` clears them; without auto-scaling the
    bounds are sent as 0."""
    cur = pool_summary(have)
    current = {k: cur[k] for k in ("name", *POOL_FIELDS)}
    desired = desired_pool(want, cur["count"])
    changed = [k for k in POOL_FIELDS if k in changed_keys(desired, current, whole=("labels",))]
    if not changed:
        return None, []
    body = dict(current, **{k: desired[k] for k in changed})
    if not want["auto_scale"]:
        body["min_nodes"] = body["max_nodes"] = 0
    return body, changed


# ------------------------------------------------------------------------- the plan
def plan(params: Dict[str, Any], cluster: Dict[str, Any], available: Optional[List[str]] = None) -> Dict[str, Any]:
    """Everything a run does to an existing cluster, in order, as plain data:

    * ``calls``: ``(method, path, body)`` to send, in order (cluster PUT, pool POSTs, pool PUTs, pool
      DELETEs, the upgrade POST);
    * ``actions``: one sentence per change; ``warnings``; ``error`` (the run must fail, nothing sent);
    * ``unmanaged``: names of pools kept although not declared;
    * ``add``: the declared pools to create, ``upgrade``: the version to upgrade to, or None.

    ``available`` is the cluster's available upgrade slugs, read only when :func:`needs_upgrades`.
    """
    cid = cluster["id"]
    by_name = {pool["name"]: pool for pool in cluster.get("node_pools") or []}
    declared = {pool["name"] for pool in params["node_pools"]}
    actions: List[str] = []
    warnings: List[str] = []
    calls: List[Tuple[str, str, Any]] = []
    cluster_body, changed = cluster_update(params, cluster)
    if cluster_body is not None:
        actions.append("update cluster %s: %s" % (cluster["name"], ", ".join(changed)))
        calls.append(("PUT", "%s/%s" % (CLUSTERS, cid), cluster_body))
    add: List[Dict[str, Any]] = []
    updates: List[Tuple[str, str, Any]] = []
    for want in params["node_pools"]:
        have = by_name.get(want["name"])
        if have is None:
            actions.append("create node pool %s" % want["name"])
            add.append(want)
            continue
        body, pool_changed = pool_update(have, want)
        if body is not None:
            actions.append("update node pool %s: %s" % (want["name"], ", ".join(pool_changed)))
            updates.append(("PUT", "%s/%s/node_pools/%s" % (CLUSTERS, cid, have["id"]), body))
    calls.extend(("POST", "%s/%s/node_pools" % (CLUSTERS, cid), pool_create_body(want)) for want in add)
    calls.extend(updates)
    extra = [pool for name, pool in by_name.items() if name not in declared]
    unmanaged = [pool["name"] for pool in extra]
    if params["purge_node_pools"]:
        for pool in extra:
            actions.append("delete node pool %s" % pool["name"])
            calls.append(("DELETE", "%s/%s/node_pools/%s" % (CLUSTERS, cid, pool["id"]), None))
        unmanaged = []
    elif extra:
        warnings.append(
            "node pools not declared, kept (set purge_node_pools: true to delete them): %s" % ", ".join(unmanaged)
        )
    target, warning, error = upgrade_decision(params, cluster, available)
    if warning:
        warnings.append(warning)
    if target is not None:
        actions.append("upgrade cluster %s from %s to %s" % (cluster["name"], cluster["version"], target))
        calls.append(("POST", "%s/%s/upgrade" % (CLUSTERS, cid), {"version": target}))
    return {
        "calls": calls,
        "actions": actions,
        "warnings": warnings,
        "error": error,
        "unmanaged": unmanaged,
        "add": add,
        "upgrade": target,
    }


def planned(cluster: Dict[str, Any], the_plan: Dict[str, Any]) -> Dict[str, Any]:
    """The cluster as it will be once the plan is applied (for --diff, and check mode)."""
    after = dict(cluster)
    pools = {pool["id"]: pool for pool in cluster.get("node_pools") or []}
    deleted = set()
    for method, path, body in the_plan["calls"]:
        if method == "PUT" and "/node_pools/" not in path:
            after.update({k: v for k, v in body.items() if k != "maintenance_policy"})
            after["maintenance_policy"] = dict(cluster.get("maintenance_policy") or {}, **body["maintenance_policy"])
        elif method == "PUT":
            pool_id = path.rsplit("/", 1)[1]
            pools[pool_id] = dict(pools[pool_id], **body)
        elif method == "DELETE":
            deleted.add(path.rsplit("/", 1)[1])
    after["node_pools"] = [pools[p["id"]] for p in cluster.get("node_pools") or [] if p["id"] not in deleted]
    after["node_pools"].extend(dict(pool_create_body(want), id=None, nodes=[]) for want in the_plan["add"])
    if the_plan["upgrade"]:
        after["version"] = the_plan["upgrade"]
    return after


def diff(before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The module's ``diff``: managed settings of the cluster before and after (``{}`` for none)."""
    return {"before": diff_view(before), "after": diff_view(after)}


def ready(cluster: Dict[str, Any], declared: List[str]) -> bool:
    """The cluster runs, and every declared pool has its count of nodes, all running."""
    if (cluster.get("status") or {}).get("state") != "running":
        return False
    for pool in cluster.get("node_pools") or []:
        if pool["name"] not in declared:
            continue
        states = [(n.get("status") or {}).get("state") for n in pool.get("nodes") or []]
        if len(states) < (pool.get("count") or 0) or any(s != "running" for s in states):
            return False
    return True
