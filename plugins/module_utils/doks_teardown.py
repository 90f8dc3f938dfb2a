# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a DOKS cluster leaves billed after a plain delete, found and removed through the API.

No kubeconfig is needed: everything is read from the DigitalOcean API v2
(github.com/digitalocean/openapi, ``specification/resources/kubernetes/``):

* the load balancers, volumes and volume snapshots the API lists for THIS cluster
  (``GET /v2/kubernetes/clusters/{id}/destroy_with_associated_resources``) are destroyed with it
  by ``DELETE .../destroy_with_associated_resources/selective`` naming their ids; nothing the
  API does not list for the cluster is ever named;
* DNS records external-dns published for the cluster: in the zones its domain filters match
  (external-dns's ``DomainFilter.Match``), a record is removed only when its TXT registry record
  (``"heritage=external-dns,external-dns/owner=<id>,..."``, name ``<type>-<host>``) carries this
  cluster's owner id; records of another owner id and records no registry marks are kept.

Every kept object is reported with the reason, every removed one by name.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import DigitalOceanClient
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError

CLUSTERS = "/v2/kubernetes/clusters"
KINDS = ("load_balancers", "volumes", "volume_snapshots")
SINGULAR = {"load_balancers": "load balancer", "volumes": "volume", "volume_snapshots": "volume snapshot"}
# record types external-dns manages by default (--managed-record-types A, AAAA, CNAME)
MANAGED_TYPES = ("A", "AAAA", "CNAME")
# registry/txt.go toTXTName (v0.18+): "<type>-<first label>.<rest>", the type in lower case
TYPED_TXT = re.compile(r"^(a|aaaa|cname|mx|ns|srv|txt|caa|ptr|naptr)-(.+)$")
INFRASTRUCTURE = ("NS", "SOA")


def registry_labels(data: str) -> Optional[Dict[str, str]]:
    """The labels of an external-dns TXT registry record, None if it is not one
    (endpoint/labels.go NewLabelsFromStringPlain: quotes dropped, ``heritage=external-dns``)."""
    labels: Dict[str, str] = {}
    for token in str(data).strip().strip('"').split(","):
        key, sep, value = token.partition("=")
        if not sep or "=" in value:
            return None
        if key == "heritage":
            if value != "external-dns":
                return None
            labels["heritage"] = value
        elif key.startswith("external-dns/"):
            labels[key[len("external-dns/") :]] = value
    return labels if "heritage" in labels else None


def domain_matches(name: str, filters: List[str]) -> bool:
    """external-dns DomainFilter.Match: equal to or under one of the filters."""
    name = name.lower().rstrip(".")
    return any(name == f or name.endswith("." + f) for f in (x.lower().strip(".") for x in filters) if f)


def owned_by_txt(txt_host: str) -> Tuple[Tuple[str, ...], str]:
    """The record types and host a registry TXT record stands for: ``a-app.example.com`` -> A
    app.example.com (v0.18+); a TXT without a type prefix (the legacy format) stands for the
    managed types at its own name."""
    first, _dot, rest = txt_host.partition(".")
    match = TYPED_TXT.match(first)
    if match:
        return (match.group(1).upper(),), match.group(2) + ("." + rest if rest else "")
    return MANAGED_TYPES, txt_host


def fqdn(name: str, zone: str) -> str:
    return zone if name == "@" else "%s.%s" % (name, zone)


def record_label(record: Dict[str, Any], zone: str) -> str:
    return "%s %s" % (fqdn(record["name"], zone), record["type"])


class Teardown:
    """Plans and applies the destroy of one cluster with its associated resources and records."""

    def __init__(self, client: DigitalOceanClient, params: Dict[str, Any], check: bool, actions: List[str]) -> None:
        self.client = client
        self.params = params
        self.check = check
        self.actions = actions
        self.removed: Dict[str, List[str]] = {kind: [] for kind in KINDS}
        self.removed["records"] = []
        self.kept: List[Dict[str, str]] = []
        # the cluster itself, once destroy_cluster ran (it is not an associated resource)
        self.cluster: Optional[str] = None

    # ------------------------------------------------------------ associated resources
    def plan_cluster(self, cluster: Dict[str, Any]) -> Dict[str, List[str]]:
        """Ids per kind to destroy with the cluster: those the API lists for it and the module
        was told to take; the others are reported as kept."""
        listed = self.client.get("%s/%s/destroy_with_associated_resources" % (CLUSTERS, cluster["id"])) or {}
        chosen: Dict[str, List[str]] = {}
        wanted = self.params.get("associated_resources") or []
        for kind in KINDS:
            for item in listed.get(kind) or []:
                name = item.get("name") or item.get("id")
                if kind in wanted:
                    chosen.setdefault(kind, []).append(item["id"])
                    self.removed[kind].append(name)
                else:
                    reason = "%s are not in associated_resources; it stays on the account (and is billed)" % kind
                    self.kept.append({"kind": SINGULAR[kind], "name": name, "reason": reason})
        return chosen

    def destroy_cluster(self, cluster: Dict[str, Any], chosen: Dict[str, List[str]]) -> None:
        parts = ["%s %s" % (SINGULAR[k], ", ".join(self.removed[k])) for k in KINDS if self.removed[k]]
        self.actions.append("delete cluster %s" % cluster["name"] + (" with " + "; ".join(parts) if parts else ""))
        self.cluster = cluster["name"]
        if self.check:
            return
        path = "%s/%s" % (CLUSTERS, cluster["id"])
        try:
            if chosen:
                self.client.delete(path + "/destroy_with_associated_resources/selective", chosen)
            else:
                self.client.delete(path)
        except ApiError as exc:
            if exc.status != 404:  # a retried delete whose first attempt was applied
                raise

    # ------------------------------------------------------------ DNS records
    def plan_records(self) -> List[Tuple[str, Dict[str, Any]]]:
        """(zone, record) pairs owned by this cluster's external-dns owner id, in the zones the
        domain filters match; every other record of those zones is reported as kept."""
        owner, filters = self.params.get("dns_owner_id"), self.params.get("dns_domain_filters") or []
        if not owner or not filters:
            return []
        zones = [
            d["name"] for d in self.client.list_all("/v2/domains", "domains") if domain_matches(d["name"], filters)
        ]
        doomed: List[Tuple[str, Dict[str, Any]]] = []
        for zone in sorted(zones):
            records = self.client.list_all("/v2/domains/%s/records" % quote(zone), "domain_records")
            doomed.extend((zone, r) for r in self._zone_plan(zone, records, owner))
        return doomed

    def _zone_plan(self, zone: str, records: List[Dict[str, Any]], owner: str) -> List[Dict[str, Any]]:
        owners: Dict[Tuple[str, str], str] = {}
        registries: Dict[int, str] = {}
        for record in records:
            labels = registry_labels(record.get("data", "")) if record["type"] == "TXT" else None
            if labels is None:
                continue
            registries[record["id"]] = labels.get("owner", "")
            types, host = owned_by_txt(fqdn(record["name"], zone))
            for kind in types:
                owners[(kind, host)] = labels.get("owner", "")
        doomed = []
        for record in records:
            if record["type"] in INFRASTRUCTURE:
                continue
            label = record_label(record, zone)
            who = registries.get(record["id"], owners.get((record["type"], fqdn(record["name"], zone))))
            if who == owner:
                doomed.append(record)
                self.removed["records"].append(label)
            elif who is None:
                self.kept.append({"kind": "record", "name": label, "reason": "not managed by external-dns"})
            else:
                reason = "external-dns owner %s, not %s" % (who or "(none)", owner)
                self.kept.append({"kind": "record", "name": label, "reason": reason})
        return doomed

    def delete_records(self, doomed: List[Tuple[str, Dict[str, Any]]]) -> None:
        if not doomed:
            return
        self.actions.append("delete DNS records %s" % ", ".join(record_label(r, z) for z, r in doomed))
        if self.check:
            return
        # the records first, their registry TXT last: an interrupted run is resumed by the next
        ordered = sorted(doomed, key=lambda zr: zr[1]["type"] == "TXT")
        for zone, record in ordered:
            try:
                self.client.delete("/v2/domains/%s/records/%s" % (quote(zone), record["id"]))
            except ApiError as exc:
                if exc.status != 404:
                    raise

    # ------------------------------------------------------------ report
    def report(self, cluster_name: str) -> Dict[str, Any]:
        return {"removed": self.removed, "kept": self.kept, "summary": self.summary(cluster_name)}

    def summary(self, cluster_name: str) -> List[str]:
        """One line per object: ``removed <kind> <name>`` / ``kept <kind> <name>: <reason>``."""
        verb = "would remove" if self.check else "removed"
        lines = ["%s cluster %s" % (verb, self.cluster)] if self.cluster else []
        for kind in KINDS:
            lines.extend("%s %s %s" % (verb, SINGULAR[kind], name) for name in self.removed[kind])
        lines.extend("%s record %s" % (verb, name) for name in self.removed["records"])
        if not lines:
            lines.append("nothing to remove: no cluster %s and no DNS record of its owner id" % cluster_name)
        lines.extend("kept %s %s: %s" % (k["kind"], k["name"], k["reason"]) for k in self.kept)
        return lines
