"""The EventListener filters, compiled and evaluated by the official CEL runtime (``cel-expr-python``).

The environment is the one Tekton Triggers v0.37.0 gives its ``cel`` ClusterInterceptor
(``pkg/interceptors/cel/cel.go`` ``makeCelEnv``):

- variables ``body``, ``header``, ``extensions`` as ``map(string, dyn)`` and ``requestURL`` as
  ``string`` (``decls.NewVariable("body", mapStrDyn)``…); ``body`` is the JSON payload,
  ``header`` the HTTP header (``map[string][]string``);
- cel-go's ``ext.Strings()`` (``split``, ``lowerAscii``, ``replace``…), ``ext.Encoders()``
  (``base64``) and ``ext.Math()``: here the runtime's own ``ExtStrings``, ``ExtEncoders`` and
  ``ExtMath``. ``ext.Sets()`` and ``ext.Lists()`` have no binding in cel-expr-python 0.1.3: a filter
  using ``sets.contains`` or ``lists.range`` fails to compile here (stricter, never looser);
- Triggers' own functions (``pkg/interceptors/cel/triggers.go``), declared with the same overloads
  and implemented here after their Go code: ``header.match(name, value)``,
  ``header.canonical(name)``, ``s.truncate(n)``, ``s.compareSecret(key, secretName[, namespace])``
  (against ``SECRETS`` below instead of the cluster), ``s.parseJSON()``, ``s.parseYAML()``,
  ``s.parseURL()``, ``m.marshalJSON()``, ``l.first()``, ``l.last()``, ``s.translate(regexp, repl)``.

Tekton runs the filter with the type checker on (``env.Compile``): an unknown function or a
syntax error fails here exactly as it fails there. An evaluation error (a missing key, a wrong
type) makes the interceptor answer an error, and the event is dropped: ``matches`` is False.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import yaml
from cel_expr_python import cel
from cel_expr_python.ext import ext_encoders, ext_math, ext_strings

MAP = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
LIST = cel.Type.List(cel.Type.DYN)
STRING, BOOL, INT = cel.Type.STRING, cel.Type.BOOL, cel.Type.INT
# compareSecret looks Secrets up in the EventListener's namespace; the tests' Secrets live here.
SECRETS: dict[tuple[str, str], str] = {}


def _canonical(name: str) -> str:
    """Go's ``http.CanonicalHeaderKey``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _header(header: dict[str, Any], name: str) -> list[str]:
    return header.get(_canonical(name)) or header.get(name) or []


def _match(header: dict[str, Any], name: str, value: str) -> bool:
    return value in _header(header, name)[:1]


def _canonical_get(header: dict[str, Any], name: str) -> str:
    values = _header(header, name)
    return values[0] if values else ""


def _compare_secret(value: str, key: str, name: str, namespace: str = "") -> bool:
    del namespace  # one namespace in the tests
    return SECRETS.get((name, key)) == value


def _parse_url(text: str) -> dict[str, Any]:
    url = urlparse(text)
    return {
        "scheme": url.scheme,
        "host": url.netloc,
        "path": url.path,
        "rawQuery": url.query,
        "query": {k: v[0] for k, v in parse_qs(url.query).items()},
        "fragment": url.fragment,
        "auth": {"username": url.username or "", "password": url.password or ""},
    }


def _member(overload: str, returns: cel.Type, params: list[cel.Type], impl: Any) -> cel.Overload:
    return cel.Overload(overload, return_type=returns, parameters=params, is_member=True, impl=impl)


FUNCTIONS = [
    cel.FunctionDecl("match", [_member("match_map_string_string", BOOL, [MAP, STRING, STRING], _match)]),
    cel.FunctionDecl("canonical", [_member("canonical_map_string", STRING, [MAP, STRING], _canonical_get)]),
    cel.FunctionDecl("truncate", [_member("truncate_string_uint", STRING, [STRING, INT], lambda s, n: s[:n])]),
    cel.FunctionDecl(
        "compareSecret",
        [
            _member("compareSecret_string_string_string", BOOL, [STRING] * 4, _compare_secret),
            _member("compareSecret_string_string", BOOL, [STRING] * 3, _compare_secret),
        ],
    ),
    cel.FunctionDecl("parseJSON", [_member("parseJSON_string", MAP, [STRING], json.loads)]),
    cel.FunctionDecl("parseYAML", [_member("parseYAML_string", MAP, [STRING], yaml.safe_load)]),
    cel.FunctionDecl("parseURL", [_member("parseURL_string", MAP, [STRING], _parse_url)]),
    cel.FunctionDecl(
        "marshalJSON",
        [
            _member("marshalJSON_map", STRING, [MAP], json.dumps),
            _member("marshalJSON_list", STRING, [LIST], json.dumps),
        ],
    ),
    cel.FunctionDecl("last", [_member("last_list", cel.Type.DYN, [LIST], lambda items: items[-1])]),
    cel.FunctionDecl("first", [_member("first_list", cel.Type.DYN, [LIST], lambda items: items[0])]),
    cel.FunctionDecl(
        "translate",
        [
            _member(
                "translate_string_string",
                STRING,
                [STRING, STRING, STRING],
                lambda s, pattern, repl: re.sub(pattern, repl, s),
            )
        ],
    ),
]


def environment() -> cel.Env:
    """The CEL environment of Tekton Triggers' cel interceptor (see the module docstring)."""
    return cel.NewEnv(
        variables={"body": MAP, "header": MAP, "extensions": MAP, "requestURL": STRING},
        extensions=[ext_strings.ExtStrings(), ext_encoders.ExtEncoders(), ext_math.ExtMath()],
        functions=FUNCTIONS,
    )


ENV = environment()


def compile_filter(expression: str) -> cel.Expression:
    """Compile and type-check ``expression``; raises RuntimeError with CEL's message when Tekton would refuse it."""
    return ENV.compile(expression)


def evaluate(expression: str, body: dict[str, Any], header: dict[str, list[str]] | None = None) -> cel.Value:
    data = {"body": body, "header": header or {}, "extensions": {}, "requestURL": ""}
    return compile_filter(expression).eval(data=data)


def matches(expression: str, body: dict[str, Any], header: dict[str, list[str]] | None = None) -> bool:
    """Whether Tekton's cel interceptor lets the event through: the filter evaluates to ``true``.

    An evaluation error or a non-boolean result stops the event (the interceptor answers an error).
    """
    value = evaluate(expression, body, header)
    return value.type() == BOOL and value.value() is True
