"""Load balancers, block-storage volumes, and the in-cluster controllers that create them.

The API (judged by github.com/digitalocean/openapi, commit 7c1300c4):

* ``GET /v2/load_balancers``, ``GET/DELETE /v2/load_balancers/{lb_id}``
  (``specification/resources/load_balancers/loadBalancers_{list,get,delete}.yml``, the object of
  ``models/load_balancer.yml``);
* ``GET /v2/volumes`` (filters ``name`` and ``region``), ``GET/DELETE /v2/volumes/{volume_id}``
  (``specification/resources/volumes/volumes_{list,get,delete}.yml``, ``models/volume_full.yml``).

Nothing here creates them through the API: in a DOKS cluster they come from controllers, which
this module emulates for every running cluster of the emulator, reading its virtual cluster in
the Kubernetes emulator (peer ``kubernetes``; the DigitalOcean emulator never writes into it):

* the cloud-controller-manager (github.com/digitalocean/digitalocean-cloud-controller-manager,
  ``cloud-controller-manager/do/loadbalancers.go``): one load balancer per Service of type
  LoadBalancer, named by the annotation ``service.beta.kubernetes.io/do-loadbalancer-name`` or
  ``cloudprovider.DefaultLoadBalancerName`` ("a" + the Service UID without dashes, at most 32
  characters), tagged ``k8s:<cluster id>`` (``buildK8sTag``), deleted with its Service and
  re-created when deleted out of band while its Service exists (the service controller's resync);
* the CSI driver (github.com/digitalocean/csi-digitalocean, ``driver/controller.go``): one volume
  per PersistentVolume of driver ``dobs.csi.digitalocean.com``, named as the PV, described
  "Created by DigitalOcean CSI driver", tagged with the ``--do-tag`` DOKS passes
  (``k8s:<cluster id>``), id = the PV's ``volumeHandle``; deleted when the PV is (reclaim policy
  Delete); never re-created;
* external-dns with the in-tree DigitalOcean provider (kubernetes-sigs/external-dns v0.20.0, the
  chart 1.20.0 the platform pins), when its Deployment is available and its ``DO_TOKEN`` is this
  account's: records for the hosts of Ingresses (rules, TLS hosts, the
  ``external-dns.alpha.kubernetes.io/hostname`` annotation) and annotated LoadBalancer Services
  under its ``--domain-filter`` in the account's zones the filter matches, each with the TXT
  registry record of v0.18+ (``registry/txt.go``: name ``<type>-<first label>`` plus
  ``--txt-prefix``/``--txt-suffix``, data ``"heritage=external-dns,external-dns/owner=<id>,
  external-dns/resource=ingress/<ns>/<name>"``, ``endpoint/labels.go``). It only changes records
  its own TXT marks, and ``--policy`` decides deletions (``plan/policy.go``): ``sync`` deletes
  the records of hosts that are gone, ``upsert-only`` (the chart's default) and ``create-only``
  never delete.

Limits: load balancers keep ``droplet_ids`` of the cluster's running nodes but no health state;
volumes are never attached (``droplet_ids`` stays empty); no volume snapshots.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import re
import uuid
from typing import TYPE_CHECKING, Any

from sandbox.digitalocean import catalog, scopes
from sandbox.digitalocean.common import iso, paginate
from sandbox.digitalocean.kubernetes import public
from sandbox.digitalocean.resources import NOT_FOUND, DomainsApi
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.digitalocean import DigitalOceanEmulator

LB_NAME_ANNOTATION = "service.beta.kubernetes.io/do-loadbalancer-name"
DOBS_DRIVER = "dobs.csi.digitalocean.com"
CSI_DESCRIPTION = "Created by DigitalOcean CSI driver"
HOSTNAME_ANNOTATION = "external-dns.alpha.kubernetes.io/hostname"
TARGET_ANNOTATION = "external-dns.alpha.kubernetes.io/target"
# provider/digitalocean/digital_ocean.go: records are created with this TTL unless the source sets one
EXTERNAL_DNS_TTL = 300
MANAGED_TYPES = ("A", "AAAA", "CNAME")
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?$")
_UNITS = {
    None: 1,
    "k": 10**3,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
}


def k8s_tag(cluster_id: str) -> str:
    """``buildK8sTag``: ``k8s:<cluster id>`` (tagPrefixClusterID ``k8s``)."""
    return f"k8s:{cluster_id}"


def default_lb_name(uid: str) -> str:
    """``cloudprovider.DefaultLoadBalancerName``: "a" + the UID without dashes, cut to 32."""
    return ("a" + uid).replace("-", "")[:32]


def gigabytes(quantity: str) -> int:
    """A Kubernetes storage quantity in whole GiB, rounded up, at least 1 (the CSI driver's rule)."""
    match = _QUANTITY.match(str(quantity).strip())
    if not match:
        return 1
    size = float(match.group(1)) * _UNITS[match.group(2)]
    return max(1, math.ceil(size / 2**30))


def _region(slug: str) -> dict[str, Any]:
    return next((r for r in catalog.regions() if r["slug"] == slug), {"slug": slug})


# ---------------------------------------------------------------------- the API
class LoadBalancersApi:
    def __init__(self, emu: DigitalOceanEmulator) -> None:
        self.emu = emu

    def routes(self) -> list[tuple[str, str, Any]]:
        one = r"/v2/load_balancers/([^/]+)"
        return [("GET", r"/v2/load_balancers", self.list), ("GET", one, self.get), ("DELETE", one, self.delete)]

    @property
    def items(self) -> dict[str, dict[str, Any]]:
        return self.emu.data["load_balancers"]

    def _one(self, lb_id: str) -> dict[str, Any]:
        if lb_id not in self.items:
            raise HTTPError(404, NOT_FOUND)
        return self.items[lb_id]

    def list(self, request: Request) -> Response:
        items = sorted(self.items.values(), key=lambda lb: (lb["created_at"], lb["id"]))
        return paginate(request, "load_balancers", [public(lb) for lb in items])

    def get(self, request: Request, lb_id: str) -> Response:
        return Response(200, {"load_balancer": public(self._one(lb_id))})

    def delete(self, request: Request, lb_id: str) -> Response:
        self._one(lb_id)
        self.remove(lb_id)
        return Response(204, None)

    def remove(self, lb_id: str) -> None:
        self.items.pop(lb_id, None)
        self.emu.store.touch()

    def tagged(self, tag: str) -> list[dict[str, Any]]:
        return [lb for lb in self.items.values() if tag in lb["tags"]]


class VolumesApi:
    def __init__(self, emu: DigitalOceanEmulator) -> None:
        self.emu = emu

    def routes(self) -> list[tuple[str, str, Any]]:
        one = r"/v2/volumes/([^/]+)"
        return [("GET", r"/v2/volumes", self.list), ("GET", one, self.get), ("DELETE", one, self.delete)]

    @property
    def items(self) -> dict[str, dict[str, Any]]:
        return self.emu.data["volumes"]

    def _one(self, volume_id: str) -> dict[str, Any]:
        if volume_id not in self.items:
            raise HTTPError(404, NOT_FOUND)
        return self.items[volume_id]

    def list(self, request: Request) -> Response:
        """volumes_list.yml: filters ``name`` and ``region`` (and both)."""
        items = sorted(self.items.values(), key=lambda v: (v["created_at"], v["id"]))
        name, region = request.arg("name"), request.arg("region")
        if name:
            items = [v for v in items if v["name"] == name]
        if region:
            items = [v for v in items if v["region"]["slug"] == region]
        return paginate(request, "volumes", [public(v) for v in items])

    def get(self, request: Request, volume_id: str) -> Response:
        return Response(200, {"volume": public(self._one(volume_id))})

    def delete(self, request: Request, volume_id: str) -> Response:
        self._one(volume_id)
        self.remove(volume_id)
        return Response(204, None)

    def remove(self, volume_id: str) -> None:
        self.items.pop(volume_id, None)
        self.emu.store.touch()

    def tagged(self, tag: str) -> list[dict[str, Any]]:
        return [v for v in self.items.values() if tag in v["tags"]]


# ---------------------------------------------------------------------- controllers
class Snapshot:
    """What the controllers read from one virtual cluster (used under the peer's lock)."""

    def __init__(self, kube: Any) -> None:
        self.services = [s for s in kube.objects("/services")]
        self.pvs = [p for p in kube.objects("/persistentvolumes")]
        self.ingresses = [i for i in kube.objects("networking.k8s.io/ingresses")]
        self.deployments = [d for d in kube.objects("apps/deployments")]
        self.secrets = {
            (s["metadata"]["namespace"], s["metadata"]["name"]): s.get("data") or {} for s in kube.objects("/secrets")
        }


class CloudControllers:
    """The cloud-controller-manager, the CSI driver and external-dns of every running cluster."""

    def __init__(self, emu: DigitalOceanEmulator) -> None:
        self.emu = emu
        self._seen: dict[str, tuple[int, int]] = {}

    def tick(self) -> None:
        peer = self.emu.ctx.peers.get("kubernetes")
        if peer is None:
            return
        for cluster in list(self.emu.data["clusters"].values()):
            if not cluster.get("_registered"):
                continue
            # Lock order: the DigitalOcean emulator's lock (held by the ticker), then the peer's;
            # the Kubernetes emulator never takes ours.
            with peer.lock:
                kube = peer.clusters.get(cluster["id"])
                if kube is None:
                    continue
                mark = (kube.rv, self.emu.api_writes)
                if self._seen.get(cluster["id"]) == mark:
                    continue
                self._seen[cluster["id"]] = mark
                snapshot = Snapshot(kube)
                self.balancers(cluster, snapshot)
                self.volumes(cluster, snapshot)
                ExternalDns(self.emu, snapshot).run()

    def forget(self, cluster_id: str) -> None:
        self._seen.pop(cluster_id, None)

    # ------------------------------------------------------------------ cloud-controller-manager
    def balancers(self, cluster: dict[str, Any], snap: Snapshot) -> None:
        items = self.emu.load_balancers.items
        wanted = {s["metadata"]["uid"]: s for s in snap.services if (s.get("spec") or {}).get("type") == "LoadBalancer"}
        mine = {lb["_service_uid"]: lb for lb in items.values() if lb["_cluster"] == cluster["id"]}
        for uid, lb in mine.items():
            if uid not in wanted:
                self.emu.load_balancers.remove(lb["id"])
        for uid, svc in wanted.items():
            current = mine.get(uid)
            desired = self._balancer(cluster, svc, current)
            if current != desired:
                items[desired["id"]] = desired
                self.emu.store.touch()

    def _balancer(self, cluster: dict[str, Any], svc: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        meta, spec = svc["metadata"], svc.get("spec") or {}
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ip = next((i["ip"] for i in ingress if i.get("ip")), "")
        rules = [
            {
                "entry_protocol": "tcp",
                "entry_port": p["port"],
                "target_protocol": "tcp",
                "target_port": p.get("nodePort") or p["port"],
                "certificate_id": "",
                "tls_passthrough": False,
            }
            for p in spec.get("ports") or []
        ]
        droplets = [
            int(n["droplet_id"])
            for pool in cluster["node_pools"]
            for n in pool["nodes"]
            if n["status"]["state"] == "running"
        ]
        health_port = rules[0]["target_port"] if rules else 80
        return {
            "id": current["id"] if current else str(uuid.uuid4()),
            "name": (meta.get("annotations") or {}).get(LB_NAME_ANNOTATION) or default_lb_name(meta["uid"]),
            "project_id": self.emu.projects.default_id(),
            "ip": ip,
            "size_unit": 1,
            "size": "lb-small",
            "algorithm": "round_robin",
            "status": "active" if ip else "new",
            "created_at": current["created_at"] if current else iso(self.emu.now()),
            "forwarding_rules": rules,
            "health_check": {
                "protocol": "tcp",
                "port": health_port,
                "path": "",
                "check_interval_seconds": 3,
                "response_timeout_seconds": 5,
                "healthy_threshold": 5,
                "unhealthy_threshold": 3,
            },
            "sticky_sessions": {"type": "none"},
            "redirect_http_to_https": False,
            "enable_proxy_protocol": False,
            "enable_backend_keepalive": False,
            "http_idle_timeout_seconds": 60,
            "vpc_uuid": cluster["vpc_uuid"],
            "disable_lets_encrypt_dns_records": False,
            "firewall": {"deny": [], "allow": []},
            "network": "EXTERNAL",
            "network_stack": "IPV4",
            "type": "REGIONAL",
            "tls_cipher_policy": "DEFAULT",
            "region": _region(cluster["region"]),
            "droplet_ids": droplets,
            "tag": "",
            # godo's LoadBalancer carries the tags the CCM sets (req.Tags = [buildK8sTag(clusterID)])
            "tags": [k8s_tag(cluster["id"])],
            "_cluster": cluster["id"],
            "_service_uid": meta["uid"],
        }

    # ------------------------------------------------------------------ CSI driver
    def volumes(self, cluster: dict[str, Any], snap: Snapshot) -> None:
        items = self.emu.volumes.items
        provisioned: list[str] = cluster.setdefault("_csi_volumes", [])
        wanted = {}
        for pv in snap.pvs:
            csi = (pv.get("spec") or {}).get("csi") or {}
            if csi.get("driver") == DOBS_DRIVER and csi.get("volumeHandle"):
                wanted[_volume_id(csi["volumeHandle"])] = pv
        for volume_id in list(provisioned):
            if volume_id not in wanted:
                provisioned.remove(volume_id)
                self.emu.volumes.remove(volume_id)
        for volume_id, pv in wanted.items():
            if volume_id in provisioned:
                continue
            provisioned.append(volume_id)
            size = ((pv.get("spec") or {}).get("capacity") or {}).get("storage", "1Gi")
            items[volume_id] = {
                "id": volume_id,
                "droplet_ids": [],
                "name": pv["metadata"]["name"],
                "description": CSI_DESCRIPTION,
                "size_gigabytes": gigabytes(size),
                "created_at": iso(self.emu.now()),
                "tags": [k8s_tag(cluster["id"])],
                "region": _region(cluster["region"]),
                "filesystem_type": "ext4",
                "filesystem_label": "",
                "_cluster": cluster["id"],
            }
            self.emu.store.touch()


def _volume_id(handle: str) -> str:
    try:
        return str(uuid.UUID(handle))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, handle))


# ---------------------------------------------------------------------- external-dns
class ExternalDnsConfig:
    """The flags of one external-dns container (the chart renders them as ``--key=value``)."""

    def __init__(self, args: list[str]) -> None:
        flags: dict[str, list[str]] = {}
        for arg in args:
            if arg.startswith("--"):
                key, _sep, value = arg[2:].partition("=")
                flags.setdefault(key, []).append(value)
        self.provider = (flags.get("provider") or [""])[-1]
        self.sources = flags.get("source") or []
        self.policy = (flags.get("policy") or ["sync"])[-1]
        self.registry = (flags.get("registry") or ["txt"])[-1]
        self.owner = (flags.get("txt-owner-id") or ["default"])[-1]
        self.prefix = (flags.get("txt-prefix") or [""])[-1].lower()
        self.suffix = (flags.get("txt-suffix") or [""])[-1].lower()
        self.filters = [f.lower().strip(".") for f in flags.get("domain-filter") or [] if f]
        self.excludes = [f.lower().strip(".") for f in flags.get("exclude-domains") or [] if f]

    def matches(self, name: str) -> bool:
        """endpoint.DomainFilter.Match: no filter matches all; else equal to or under a filter."""
        if any(_under(name, e) for e in self.excludes):
            return False
        return not self.filters or any(_under(name, f) for f in self.filters)

    def txt_name(self, host: str, record_type: str) -> str:
        """registry/txt.go ``toTXTName`` (v0.18+): ``<prefix><type>-<first label><suffix>.<rest>``."""
        kind = record_type.lower()
        first, _dot, rest = host.partition(".")
        prefix, suffix = self.prefix.replace("%{record_type}", kind), self.suffix.replace("%{record_type}", kind)
        if "%{record_type}" not in self.prefix + self.suffix:
            first = f"{kind}-{first}"
        return f"{prefix}{first}{suffix}" + (f".{rest}" if rest else "")


def _under(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


def labels_of(data: str) -> dict[str, str] | None:
    """endpoint.NewLabelsFromStringPlain: the labels of a registry TXT, None if not external-dns's."""
    tokens = data.strip().strip('"').split(",")
    labels: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or "=" in value:
            return None
        if key == "heritage":
            if value != "external-dns":
                return None
            labels["heritage"] = value
        elif key.startswith("external-dns/"):
            labels[key.removeprefix("external-dns/")] = value
    return labels if "heritage" in labels else None


def serialize(owner: str, resource: str) -> str:
    """endpoint.Labels.SerializePlain(withQuotes=true): heritage first, then the sorted keys."""
    return f'"heritage=external-dns,external-dns/owner={owner},external-dns/resource={resource}"'


class ExternalDns:
    """One pass of every external-dns Deployment (provider digitalocean) of one cluster."""

    def __init__(self, emu: DigitalOceanEmulator, snap: Snapshot) -> None:
        self.emu = emu
        self.snap = snap

    def run(self) -> None:
        for deployment in self.snap.deployments:
            if int((deployment.get("status") or {}).get("availableReplicas") or 0) < 1:
                continue
            for container in deployment["spec"]["template"]["spec"].get("containers") or []:
                config = ExternalDnsConfig([str(a) for a in container.get("args") or []])
                if config.provider != "digitalocean" or config.registry != "txt":
                    continue
                if not self._authorized(self._token(deployment, container)):
                    continue  # this external-dns's calls would be answered 401 or 403
                self.reconcile(config)

    # the API calls external-dns's digitalocean provider makes (provider/digitalocean/digitalocean.go)
    CALLS = (
        ("GET", "/v2/domains"),
        ("GET", "/v2/domains/{domain_name}/records"),
        ("POST", "/v2/domains/{domain_name}/records"),
        ("PUT", "/v2/domains/{domain_name}/records/{domain_record_id}"),
        ("DELETE", "/v2/domains/{domain_name}/records/{domain_record_id}"),
    )

    def _authorized(self, token: str | None) -> bool:
        """A token the API accepts whose scopes cover every call above (the account's or a DNS-scoped one)."""
        tokens = self.emu.tokens()
        if token not in tokens:
            return False
        return all(scopes.allows(tokens[token], method, path) for method, path in self.CALLS)

    def _token(self, deployment: dict[str, Any], container: dict[str, Any]) -> str | None:
        namespace = deployment["metadata"]["namespace"]
        for env in container.get("env") or []:
            if env.get("name") != "DO_TOKEN":
                continue
            if "value" in env:
                return str(env["value"])
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            data = self.snap.secrets.get((namespace, ref.get("name", "")), {})
            raw = data.get(ref.get("key", ""))
            return base64.b64decode(raw).decode() if raw else None
        return None

    # ------------------------------------------------------------------ sources
    def endpoints(self, config: ExternalDnsConfig) -> dict[str, tuple[list[str], str]]:
        """host -> (targets, resource label) from the sources external-dns reads."""
        found: dict[str, tuple[list[str], str]] = {}
        if "ingress" in config.sources:
            for ing in self.snap.ingresses:
                spec, meta = ing.get("spec") or {}, ing["metadata"]
                hosts = [r.get("host") for r in spec.get("rules") or []]
                hosts += [h for t in spec.get("tls") or [] for h in t.get("hosts") or []]
                self._add(found, ing, hosts, f"ingress/{meta['namespace']}/{meta['name']}")
        if "service" in config.sources:
            for svc in self.snap.services:
                if (svc.get("spec") or {}).get("type") == "LoadBalancer":
                    meta = svc["metadata"]
                    self._add(found, svc, [], f"service/{meta['namespace']}/{meta['name']}")
        return found

    @staticmethod
    def _add(found: dict[str, tuple[list[str], str]], obj: dict[str, Any], hosts: list[Any], resource: str) -> None:
        annotations = obj["metadata"].get("annotations") or {}
        hosts = hosts + [h.strip() for h in annotations.get(HOSTNAME_ANNOTATION, "").split(",")]
        if annotations.get(TARGET_ANNOTATION):
            targets = [t.strip() for t in annotations[TARGET_ANNOTATION].split(",") if t.strip()]
        else:
            status = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            targets = [s.get("ip") or s.get("hostname") for s in status if s.get("ip") or s.get("hostname")]
        if not targets:
            return
        for host in hosts:
            if host and not host.startswith("*"):
                found.setdefault(str(host).lower().strip("."), (sorted(set(targets)), resource))

    # ------------------------------------------------------------------ plan and apply
    def reconcile(self, config: ExternalDnsConfig) -> None:
        domains = self.emu.domains.domains
        zones = sorted((z for z in domains if config.matches(z)), key=len, reverse=True)
        desired = self.endpoints(config)
        for host, (targets, resource) in desired.items():
            zone = next((z for z in zones if _under(host, z)), None)
            if zone is None or not config.matches(host):
                continue
            self.upsert(config, domains[zone], host, targets, resource)
        if config.policy == "sync":
            for zone in zones:
                self.delete_gone(config, domains[zone], set(desired))

    def upsert(
        self, config: ExternalDnsConfig, zone: dict[str, Any], host: str, targets: list[str], resource: str
    ) -> None:
        kind = _record_type(targets[0])
        name = _relative(host, zone["name"])
        txt = _relative(config.txt_name(host, kind), zone["name"])
        records = zone["_records"]
        registry = [r for r in records if r["type"] == "TXT" and r["name"] == txt]
        owned = [r for r in records if r["type"] == kind and r["name"] == name]
        labels = [labels_of(r["data"]) for r in registry]
        if not registry:
            if owned or any(r["type"] in MANAGED_TYPES and r["name"] == name for r in records):
                return  # a record nobody marked: external-dns leaves it alone
            for target in targets:
                DomainsApi._add(zone, {"type": kind, "name": name, "data": target, "ttl": EXTERNAL_DNS_TTL})
            DomainsApi._add(zone, {"type": "TXT", "name": txt, "data": serialize(config.owner, resource)})
            self.emu.store.touch()
            return
        if not any(lab and lab.get("owner") == config.owner for lab in labels) or config.policy == "create-only":
            return
        if sorted(r["data"] for r in owned) != targets:
            for record in owned:
                records.remove(record)
            for target in targets:
                DomainsApi._add(zone, {"type": kind, "name": name, "data": target, "ttl": EXTERNAL_DNS_TTL})
            self.emu.store.touch()

    def delete_gone(self, config: ExternalDnsConfig, zone: dict[str, Any], desired: set[str]) -> None:
        for record in list(zone["_records"]):
            if record["type"] != "TXT":
                continue
            labels = labels_of(record["data"])
            if not labels or labels.get("owner") != config.owner:
                continue
            for kind in MANAGED_TYPES:
                host = _absolute(record["name"], zone["name"])
                first, _dot, rest = host.partition(".")
                marker = f"{config.prefix}{kind.lower()}-"
                if not first.startswith(marker):
                    continue
                owned = first.removeprefix(marker) + (f".{rest}" if rest else "")
                if owned in desired:
                    continue
                short = _relative(owned, zone["name"])
                zone["_records"] = [
                    r for r in zone["_records"] if not (r["type"] == kind and r["name"] == short) and r is not record
                ]
                self.emu.store.touch()


def _record_type(target: str) -> str:
    try:
        return "AAAA" if ipaddress.ip_address(target).version == 6 else "A"
    except ValueError:
        return "CNAME"


def _relative(host: str, zone: str) -> str:
    return "@" if host == zone else host.removesuffix("." + zone)


def _absolute(name: str, zone: str) -> str:
    return zone if name == "@" else f"{name}.{zone}"
