"""One API request against one virtual cluster: discovery, OpenAPI and the resource verbs."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from sandbox.kube import discovery, k8sproto, openapi, tables
from sandbox.kube.cluster import Cluster, Op
from sandbox.kube.errors import KubeError, bad_request, not_found
from sandbox.kube.protobuf import PROTO_MIME
from sandbox.kube.resources import ResourceType
from sandbox.kube.selectors import selector_string
from sandbox.kube.watch import WatchSpec, expired, stream
from sandbox.server import Request, Response

if TYPE_CHECKING:
    from sandbox.kube.emulator import KubeEmulator

PATCH_TYPES = {
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
}
NO_RESOURCE = "the server could not find the requested resource"


class Handlers:
    def __init__(self, emulator: KubeEmulator, cluster: Cluster, request: Request, path: str, prefix: str) -> None:
        self.emulator = emulator
        self.cluster = cluster
        self.request = request
        self.path = path
        self.prefix = prefix
        self.accept = request.headers.get("Accept") or ""

    def dispatch(self) -> Response:
        parts = [p for p in self.path.split("/") if p]
        method = self.request.method
        if not parts:
            return self._json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]})
        head = parts[0]
        if head in {"healthz", "livez", "readyz"}:
            return Response(200, "ok", content_type="text/plain; charset=utf-8")
        if head == "version":
            from sandbox.kube.emulator import VERSION  # noqa: PLC0415

            return self._json(VERSION)
        if head == "openapi":
            return self._openapi(parts[1:])
        if head == "api":
            if len(parts) == 1:
                if discovery.wants_aggregated(self.accept):
                    return self._aggregated(True)
                return self._json(discovery.api_versions(self.emulator.base_url.removeprefix("https://")))
            if parts[1] != "v1":
                raise KubeError(404, NO_RESOURCE)
            if len(parts) == 2:
                return self._json(discovery.resource_list(self.cluster.types, "", "v1"))
            return self._resource(method, "", "v1", parts[2:])
        if head == "apis":
            if len(parts) == 1:
                if discovery.wants_aggregated(self.accept):
                    return self._aggregated(False)
                return self._json(discovery.group_list(self.cluster.types))
            if len(parts) == 2:
                doc = discovery.group(self.cluster.types, parts[1])
                if doc is None:
                    raise KubeError(404, NO_RESOURCE)
                return self._json(doc)
            group, version = parts[1], parts[2]
            if not any(t.group == group and t.version == version for t in self.cluster.types):
                raise KubeError(404, NO_RESOURCE)
            if len(parts) == 3:
                return self._json(discovery.resource_list(self.cluster.types, group, version))
            return self._resource(method, group, version, parts[3:])
        raise KubeError(404, NO_RESOURCE)

    # ------------------------------------------------------------------ helpers

    def _json(
        self, body: Any, code: int = 200, content_type: str = "application/json", warnings: list[str] | None = None
    ) -> Response:
        headers = {}
        if warnings:
            headers["Warning"] = ", ".join(f'299 - "{w}"' for w in warnings)
        return Response(code, body, headers=headers, content_type=content_type)

    def _aggregated(self, legacy: bool) -> Response:
        return self._json(discovery.aggregated(self.cluster.types, legacy), content_type=discovery.AGGREGATED)

    def _openapi(self, parts: list[str]) -> Response:
        if parts == ["v2"]:
            proto = "protobuf" in self.accept
            body = self.emulator.openapi_v2(self.cluster, proto)
            return Response(200, body, content_type=PROTO_MIME if proto else "application/json")
        if parts and parts[0] == "v3":
            rest = parts[1:]
            if not rest:
                hashes = {}
                for path, group, version in openapi.gv_paths(self.cluster.types):
                    hashes[path] = self.emulator.openapi_v3(self.cluster, group, version)[1]
                return self._json(openapi.v3_root(self.cluster.types, self.prefix, hashes))
            if rest[0] == "api" and len(rest) == 2:
                group, version = "", rest[1]
            elif rest[0] == "apis" and len(rest) == 3:
                group, version = rest[1], rest[2]
            else:
                raise KubeError(404, NO_RESOURCE)
            if (f"apis/{group}/{version}" if group else f"api/{version}") not in {
                p for p, _, _ in openapi.gv_paths(self.cluster.types)
            }:
                raise KubeError(404, NO_RESOURCE)
            body, digest = self.emulator.openapi_v3(self.cluster, group, version)
            headers = {"Etag": f'"{digest}"'}
            if self.request.arg("hash") == digest:
                headers["Cache-Control"] = "public, immutable"
                headers["Expires"] = "Thu, 31 Dec 2099 23:59:59 GMT"
            else:
                headers["Cache-Control"] = "no-cache, private"
            return Response(200, body, headers=headers, content_type="application/json")
        raise KubeError(404, NO_RESOURCE)

    def _op(self) -> Op:
        dry_run = self.request.query.get("dryRun") or []
        for value in dry_run:
            if value != "All":
                raise bad_request(f'Invalid value: "{value}": supported values: "All"')
        validation = self.request.arg("fieldValidation") or "Warn"
        if validation not in {"Strict", "Warn", "Ignore"}:
            raise bad_request(
                f'Invalid value: "{validation}": fieldValidation must be one of "Ignore", "Warn", or "Strict"'
            )
        manager = self.request.arg("fieldManager") or ""
        force = (self.request.arg("force") or "").lower() == "true"
        return Op(dry_run=bool(dry_run), manager=manager, validation=validation, force=force)

    def _fallback_manager(self, op: Op) -> Op:
        if not op.manager:
            agent = self.request.headers.get("User-Agent") or ""
            op.manager = agent.split("/")[0][:128] or "unknown"
        return op

    def _body(self) -> Any:
        ctype = self.request.content_type
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                return k8sproto.decode_object(self.request.body)
            except (ValueError, IndexError, KeyError) as exc:
                raise bad_request(f"error decoding protobuf body: {exc}") from exc
        try:
            if ctype == "application/yaml":
                import yaml  # noqa: PLC0415

                return yaml.safe_load(self.request.body or b"")
            return json.loads(self.request.body or b"null")
        except ValueError as exc:
            raise bad_request(f"error decoding request body: {exc}") from exc

    # ------------------------------------------------------------------ resources

    def _resource(self, method: str, group: str, version: str, rest: list[str]) -> Response:
        watch = (self.request.arg("watch") or "").lower() in {"true", "1"}
        if rest and rest[0] == "watch":
            watch, rest = True, rest[1:]
        if not rest:
            raise KubeError(404, NO_RESOURCE)
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = self.cluster.by_path.get((group, version, rest[2]))
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = self.cluster.by_path.get((group, version, rest[0]))
        if rtype is None:
            raise KubeError(404, NO_RESOURCE)
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3 or (sub and sub not in _subresources(rtype)):
            raise KubeError(404, NO_RESOURCE)
        if rtype.namespaced and not namespace and (name or method not in {"GET"}):
            if method == "POST" and not name:
                raise KubeError(404, NO_RESOURCE)
            if name:
                raise KubeError(404, NO_RESOURCE)
        if method == "GET":
            if watch:
                return self._watch(rtype, namespace, name)
            if name:
                obj = self.cluster.get(rtype, namespace, name)
                if sub == "scale":
                    return self._json(_scale(rtype, obj))
                return self._maybe_table([obj], obj["metadata"].get("resourceVersion", ""), single=True)
            return self._list(rtype, namespace)
        if method == "POST":
            if name:
                raise KubeError(405, f"the server does not allow this method on the requested resource")
            op = self._fallback_manager(self._op())
            obj = self.cluster.create(rtype, namespace, self._body(), op)
            code = 200 if rtype.plural in {"selfsubjectaccessreviews", "selfsubjectrulesreviews"} else 201
            return self._json(obj, code, warnings=op.warnings)
        if method == "PUT":
            if not name:
                raise KubeError(405, "the server does not allow this method on the requested resource")
            op = self._fallback_manager(self._op())
            if sub == "scale":
                return self._scale_update(rtype, namespace, name, self._body(), op)
            old_rv = (self.cluster.lookup(rtype.gr, namespace, name) or {}).get("metadata", {}).get("resourceVersion")
            obj = self.cluster.update(rtype, namespace, name, self._body(), op, sub)
            return self._json(obj, 200 if old_rv else 201, warnings=op.warnings)
        if method == "PATCH":
            if not name:
                raise KubeError(405, "the server does not allow this method on the requested resource")
            ctype = self.request.content_type
            if ctype not in PATCH_TYPES:
                raise KubeError(
                    415,
                    f"the body of the request was in an unknown format - accepted media types include: {', '.join(sorted(PATCH_TYPES))}",
                )
            op = self._op()
            if ctype != "application/apply-patch+yaml":
                op = self._fallback_manager(op)
            if sub == "scale":
                return self._scale_patch(rtype, namespace, name, ctype, op)
            existed = self.cluster.lookup(rtype.gr, namespace, name) is not None
            obj = self.cluster.patch(rtype, namespace, name, ctype, self.request.body, op, sub)
            return self._json(obj, 200 if existed else 201, warnings=op.warnings)
        if method == "DELETE":
            op = self._op()
            options = self._delete_options()
            if name:
                obj = self.cluster.delete(rtype, namespace, name, options, op)
                return self._json(obj)
            items = self.cluster.delete_collection(
                rtype, namespace, self.request.arg("labelSelector"), self.request.arg("fieldSelector"), options, op
            )
            return self._json(self._list_body(rtype, items))
        raise KubeError(405, "the server does not allow this method on the requested resource")

    def _delete_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.request.body:
            try:
                if self.request.content_type == "application/vnd.kubernetes.protobuf":
                    body = k8sproto.decode_object(self.request.body)
                else:
                    body = json.loads(self.request.body)
            except (ValueError, IndexError, KeyError) as exc:
                raise bad_request(f"error decoding DeleteOptions: {exc}") from exc
            if isinstance(body, dict):
                options.update(body)
        for key in ("propagationPolicy", "gracePeriodSeconds"):
            if self.request.arg(key) is not None:
                options[key] = self.request.arg(key)
        if self.request.arg("orphanDependents") is not None:
            options["orphanDependents"] = self.request.arg("orphanDependents") == "true"
        return options

    def _list_body(self, rtype: ResourceType, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(self.cluster.rv)},
            "items": items,
        }

    def _list(self, rtype: ResourceType, namespace: str) -> Response:
        items = self.cluster.list(
            rtype, namespace, self.request.arg("labelSelector"), self.request.arg("fieldSelector")
        )
        if tables.wants_table(self.accept):
            return self._maybe_table(items, str(self.cluster.rv))
        return self._json(self._list_body(rtype, items))

    def _maybe_table(self, items: list[dict[str, Any]], rv: str, single: bool = False) -> Response:
        if tables.wants_table(self.accept):
            include = (self.request.arg("includeObject") or "Metadata") == "Object"
            return self._json(tables.table(items, include, rv), content_type=tables.TABLE_MIME)
        return self._json(items[0] if single else items)

    def _watch(self, rtype: ResourceType, namespace: str, name: str) -> Response:
        field_selector = self.request.arg("fieldSelector") or ""
        if name:
            field_selector = ",".join(filter(None, [field_selector, f"metadata.name={name}"]))
        matches = self.cluster.matcher(self.request.arg("labelSelector"), field_selector)
        rv_arg = self.request.arg("resourceVersion") or ""
        timeout = float(self.request.arg("timeoutSeconds") or 0) or random.uniform(1800, 3600)  # noqa: S311
        cluster = self.cluster
        current = [o for o in cluster.objects(rtype.gr, namespace) if matches(o)]
        present = {f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in current}
        bookmarks = (self.request.arg("allowWatchBookmarks") or "") == "true"
        initial_events = (self.request.arg("sendInitialEvents") or "") == "true"

        def bookmark(rv: int) -> dict[str, Any]:
            return {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": {"resourceVersion": str(rv)}}

        spec = WatchSpec(rtype.gr, namespace, matches, lambda o: cluster.render(rtype, o), timeout, bookmarks, bookmark)
        headers = {"Cache-Control": "no-cache, private"}
        if rv_arg in {"", "0"} or initial_events:
            initial = sorted(current, key=lambda o: int(o["metadata"].get("resourceVersion", "0")))
            start = cluster.rv
            body = stream(cluster.bus, spec, initial, start, present)
            if initial_events:
                body = _with_initial_end(body, len(initial), bookmark(start))
            return Response(200, stream=body, headers=headers, content_type="application/json")
        try:
            since = int(rv_arg)
        except ValueError as exc:
            raise bad_request(f"invalid resource version {rv_arg!r}") from exc
        oldest = cluster.bus.oldest()
        if since < cluster.rv and (oldest is None or since < oldest - 1):
            return Response(200, stream=expired(since), headers=headers, content_type="application/json")
        # ``present`` starts as what matches now; replayed events refine it.
        return Response(
            200, stream=stream(cluster.bus, spec, [], since, present), headers=headers, content_type="application/json"
        )

    # ------------------------------------------------------------------ scale

    def _scale_update(self, rtype: ResourceType, namespace: str, name: str, body: Any, op: Op) -> Response:
        replicas = ((body or {}).get("spec") or {}).get("replicas")
        return self._set_replicas(rtype, namespace, name, replicas, op)

    def _scale_patch(self, rtype: ResourceType, namespace: str, name: str, ctype: str, op: Op) -> Response:
        from sandbox.kube import patch as patching  # noqa: PLC0415

        obj = self.cluster.get(rtype, namespace, name)
        current = _scale(rtype, obj)
        document = json.loads(self.request.body or b"null")
        if ctype == "application/json-patch+json":
            new = patching.json_patch(current, document)
        else:
            new = patching.merge_patch(current, document)
        return self._set_replicas(rtype, namespace, name, (new.get("spec") or {}).get("replicas"), op)

    def _set_replicas(self, rtype: ResourceType, namespace: str, name: str, replicas: Any, op: Op) -> Response:
        if not isinstance(replicas, int) or replicas < 0:
            raise KubeError(
                422,
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0',
            )
        obj = self.cluster.get(rtype, namespace, name)
        patch_body = json.dumps({"spec": {"replicas": replicas}}).encode()
        obj = self.cluster.patch(rtype, namespace, name, "application/merge-patch+json", patch_body, op)
        return self._json(_scale(rtype, obj))


def _subresources(rtype: ResourceType) -> set[str]:
    subs = set()
    if rtype.status:
        subs.add("status")
    if rtype.scale:
        subs.add("scale")
    if rtype.gr == "/namespaces":
        subs.add("finalize")
    return subs


def _scale(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {"replicas": status.get("replicas", 0), "selector": selector_string(spec.get("selector"))},
    }


def _with_initial_end(body: Any, count: int, mark: dict[str, Any]) -> Any:
    for index, chunk in enumerate(body):
        yield chunk
        if index + 1 == count:
            break
    mark["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
    yield json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n"
    yield from body


del not_found
