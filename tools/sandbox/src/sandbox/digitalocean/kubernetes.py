"""DOKS: clusters, node pools, upgrades, kubeconfig and credentials (``/v2/kubernetes``)."""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import secrets
import string
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.digitalocean import catalog
from sandbox.digitalocean.common import body_of, iso, paginate
from sandbox.server import HTTPError, Request, Response

if TYPE_CHECKING:
    from sandbox.digitalocean import DigitalOceanEmulator

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DAYS = ("any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_KUBECONFIG_EXPIRY = 7 * 24 * 3600
POOL_LABEL = "doks.digitalocean.com/node-pool"
POOL_ID_LABEL = "doks.digitalocean.com/node-pool-id"
NODE_ID_LABEL = "doks.digitalocean.com/node-id"
# models/node_pool.yml: "All node pools are automatically tagged `k8s`, `k8s-worker`, and
# `k8s:$K8S_CLUSTER_ID`."
AUTO_POOL_TAGS = ("k8s", "k8s-worker")
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ALNUM = string.ascii_lowercase + string.digits
C = "/v2/kubernetes/clusters/([^/]+)"


def public(obj: Any) -> Any:
    """A copy without the emulator's private ``_`` keys."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def _invalid(message: str) -> HTTPError:
    return HTTPError(422, message)


# specification/resources/tags/models/tags.yml, name: pattern '^[a-zA-Z0-9_\-\:]+$', maxLength 255
# ("Tags may contain letters, numbers, colons, dashes, and underscores. There is a limit of 255
# characters per tag.").
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")


# JSON types of the fields of models/cluster.yml, cluster_update.yml and node_pool.yml that the
# emulator reads. A value of another type does not match the schema: the API cannot decode the
# body, and answers 400 bad_request as for any body it cannot parse.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "auto_upgrade": (bool,),
    "surge_upgrade": (bool,),
    "ha": (bool,),
    "auto_scale": (bool,),
    "count": (int,),
    "min_nodes": (int,),
    "max_nodes": (int,),
    "version": (str,),
    "region": (str,),
    "size": (str,),
    "vpc_uuid": (str,),
    "maintenance_policy": (dict,),
    "control_plane_firewall": (dict,),
}
_TYPE_NAMES = {bool: "boolean", int: "integer", str: "string", dict: "object"}


def _check_types(body: dict[str, Any], what: str) -> None:
    for field, types in _JSON_TYPES.items():
        value = body.get(field)
        if value is None:
            continue
        wrong = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
        if wrong:
            raise HTTPError(
                400,
                f"unable to parse request body: {what}{field} must be a JSON {_TYPE_NAMES[types[0]]}, "
                f"got {type(value).__name__} {value!r}",
            )


def _check_tags(value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _invalid(f"{what}: tags must be an array of strings")
    bad = [t for t in value if not TAG_RE.match(t)]
    if bad:
        raise _invalid(
            f"validation error: {what}: invalid tag {bad[0]!r}: tags may contain letters, numbers, colons, "
            "dashes, and underscores, at most 255 characters"
        )
    return list(dict.fromkeys(value))


def _check_labels(value: Any, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise _invalid(f"{what}: labels must be an object of string values")
    return dict(value)


def _check_taints(value: Any, what: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(f"{what}: taints must be an array")
    taints = []
    for taint in value:
        if not isinstance(taint, dict) or not taint.get("key"):
            raise _invalid(f"{what}: every taint needs a key")
        if taint.get("effect") not in EFFECTS:
            raise _invalid(f"{what}: taint effect must be one of {', '.join(EFFECTS)}")
        taints.append({"key": str(taint["key"]), "value": str(taint.get("value") or ""), "effect": taint["effect"]})
    return taints


def _check_firewall(value: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """``control_plane_firewall`` (models/control_plane_firewall.yml): a nullable object with
    ``enabled`` (boolean) and ``allowed_addresses`` ("An array of public addresses (IPv4 or CIDR)
    allowed to access the control plane", items string). Omitted or null leaves the current
    setting; a given key replaces its current value. An address that is not a public IPv4 address
    or IPv4 CIDR is refused (422), never stored."""
    if value is None:
        return current
    if not isinstance(value, dict):
        raise HTTPError(400, "unable to parse request body: control_plane_firewall must be a JSON object")
    firewall = copy.deepcopy(current) if current else {"enabled": False, "allowed_addresses": []}
    if value.get("enabled") is not None:
        if not isinstance(value["enabled"], bool):
            raise HTTPError(400, "unable to parse request body: control_plane_firewall.enabled must be a JSON boolean")
        firewall["enabled"] = value["enabled"]
    addresses = value.get("allowed_addresses")
    if addresses is not None:
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise HTTPError(
                400,
                "unable to parse request body: control_plane_firewall.allowed_addresses must be an array of strings",
            )
        for address in addresses:
            problem = firewall_address_problem(address)
            if problem:
                raise _invalid(f"validation error: control_plane_firewall.allowed_addresses: {address!r} {problem}")
        firewall["allowed_addresses"] = list(addresses)
    return firewall


def firewall_address_problem(address: str) -> str:
    """Why ``address`` is not a public IPv4 address or IPv4 CIDR, or ``""``."""
    try:
        network = ipaddress.ip_network(address, strict=True)
    except ValueError:
        return "is not an IPv4 address or CIDR (for example 1.2.3.4 or 1.1.0.0/16)"
    if network.version != 4:
        return "is not IPv4"
    if not network.is_global:
        return "is not a public address"
    return ""


def _check_scaling(pool: dict[str, Any], what: str) -> None:
    count = pool["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise _invalid(f"{what}: count must be a non-negative integer")
    if not pool["auto_scale"]:
        pool["min_nodes"] = pool["max_nodes"] = 0
        if count < 1:
            raise _invalid(f"{what}: count must be at least 1 unless auto_scale is enabled")
        return
    low, high = pool["min_nodes"], pool["max_nodes"]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (low, high)):
        raise _invalid(f"{what}: min_nodes and max_nodes must be non-negative integers")
    if high < 1 or low > high:
        raise _invalid(f"{what}: min_nodes must not exceed max_nodes, and max_nodes must be at least 1")
    if not low <= count <= high:
        raise _invalid(f"{what}: count must be between min_nodes and max_nodes")


class KubernetesApi:
    def __init__(self, emu: DigitalOceanEmulator) -> None:
        self.emu = emu

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/v2/kubernetes/options", self.options),
            ("GET", r"/v2/kubernetes/clusters", self.list_clusters),
            ("POST", r"/v2/kubernetes/clusters", self.create_cluster),
            ("GET", C, self.get_cluster),
            ("PUT", C, self.update_cluster),
            ("DELETE", C, self.delete_cluster),
            ("GET", C + "/destroy_with_associated_resources", self.associated),
            ("DELETE", C + "/destroy_with_associated_resources/selective", self.destroy_selective),
            ("DELETE", C + "/destroy_with_associated_resources/dangerous", self.destroy_dangerous),
            ("GET", C + "/upgrades", self.available_upgrades),
            ("POST", C + "/upgrade", self.upgrade),
            ("GET", C + "/kubeconfig", self.kubeconfig),
            ("GET", C + "/credentials", self.credentials),
            ("GET", C + "/node_pools", self.list_pools),
            ("POST", C + "/node_pools", self.create_pool),
            ("GET", C + "/node_pools/([^/]+)", self.get_pool),
            ("PUT", C + "/node_pools/([^/]+)", self.update_pool),
            ("DELETE", C + "/node_pools/([^/]+)", self.delete_pool),
            ("POST", C + "/node_pools/([^/]+)/recycle", self.recycle),
        ]

    # ------------------------------------------------------------------ state helpers
    @property
    def clusters(self) -> dict[str, dict[str, Any]]:
        return self.emu.data["clusters"]

    def _cluster(self, cluster_id: str) -> dict[str, Any]:
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise HTTPError(404, "The resource you were accessing could not be found.")
        return cluster

    def _pool(self, cluster: dict[str, Any], pool_id: str) -> dict[str, Any]:
        for pool in cluster["node_pools"]:
            if pool["id"] == pool_id:
                return pool
        raise HTTPError(404, "The resource you were accessing could not be found.")

    def _touch(self, obj: dict[str, Any]) -> None:
        obj["updated_at"] = iso(self.emu.now())
        self.emu.store.touch()

    def _resolve_version(self, slug: Any) -> str:
        """A slug, ``latest`` or a minor version (models/cluster.yml: "If set to a minor version
        (e.g. "1.14"), the latest version within it will be used ... if set to "latest", the latest
        published version will be used")."""
        if slug == "latest":
            return self.emu.versions[0]
        if isinstance(slug, str) and re.fullmatch(r"\d+\.\d+", slug):
            for version in self.emu.versions:
                if version.startswith(slug + "."):
                    return version
        if slug not in self.emu.versions:
            raise _invalid(f"validation error: version {slug!r} is not a supported Kubernetes version slug")
        return slug

    def _vpc(self, region: str) -> str:
        vpcs = self.emu.data.setdefault("vpcs", {})
        if region not in vpcs:
            vpcs[region] = str(uuid.uuid4())
        return vpcs[region]

    def _new_node(self, pool: dict[str, Any]) -> dict[str, Any]:
        now = self.emu.now()
        return {
            "id": str(uuid.uuid4()),
            "name": f"{pool['name']}-{''.join(secrets.choice(_ALNUM) for _i in range(5))}",
            "status": {"state": "provisioning"},
            "droplet_id": str(400000000 + secrets.randbelow(99999999)),
            "created_at": iso(now),
            "updated_at": iso(now),
            "_labels": dict(pool["labels"]),
            "_ready_at": now + self.emu.provision_seconds,
        }

    def _scale(self, pool: dict[str, Any]) -> None:
        nodes = pool["nodes"]
        while len(nodes) < pool["count"]:
            nodes.append(self._new_node(pool))
        del nodes[pool["count"] :]

    def _pool_from(self, spec: dict[str, Any], cluster_id: str, what: str) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise HTTPError(400, f"unable to parse request body: {what} must be a JSON object")
        _check_types(spec, f"{what}.")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _invalid(f"{what}: name is required (lowercase letters, digits and dashes)")
        if spec.get("size") not in {s[0] for s in catalog.SIZES}:
            raise _invalid(f"{what}: size {spec.get('size')!r} is not a valid size slug")
        # models/node_pool.yml kubernetes_node_pool: required name, size, count (auto-scaled too)
        if "count" not in spec:
            raise _invalid(f"{what}: count is required")
        pool = {
            "id": str(uuid.uuid4()),
            "name": name,
            "size": spec["size"],
            "count": spec.get("count", spec.get("min_nodes", 0)),
            "tags": [*AUTO_POOL_TAGS, f"k8s:{cluster_id}", *_check_tags(spec.get("tags") or [], what)],
            "labels": _check_labels(spec.get("labels"), what),
            "taints": _check_taints(spec.get("taints"), what),
            "auto_scale": bool(spec.get("auto_scale", False)),
            "min_nodes": spec.get("min_nodes", 0),
            "max_nodes": spec.get("max_nodes", 0),
            "nodes": [],
        }
        pool["tags"] = list(dict.fromkeys(pool["tags"]))
        _check_scaling(pool, what)
        self._scale(pool)
        return pool

    # ------------------------------------------------------------------ catalogue
    def options(self, request: Request) -> Response:
        return Response(200, catalog.kubernetes_options(self.emu.versions))

    # ------------------------------------------------------------------ clusters
    def list_clusters(self, request: Request) -> Response:
        items = [public(c) for c in sorted(self.clusters.values(), key=lambda c: c["created_at"])]
        return paginate(request, "kubernetes_clusters", items)

    def create_cluster(self, request: Request) -> Response:
        body = body_of(request)
        _check_types(body, "")
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _invalid("validation error: name is required (lowercase letters, digits and dashes)")
        if any(c["name"] == name for c in self.clusters.values()):
            raise _invalid(f"a cluster with the name {name!r} already exists")
        if body.get("region") not in {r[0] for r in catalog.REGIONS}:
            raise _invalid(f"validation error: region {body.get('region')!r} is not a valid region slug")
        version = self._resolve_version(body.get("version"))
        if body.get("vpc_uuid") and not _is_uuid(body["vpc_uuid"]):
            # models/cluster.yml: vpc_uuid, "format: uuid"
            raise _invalid(f"validation error: vpc_uuid {body['vpc_uuid']!r} is not a valid UUID")
        specs = body.get("node_pools")
        if not isinstance(specs, list) or not specs:
            raise _invalid("validation error: node_pools must contain at least one node pool")
        cluster_id = str(uuid.uuid4())
        pools = [self._pool_from(spec, cluster_id, f"node_pools[{i}]") for i, spec in enumerate(specs)]
        names = [p["name"] for p in pools]
        if len(set(names)) != len(names):
            raise _invalid("validation error: node pool names must be unique within a cluster")
        now = self.emu.now()
        cluster = {
            "id": cluster_id,
            "name": name,
            "region": body["region"],
            "version": version,
            "cluster_subnet": body.get("cluster_subnet") or "10.244.0.0/16",
            "service_subnet": body.get("service_subnet") or "10.245.0.0/16",
            "vpc_uuid": body.get("vpc_uuid") or self._vpc(body["region"]),
            "ipv4": "",
            "endpoint": "",
            "tags": list(dict.fromkeys(["k8s", f"k8s:{cluster_id}", *_check_tags(body.get("tags") or [], "tags")])),
            "node_pools": pools,
            "maintenance_policy": self._maintenance(body.get("maintenance_policy")),
            "auto_upgrade": body.get("auto_upgrade") is True,
            "surge_upgrade": body.get("surge_upgrade") is True,
            "ha": self._ha(body, version),
            "control_plane_firewall": _check_firewall(body.get("control_plane_firewall"), None),
            "registry_enabled": False,
            "status": {"state": "provisioning", "message": "provisioning"},
            "created_at": iso(now),
            "updated_at": iso(now),
            "_ready_at": now + self.emu.provision_seconds,
            "_admin_token": "dop_v1_" + secrets.token_hex(32),
        }
        self.clusters[cluster_id] = cluster
        self.emu.store.touch()
        return Response(201, {"kubernetes_cluster": public(cluster)})

    @staticmethod
    def _ha(body: dict[str, Any], version: str) -> bool:
        """``ha`` as sent, else DOKS's version-dependent default (catalog.HA_DEFAULT_FROM)."""
        if "ha" not in body or body["ha"] is None:
            return catalog.upstream_version(version) >= catalog.HA_DEFAULT_FROM
        if not isinstance(body["ha"], bool):
            raise _invalid("validation error: ha must be a boolean")
        return body["ha"]

    def _maintenance(self, value: Any, current: dict[str, Any] | None = None) -> dict[str, Any]:
        policy = dict(current or {"start_time": "00:00", "duration": "4h0m0s", "day": "any"})
        if value is None:
            return policy
        if not isinstance(value, dict):
            raise _invalid("validation error: maintenance_policy must be an object")
        if "day" in value:
            if value["day"] not in DAYS:
                raise _invalid(f"validation error: maintenance_policy.day must be one of {', '.join(DAYS)}")
            policy["day"] = value["day"]
        if "start_time" in value:
            if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", str(value["start_time"])):
                raise _invalid("validation error: maintenance_policy.start_time must be HH:MM")
            policy["start_time"] = value["start_time"]
        return policy

    def get_cluster(self, request: Request, cluster_id: str) -> Response:
        return Response(200, {"kubernetes_cluster": public(self._cluster(cluster_id))})

    def update_cluster(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        body = body_of(request)
        _check_types(body, "")
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _invalid("validation error: name is required")
        if name != cluster["name"] and any(c["name"] == name for c in self.clusters.values()):
            raise _invalid(f"a cluster with the name {name!r} already exists")
        if body.get("ha") is False and cluster["ha"]:
            raise _invalid("validation error: high availability cannot be disabled once enabled")
        maintenance = self._maintenance(body.get("maintenance_policy"), cluster["maintenance_policy"])
        firewall = _check_firewall(body.get("control_plane_firewall"), cluster.get("control_plane_firewall"))
        cluster["name"] = name
        cluster["control_plane_firewall"] = firewall
        cluster["maintenance_policy"] = maintenance
        if "tags" in body:
            cluster["tags"] = list(dict.fromkeys(["k8s", f"k8s:{cluster_id}", *_check_tags(body["tags"], "tags")]))
        for flag in ("auto_upgrade", "surge_upgrade", "ha"):
            if body.get(flag) is not None:
                cluster[flag] = body[flag]
        self._touch(cluster)
        return Response(202, {"kubernetes_cluster": public(cluster)})

    def delete_cluster(self, request: Request, cluster_id: str) -> Response:
        """kubernetes_delete_cluster.yml. The cluster's load balancers and volumes stay (and stay
        billed): only the destroy_with_associated_resources endpoints delete them with it."""
        self._cluster(cluster_id)
        self._destroy(cluster_id)
        return Response(204, None)

    def _destroy(self, cluster_id: str) -> None:
        self.unregister(cluster_id)
        self.emu.controllers.forget(cluster_id)
        del self.clusters[cluster_id]
        self.emu.store.touch()

    # ------------------------------------------------------------------ associated resources
    def _associated(self, cluster_id: str) -> dict[str, list[dict[str, str]]]:
        """The billable resources the cluster's controllers created, found by the tag they carry
        (``k8s:<cluster id>``): models/associated_kubernetes_resources.yml. Volume snapshots are
        not emulated (always empty)."""
        tag = f"k8s:{cluster_id}"
        return {
            "load_balancers": [{"id": lb["id"], "name": lb["name"]} for lb in self.emu.load_balancers.tagged(tag)],
            "volumes": [{"id": v["id"], "name": v["name"]} for v in self.emu.volumes.tagged(tag)],
            "volume_snapshots": [],
        }

    def associated(self, request: Request, cluster_id: str) -> Response:
        """kubernetes_list_associatedResources.yml: "the associated billable resources that can be
        destroyed along with a cluster"."""
        self._cluster(cluster_id)
        return Response(200, self._associated(cluster_id))

    def destroy_selective(self, request: Request, cluster_id: str) -> Response:
        """kubernetes_destroy_associatedResourcesSelective.yml: the body (``requestBody: required``,
        models/associated_kubernetes_resources.yml ``destroy_associated_kubernetes_resources``)
        names, per kind, arrays of ids "found by querying the cluster's associated resources
        endpoint"; "Any associated resource not included in the request will remain". An id that
        endpoint does not list for this cluster is refused (422) before anything is deleted."""
        self._cluster(cluster_id)
        body = request.json() if request.body else None
        if not isinstance(body, dict):
            raise HTTPError(400, "unable to parse request body: a JSON object is required")
        listed = self._associated(cluster_id)
        chosen: dict[str, list[str]] = {}
        for kind in ("load_balancers", "volumes", "volume_snapshots"):
            ids = body.get(kind)
            if ids is None:
                continue
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise HTTPError(400, f"unable to parse request body: {kind} must be an array of strings")
            known = {item["id"] for item in listed[kind]}
            unknown = [i for i in ids if i not in known]
            if unknown:
                raise _invalid(f"{kind}: {', '.join(unknown)} not associated with cluster {cluster_id}")
            chosen[kind] = ids
        self._destroy(cluster_id)
        for lb_id in chosen.get("load_balancers", []):
            self.emu.load_balancers.remove(lb_id)
        for volume_id in chosen.get("volumes", []):
            self.emu.volumes.remove(volume_id)
        return Response(204, None)

    def destroy_dangerous(self, request: Request, cluster_id: str) -> Response:
        """kubernetes_destroy_associatedResourcesDangerous.yml: the cluster and every associated resource."""
        self._cluster(cluster_id)
        listed = self._associated(cluster_id)
        self._destroy(cluster_id)
        for item in listed["load_balancers"]:
            self.emu.load_balancers.remove(item["id"])
        for item in listed["volumes"]:
            self.emu.volumes.remove(item["id"])
        return Response(204, None)

    def _upgrades(self, cluster: dict[str, Any]) -> list[str]:
        versions = self.emu.versions
        if cluster["version"] not in versions:
            return []
        minor = _minor(cluster["version"])
        newer = versions[: versions.index(cluster["version"])]
        return [v for v in newer if _minor(v) <= minor + 1]

    def available_upgrades(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        return Response(
            200, {"available_upgrade_versions": [catalog.version_entry(v) for v in self._upgrades(cluster)]}
        )

    def upgrade(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        # kubernetes_upgrade_cluster.yml: "The body of the request must specify a version
        # attribute" - "The slug identifier for the version of Kubernetes that the cluster will
        # be upgraded to", one of /upgrades (no "latest" or minor shorthand there).
        version = body_of(request).get("version")
        if version not in self._upgrades(cluster):
            raise _invalid(f"validation error: {version!r} is not an available upgrade for this cluster")
        cluster["status"] = {"state": "upgrading", "message": f"upgrading to {version}"}
        cluster["_target_version"] = version
        cluster["_ready_at"] = self.emu.now() + self.emu.provision_seconds
        self._touch(cluster)
        return Response(202, None)

    # ------------------------------------------------------------------ access
    def _token(self, request: Request, cluster: dict[str, Any]) -> tuple[str, float]:
        if cluster["status"]["state"] == "provisioning":
            raise HTTPError(404, "cluster is still provisioning; its credentials are not available yet")
        raw = request.arg("expiry_seconds", "0") or "0"
        try:
            expiry = int(raw)
        except ValueError as exc:
            raise HTTPError(400, "expiry_seconds must be an integer") from exc
        if expiry < 0:
            raise HTTPError(400, "expiry_seconds must not be negative")
        expires_at = self.emu.now() + (expiry or DEFAULT_KUBECONFIG_EXPIRY)
        token = "dop_v1_" + secrets.token_hex(32)
        peer = self._peer()
        if peer is not None:
            peer.add_token(cluster["id"], token, expires_at)
        self.emu.data.setdefault("issued_tokens", []).append(
            {"cluster_id": cluster["id"], "expires_at": expires_at, "expiry_seconds": expiry, "token": token}
        )
        self.emu.store.touch()
        return token, expires_at

    def revoke_tokens(self, cluster_id: str) -> int:
        """Revoke every token ``/kubeconfig`` and ``/credentials`` issued for the cluster.

        A DOKS kubeconfig token is an API token of the account (``dop_v1_``, listed under API >
        Tokens in the control panel, digitalocean/doctl#1083); deleting it there revokes it at
        once, expiry or not, and the cluster answers 401 to it from then on. The API v2 has no
        route for it, so the sandbox offers ``POST /_sandbox/revoke_kubeconfig_tokens``.
        """
        issued = [t for t in self.emu.data.get("issued_tokens", []) if t["cluster_id"] == cluster_id]
        peer = self._peer()
        if peer is not None:
            peer.revoke_tokens(cluster_id, [t["token"] for t in issued if t.get("token")])
        self.emu.data["issued_tokens"] = [t for t in self.emu.data.get("issued_tokens", []) if t not in issued]
        self.emu.store.touch()
        return len(issued)

    def _server(self, cluster: dict[str, Any]) -> str:
        return cluster["endpoint"] or f"https://{cluster['id']}.k8s.ondigitalocean.com"

    def _ca_data(self) -> str:
        ca_file = self.emu.ctx.endpoints.get("ca_file")
        return base64.b64encode(Path(ca_file).read_bytes()).decode() if ca_file else ""

    def kubeconfig(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        token = self._token(request, cluster)[0]
        ref = f"do-{cluster['region']}-{cluster['name']}"
        text = (
            "apiVersion: v1\n"
            "kind: Config\n"
            "preferences: {}\n"
            "clusters:\n"
            "- cluster:\n"
            f"    certificate-authority-data: {self._ca_data()}\n"
            f"    server: {self._server(cluster)}\n"
            f"  name: {ref}\n"
            "contexts:\n"
            "- context:\n"
            f"    cluster: {ref}\n"
            f"    user: {ref}-admin\n"
            f"  name: {ref}\n"
            f"current-context: {ref}\n"
            "users:\n"
            f"- name: {ref}-admin\n"
            "  user:\n"
            f"    token: {token}\n"
        )
        return Response(200, text.encode(), content_type="application/yaml")

    def credentials(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        token, expires_at = self._token(request, cluster)
        return Response(
            200,
            {
                "server": self._server(cluster),
                "certificate_authority_data": self._ca_data(),
                # models/credentials.yml: the certificate fields are deprecated and null for
                # clusters with token authentication (every cluster created today).
                "client_certificate_data": None,
                "client_key_data": None,
                "token": token,
                "expires_at": iso(expires_at),
            },
        )

    # ------------------------------------------------------------------ node pools
    def list_pools(self, request: Request, cluster_id: str) -> Response:
        return Response(200, {"node_pools": public(self._cluster(cluster_id)["node_pools"])})

    def get_pool(self, request: Request, cluster_id: str, pool_id: str) -> Response:
        return Response(200, {"node_pool": public(self._pool(self._cluster(cluster_id), pool_id))})

    def create_pool(self, request: Request, cluster_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        pool = self._pool_from(body_of(request), cluster_id, "node_pool")
        if any(p["name"] == pool["name"] for p in cluster["node_pools"]):
            raise _invalid(f"validation error: a node pool named {pool['name']!r} already exists in this cluster")
        cluster["node_pools"].append(pool)
        self._touch(cluster)
        return Response(201, {"node_pool": public(pool)})

    def update_pool(self, request: Request, cluster_id: str, pool_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        pool = self._pool(cluster, pool_id)
        body = body_of(request)
        _check_types(body, "")
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _invalid("validation error: name is required")
        if "count" not in body:
            raise _invalid("validation error: count is required")
        if name != pool["name"] and any(p["name"] == name for p in cluster["node_pools"]):
            raise _invalid(f"validation error: a node pool named {name!r} already exists in this cluster")
        # Fields not sent keep their value; sent lists and maps replace (an empty one clears).
        updated = copy.deepcopy(pool)
        updated["name"] = name
        updated["count"] = body["count"]
        if "tags" in body:
            updated["tags"] = list(
                dict.fromkeys([*AUTO_POOL_TAGS, f"k8s:{cluster_id}", *_check_tags(body["tags"] or [], "tags")])
            )
        if "labels" in body:
            updated["labels"] = _check_labels(body["labels"], "node_pool")
        if "taints" in body:
            updated["taints"] = _check_taints(body["taints"], "node_pool")
        for key in ("auto_scale", "min_nodes", "max_nodes"):
            if key in body:
                updated[key] = bool(body[key]) if key == "auto_scale" else body[key]
        _check_scaling(updated, "node_pool")
        for node in updated["nodes"]:
            # DOKS adds and changes labels on existing nodes but never removes one.
            node["_labels"].update(updated["labels"])
        self._scale(updated)
        pool.clear()
        pool.update(updated)
        self._touch(cluster)
        self.sync(cluster)
        return Response(202, {"node_pool": public(pool)})

    def delete_pool(self, request: Request, cluster_id: str, pool_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        pool = self._pool(cluster, pool_id)
        cluster["node_pools"].remove(pool)
        self._touch(cluster)
        self.sync(cluster)
        return Response(204, None)

    def recycle(self, request: Request, cluster_id: str, pool_id: str) -> Response:
        cluster = self._cluster(cluster_id)
        pool = self._pool(cluster, pool_id)
        wanted = body_of(request).get("nodes")
        if not isinstance(wanted, list) or not wanted:
            raise _invalid("validation error: nodes must list the node ids to recycle")
        known = {n["id"] for n in pool["nodes"]}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise _invalid(f"validation error: nodes not in this pool: {', '.join(map(str, unknown))}")
        pool["nodes"] = [self._new_node(pool) if n["id"] in wanted else n for n in pool["nodes"]]
        self._touch(cluster)
        self.sync(cluster)
        return Response(202, None)

    # ------------------------------------------------------------------ controller
    def tick(self) -> None:
        now = self.emu.now()
        for cluster in list(self.clusters.values()):
            changed = False
            state = cluster["status"]["state"]
            if state in ("provisioning", "upgrading") and now >= cluster["_ready_at"]:
                if state == "upgrading":
                    cluster["version"] = cluster.pop("_target_version", cluster["version"])
                cluster["status"] = {"state": "running", "message": ""}
                self.register(cluster)
                changed = True
            for pool in cluster["node_pools"]:
                for node in pool["nodes"]:
                    if node["status"]["state"] == "provisioning" and now >= node["_ready_at"]:
                        node["status"] = {"state": "running"}
                        node["updated_at"] = iso(now)
                        changed = True
            if changed:
                self._touch(cluster)
                self.sync(cluster)

    # ------------------------------------------------------------------ Kubernetes emulator
    def _peer(self) -> Any:
        return self.emu.ctx.peers.get("kubernetes")

    def _k8s_nodes(self, cluster: dict[str, Any]) -> list[dict[str, Any]]:
        nodes = []
        for pool in cluster["node_pools"]:
            for node in pool["nodes"]:
                if node["status"]["state"] != "running":
                    continue
                labels = {
                    **node["_labels"],
                    POOL_LABEL: pool["name"],
                    POOL_ID_LABEL: pool["id"],
                    NODE_ID_LABEL: node["id"],
                }
                nodes.append({"name": node["name"], "labels": labels, "taints": [dict(t) for t in pool["taints"]]})
        return nodes

    def register(self, cluster: dict[str, Any]) -> None:
        peer = self._peer()
        if peer is None:
            return
        peer.ensure_cluster(cluster["id"], cluster["_admin_token"], self._k8s_nodes(cluster))
        cluster["endpoint"] = peer.server_url(cluster["id"])
        cluster["ipv4"] = "127.0.0.1"
        cluster["_registered"] = True

    def sync(self, cluster: dict[str, Any]) -> None:
        peer = self._peer()
        if peer is not None and cluster.get("_registered"):
            peer.set_nodes(cluster["id"], self._k8s_nodes(cluster))

    def unregister(self, cluster_id: str) -> None:
        peer = self._peer()
        cluster = self.clusters.get(cluster_id)
        if peer is not None and cluster and cluster.get("_registered"):
            peer.remove_cluster(cluster_id)

    def resync(self) -> None:
        """After a restart: register the running clusters again (the peer may keep no state)."""
        for cluster in self.clusters.values():
            if cluster["status"]["state"] != "provisioning":
                self.register(cluster)
        self.emu.store.touch()


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _minor(slug: str) -> int:
    parts = slug.split("-", maxsplit=1)[0].split(".")
    return int(parts[0]) * 1000 + int(parts[1])
