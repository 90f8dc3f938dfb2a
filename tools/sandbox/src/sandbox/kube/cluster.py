"""One virtual cluster: its objects, resource versions, types, and the API verbs on them."""

from __future__ import annotations

import copy
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from sandbox.kube import apply as ssa
from sandbox.kube import errors, fields, judge, patch, podsecurity, schema, structural, tekton
from sandbox.kube.defaults import apply_defaults
from sandbox.kube.errors import KubeError
from sandbox.kube.resources import BUILTIN, VIRTUAL, ResourceType, from_crd
from sandbox.kube.selectors import parse_field_selector, parse_label_selector
from sandbox.kube.validate import validate
from sandbox.kube.watch import Event, EventBus

CRD_GR = "apiextensions.k8s.io/customresourcedefinitions"
NS_GR = "/namespaces"
# Jobs (batch/v1) orphan their pods unless a propagation policy is given.
ORPHAN_BY_DEFAULT = {"batch/jobs"}


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Op:
    """How a write was asked for: dry run, field manager, field validation; collects warnings."""

    dry_run: bool = False
    manager: str = ""
    validation: str = "Warn"
    force: bool = False
    warnings: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # unknown fields dropped with a warning (Warn)


class Cluster:
    def __init__(self, cid: str, data: dict[str, Any], touch: Callable[[], None]) -> None:
        self.id = cid
        self.data = data
        data.setdefault("rv", 1)
        data.setdefault("objects", {})
        data.setdefault("tokens", {})
        data.setdefault("seq", {})
        self.bus = EventBus()
        self.touch = touch
        # Controller bookkeeping: the resourceVersion at which they last found nothing to do,
        # and whether a timed step (a Job pod finishing, a load balancer IP) is pending.
        self.quiet_rv = -1
        # Unknown fields a write dropped with only a warning (fieldValidation=Warn, what clients that
        # send no fieldValidation get): (gr, namespace, name) -> {field manager: [paths]}. A real
        # server keeps no trace of them; the fidelity gate reports them (judge.audit_cluster).
        self.dropped: dict[tuple[str, str, str], dict[str, list[str]]] = {}
        self.timers = False
        self.sync_env: Any = None  # argosync.SyncEnv: how Argo CD's sync reaches the other clusters
        self.types: list[ResourceType] = []
        self.by_path: dict[tuple[str, str, str], ResourceType] = {}
        self.by_gr: dict[str, ResourceType] = {}
        self.refresh_types()

    # ------------------------------------------------------------------ types

    def refresh_types(self) -> None:
        types = list(BUILTIN)
        for crd in self.bucket(CRD_GR).values():
            if _condition(crd, "Established") and not crd["metadata"].get("deletionTimestamp"):
                types += from_crd(crd)
        self.types = types
        self.by_path = {(t.group, t.version, t.plural): t for t in types}
        self.by_gr = {}
        for t in types:
            if t.gr not in self.by_gr or (t.custom and t.version == t.storage_version):
                self.by_gr[t.gr] = t

    def rtype(self, gr: str) -> ResourceType:
        return self.by_gr[gr]

    # ------------------------------------------------------------------ storage

    def bucket(self, gr: str) -> dict[str, dict[str, Any]]:
        return self.data["objects"].setdefault(gr, {})

    @property
    def rv(self) -> int:
        return int(self.data["rv"])

    def _next_rv(self) -> int:
        self.data["rv"] = self.rv + 1
        return self.rv

    def lookup(self, gr: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.data["objects"].get(gr, {}).get(f"{namespace}/{name}")

    def objects(self, gr: str, namespace: str = "") -> Iterator[dict[str, Any]]:
        for key, obj in list(self.data["objects"].get(gr, {}).items()):
            if not namespace or key.startswith(namespace + "/"):
                yield obj

    def store(self, rtype: ResourceType, obj: dict[str, Any], event: str | None = None) -> dict[str, Any]:
        """Persist ``obj`` with a new resourceVersion and publish the watch event."""
        meta = obj["metadata"]
        key = f"{meta.get('namespace', '')}/{meta['name']}"
        bucket = self.bucket(rtype.gr)
        kind = event or ("MODIFIED" if key in bucket else "ADDED")
        rv = self._next_rv()
        meta["resourceVersion"] = str(rv)
        bucket[key] = obj
        self.bus.publish(Event(rv, rtype.gr, meta.get("namespace", ""), meta["name"], kind, obj))
        self.touch()
        return obj

    def unstore(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        key = f"{meta.get('namespace', '')}/{meta['name']}"
        if self.bucket(rtype.gr).pop(key, None) is None:
            return
        self.dropped.pop((rtype.gr, meta.get("namespace", ""), meta["name"]), None)
        rv = self._next_rv()
        gone = {**obj, "metadata": {**meta, "resourceVersion": str(rv)}}
        self.bus.publish(Event(rv, rtype.gr, meta.get("namespace", ""), meta["name"], "DELETED", gone))
        self.touch()

    def seq(self, name: str) -> int:
        self.data["seq"][name] = int(self.data["seq"].get(name, 0)) + 1
        return self.data["seq"][name]

    # ------------------------------------------------------------------ reads

    def render(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as served at ``rtype``'s version (custom resources: apiVersion rewritten)."""
        if obj.get("apiVersion") == rtype.api_version:
            return obj
        return {**obj, "apiVersion": rtype.api_version}

    def get(self, rtype: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.lookup(rtype.gr, namespace, name)
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        return self.render(rtype, obj)

    def list(
        self, rtype: ResourceType, namespace: str, label_selector: str | None, field_selector: str | None
    ) -> list[dict[str, Any]]:
        matches = self.matcher(label_selector, field_selector)
        items = [self.render(rtype, o) for o in self.objects(rtype.gr, namespace) if matches(o)]
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return items

    @staticmethod
    def matcher(label_selector: str | None, field_selector: str | None) -> Callable[[dict[str, Any]], bool]:
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        return lambda o: labels(o["metadata"].get("labels") or {}) and fields(o)

    # ------------------------------------------------------------------ writes

    def _check_body(self, rtype: ResourceType, body: Any, namespace: str, name: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        version, kind = body.get("apiVersion"), body.get("kind")
        if version and version != rtype.api_version:
            raise errors.bad_request(
                f"the API version in the data ({version}) does not match the expected API version ({rtype.api_version})"
            )
        if kind and kind != rtype.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        meta = meta or {}
        if rtype.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if name is not None and meta.get("name") and meta["name"] != name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        return body

    def _field_validation(self, rtype: ResourceType, body: dict[str, Any], op: Op) -> dict[str, Any]:
        """``body`` without unknown fields (dropped as the API server drops them); Strict rejects them.

        Built-in kinds are judged by Kubernetes' own 1.31 schemas (``judge.py``): a value of the
        wrong type fails decoding (400), whatever ``fieldValidation`` says.
        """
        node = schema.root(rtype)
        if not rtype.custom and judge.has_schema(rtype.api_version, rtype.kind):
            verdict = judge.judge(body, rtype.api_version, rtype.kind)
            if verdict.types:
                raise KubeError(400, judge.decode_error(rtype.kind, rtype.version, verdict))
            unknown = judge.unknown_paths(verdict) if op.validation != "Ignore" else []
            if verdict.unknown:
                body = copy.deepcopy(body)
                judge.drop_unknown(body, verdict)
        else:
            unknown = schema.unknown_fields(node, body) if op.validation != "Ignore" else []
        if unknown and op.validation == "Strict":
            text = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise KubeError(
                400,
                f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                f"strict decoding error: {text}",
            )
        op.warnings += [f'unknown field "{u}"' for u in unknown]
        if op.validation == "Warn":
            op.dropped += unknown
        return schema.prune(node, body)

    def _note_dropped(self, rtype: ResourceType, obj: dict[str, Any], op: Op, subresource: str = "") -> None:
        """Remember (or forget) the unknown fields this manager's last write of ``obj`` dropped."""
        if op.dry_run or subresource:
            return
        meta = obj.get("metadata") or {}
        key = (rtype.gr, meta.get("namespace", ""), meta.get("name", ""))
        managers = self.dropped.setdefault(key, {})
        if op.dropped:
            managers[op.manager or "unknown"] = sorted(set(op.dropped))
        else:
            managers.pop(op.manager or "unknown", None)
        if not managers:
            del self.dropped[key]

    def _namespace_ok(self, rtype: ResourceType, namespace: str) -> None:
        if not rtype.namespaced:
            return
        ns = self.lookup(NS_GR, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise KubeError(
                403,
                f'{rtype.plural} "" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
                "Forbidden",
            )

    @staticmethod
    def _writer(rtype: ResourceType, op: Op, subresource: str) -> ssa.Writer:
        return ssa.Writer(
            manager=op.manager or "unknown",
            api_version=rtype.api_version,
            node=schema.root(rtype),
            now=now(),
            subresource=subresource,
            skip_status=rtype.status and subresource != "status",
        )

    def create(self, rtype: ResourceType, namespace: str, body: Any, op: Op) -> dict[str, Any]:
        if rtype.plural in VIRTUAL:
            return self._review(rtype, body)
        body = self._field_validation(rtype, self._check_body(rtype, body, namespace), op)
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = meta.get("name", "")
        if rtype.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if self.lookup(rtype.gr, namespace if rtype.namespaced else "", name) is not None:
            raise errors.already_exists(rtype.plural, rtype.group, name)
        self._namespace_ok(rtype, namespace)
        return self._create(rtype, obj, op)

    def _create(self, rtype: ResourceType, obj: dict[str, Any], op: Op, managed: bool = True) -> dict[str, Any]:
        meta = obj["metadata"]
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if rtype.generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rtype.status and rtype.gr not in {"/nodes", "/persistentvolumes"}:
            obj.pop("status", None)
        _default_and_validate(rtype, obj, None)
        self._allocate(rtype, obj)
        self._admit(rtype, obj, None)
        self._pod_security(rtype, obj, None, op, "")
        if managed:
            meta.pop("managedFields", None)
            ssa.record_update(None, obj, self._writer(rtype, op, ""))
        if op.dry_run:
            return self.render(rtype, obj)
        self._note_dropped(rtype, obj, op)
        stored = self.store(self.by_gr.get(rtype.gr, rtype), self._to_storage(rtype, obj), "ADDED")
        self._after_write(rtype, None, stored)
        return self.render(rtype, stored)

    def _to_storage(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        if rtype.custom:
            storage = self.by_gr.get(rtype.gr, rtype)
            obj["apiVersion"] = f"{rtype.group}/{storage.storage_version or rtype.version}"
        return obj

    def update(
        self, rtype: ResourceType, namespace: str, name: str, body: Any, *, op: Op, subresource: str = ""
    ) -> dict[str, Any]:
        body = self._check_body(rtype, body, namespace, name)
        old = self.lookup(rtype.gr, namespace if rtype.namespaced else "", name)
        if old is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        body = self._field_validation(rtype, body, op)
        _check_resource_version(rtype, name, body, old)
        new = copy.deepcopy(body)
        return self._replace(rtype, old, new, op=op, subresource=subresource, managed="update")

    def _replace(
        self, rtype: ResourceType, old: dict[str, Any], new: dict[str, Any], *, op: Op, subresource: str, managed: str
    ) -> dict[str, Any]:
        """Finish a write of ``new`` over ``old``: server fields, defaults, validation, no-op detection."""
        new = _carry_over(rtype, old, new, subresource)
        meta, old_meta = new["metadata"], old["metadata"]
        base_fields = None
        if managed == "update":
            base_fields = _base_managed_fields(old_meta, meta, subresource)
            meta["managedFields"] = base_fields
            if not base_fields:
                del meta["managedFields"]
        _default_and_validate(rtype, new, old)
        self._admit(rtype, new, old)
        self._pod_security(rtype, new, old, op, subresource)
        if managed == "update":
            ssa.record_update(self.render(rtype, old), new, self._writer(rtype, op, subresource), base_fields)
        self._note_dropped(rtype, new, op, subresource)
        if rtype.generation and _spec_changed(rtype, old, new):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        if _same(self.render(rtype, old), new):
            return self.render(rtype, old)
        if old_meta.get("deletionTimestamp") and not meta.get("finalizers") and rtype.gr != NS_GR:
            if not op.dry_run:
                self._delete_now(rtype, old, "Background")
            return new
        if op.dry_run:
            return new
        stored = self.store(self.by_gr.get(rtype.gr, rtype), self._to_storage(rtype, new), "MODIFIED")
        self._after_write(rtype, old, stored)
        return self.render(rtype, stored)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        *,
        content_type: str,
        body: bytes,
        op: Op,
        subresource: str = "",
    ) -> dict[str, Any]:
        ns = namespace if rtype.namespaced else ""
        old = self.lookup(rtype.gr, ns, name)
        if content_type == "application/apply-patch+yaml":
            return self._apply(rtype, namespace, name, old=old, body=body, op=op, subresource=subresource)
        if old is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        try:
            document = json.loads(body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        current = self.render(rtype, old)
        if content_type == "application/json-patch+json":
            new = patch.json_patch(current, document)
        elif content_type == "application/merge-patch+json":
            new = patch.merge_patch(current, document)
        elif content_type == "application/strategic-merge-patch+json":
            if rtype.custom:
                raise KubeError(
                    415,
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                )
            new = patch.strategic_merge(current, document, schema.root(rtype))
        else:
            raise KubeError(415, f"the media type {content_type!r} is not supported for PATCH")
        if not isinstance(new, dict):
            raise errors.bad_request("the patch must result in an object")
        new = self._field_validation(rtype, new, op)
        _check_resource_version(rtype, name, new, old)
        return self._replace(rtype, old, new, op=op, subresource=subresource, managed="update")

    def _apply(
        self,
        rtype: ResourceType,
        namespace: str,
        name: str,
        *,
        old: dict[str, Any] | None,
        body: bytes,
        op: Op,
        subresource: str,
    ) -> dict[str, Any]:
        if not op.manager:
            raise errors.bad_request("PATCH requests with apply content type must specify a fieldManager")
        try:
            applied = yaml.safe_load(body or b"")
        except yaml.YAMLError as exc:
            raise errors.bad_request(f"error decoding YAML: {exc}") from exc
        applied = self._check_body(rtype, applied, namespace, name)
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise errors.bad_request("apiVersion and kind must be set in an apply request")
        applied = self._field_validation(rtype, applied, op)
        meta = applied.setdefault("metadata", {})
        meta.setdefault("name", name)
        if rtype.namespaced:
            meta["namespace"] = namespace
        applied_clean = copy.deepcopy(applied)
        applied_clean["metadata"] = {k: v for k, v in meta.items() if k not in {"managedFields", "resourceVersion"}}
        live = self.render(rtype, old) if old is not None else None
        writer = self._writer(rtype, op, subresource)
        try:
            merged = ssa.server_side_apply(live, applied_clean, writer, op.force)
        except ssa.ApplyConflict as conflict:
            # kubectl's own manager takes over what client-side apply managed (upstream's
            # lastAppliedManager): conflicts that all lie in the last-applied configuration are forced.
            last = _last_applied(live) if op.manager == "kubectl" else None
            if last is None or not conflict.paths <= fields.paths(last, writer.node, skip_status=writer.skip_status):
                raise
            merged = ssa.server_side_apply(live, applied_clean, writer, True)
        if op.manager == "kubectl" and live is not None and _last_applied(live) is not None:
            annotations = merged["metadata"].setdefault("annotations", {})
            annotations[LAST_APPLIED] = _last_applied_text(applied_clean)
        if old is None:
            if subresource:
                raise errors.not_found(rtype.plural, rtype.group, name)
            self._namespace_ok(rtype, namespace)
            return self._create(rtype, merged, op, managed=False)
        _check_resource_version(rtype, name, applied, old)
        return self._replace(rtype, old, merged, op=op, subresource=subresource, managed="apply")

    # ------------------------------------------------------------------ deletes

    def delete(self, rtype: ResourceType, namespace: str, name: str, options: dict[str, Any], op: Op) -> dict[str, Any]:
        ns = namespace if rtype.namespaced else ""
        obj = self.lookup(rtype.gr, ns, name)
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
            raise errors.conflict(
                rtype.plural, rtype.group, name, "Precondition failed: UID in precondition does not match"
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"].get("resourceVersion"):
            raise errors.conflict(
                rtype.plural, rtype.group, name, "Precondition failed: ResourceVersion in precondition does not match"
            )
        policy = options.get("propagationPolicy")
        if not policy and options.get("orphanDependents") is not None:
            policy = "Orphan" if options["orphanDependents"] else "Background"
        policy = policy or ("Orphan" if rtype.gr in ORPHAN_BY_DEFAULT else "Background")
        if policy not in {"Orphan", "Background", "Foreground"}:
            raise errors.bad_request(f"unsupported propagationPolicy {policy!r}")
        rendered = self.render(rtype, obj)
        if op.dry_run:
            return rendered
        finalizers = obj["metadata"].get("finalizers") or []
        if rtype.gr == NS_GR or finalizers:
            if obj["metadata"].get("deletionTimestamp"):
                return rendered
            new = copy.deepcopy(obj)
            new["metadata"]["deletionTimestamp"] = now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            if rtype.gr == NS_GR:
                new.setdefault("status", {})["phase"] = "Terminating"
            new.setdefault("metadata", {})
            if policy == "Orphan":
                self._orphan(obj)
            return self.render(rtype, self.store(self.by_gr[rtype.gr], new, "MODIFIED"))
        self._delete_now(rtype, obj, policy)
        return rendered

    def _delete_now(self, rtype: ResourceType, obj: dict[str, Any], policy: str) -> None:
        stored = self.by_gr.get(rtype.gr, rtype)
        self.unstore(stored, obj)
        if policy == "Orphan":
            self._orphan(obj)
        else:
            self._collect(obj["metadata"].get("uid", ""))
        self._after_delete(rtype, obj)

    def dependents(self, uid: str) -> Iterator[tuple[ResourceType, dict[str, Any]]]:
        for gr, bucket in list(self.data["objects"].items()):
            for obj in list(bucket.values()):
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                    rtype = self.by_gr.get(gr)
                    if rtype is not None:
                        yield rtype, obj

    def _collect(self, uid: str) -> None:
        for rtype, obj in list(self.dependents(uid)):
            if self.lookup(rtype.gr, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) is obj:
                if obj["metadata"].get("finalizers"):
                    if not obj["metadata"].get("deletionTimestamp"):
                        new = copy.deepcopy(obj)
                        new["metadata"]["deletionTimestamp"] = now()
                        self.store(rtype, new, "MODIFIED")
                    continue
                self._delete_now(rtype, obj, "Background")

    def _orphan(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"].get("uid", "")
        for rtype, obj in list(self.dependents(uid)):
            new = copy.deepcopy(obj)
            refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            self.store(rtype, new, "MODIFIED")

    def delete_collection(
        self,
        rtype: ResourceType,
        namespace: str,
        selectors: tuple[str | None, str | None],
        options: dict[str, Any],
        op: Op,
    ) -> list[dict[str, Any]]:
        items = self.list(rtype, namespace, *selectors)
        for item in items:
            self.delete(rtype, item["metadata"].get("namespace", ""), item["metadata"]["name"], options, op)
        return items

    # ------------------------------------------------------------------ hooks

    def _allocate(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.gr != "/services":
            return
        spec = obj["spec"]
        if spec.get("type") == "ExternalName":
            return
        if not spec.get("clusterIP"):
            n = self.seq("clusterip")
            spec["clusterIP"] = f"10.245.{(n // 250) % 256}.{n % 250 + 2}"
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec.get("type") in {"NodePort", "LoadBalancer"}:
            for port in spec.get("ports") or []:
                if not port.get("nodePort"):
                    port["nodePort"] = 30000 + self.seq("nodeport") % 2768

    def _admit(self, rtype: ResourceType, new: dict[str, Any], old: dict[str, Any] | None) -> None:
        """Keep immutable fields and allocations across updates."""
        if rtype.gr == "/services" and old is not None:
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            if old_spec.get("clusterIP") and spec.get("type") != "ExternalName":
                spec.setdefault("clusterIP", old_spec["clusterIP"])
                spec.setdefault("clusterIPs", old_spec.get("clusterIPs") or [old_spec["clusterIP"]])
                if spec["clusterIP"] != old_spec["clusterIP"]:
                    raise errors.invalid(
                        "Service",
                        "",
                        new["metadata"]["name"],
                        [("FieldValueInvalid", "Invalid value: field is immutable", "spec.clusterIP")],
                    )
            old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort") for p in old_spec.get("ports") or []}
            for port in spec.get("ports") or []:
                if spec.get("type") in {"NodePort", "LoadBalancer"} and not port.get("nodePort"):
                    port["nodePort"] = (
                        old_ports.get((port.get("port"), port.get("protocol"))) or 30000 + self.seq("nodeport") % 2768
                    )
        if rtype.gr == "batch/jobs" and old is not None:
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            for key in ("selector", "template", "completions"):
                if (
                    key in old_spec
                    and spec.get(key) != old_spec[key]
                    and not (key == "template" and spec.get("suspend"))
                ):
                    raise errors.invalid(
                        "Job",
                        "batch",
                        new["metadata"]["name"],
                        [("FieldValueInvalid", "Invalid value: field is immutable", f"spec.{key}")],
                    )
        if rtype.gr == "/persistentvolumeclaims" and old is not None:
            spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
            for key in ("volumeName", "storageClassName"):
                if old_spec.get(key):
                    spec.setdefault(key, old_spec[key])
        if rtype.gr == CRD_GR:
            _crd_status(new)

    def _pod_security(
        self, rtype: ResourceType, new: dict[str, Any], old: dict[str, Any] | None, op: Op, subresource: str
    ) -> None:
        """Pod Security admission (``podsecurity.py``), a validating admission plugin: after validation,
        before the write, on dry runs and on updates that change nothing too."""
        name = new["metadata"].get("name", "")
        if rtype.gr == NS_GR:
            if subresource:
                return
            labels = new["metadata"].get("labels") or {}
            errs = podsecurity.policy(labels).errors
            old_errs = podsecurity.policy((old or {}).get("metadata", {}).get("labels")).errors if old else ()
            if errs and (old is None or not old_errs or errs != old_errs):
                causes = [
                    ("FieldValueInvalid", f'Invalid value: "{value}": {message}', f"metadata.labels[{label}]")
                    for label, value, message in errs
                ]
                raise errors.invalid("Namespace", "", name, causes)
            if old is not None:
                pods = [p for p in self.objects("/pods", name) if not p["metadata"].get("deletionTimestamp")]
                old_labels = old["metadata"].get("labels") or {}
                op.warnings += podsecurity.namespace_update_warnings(name, labels, old_labels, pods)
            return
        if rtype.gr == "/pods":
            if subresource in podsecurity.IGNORED_POD_SUBRESOURCES:
                return
            if old is not None and not podsecurity.significant_pod_update(new, old):
                return
            pod_meta, pod_spec = new["metadata"], new.get("spec") or {}
            enforce = True
        elif rtype.gr in podsecurity.POD_CONTROLLERS and not subresource:
            template = podsecurity.pod_template(rtype.gr, new)
            if template is None:
                return
            pod_meta, pod_spec = template
            enforce = False
        else:
            return
        ns = self.lookup(NS_GR, "", new["metadata"].get("namespace", ""))
        verdict = podsecurity.decide(
            podsecurity.policy((ns or {}).get("metadata", {}).get("labels")), pod_meta, pod_spec, enforce=enforce
        )
        if verdict.forbidden:
            qualified = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
            details = {"name": name, "kind": rtype.plural, **({"group": rtype.group} if rtype.group else {})}
            raise KubeError(403, f'{qualified} "{name}" is forbidden: {verdict.forbidden}', "Forbidden", details)
        op.warnings += verdict.warnings

    def _after_write(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if rtype.gr == CRD_GR:
            self.refresh_types()

    def _after_delete(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        if rtype.gr == CRD_GR:
            spec = obj.get("spec") or {}
            gr = f"{spec.get('group', '')}/{(spec.get('names') or {}).get('plural', '')}"
            cr_type = self.by_gr.get(gr)
            for item in list(self.bucket(gr).values()):
                if cr_type is not None:
                    self.unstore(cr_type, item)
            self.data["objects"].pop(gr, None)
            self.refresh_types()

    def token_request(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """serviceaccounts/<name>/token: a bearer token for this cluster that expires."""
        if self.lookup("/serviceaccounts", namespace, name) is None:
            raise errors.not_found("serviceaccounts", "", name)
        spec = dict(body.get("spec") or {})
        seconds = int(spec.get("expirationSeconds") or 3600)
        spec["expirationSeconds"] = seconds
        spec.setdefault("audiences", ["https://kubernetes.default.svc.cluster.local"])
        token = secrets.token_urlsafe(48)
        self.data["tokens"][token] = time.time() + seconds
        self.touch()
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        }

    def _review(self, rtype: ResourceType, body: Any) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        result = {
            "apiVersion": rtype.api_version,
            "kind": rtype.kind,
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
        }
        admin = {"username": "sandbox-admin", "groups": ["system:masters", "system:authenticated"]}
        if rtype.plural in {"selfsubjectaccessreviews", "subjectaccessreviews"}:
            result["status"] = {"allowed": True, "reason": "the sandbox authorizes every request"}
        elif rtype.plural == "tokenreviews":
            token = (body.get("spec") or {}).get("token", "")
            expires = self.data["tokens"].get(token, 0)
            valid = token in self.data["tokens"] and (expires is None or expires > time.time())
            result["status"] = {"authenticated": True, "user": admin} if valid else {"authenticated": False}
        elif rtype.plural == "selfsubjectreviews":
            result.pop("spec")
            result["status"] = {"userInfo": admin}
        else:
            result["status"] = {
                "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                "incomplete": False,
            }
        return result


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _last_applied(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    text = (((obj or {}).get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _last_applied_text(applied: dict[str, Any]) -> str:
    """What kubectl would write to the annotation for ``applied`` (without the annotation itself)."""
    doc = copy.deepcopy(applied)
    meta = doc.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    meta["annotations"] = annotations
    return json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"


def _condition(obj: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in (obj.get("status") or {}).get("conditions") or []
    )


def _crd_status(crd: dict[str, Any]) -> None:
    spec = crd.get("spec") or {}
    status = crd.setdefault("status", {})
    stamp = now()
    names = dict(spec.get("names") or {})
    status["acceptedNames"] = names
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    for kind, reason, message in (
        ("NamesAccepted", "NoConflicts", "no conflicts found"),
        ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ):
        if kind not in conditions:
            conditions[kind] = {
                "type": kind,
                "status": "True",
                "lastTransitionTime": stamp,
                "reason": reason,
                "message": message,
            }
    status["conditions"] = list(conditions.values())
    stored = set(status.get("storedVersions") or [])
    stored |= {v["name"] for v in spec.get("versions") or [] if v.get("storage")}
    status["storedVersions"] = sorted(stored)


def _default_and_validate(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    if rtype.custom:
        structural.default(rtype.crd_schema, obj)
        problems = structural.check(rtype.crd_schema, obj)
        if problems:
            raise errors.invalid(rtype.kind, rtype.group, (obj.get("metadata") or {}).get("name", ""), problems)
    else:
        apply_defaults(rtype.gr, obj)
    validate(rtype, obj, old)
    tekton.admit(rtype.group, rtype.version, rtype.kind, obj)  # Tekton's admission webhooks (sandbox/kube/tekton.py)


def _check_resource_version(rtype: ResourceType, name: str, wanted: dict[str, Any], old: dict[str, Any]) -> None:
    """409 Conflict when a write names a resourceVersion other than the stored one (optimistic locking)."""
    wanted_rv = (wanted.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
        raise errors.conflict(
            rtype.plural,
            rtype.group,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )


def _carry_over(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str) -> dict[str, Any]:
    """``new`` with what a write cannot change: server metadata, and status or everything else."""
    new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
    if subresource == "status":
        status = new.get("status")
        new = copy.deepcopy(old)
        new["apiVersion"] = rtype.api_version
        new.pop("status", None)
        if status is not None:
            new["status"] = status
    elif rtype.status:
        new.pop("status", None)
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
    meta = new.setdefault("metadata", {})
    old_meta = old["metadata"]
    for key in (
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
        "generation",
    ):
        meta.pop(key, None)
        if key in old_meta:
            meta[key] = old_meta[key]
    meta["resourceVersion"] = old_meta["resourceVersion"]
    return new


def _base_managed_fields(old_meta: dict[str, Any], meta: dict[str, Any], subresource: str) -> list[dict[str, Any]]:
    """The managedFields an update starts from: the stored ones, or those the request rewrote."""
    requested = meta.get("managedFields")
    stored = copy.deepcopy(old_meta.get("managedFields") or [])
    if requested is not None and requested != stored and subresource != "status":
        return copy.deepcopy(requested)
    return stored


def _spec_changed(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignore = {"metadata", "status"} if rtype.status or not rtype.custom else {"metadata"}
    keys = (set(old) | set(new)) - ignore
    return any(old.get(k) != new.get(k) for k in keys)


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old == new
