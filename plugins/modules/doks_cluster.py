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
    - "With O(state=absent), the cluster, RV(removed) and RV(kept) as lines - C(removed cluster <name>) first,
      then C(removed <kind> <name>) (C(would remove) in check mode), C(kept <kind> <name>: <reason>), or one
      C(nothing to remove) line when there was no cluster and no record to delete."
  returned: state=absent
  type: list
  elements: str
  sample:
    - removed cluster prod-fra1
    - removed load balancer a3f1c2d4e5f60718293a4b5c6d7e8f90
    - removed record grafana.gitops.example.com A
    - "kept record www.gitops.example.com A: not managed by external-dns"
api_calls:
  description: HTTP attempts this run made, by kind.
  returned: always
  type: dict
  sample: {get: 1, write: 0}
"""

import time
from typing import Any, Dict, List, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.doks.gitops.plugins.module_utils import doks
from ansible_collections.doks.gitops.plugins.module_utils import kubeconfig as kubeconfig_file
from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import (
    Run,
    digitalocean_argument_spec,
    run_module,
)
from ansible_collections.doks.gitops.plugins.module_utils.doks import CLUSTERS, OPTIONS
from ansible_collections.doks.gitops.plugins.module_utils.doks_teardown import KINDS, Teardown
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError


# ------------------------------------------------------------------------- reads
def find_cluster(run: Run) -> Optional[Dict[str, Any]]:
    clusters = run.client.list_all(CLUSTERS, "kubernetes_clusters")
    return next((c for c in clusters if c.get("name") == run.params["name"]), None)


def get_cluster(run: Run, cluster_id: str) -> Dict[str, Any]:
    return run.client.get("%s/%s" % (CLUSTERS, cluster_id))["kubernetes_cluster"]


def check_offered(run: Run) -> Dict[str, Any]:
    """Refuse a region or droplet size DOKS does not offer: a typo must not read as "cannot change"."""
    options = run.client.get(OPTIONS)["options"]
    problem = doks.offered_problem(run.params, options)
    if problem:
        run.fail(problem)
    return options


# ------------------------------------------------------------------------- writes
def create_cluster(run: Run, body: Dict[str, Any]) -> Dict[str, Any]:
    answer, lost = run.client.create_once(CLUSTERS, body, lambda: find_cluster(run), "cluster %s" % body["name"])
    if lost is None:
        return answer["kubernetes_cluster"]
    run.module.warn("cluster create answered %s, but the cluster exists: continuing" % lost.status)
    return answer


def apply(run: Run, the_plan: Dict[str, Any]) -> None:
    """Send the plan's calls in order: creates go through create-once, the upgrade is looked at again
    after a failure that may have been applied."""
    for method, path, body in the_plan["calls"]:
        if method == "POST" and path.endswith("/node_pools"):

            def pool_exists(path: str = path, name: str = body["name"]) -> bool:
                return any(p["name"] == name for p in run.client.get(path).get("node_pools") or [])

            run.client.create_once(path, body, pool_exists, "node pool %s" % body["name"])
        elif method == "POST" and path.endswith("/upgrade"):
            upgrade(run, path, body["version"])
        elif method == "PUT":
            run.client.put(path, body)
        else:
            run.client.delete(path)


def upgrade(run: Run, path: str, target: str) -> None:
    try:
        run.client.post(path, {"version": target})
    except ApiError as exc:
        if not exc.maybe_applied:
            raise
        after = get_cluster(run, path.rsplit("/", 2)[1])
        if after["version"] != target and (after.get("status") or {}).get("state") != "upgrading":
            raise


# ------------------------------------------------------------------------- waiting
def wait_ready(run: Run, cluster_id: str) -> Dict[str, Any]:
    declared = [p["name"] for p in run.params["node_pools"] or []]
    deadline = time.monotonic() + run.params["wait_timeout"]
    while True:
        cluster = get_cluster(run, cluster_id)
        if doks.ready(cluster, declared):
            return cluster
        if time.monotonic() >= deadline:
            run.fail(
                "cluster %s is still %s after wait_timeout=%ss"
                % (cluster["name"], (cluster.get("status") or {}).get("state"), run.params["wait_timeout"])
            )
        time.sleep(run.params["poll_interval"])


def wait_gone(run: Run, cluster_id: str) -> None:
    deadline = time.monotonic() + run.params["wait_timeout"]
    while run.client.get_or_none("%s/%s" % (CLUSTERS, cluster_id)) is not None:
        if time.monotonic() >= deadline:
            run.fail("cluster %s still exists after wait_timeout" % run.params["name"])
        time.sleep(run.params["poll_interval"])


# ------------------------------------------------------------------------- kubeconfig
def kubeconfig(run: Run, cluster: Dict[str, Any], result: Dict[str, Any]) -> None:
    """RV(kubeconfig) when asked, and the file at O(kubeconfig_path), fetched only when stale
    (module_utils/kubeconfig.py decides)."""
    p = run.params
    query = {"expiry_seconds": p["kubeconfig_expiry_seconds"]}
    url = "%s/%s/kubeconfig" % (CLUSTERS, cluster.get("id"))
    text: Optional[str] = None
    if p["return_kubeconfig"] and cluster.get("id"):
        text = result["kubeconfig"] = run.client.get_text(url, query)
    path = p["kubeconfig_path"]
    if not path:
        return
    result["kubeconfig_path"] = path
    result["kubeconfig_current"] = True
    reason = kubeconfig_file.stale_reason(
        path,
        cluster,
        expiry_seconds=p["kubeconfig_expiry_seconds"],
        renew_before=p["kubeconfig_renew_before"],
        timeout=min(10.0, float(p["timeout"])),
    )
    if reason is None:
        return
    run.actions.append("write kubeconfig %s%s" % (path, reason))
    if run.check or not cluster.get("id"):
        result["kubeconfig_current"] = False
        return
    if text is None:
        text = run.client.get_text(url, query)
    kubeconfig_file.write_stamped(path, cluster, text, p["kubeconfig_expiry_seconds"])


# ------------------------------------------------------------------------- runs
def present(run: Run) -> Dict[str, Any]:
    """Read, plan (module_utils/doks.py), apply, wait, return."""
    p = run.params
    current = find_cluster(run)
    unmanaged: List[str] = []
    if current is None:
        version, problem = doks.create_version(p["version"], check_offered(run))
        if version is None:
            run.fail(problem)
        body = doks.create_body(p, version)
        run.actions.append("create cluster %s (%s, %s)" % (body["name"], body["region"], version))
        after = doks.planned_create(body) if run.check else create_cluster(run, body)
    else:
        if doks.needs_options(p, current):
            check_offered(run)
        problem = doks.immutable_problem(p, current)
        if problem:
            run.fail(problem)
        available = None
        if doks.needs_upgrades(p, current):
            offered = run.client.get("%s/%s/upgrades" % (CLUSTERS, current["id"]))
            available = [v["slug"] for v in offered.get("available_upgrade_versions") or []]
        the_plan = doks.plan(p, current, available)
        run.actions.extend(the_plan["actions"])
        for warning in the_plan["warnings"]:
            run.module.warn(warning)
        if the_plan["error"]:
            run.fail(the_plan["error"])
        if not run.check:
            apply(run, the_plan)
        after = doks.planned(current, the_plan)
        unmanaged = the_plan["unmanaged"]
    final = after
    declared = [pool["name"] for pool in p["node_pools"]]
    if not run.check and after.get("id") and p["wait"] and (run.actions or not doks.ready(after, declared)):
        final = wait_ready(run, after["id"])
    elif not run.check and run.actions and after.get("id"):
        final = get_cluster(run, after["id"])
    result: Dict[str, Any] = {
        "cluster": doks.cluster_summary(final),
        "unmanaged_node_pools": unmanaged,
        "diff": doks.diff(current, after),
    }
    kubeconfig(run, final, result)
    return result


def absent(run: Run) -> Dict[str, Any]:
    """Delete the cluster with the associated resources the API lists for it (those kinds
    O(associated_resources) names), then the DNS records its external-dns owns."""
    teardown = Teardown(run.client, run.params, run.check, run.actions)
    cluster = find_cluster(run)
    before: Dict[str, Any] = {}
    if cluster is not None:
        before = doks.diff_view(cluster)
        teardown.destroy_cluster(cluster, teardown.plan_cluster(cluster))
        if not run.check and run.params["wait"]:
            wait_gone(run, cluster["id"])
    teardown.delete_records(teardown.plan_records())
    report = teardown.report(run.params["name"])
    gone = {k: v for k, v in report["removed"].items() if v}
    return {"diff": {"before": dict(before, **gone) if (before or gone) else {}, "after": {}}, **report}


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
    errors = doks.validate(module.params)
    if errors:
        module.fail_json(msg="invalid input: " + "; ".join(errors), errors=errors)
    run_module(module, "doks.gitops/doks_cluster", absent if module.params["state"] == "absent" else present)


if __name__ == "__main__":
    main()
