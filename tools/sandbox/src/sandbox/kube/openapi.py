"""OpenAPI documents: /openapi/v2 (JSON; protobuf in protobuf.py) and /openapi/v3 per group-version.

Built-in schemas are generated from the kubernetes client's model metadata with the upstream
patch strategies and list types (see schema.py); custom resources use their CRD schema.
Every write operation declares ``fieldValidation``, ``dryRun`` and ``fieldManager`` so
kubectl and helm leave validation to the server, as against a real API server.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from typing import Any

from sandbox.kube.resources import ResourceType
from sandbox.kube.schema import _PATCH, model_fields

META = "V1ObjectMeta"
NAMES = {
    META: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    "V1ListMeta": "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "V1Status": "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
}
SCALAR = {
    "str": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "bool": {"type": "boolean"},
    "float": {"type": "number", "format": "double"},
    "datetime": {"type": "string", "format": "date-time"},
}
PATCH_CONSUMES = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
]
WRITE_PARAMS = [
    ("dryRun", "When present, indicates that modifications should not be persisted."),
    ("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
    (
        "fieldValidation",
        "fieldValidation instructs the server on how to handle objects in the request containing unknown or "
        "duplicate fields: Ignore, Warn or Strict.",
    ),
]


def schema_name(model: str, rtypes: dict[str, ResourceType]) -> str:
    if model in NAMES:
        return NAMES[model]
    rtype = rtypes.get(model)
    if rtype is not None:
        group = rtype.group.split(".")[0] if rtype.group else "core"
        return f"io.k8s.api.{group}.{rtype.version}.{rtype.kind}"
    return f"io.k8s.sandbox.{model}"


def _ref(name: str, v3: bool) -> dict[str, Any]:
    if v3:
        return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "default": {}}
    return {"$ref": f"#/definitions/{name}"}


def _type_schema(typ: str, owner: str, key: str, *, v3: bool, names: dict[str, str], todo: list[str]) -> dict[str, Any]:
    match = re.fullmatch(r"list\[(.+)\]", typ)
    if match:
        out: dict[str, Any] = {
            "type": "array",
            "items": _type_schema(match.group(1), owner, key, v3=v3, names=names, todo=todo),
        }
        if (owner, key) in _PATCH:
            strategies, merge_key, map_keys = _PATCH[(owner, key)]
            if strategies:
                out["x-kubernetes-patch-strategy"] = strategies
            if merge_key:
                out["x-kubernetes-patch-merge-key"] = merge_key
            if map_keys:
                out["x-kubernetes-list-type"] = "map"
                out["x-kubernetes-list-map-keys"] = list(map_keys)
            elif "merge" in strategies:
                out["x-kubernetes-list-type"] = "set"
        else:
            out["x-kubernetes-list-type"] = "atomic"
        return out
    match = re.fullmatch(r"dict\[str, (.+)\]", typ)
    if match:
        return {
            "type": "object",
            "additionalProperties": _type_schema(match.group(1), owner, key, v3=v3, names=names, todo=todo),
        }
    if typ in SCALAR:
        return dict(SCALAR[typ])
    if typ == "object":
        return {}
    todo.append(typ)
    out = _ref(names.setdefault(typ, typ), v3)
    strategies = _PATCH.get((owner, key), ("", "", ()))[0]
    if strategies:
        out["x-kubernetes-patch-strategy"] = strategies
    return out


def model_schemas(roots: list[str], rtypes: dict[str, ResourceType], v3: bool) -> dict[str, dict[str, Any]]:
    """Schemas of ``roots`` and every model they reach, by schema name."""
    names: dict[str, str] = {}
    out: dict[str, dict[str, Any]] = {}
    todo = list(roots)
    seen: set[str] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        props = {
            key: _type_schema(typ, model, key, v3=v3, names=names, todo=todo)
            for key, typ in sorted(model_fields(model).items())
        }
        schema: dict[str, Any] = {"type": "object", "properties": props}
        rtype = rtypes.get(model)
        if rtype is not None:
            schema["x-kubernetes-group-version-kind"] = [
                {"group": rtype.group, "kind": rtype.kind, "version": rtype.version}
            ]
        out[model] = schema
    renamed = {schema_name(m, rtypes): s for m, s in out.items()}
    text = json.dumps(renamed)
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    for model in sorted(out, key=len, reverse=True):
        text = text.replace(f'"{prefix}{model}"', f'"{prefix}{schema_name(model, rtypes)}"')
    return json.loads(text)


def _cr_schema(rtype: ResourceType, v3: bool) -> dict[str, Any]:
    schema = copy.deepcopy(rtype.crd_schema or {})
    schema.setdefault("type", "object")
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = _ref(NAMES[META], v3)
    schema["x-kubernetes-group-version-kind"] = [{"group": rtype.group, "kind": rtype.kind, "version": rtype.version}]
    if not v3:
        schema = _v2_clean(schema)
    return schema


def _v2_clean(schema: Any) -> Any:
    """OpenAPI v2 has no anyOf/oneOf/nullable: drop them as the API server does when publishing CRDs."""
    if isinstance(schema, dict):
        return {k: _v2_clean(v) for k, v in schema.items() if k not in {"anyOf", "oneOf", "not", "nullable"}}
    if isinstance(schema, list):
        return [_v2_clean(v) for v in schema]
    return schema


def cr_name(rtype: ResourceType) -> str:
    parts = rtype.group.split(".")
    return ".".join(reversed(parts)) + f".{rtype.version}.{rtype.kind}"


def _params(names: list[tuple[str, str]], v3: bool) -> list[dict[str, Any]]:
    out = []
    for name, text in names:
        param: dict[str, Any] = {"name": name, "in": "query", "description": text, "uniqueItems": True}
        if v3:
            param["schema"] = {"type": "string", "uniqueItems": True}
        else:
            param["type"] = "string"
        out.append(param)
    return out


def _operation(rtype: ResourceType, action: str, op_id: str, ref: str, *, v3: bool, write: bool) -> dict[str, Any]:
    op: dict[str, Any] = {
        "description": f"{action} {rtype.kind}",
        "operationId": op_id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rtype.group, "kind": rtype.kind, "version": rtype.version},
    }
    if write:
        op["parameters"] = _params(WRITE_PARAMS, v3)
    if action == "patch":
        types = PATCH_CONSUMES if not rtype.custom else [t for t in PATCH_CONSUMES if "strategic" not in t]
        if v3:
            op["requestBody"] = {
                "content": {
                    t: {"schema": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"}}
                    for t in types
                },
                "required": True,
            }
        else:
            op["consumes"] = types
    elif write and action != "delete":
        if v3:
            op["requestBody"] = {"content": {"*/*": {"schema": {"$ref": ref}}}, "required": True}
        else:
            op["consumes"] = ["*/*"]
    if v3:
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}
    else:
        op["responses"] = {"200": {"description": "OK", "schema": {"$ref": ref}}}
    return op


def paths(rtype: ResourceType, ref: str, v3: bool) -> dict[str, Any]:
    base = f"/apis/{rtype.group}/{rtype.version}" if rtype.group else f"/api/{rtype.version}"
    scope = f"{base}/namespaces/{{namespace}}" if rtype.namespaced else base
    suffix = ("Namespaced" if rtype.namespaced else "") + rtype.kind
    gv = "".join(p.capitalize() for p in (rtype.group or "core").split(".")[:1]) + rtype.version.capitalize()
    out = {
        f"{scope}/{rtype.plural}": {
            "get": _operation(rtype, "list", f"list{gv}{suffix}", ref, v3=v3, write=False),
            "post": _operation(rtype, "post", f"create{gv}{suffix}", ref, v3=v3, write=True),
        },
        f"{scope}/{rtype.plural}/{{name}}": {
            "get": _operation(rtype, "get", f"read{gv}{suffix}", ref, v3=v3, write=False),
            "put": _operation(rtype, "put", f"replace{gv}{suffix}", ref, v3=v3, write=True),
            "patch": _operation(rtype, "patch", f"patch{gv}{suffix}", ref, v3=v3, write=True),
            "delete": _operation(rtype, "delete", f"delete{gv}{suffix}", ref, v3=v3, write=True),
        },
    }
    if rtype.status:
        out[f"{scope}/{rtype.plural}/{{name}}/status"] = {
            "get": _operation(rtype, "get", f"read{gv}{suffix}Status", ref, v3=v3, write=False),
            "put": _operation(rtype, "put", f"replace{gv}{suffix}Status", ref, v3=v3, write=True),
            "patch": _operation(rtype, "patch", f"patch{gv}{suffix}Status", ref, v3=v3, write=True),
        }
    return out


def _documented(types: list[ResourceType]) -> list[ResourceType]:
    return [t for t in types if t.custom or model_fields(t.model)]


@functools.lru_cache(maxsize=64)
def _builtin_schemas(models: tuple[str, ...], v3: bool) -> str:
    from sandbox.kube.resources import BUILTIN  # noqa: PLC0415

    rtypes = {t.model: t for t in BUILTIN}
    return json.dumps(model_schemas([*models, META], rtypes, v3))


def gv_document(types: list[ResourceType], group: str, version: str) -> dict[str, Any]:
    """The OpenAPI v3 document of one group-version."""
    members = [t for t in _documented(types) if t.group == group and t.version == version]
    schemas = json.loads(_builtin_schemas(tuple(sorted(t.model for t in members if not t.custom)) or (META,), True))
    all_paths: dict[str, Any] = {}
    for t in members:
        name = cr_name(t) if t.custom else schema_name(t.model, {t.model: t})
        if t.custom:
            schemas[name] = _cr_schema(t, True)
        all_paths.update(paths(t, f"#/components/schemas/{name}", True))
    schemas["io.k8s.apimachinery.pkg.apis.meta.v1.Patch"] = {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        "type": "object",
    }
    title = f"Kubernetes {group or 'core'}/{version}"
    return {
        "openapi": "3.0.0",
        "info": {"title": title, "version": "unversioned"},
        "paths": all_paths,
        "components": {"schemas": schemas},
    }


def gv_paths(types: list[ResourceType]) -> list[tuple[str, str, str]]:
    """(document path, group, version) of every group-version document."""
    seen = []
    for t in _documented(types):
        key = (f"apis/{t.group}/{t.version}" if t.group else f"api/{t.version}", t.group, t.version)
        if key not in seen:
            seen.append(key)
    return seen


def v3_root(types: list[ResourceType], prefix: str, hashes: dict[str, str]) -> dict[str, Any]:
    return {
        "paths": {
            path: {"serverRelativeURL": f"{prefix}/openapi/v3/{path}?hash={hashes[path]}"}
            for path, _, _ in gv_paths(types)
        }
    }


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()[:128].upper()


def v2_document(types: list[ResourceType]) -> dict[str, Any]:
    members = _documented(types)
    definitions = json.loads(_builtin_schemas(tuple(sorted({t.model for t in members if not t.custom})), False))
    all_paths: dict[str, Any] = {}
    for t in members:
        name = cr_name(t) if t.custom else schema_name(t.model, {t.model: t})
        if t.custom:
            definitions[name] = _cr_schema(t, False)
        all_paths.update(paths(t, f"#/definitions/{name}", False))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.31.9"},
        "paths": all_paths,
        "definitions": definitions,
    }
