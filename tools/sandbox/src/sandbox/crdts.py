"""CRD schemas rebuilt from the ``@kubernetes-models`` npm packages' type declarations.

``@kubernetes-models/argo-cd`` and ``@kubernetes-models/traefik`` are generated (go-generate) from
the Go packages their CRDs are generated from (``github.com/argoproj/argo-cd/v3/pkg/apis/
application/v1alpha1``, ``github.com/traefik/traefik/v3/pkg/provider/kubernetes/crd/traefikio/
v1alpha1``). Their validators are compiled code that ignores unknown fields, but their ``.d.ts``
files declare every Go struct as a TypeScript interface: one quoted property per JSON field,
``?`` when the field is optional, ``Array<T>``, ``{ [key: string]: T }``, string-literal unions for
enums, and imports of the Kubernetes types they use. ``make judges`` unpacks the packages under
``.cache/judges/``; this module reads those declarations (nothing is run) and gives each custom
resource a closed schema: a struct admits exactly its Go fields, as the CRD generated from the
same struct does. ``number`` stays ``number`` (TypeScript does not tell integers apart).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sandbox.judges import judges_dir

NPM = judges_dir() / "@kubernetes-models"
OPEN: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
# Kubernetes types the packages import from @kubernetes-models/apimachinery and kubernetes-models
EXTERNAL: dict[str, dict[str, Any]] = {
    "apis/meta/v1/ObjectMeta": {"type": "object"},
    "apis/meta/v1/ListMeta": {"type": "object"},
    "apis/meta/v1/Time": {"type": "string", "format": "date-time"},
    "runtime/RawExtension": {"type": "object", **OPEN},
    "util/intstr/IntOrString": {"x-kubernetes-int-or-string": True},
    "apiextensions.k8s.io/v1/JSON": dict(OPEN),
    "apis/meta/v1/LabelSelector": {
        "type": "object",
        "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
            "matchExpressions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string"},
                        "operator": {"type": "string"},
                        "values": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
    },
}
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_IMPORT = re.compile(r'import\s*(type\s*)?\{([^}]*)\}\s*from\s*"([^"]+)";')
_INTERFACE = re.compile(r"export\s+interface\s+(\w+)(?:\s+extends\s+[^{]+)?\s*\{")
_ALIAS = re.compile(r"export\s+type\s+(\w+)\s*=\s*([^;{]+(?:\{[^}]*\}[^;]*)?);")
_REEXPORT = re.compile(r"export\s+type\s*\{([^}]*)\};")
_SCALARS = {"string": {"type": "string"}, "number": {"type": "number"}, "boolean": {"type": "boolean"}}


class Module:
    """One ``.d.ts`` file: its imports, interfaces (name -> body) and type aliases."""

    def __init__(self, path: Path) -> None:
        text = _COMMENT.sub("", path.read_text())
        self.path = path
        self.imports: dict[str, tuple[str, str]] = {}
        for _, names, source in _IMPORT.findall(text):
            for item in names.split(","):
                parts = item.strip().split(" as ")
                if parts[0]:
                    self.imports[parts[-1].strip()] = (parts[0].strip(), source)
        self.interfaces: dict[str, str] = {}
        for match in _INTERFACE.finditer(text):
            start = match.end()
            self.interfaces[match.group(1)] = text[start : _closing(text, start - 1)]
        self.aliases = {name: body.strip() for name, body in _ALIAS.findall(text)}
        for names in _REEXPORT.findall(text):
            for item in names.split(","):
                parts = item.strip().split(" as ")
                if len(parts) == 2:
                    self.aliases.setdefault(parts[1].strip(), parts[0].strip())


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced braces")


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "{<(":
            depth += 1
        elif ch in "}>)":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


class Package:
    """The declarations of one unpacked npm package."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[Path, Module] = {}

    def module(self, path: Path) -> Module:
        path = path.resolve()
        if path not in self.modules:
            self.modules[path] = Module(path)
        return self.modules[path]

    def resource(self, api_version: str, kind: str) -> dict[str, Any] | None:
        group, version = api_version.split("/")
        group_dir = self.root / group / version
        path = group_dir / f"{kind}.d.ts"
        if not path.is_file():
            return None
        module = self.module(path)
        schema = self.named(module, f"I{kind}", set())
        props = schema.get("properties", {})
        props.update({"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
        required = [r for r in schema.pop("required", []) if r not in {"apiVersion", "kind", "metadata"}]
        if required:
            schema["required"] = required
        return schema

    def named(self, module: Module, name: str, seen: set[tuple[Path, str]]) -> dict[str, Any]:  # noqa: PLR0911
        key = (module.path, name)
        if key in seen:
            return dict(OPEN)
        seen = seen | {key}
        if name in module.interfaces:
            return self.members(module, module.interfaces[name], seen)
        if name in module.aliases:
            return self.type_of(module, module.aliases[name], seen)
        if name in module.imports:
            original, source = module.imports[name]
            if source.startswith("."):
                return self.named(self.module(module.path.parent / source.replace(".js", ".d.ts")), original, seen)
            for suffix, schema in EXTERNAL.items():
                if source.endswith(suffix):
                    return dict(schema)
            return dict(OPEN)
        return dict(OPEN)

    def members(self, module: Module, body: str, seen: set[tuple[Path, str]]) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        extra: dict[str, Any] | None = None
        for member in _split_top(body, ";"):
            index = re.match(r"^\[\s*\w+\s*:\s*string\s*\]\s*:\s*(.+)$", member, re.S)
            if index:
                extra = self.type_of(module, index.group(1), seen)
                continue
            field = re.match(r'^"([^"]+)"(\?)?\s*:\s*(.+)$', member, re.S)
            if not field:
                continue
            props[field.group(1)] = self.type_of(module, field.group(3), seen)
            if not field.group(2):
                required.append(field.group(1))
        if extra is not None and not props:
            if extra == OPEN:
                return {"type": "object", **OPEN}
            return {"type": "object", "additionalProperties": extra}
        out: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            out["required"] = required
        return out

    def type_of(self, module: Module, text: str, seen: set[tuple[Path, str]]) -> dict[str, Any]:  # noqa: PLR0911
        text = text.strip()
        members = _split_top(text, "|")
        if len(members) > 1:
            members = [m for m in members if m not in {"null", "undefined"}]
            if members and all(m.startswith('"') for m in members):
                return {"type": "string", "enum": [m.strip('"') for m in members]}
            if len(members) == 1:
                return self.type_of(module, members[0], seen)
            return dict(OPEN)
        if text.startswith('"'):
            return {"type": "string", "enum": [text.strip('"')]}
        if text.startswith("Array<") and text.endswith(">"):
            return {"type": "array", "items": self.type_of(module, text[6:-1], seen)}
        if text.endswith("[]"):
            return {"type": "array", "items": self.type_of(module, text[:-2], seen)}
        if text.startswith("{"):
            return self.members(module, text[1 : _closing(text, 0)], seen)
        if text in _SCALARS:
            return dict(_SCALARS[text])
        if re.fullmatch(r"\w+", text):
            return self.named(module, text, seen)
        return dict(OPEN)


def package(project: str, npm: Path = NPM) -> Package | None:
    """The unpacked ``@kubernetes-models/<project>`` (see the Makefile's ``judges``), or None."""
    root = npm / project
    return Package(root) if root.is_dir() else None
