"""An emulation of Argo CD's ApplicationSet controller (argoproj/argo-cd v3.4.4, ``applicationset/``).

It acts while the ApplicationSet and Application CRDs exist in a virtual cluster, on the ApplicationSets
of Argo CD's control-plane namespace (``argocd.control_plane_namespace``) and of the namespaces listed in
``applicationsetcontroller.namespaces`` of its ``argocd-cmd-params-cm``. Each controller round (every
write to the cluster, so within the request that changed an ApplicationSet or a cluster Secret) it does
what ``ApplicationSetReconciler.Reconcile`` does (``controllers/applicationset_controller.go``):

* generators (``generators/*.go``): ``clusters`` — the Secrets labelled
  ``argocd.argoproj.io/secret-type=cluster`` in the control-plane namespace matching ``selector``
  (``matchLabels``/``matchExpressions``), params ``name``, ``nameNormalized``, ``server``, ``project``,
  ``metadata.labels``/``metadata.annotations`` (a nested map with ``goTemplate``, flat
  ``metadata.labels.<k>`` keys without), ``values`` (rendered against the cluster's params), ``flatList``;
  plus the local cluster ``in-cluster``/``https://kubernetes.default.svc`` last when no selector is set
  and no Secret has that server. ``list`` — ``elements`` (numbers are Go's ``float64``) and
  ``elementsYaml``. A generator's own ``template`` is merged under ``spec.template`` (mergo), its
  post-``selector`` filters the flattened params. Any other generator (git, matrix, merge, scmProvider,
  pullRequest, clusterDecisionResource, plugin) is not emulated: the ApplicationSet gets the error
  condition a failing generator gets (``ApplicationGenerationFromParamsError``) saying so.
* rendering (``utils/utils.go`` ``RenderTemplateParams``): every string of the template (and every map
  key) through ``gotemplate.replace`` — Go ``text/template`` + sprig with ``goTemplate: true`` and
  ``goTemplateOptions``, fasttemplate ``{{param}}`` substitution otherwise (see ``gotemplate.py`` for
  the supported subset; anything else is an error, never a different rendering). The
  ``resources-finalizer.argocd.argoproj.io`` finalizer is added unless the template has finalizers or
  ``syncPolicy.preserveResourcesOnDeletion`` is set. ``templatePatch`` is rendered, read as YAML/JSON
  and merged onto the Application (``controllers/template/patch.go``; Application has no list merge
  keys, so lists are replaced; ``$patch`` directives are refused), ``spec.project`` kept.
* validation (``validateGeneratedApplications``): duplicate names, the project must exist (``default``
  always does, as in ``argocd.py``), the destination must be a known cluster (``util/argo``
  ``GetDestinationCluster``: a cluster Secret's server or name, or the in-cluster unless
  ``cluster.inClusterEnabled: "false"`` in ``argocd-cm``).
* writes through the cluster's normal create/update/delete path (schema-judged like a client's), as
  field manager ``argocd-applicationset-controller``: owner reference to the ApplicationSet
  (controller, blockOwnerDeletion), preserved annotations/labels/finalizers as upstream, the
  ``applicationsSync`` policy (``create-only``, ``create-update``, ``create-delete``, ``sync``;
  ``applicationsetcontroller.policy`` / ``.enable.policy.override`` of argocd-cmd-params-cm as the flags);
  Applications no longer generated are deleted (their resources finalizer dropped first when their
  destination is gone). Deleting the ApplicationSet deletes its Applications by garbage collection.
* status: conditions ``ErrorOccurred``, ``ParametersGenerated``, ``ResourcesUpToDate`` with upstream's
  reasons and messages (``SetConditions`` keeps an unchanged condition's ``lastTransitionTime``), and
  ``resources``/``resourcesCount`` from the owned Applications' sync and health. ``status.health``
  (v3.4) is not written: the served CRD's schema (from the registry package) has no such field.

Nothing is written when nothing changes, so an idle cluster emits no watch events.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from fnmatch import fnmatchcase
from typing import Any

import yaml

from sandbox.kube import gotemplate
from sandbox.kube.argocd import APPS, PARAMS_CM, PROJECTS, control_plane_namespace
from sandbox.kube.cluster import Cluster, Op, now
from sandbox.kube.errors import KubeError
from sandbox.kube.gotemplate import StrMap, TemplateError

APPSETS = "argoproj.io/applicationsets"
MANAGER = "argocd-applicationset-controller"
SECRET_TYPE = "argocd.argoproj.io/secret-type"  # noqa: S105 - a label key
IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
PRESERVED_FINALIZERS = ("pre-delete-finalizer.argocd.argoproj.io", "post-delete-finalizer.argocd.argoproj.io")
PRESERVED_ANNOTATIONS = (
    "notified.notifications.argoproj.io",
    "argocd.argoproj.io/refresh",
    "argocd.argoproj.io/hydrate",
)
GENERATORS = (
    "list",
    "clusters",
    "git",
    "scmProvider",
    "clusterDecisionResource",
    "pullRequest",
    "plugin",
    "matrix",
    "merge",
)
POLICIES = {"create-only", "create-update", "create-delete", "sync"}
UP_TO_DATE = "All applications have been generated successfully"
PARAMS_OK = "Successfully generated parameters for all Applications"


class GenerationError(Exception):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


# ---------------------------------------------------------------------------------------------- loop


def applicationsets(cluster: Cluster) -> None:
    """Reconcile every ApplicationSet of ``cluster`` (no-op while the CRDs are absent)."""
    if APPSETS not in cluster.by_gr or APPS not in cluster.by_gr or not cluster.bucket(APPSETS):
        return
    control = control_plane_namespace(cluster)
    params = _params_cm(cluster, control)
    namespaces = [n.strip() for n in params.get("applicationsetcontroller.namespaces", "").split(",") if n.strip()]
    for appset in list(cluster.objects(APPSETS)):
        namespace = appset["metadata"]["namespace"]
        if namespace != control and not any(_ns_match(p, namespace) for p in namespaces):
            continue
        if appset["metadata"].get("deletionTimestamp"):
            _finalize(cluster, appset, params)
            continue
        Reconciler(cluster, appset, control, params).run()


def _ns_match(pattern: str, namespace: str) -> bool:
    """``glob.MatchStringInList(..., glob.REGEXP)``: ``/re/`` is a regular expression, anything else a glob."""
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], namespace) is not None
    return fnmatchcase(namespace, pattern)


def _params_cm(cluster: Cluster, control: str) -> dict[str, str]:
    cm = cluster.lookup("/configmaps", control, PARAMS_CM) or {}
    return {str(k): str(v) for k, v in (cm.get("data") or {}).items()}


def _policy(appset: dict[str, Any], params: dict[str, str]) -> str:
    """``utils.DefaultPolicy`` with the controller's ``--policy`` and ``--enable-policy-override`` flags."""
    flag = params.get("applicationsetcontroller.policy", "")
    override = params.get("applicationsetcontroller.enable.policy.override", "true" if flag == "" else "false")
    wanted = ((appset.get("spec") or {}).get("syncPolicy") or {}).get("applicationsSync")
    if wanted and override.lower() == "true":
        return str(wanted)
    return flag or "sync"


def _owned_by(app: dict[str, Any], name: str) -> bool:
    """``appControllerIndexer``: the controller owner reference is an ApplicationSet named ``name``."""
    for ref in app["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("apiVersion") == "argoproj.io/v1alpha1":
            return ref.get("kind") == "ApplicationSet" and ref.get("name") == name
    return False


def _finalize(cluster: Cluster, appset: dict[str, Any], params: dict[str, str]) -> None:
    """A deleting ApplicationSet (it had finalizers): orphan its Applications when the policy forbids
    deleting them, then drop the resources finalizer."""
    meta = appset["metadata"]
    if _policy(appset, params) not in {"sync", "create-delete"}:
        for app in list(cluster.objects(APPS, meta["namespace"])):
            if _owned_by(app, meta["name"]):
                new = copy.deepcopy(app)
                new["metadata"].pop("ownerReferences", None)
                _update(cluster, APPS, new)
    finalizers = meta.get("finalizers") or []
    if RESOURCES_FINALIZER in finalizers:
        new = copy.deepcopy(appset)
        new["metadata"]["finalizers"] = [f for f in finalizers if f != RESOURCES_FINALIZER]
        _update(cluster, APPSETS, new)


def _update(cluster: Cluster, gr: str, obj: dict[str, Any], subresource: str = "") -> dict[str, Any]:
    rtype = cluster.rtype(gr)
    meta = obj["metadata"]
    return cluster.update(
        rtype, meta.get("namespace", ""), meta["name"], obj, op=Op(manager=MANAGER), subresource=subresource
    )


# ---------------------------------------------------------------------------------------------- clusters


def _secret_data(secret: dict[str, Any], key: str) -> str | None:
    data = secret.get("data") or {}
    if key in data:
        try:
            return base64.b64decode(str(data[key])).decode("utf-8", "replace")
        except ValueError:
            return None
    string_data = secret.get("stringData") or {}
    return str(string_data[key]) if key in string_data else None


def cluster_secrets(cluster: Cluster, control: str) -> list[dict[str, Any]]:
    return [
        s
        for s in cluster.objects("/secrets", control)
        if (s["metadata"].get("labels") or {}).get(SECRET_TYPE) == "cluster"
    ]


def _requirement_error(expr: dict[str, Any]) -> str | None:
    op, values = expr.get("operator"), expr.get("values") or []
    if op in {"In", "NotIn"} and not values:
        return "for 'in', 'notin' operators, values set can't be empty"
    if op in {"Exists", "DoesNotExist"} and values:
        return "values set must be empty for exists and does not exist"
    if op not in {"In", "NotIn", "Exists", "DoesNotExist"}:
        return f"{gotemplate.go_quote(str(op))} is not a valid label selector operator"
    return None


def selector_matcher(selector: dict[str, Any] | None) -> Any:
    """``LabelSelectorAsSelector``: a matcher of label maps, or raise ``ValueError`` with upstream's words."""
    selector = selector or {}
    for expr in selector.get("matchExpressions") or []:
        problem = _requirement_error(expr)
        if problem:
            raise ValueError(problem)
    labels_wanted = dict(selector.get("matchLabels") or {})
    exprs = list(selector.get("matchExpressions") or [])

    def matches(labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in labels_wanted.items()):
            return False
        for expr in exprs:
            key, op, values = expr["key"], expr["operator"], set(expr.get("values") or [])
            present = key in labels
            if op == "In" and not (present and labels[key] in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True

    return matches


def _cluster_params(secret: dict[str, Any], go_template: bool) -> dict[str, Any]:
    name = _secret_data(secret, "name") or ""
    params: dict[str, Any] = {
        "name": name,
        "nameNormalized": gotemplate.sanitize_name(name),
        "server": _secret_data(secret, "server") or "",
        "project": _secret_data(secret, "project") or "",
    }
    annotations = dict(secret["metadata"].get("annotations") or {})
    labels = dict(secret["metadata"].get("labels") or {})
    if go_template:
        meta: dict[str, Any] = {}
        if annotations:
            meta["annotations"] = StrMap(annotations)
        if labels:
            meta["labels"] = StrMap(labels)
        params["metadata"] = meta
    else:
        params.update({f"metadata.annotations.{k}": v for k, v in annotations.items()})
        params.update({f"metadata.labels.{k}": v for k, v in labels.items()})
    return params


def _append_values(values: dict[str, Any], params: dict[str, Any], go: bool, options: list[str]) -> None:
    """``appendTemplatedValues``: each value rendered against the params without the other values."""
    rendered: dict[str, Any] = {}
    for key, value in values.items():
        try:
            result = gotemplate.replace(str(value), params, go, options)
        except TemplateError as exc:
            raise ValueError(
                f"failed to replace templated string: failed to replace templated string with rendered values: {exc}"
            ) from None
        if go:
            rendered.setdefault("values", StrMap())[key] = result
        else:
            rendered[f"values.{key}"] = result
    params.update(rendered)


def clusters_generator(cluster: Cluster, control: str, gen: dict[str, Any], appset: dict[str, Any]) -> list[Any]:
    spec = appset.get("spec") or {}
    go, options = bool(spec.get("goTemplate")), list(spec.get("goTemplateOptions") or [])
    selector = gen.get("selector") or {}
    ignore_local = bool(selector.get("matchLabels") or selector.get("matchExpressions"))
    try:
        matches = selector_matcher(selector)
    except ValueError as exc:
        raise GenerationError(
            f"error getting cluster secrets: error converting label selector: {exc}",
            "ApplicationGenerationFromParamsError",
        ) from None
    by_name: dict[str, dict[str, Any]] = {}
    for secret in sorted(cluster_secrets(cluster, control), key=lambda s: s["metadata"]["name"]):
        if matches(secret["metadata"].get("labels") or {}):
            by_name[_secret_data(secret, "name") or ""] = secret
    found: list[dict[str, Any]] = []
    for secret in by_name.values():
        params = _cluster_params(secret, go)
        try:
            _append_values(gen.get("values") or {}, params, go, options)
        except ValueError as exc:
            raise GenerationError(
                f"error appending templated values for cluster: {exc}", "ApplicationGenerationFromParamsError"
            ) from None
        found.append(params)
    if not ignore_local and not any(_secret_data(s, "server") == IN_CLUSTER_SERVER for s in by_name.values()):
        params = {"name": IN_CLUSTER_NAME, "nameNormalized": IN_CLUSTER_NAME, "server": IN_CLUSTER_SERVER}
        params["project"] = ""
        try:
            _append_values(gen.get("values") or {}, params, go, options)
        except ValueError as exc:
            raise GenerationError(
                f"error appending templated values for local cluster: {exc}", "ApplicationGenerationFromParamsError"
            ) from None
        found.append(params)
    if gen.get("flatList"):
        return [{"clusters": found}]
    return found


def _float64(value: Any) -> Any:
    """JSON as Go's ``encoding/json`` decodes it into ``interface{}``: every number a float64."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: _float64(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float64(v) for v in value]
    return value


def list_generator(gen: dict[str, Any], appset: dict[str, Any]) -> list[Any]:  # noqa: PLR0912
    go = bool((appset.get("spec") or {}).get("goTemplate"))
    out: list[Any] = []
    for element in gen.get("elements") or []:
        if not isinstance(element, dict):
            kind = "string" if isinstance(element, str) else "array" if isinstance(element, list) else "number"
            raise GenerationError(
                f"error unmarshling list element json: cannot unmarshal {kind} into Go value of type "
                "map[string]interface {}",
                "ApplicationGenerationFromParamsError",
            )
        if go:
            out.append(_float64(element))
            continue
        params: dict[str, Any] = {}
        for key, value in element.items():
            if key == "values":
                if not isinstance(value, dict):
                    raise GenerationError("error parsing values map", "ApplicationGenerationFromParamsError")
                for k, v in value.items():
                    if not isinstance(v, str):
                        raise GenerationError(
                            "error parsing value as string %!w(<nil>)", "ApplicationGenerationFromParamsError"
                        )
                    params[f"values.{k}"] = v
            elif not isinstance(value, str):
                raise GenerationError(
                    "error parsing value as string %!w(<nil>)", "ApplicationGenerationFromParamsError"
                )
            else:
                params[key] = value
        out.append(params)
    text = gen.get("elementsYaml") or ""
    if text:
        try:
            items = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise GenerationError(
                f"error unmarshling decoded ElementsYaml {exc}", "ApplicationGenerationFromParamsError"
            ) from None
        if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            raise GenerationError(
                "error unmarshling decoded ElementsYaml error unmarshaling JSON: json: cannot unmarshal into "
                "[]map[string]interface {}",
                "ApplicationGenerationFromParamsError",
            )
        out.extend(_float64(items or []))
    return out


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    """jeremywohl/flatten in DotStyle, leaves printed with ``%v``."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    else:
        out[prefix] = gotemplate.go_str(value) if value is not None else "<nil>"


# ---------------------------------------------------------------------------------------------- rendering


def _merge_template(dest: Any, src: Any) -> Any:
    """``mergo.Merge(dest, src)``: fill what ``dest`` (a generator's template) leaves empty from ``src``."""
    if isinstance(dest, dict) and isinstance(src, dict):
        out = dict(dest)
        for key, value in src.items():
            out[key] = _merge_template(out[key], value) if key in out else copy.deepcopy(value)
        return out
    if dest in (None, "", [], {}, 0, False):
        return copy.deepcopy(src)
    return dest


def _deep_replace(value: Any, params: dict[str, Any], go: bool, options: list[str]) -> Any:
    if isinstance(value, str):
        return gotemplate.replace(value, params, go, options) if "{{" in value else value
    if isinstance(value, list):
        return [_deep_replace(v, params, go, options) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            rendered = _deep_replace(item, params, go, options)
            new_key = gotemplate.replace(key, params, go, options) if "{{" in key else key
            out[new_key] = rendered
        return out
    return value


def _strategic_merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if any(k.startswith("$") for k in patch):
        raise GenerationError(
            "sandbox: strategic merge patch directives ($patch, $retainKeys, ...) in templatePatch are not emulated",
            "RenderTemplateParamsError",
        )
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _strategic_merge(out.get(key), value)
    return out


def _yaml_to_json(text: str) -> Any:
    """``utils.ConvertYAMLToJSON`` then ``json.Unmarshal``."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return json.loads(stripped)
    return yaml.safe_load(text)


def render_application(template: dict[str, Any], params: dict[str, Any], appset: dict[str, Any]) -> dict[str, Any]:
    spec = appset.get("spec") or {}
    go, options = bool(spec.get("goTemplate")), list(spec.get("goTemplateOptions") or [])
    tmeta = template.get("metadata") or {}
    app: dict[str, Any] = {
        "metadata": {
            k: copy.deepcopy(tmeta[k])
            for k in ("name", "namespace", "labels", "annotations", "finalizers")
            if tmeta.get(k) not in (None, "", {}, [])
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if params:
        try:
            app = _deep_replace(app, params, go, options)
        except TemplateError as exc:
            raise GenerationError(str(exc), "RenderTemplateParamsError") from None
    sync_policy = spec.get("syncPolicy") or {}
    if not sync_policy.get("preserveResourcesOnDeletion") and not app["metadata"].get("finalizers"):
        app["metadata"]["finalizers"] = [RESOURCES_FINALIZER]
    patch_text = spec.get("templatePatch")
    if patch_text is not None:
        try:
            rendered = gotemplate.replace(patch_text, params, go, options)
        except TemplateError as exc:
            raise GenerationError(
                f"error replacing values in templatePatch: {exc}", "RenderTemplateParamsError"
            ) from None
        try:
            patch = _yaml_to_json(rendered)
        except (ValueError, yaml.YAMLError) as exc:
            raise GenerationError(
                f"error while converting template to json {gotemplate.go_quote(rendered)}: {exc}",
                "RenderTemplateParamsError",
            ) from None
        if patch is not None and not isinstance(patch, dict):
            raise GenerationError(
                f"invalid templatePatch {gotemplate.go_quote(rendered)}: json: cannot unmarshal "
                f"{gotemplate.go_type(patch)} into Go value of type v1alpha1.Application",
                "RenderTemplateParamsError",
            )
        project = app["spec"].get("project")
        app = _strategic_merge(app, patch or {})
        app.setdefault("metadata", {})
        app.setdefault("spec", {})
        if project is None:
            app["spec"].pop("project", None)
        else:
            app["spec"]["project"] = project
    app["metadata"]["namespace"] = appset["metadata"]["namespace"]
    return app


def generate(cluster: Cluster, control: str, appset: dict[str, Any]) -> list[dict[str, Any]]:
    """``template.GenerateApplications``: the desired Applications, or the first error."""
    spec = appset.get("spec") or {}
    apps: list[dict[str, Any]] = []
    first: GenerationError | None = None
    for gen in spec.get("generators") or []:
        for key in (k for k in GENERATORS if gen.get(k) is not None):
            try:
                template = _merge_template(copy.deepcopy((gen[key] or {}).get("template") or {}), spec.get("template"))
                if key == "clusters":
                    params_list = clusters_generator(cluster, control, gen[key], appset)
                elif key == "list":
                    params_list = list_generator(gen[key], appset)
                else:
                    raise GenerationError(
                        f"sandbox: the {key} generator is not emulated", "ApplicationGenerationFromParamsError"
                    )
                post = selector_matcher(gen.get("selector")) if gen.get("selector") is not None else None
            except ValueError as exc:
                first = first or GenerationError(
                    f"error parsing label selector: {exc}", "ApplicationGenerationFromParamsError"
                )
                continue
            except GenerationError as exc:
                first = first or exc
                continue
            for params in params_list:
                if post is not None:
                    flat: dict[str, str] = {}
                    _flatten(params, "", flat)
                    if not post(flat):
                        continue
                try:
                    apps.append(render_application(template, params, appset))
                except GenerationError as exc:
                    first = first or exc
    if first is not None:
        raise first
    return apps


# ---------------------------------------------------------------------------------------------- validation


def _in_cluster_enabled(cluster: Cluster, control: str) -> bool:
    cm = cluster.lookup("/configmaps", control, "argocd-cm") or {}
    return str((cm.get("data") or {}).get("cluster.inClusterEnabled", "true")).lower() != "false"


def destination_problem(cluster: Cluster, control: str, dest: dict[str, Any]) -> str | None:  # noqa: PLR0911, PLR0912 - one return per upstream error
    """``argo.GetDestinationCluster``'s error, or None."""
    name, server = str(dest.get("name") or ""), str(dest.get("server") or "")
    secrets = cluster_secrets(cluster, control)
    enabled = _in_cluster_enabled(cluster, control)
    if name and server:
        return f"application destination can't have both name and server defined: {name} {server}"
    if not name and not server:
        return "Destination server missing from app spec"
    if name:
        servers = [_secret_data(s, "server") or "" for s in secrets if _secret_data(s, "name") == name]
        if not servers and name == IN_CLUSTER_NAME and enabled:
            servers = [IN_CLUSTER_SERVER]
        if not enabled:
            servers = [s for s in servers if s != IN_CLUSTER_SERVER]
        if not servers:
            return f"there are no clusters with this name: {name}"
        if len(servers) > 1:
            return f"there are {len(servers)} clusters with the same name: [{' '.join(servers)}]"
        target = servers[0]
    else:
        target = server.rstrip("/")
    known = {(_secret_data(s, "server") or "") for s in secrets}
    if target == IN_CLUSTER_SERVER:
        if not enabled:
            problem = f'rpc error: code = NotFound desc = cluster "{target}" is disabled'
        else:
            return None
    elif target in known:
        return None
    else:
        problem = f'rpc error: code = NotFound desc = cluster "{target}" not found'
    if server:
        return f"error getting cluster by server {gotemplate.go_quote(server)}: {problem}"
    return f"error getting cluster by URL: {problem}"


def validate(cluster: Cluster, control: str, appset: dict[str, Any], apps: list[dict[str, Any]]) -> dict[str, str]:
    """``validateGeneratedApplications``: problems by ``namespace/name``."""
    problems: dict[str, str] = {}
    seen: set[str] = set()
    for app in apps:
        name = str(app["metadata"].get("name") or "")
        key = f"{app['metadata']['namespace']}/{name}"
        if name in seen:
            problems[key] = (
                f"ApplicationSet {appset['metadata']['name']} contains applications with duplicate name: {name}"
            )
            continue
        seen.add(name)
        project = str((app.get("spec") or {}).get("project") or "")
        if PROJECTS in cluster.by_gr and project != "default":
            if not project:
                problems[key] = "resource name may not be empty"
                continue
            if cluster.lookup(PROJECTS, control, project) is None:
                problems[key] = f"application references project {project} which does not exist"
                continue
        problem = destination_problem(cluster, control, (app.get("spec") or {}).get("destination") or {})
        if problem:
            problems[key] = f"application destination spec is invalid: {problem}"
    return problems


# ---------------------------------------------------------------------------------------------- status


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def set_condition(
    conditions: list[dict[str, Any]], condition: dict[str, Any], params_generated: bool
) -> list[dict[str, Any]]:
    """``setApplicationSetStatusCondition`` + ``ApplicationSetStatus.SetConditions`` (no rolling sync)."""
    evaluated = {"ParametersGenerated": True, "ErrorOccurred": False, "ResourcesUpToDate": False}
    evaluated["RolloutProgressing"] = True
    evaluated[condition["type"]] = True
    new = [condition]
    if condition["type"] != "ParametersGenerated":
        if params_generated:
            new.append(_condition("ParametersGenerated", "True", "ParametersGenerated", PARAMS_OK))
        else:
            new.append(_condition("ParametersGenerated", "False", "ErrorOccurred", condition["message"]))
    if condition["type"] == "ResourcesUpToDate" and condition["status"] == "True":
        evaluated["ErrorOccurred"] = True
        new.append(_condition("ErrorOccurred", "False", condition["reason"], condition["message"]))
    if condition["type"] == "ErrorOccurred" and condition["status"] == "True":
        evaluated["ResourcesUpToDate"] = True
        new.append(_condition("ResourcesUpToDate", "False", "ErrorOccurred", condition["message"]))
    stamp = now()
    out = [
        dict(c, lastTransitionTime=c.get("lastTransitionTime") or stamp)
        for c in conditions
        if not evaluated.get(c.get("type", ""), False)
    ]
    for cond in new:
        if not evaluated.get(cond["type"], False):
            continue
        old = next((c for c in conditions if c.get("type") == cond["type"]), None)
        same = old is not None and all(old.get(k) == cond[k] for k in ("message", "reason", "status"))
        out.append(old if same and old is not None else dict(cond, lastTransitionTime=stamp))
    out.sort(key=lambda c: (c.get("type", ""), c.get("status", ""), c.get("reason", ""), c.get("message", "")))
    return out


def _resource_status(app: dict[str, Any]) -> dict[str, Any]:
    status = app.get("status") or {}
    entry: dict[str, Any] = {"group": "argoproj.io", "version": "v1alpha1", "kind": "Application"}
    entry["namespace"] = app["metadata"]["namespace"]
    entry["name"] = app["metadata"]["name"]
    sync = (status.get("sync") or {}).get("status")
    if sync:
        entry["status"] = sync
    health = (status.get("health") or {}).get("status")
    entry["health"] = {"status": health} if health else {}
    return entry


# ---------------------------------------------------------------------------------------------- reconcile


def _normalize_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``argo.NormalizeApplicationSpec``: project defaults to ``default``, empty syncPolicy/helm/kustomize dropped."""
    spec = copy.deepcopy(spec)
    if not spec.get("project"):
        spec["project"] = "default"
    if spec.get("syncPolicy") == {}:
        del spec["syncPolicy"]
    sources = spec.get("sources") or ([spec["source"]] if isinstance(spec.get("source"), dict) else [])
    for source in sources:
        for key in ("helm", "kustomize"):
            if source.get(key) == {}:
                del source[key]
    return spec


class Reconciler:
    def __init__(self, cluster: Cluster, appset: dict[str, Any], control: str, params: dict[str, str]) -> None:
        self.cluster = cluster
        self.appset = appset
        self.control = control
        self.policy = _policy(appset, params)
        self.conditions: list[dict[str, Any]] = list((appset.get("status") or {}).get("conditions") or [])
        self.namespace = appset["metadata"]["namespace"]
        self.name = appset["metadata"]["name"]

    def condition(self, kind: str, status: str, reason: str, message: str, params_generated: bool) -> None:
        self.conditions = set_condition(self.conditions, _condition(kind, status, reason, message), params_generated)

    def current(self) -> list[dict[str, Any]]:
        return [a for a in self.cluster.objects(APPS, self.namespace) if _owned_by(a, self.name)]

    def run(self) -> None:
        try:
            apps = generate(self.cluster, self.control, self.appset)
        except GenerationError as exc:
            self.condition("ErrorOccurred", "True", exc.reason, exc.message, False)
            self.write_status(None)
            return
        problems = validate(self.cluster, self.control, self.appset, apps)
        if problems:
            message = problems[sorted(problems)[-1]]
            if len(problems) > 1:
                message = f"{message} (and {len(problems) - 1} more)"
            self.condition("ErrorOccurred", "True", "ApplicationValidationError", message, True)
        valid = sorted(
            (a for a in apps if f"{a['metadata']['namespace']}/{a['metadata'].get('name', '')}" not in problems),
            key=lambda a: str(a["metadata"].get("name") or ""),
        )
        allow_update = self.policy in {"create-update", "sync"}
        if not allow_update:
            existing = {a["metadata"]["name"] for a in self.current()}
            valid = [a for a in valid if a["metadata"].get("name") not in existing]
        error = self.create_or_update(valid)
        if error:
            reason = "UpdateApplicationError" if allow_update else "CreateApplicationError"
            self.condition("ErrorOccurred", "True", reason, error, True)
            self.write_status(None)
            return
        if self.policy in {"create-delete", "sync"}:
            self.delete_missing(apps)
        if not problems:
            self.condition("ResourcesUpToDate", "True", "ApplicationSetUpToDate", UP_TO_DATE, True)
        self.write_status(self.current())

    def owner(self) -> dict[str, Any]:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "name": self.name,
            "uid": self.appset["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def create_or_update(self, apps: list[dict[str, Any]]) -> str | None:  # noqa: PLR0912, PLR0915
        first: str | None = None
        spec = self.appset.get("spec") or {}
        preserved = spec.get("preservedFields") or {}
        keep_annotations = list(preserved.get("annotations") or []) + list(PRESERVED_ANNOTATIONS)
        keep_labels = list(preserved.get("labels") or [])
        rtype = self.cluster.rtype(APPS)
        for generated in apps:
            meta = generated["metadata"]
            name = str(meta.get("name") or "")
            found = self.cluster.lookup(APPS, self.namespace, name) if name else None
            desired_meta: dict[str, Any] = {}
            annotations = dict(meta.get("annotations") or {})
            labels = dict(meta.get("labels") or {})
            finalizers = list(meta.get("finalizers") or [])
            if found is not None:
                fmeta = found["metadata"]
                for key in keep_annotations:
                    if key in (fmeta.get("annotations") or {}):
                        annotations[key] = fmeta["annotations"][key]
                for key in keep_labels:
                    if key in (fmeta.get("labels") or {}):
                        labels[key] = fmeta["labels"][key]
                finalizers += [f for f in fmeta.get("finalizers") or [] if f.startswith(PRESERVED_FINALIZERS)]
            if annotations:
                desired_meta["annotations"] = annotations
            if labels:
                desired_meta["labels"] = labels
            if finalizers:
                desired_meta["finalizers"] = finalizers
            spec_out = _normalize_spec(generated.get("spec") or {})
            try:
                if found is None:
                    body = {
                        "apiVersion": "argoproj.io/v1alpha1",
                        "kind": "Application",
                        "metadata": {
                            "name": name,
                            "namespace": self.namespace,
                            **desired_meta,
                            "ownerReferences": [self.owner()],
                        },
                        "spec": spec_out,
                    }
                    self.cluster.create(rtype, self.namespace, body, Op(manager=MANAGER))
                    continue
                new = copy.deepcopy(found)
                nmeta = new["metadata"]
                for key in ("annotations", "labels", "finalizers"):
                    nmeta.pop(key, None)
                    if key in desired_meta:
                        nmeta[key] = desired_meta[key]
                refs = [r for r in nmeta.get("ownerReferences") or [] if not r.get("controller")]
                refs = [r for r in refs if r.get("uid") != self.appset["metadata"]["uid"]] + [self.owner()]
                others = [r for r in nmeta.get("ownerReferences") or [] if r.get("controller")]
                if others and others[0].get("uid") != self.appset["metadata"]["uid"]:
                    raise KubeError(
                        409,
                        f"Object {self.namespace}/{name} is already owned by another {others[0].get('kind')} "
                        f"controller {others[0].get('name')}",
                    )
                nmeta["ownerReferences"] = refs
                new["spec"] = spec_out
                live = copy.deepcopy(found)
                live["spec"] = _normalize_spec(live.get("spec") or {})
                if live == new:
                    continue
                self.cluster.update(rtype, self.namespace, name, new, op=Op(manager=MANAGER))
            except KubeError as exc:
                first = first or exc.message
        return first

    def delete_missing(self, generated: list[dict[str, Any]]) -> None:
        wanted = {str(a["metadata"].get("name") or "") for a in generated}
        rtype = self.cluster.rtype(APPS)
        for app in self.current():
            if app["metadata"]["name"] in wanted or app["metadata"].get("deletionTimestamp"):
                continue
            finalizers = app["metadata"].get("finalizers") or []
            dest = (app.get("spec") or {}).get("destination") or {}
            if RESOURCES_FINALIZER in finalizers and destination_problem(self.cluster, self.control, dest):
                new = copy.deepcopy(app)  # the finalizer goes first (removeFinalizerOnInvalidDestination)
                new["metadata"]["finalizers"] = [f for f in finalizers if f != RESOURCES_FINALIZER]
                if not new["metadata"]["finalizers"]:
                    del new["metadata"]["finalizers"]
                self.cluster.update(rtype, self.namespace, app["metadata"]["name"], new, op=Op(manager=MANAGER))
                if self.cluster.lookup(APPS, self.namespace, app["metadata"]["name"]) is None:
                    continue
            self.cluster.delete(rtype, self.namespace, app["metadata"]["name"], {}, Op(manager=MANAGER))

    def write_status(self, apps: list[dict[str, Any]] | None) -> None:
        old = self.appset.get("status") or {}
        status = {k: copy.deepcopy(v) for k, v in old.items() if k not in {"conditions", "applicationStatus"}}
        if self.conditions:
            status["conditions"] = self.conditions
        if apps is not None:
            resources = sorted((_resource_status(a) for a in apps), key=lambda r: r["name"])
            status.pop("resources", None)
            status.pop("resourcesCount", None)
            if resources:
                status["resources"] = resources
                status["resourcesCount"] = len(resources)
        if status == old:
            return
        fresh = self.cluster.lookup(APPSETS, self.namespace, self.name)
        if fresh is None:
            return
        new = copy.deepcopy(fresh)
        new["status"] = status
        _update(self.cluster, APPSETS, new, subresource="status")
