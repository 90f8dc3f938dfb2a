#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: doks_cluster
short_description: Create, reconcile or delete a DigitalOcean Kubernetes (DOKS) cluster and its node pools
version_added: 0.1.0
description:
  - Creates a DOKS cluster if none has O(name), then keeps it as declared on every run.
  - Reconciles the node pools against O(node_pools) - adds missing pools, updates count,
    auto-scaling, tags, labels and taints of existing ones with a C(PUT) (an empty O(node_pools[].labels)
    or O(node_pools[].taints) clears them), and deletes pools that are not declared only when
    O(purge_node_pools=true).
  - Upgrades the Kubernetes version only when O(upgrade=true), and only to a version the API offers
    for the cluster.
  - Waits for the cluster (and the nodes of declared pools) to be C(running), then optionally
    writes a kubeconfig with an explicit token lifetime.
  - A run with nothing to change makes no write and a single C(GET) of the cluster list.
  - With O(state=absent), no kubeconfig is needed - the cluster's load balancers and volumes are
    those the API lists for it (C(GET .../destroy_with_associated_resources)); the kinds
    O(associated_resources) names are destroyed with the cluster by
    C(DELETE .../destroy_with_associated_resources/selective) naming their ids, so nothing of another
    cluster is ever named. Then, with O(dns_owner_id), the DNS records external-dns published for
    this cluster are deleted - those whose TXT registry record carries this owner id, in the zones
    O(dns_domain_filters) match. Records of another owner id and records external-dns does not
    manage are kept; RV(kept) says which and why.
  - Uses the DigitalOcean API v2 directly (no SDK). Retries 429 (honouring the rate-limit headers)
    and 5xx/timeouts of idempotent calls; after a create fails in a way that may have been applied,
    the object is looked up by name before anything else.
author:
  - doks.gitops maintainers (@doks-gitops)
extends_documentation_fragment:
  - doks.gitops.digitalocean
  - doks.gitops.api
attributes:
  check_mode:
    support: full
    description: Reports what would change and makes no write.
  diff_mode:
    support: full
    description: Shows the cluster's managed settings and node pools before and after.
options:
  name:
    description:
      - Name of the cluster (unique in the account; lowercase letters, digits and dashes).
    type: str
    required: true
  state:
    description:
      - V(present) creates or reconciles the cluster; V(absent) deletes it (and its node pools), with
        its associated resources per O(associated_resources) and its DNS records per O(dns_owner_id).
    type: str
    choices: [present, absent]
    default: present
  region:
    description:
      - Region slug, for example V(fra1). Required to create; a different value on an existing
        cluster is an error (the region cannot change).
    type: str
  version:
    description:
      - Kubernetes version - a DOKS slug (V(1.33.5-do.1)), a prefix (V(1.33) or V(1.33.5)) resolved
        to the newest matching slug of C(/v2/kubernetes/options), or V(latest).
      - On an existing cluster a different version is only acted on with O(upgrade=true).
    type: str
    default: latest
  upgrade:
    description:
      - Upgrade an existing cluster whose version does not match O(version) to the newest
        matching version among the cluster's available upgrades. Fails if none matches.
    type: bool
    default: false
  vpc_uuid:
    description:
      - VPC to create the cluster in. Empty uses the region's default VPC. Cannot change later.
    type: str
  tags:
    description:
      - User tags of the cluster. DOKS adds C(k8s) and C(k8s:<id>) itself; they are ignored here.
      - Omit to leave the tags as they are; V([]) removes every user tag.
    type: list
    elements: str
  ha:
    description:
      - Highly available control plane. Can be turned on, never off.
      - Omit to leave an existing cluster as it is, and to let DigitalOcean choose on create - its
        default is version-dependent, V(true) for DOKS 1.36.0 and later, V(false) before (API v2
        spec C(specification/resources/kubernetes/models/cluster.yml) in
        U(https://github.com/digitalocean/openapi)).
    type: bool
  auto_upgrade:
    description:
      - Let DigitalOcean upgrade patch versions in the maintenance window. Omit to leave as is.
    type: bool
  surge_upgrade:
    description:
      - Create replacement nodes before draining old ones during upgrades. Omit to leave as is.
    type: bool
  maintenance_policy:
    description:
      - Maintenance window. Omit to leave as is.
    type: dict
    suboptions:
      day:
        description: Day of the window.
        type: str
        choices: [any, monday, tuesday, wednesday, thursday, friday, saturday, sunday]
      start_time:
        description: Start of the window, C(HH:MM) in UTC.
        type: str
  control_plane_firewall:
    description:
      - The DOKS control-plane firewall (C(control_plane_firewall) of the API v2 spec,
        C(specification/resources/kubernetes/models/control_plane_firewall.yml) in
        U(https://github.com/digitalocean/openapi)) - when enabled, only O(control_plane_firewall.allowed_addresses)
        reach the Kubernetes API. Sent on create and reconciled with the cluster C(PUT) on update.
      - Omit to leave an existing cluster as it is (and to create one without a firewall).
    type: dict
    suboptions:
      enabled:
        description: Turn the firewall on or off.
        type: bool
        required: true
      allowed_addresses:
        description:
          - Public IPv4 addresses or IPv4 CIDRs (V(1.2.3.4) or V(1.1.0.0/16)) allowed to reach the API;
            compared as a set. Every host that runs the roles after this one (AWX, CI, your workstation)
            must be in it. Required non-empty when O(control_plane_firewall.enabled=true).
        type: list
        elements: str
        default: []
  node_pools:
    description:
      - The node pools the cluster must have. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      name:
        description: Pool name; node names and the C(doks.digitalocean.com/node-pool) label derive from it.
        type: str
        required: true
      size:
        description: Droplet size slug, for example V(s-2vcpu-4gb). Cannot change on an existing pool.
        type: str
        required: true
      count:
        description:
          - Number of nodes. Required without auto-scaling. With auto-scaling it is only used
            when the pool is created; afterwards the autoscaler owns it.
        type: int
      auto_scale:
        description:
          - Let the cluster autoscaler size the pool between O(node_pools[].min_nodes) and
            O(node_pools[].max_nodes).
        type: bool
        default: false
      min_nodes:
        description: Lower bound with auto-scaling.
        type: int
      max_nodes:
        description: Upper bound with auto-scaling.
        type: int
      tags:
        description: User tags of the pool. Omit to leave as is; V([]) clears them.
        type: list
        elements: str
      labels:
        description:
          - Kubernetes labels DOKS puts on the pool's nodes. Omit to leave as is; V({}) clears them.
          - DOKS does not remove a label from existing nodes when it is removed from the pool.
        type: dict
      taints:
        description: Taints of the pool's nodes. Omit to leave as is; V([]) clears them.
        type: list
        elements: dict
        suboptions:
          key:
            description: Taint key.
            type: str
            required: true
          value:
            description: Taint value.
            type: str
            default: ""
          effect:
            description: Taint effect.
            type: str
            required: true
            choices: [NoSchedule, PreferNoSchedule, NoExecute]
  purge_node_pools:
    description:
      - Delete node pools that O(node_pools) does not declare. Off by default so that a pool
        added by hand is reported, never silently removed.
    type: bool
    default: false
  wait:
    description:
      - Wait until the cluster and the nodes of the declared pools are C(running) (and, with
        O(state=absent), until the cluster is gone).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for O(wait) before failing.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds between two status reads while waiting.
    type: float
    default: 10
  kubeconfig_path:
    description:
      - Write a kubeconfig for the cluster to this file (mode C(0600)). It is fetched again only when
        the file is missing, belongs to another cluster or endpoint, its token expires within
        O(kubeconfig_renew_before) seconds, or the cluster refuses its token (one C(GET /api) with
        it answers 401, as after the token was revoked), so an unchanged cluster leaves the file
        untouched. A cluster API that does not answer leaves the file as it is.
    type: path
  kubeconfig_expiry_seconds:
    description:
      - Lifetime of the kubeconfig's token, sent explicitly as C(expiry_seconds). DigitalOcean's own
        default when none is sent is 7 days.
    type: int
    default: 604800
  kubeconfig_renew_before:
    description:
      - Fetch a new kubeconfig when the token in O(kubeconfig_path) expires within this many seconds
        (at most half of O(kubeconfig_expiry_seconds)).
    type: int
    default: 86400
  return_kubeconfig:
    description:
      - Also return the kubeconfig text as RV(kubeconfig) (fetched on every run). It holds a
        credential - set C(no_log) on the task.
    type: bool
    default: false
  associated_resources:
    description:
      - With O(state=absent), which kinds of the cluster's associated resources (as the API lists them
        for this cluster) are destroyed with it. Kinds not named stay on the account, billed, and are
        reported in RV(kept). V([]) deletes the cluster alone (a plain C(DELETE)).
    type: list
    elements: str
    choices: [load_balancers, volumes, volume_snapshots]
    default: [load_balancers, volumes]
  dns_owner_id:
    description:
      - With O(state=absent), the external-dns C(--txt-owner-id) of this cluster. Records whose TXT
        registry record (C(heritage=external-dns,external-dns/owner=<id>,...)) carries it are deleted,
        with that TXT record; omit to leave DNS alone.
    type: str
  dns_domain_filters:
    description:
      - The external-dns C(--domain-filter) values of this cluster; the account's zones equal to or under
        one of them are searched for O(dns_owner_id)'s records. Required with O(dns_owner_id).
    type: list
    elements: str
    default: []
notes:
  - Requires the cluster name to be unique in the account (DigitalOcean enforces it).
  - Two clusters must not share an external-dns owner id in one zone - external-dns itself relies on it.
seealso:
  - module: doks.gitops.spaces_key
  - name: DigitalOcean Kubernetes API reference
    description: Clusters and node pools in the API v2 reference.
    link: https://docs.digitalocean.com/reference/api/digitalocean/#tag/Kubernetes
"""

EXAMPLES = r"""
- name: Create or reconcile the platform cluster
  doks.gitops.doks_cluster:
    name: gitops-prod
    region: fra1
    version: "1.33"
    tags: [gitops]
    auto_upgrade: true
    surge_upgrade: true
    maintenance_policy:
      day: sunday
      start_time: "03:00"
    control_plane_firewall:
      enabled: true
      allowed_addresses: [1.2.3.4/32]   # the AWX/CI egress address
    node_pools:
      - name: base
        size: s-2vcpu-4gb
        count: 2
      - name: tools
        size: s-4vcpu-8gb
        auto_scale: true
        min_nodes: 1
        max_nodes: 3
        taints:
          - key: tools
            value: "true"
            effect: NoSchedule
      - name: workloads
        size: s-2vcpu-4gb
        count: 2
        labels: {}
        taints:
          - key: workloads
            value: "true"
            effect: NoSchedule
    kubeconfig_path: "{{ playbook_dir }}/gitops-prod.kubeconfig"
    kubeconfig_expiry_seconds: 86400
  register: cluster

- name: Upgrade to the newest 1.34 patch the API offers
  doks.gitops.doks_cluster:
    name: gitops-prod
    region: fra1
    version: "1.34"
    upgrade: true
    node_pools: "{{ pools }}"

- name: Delete the cluster with its load balancers and volumes, and the DNS records its external-dns owns
  doks.gitops.doks_cluster:
    name: gitops-prod
    state: absent
    dns_owner_id: prod-fra1
    dns_domain_filters: [gitops.example.com]
  register: gone

- name: Say what was removed and what was kept
  ansible.builtin.debug:
    msg: "{{ gone.removed }} / {{ gone.kept }}"
"""

RETURN = r"""
cluster:
  description: The cluster as the API reports it after the run (planned values in check mode).
  returned: state=present
  type: dict
  contains:
    id:
      description: Cluster UUID (null in check mode before creation).
      type: str
      sample: bd5f5959-5e1e-4205-a714-a914373942af
    name:
      description: Cluster name.
      type: str
      sample: gitops-prod
    region:
      description: Region slug.
      type: str
      sample: fra1
    version:
      description: DOKS version slug.
      type: str
      sample: 1.33.5-do.1
    endpoint:
      description: URL of the Kubernetes API server.
      type: str
      sample: https://bd5f5959-5e1e-4205-a714-a914373942af.k8s.ondigitalocean.com
    status:
      description: Cluster state (C(running), C(provisioning), C(upgrading), ...).
      type: str
      sample: running
    vpc_uuid:
      description: VPC of the cluster.
      type: str
    tags:
      description: User tags (without the C(k8s) tags DOKS adds).
      type: list
      elements: str
    auto_upgrade:
      description: Automatic patch upgrades.
      type: bool
    surge_upgrade:
      description: Surge upgrades.
      type: bool
    ha:
      description: Highly available control plane.
      type: bool
    maintenance_policy:
      description: Maintenance window (C(day), C(start_time), C(duration)).
      type: dict
    control_plane_firewall:
      description: Control-plane firewall (C(enabled), C(allowed_addresses) sorted).
      type: dict
      sample: {enabled: true, allowed_addresses: [1.2.3.4/32]}
    node_pools:
      description: Node pools with their ids and nodes.
      type: list
      elements: dict
      sample:
        - id: cdda885e-7663-40c8-bc74-3a036c66545d
          name: tools
          size: s-4vcpu-8gb
          count: 1
          auto_scale: false
          min_nodes: 0
          max_nodes: 0
          tags: []
          labels: {}
          taints: [{key: tools, value: "true", effect: NoSchedule}]
          nodes:
            - {id: 3385619f-8ec3-42ba-bd46-1e3d1c3e8f6a, name: tools-a1b2c, status: running, droplet_id: "401234567"}
actions:
  description: What the run did (or would do in check mode), one sentence each.
  returned: always
  type: list
  elements: str
  sample: ["create node pool tools", "update node pool workloads: taints"]
unmanaged_node_pools:
  description: Names of pools that exist but are not declared (kept unless O(purge_node_pools=true)).
  returned: state=present
  type: list
  elements: str
kubeconfig_path:
  description: Where the kubeconfig was written.
  returned: when O(kubeconfig_path) is set
  type: str
kubeconfig_current:
  description:
    - Whether the file at O(kubeconfig_path) holds, after this run, a kubeconfig of this cluster
      whose token was not refused. V(false) in check mode when it would be written.
  returned: when O(kubeconfig_path) is set
  type: bool
  sample: true
kubeconfig:
  description: The kubeconfig (YAML). Holds a bearer token - keep the task C(no_log).
  returned: when O(return_kubeconfig=true) and the cluster exists
  type: str
removed:
  description:
    - With O(state=absent), what the run deleted (or would delete in check mode), by name - load
      balancers, volumes and volume snapshots as the API names them, records as C(<fqdn> <type>).
  returned: state=absent
  type: dict
  contains:
    load_balancers:
      description: Names of the load balancers destroyed with the cluster.
      type: list
      elements: str
    volumes:
      description: Names of the volumes destroyed with the cluster.
      type: list
      elements: str
    volume_snapshots:
      description: Names of the volume snapshots destroyed with the cluster.
      type: list
      elements: str
    records:
      description: DNS records deleted, C(<fqdn> <type>), their TXT registry records included.
      type: list
      elements: str
  sample:
    load_balancers: [a3f1c2d4e5f60718293a4b5c6d7e8f90]
    volumes: [pvc-0b6b2b54-3f0e-4a55-9a57-2f1c1d5e0c11]
    volume_snapshots: []
    records: [grafana.gitops.example.com A, a-grafana.gitops.example.com TXT]
kept:
  description:
    - With O(state=absent), what the run saw and left, each with the reason - associated resources of a
      kind O(associated_resources) does not name, records of another external-dns owner id, records
      external-dns does not manage.
  returned: state=absent
  type: list
  elements: dict
  sample:
    - {kind: record, name: www.gitops.example.com A, reason: not managed by external-dns}
    - {kind: record, name: app.gitops.example.com A, reason: "external-dns owner prod-ams3, not prod-fra1"}
summary:
  description:
    - "With O(state=absent), RV(removed) and RV(kept) as lines - C(removed <kind> <name>) (C(would remove) in check
      mode), C(kept <kind> <name>: <reason>), or one C(nothing to remove) line."
  returned: state=absent
  type: list
  elements: str
  sample:
    - removed load balancer a3f1c2d4e5f60718293a4b5c6d7e8f90
    - removed record grafana.gitops.example.com A
    - "kept record www.gitops.example.com A: not managed by external-dns"
api_calls:
  description: HTTP attempts this run made, by kind.
  returned: always
  type: dict
  sample: {get: 1, write: 0}
"""

import difflib
import os
import re
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import (
    DigitalOceanClient,
    digitalocean_argument_spec,
    run_module,
)
from ansible_collections.doks.gitops.plugins.module_utils.doks_teardown import KINDS, Teardown
from ansible_collections.doks.gitops.plugins.module_utils.kubeconfig import MARKER as KUBECONFIG_MARKER
from ansible_collections.doks.gitops.plugins.module_utils.kubeconfig import REJECTED
from ansible_collections.doks.gitops.plugins.module_utils.kubeconfig import probe as probe_kubeconfig
from ansible_collections.doks.gitops.plugins.module_utils.preflight import firewall_address_problem
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Tag names (openapi specification/resources/tags/models/tags.yml): "Tags may contain letters,
# numbers, colons, dashes, and underscores. There is a limit of 255 characters per tag."
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
CLUSTERS = "/v2/kubernetes/clusters"


# ------------------------------------------------------------------------- normalisation
def user_tags(tags: Optional[List[str]]) -> List[str]:
    """Tags without the ones DOKS adds: ``k8s``, ``k8s:<cluster id>`` and, on node pools,
    ``k8s-worker`` (openapi specification/resources/kubernetes/models/node_pool.yml); any other
    ``k8s:`` tag is DigitalOcean's too."""
    return sorted(t for t in (tags or []) if t not in ("k8s", "k8s-worker") and not t.startswith("k8s:"))


def norm_taints(taints: Optional[List[Dict[str, Any]]]) -> List[Dict[str, str]]:
    items = [{"key": t["key"], "value": str(t.get("value") or ""), "effect": t["effect"]} for t in (taints or [])]
    return sorted(items, key=lambda t: (t["key"], t["effect"], t["value"]))


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


def firewall_summary(firewall: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The control-plane firewall as compared and shown: null (never set) is off with no address."""
    firewall = firewall or {}
    return {
        "enabled": bool(firewall.get("enabled")),
        "allowed_addresses": sorted(set(firewall.get("allowed_addresses") or [])),
    }


def diff_view(summary: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What --diff shows: managed settings, pools by name, no node lists or ids."""
    if summary is None:
        return {}
    view = {k: v for k, v in summary.items() if k not in ("id", "endpoint", "status", "node_pools")}
    view["node_pools"] = {
        p["name"]: {k: v for k, v in p.items() if k not in ("id", "name", "nodes")} for p in summary["node_pools"]
    }
    return view


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


# ------------------------------------------------------------------------- the reconciler
class ClusterReconciler:
    def __init__(self, module: AnsibleModule, client: DigitalOceanClient, actions: List[str]) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.check = module.check_mode
        self.actions = actions

    # ---------------------------------------------------------------- lookups
    def find_cluster(self) -> Optional[Dict[str, Any]]:
        clusters = self.client.list_all(CLUSTERS, "kubernetes_clusters")
        matches = [c for c in clusters if c.get("name") == self.params["name"]]
        return matches[0] if matches else None

    def get_cluster(self, cluster_id: str) -> Dict[str, Any]:
        return self.client.get("%s/%s" % (CLUSTERS, cluster_id))["kubernetes_cluster"]

    # ---------------------------------------------------------------- desired state
    def create_body(self, version: str) -> Dict[str, Any]:
        p = self.params
        body: Dict[str, Any] = {
            "name": p["name"],
            "region": p["region"],
            "version": version,
            "node_pools": [self.pool_create_body(pool) for pool in p["node_pools"]],
        }
        for key in ("vpc_uuid", "tags", "ha", "auto_upgrade", "surge_upgrade"):
            if p.get(key) is not None:
                body[key] = p[key]
        policy = {k: v for k, v in (p.get("maintenance_policy") or {}).items() if v is not None}
        if policy:
            body["maintenance_policy"] = policy
        if p.get("control_plane_firewall") is not None:
            body["control_plane_firewall"] = firewall_summary(p["control_plane_firewall"])
        return body

    @staticmethod
    def pool_create_body(pool: Dict[str, Any]) -> Dict[str, Any]:
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

    def cluster_update(self, current: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The PUT body for cluster-level drift, or None."""
        p = self.params
        changed: List[str] = []
        body: Dict[str, Any] = {
            "name": current["name"],
            "tags": user_tags(current.get("tags")),
            "auto_upgrade": bool(current.get("auto_upgrade")),
            "surge_upgrade": bool(current.get("surge_upgrade")),
            "ha": bool(current.get("ha")),
            "maintenance_policy": {
                k: v for k, v in (current.get("maintenance_policy") or {}).items() if k in ("day", "start_time")
            },
        }
        if p.get("tags") is not None and sorted(set(p["tags"])) != body["tags"]:
            body["tags"] = sorted(set(p["tags"]))
            changed.append("tags")
        for flag in ("auto_upgrade", "surge_upgrade", "ha"):
            if p.get(flag) is not None and p[flag] != body[flag]:
                body[flag] = p[flag]
                changed.append(flag)
        wanted_policy = {k: v for k, v in (p.get("maintenance_policy") or {}).items() if v is not None}
        if any(body["maintenance_policy"].get(k) != v for k, v in wanted_policy.items()):
            body["maintenance_policy"].update(wanted_policy)
            changed.append("maintenance_policy")
        if current.get("control_plane_firewall") is not None:
            body["control_plane_firewall"] = firewall_summary(current["control_plane_firewall"])
        if p.get("control_plane_firewall") is not None:
            wanted_firewall = firewall_summary(p["control_plane_firewall"])
            if wanted_firewall != firewall_summary(current.get("control_plane_firewall")):
                body["control_plane_firewall"] = wanted_firewall
                changed.append("control_plane_firewall")
        if not changed:
            return None
        self.actions.append("update cluster %s: %s" % (current["name"], ", ".join(changed)))
        return body

    def pool_update(self, current: Dict[str, Any], want: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The PUT body (name and count always, every field explicit) for pool drift, or None."""
        cur = pool_summary(current)
        body: Dict[str, Any] = {
            "name": cur["name"],
            "count": cur["count"],
            "auto_scale": cur["auto_scale"],
            "min_nodes": cur["min_nodes"],
            "max_nodes": cur["max_nodes"],
            "tags": cur["tags"],
            "labels": cur["labels"],
            "taints": cur["taints"],
        }
        changed: List[str] = []
        if want["auto_scale"] != cur["auto_scale"]:
            body["auto_scale"] = want["auto_scale"]
            changed.append("auto_scale")
        if want["auto_scale"]:
            for key in ("min_nodes", "max_nodes"):
                if want[key] != cur[key]:
                    body[key] = want[key]
                    changed.append(key)
            clamped = min(max(cur["count"], want["min_nodes"]), want["max_nodes"])
            if clamped != cur["count"]:
                body["count"] = clamped
                changed.append("count")
        else:
            body["min_nodes"] = body["max_nodes"] = 0
            if want["count"] != cur["count"]:
                body["count"] = want["count"]
                changed.append("count")
        if want.get("tags") is not None and sorted(set(want["tags"])) != cur["tags"]:
            body["tags"] = sorted(set(want["tags"]))
            changed.append("tags")
        if want.get("labels") is not None and dict(want["labels"]) != cur["labels"]:
            body["labels"] = dict(want["labels"])
            changed.append("labels")
        if want.get("taints") is not None and norm_taints(want["taints"]) != cur["taints"]:
            body["taints"] = norm_taints(want["taints"])
            changed.append("taints")
        if not changed:
            return None
        self.actions.append("update node pool %s: %s" % (cur["name"], ", ".join(changed)))
        return body

    # ---------------------------------------------------------------- version
    def offered(self, options: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Refuse a region or droplet size DOKS does not offer (``/v2/kubernetes/options``), naming
        the valid ones: a typo must not read as "cannot change" on an existing cluster."""
        options = options if options is not None else self.client.get("/v2/kubernetes/options")["options"]
        regions = [r["slug"] for r in options.get("regions") or []]
        sizes = [s["slug"] for s in options.get("sizes") or []]
        if regions and self.params["region"] not in regions:
            self.fail(
                "region %r is not a region DOKS offers; use one of %s"
                % (self.params["region"], ", ".join(sorted(regions)))
            )
        for pool in self.params["node_pools"]:
            if sizes and pool["size"] not in sizes:
                near = difflib.get_close_matches(pool["size"].lower(), sizes, n=3, cutoff=0.6)
                self.fail(
                    "node_pools %s: size %r is not a droplet size slug DOKS offers (slugs are lower case%s)"
                    % (pool["name"], pool["size"], "; nearest: " + ", ".join(near) if near else "")
                )
        return options

    def create_version(self) -> str:
        wanted = self.params["version"]
        options = self.offered()
        offered = [v["slug"] for v in options.get("versions") or []]
        slug = resolve_version(wanted, offered)
        if slug is None:
            self.fail("version %r matches no DOKS version offered (%s)" % (wanted, ", ".join(offered) or "none"))
        return slug

    def upgrade_target(self, cluster: Dict[str, Any]) -> Optional[str]:
        wanted, current = self.params["version"], cluster["version"]
        if wanted != "latest" and version_matches(current, wanted):
            return None
        if not self.params["upgrade"]:
            if wanted != "latest":
                self.module.warn(
                    "cluster %s runs %s but version is %r; set upgrade: true to upgrade it"
                    % (cluster["name"], current, wanted)
                )
            return None
        offered = self.client.get("%s/%s/upgrades" % (CLUSTERS, cluster["id"]))
        available = [v["slug"] for v in offered.get("available_upgrade_versions") or []]
        target = resolve_version(wanted, available)
        if target is None and wanted != "latest":
            self.fail(
                "version %r is not an available upgrade for cluster %s (runs %s; available: %s)"
                % (wanted, cluster["name"], current, ", ".join(available) or "none")
            )
        if target is not None:
            self.actions.append("upgrade cluster %s from %s to %s" % (cluster["name"], current, target))
        return target

    # ---------------------------------------------------------------- writes
    def create(self) -> Dict[str, Any]:
        version = self.create_version()
        body = self.create_body(version)
        self.actions.append("create cluster %s (%s, %s)" % (body["name"], body["region"], version))
        if self.check:
            planned = dict(body, id=None, status={"state": "provisioning"})
            planned.setdefault("ha", ha_default(version))
            planned["node_pools"] = [dict(p, id=None, nodes=[]) for p in body["node_pools"]]
            return planned
        try:
            return self.client.post(CLUSTERS, body)["kubernetes_cluster"]
        except ApiError as exc:
            if not exc.maybe_applied:
                raise
            found = self.client.look_up_after_failure(exc, self.find_cluster)
            if found is None:
                raise ApiError(
                    "%s; no cluster named %s exists afterwards, so nothing was created: run again"
                    % (exc.message, body["name"])
                ) from exc
            self.module.warn("cluster create answered %s, but the cluster exists: continuing" % exc.status)
            return found

    def add_pool(self, cluster_id: str, pool: Dict[str, Any]) -> None:
        body = self.pool_create_body(pool)
        path = "%s/%s/node_pools" % (CLUSTERS, cluster_id)
        try:
            self.client.post(path, body)
        except ApiError as exc:
            if not exc.maybe_applied:
                raise

            def find() -> bool:
                pools = self.client.get(path).get("node_pools") or []
                return any(p["name"] == pool["name"] for p in pools)

            if not self.client.look_up_after_failure(exc, find):
                message = "%s; node pool %s does not exist afterwards: run again" % (exc.message, pool["name"])
                raise ApiError(message) from exc

    def upgrade(self, cluster_id: str, target: str) -> None:
        try:
            self.client.post("%s/%s/upgrade" % (CLUSTERS, cluster_id), {"version": target})
        except ApiError as exc:
            if not exc.maybe_applied:
                raise
            after = self.get_cluster(cluster_id)
            if after["version"] != target and (after.get("status") or {}).get("state") != "upgrading":
                raise

    # ---------------------------------------------------------------- waiting
    def ready(self, cluster: Dict[str, Any]) -> bool:
        if (cluster.get("status") or {}).get("state") != "running":
            return False
        declared = {p["name"] for p in self.params["node_pools"] or []}
        for pool in cluster.get("node_pools") or []:
            if pool["name"] not in declared:
                continue
            states = [(n.get("status") or {}).get("state") for n in pool.get("nodes") or []]
            if len(states) < (pool.get("count") or 0) or any(s != "running" for s in states):
                return False
        return True

    def wait_ready(self, cluster_id: str) -> Dict[str, Any]:
        deadline = time.monotonic() + self.params["wait_timeout"]
        while True:
            cluster = self.get_cluster(cluster_id)
            if self.ready(cluster):
                return cluster
            if time.monotonic() >= deadline:
                self.fail(
                    "cluster %s is still %s after wait_timeout=%ss"
                    % (cluster["name"], (cluster.get("status") or {}).get("state"), self.params["wait_timeout"])
                )
            time.sleep(self.params["poll_interval"])

    def wait_gone(self, cluster_id: str) -> None:
        deadline = time.monotonic() + self.params["wait_timeout"]
        while self.client.get_or_none("%s/%s" % (CLUSTERS, cluster_id)) is not None:
            if time.monotonic() >= deadline:
                self.fail("cluster %s still exists after wait_timeout" % self.params["name"])
            time.sleep(self.params["poll_interval"])

    # ---------------------------------------------------------------- kubeconfig
    def kubeconfig(self, cluster: Dict[str, Any], result: Dict[str, Any]) -> None:
        path = self.params["kubeconfig_path"]
        expiry = self.params["kubeconfig_expiry_seconds"]
        query = {"expiry_seconds": expiry}
        url = "%s/%s/kubeconfig" % (CLUSTERS, cluster.get("id"))
        text: Optional[str] = None
        if self.params["return_kubeconfig"] and cluster.get("id"):
            text = self.client.get_text(url, query)
            result["kubeconfig"] = text
        if not path:
            return
        result["kubeconfig_path"] = path
        result["kubeconfig_current"] = True
        if self.kubeconfig_fresh(path, cluster):
            if not self.kubeconfig_refused(path):
                return
            self.actions.append("write kubeconfig %s (the cluster refused its token: expired or revoked)" % path)
        else:
            self.actions.append("write kubeconfig %s" % path)
        if self.check or not cluster.get("id"):
            result["kubeconfig_current"] = False
            return
        if text is None:
            text = self.client.get_text(url, query)
        marker = "# doks.gitops: cluster=%s server=%s expires=%d\n" % (
            cluster["id"],
            cluster.get("endpoint") or "-",
            int(time.time()) + (expiry or 7 * 24 * 3600),
        )
        write_private(path, marker + text)

    def kubeconfig_fresh(self, path: str, cluster: Dict[str, Any]) -> bool:
        try:
            with open(path, encoding="utf-8") as handle:
                head = handle.read(4096)
        except OSError:
            return False
        match = KUBECONFIG_MARKER.search(head)
        if not match or match.group(1) != cluster.get("id") or match.group(2) != (cluster.get("endpoint") or "-"):
            return False
        # a short-lived token is renewed at half its lifetime at the latest
        renew = min(self.params["kubeconfig_renew_before"], (self.params["kubeconfig_expiry_seconds"] or 604800) // 2)
        return int(match.group(3)) - time.time() > renew

    def kubeconfig_refused(self, path: str) -> bool:
        """One authenticated read with the file's token: a 401 means it was revoked (or expired
        early); a cluster that does not answer is no verdict, the file stays."""
        return probe_kubeconfig(path, timeout=min(10.0, float(self.params["timeout"]))).state == REJECTED

    # ---------------------------------------------------------------- runs
    def fail(self, message: str) -> None:
        self.module.fail_json(msg=message, actions=self.actions, api_calls=self.client.counts())

    def absent(self) -> Dict[str, Any]:
        """Delete the cluster with the associated resources the API lists for it (those kinds
        O(associated_resources) names), then the DNS records its external-dns owns."""
        teardown = Teardown(self.client, self.params, self.check, self.actions)
        cluster = self.find_cluster()
        before: Dict[str, Any] = {}
        if cluster is not None:
            before = diff_view(cluster_summary(cluster))
            chosen = teardown.plan_cluster(cluster)
            teardown.destroy_cluster(cluster, chosen)
            if not self.check and self.params["wait"]:
                self.wait_gone(cluster["id"])
        doomed = teardown.plan_records()
        teardown.delete_records(doomed)
        report = teardown.report(self.params["name"])
        gone = {k: v for k, v in report["removed"].items() if v}
        diff_before = dict(before, **gone) if (before or gone) else {}
        return {"changed": bool(self.actions), "diff": {"before": diff_before, "after": {}}, **report}

    def present(self) -> Dict[str, Any]:
        current = self.find_cluster()
        if current is None:
            created = self.create()
            return self.finish(None, created, created=True)
        self.check_immutable(current)
        plan = self.plan(current)
        if not self.check:
            self.apply(current, plan)
        planned = self.planned(current, plan)
        return self.finish(current, planned, created=False)

    def check_immutable(self, current: Dict[str, Any]) -> None:
        p = self.params
        by_name = {pool["name"]: pool for pool in current.get("node_pools") or []}
        sizes = {want["name"]: want["size"] for want in p["node_pools"] if want["name"] in by_name}
        added = any(want["name"] not in by_name for want in p["node_pools"])
        if added or p["region"] != current.get("region") or any(by_name[n].get("size") != s for n, s in sizes.items()):
            self.offered()  # an unknown slug is a typo, not a change (one GET, only on a difference)
        if p["region"] != current.get("region"):
            self.fail(
                "region is %s but cluster %s is in %s; a region cannot change (create a new cluster)"
                % (p["region"], current["name"], current.get("region"))
            )
        if p.get("vpc_uuid") and p["vpc_uuid"] != current.get("vpc_uuid"):
            self.fail("vpc_uuid cannot change on an existing cluster (it is %s)" % current.get("vpc_uuid"))
        if p.get("ha") is False and current.get("ha"):
            self.fail("ha cannot be turned off once the control plane is highly available")
        for want in p["node_pools"]:
            have = by_name.get(want["name"])
            if have is not None and have.get("size") != want["size"]:
                self.fail(
                    "node_pools %s: size is %s but the pool runs %s; a pool's size cannot change "
                    "(add a pool with a new name instead)" % (want["name"], want["size"], have.get("size"))
                )

    def plan(self, current: Dict[str, Any]) -> Dict[str, Any]:
        by_name = {pool["name"]: pool for pool in current.get("node_pools") or []}
        declared = {pool["name"] for pool in self.params["node_pools"]}
        plan: Dict[str, Any] = {"cluster": self.cluster_update(current), "add": [], "update": [], "delete": []}
        for want in self.params["node_pools"]:
            have = by_name.get(want["name"])
            if have is None:
                self.actions.append("create node pool %s" % want["name"])
                plan["add"].append(want)
                continue
            body = self.pool_update(have, want)
            if body is not None:
                plan["update"].append((have, body))
        extra = [pool for name, pool in by_name.items() if name not in declared]
        plan["unmanaged"] = [pool["name"] for pool in extra]
        if self.params["purge_node_pools"]:
            for pool in extra:
                self.actions.append("delete node pool %s" % pool["name"])
            plan["delete"] = extra
            plan["unmanaged"] = []
        elif extra:
            self.module.warn(
                "node pools not declared, kept (set purge_node_pools: true to delete them): %s"
                % ", ".join(plan["unmanaged"])
            )
        plan["upgrade"] = self.upgrade_target(current)
        return plan

    def apply(self, current: Dict[str, Any], plan: Dict[str, Any]) -> None:
        cid = current["id"]
        if plan["cluster"] is not None:
            self.client.put("%s/%s" % (CLUSTERS, cid), plan["cluster"])
        for want in plan["add"]:
            self.add_pool(cid, want)
        for have, body in plan["update"]:
            self.client.put("%s/%s/node_pools/%s" % (CLUSTERS, cid, have["id"]), body)
        for pool in plan["delete"]:
            self.client.delete("%s/%s/node_pools/%s" % (CLUSTERS, cid, pool["id"]))
        if plan["upgrade"]:
            self.upgrade(cid, plan["upgrade"])

    def planned(self, current: Dict[str, Any], plan: Dict[str, Any]) -> Dict[str, Any]:
        """The cluster as it will be once the plan is applied (for diff, and check mode)."""
        after = dict(current)
        if plan["cluster"] is not None:
            after.update({k: v for k, v in plan["cluster"].items() if k != "maintenance_policy"})
            policy = dict(current.get("maintenance_policy") or {})
            policy.update(plan["cluster"]["maintenance_policy"])
            after["maintenance_policy"] = policy
        updates = {have["id"]: body for have, body in plan["update"]}
        deleted = {pool["id"] for pool in plan["delete"]}
        pools = []
        for pool in current.get("node_pools") or []:
            if pool["id"] in deleted:
                continue
            pools.append(dict(pool, **updates.get(pool["id"], {})))
        pools.extend(dict(self.pool_create_body(want), id=None, nodes=[]) for want in plan["add"])
        after["node_pools"] = pools
        if plan["upgrade"]:
            after["version"] = plan["upgrade"]
        after["_plan"] = plan
        return after

    def finish(self, before: Optional[Dict[str, Any]], after: Dict[str, Any], created: bool) -> Dict[str, Any]:
        plan = after.pop("_plan", None)
        changed = bool(self.actions)
        final = after
        if not self.check and after.get("id") and self.params["wait"] and (changed or not self.ready(after)):
            final = self.wait_ready(after["id"])
        elif not self.check and changed and after.get("id"):
            final = self.get_cluster(after["id"])
        result: Dict[str, Any] = {
            "changed": changed,
            "cluster": cluster_summary(final),
            "unmanaged_node_pools": (plan or {}).get("unmanaged", []),
            "diff": {
                "before": diff_view(cluster_summary(before)) if before else {},
                "after": diff_view(cluster_summary(after)),
            },
        }
        self.kubeconfig(final, result)
        result["changed"] = bool(self.actions)
        return result


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kubeconfig-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def argument_spec() -> Dict[str, Any]:
    taint = dict(
        key=dict(type="str", required=True, no_log=False),
        value=dict(type="str", default=""),
        effect=dict(type="str", required=True, choices=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    )
    pool = dict(
        name=dict(type="str", required=True),
        size=dict(type="str", required=True),
        count=dict(type="int"),
        auto_scale=dict(type="bool", default=False),
        min_nodes=dict(type="int"),
        max_nodes=dict(type="int"),
        tags=dict(type="list", elements="str"),
        labels=dict(type="dict"),
        taints=dict(type="list", elements="dict", options=taint),
    )
    spec = digitalocean_argument_spec()
    spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        region=dict(type="str"),
        version=dict(type="str", default="latest"),
        upgrade=dict(type="bool", default=False),
        vpc_uuid=dict(type="str"),
        tags=dict(type="list", elements="str"),
        ha=dict(type="bool"),
        auto_upgrade=dict(type="bool"),
        surge_upgrade=dict(type="bool"),
        maintenance_policy=dict(
            type="dict",
            options=dict(
                day=dict(
                    type="str",
                    choices=["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                ),
                start_time=dict(type="str"),
            ),
        ),
        control_plane_firewall=dict(
            type="dict",
            options=dict(
                enabled=dict(type="bool", required=True),
                allowed_addresses=dict(type="list", elements="str", default=[]),
            ),
        ),
        node_pools=dict(type="list", elements="dict", options=pool),
        purge_node_pools=dict(type="bool", default=False),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=10),
        kubeconfig_path=dict(type="path"),
        kubeconfig_expiry_seconds=dict(type="int", default=604800, no_log=False),
        kubeconfig_renew_before=dict(type="int", default=86400),
        return_kubeconfig=dict(type="bool", default=False),
        associated_resources=dict(
            type="list", elements="str", choices=list(KINDS), default=["load_balancers", "volumes"]
        ),
        dns_owner_id=dict(type="str"),
        dns_domain_filters=dict(type="list", elements="str", default=[]),
    )
    return spec


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    errors = validate(module.params)
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), errors=errors)
    actions: List[str] = []

    def work(client: DigitalOceanClient) -> Dict[str, Any]:
        reconciler = ClusterReconciler(module, client, actions)
        return reconciler.absent() if module.params["state"] == "absent" else reconciler.present()

    run_module(module, "doks.gitops/doks_cluster", work, actions)


if __name__ == "__main__":
    main()
