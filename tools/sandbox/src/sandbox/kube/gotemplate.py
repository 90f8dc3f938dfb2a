"""A strict subset of Go's ``text/template`` with the sprig functions Argo CD's ApplicationSet controller loads.

Used by the ApplicationSet emulation (``applicationset.py``) for ``goTemplate: true``; it follows
``applicationset/utils/utils.go`` (``Render.Replace``) at Argo CD v3.4.4: one template named ``base``
with ``sprig.GenericFuncMap()`` (v3.3.0) minus ``env``/``expandenv``/``getHostByName``, plus Argo CD's
``normalize``, ``toYaml``, ``fromYaml``, ``fromYamlArray``, ``slugify``; ``goTemplateOptions`` are Go's
``Template.Option`` strings (``missingkey=default|invalid|zero|error``).

Supported (anything else fails loudly, never renders differently):

* text, ``{{ }}`` actions with ``{{-``/``-}}`` trimming, ``{{/* comments */}}``;
* ``if``/``else if``/``else``/``end``, ``with``/``else``/``end``, ``range`` over lists and maps
  (``range $i, $v := ...``, keys in sorted order as Go does), variables ``$``, ``$x := ...``, ``$x = ...``;
* pipelines ``a | f b``, parenthesised pipelines, field chains ``.a.b``, ``$x.a``, ``(pipe).a``;
* string (interpreted and raw), integer, float, ``true``/``false``/``nil`` literals;
* builtins ``and or not len index print println printf eq ne lt le gt ge`` (``printf`` verbs
  ``%s %v %d %q %%``); sprig ``default empty coalesce ternary quote squote upper lower title trim
  trimPrefix trimSuffix trimAll trunc replace contains hasPrefix hasSuffix indent nindent join
  splitList toString toJson toRawJson toPrettyJson fromJson list dict get hasKey keys b64enc b64dec
  sha256sum required fail``; Argo CD's ``normalize``, ``fromYaml``, ``fromYamlArray`` and ``toYaml``
  (``toYaml`` only when every string is a plain YAML scalar: go-yaml and PyYAML quote differently).

A function sprig has but this module does not emulate, and ``define``/``template``/``block``/
``break``/``continue``/character constants, raise ``TemplateError`` saying ``sandbox: ... not
emulated`` at parse time. Errors otherwise carry Go's wording: ``template: base:1: function "foo" not
defined``; ``template: base:1:2: executing "base" at <.foo>: map has no entry for key "foo"``.

Values follow Go's typing of the parameters: ``StrMap`` is a ``map[string]string`` (cluster labels and
annotations), any other ``dict`` a ``map[string]interface {}``, numbers from JSON ``float64``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml


class TemplateError(Exception):
    """A parse or execution error, worded as Go's text/template words it."""


class StrMap(dict):  # type: ignore[type-arg]
    """A Go ``map[string]string`` (a missing key is ``""`` under missingkey=zero)."""


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key gives under missingkey=default."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Any = _Missing()
_NOFINAL: Any = object()
NAME = "base"

SPRIG = set(
    [
        "hello",
        "ago",
        "date",
        "dateInZone",
        "dateModify",
        "duration",
        "durationRound",
        "htmlDate",
        "htmlDateInZone",
        "mustDateModify",
        "mustToDate",
        "now",
        "toDate",
        "unixEpoch",
        "abbrev",
        "abbrevboth",
        "trunc",
        "trim",
        "upper",
        "lower",
        "title",
        "untitle",
        "substr",
        "repeat",
        "trimall",
        "trimAll",
        "trimSuffix",
        "trimPrefix",
        "nospace",
        "initials",
        "randAlphaNum",
        "randAlpha",
        "randAscii",
        "randNumeric",
        "swapcase",
        "shuffle",
        "snakecase",
        "camelcase",
        "kebabcase",
        "wrap",
        "wrapWith",
        "contains",
        "hasPrefix",
        "hasSuffix",
        "quote",
        "squote",
        "cat",
        "indent",
        "nindent",
        "replace",
        "plural",
        "sha1sum",
        "sha256sum",
        "sha512sum",
        "adler32sum",
        "toString",
        "atoi",
        "int64",
        "int",
        "float64",
        "seq",
        "toDecimal",
        "split",
        "splitList",
        "splitn",
        "toStrings",
        "until",
        "untilStep",
        "add1",
        "add",
        "sub",
        "div",
        "mod",
        "mul",
        "randInt",
        "add1f",
        "addf",
        "subf",
        "divf",
        "mulf",
        "biggest",
        "max",
        "min",
        "maxf",
        "minf",
        "ceil",
        "floor",
        "round",
        "join",
        "sortAlpha",
        "default",
        "empty",
        "coalesce",
        "all",
        "any",
        "compact",
        "mustCompact",
        "fromJson",
        "toJson",
        "toPrettyJson",
        "toRawJson",
        "mustFromJson",
        "mustToJson",
        "mustToPrettyJson",
        "mustToRawJson",
        "ternary",
        "deepCopy",
        "mustDeepCopy",
        "typeOf",
        "typeIs",
        "typeIsLike",
        "kindOf",
        "kindIs",
        "deepEqual",
        "base",
        "dir",
        "clean",
        "ext",
        "isAbs",
        "osBase",
        "osClean",
        "osDir",
        "osExt",
        "osIsAbs",
        "b64enc",
        "b64dec",
        "b32enc",
        "b32dec",
        "tuple",
        "list",
        "dict",
        "get",
        "set",
        "unset",
        "hasKey",
        "pluck",
        "keys",
        "pick",
        "omit",
        "merge",
        "mergeOverwrite",
        "mustMerge",
        "mustMergeOverwrite",
        "values",
        "append",
        "mustAppend",
        "prepend",
        "mustPrepend",
        "first",
        "mustFirst",
        "rest",
        "mustRest",
        "last",
        "mustLast",
        "initial",
        "mustInitial",
        "reverse",
        "mustReverse",
        "uniq",
        "mustUniq",
        "without",
        "mustWithout",
        "has",
        "mustHas",
        "slice",
        "mustSlice",
        "concat",
        "dig",
        "chunk",
        "mustChunk",
        "bcrypt",
        "htpasswd",
        "genPrivateKey",
        "derivePassword",
        "buildCustomCert",
        "genCA",
        "genCAWithKey",
        "genSelfSignedCert",
        "genSelfSignedCertWithKey",
        "genSignedCert",
        "genSignedCertWithKey",
        "encryptAES",
        "decryptAES",
        "randBytes",
        "uuidv4",
        "semver",
        "semverCompare",
        "fail",
        "regexMatch",
        "mustRegexMatch",
        "regexFindAll",
        "mustRegexFindAll",
        "regexFind",
        "mustRegexFind",
        "regexReplaceAll",
        "mustRegexReplaceAll",
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
        "regexSplit",
        "mustRegexSplit",
        "regexQuoteMeta",
        "urlParse",
        "urlJoin",
    ]
) - {"env", "expandenv", "getHostByName"}
BUILTINS = set(
    [
        "and",
        "or",
        "not",
        "len",
        "index",
        "slice",
        "print",
        "printf",
        "println",
        "html",
        "js",
        "urlquery",
        "call",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
    ]
)
ARGO = {"normalize", "slugify", "toYaml", "fromYaml", "fromYamlArray"}
KNOWN = SPRIG | BUILTINS | ARGO


# ---------------------------------------------------------------------------------------------- values


def go_type(value: Any) -> str:  # noqa: PLR0911
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, StrMap):
        return "map[string]string"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return "interface {}"


def _digits(value: float) -> tuple[str, int]:
    """Shortest round-trip digits of ``value`` (no sign) and its decimal exponent (d.ddd times 10**exp)."""
    _, digits, exp = Decimal(repr(abs(value))).as_tuple()
    text = "".join(str(d) for d in digits).rstrip("0") or "0"
    stripped = len("".join(str(d) for d in digits)) - len(text)
    return text, int(exp) + stripped + len(text) - 1


def go_float(value: float, json_style: bool = False) -> str:
    """``fmt.Sprint(float64)`` (%g, shortest) or encoding/json's float format."""
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") and not json_style else "0"
    sign = "-" if value < 0 else ""
    digits, exp = _digits(value)
    # encoding/json: 'e' below 1e-6 and from 1e21; fmt's %v: strconv 'g' shortest, whose threshold is 6
    scientific = (abs(value) < 1e-6 or abs(value) >= 1e21) if json_style else (exp < -4 or exp >= 6)
    if scientific:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        width = "" if json_style else "02"
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):{width}d}"
    if exp >= 0:
        whole = digits[: exp + 1].ljust(exp + 1, "0")
        frac = digits[exp + 1 :]
        return sign + whole + ("." + frac if frac else "")
    return sign + "0." + "0" * (-exp - 1) + digits


def go_str(value: Any) -> str:  # noqa: PLR0911
    """``fmt.Sprint(value)`` for the values templates handle."""
    if value is MISSING or value is None:
        return "<nil>" if value is None else "<no value>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value)) + "]"
    raise TemplateError(f"sandbox: cannot print a value of type {type(value).__name__}")


def go_quote(text: str) -> str:
    """``strconv.Quote``."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char == "\a":
            out.append("\\a")
        elif char == "\b":
            out.append("\\b")
        elif char == "\f":
            out.append("\\f")
        elif char == "\v":
            out.append("\\v")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def go_json(value: Any, indent: str | None = None, escape_html: bool = True) -> str:
    """encoding/json ``Marshal`` (sorted keys, HTML-escaped unless told, Go's float format)."""

    def enc(v: Any, level: int) -> str:  # noqa: PLR0911
        pad = "" if indent is None else "\n" + indent * (level + 1)
        end = "" if indent is None else "\n" + indent * level
        sep = ":" if indent is None else ": "
        if v is None or v is MISSING:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return go_float(v, json_style=True)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            text = json.dumps(v, ensure_ascii=False)
            pairs = HTML_ESCAPES if escape_html else HTML_ESCAPES[3:]
            for a, b in pairs:
                text = text.replace(a, b)
            return text
        if isinstance(v, list):
            if not v:
                return "[]"
            return "[" + ",".join(pad + enc(x, level + 1) for x in v) + end + "]"
        if isinstance(v, dict):
            if not v:
                return "{}"
            return "{" + ",".join(pad + enc(str(k), 0) + sep + enc(v[k], level + 1) for k in sorted(v)) + end + "}"
        raise TemplateError(f"sandbox: cannot marshal a value of type {type(v).__name__}")

    return enc(value, 0)


def _plain_yaml(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _plain_yaml(str(key))
            _plain_yaml(item)
    elif isinstance(value, list):
        for item in value:
            _plain_yaml(item)
    elif isinstance(value, str):
        dumped = yaml.safe_dump(value, default_flow_style=False)
        if dumped[:1] in {"'", '"', "|", ">"} or dumped.count("\n") > 2 or value.strip() != value or not value:
            raise TemplateError(
                f"sandbox: toYaml of the string {go_quote(value)} is not emulated (go-yaml quotes strings "
                "differently from PyYAML)"
            )
    elif isinstance(value, float):
        raise TemplateError("sandbox: toYaml of a float64 is not emulated")


def go_yaml(value: Any) -> str:
    """sigs.k8s.io/yaml ``Marshal`` (JSON first, then block YAML, keys sorted), trailing newline trimmed."""
    if value is MISSING or value is None:
        return "null"
    _plain_yaml(value)
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True, allow_unicode=True).rstrip("\n")


def empty(value: Any) -> bool:
    """sprig's ``empty``."""
    if value is MISSING or value is None:
        return True
    if isinstance(value, (str, list, dict)):
        return len(value) == 0
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    return False


def truth(value: Any) -> bool:
    """text/template's ``isTrue`` (an invalid value is false)."""
    return not empty(value)


# ---------------------------------------------------------------------------------------------- lexer


@dataclass
class _Tok:
    kind: str  # text, open, close, space, pipe, lparen, rparen, declare, assign, comma, string, number, field,
    # variable, ident, keyword, bool, nil, dot, eof, comment
    value: str
    pos: int
    trim_left: bool = False
    trim_right: bool = False


KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
_NUM = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Tok] = []

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def fail(self, pos: int, message: str) -> TemplateError:
        return TemplateError(f"template: {NAME}:{self.line(pos)}: {message}")

    def run(self) -> list[_Tok]:
        text, pos = self.text, 0
        while True:
            start = text.find("{{", pos)
            if start < 0:
                if pos < len(text):
                    self.tokens.append(_Tok("text", text[pos:], pos))
                break
            trim_left = (
                text.startswith("{{- ", start) or text.startswith("{{-\t", start) or text.startswith("{{-\n", start)
            )
            chunk = text[pos:start]
            if trim_left:
                chunk = chunk.rstrip(" \t\r\n")
            if chunk:
                self.tokens.append(_Tok("text", chunk, pos))
            inner = start + (3 if trim_left else 2)
            pos = self._action(inner, start)
        self.tokens.append(_Tok("eof", "", len(text)))
        return self.tokens

    def _trim_next(self, pos: int) -> int:
        while pos < len(self.text) and self.text[pos] in " \t\r\n":
            pos += 1
        return pos

    def _close_at(self, pos: int) -> tuple[bool, int] | None:
        text = self.text
        if text.startswith("}}", pos):
            return False, pos + 2
        if text[pos : pos + 1] in {" ", "\t", "\n", "\r"}:
            j = pos
            while j < len(text) and text[j] in " \t\r\n":
                j += 1
            if text.startswith("-}}", j):
                return True, j + 3
        return None

    def _action(self, pos: int, start: int) -> int:  # noqa: PLR0912, PLR0915 - one branch per token kind
        text = self.text
        skip = pos
        while skip < len(text) and text[skip] in " \t\r\n":
            skip += 1
        if text.startswith("/*", skip):
            end = text.find("*/", skip + 2)
            if end < 0:
                raise self.fail(start, "unclosed comment")
            closing = self._close_at(end + 2)
            if closing is None:
                raise self.fail(start, "comment ends before closing delimiter")
            trim_right, after = closing
            return self._trim_next(after) if trim_right else after
        self.tokens.append(_Tok("open", "{{", start))
        while True:
            if pos >= len(text):
                raise self.fail(start, "unclosed action")
            closing = self._close_at(pos)
            if closing is not None:
                trim_right, after = closing
                self.tokens.append(_Tok("close", "}}", pos))
                return self._trim_next(after) if trim_right else after
            char = text[pos]
            if char in " \t\r\n":  # newlines are allowed inside actions since Go 1.16
                pos += 1
                self.tokens.append(_Tok("space", " ", pos - 1))
                continue
            if char == "|":
                self.tokens.append(_Tok("pipe", "|", pos))
                pos += 1
            elif char == "(":
                self.tokens.append(_Tok("lparen", "(", pos))
                pos += 1
            elif char == ")":
                self.tokens.append(_Tok("rparen", ")", pos))
                pos += 1
            elif char == ",":
                self.tokens.append(_Tok("comma", ",", pos))
                pos += 1
            elif text.startswith(":=", pos):
                self.tokens.append(_Tok("declare", ":=", pos))
                pos += 2
            elif char == "=":
                self.tokens.append(_Tok("assign", "=", pos))
                pos += 1
            elif char == '"':
                end = pos + 1
                while end < len(text) and text[end] != '"':
                    if text[end] == "\\":
                        end += 1
                    if end < len(text) and text[end] == "\n":
                        raise self.fail(pos, "unterminated quoted string")
                    end += 1
                if end >= len(text):
                    raise self.fail(pos, "unterminated quoted string")
                self.tokens.append(_Tok("string", _unquote(text[pos : end + 1], self, pos), pos))
                pos = end + 1
            elif char == "`":
                end = text.find("`", pos + 1)
                if end < 0:
                    raise self.fail(pos, "unterminated raw quoted string")
                self.tokens.append(_Tok("string", text[pos + 1 : end], pos))
                pos = end + 1
            elif char == "'":
                raise self.fail(pos, "sandbox: character constants are not emulated")
            elif char == "$":
                m = re.compile(r"\$[A-Za-z0-9_]*").match(text, pos)
                assert m
                self.tokens.append(_Tok("variable", m.group(0), pos))
                pos = m.end()
            elif char == ".":
                m = _IDENT.match(text, pos + 1)
                if m:
                    self.tokens.append(_Tok("field", "." + m.group(0), pos))
                    pos = m.end()
                elif text[pos + 1 : pos + 2].isdigit():
                    m = _NUM.match(text, pos)
                    assert m
                    self.tokens.append(_Tok("number", m.group(0), pos))
                    pos = m.end()
                else:
                    self.tokens.append(_Tok("dot", ".", pos))
                    pos += 1
            elif char.isdigit() or (char in "+-" and text[pos + 1 : pos + 2].isdigit()):
                m = _NUM.match(text, pos)
                assert m
                self.tokens.append(_Tok("number", m.group(0), pos))
                pos = m.end()
            elif _IDENT.match(text, pos):
                m = _IDENT.match(text, pos)
                assert m
                word = m.group(0)
                kind = "keyword" if word in KEYWORDS else "bool" if word in {"true", "false"} else "ident"
                kind = "nil" if word == "nil" else kind
                self.tokens.append(_Tok(kind, word, pos))
                pos = m.end()
            else:
                raise self.fail(pos, f"unexpected {go_quote(char)[1:-1]!r} in command".replace("'", '"'))


_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", '"': '"', "'": "'"}


def _unquote(quoted: str, lexer: _Lexer, pos: int) -> str:
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1 : i + 2]
        if nxt in _ESC:
            out.append(_ESC[nxt])
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2 : i + 4]):
            out.append(chr(int(body[i + 2 : i + 4], 16)))
            i += 4
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2 : i + 6]):
            out.append(chr(int(body[i + 2 : i + 6], 16)))
            i += 6
        elif nxt == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", body[i + 2 : i + 10]):
            out.append(chr(int(body[i + 2 : i + 10], 16)))
            i += 10
        else:
            raise lexer.fail(pos, f"invalid syntax: {quoted}")
    return "".join(out)


# ---------------------------------------------------------------------------------------------- parser


@dataclass
class Node:
    kind: str  # text, action, if, with, range, field, var, dot, string, number, bool, nil, ident, chain, pipe, cmd
    pos: int = 0
    value: Any = None
    fields: list[str] = field(default_factory=list)
    args: list[Node] = field(default_factory=list)  # cmd: operands; pipe: commands
    decl: list[str] = field(default_factory=list)
    assign: bool = False
    pipe: Node | None = None
    body: list[Node] = field(default_factory=list)
    alt: list[Node] | None = None
    source: str = ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.tokens = self.lexer.run()
        self.i = 0
        self.text = text
        self.vars: list[list[str]] = [["$"]]

    def fail(self, tok: _Tok, message: str) -> TemplateError:
        return self.lexer.fail(tok.pos, message)

    def peek(self, skip_space: bool = True) -> _Tok:
        j = self.i
        while skip_space and self.tokens[j].kind == "space":
            j += 1
        return self.tokens[j]

    def next(self, skip_space: bool = True) -> _Tok:
        while skip_space and self.tokens[self.i].kind == "space":
            self.i += 1
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> list[Node]:
        body, end = self.list_until(top=True)
        if end is not None:
            raise self.fail(end, f"unexpected {{{{{end.value}}}}}")
        return body

    def list_until(self, top: bool = False) -> tuple[list[Node], _Tok | None]:
        """Nodes up to an ``{{end}}`` or ``{{else}}`` (returned, with the parser after the keyword)."""
        nodes: list[Node] = []
        while True:
            tok = self.next(skip_space=False)
            if tok.kind == "eof":
                if not top:
                    raise self.fail(tok, "unexpected EOF")
                return nodes, None
            if tok.kind == "text":
                nodes.append(Node("text", tok.pos, tok.value))
                continue
            # tok is "open"
            head = self.peek()
            if head.kind == "keyword":
                self.next()
                if head.value in {"end", "else"}:
                    if top:
                        raise self.fail(head, f"unexpected {{{{{head.value}}}}}")
                    return nodes, head
                if head.value in {"if", "with", "range"}:
                    nodes.append(self.control(head))
                    continue
                raise self.fail(head, f"sandbox: {{{{{head.value}}}}} is not emulated")
            pipe = self.pipeline(head, "command")
            nodes.append(Node("action", head.pos, pipe=pipe))

    def control(self, head: _Tok) -> Node:
        self.vars.append(list(self.vars[-1]))
        pipe = self.pipeline(head, head.value)
        body, end = self.list_until()
        node = Node(head.value, head.pos, pipe=pipe, body=body)
        assert end is not None
        if end.value == "else":
            nxt = self.peek()
            if nxt.kind == "keyword" and nxt.value == "if" and head.value in {"if", "with"}:
                # {{else if ...}} is {{else}}{{if ...}}...{{end}} sharing the outer {{end}}
                self.next()
                if head.value == "with":
                    raise self.fail(nxt, "sandbox: {{else if}} inside {{with}} is not emulated")
                node.alt = [self.control(nxt)]
                self.vars.pop()
                return node
            self.expect("close", end)
            alt, end2 = self.list_until()
            assert end2 is not None
            if end2.value != "end":
                raise self.fail(end2, "expected end; found {{else}}")
            node.alt = alt
        self.expect("close", end)
        self.vars.pop()
        return node

    def expect(self, kind: str, ctx: _Tok) -> _Tok:
        tok = self.next()
        if tok.kind != kind:
            raise self.fail(tok, f"unexpected {tok.value or tok.kind} in {ctx.value}")
        return tok

    def pipeline(self, head: _Tok, context: str, end: str = "close") -> Node:  # noqa: PLR0912
        node = Node("pipe", self.peek().pos)
        start = self.i
        # declarations: $x := / $x, $y := / $x =
        tok = self.peek()
        if tok.kind == "variable":
            save = self.i
            names = [self.next().value]
            if self.peek().kind == "comma" and context == "range":
                self.next()
                second = self.next()
                if second.kind != "variable":
                    raise self.fail(second, "range can only initialize variables")
                names.append(second.value)
            nxt = self.peek()
            if nxt.kind in {"declare", "assign"}:
                self.next()
                node.decl = names
                node.assign = nxt.kind == "assign"
                for name in names:
                    if node.assign:
                        if not any(name in scope for scope in self.vars[-1:]):
                            raise self.fail(nxt, f"undefined variable {go_quote(name)}")
                    else:
                        self.vars[-1].append(name)
            else:
                self.i = save
        while True:
            tok = self.peek()
            if tok.kind == end:
                self.next()
                break
            if tok.kind == "eof":
                raise self.fail(tok, "unclosed action")
            node.args.append(self.command(context, end))
            tok = self.peek()
            if tok.kind == "pipe":
                self.next()
                continue
        if not node.args:
            raise self.fail(head, f"missing value for {context}")
        node.source = self.text[self.tokens[start].pos : self.tokens[self.i - 1].pos].strip()
        return node

    def command(self, context: str, end: str) -> Node:
        cmd = Node("cmd", self.peek().pos)
        first = self.peek().pos
        while True:
            tok = self.peek()
            if tok.kind in {end, "pipe", "eof"} or (end == "close" and tok.kind == "rparen"):
                if tok.kind == "rparen" and end != "rparen":
                    raise self.fail(tok, "unexpected right paren")
                break
            cmd.args.append(self.operand())
        if not cmd.args:
            raise self.fail(self.peek(), "empty command")
        last = self.tokens[self.i - 1]
        cmd.source = self.text[first : last.pos + len(last.value) if last.kind != "string" else self._end_of(last)]
        return cmd

    def _end_of(self, tok: _Tok) -> int:
        j = self.tokens.index(tok) + 1
        return self.tokens[j].pos if j < len(self.tokens) else len(self.text)

    def operand(self) -> Node:  # noqa: PLR0911, PLR0912 - one branch per operand kind
        tok = self.next()
        node: Node
        if tok.kind == "field":
            names = [tok.value[1:]]
            while self.peek(skip_space=False).kind == "field":
                names.append(self.next(skip_space=False).value[1:])
            return Node("field", tok.pos, fields=names, source="." + ".".join(names))
        if tok.kind == "variable":
            if not any(tok.value in scope for scope in self.vars):
                raise self.fail(tok, f"undefined variable {go_quote(tok.value)}")
            node = Node("var", tok.pos, tok.value, source=tok.value)
        elif tok.kind == "dot":
            node = Node("dot", tok.pos, source=".")
        elif tok.kind == "string":
            return Node("string", tok.pos, tok.value, source=go_quote(tok.value))
        elif tok.kind == "number":
            return Node("number", tok.pos, _number(tok.value, self, tok), source=tok.value)
        elif tok.kind == "bool":
            return Node("bool", tok.pos, tok.value == "true", source=tok.value)
        elif tok.kind == "nil":
            return Node("nil", tok.pos, source="nil")
        elif tok.kind == "ident":
            if tok.value not in KNOWN:
                raise self.fail(tok, f"function {go_quote(tok.value)} not defined")
            if tok.value not in FUNCS:
                raise self.fail(tok, f"sandbox: function {go_quote(tok.value)} is not emulated")
            return Node("ident", tok.pos, tok.value, source=tok.value)
        elif tok.kind == "lparen":
            inner = self.pipeline(tok, "parenthesized pipeline", end="rparen")
            node = Node("pipe", tok.pos, args=inner.args, source="(" + inner.source + ")")
        elif tok.kind == "keyword":
            raise self.fail(tok, f"unexpected <{tok.value}> in command")
        else:
            raise self.fail(tok, f"unexpected {tok.value or tok.kind} in operand")
        names = []
        while self.peek(skip_space=False).kind == "field":
            names.append(self.next(skip_space=False).value[1:])
        if names:
            return Node("chain", node.pos, args=[node], fields=names, source=node.source + "." + ".".join(names))
        return node


def _number(text: str, parser: _Parser, tok: _Tok) -> int | float:
    clean = text.replace("_", "")
    try:
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        if re.fullmatch(r"[+-]?0[xXbBoO][0-9a-fA-F]+", clean):
            return int(clean, 0)
        return float(clean)
    except ValueError as exc:
        raise parser.fail(tok, f"bad number syntax: {go_quote(text)}") from exc


# ---------------------------------------------------------------------------------------------- execution


class _ExecError(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class _FuncError(Exception):
    """An error a function returns (Go wraps it as ``error calling <name>: ...``)."""


class _State:
    def __init__(self, text: str, missingkey: str) -> None:
        self.text = text
        self.missingkey = missingkey
        self.out: list[str] = []
        self.vars: list[tuple[str, Any]] = []

    def error(self, node: Node, message: str) -> _ExecError:
        return _ExecError(node, message)

    def location(self, node: Node) -> str:
        before = self.text[: node.pos]
        nl = before.rfind("\n")
        col = node.pos if nl < 0 else node.pos - (nl + 1)
        return f"{NAME}:{before.count(chr(10)) + 1}:{col}"

    # -- lists

    def walk(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            if node.kind == "text":
                self.out.append(node.value)
            elif node.kind == "action":
                assert node.pipe is not None
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.out.append(self.printable(node.pipe, value))
            elif node.kind in {"if", "with"}:
                mark = len(self.vars)
                assert node.pipe is not None
                value = self.pipeline(dot, node.pipe)
                if truth(value):
                    self.walk(value if node.kind == "with" else dot, node.body)
                elif node.alt is not None:
                    self.walk(dot, node.alt)
                del self.vars[mark:]
            elif node.kind == "range":
                self.range(dot, node)

    def range(self, dot: Any, node: Node) -> None:
        mark = len(self.vars)
        assert node.pipe is not None
        pipe = node.pipe
        decl, pipe.decl = pipe.decl, []
        try:
            value = self.pipeline(dot, pipe)
        finally:
            pipe.decl = decl
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list):
            items = list(enumerate(value))
        elif value is MISSING or value is None:
            items = []
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise self.error(node, f"range can't iterate over {go_str(value)}")
        if not items:
            if node.alt is not None:
                self.walk(dot, node.alt)
            return
        for key, item in items:
            if len(decl) == 1:
                self.vars.append((decl[0], item))
            elif len(decl) == 2:
                self.vars.append((decl[0], key))
                self.vars.append((decl[1], item))
            self.walk(item, node.body)
            del self.vars[mark:]

    def printable(self, node: Node, value: Any) -> str:
        return go_str(value)

    # -- pipelines

    def pipeline(self, dot: Any, pipe: Node) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.args:
            value = self.command(dot, cmd, value)
        if value is _NOFINAL:
            value = MISSING
        for name in pipe.decl:
            if pipe.assign:
                for i in range(len(self.vars) - 1, -1, -1):
                    if self.vars[i][0] == name:
                        self.vars[i] = (name, value)
                        break
            else:
                self.vars.append((name, value))
        return value

    def command(self, dot: Any, cmd: Node, final: Any) -> Any:
        first = cmd.args[0]
        if first.kind == "field":
            return self.field_chain(dot, dot, first, first.fields, cmd.args[1:], final)
        if first.kind == "chain":
            receiver = self.arg(dot, first.args[0])
            return self.field_chain(dot, receiver, first, first.fields, cmd.args[1:], final)
        if first.kind == "ident":
            return self.call(dot, first, cmd, cmd.args[1:], final)
        if len(cmd.args) > 1 or final is not _NOFINAL:
            raise self.error(first, f"can't give argument to non-function {first.source}")
        return self.arg(dot, first)

    def variable(self, node: Node) -> Any:
        if node.value == "$":
            for name, value in self.vars:
                if name == "$":
                    return value
        for name, value in reversed(self.vars):
            if name == node.value:
                return value
        raise self.error(node, f"undefined variable: {node.value}")

    def arg(self, dot: Any, node: Node) -> Any:  # noqa: PLR0911
        kind = node.kind
        if kind == "dot":
            return dot
        if kind == "var":
            return self.variable(node)
        if kind in {"string", "number", "bool"}:
            return node.value
        if kind == "nil":
            return None
        if kind == "field":
            return self.field_chain(dot, dot, node, node.fields, [], _NOFINAL)
        if kind == "chain":
            receiver = self.arg(dot, node.args[0])
            return self.field_chain(dot, receiver, node, node.fields, [], _NOFINAL)
        if kind == "pipe":
            mark = len(self.vars)
            value = self.pipeline(dot, node)
            del self.vars[mark:]
            return value
        if kind == "ident":
            return self.call(dot, node, node, [], _NOFINAL)
        raise self.error(node, f"can't handle {node.source}")

    def field_chain(self, dot: Any, receiver: Any, node: Node, names: list[str], args: list[Node], final: Any) -> Any:  # noqa: PLR0917
        if args or final is not _NOFINAL:
            raise self.error(node, f"{names[-1]} is not a method but has arguments")
        for name in names:
            receiver = self.field(node, name, receiver)
        return receiver

    def field(self, node: Node, name: str, receiver: Any) -> Any:
        if receiver is MISSING:
            if self.missingkey == "error":
                raise self.error(node, f"nil data; no entry for key {go_quote(name)}")
            return MISSING
        if receiver is None:
            raise self.error(node, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if name in receiver:
                return receiver[name]
            if self.missingkey == "error":
                raise self.error(node, f"map has no entry for key {go_quote(name)}")
            if self.missingkey == "zero" and isinstance(receiver, StrMap):
                return ""
            return MISSING
        raise self.error(node, f"can't evaluate field {name} in type {go_type(receiver)}")

    def call(self, dot: Any, ident: Node, cmd: Node, args: list[Node], final: Any) -> Any:
        name = ident.value
        spec = FUNCS[name]
        values = [self.arg(dot, a) for a in args]
        if final is not _NOFINAL:
            values.append(final)
        if name in {"and", "or"}:
            if not values:
                raise self.error(ident, f"wrong number of args for {name}: want at least 1 got 0")
            for value in values[:-1]:
                if truth(value) == (name == "or"):
                    return value
            return values[-1]
        params, variadic = spec.params, spec.variadic
        if (not variadic and len(values) != len(params)) or (variadic and len(values) < len(params)):
            want = f"at least {len(params)}" if variadic else str(len(params))
            raise self.error(ident, f"wrong number of args for {name}: want {want} got {len(values)}")
        converted = []
        for i, value in enumerate(values):
            typ = params[i] if i < len(params) else (variadic or "any")
            converted.append(self.convert(cmd if i >= len(args) else args[i], value, typ))
        try:
            return spec.fn(*converted)
        except _FuncError as exc:
            raise self.error(cmd, f"error calling {name}: {exc}") from exc

    def convert(self, node: Node, value: Any, typ: str) -> Any:
        if typ == "any":
            return None if value is MISSING else value
        if value is MISSING:
            raise self.error(node, f"invalid value; expected {typ}")
        if typ == "string":
            if not isinstance(value, str):
                raise self.error(node, f"wrong type for value; expected string; got {go_type(value)}")
            return value
        if typ == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(node, f"wrong type for value; expected int; got {go_type(value)}")
            return value
        if typ == "bool":
            if not isinstance(value, bool):
                raise self.error(node, f"wrong type for value; expected bool; got {go_type(value)}")
            return value
        raise AssertionError(typ)


# ---------------------------------------------------------------------------------------------- functions


@dataclass
class _Fn:
    fn: Callable[..., Any]
    params: list[str]
    variadic: str = ""  # type of the variadic rest, "" when not variadic


def _index(item: Any, *indexes: Any) -> Any:
    for key in indexes:
        if item is None or item is MISSING:
            raise _FuncError("index of untyped nil")
        if isinstance(item, dict):
            if not isinstance(key, str):
                raise _FuncError(f"value has type {go_type(key)}; should be string")
            item = item[key] if key in item else "" if isinstance(item, StrMap) else MISSING
        elif isinstance(item, (list, str)):
            if isinstance(key, bool) or not isinstance(key, int):
                raise _FuncError(f"cannot index slice/array with type {go_type(key)}")
            if not 0 <= key < len(item):
                raise _FuncError(f"index out of range: {key}")
            item = item[key] if isinstance(item, list) else ord(item[key])
        else:
            raise _FuncError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, (str, list, dict)):
        return len(item)
    raise _FuncError(f"len of type {go_type(item)}")


def _basic(value: Any) -> str:
    if value is None or value is MISSING:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    raise _FuncError("invalid type for comparison")


def _eq(arg1: Any, *rest: Any) -> bool:
    if not rest:
        raise _FuncError("missing argument for comparison")
    k1 = _basic(arg1)
    for arg in rest:
        k2 = _basic(arg)
        if k1 == "nil" or k2 == "nil":
            if k1 == k2:
                return True
            continue
        if k1 != k2:
            raise _FuncError("incompatible types for comparison")
        if arg1 == arg:
            return True
    return False


def _ordered(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = _basic(a), _basic(b)
    if ka != kb:
        raise _FuncError("incompatible types for comparison")
    if ka not in {"int", "float", "string"}:
        raise _FuncError("invalid type for comparison")
    return a, b


def _printf(fmt: str, *args: Any) -> str:
    out, i, n = [], 0, 0
    while i < len(fmt):
        char = fmt[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        verb = fmt[i + 1 : i + 2]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        if verb not in {"s", "v", "d", "q"}:
            raise _FuncError(f"sandbox: printf verb %{verb} is not emulated")
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[n]
        n += 1
        if verb == "d":
            if isinstance(value, bool) or not isinstance(value, int):
                raise _FuncError(f"sandbox: printf %d of a {go_type(value)} is not emulated")
            out.append(str(value))
        elif verb == "q":
            if not isinstance(value, str):
                raise _FuncError(f"sandbox: printf %q of a {go_type(value)} is not emulated")
            out.append(go_quote(value))
        else:
            out.append(go_str(value))
    if n < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{go_type(a)}={go_str(a)}" for a in args[n:]) + ")")
    return "".join(out)


def _print(*args: Any) -> str:
    # fmt.Sprint: spaces between operands when neither is a string
    out = ""
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(arg)
    return out


def strval(value: Any) -> str:
    return value if isinstance(value, str) else go_str(value)


def _default(default: Any, *given: Any) -> Any:
    if not given or empty(given[0]):
        return default
    return given[0]


def _trunc(count: int, text: str) -> str:
    raw = text.encode()
    if count < 0 and len(raw) + count > 0:
        raw = raw[len(raw) + count :]
    elif count >= 0 and len(raw) > count:
        raw = raw[:count]
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        raise _FuncError("sandbox: trunc inside a multi-byte character is not emulated") from exc


def _strslice(value: Any) -> list[str]:
    if isinstance(value, list):
        return [strval(v) for v in value if v is not None]
    if value is None or value is MISSING:
        return []
    return [strval(value)]


def _dict(*pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(0, len(pairs), 2):
        out[strval(pairs[i])] = pairs[i + 1] if i + 1 < len(pairs) else ""
    return out


def _from_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _from_yaml(text: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _FuncError(f"sandbox: YAML error {exc}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _FuncError(f"error unmarshaling JSON: json: cannot unmarshal {go_type(value)} into map")
    return value


def _from_yaml_array(text: str) -> list[Any]:
    value = yaml.safe_load(text)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _FuncError("error unmarshaling JSON: json: cannot unmarshal object into []interface {}")
    return value


def sanitize_name(name: str) -> str:
    """``utils.SanitizeName``: lower case, ``[^-a-z0-9.]`` → ``-``, at most 253, trimmed of ``-.``."""
    name = re.sub(r"[^-a-z0-9.]", "-", name.lower())[:253]
    return name.strip("-.")


def _required(message: str, value: Any) -> Any:
    if value is None or value is MISSING or (isinstance(value, str) and value == ""):
        raise _FuncError(message)
    return value


def _fail(message: str) -> str:
    raise _FuncError(message)


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except ValueError as exc:
        return str(exc)


def _title(text: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


FUNCS: dict[str, _Fn] = {
    "and": _Fn(lambda *a: a[-1], [], "any"),
    "or": _Fn(lambda *a: a[-1], [], "any"),
    "not": _Fn(lambda v: not truth(v), ["any"]),
    "len": _Fn(_len, ["any"]),
    "index": _Fn(_index, ["any"], "any"),
    "print": _Fn(_print, [], "any"),
    "println": _Fn(lambda *a: " ".join(go_str(v) for v in a) + "\n", [], "any"),
    "printf": _Fn(_printf, ["string"], "any"),
    "eq": _Fn(_eq, ["any"], "any"),
    "ne": _Fn(lambda a, b: not _eq(a, b), ["any", "any"]),
    "lt": _Fn(lambda a, b: _ordered(a, b)[0] < b, ["any", "any"]),
    "le": _Fn(lambda a, b: _ordered(a, b)[0] <= b, ["any", "any"]),
    "gt": _Fn(lambda a, b: _ordered(a, b)[0] > b, ["any", "any"]),
    "ge": _Fn(lambda a, b: _ordered(a, b)[0] >= b, ["any", "any"]),
    "default": _Fn(_default, ["any"], "any"),
    "empty": _Fn(empty, ["any"]),
    "coalesce": _Fn(lambda *a: next((v for v in a if not empty(v)), None), [], "any"),
    "ternary": _Fn(lambda t, f, c: t if c else f, ["any", "any", "bool"]),
    "quote": _Fn(lambda *a: " ".join(go_quote(strval(v)) for v in a if v is not None), [], "any"),
    "squote": _Fn(lambda *a: " ".join(f"'{go_str(v)}'" for v in a if v is not None), [], "any"),
    "upper": _Fn(str.upper, ["string"]),
    "lower": _Fn(str.lower, ["string"]),
    "title": _Fn(_title, ["string"]),
    "trim": _Fn(lambda s: s.strip(" \t\n\r\v\f"), ["string"]),
    "trimPrefix": _Fn(lambda p, s: s[len(p) :] if p and s.startswith(p) else s, ["string", "string"]),
    "trimSuffix": _Fn(lambda p, s: s[: -len(p)] if p and s.endswith(p) else s, ["string", "string"]),
    "trimAll": _Fn(lambda c, s: s.strip(c), ["string", "string"]),
    "trunc": _Fn(_trunc, ["int", "string"]),
    "replace": _Fn(lambda old, new, s: s.replace(old, new) if old else s, ["string", "string", "string"]),
    "contains": _Fn(lambda sub, s: sub in s, ["string", "string"]),
    "hasPrefix": _Fn(lambda p, s: s.startswith(p), ["string", "string"]),
    "hasSuffix": _Fn(lambda p, s: s.endswith(p), ["string", "string"]),
    "indent": _Fn(lambda n, s: " " * n + s.replace("\n", "\n" + " " * n), ["int", "string"]),
    "nindent": _Fn(lambda n, s: "\n" + " " * n + s.replace("\n", "\n" + " " * n), ["int", "string"]),
    "join": _Fn(lambda sep, v: sep.join(_strslice(v)), ["string", "any"]),
    "splitList": _Fn(lambda sep, s: s.split(sep) if sep else list(s), ["string", "string"]),
    "toString": _Fn(lambda v: strval(v) if v is not None else "<nil>", ["any"]),
    "toJson": _Fn(go_json, ["any"]),
    "toRawJson": _Fn(lambda v: go_json(v, escape_html=False), ["any"]),
    "toPrettyJson": _Fn(lambda v: go_json(v, indent="  "), ["any"]),
    "fromJson": _Fn(_from_json, ["string"]),
    "list": _Fn(lambda *a: list(a), [], "any"),
    "dict": _Fn(_dict, [], "any"),
    "get": _Fn(lambda d, k: d.get(k, "") if isinstance(d, dict) else "", ["any", "string"]),
    "hasKey": _Fn(lambda d, k: isinstance(d, dict) and k in d, ["any", "string"]),
    "keys": _Fn(lambda *ds: [k for d in ds if isinstance(d, dict) for k in d], [], "any"),
    "b64enc": _Fn(lambda s: base64.b64encode(s.encode()).decode(), ["string"]),
    "b64dec": _Fn(_b64dec, ["string"]),
    "sha256sum": _Fn(lambda s: hashlib.sha256(s.encode()).hexdigest(), ["string"]),
    "required": _Fn(_required, ["string", "any"]),
    "fail": _Fn(_fail, ["string"]),
    "normalize": _Fn(sanitize_name, ["string"]),
    "toYaml": _Fn(go_yaml, ["any"]),
    "fromYaml": _Fn(_from_yaml, ["string"]),
    "fromYamlArray": _Fn(_from_yaml_array, ["string"]),
}
# keys: Go ranges maps in random order; sprig's keys is unordered too. Refuse rather than guess.
del FUNCS["keys"]


# ---------------------------------------------------------------------------------------------- entry


def options(goTemplateOptions: list[str]) -> str:
    """The ``missingkey`` mode; ``Template.Option`` panics on anything else (the controller then fails)."""
    mode = "default"
    for option in goTemplateOptions:
        key, _, value = option.partition("=")
        if key != "missingkey" or value not in {"default", "invalid", "zero", "error"}:
            raise TemplateError(f"unrecognized option: {option}")
        mode = "default" if value == "invalid" else value
    return mode


def parse(text: str) -> list[Node]:
    return _Parser(text).parse()


def execute(text: str, data: dict[str, Any], missingkey: str = "default") -> str:
    """Parse and execute ``text`` against ``data`` as Argo CD's ``Render.Replace`` does (errors unwrapped)."""
    nodes = parse(text)
    state = _State(text, missingkey)
    state.vars.append(("$", data))
    try:
        state.walk(data, nodes)
    except _ExecError as exc:
        raise TemplateError(
            f"template: {state.location(exc.node)}: executing {go_quote(NAME)} at <{exc.node.source}>: {exc.message}"
        ) from None
    return "".join(state.out)


def replace(text: str, params: dict[str, Any], go_template: bool, template_options: list[str]) -> str:
    """``Render.Replace`` of applicationset/utils/utils.go, with its error wording."""
    if go_template:
        mode = options(template_options)
        try:
            nodes = parse(text)
        except TemplateError as exc:
            raise TemplateError(f"failed to parse template {text}: {exc}") from None
        state = _State(text, mode)
        state.vars.append(("$", params))
        try:
            state.walk(params, nodes)
        except _ExecError as exc:
            message = (
                f"template: {state.location(exc.node)}: executing {go_quote(NAME)} at <{exc.node.source}>: "
                f"{exc.message}"
            )
            raise TemplateError(f"failed to execute go template {text}: {message}") from None
        except TemplateError as exc:
            raise TemplateError(f"failed to execute go template {text}: {exc}") from None
        return "".join(state.out)
    return fasttemplate(text, params)


_TEMPLATED = re.compile(r".*\{\{.*\}\}.*")


def fasttemplate(text: str, params: dict[str, Any]) -> str:
    """valyala/fasttemplate v1.2.2 with ``{{``/``}}``, as ``Render.Replace`` drives it: a tag whose trimmed name
    is a string parameter is replaced, any other tag is written back unchanged."""
    if not _TEMPLATED.search(text):
        return text
    out, pos = [], 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            out.append(text[pos:])
            break
        end = text.find("}}", start + 2)
        if end < 0:
            raise TemplateError(
                f"invalid template: Cannot find end tag={go_quote('}}')} in the template={go_quote(text)} "
                f"starting from {go_quote(text[start + 2 :])}"
            )
        out.append(text[pos:start])
        tag = text[start + 2 : end]
        value = params.get(tag.strip())
        if tag.strip() and isinstance(value, str):
            out.append(value)
        else:
            out.append("{{" + tag + "}}")
        pos = end + 2
    return "".join(out)
