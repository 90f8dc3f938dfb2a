"""Custom resources against their CRD's structural schema: defaults, then validation (422)."""

from __future__ import annotations

import copy
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def default(schema: dict[str, Any], value: Any) -> Any:
    """Fill ``default`` values of absent properties (recursively, as the API server does)."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = default(sub, value[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in value:
                if key not in (schema.get("properties") or {}):
                    value[key] = default(extra, value[key])
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [default(schema["items"], item) for item in value]
    return value


def _type_ok(kind: str, value: Any, schema: dict[str, Any]) -> bool:
    if schema.get("x-kubernetes-int-or-string") and isinstance(value, (int, str)) and not isinstance(value, bool):
        return True
    allowed = _TYPES.get(kind)
    if allowed is None:
        return True
    if kind in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, allowed)


def errors(schema: dict[str, Any], value: Any, path: str = "") -> list[tuple[str, str, str]]:
    """(reason, message, field) for values that break the schema: type, required, enum, nullable."""
    if value is None:
        if schema.get("nullable"):
            return []
        return (
            [
                (
                    "FieldValueTypeInvalid",
                    f'Invalid value: "null": {path} in body must be of type {schema.get("type", "object")}',
                    path,
                )
            ]
            if schema.get("type")
            else []
        )
    kind = schema.get("type")
    if kind and not _type_ok(kind, value, schema):
        shown = type(value).__name__.replace("str", "string").replace("dict", "object").replace("list", "array")
        return [
            (
                "FieldValueTypeInvalid",
                f'Invalid value: "{shown}": {path} in body must be of type {kind}: "{shown}"',
                path,
            )
        ]
    found: list[tuple[str, str, str]] = []
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(f'"{v}"' for v in schema["enum"])
        found.append(("FieldValueNotSupported", f'Unsupported value: "{value}": supported values: {allowed}', path))
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                field = f"{path}.{name}" if path else name
                found.append(("FieldValueRequired", "Required value", field))
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                found += errors(sub, value[key], f"{path}.{key}" if path else key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += errors(schema["items"], item, f"{path}[{index}]")
    return found


def check(schema: dict[str, Any], obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Validation errors of a whole custom resource (metadata is the API server's business)."""
    body = {k: v for k, v in obj.items() if k not in {"apiVersion", "kind", "metadata"}}
    trimmed = {
        **schema,
        "properties": {
            k: v for k, v in (schema.get("properties") or {}).items() if k not in {"apiVersion", "kind", "metadata"}
        },
    }
    trimmed["required"] = [r for r in schema.get("required") or [] if r not in {"apiVersion", "kind", "metadata"}]
    return errors(trimmed, body)
