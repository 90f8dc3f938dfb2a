"""Tekton's admission webhooks, emulated: what Pipelines v1.15.0 and Triggers v0.37.0 refuse.

A real cluster with Tekton installed sends every create and update of a Tekton object to two
webhooks (``cmd/webhook/main.go`` at both pinned tags), built on knative.dev/pkg:

- the defaulting webhook (``webhook.pipeline.tekton.dev`` / ``webhook.triggers.tekton.dev``)
  decodes the object into the Go type with unknown fields forbidden ("Whether to disallow
  unknown fields. true"); knative's ``webhook/json.Decode`` skips ``metadata`` only. A failure
  is denied as ``mutation failed: cannot decode incoming new object: json: unknown field "x"``
  (knative ``webhook/resourcesemantics/defaulting/defaulting.go``);
- the validating webhook (``validation.webhook.pipeline.tekton.dev`` /
  ``validation.webhook.triggers.tekton.dev``) runs the types' ``Validate`` and denies with
  ``validation failed: <apis.FieldError>`` (knative ``validation_admit.go``), the FieldError
  rendered as knative ``apis/field_error.go`` does: ``message: path, path`` lines, merged by
  message and sorted.

The API server turns a denial into a ``Status`` 400 ``BadRequest`` whose message is
``admission webhook "<name>" denied the request: <message>`` (k8s.io/apiserver
``admission/plugin/webhook/errors/statuserror.go`` ``ToStatusErr``; knative's
``webhook.MakeErrorStatus`` builds the result with ``apierrors.NewBadRequest``).

What is judged:

- ``tekton.dev/v1`` Task, Pipeline, TaskRun, PipelineRun: decoded against the v1 schemas of the
  real CRDs (``sandbox/kube/tekton_v1.json``, derived by ``sandbox/tektontypes.py`` from
  ``config/300-crds`` at v1.15.0, which controller-gen generated from the Go types). Where
  those CRDs preserve unknown fields (embedded ``taskSpec`` / ``pipelineSpec``, param values,
  pod-template volumes, affinity, security context, volume claim templates) the Go type behind
  the node is used: the Task / Pipeline spec schema for embedded specs, the kubernetes client's
  models for Kubernetes types, any JSON for ``ParamValue``. Then the variable rules of
  ``pkg/apis/pipeline/v1/{task,pipeline,pipelinerun,taskrun}_validation.go`` that the platform's
  objects meet (below, each with its function).
- ``triggers.tekton.dev/v1beta1`` EventListener, Trigger, TriggerBinding, ClusterTriggerBinding,
  TriggerTemplate: decoded against the Go types of ``pkg/apis/triggers/v1beta1/*_types.go`` at
  v0.37.0 (their CRDs preserve everything at the root, so the webhook is the only judge), then
  the rules of ``*_validation.go`` there.

Other versions (``tekton.dev/v1beta1``, ``triggers.tekton.dev/v1alpha1``) are not judged here.
The defaulting webhook's patches (defaults written into the object) are not applied; where a
rule depends on a default (a binding ``ref`` without ``kind`` is a ``TriggerBinding``), the
default is assumed.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from sandbox.kube.errors import KubeError

TYPES = Path(__file__).resolve().parent / "tekton_v1.json"
WEBHOOKS = {
    "tekton.dev": ("webhook.pipeline.tekton.dev", "validation.webhook.pipeline.tekton.dev"),
    "triggers.tekton.dev": ("webhook.triggers.tekton.dev", "validation.webhook.triggers.tekton.dev"),
}
ANY: dict[str, Any] = {"p": 1}
STR = {"t": "string"}
STRS = {"t": "array", "a": STR}


def _s(fields: dict[str, Any]) -> dict[str, Any]:
    return {"t": "object", "f": fields}


# triggers.tekton.dev/v1beta1, transcribed from pkg/apis/triggers/v1beta1/*_types.go at v0.37.0
# (json names of every exported field; RawExtension / apiextensionsv1.JSON are any JSON).
_NS_SELECTOR = _s({"matchNames": STRS})
_LABEL_SELECTOR = {"k": "V1LabelSelector"}
_INTERCEPTOR = _s(
    {
        "name": STR,
        "ref": _s({"name": STR, "kind": STR, "apiVersion": STR}),
        "params": {"t": "array", "a": _s({"name": STR, "value": ANY})},
        "webhook": _s(
            {
                "objectRef": {"k": "V1ObjectReference"},
                "url": STR,
                "header": {"t": "array", "a": _s({"name": STR, "value": ANY})},
            }
        ),
    }
)
_BINDING = _s({"name": STR, "value": STR, "ref": STR, "kind": STR, "apiversion": STR})
_TT_SPEC = _s(
    {
        "params": {"t": "array", "a": _s({"name": STR, "description": STR, "default": STR})},
        "resourcetemplates": {"t": "array", "a": ANY},
    }
)
_TEMPLATE = _s({"ref": STR, "apiversion": STR, "spec": _TT_SPEC})
_TRIGGER_FIELDS = {
    "bindings": {"t": "array", "a": _BINDING},
    "template": _TEMPLATE,
    "name": STR,
    "interceptors": {"t": "array", "a": _INTERCEPTOR},
    "serviceAccountName": STR,
}
_EL_SPEC = _s(
    {
        "serviceAccountName": STR,
        "triggers": {"t": "array", "a": _s({**_TRIGGER_FIELDS, "triggerRef": STR})},
        "triggerGroups": {
            "t": "array",
            "a": _s(
                {
                    "name": STR,
                    "interceptors": {"t": "array", "a": _INTERCEPTOR},
                    "triggerSelector": _s({"namespaceSelector": _NS_SELECTOR, "labelSelector": _LABEL_SELECTOR}),
                }
            ),
        },
        "namespaceSelector": _NS_SELECTOR,
        "labelSelector": _LABEL_SELECTOR,
        "resources": _s(
            {
                "kubernetesResource": _s(
                    {
                        "replicas": {"t": "integer"},
                        "serviceType": STR,
                        "servicePort": {"t": "integer"},
                        "serviceLoadBalancerClass": STR,
                        # duckv1.WithPodSpec `json:"spec"`: {template: {metadata, spec: PodSpec}}
                        "spec": _s({"template": _s({"metadata": ANY, "spec": {"k": "V1PodSpec"}})}),
                    }
                ),
                "customResource": ANY,
            }
        ),
        "cloudEventURI": STR,
    }
)
_TB_SPEC = _s({"params": {"t": "array", "a": _s({"name": STR, "value": STR})}})
TRIGGERS_SPECS = {
    "EventListener": _EL_SPEC,
    "Trigger": _s(_TRIGGER_FIELDS),
    "TriggerBinding": _TB_SPEC,
    "ClusterTriggerBinding": _TB_SPEC,
    "TriggerTemplate": _TT_SPEC,
}

# Nodes the real v1 CRDs leave open, by field name: the Go type the webhook decodes them into.
_K8S_OPEN = {
    "affinity": {"k": "V1Affinity"},
    "securityContext": {"k": "V1PodSecurityContext"},
    "volumes": {"t": "array", "a": {"k": "V1Volume"}},
    "volumeClaimTemplate": {"k": "V1PersistentVolumeClaim"},
}


@functools.cache
def _v1() -> dict[str, Any]:
    return json.loads(TYPES.read_text())["kinds"]


def root(group: str, version: str, kind: str) -> dict[str, Any] | None:
    """The decode schema of a whole object, or None when the webhooks do not judge this kind."""
    top = {"apiVersion": STR, "kind": STR, "metadata": ANY}
    if group == "tekton.dev" and version == "v1" and kind in _v1():
        parts = _v1()[kind]
        return _s({**top, "spec": parts["spec"], "status": parts.get("status", ANY)})
    if group == "triggers.tekton.dev" and version == "v1beta1" and kind in TRIGGERS_SPECS:
        return _s({**top, "spec": TRIGGERS_SPECS[kind], "status": ANY})
    return None


def _open_node(key: str) -> dict[str, Any]:
    """The Go type behind a node the CRD preserves: embedded specs, Kubernetes types, or any JSON."""
    if key == "taskSpec":
        # EmbeddedTask: TypeMeta, metadata (PipelineTaskMetadata), spec (RawExtension) + TaskSpec inline
        spec = _v1()["Task"]["spec"]
        return _s({**spec["f"], "apiVersion": STR, "kind": STR, "metadata": ANY, "spec": ANY})
    if key == "pipelineSpec":
        return _v1()["Pipeline"]["spec"]
    return _K8S_OPEN.get(key, ANY)


@functools.cache
def _k8s(model: str) -> dict[str, Any]:
    """A Kubernetes type as a decode schema, from the kubernetes client's model metadata."""
    from kubernetes import client  # noqa: PLC0415 - heavy, imported on first use

    cls = getattr(client.models, model, None)
    if cls is None:
        return ANY
    fields = {cls.attribute_map[attr]: _k8s_type(kind) for attr, kind in cls.openapi_types.items()}
    return _s(fields)


def _k8s_type(kind: str) -> dict[str, Any]:
    if kind.startswith("list["):
        return {"t": "array", "a": _k8s_type(kind[5:-1])}
    if kind.startswith("dict("):
        return {"t": "object", "m": _k8s_type(kind[5:-1].split(",", 1)[1].strip())}
    if kind in {"str", "int", "bool", "float", "datetime", "date", "object"}:
        return ANY
    return {"k": kind}


def decode_error(schema: dict[str, Any], value: Any, key: str = "") -> str | None:  # noqa: PLR0911, PLR0912
    """The first error Go's decoder with DisallowUnknownFields saves, in document order.

    Only unknown fields are reported: scalar type errors in closed nodes are the API server's
    (structural schema, 422), and Go's decoder matches keys case-insensitively as here.
    """
    if "k" in schema:
        schema = _k8s(schema["k"])
    if schema.get("p") and "f" not in schema:
        schema = _open_node(key)
        if schema.get("p") and "f" not in schema and "k" not in schema:
            return None
        return decode_error(schema, value, key)
    if value is None:
        return None
    if isinstance(value, dict) and "f" in schema:
        fields = schema["f"]
        folded = {name.lower() for name in fields}
        for name, item in value.items():
            if name == "metadata" and fields.get("metadata") is ANY:
                continue
            sub = fields.get(name)
            if sub is None and name.lower() in folded:
                sub = next(v for k, v in fields.items() if k.lower() == name.lower())
            if sub is None:
                return f'json: unknown field "{name}"'
            problem = decode_error(sub, item, name)
            if problem:
                return problem
    elif isinstance(value, dict) and "m" in schema:
        for item in value.values():
            problem = decode_error(schema["m"], item, key)
            if problem:
                return problem
    elif isinstance(value, list) and "a" in schema:
        for item in value:
            problem = decode_error(schema["a"], item, key)
            if problem:
                return problem
    return None


# ---------------------------------------------------------------- knative apis.FieldError

Problem = tuple[str, str, str]  # (message, path, details)


def render(problems: list[Problem]) -> str:
    """``apis.FieldError.Error()``: errors merged by message+details, paths sorted, then sorted by message."""
    merged: dict[tuple[str, str], list[str]] = {}
    for message, path, details in problems:
        paths = merged.setdefault((message, details), [])
        if path not in paths:
            paths.append(path)
    lines = []
    for (message, details), paths in sorted(merged.items()):
        line = f"{message}: {', '.join(sorted(paths))}"
        lines.append(f"{line}\n{details}" if details else line)
    return "\n".join(lines)


def _denied(webhook: str, message: str) -> KubeError:
    return KubeError(400, f'admission webhook "{webhook}" denied the request: {message}', "BadRequest")


# ---------------------------------------------------------------- variable references

# pkg/substitution/substitution.go: braceMatchingRegex with parameterSubstitution `.*?(\[\*\])?`
_SUB = r".*?(\[\*\])?"


def _brace(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"(\$(\({prefix}(\.(?P<var1>{_SUB})|\[\"(?P<var2>{_SUB})\"\]|\['(?P<var3>{_SUB})'\])\)))")


_ARRAY_INDEX = re.compile(r"\[([0-9])*\*?\]")


def unknown_variable(value: str, prefix: str, names: set[str]) -> str | None:
    """``ValidateNoReferencesToUnknownVariables``: the message for the first undeclared name, if any."""
    if not isinstance(value, str):
        return None
    for match in _brace(prefix).finditer(value):
        var1 = match.group("var1")
        if var1 is not None and "." in var1:
            if len(var1.split(".")) > 2:
                return (
                    f'Invalid referencing of parameters in "{value}"! Only two dot-separated components after '
                    f'the prefix "{prefix}" are allowed.'
                )
            name = var1.split(".", 1)[0]
        else:
            name = var1 or match.group("var2") or match.group("var3") or ""
        if _ARRAY_INDEX.sub("", name) not in names:
            return f"non-existent variable in {json.dumps(value)}"
    return None


def _names(items: Any) -> set[str]:
    return {item.get("name", "") for item in items or [] if isinstance(item, dict)}


def _step_values(step: dict[str, Any]) -> list[tuple[str, Any]]:
    """The step fields ``validateStepVariables`` checks, with their FieldError paths."""
    out: list[tuple[str, Any]] = [
        ("name", step.get("name")),
        ("image", step.get("image")),
        ("workingDir", step.get("workingDir")),
        ("script", step.get("script")),
    ]
    out += [(f"command[{i}]", v) for i, v in enumerate(step.get("command") or [])]
    out += [(f"args[{i}]", v) for i, v in enumerate(step.get("args") or [])]
    out += [(f"env[{e.get('name', '')}]", e.get("value")) for e in step.get("env") or [] if isinstance(e, dict)]
    for i, mount in enumerate(step.get("volumeMounts") or []):
        out += [
            (f"volumeMount[{i}].name", mount.get("name")),
            (f"volumeMount[{i}].MountPath", mount.get("mountPath")),
            (f"volumeMount[{i}].SubPath", mount.get("subPath")),
        ]
    out.append(("onError", step.get("onError")))
    return out


def _steps_variables(steps: Any, prefix: str, names: set[str], path: str) -> list[Problem]:
    found = []
    for idx, step in enumerate(steps or []):
        if not isinstance(step, dict):
            continue
        for field, value in _step_values(step):
            message = unknown_variable(value, prefix, names)
            if message:
                found.append((message, f"{path}steps[{idx}].{field}", ""))
    return found


def task_spec(spec: dict[str, Any], path: str) -> list[Problem]:
    """``TaskSpec.Validate`` (task_validation.go): steps, workspaces, param types, context and results variables."""
    found: list[Problem] = []
    if not spec.get("steps"):
        found.append(("missing field(s)", f"{path}steps", ""))
    seen: set[str] = set()
    for idx, ws in enumerate(spec.get("workspaces") or []):
        name = ws.get("name", "")
        if name in seen:
            found.append((f"workspace name {json.dumps(name)} must be unique", f"{path}workspaces[{idx}].name", ""))
        seen.add(name)
    for param in spec.get("params") or []:
        kind = param.get("type")
        if kind not in (None, "", "string", "array", "object"):
            found.append((f"invalid value: {kind}", f"{path}params.{param.get('name', '')}.type", ""))
    steps = spec.get("steps")
    found += _steps_variables(steps, r"context\.taskRun", {"name", "namespace", "uid"}, path)
    found += _steps_variables(steps, r"context\.task", {"name", "retry-count"}, path)
    results = _names(spec.get("results"))
    for idx, step in enumerate(steps or []):
        message = unknown_variable(step.get("script"), "results", results) if isinstance(step, dict) else None
        if message:
            found.append((message, f"{path}steps[{idx}].script", ""))
    return found


def declared_params(steps: Any, params: Any, path: str) -> list[Problem]:
    """``ValidateUsageOfDeclaredParameters``: every ``$(params.x)`` in the steps is declared."""
    return _steps_variables(steps, "params", _names(params), path)


_VAR_SUB = re.compile(r"\$\([_a-zA-Z0-9.-]+(\.[_a-zA-Z0-9.-]+)*(\[([0-9]+|\*)\])?\)")
_PREFIXES = {"params", "tasks", "finally", "context", "workspaces", "results"}


def _expressions(value: Any) -> list[str]:
    """``validateString``: every ``$(…)`` expression in a param value (string, array items, object values)."""
    if isinstance(value, list):
        return [e for item in value for e in _expressions(item)]
    if isinstance(value, dict):
        return [e for item in value.values() for e in _expressions(item)]
    if not isinstance(value, str):
        return []
    return [m.group(0)[2:-1] for m in _VAR_SUB.finditer(value)]


def _result_task(expression: str) -> str | None:
    """``resultref.ParseTaskExpression``: the pipeline task of ``tasks.<t>.results.<r>``."""
    parts = expression.split(".")
    if len(parts) >= 4 and parts[0] in {"tasks", "finally"} and parts[2] == "results":
        return parts[1]
    return None


_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def pipeline_spec(spec: dict[str, Any], path: str) -> list[Problem]:  # noqa: PLR0912 - one block per upstream rule
    """``PipelineSpec.Validate`` (pipeline_validation.go): tasks, graph, workspaces, results, prefixes."""
    found: list[Problem] = []
    tasks = [t for t in spec.get("tasks") or [] if isinstance(t, dict)]
    final = [t for t in spec.get("finally") or [] if isinstance(t, dict)]
    names: set[str] = set()
    for section, items in (("tasks", tasks), ("finally", final)):
        for idx, task in enumerate(items):
            name = task.get("name", "")
            at = f"{path}{section}[{idx}]"
            if len(name) > 63 or not _DNS_LABEL.match(name):
                found.append(
                    (
                        f"invalid value {json.dumps(name)}",
                        f"{at}.name",
                        "Pipeline Task name must be a valid DNS Label."
                        "For more info refer to https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names",
                    )
                )
            if name in names:
                found.append(("expected exactly one, got both", f"{at}.name", ""))
            names.add(name)
            refs = [k for k in ("taskRef", "taskSpec", "pipelineRef", "pipelineSpec") if task.get(k) is not None]
            if len(refs) > 1:
                found += [("expected exactly one, got multiple", f"{at}.{k}", "") for k in refs]
            elif not refs:
                found += [("expected exactly one, got neither", f"{at}.{k}", "") for k in ("taskRef", "taskSpec")]
            if isinstance(task.get("taskSpec"), dict):
                found += task_spec(task["taskSpec"], f"{at}.taskSpec.")
    # validateGraph: runAfter and result references name pipeline tasks (dag.Build/addLink)
    task_names = _names(tasks)
    for task in tasks:
        deps: list[str] = []
        for param in task.get("params") or []:
            deps += [t for e in _expressions(param.get("value")) if (t := _result_task(e))]
        for when in task.get("when") or []:
            values = [when.get("input"), *(when.get("values") or [])]
            deps += [t for e in _expressions(values) if (t := _result_task(e))]
        deps += list(task.get("runAfter") or [])
        for dep in sorted(set(deps)):
            if dep not in task_names:
                name = task.get("name", "")
                message = (
                    f"invalid value: couldn't add link between {name} and {dep}: "
                    f"task {name} depends on {dep} but {dep} wasn't present in Pipeline"
                )
                found.append((message, f"{path}tasks", ""))
                break
    # validatePipelineWorkspacesDeclarations
    seen: set[str] = set()
    for idx, ws in enumerate(spec.get("workspaces") or []):
        name = ws.get("name", "")
        if not name:
            found.append((f"invalid value: workspace {idx} has empty name", f"{path}workspaces[{idx}].name", ""))
        elif name in seen:
            found.append(
                (
                    f"invalid value: workspace with name {json.dumps(name)} appears more than once",
                    f"{path}workspaces[{idx}]",
                    "",
                )
            )
        seen.add(name)
    # validatePipelineResults: result values reference existing tasks
    all_names = task_names | _names(final)
    for idx, result in enumerate(spec.get("results") or []):
        refs = [_result_task(e) for e in _expressions(result.get("value"))]
        if any(ref is not None and ref not in all_names for ref in refs):
            found.append(("invalid value: referencing a nonexistent task", f"{path}results[{idx}].value", ""))
    # validateVarSubstitutionExpressions: every $(…) in task params starts with a known prefix
    for section, items in (("tasks", tasks), ("finally", final)):
        for idx, task in enumerate(items):
            for param in task.get("params") or []:
                for expression in _expressions(param.get("value")):
                    if expression.split(".", 1)[0] not in _PREFIXES:
                        found.append(
                            (
                                f'invalid value: invalid variable reference "$({expression})", must start with a valid '
                                "prefix: params, tasks, finally, context, workspaces, or results; if you meant a "
                                "shell variable, use ${VAR} instead",
                                f"{path}{section}[{idx}].params[{param.get('name', '')}].value",
                                "",
                            )
                        )
    return found


def pipeline_usage(spec: dict[str, Any], path: str) -> list[Problem]:  # noqa: PLR0912
    """``validatePipelineParameterUsage`` and ``validatePipelineWorkspacesUsage`` (a Pipeline, not an inline spec)."""
    found: list[Problem] = []
    params = _names(spec.get("params"))
    workspaces = _names(spec.get("workspaces"))
    for section in ("tasks", "finally"):
        for idx, task in enumerate(spec.get(section) or []):
            if not isinstance(task, dict):
                continue
            at = f"{path}{section}[{idx}]"
            inline = task.get("taskSpec")
            if isinstance(inline, dict):
                declared = [*(inline.get("params") or []), *(spec.get("params") or [])]
                found += declared_params(inline.get("steps"), declared, f"{at}.")
            for param in task.get("params") or []:
                value = param.get("value")
                items = (
                    value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
                )
                for item in items:
                    message = unknown_variable(item, "params", params)
                    if message:
                        found.append((message, f"{at}.params[{param.get('name', '')}]", ""))
            for w, when in enumerate(task.get("when") or []):
                for field, values in (("input", [when.get("input")]), ("values", when.get("values") or [])):
                    for value in values:
                        message = unknown_variable(value, "params", params)
                        if message:
                            found.append((message, f"{at}.when[{w}].{field}", ""))
            for w, binding in enumerate(task.get("workspaces") or []):
                wanted = binding.get("workspace") or binding.get("name", "")
                if wanted not in workspaces:
                    found.append(
                        (
                            f"invalid value: pipeline task {json.dumps(task.get('name', ''))} expects workspace with "
                            f"name {json.dumps(wanted)} but none exists in pipeline spec",
                            f"{at}.workspaces[{w}]",
                            "",
                        )
                    )
    return found


def _one_of(spec: dict[str, Any], ref: str, inline: str, path: str) -> list[Problem]:
    has = [k for k in (ref, inline) if spec.get(k) is not None]
    if not has:
        return [
            ("expected exactly one, got neither", f"{path}{ref}", ""),
            ("expected exactly one, got neither", f"{path}{inline}", ""),
        ]
    if len(has) == 2:
        return [
            ("expected exactly one, got both", f"{path}{ref}", ""),
            ("expected exactly one, got both", f"{path}{inline}", ""),
        ]
    return []


def _run_workspaces(spec: dict[str, Any]) -> list[Problem]:
    found, seen = [], {}
    for idx, ws in enumerate(spec.get("workspaces") or []):
        name = ws.get("name", "")
        if name in seen:
            found.append(
                (
                    f"workspace {json.dumps(name)} provided by pipelinerun more than once, "
                    f"at index {seen[name]} and {idx}",
                    f"spec.workspaces[{idx}].name",
                    "",
                )
            )
        seen[name] = idx
    return found


def validate_pipeline_kind(kind: str, spec: dict[str, Any]) -> list[Problem]:
    if kind == "Task":
        return task_spec(spec, "spec.") + declared_params(spec.get("steps"), spec.get("params"), "spec.")
    if kind == "Pipeline":
        if not spec:
            return [
                ("expected at least one, got none", f"spec.{k}", "")
                for k in ("description", "params", "resources", "tasks", "workspaces")
            ]
        return pipeline_spec(spec, "spec.") + pipeline_usage(spec, "spec.")
    if kind == "PipelineRun":
        found = _one_of(spec, "pipelineRef", "pipelineSpec", "spec.")
        if isinstance(spec.get("pipelineSpec"), dict):
            found += pipeline_spec(spec["pipelineSpec"], "spec.pipelineSpec.")
        return found + _run_workspaces(spec)
    if kind == "TaskRun":
        found = _one_of(spec, "taskRef", "taskSpec", "spec.")
        if isinstance(spec.get("taskSpec"), dict):
            found += task_spec(spec["taskSpec"], "spec.taskSpec.")
        return found
    return []


# ---------------------------------------------------------------- triggers v1beta1 validation

_TT_PARAM = re.compile(r"\$\(tt.params.(?P<var>[_a-zA-Z][_a-zA-Z0-9.-]*)\)")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def template_spec(spec: dict[str, Any], path: str) -> list[Problem]:
    """``TriggerTemplateSpec.validate`` (trigger_template_validation.go)."""
    found: list[Problem] = []
    if not spec:
        found.append(("missing field(s)", path.rstrip("."), ""))
    templates = spec.get("resourcetemplates") or []
    if not templates:
        found.append(("missing field(s)", f"{path}resourcetemplates", ""))
    for i, item in enumerate(templates):
        if not isinstance(item, dict) or not item.get("kind"):
            found.append(("missing field(s)", f"{path}resourcetemplates[{i}].kind", ""))
        if not isinstance(item, dict) or not item.get("apiVersion"):
            found.append(("missing field(s)", f"{path}resourcetemplates[{i}].apiVersion", ""))
    declared = _names(spec.get("params"))
    for i, item in enumerate(templates):
        for match in _TT_PARAM.finditer(json.dumps(item)):
            name = match.group("var")
            if name not in declared:
                return [
                    *found,
                    (
                        f"invalid value: undeclared param '$(tt.params.{name})'",
                        f"{path}resourcetemplates[{i}]",
                        f"'$(tt.params.{name})' must be declared in spec.params",
                    ),
                ]
    return found


def _bindings(bindings: Any, path: str) -> list[Problem]:
    found: list[Problem] = []
    for i, item in enumerate(bindings or []):
        b = item or {}
        if b.get("ref"):
            if b.get("name"):
                found += [("expected exactly one, got both", f"{path}bindings[{i}].{k}", "") for k in ("ref", "name")]
            elif (b.get("kind") or "TriggerBinding") not in {"TriggerBinding", "ClusterTriggerBinding"}:
                found.append(("invalid value: invalid kind", f"{path}bindings[{i}].kind", ""))
        elif b.get("name"):
            if b.get("value") is None:
                found.append(("missing field(s)", f"{path}bindings[{i}].value", ""))
        else:
            found += [
                ("expected exactly one, got neither", f"{path}bindings[{i}].{k}", "") for k in ("ref", "spec", "name")
            ]
    return found


def _template(template: dict[str, Any], path: str) -> list[Problem]:
    found: list[Problem] = []
    version = template.get("apiversion")
    if version and version not in {"v1alpha1", "v1beta1"}:
        found.append(("invalid value: invalid apiVersion", f"{path}template.apiVersion", ""))
    spec, ref = template.get("spec"), template.get("ref")
    if spec is not None and ref is not None:
        found += [("expected exactly one, got both", f"{path}template.{k}", "") for k in ("spec", "ref")]
    elif spec is None and ref is None:
        found += [("expected exactly one, got neither", f"{path}template.{k}", "") for k in ("spec", "ref")]
    elif spec is not None:
        found += template_spec(spec, path)
    elif not ref:
        found.append(("missing field(s)", f"{path}template.ref", ""))
    return found


def _interceptors(interceptors: Any, path: str) -> list[Problem]:
    found: list[Problem] = []
    for i, item in enumerate(interceptors or []):
        if item is None:
            return [
                *found,
                (f"invalid value: interceptor '{item}' must be a valid value", f"{path}interceptors[{i}]", ""),
            ]
        if item.get("webhook") is None and not (item.get("ref") or {}).get("name"):
            found.append(("missing field(s)", f"{path}interceptors[{i}].interceptor", ""))
    return found


def validate_triggers_kind(kind: str, obj: dict[str, Any]) -> list[Problem]:  # noqa: PLR0911, PLR0912 - one branch per kind
    spec = obj.get("spec") or {}
    if kind == "TriggerTemplate":
        return template_spec(spec, "spec.")
    if kind in {"TriggerBinding", "ClusterTriggerBinding"}:
        if not spec:
            return [("missing field(s)", "spec", "")]
        seen: set[str] = set()
        for i, param in enumerate(spec.get("params") or []):
            if param.get("name") in seen:
                return [("expected exactly one, got both", f"spec.params[{i}].name", "")]
            seen.add(param.get("name"))
            value = param.get("value") or ""
            if "$(" in value and not _balanced(value):
                return [(f"invalid value: {value}", f"spec.params[{i}].value", "")]
        return []
    if kind == "Trigger":
        return (
            _bindings(spec.get("bindings"), "spec.")
            + _template(spec.get("template") or {}, "spec.")
            + _interceptors(spec.get("interceptors"), "spec.")
        )
    if kind == "EventListener":
        found: list[Problem] = []
        name = (obj.get("metadata") or {}).get("name", "")
        if len(name) > 60:
            found.append(
                (
                    f"invalid value: eventListener name '{name}' must be no more than 60 characters long",
                    "metadata.name",
                    "",
                )
            )
        if not (spec.get("labelSelector") or (spec.get("namespaceSelector") or {}).get("matchNames")) and not (
            spec.get("triggerGroups") or spec.get("triggers")
        ):
            keys = ("spec.labelSelector", "spec.namespaceSelector", "spec.triggerGroups", "spec.triggers")
            return [*found, *(("expected exactly one, got neither", k, "") for k in keys)]
        for i, trigger in enumerate(spec.get("triggers") or []):
            at = f"spec.triggers[{i}]."
            has_template = trigger.get("template") is not None
            if not has_template and not trigger.get("triggerRef"):
                found += [("expected exactly one, got neither", f"{at}{k}", "") for k in ("template", "triggerRef")]
            if trigger.get("triggerRef") and (
                has_template or trigger.get("bindings") is not None or trigger.get("interceptors") is not None
            ):
                found += [
                    ("expected exactly one, got both", f"{at}{k}", "")
                    for k in ("triggerRef", "template or bindings or interceptors")
                ]
            found += _bindings(trigger.get("bindings"), at)
            if has_template:
                found += _template(trigger["template"], at)
            found += _interceptors(trigger.get("interceptors"), at)
            trigger_name = trigger.get("name") or ""
            if len(trigger_name) > 63 or not _LABEL_VALUE.match(trigger_name):
                found.append(
                    (f"invalid value: trigger name '{trigger_name}' must be a valid label value", f"{at}name", "")
                )
        return found
    return []


def _balanced(value: str) -> bool:
    """``validateParamValue`` (trigger_binding_validation.go): every ``$(`` is closed."""
    for part in value.split("$(")[1:]:
        depth = 0
        for ch in part:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    break
        else:
            return False
    return True


# ---------------------------------------------------------------- the hook


def admit(group: str, version: str, kind: str, obj: dict[str, Any]) -> None:
    """Raise the webhooks' denial (400) for a create or update of ``obj``; do nothing for other kinds."""
    if group not in WEBHOOKS:
        return
    schema = root(group, version, kind)
    if schema is None:
        return
    mutating, validating = WEBHOOKS[group]
    problem = decode_error(schema, obj)
    if problem:
        raise _denied(mutating, f"mutation failed: cannot decode incoming new object: {problem}")
    if group == "tekton.dev":
        found = validate_pipeline_kind(kind, obj.get("spec") or {})
    else:
        found = validate_triggers_kind(kind, obj)
    if found:
        raise _denied(validating, f"validation failed: {render(found)}")
