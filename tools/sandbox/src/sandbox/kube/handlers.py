"""One API request against one virtual cluster: discovery, OpenAPI and the resource verbs."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.kube import discovery, k8sproto, openapi, tables
from sandbox.kube import patch as patching
from sandbox.kube.cluster import Cluster, Op
from sandbox.kube.errors import KubeError, bad_request
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
NOT_ALLOWED = "the server does not allow this method on the requested resource"


@dataclass(frozen=True)
class Target:
    """What a resource URL names: the type, namespace, object name, subresource, and watch."""

    rtype: ResourceType
    namespace: str
    name: str
    sub: str
    watch: bool


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
        if not parts:
            return self._json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3", "/version"]})
        head = parts[0]
        if head in {"healthz", "livez", "readyz"}:
            return Response(200, "ok", content_type="text/plain; charset=utf-8")
        if head == "version":
            return self._json(discovery.VERSION)
        if head == "openapi":
            return self._openapi(parts[1:])
        if head == "api":
            return self._core(parts[1:])
        if head == "apis":
            return self._groups(parts[1:])
        raise KubeError(404, NO_RESOURCE)

    def _core(self, parts: list[str]) -> Response:
        if not parts:
            if discovery.wants_aggregated(self.accept):
                return self._aggregated(True)
            return self._json(discovery.api_versions(self.emulator.base_url.removeprefix("https://")))
        if parts[0] != "v1":
            raise KubeError(404, NO_RESOURCE)
        if len(parts) == 1:
            return self._json(discovery.resource_list(self.cluster.types, "", "v1"))
        return self._resource(self.request.method, "", "v1", parts[1:])

    def _groups(self, parts: list[str]) -> Response:
        if not parts:
            if discovery.wants_aggregated(self.accept):
                return self._aggregated(False)
            return self._json(discovery.group_list(self.cluster.types))
        if len(parts) == 1:
            doc = discovery.group(self.cluster.types, parts[0])
            if doc is None:
                raise KubeError(404, NO_RESOURCE)
            return self._json(doc)
        group, version = parts[0], parts[1]
        if not any(t.group == group and t.version == version for t in self.cluster.types):
            raise KubeError(404, NO_RESOURCE)
        if len(parts) == 2:
            return self._json(discovery.resource_list(self.cluster.types, group, version))
        return self._resource(self.request.method, group, version, parts[2:])

    # ------------------------------------------------------------------ helpers

    def _json(
        self, body: Any, code: int = 200, content_type: str = "application/json", warnings: list[str] | None = None
    ) -> Response:
        headers = {}
        if warnings:
            quoted = (w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings)
            headers["Warning"] = ", ".join(f'299 - "{w}"' for w in quoted)
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

    def _target(self, group: str, version: str, rest: list[str]) -> Target:
        watching = (self.request.arg("watch") or "").lower() in {"true", "1"}
        if rest and rest[0] == "watch":
            watching, rest = True, rest[1:]
        if not rest:
            raise KubeError(404, NO_RESOURCE)
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = self.cluster.by_path.get((group, version, rest[2]))
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        rtype = self.cluster.by_path.get((group, version, rest[0]))
        if rtype is None or len(rest) > 3:
            raise KubeError(404, NO_RESOURCE)
        target = Target(rtype, namespace, rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "", watching)
        if target.sub and target.sub not in _subresources(rtype):
            raise KubeError(404, NO_RESOURCE)
        if rtype.namespaced and not namespace and (target.name or self.request.method == "POST"):
            raise KubeError(404, NO_RESOURCE)
        return target

    def _resource(self, method: str, group: str, version: str, rest: list[str]) -> Response:
        target = self._target(group, version, rest)
        verb = {
            "GET": self._get,
            "POST": self._post,
            "PUT": self._put,
            "PATCH": self._patch,
            "DELETE": self._delete,
        }.get(method)
        if verb is None:
            raise KubeError(405, NOT_ALLOWED)
        return verb(target)

    def _get(self, t: Target) -> Response:
        if t.watch:
            return self._watch(t.rtype, t.namespace, t.name)
        if not t.name:
            return self._list(t.rtype, t.namespace)
        obj = self.cluster.get(t.rtype, t.namespace, t.name)
        if t.sub == "scale":
            return self._json(_scale(obj))
        if t.sub == "log":
            return Response(200, _log(obj, self.request.arg("container")), content_type="text/plain")
        return self._maybe_table([obj], obj["metadata"].get("resourceVersion", ""), single=True)

    def _post(self, t: Target) -> Response:
        if t.sub == "token":
            return self._json(self.cluster.token_request(t.namespace, t.name, self._body() or {}), 201)
        if t.name:
            raise KubeError(405, NOT_ALLOWED)
        op = self._fallback_manager(self._op())
        obj = self.cluster.create(t.rtype, t.namespace, self._body(), op)
        return self._json(obj, 201, warnings=op.warnings)

    def _put(self, t: Target) -> Response:
        if not t.name:
            raise KubeError(405, NOT_ALLOWED)
        op = self._fallback_manager(self._op())
        if t.sub == "scale":
            replicas = ((self._body() or {}).get("spec") or {}).get("replicas")
            return self._set_replicas(t, replicas, op)
        obj = self.cluster.update(t.rtype, t.namespace, t.name, self._body(), op=op, subresource=t.sub)
        return self._json(obj, 200, warnings=op.warnings)

    def _patch(self, t: Target) -> Response:
        if not t.name:
            raise KubeError(405, NOT_ALLOWED)
        ctype = self.request.content_type
        if ctype not in PATCH_TYPES:
            accepted = ", ".join(sorted(PATCH_TYPES))
            raise KubeError(
                415, f"the body of the request was in an unknown format - accepted media types include: {accepted}"
            )
        op = self._op()
        if ctype != "application/apply-patch+yaml":
            op = self._fallback_manager(op)
        if t.sub == "scale":
            return self._scale_patch(t, ctype, op)
        existed = self.cluster.lookup(t.rtype.gr, t.namespace, t.name) is not None
        obj = self.cluster.patch(
            t.rtype, t.namespace, t.name, content_type=ctype, body=self.request.body, op=op, subresource=t.sub
        )
        return self._json(obj, 200 if existed else 201, warnings=op.warnings)

    def _delete(self, t: Target) -> Response:
        op = self._op()
        options = self._delete_options()
        if t.name:
            return self._json(self.cluster.delete(t.rtype, t.namespace, t.name, options, op))
        selectors = (self.request.arg("labelSelector"), self.request.arg("fieldSelector"))
        items = self.cluster.delete_collection(t.rtype, t.namespace, selectors, options, op)
        return self._json(self._list_body(t.rtype, items))

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

        render = self._watch_renderer(rtype)
        spec = WatchSpec(rtype.gr, namespace, matches, render, timeout, bookmarks, bookmark)
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

    def _watch_renderer(self, rtype: ResourceType) -> Any:
        """Objects as served; for ``kubectl get -w``, one-row Tables (columns in the first only)."""
        cluster = self.cluster
        if not tables.wants_table(self.accept):
            return lambda o: cluster.render(rtype, o)
        include = (self.request.arg("includeObject") or "Metadata") == "Object"
        first = [True]

        def as_table(obj: dict[str, Any]) -> dict[str, Any]:
            table = tables.table([cluster.render(rtype, obj)], include, obj["metadata"].get("resourceVersion", ""))
            if not first[0]:
                table["columnDefinitions"] = None
            first[0] = False
            return table

        return as_table

    # ------------------------------------------------------------------ scale

    def _scale_patch(self, t: Target, ctype: str, op: Op) -> Response:
        current = _scale(self.cluster.get(t.rtype, t.namespace, t.name))
        document = json.loads(self.request.body or b"null")
        if ctype == "application/json-patch+json":
            new = patching.json_patch(current, document)
        else:
            new = patching.merge_patch(current, document)
        return self._set_replicas(t, (new.get("spec") or {}).get("replicas"), op)

    def _set_replicas(self, t: Target, replicas: Any, op: Op) -> Response:
        if not isinstance(replicas, int) or replicas < 0:
            raise KubeError(
                422,
                f'Scale.autoscaling "{t.name}" is invalid: spec.replicas: Invalid value: {replicas}: '
                "must be greater than or equal to 0",
            )
        body = json.dumps({"spec": {"replicas": replicas}}).encode()
        obj = self.cluster.patch(
            t.rtype, t.namespace, t.name, content_type="application/merge-patch+json", body=body, op=op
        )
        return self._json(_scale(obj))


def _subresources(rtype: ResourceType) -> set[str]:
    subs = set()
    if rtype.status:
        subs.add("status")
    if rtype.scale:
        subs.add("scale")
    if rtype.gr == "/namespaces":
        subs.add("finalize")
    if rtype.gr == "/serviceaccounts":
        subs.add("token")
    if rtype.gr == "/pods":
        subs.add("log")
    return subs


def _log(pod: dict[str, Any], container: str | None) -> str:
    """What the sandbox's kubelet has to say: there is no process, only its lifecycle."""
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    if container and container not in names:
        raise KubeError(400, f"container {container} is not valid for pod {pod['metadata']['name']}")
    if not container and len(names) > 1:
        raise KubeError(
            400,
            f"a container name must be specified for pod {pod['metadata']['name']}, choose one of: [{' '.join(names)}]",
        )
    phase = (pod.get("status") or {}).get("phase", "Pending")
    if phase == "Pending":
        raise KubeError(
            400, f'container "{container or names[0]}" in pod "{pod["metadata"]["name"]}" is waiting to start'
        )
    return f"sandbox: container {container or names[0]} of pod {pod['metadata']['name']} is {phase.lower()}\n"


def _scale(obj: dict[str, Any]) -> dict[str, Any]:
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
    """The initial events, the ``k8s.io/initial-events-end`` bookmark, then the live stream."""
    for _ in range(count):
        yield next(body)
    mark["metadata"]["annotations"] = {"k8s.io/initial-events-end": "true"}
    yield json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n"
    yield from body
