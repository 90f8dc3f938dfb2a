"""CRD schemas rebuilt from the cloudcoil model packages (PyPI), which are generated from the real CRDs.

``cloudcoil-models-<project>`` wheels hold one pydantic model per object of each CRD's
``openAPIV3Schema`` (cloudcoil-model-codegen): a class per object node, an annotated attribute per
property (``Field(alias=…)`` carries the JSON name), no default for a required property,
``Literal[…]`` for an enum, ``int | str`` for int-or-string, ``Any`` / ``extra="allow"`` where
the CRD preserves unknown fields. The wheels need Python ≥ 3.14, so they are not installed: ``make
setup`` downloads them (``pip download --no-deps``) and unpacks them under
``.cache/judges/pypi/``, and this module reads their source with ``ast`` (nothing is imported or
run) to give each custom resource its schema back: properties, required, types, enums,
int-or-string, and closed exactly where the real CRD is closed. Descriptions, patterns and
ranges are not carried (the emulator does not check them).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

from sandbox.judges import judges_dir

PYPI = judges_dir() / "pypi"
# project -> (wheel distribution, model package): versions are pinned in the Makefile (JUDGES_PYPI)
PACKAGES = {
    "cert-manager": "cloudcoil/models/cert_manager",
    "prometheus-operator": "cloudcoil/models/prometheus_operator",
    "sealed-secrets": "cloudcoil/models/sealed_secrets",
    "kyverno": "cloudcoil/models/kyverno",
}
# cloudcoil-models-kyverno runs on Python >= 3.10: requirements-dev.txt installs it (the tests judge the
# ClusterPolicies with its models), so its source is read where it is installed, not under PYPI.
INSTALLED = {"kyverno": "cloudcoil.models.kyverno"}
OPEN: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
SCALARS = {
    "str": {"type": "string"},
    "Base64Str": {"type": "string", "format": "byte"},
    "AwareDatetime": {"type": "string", "format": "date-time"},
    "datetime": {"type": "string", "format": "date-time"},  # cloudcoil-models-kyverno's metav1.Time
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
}


class Models:
    """Every model class of one package: name -> (fields, open), fields name -> (json name, annotation, required)."""

    def __init__(self, package_dir: Path) -> None:
        # one namespace per module: v1.py and v1alpha1.py reuse class names for different nodes
        self.modules: list[dict[str, ast.ClassDef]] = []
        for path in sorted(package_dir.rglob("*.py")):
            tree = ast.parse(path.read_text())
            self.modules.append({node.name: node for node in tree.body if isinstance(node, ast.ClassDef)})
        self.classes: dict[str, ast.ClassDef] = {}

    def resource(self, api_version: str, kind: str) -> dict[str, Any] | None:
        """The openAPIV3Schema of ``kind`` at ``api_version``, or None when the package has no such resource."""
        for module in self.modules:
            self.classes = module
            for cls in module.values():
                if not any(isinstance(b, ast.Name) and b.id == "Resource" for b in cls.bases):
                    continue
                fields = _fields(cls)
                if _literal(fields.get("api_version")) != api_version or _literal(fields.get("kind")) != kind:
                    continue
                schema = self.schema_of(cls.name, set())
                schema["properties"].update(
                    {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
                )
                required = [r for r in schema.pop("required", []) if r not in {"apiVersion", "kind", "metadata"}]
                if required:
                    schema["required"] = required
                return schema
        return None

    def _root_type(self, node: ast.expr) -> ast.expr:
        """``class Limits(RootModel[int])`` stands for ``int``."""
        node = _strip_annotated(node)
        name = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        name = node.id if isinstance(node, ast.Name) else name
        cls = self.classes.get(name or "")
        if cls is not None:
            for base in cls.bases:
                if (
                    isinstance(base, ast.Subscript)
                    and isinstance(base.value, ast.Name)
                    and base.value.id == "RootModel"
                ):
                    return self._root_type(base.slice)
        return node

    def schema_of(self, name: str, seen: set[str]) -> dict[str, Any]:
        if name == "ObjectMeta":
            return {"type": "object"}
        cls = self.classes.get(name)
        if cls is None or name in seen:
            return dict(OPEN)
        seen = seen | {name}
        props: dict[str, Any] = {}
        required: list[str] = []
        for attr, (annotation, has_default) in _fields(cls).items():
            json_name, inner = _alias(annotation, attr)
            props[json_name] = self.annotation(inner, seen)
            if not has_default:
                required.append(json_name)
        out: dict[str, Any] = {"type": "object", "properties": props}
        if required:
            out["required"] = required
        if _extra_allowed(cls):
            out["x-kubernetes-preserve-unknown-fields"] = True
        return out

    def annotation(self, node: ast.expr, seen: set[str]) -> dict[str, Any]:  # noqa: PLR0911 - one per form
        node = _builtin_form(self._root_type(node))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            members = [m for m in _union(node) if not (isinstance(m, ast.Constant) and m.value is None)]
            names = {ast.unparse(self._root_type(m)) for m in members}
            if names == {"int", "str"}:
                return {"x-kubernetes-int-or-string": True}
            if len(members) == 1:  # optional, not nullable: the CRDs mark no field nullable here
                return self.annotation(members[0], seen)
            return _one_of_objects([self.annotation(m, seen) for m in members])
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return self.schema_of(node.value, seen)
        if isinstance(node, ast.Name):
            if node.id in SCALARS:
                return dict(SCALARS[node.id])
            if node.id == "Any":
                return dict(OPEN)
            return self.schema_of(node.id, seen)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if node.value.id == "list":
                return {"type": "array", "items": self.annotation(args[0], seen)}
            if node.value.id == "dict":
                value = self.annotation(args[1], seen)
                if value == OPEN:
                    return {"type": "object", **OPEN}
                return {"type": "object", "additionalProperties": value}
            if node.value.id == "Literal":
                values = [a.value for a in args if isinstance(a, ast.Constant)]
                kind = {str: "string", int: "integer", bool: "boolean"}.get(type(values[0]), "string")
                return {"type": kind, "enum": values}
        return dict(OPEN)


def _one_of_objects(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """A union of object models is how the generator spells a CRD object whose ``oneOf`` picks one of
    its properties (Kyverno's ContextEntry: apiCall, configMap, globalReference, imageRegistry or
    variable): the structural schema Kubernetes keeps is that one object with every member's
    properties, required only what all members require. Anything else stays open."""
    if not all(sch.get("type") == "object" and "properties" in sch for sch in schemas):
        return dict(OPEN)
    props: dict[str, Any] = {}
    for sch in schemas:
        props.update(sch["properties"])
    required = set.intersection(*(set(sch.get("required", [])) for sch in schemas))
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = sorted(required)
    if any(sch.get("x-kubernetes-preserve-unknown-fields") for sch in schemas):
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _builtin_form(node: ast.expr) -> ast.expr:
    """typing's spellings (cloudcoil-models-kyverno) as the builtin ones the other packages use:
    ``Optional[X]`` is ``X | None``, ``Union[A, B]`` ``A | B``, ``List`` ``list``, ``Dict`` ``dict``."""
    if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)):
        return node
    args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    name = node.value.id
    if name == "Optional":
        return ast.BinOp(left=args[0], op=ast.BitOr(), right=ast.Constant(value=None))
    if name == "Union":
        union = args[0]
        for arg in args[1:]:
            union = ast.BinOp(left=union, op=ast.BitOr(), right=arg)
        return union
    if name in {"List", "Dict"}:
        return ast.Subscript(value=ast.Name(id=name.lower(), ctx=ast.Load()), slice=node.slice, ctx=ast.Load())
    return node


def _fields(cls: ast.ClassDef) -> dict[str, tuple[ast.expr, bool]]:
    out = {}
    for node in cls.body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        if ast.unparse(node.annotation).startswith("ClassVar"):
            continue
        out[node.target.id] = (node.annotation, node.value is not None and not _field_without_default(node.value))
    return out


def _field_without_default(value: ast.expr) -> bool:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "Field":
        has = value.args or any(k.arg in {"default", "default_factory"} for k in value.keywords)
        return not has
    return False


def _literal(field: tuple[ast.expr, bool] | None) -> str | None:
    if field is None:
        return None
    node = _strip_annotated(field[0])
    # cloudcoil-models-kyverno writes Optional[Literal[...]]
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Optional":
        node = node.slice
    literal = isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal"
    if literal and isinstance(node.slice, ast.Constant):
        return node.slice.value
    return None


def _alias(annotation: ast.expr, attr: str) -> tuple[str, ast.expr]:
    if (
        isinstance(annotation, ast.Subscript)
        and isinstance(annotation.value, ast.Name)
        and annotation.value.id == "Annotated"
        and isinstance(annotation.slice, ast.Tuple)
    ):
        inner, *meta = annotation.slice.elts
        for item in meta:
            for keyword in item.keywords if isinstance(item, ast.Call) else []:
                if keyword.arg == "alias" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value, inner
        return attr, inner
    return attr, annotation


def _strip_annotated(node: ast.expr) -> ast.expr:
    while (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Annotated"
        and isinstance(node.slice, ast.Tuple)
    ):
        node = node.slice.elts[0]
    return node


def _union(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union(node.left) + _union(node.right)
    return [node]


def _extra_allowed(cls: ast.ClassDef) -> bool:
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "model_config" for t in node.targets):
            return 'extra="allow"' in ast.unparse(node.value).replace("'", '"')
    return False


def models(project: str, pypi: Path = PYPI) -> Models | None:
    """The unpacked package of ``project`` under ``pypi`` (see the Makefile's ``judges``), or None.

    An installed package (``INSTALLED``) is located with ``importlib.util.find_spec`` and read the same
    way (its parent packages are imported to locate it; its own modules are not).
    """
    package_dir = pypi / PACKAGES[project]
    if project in INSTALLED:
        parent, _, leaf = INSTALLED[project].rpartition(".")
        spec = importlib.util.find_spec(parent)
        locations = list(spec.submodule_search_locations or []) if spec else []
        package_dir = next((Path(p) / leaf for p in locations if (Path(p) / leaf).is_dir()), package_dir)
    return Models(package_dir) if package_dir.is_dir() else None
