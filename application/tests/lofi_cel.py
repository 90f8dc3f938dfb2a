"""Evaluate the subset of CEL the EventListener filters use, to test them against real payloads.

Covers what the filters need and nothing more: literals (strings, ints, bools, null, lists),
field selection, indexing, `!`, `&&`, `||`, `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `+` (lists, strings, ints), the
methods size(), startsWith(), endsWith(), contains(), and the macros all() and exists().
Anything else is a parse error, so a filter drifting outside the subset fails its test instead of
being judged by guesswork. As in CEL, selecting a missing field is an error (Tekton then drops
the event), and `&&`/`||` absorb an error when the other side decides the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+)
      | (?P<op>&&|\|\||==|!=|<=|>=|[<>!.()\[\],+])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)

Node = tuple[Any, ...]


class CelError(Exception):
    """Evaluation error (CEL: no such key, wrong type)."""


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SyntaxError(f"unsupported CEL at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise SyntaxError(f"expected {value!r}, got {token!r}")
        self.pos += 1
        return token

    def accept(self, value: str) -> bool:
        token = self.peek()
        if token and token[1] == value and token[0] in ("op", "ident"):
            self.pos += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise SyntaxError(f"trailing {self.peek()!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("||"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.relation()
        while self.accept("&&"):
            node = ("and", node, self.relation())
        return node

    def relation(self) -> Node:
        node = self.add()
        for op in ("==", "!=", "<=", ">=", "<", ">", "in"):
            if self.accept(op):
                return (op, node, self.add())
        return node

    def add(self) -> Node:
        node = self.unary()
        while self.accept("+"):
            node = ("+", node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("!"):
            return ("not", self.unary())
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                name = self.take()[1]
                if self.accept("("):
                    args = self.arguments(")")
                    node = ("call", node, name, args)
                else:
                    node = ("field", node, name)
            elif self.accept("["):
                index = self.or_()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def arguments(self, close: str) -> list[Node]:
        args: list[Node] = []
        if self.accept(close):
            return args
        while True:
            args.append(self.or_())
            if self.accept(close):
                return args
            self.take(",")

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "string":
            return ("lit", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "number":
            return ("lit", int(value))
        if value == "(":
            node = self.or_()
            self.take(")")
            return node
        if value == "[":
            return ("list", self.arguments("]"))
        if kind == "ident":
            constants = {"true": True, "false": False, "null": None}
            return ("lit", constants[value]) if value in constants else ("var", value)
        raise SyntaxError(f"unexpected {value!r}")


def _logic(node: Node, env: dict[str, Any], decisive: bool) -> bool:
    """CEL's commutative && / ||: an error on one side is absorbed when the other side decides."""
    results: list[Any] = []
    for side in node[1:]:
        try:
            value = evaluate(side, env)
        except CelError as error:
            results.append(error)
            continue
        if not isinstance(value, bool):
            raise CelError(f"no such overload: {value!r} in a logical operator")
        if value is decisive:
            return decisive
        results.append(value)
    for result in results:
        if isinstance(result, CelError):
            raise result
    return not decisive


METHODS: dict[str, Callable[..., Any]] = {
    "size": len,
    "startsWith": lambda target, prefix: target.startswith(prefix),
    "endsWith": lambda target, suffix: target.endswith(suffix),
    "contains": lambda target, part: part in target,
}


COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _macro(node: Node, env: dict[str, Any]) -> bool:
    _, target_node, name, args = node
    target = evaluate(target_node, env)
    variable = args[0]
    if variable[0] != "var" or not isinstance(target, list | dict):
        raise CelError(f"{name}() needs a variable and a list")
    values = [evaluate(args[1], {**env, variable[1]: item}) for item in target]
    if not all(isinstance(v, bool) for v in values):
        raise CelError(f"{name}() predicate is not a bool")
    return all(values) if name == "all" else any(values)


def evaluate(node: Node, env: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "list":
        return [evaluate(item, env) for item in node[1]]
    if kind == "var":
        if node[1] not in env:
            raise CelError(f"undeclared reference to {node[1]!r}")
        return env[node[1]]
    if kind == "field":
        target = evaluate(node[1], env)
        if not isinstance(target, dict) or node[2] not in target:
            raise CelError(f"no such key: {node[2]}")
        return target[node[2]]
    if kind == "index":
        target, index = evaluate(node[1], env), evaluate(node[2], env)
        try:
            return target[index]
        except (KeyError, IndexError, TypeError) as error:
            raise CelError(f"invalid index {index!r}") from error
    if kind == "not":
        value = evaluate(node[1], env)
        if not isinstance(value, bool):
            raise CelError(f"no such overload: !{value!r}")
        return not value
    if kind in ("and", "or"):
        return _logic(node, env, decisive=kind == "or")
    if kind == "call":
        if node[2] in ("all", "exists"):
            return _macro(node, env)
        if node[2] not in METHODS:
            raise SyntaxError(f"unsupported method {node[2]}()")
        target = evaluate(node[1], env)
        args = [evaluate(arg, env) for arg in node[3]]
        if node[2] != "size" and not all(isinstance(v, str) for v in (target, *args)):
            raise CelError(f"no such overload: {node[2]} on {target!r}")
        return METHODS[node[2]](target, *args)
    left, right = evaluate(node[1], env), evaluate(node[2], env)
    if kind == "+":
        if type(left) is not type(right):
            raise CelError(f"no such overload: {left!r} + {right!r}")
        return left + right
    if kind == "in":
        if not isinstance(right, list | dict):
            raise CelError("'in' needs a list or map")
        return left in right
    if type(left) is not type(right) and None not in (left, right):
        raise CelError(f"no such overload: {left!r} {kind} {right!r}")
    if kind in ("<", "<=", ">", ">="):
        if not isinstance(left, int | str) or isinstance(left, bool):
            raise CelError(f"no such overload: {left!r} {kind} {right!r}")
        return COMPARE[kind](left, right)
    return (left == right) if kind == "==" else (left != right)


def matches(expression: str, body: dict[str, Any], header: dict[str, Any] | None = None) -> bool:
    """Tekton's CEL interceptor: the event passes only when the filter evaluates to true."""
    try:
        return evaluate(Parser(expression).parse(), {"body": body, "header": header or {}}) is True
    except CelError:
        return False
