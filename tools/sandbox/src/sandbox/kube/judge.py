"""Kubernetes' own schemas judge built-in objects; ``audit_cluster`` re-judges everything stored.

The schemas are the OpenAPI of the pinned Kubernetes minor as JSON schema, in strict mode
(``additionalProperties: false`` on every object), shipped by the PyPI package
``kubernetes-validate`` (pinned in ``requirements-dev.txt``; its directory
``kubernetes-json-schema/v1.31.0-local-strict``). Nothing here is written from our own
understanding of the types: a field the 1.31 API does not have is unknown, a value of the wrong
JSON type is refused, a property the OpenAPI marks ``required`` must be there.

What a real API server answers for each:

* a wrong type fails decoding: 400 ``BadRequest``, ``<Kind> in version "<v>" cannot be handled
  as a <Kind>: json: cannot unmarshal <json type> into Go struct field <Struct>.<path> of type
  <go type>`` (encoding/json's ``UnmarshalTypeError``, as the API server's decoder reports it);
* an unknown field is decided by ``fieldValidation`` (the caller's business, see
  ``Cluster._field_validation``);
* a missing required property is a validation error: 422 ``Invalid`` with a
  ``FieldValueRequired`` cause ``Required value``.

Validators are compiled once per (apiVersion, kind) and cached; the shared ``_definitions.json``
is loaded once per process.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

KUBE_VERSION = "1.31.0"
SCHEMA_SET = f"v{KUBE_VERSION}-local-strict"
_DEFS_URI = "https://kubernetes.io/api/_definitions.json"


@dataclass
class Verdict:
    """What the schema found in one object."""

    unknown: list[tuple[Any, ...]] = field(default_factory=list)  # path parts, e.g. ("spec", "foo")
    types: list[str] = field(default_factory=list)  # decoder messages ("json: cannot unmarshal ...")
    required: list[tuple[str, str, str]] = field(default_factory=list)  # (reason, message, field) causes

    def __bool__(self) -> bool:
        return bool(self.unknown or self.types or self.required)


def _schema_dir() -> Any:
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema", SCHEMA_SET)


@functools.cache
def _registry() -> Any:
    from referencing import Registry, Resource  # noqa: PLC0415 - only when the sandbox judges

    defs = json.loads(_schema_dir().joinpath("_definitions.json").read_text())
    return Registry().with_resource(_DEFS_URI, Resource.from_contents(defs))


@functools.cache
def _definitions() -> dict[str, Any]:
    return json.loads(_schema_dir().joinpath("_definitions.json").read_text())["$defs"]


def _inline(node: Any, stack: tuple[str, ...] = ()) -> Any:
    """``node`` with every ``$ref`` replaced by its definition (about 1.5x faster to evaluate than
    following references); the definition's name stays in ``x-sandbox-type`` for error messages.
    Recursive references (JSONSchemaProps in CRDs) stay references into ``_definitions.json``."""
    if isinstance(node, list):
        return [_inline(item, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    ref = ref if isinstance(ref, str) else None
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name in stack:
            return {**node, "$ref": f"{_DEFS_URI}#/$defs/{name}"}
        target = _inline(_definitions()[name], (*stack, name))
        return {**target, "x-sandbox-type": name}
    return {
        key: _inline(value, stack) for key, value in node.items() if key != "description" or not isinstance(value, str)
    }


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    """The compiled validator for a built-in kind, or None when the 1.31 API has no such kind."""
    import jsonschema  # noqa: PLC0415

    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir().joinpath(f"{kind.lower()}-{group_version}.json")
    if not path.is_file():
        return None
    schema = _inline(json.loads(path.read_text()))
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def has_schema(api_version: str, kind: str) -> bool:
    return _validator(api_version, kind) is not None


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_type(schema: dict[str, Any]) -> str:  # noqa: PLR0911 - one answer per JSON schema type
    """The Go type encoding/json names for a schema node (best effort: the OpenAPI keeps no Go names)."""
    ref = schema.get("x-sandbox-type") or schema.get("$ref", "")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        if name.endswith("intstr.IntOrString"):
            return "intstr.IntOrString"
        if name.endswith("resource.Quantity"):
            return "resource.Quantity"
        if name.endswith("meta.v1.Time"):
            return "v1.Time"
        parts = name.split(".")
        return f"{parts[-2]}.{parts[-1]}" if len(parts) >= 2 else name
    types = schema.get("type")
    typ = next((t for t in types if t != "null"), "") if isinstance(types, list) else types
    if typ == "integer":
        return {"int32": "int32", "int64": "int64"}.get(schema.get("format", ""), "int")
    if typ == "number":
        return "float64"
    if typ == "boolean":
        return "bool"
    if typ == "array":
        return "[]" + _go_type(schema.get("items") or {})
    if typ == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return "map[string]" + _go_type(extra)
        return "struct"
    return typ or "interface {}"


def _struct_name(validator: Any, error: Any) -> str:
    """The innermost named type on the error's path (encoding/json's ``Struct`` of the error)."""
    node, name = validator.schema, ""
    for part in list(error.absolute_path)[:-1]:
        name = node.get("x-sandbox-type", name)
        if isinstance(part, int):
            node = node.get("items") or {}
        else:
            extra = node.get("additionalProperties")
            node = (node.get("properties") or {}).get(part) or (extra if isinstance(extra, dict) else {})
    name = node.get("x-sandbox-type", name)
    return name.rsplit(".", 1)[-1]


def judge(obj: dict[str, Any], api_version: str, kind: str) -> Verdict:
    """Unknown fields, wrong types and missing required properties of ``obj`` per the 1.31 schema."""
    verdict = Verdict()
    validator = _validator(api_version, kind)
    if validator is None or not isinstance(obj, dict):
        return verdict
    document = {**obj, "apiVersion": api_version, "kind": kind}
    for error in validator.iter_errors(document):
        where = list(error.absolute_path)
        if error.validator == "additionalProperties":
            known = set((error.schema.get("properties") or {}).keys())
            extra = error.schema.get("additionalProperties")
            if extra is False and isinstance(error.instance, dict):
                verdict.unknown += [(*where, key) for key in error.instance if key not in known]
        elif error.validator == "type" or (error.validator == "oneOf" and error.instance is not None):
            fields = ".".join(str(p) for p in where if not isinstance(p, int))
            struct = _struct_name(validator, error)
            go = _go_type(error.schema) if error.validator == "type" else "intstr.IntOrString"
            verdict.types.append(
                f"json: cannot unmarshal {_json_type(error.instance)} into Go struct field "
                f"{struct}.{fields} of type {go}"
            )
        elif error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    verdict.required.append(("FieldValueRequired", "Required value", _path([*where, name])))
    verdict.unknown.sort(key=str)
    return verdict


def unknown_paths(verdict: Verdict) -> list[str]:
    """The unknown fields as the API server names them: ``spec.template.spec.containers[0].foo``."""
    return [_path(parts) for parts in verdict.unknown]


def drop_unknown(obj: dict[str, Any], verdict: Verdict) -> None:
    """Remove the unknown fields from ``obj``, as the API server's decoder drops them."""
    for parts in verdict.unknown:
        node: Any = obj
        for part in parts[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)


def decode_error(kind: str, version: str, verdict: Verdict) -> str:
    """The 400 message a real API server gives when the body does not decode into the Go type."""
    return f'{kind} in version "{version}" cannot be handled as a {kind}: {verdict.types[0]}'


# ---------------------------------------------------------------------------- the fidelity gate


def audit_object(rtype: Any, obj: dict[str, Any]) -> list[str]:
    """Problems a real 1.31 API server (and, for custom resources, the CRD's schema) finds in ``obj``."""
    from sandbox.kube import structural  # noqa: PLC0415 - avoid an import cycle
    from sandbox.kube.errors import KubeError  # noqa: PLC0415
    from sandbox.kube.validate import validate  # noqa: PLC0415

    problems: list[str] = []
    if rtype.custom:
        for _, message, where in structural.check(rtype.crd_schema, obj):
            problems.append(f"{where}: {message}")
        from sandbox.kube import schema  # noqa: PLC0415

        problems += [f'{u}: unknown field "{u}"' for u in schema.unknown_fields(schema.root(rtype), obj)]
    else:
        verdict = judge(obj, rtype.api_version, rtype.kind)
        problems += [f'{u}: unknown field "{u}"' for u in unknown_paths(verdict)]
        problems += verdict.types
    try:
        validate(rtype, obj, None)
    except KubeError as exc:
        problems += [f"{c['field']}: {c['message']}" for c in (exc.details or {}).get("causes") or []]
    return sorted(set(problems))


def audit_cluster(cluster: Any) -> list[dict[str, Any]]:
    """Every stored object of ``cluster`` judged again: one entry per object with problems."""
    found = []
    for gr, bucket in sorted(cluster.data["objects"].items()):
        rtype = cluster.by_gr.get(gr)
        if rtype is None or rtype.plural in {"events"}:
            continue
        for key, obj in sorted(bucket.items()):
            problems = audit_object(rtype, cluster.render(rtype, obj))
            namespace, _, name = key.partition("/")
            for manager, paths in sorted((cluster.dropped.get((gr, namespace, name)) or {}).items()):
                problems += [
                    f'{u}: unknown field "{u}" dropped with a warning (fieldValidation=Warn) on a write by {manager}'
                    for u in paths
                ]
            if problems:
                found.append(
                    {
                        "cluster": cluster.id,
                        "apiVersion": rtype.api_version,
                        "kind": rtype.kind,
                        "namespace": namespace,
                        "name": name,
                        "problems": problems,
                    }
                )
    return found
