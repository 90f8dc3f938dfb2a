"""Request validation with Auth0's messages (``invalid_body`` / ``invalid_query_string``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.server import HTTPError, Request

Check = Callable[[Any], bool]


def is_str(value: Any) -> bool:
    return isinstance(value, str)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def dict_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def one_of(*choices: str) -> Check:
    def check(value: Any) -> bool:
        return value in choices

    check.__doc__ = f"one of {', '.join(choices)}"
    return check


def bad_body(message: str) -> HTTPError:
    return HTTPError(400, f"Payload validation error: {message}.", errorCode="invalid_body")


def _json_object(request: Request) -> dict[str, Any]:
    try:
        data = request.json()
    except ValueError:
        raise HTTPError(400, "Invalid request payload JSON format", errorCode="invalid_body") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise bad_body("'Expected type object but found type array'")
    return data


def sdk_body(request: Request, operation: str, rules: dict[str, Check] | None = None) -> dict[str, Any]:
    """The JSON object of the request, judged by the request type auth0-python generates for
    ``operation`` (``clients.create``, ``roles.update``…; see :mod:`sandbox.auth0.sdk_schema`),
    then by ``rules``: property -> further check the generated types cannot express."""
    from sandbox.auth0 import sdk_schema  # noqa: PLC0415 - imports the SDK's large type package

    data = _json_object(request)
    problem = sdk_schema.schema(operation).check(data, nullable=tuple(NULLABLE))
    if problem:
        raise bad_body(problem)
    for name, check in (rules or {}).items():
        if name in data and data[name] is not None and not check(data[name]):
            expected = check.__doc__ or check.__name__
            raise bad_body(
                f"'Invalid value {data[name]!r} for property {name}: expected {expected}' on property {name}"
            )
    return data


def sdk_whole_body(request: Request, operation: str) -> Any:
    """The JSON body of a request whose whole body is one generated type (an array for
    ``connections.clients.update``), judged by that type (:func:`sandbox.auth0.sdk_schema.body_problem`)."""
    from sandbox.auth0 import sdk_schema  # noqa: PLC0415 - imports the SDK's large type package

    try:
        data = request.json()
    except ValueError:
        raise HTTPError(400, "Invalid request payload JSON format", errorCode="invalid_body") from None
    problem = sdk_schema.body_problem(operation, data)
    if problem:
        raise bad_body(problem)
    return data


def body(request: Request, schema: dict[str, Check], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON object of the request, checked against ``schema`` (property -> check)."""
    data = _json_object(request)
    extra = sorted(set(data) - set(schema))
    if extra:
        raise bad_body(f"'Additional properties not allowed: {','.join(extra)}'")
    for name in required:
        if name not in data:
            raise bad_body(f"'Missing required property: {name}'")
    for name, value in data.items():
        check = schema[name]
        if value is None and name in NULLABLE:
            continue
        if not check(value):
            expected = check.__doc__ or check.__name__.replace("is_", "").replace("_", " ")
            raise bad_body(f"'Invalid value {value!r} for property {name}: expected {expected}' on property {name}")
    return data


# Scalar properties Auth0 accepts as null (meaning "unset"); the generated types tell it only for
# objects (their serialisation annotation is Optional[...]), see sandbox.auth0.sdk_schema.
NULLABLE = {"client_metadata", "description", "logo_uri", "initiate_login_uri", "organization_usage"}


def query_int(request: Request, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(
            400,
            f"Query validation error: 'Expected type integer but found type string' on property {name}.",
            errorCode="invalid_query_string",
        ) from None
    if value < minimum:
        raise HTTPError(
            400,
            f"Query validation error: 'Value {value} is less than minimum {minimum}' on property {name}.",
            errorCode="invalid_query_string",
        )
    if maximum is not None and value > maximum:
        raise HTTPError(
            400,
            f"Query validation error: 'Value {value} is greater than maximum {maximum}' on property {name}.",
            errorCode="invalid_query_string",
        )
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in {"true", "false"}:
        raise HTTPError(
            400,
            f"Query validation error: 'Expected type boolean but found type string' on property {name}.",
            errorCode="invalid_query_string",
        )
    return raw.lower() == "true"
