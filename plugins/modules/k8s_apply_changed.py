#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_apply_changed
short_description: Apply only the Kubernetes objects that are missing or differ from their definition
version_added: 0.1.0
description:
  - Applies a list of object definitions (a release file, for example) the way
    M(kubernetes.core.k8s) does with O(kubernetes.core.k8s#module:apply=true), but first reads
    the live objects with one LIST per apiVersion and kind (of one namespace when all the
    definitions of that kind share it, else of all namespaces) and applies only the objects
    that are missing or differ.
  - An object is unchanged when the definition equals the one it was last applied with (the
    C(kubectl.kubernetes.io/last-applied-configuration) annotation) and every field the
    definition sets has the same live value, recursively - dicts as subsets, because the server
    adds defaults and status, lists element by element with equal length. Anything else counts
    as a change, so a field someone edited is set back and a deleted object is re-created.
  - Objects that need an apply go through kubernetes.core's own client-side apply, in the order
    given, so field handling and the last-applied annotation are those of M(kubernetes.core.k8s).
    Connection, kubeconfig and TLS handling are those of kubernetes.core as well.
  - A no-op run therefore costs one LIST per kind instead of about four requests per object.
author:
  - doks.gitops maintainers (@doks-gitops)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
  - jsonpatch
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  definitions:
    description:
      - The objects to apply, each a full definition with C(apiVersion), C(kind) and
        C(metadata.name); namespaced objects need C(metadata.namespace).
      - Applied in the order given (put Namespaces and CustomResourceDefinitions first).
    type: list
    elements: dict
    required: true
  patch:
    description:
      - C(apply) (the default) applies each definition as described above.
      - C(merge) changes objects that exist and that something else owns (a cluster Secret another
        task registered, say) - each definition is the subset to set, compared with the live object
        only (no C(kubectl.kubernetes.io/last-applied-configuration)), and when a field differs the
        definition without C(apiVersion) and C(kind) is sent as a JSON merge patch (RFC 7386,
        C(application/merge-patch+json)). The annotation is neither written nor read, so a later
        client-side apply of the owner keeps the keys set here (its three-way merge removes only
        keys of its own last-applied configuration). A missing object fails the task.
    type: str
    choices: [apply, merge]
    default: apply
  server_side_apply:
    description:
      - Apply server-side as O(server_side_apply.field_manager) (Kubernetes "Server-Side Apply"),
        the way M(kubernetes.core.k8s) does with O(kubernetes.core.k8s#module:server_side_apply),
        instead of client-side, for objects whose fields one manager owns (a later check may
        select them by that manager).
      - An object is unchanged when the manager applied it before (its C(metadata.managedFields)
        entry of operation C(Apply)), every field that entry names is still set by the definition
        (the server removes a field its manager applies without, so a dropped field needs an
        apply), and every field the definition sets has the same live value, compared as above.
        Anything else is applied; an object another manager wrote is taken over once.
      - Not with O(patch=merge).
    type: dict
    suboptions:
      field_manager:
        description: The field manager of the applies (C(fieldManager)).
        type: str
        required: true
      force_conflicts:
        description: Take over fields another manager owns instead of failing on the conflict (C(force=true)).
        type: bool
        default: false
  prune:
    description:
      - Delete the objects this task wrote earlier and no longer declares, as C(kubectl apply --prune)
        does with a label selector, after the applies.
      - An object is deleted when its kind is in O(prune.kinds), it carries every label of
        O(prune.label_selectors), its namespace is in O(prune.namespaces) and it is not among
        O(definitions). One LIST per kind; in check mode the deletes are server-side dry runs.
      - An empty selector is refused, so an object without the task's labels is never deleted.
    type: dict
    suboptions:
      label_selectors:
        description: Label selectors (C(key=value)) every pruned object matches.
        type: list
        elements: str
        required: true
      namespaces:
        description: The namespaces pruned.
        type: list
        elements: str
        required: true
      kinds:
        description: The kinds pruned, each with C(api_version) and C(kind).
        type: list
        elements: dict
        required: true
        suboptions:
          api_version:
            description: apiVersion of the kind.
            type: str
            required: true
          kind:
            description: The kind.
            type: str
            required: true
  wait:
    description:
      - Wait until what was applied exists, and until every Deployment, DaemonSet, StatefulSet
        and Pod among the definitions is ready, every CustomResourceDefinition Established and
        every Argo CD Application (C(argoproj.io/v1alpha1)) delivered, applied now or not.
      - An Application is delivered when the controller compared its current spec
        (C(status.sync.comparedTo) equals C(spec.source) or C(spec.sources), C(spec.destination)
        and C(spec.ignoreDifferences), so the status of a spec it replaced does not count), no
        sync operation is requested, running, or finished after the last reconciliation (as
        C(argocd app wait) decides), and it is C(Synced) and C(Healthy), or C(Progressing) where
        every resource that is not Healthy has a kind of O(wait_progressing_kinds).
      - Readiness of an unchanged object is read from its LIST; only a not-ready one is polled.
      - When an Application is not delivered in time the module fails naming its sync and health,
        the last sync message, its conditions and the resources not Synced or not Healthy.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each object.
    type: int
    default: 120
  wait_sleep:
    description: Seconds between two polls while waiting.
    type: int
    default: 5
  wait_progressing_kinds:
    description:
      - Kinds whose C(Progressing) health does not keep an Argo CD Application from being
        delivered (with O(wait=true)), for example C(Ingress), which Argo CD reports Progressing
        until an ingress controller publishes its address.
      - An Application that is Progressing because of any other kind is waited for.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Lists, compares and sends the applies of the changed objects as server-side dry runs.
  diff_mode:
    support: full
    description: >-
      Shows, for each object to create or change, the live values of the fields the definition
      sets (before) and the definition (after). Secret data is not shown.
  platform:
    support: full
    platforms: all
    description: Runs wherever the kubernetes Python client can reach the API server.
notes:
  - Without O(server_side_apply), the apply is client-side (the mode of M(kubernetes.core.k8s) with
    O(kubernetes.core.k8s#module:apply=true)); an object created by other means is applied
    once, which adds the annotation, and is compared from then on.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Write a role's ServiceAccounts server-side, as the role's field manager
  doks.gitops.k8s_apply_changed:
    definitions:
      - apiVersion: v1
        kind: ServiceAccount
        metadata: {name: build, namespace: lofi-ci, labels: {app.kubernetes.io/managed-by: doks.gitops}}
        automountServiceAccountToken: false
    server_side_apply:
      field_manager: doks.gitops.lofi_pipeline

- name: Apply the Tekton Pipelines release, writing only what changed
  doks.gitops.k8s_apply_changed:
    kubeconfig: "{{ gitops_kubeconfig }}"
    definitions: "{{ lookup('ansible.builtin.file', 'release.yaml') | ansible.builtin.from_yaml_all | list }}"
    wait: true
    wait_timeout: 300

- name: Preview what an apply would change
  doks.gitops.k8s_apply_changed:
    kubeconfig: ~/.kube/config
    definitions:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: settings, namespace: demo}
        data: {level: info}
  check_mode: true
  diff: true
"""

RETURN = r"""
applied:
  description: The objects that were missing or differed, in the order they were applied.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: apiVersion of the object.
      type: str
    kind:
      description: Kind of the object.
      type: str
    namespace:
      description: Namespace of the object, empty for a cluster-scoped object.
      type: str
    name:
      description: Name of the object.
      type: str
    reason:
      description: Why it was applied (missing, live fields differ, definition differs from the one last applied ...).
      type: str
    method:
      description: C(create) when it did not exist, C(merge) for O(patch=merge), else C(apply).
      type: str
    changed:
      description: Whether the apply changed the object (an apply may find nothing to change).
      type: bool
  sample:
    - api_version: v1
      kind: ConfigMap
      namespace: tekton-pipelines
      name: feature-flags
      reason: live fields differ
      method: apply
      changed: true
unchanged:
  description: How many objects already matched their definition and were not applied.
  returned: always
  type: int
  sample: 126
lists:
  description: How many LIST requests read the live objects (one per apiVersion and kind, or per namespace).
  returned: always
  type: int
  sample: 24
pruned:
  description: The objects O(prune) deleted (in check mode, would delete).
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: apiVersion of the object.
      type: str
    kind:
      description: Kind of the object.
      type: str
    namespace:
      description: Namespace of the object.
      type: str
    name:
      description: Name of the object.
      type: str
  sample:
    - api_version: networking.k8s.io/v1
      kind: NetworkPolicy
      namespace: traefik
      name: allow-metrics
"""

import contextlib
import copy
import json
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

from ansible_collections.doks.gitops.plugins.module_utils import argocd_app
from ansible_collections.doks.gitops.plugins.module_utils.k8s_compare import (
    ObjectKey,
    contains,
    object_key,
    plan,
    project,
    server_side_plan,
)
from ansible_collections.doks.gitops.plugins.module_utils.rest import describe_failure

# kubernetes.core's module_utils are its internals, no public API: galaxy.yml and requirements.yml
# hold kubernetes.core to the major release these imports were tested on (>=6.2.0,<7.0.0).
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.runner import perform_action
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import (
    RESOURCE_PREDICATES,
    Waiter,
    custom_condition,
)

# AnsibleK8SModule reports a missing kubernetes client
with contextlib.suppress(ImportError):
    from kubernetes.dynamic.exceptions import MethodNotAllowedError, NotFoundError
    from urllib3.exceptions import HTTPError as Urllib3Error

Group = Tuple[str, str]
# What a network or TLS failure's fix names.
KUBE_SETTINGS = {
    "url": "the server of the kubeconfig (gitops_kubeconfig)",
    "ca_path": "the certificate-authority-data of the kubeconfig",
    "timeout": "the request timeout",
}
RENEW = (
    "; the kubeconfig %s holds a token the cluster no longer accepts (expired or revoked): "
    "renew it (run the play with --tags doks_cluster)"
)
ESTABLISHED = {"type": "Established", "status": "True"}


def argspec() -> Dict[str, Any]:
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        definitions=dict(type="list", elements="dict", required=True),
        patch=dict(type="str", choices=["apply", "merge"], default="apply"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
        wait_sleep=dict(type="int", default=5),
        wait_progressing_kinds=dict(type="list", elements="str", default=[]),
        server_side_apply=dict(
            type="dict",
            options=dict(
                field_manager=dict(type="str", required=True),
                force_conflicts=dict(type="bool", default=False),
            ),
        ),
        prune=dict(
            type="dict",
            options=dict(
                label_selectors=dict(type="list", elements="str", required=True),
                namespaces=dict(type="list", elements="str", required=True),
                kinds=dict(
                    type="list",
                    elements="dict",
                    required=True,
                    options=dict(api_version=dict(type="str", required=True), kind=dict(type="str", required=True)),
                ),
            ),
        ),
    )
    return spec


def check_definitions(definitions: List[Dict[str, Any]]) -> Optional[str]:
    for index, obj in enumerate(definitions):
        meta = obj.get("metadata")
        if not obj.get("apiVersion") or not obj.get("kind") or not isinstance(meta, dict) or not meta.get("name"):
            return (
                "definitions[%d] needs apiVersion, kind and metadata.name; "
                "give each object in full (generateName is not supported)" % index
            )
    return None


def read_live(svc: K8sService, definitions: List[Dict[str, Any]]) -> Tuple[Dict[ObjectKey, Any], Dict[Group, Any], int]:
    """List the live objects of every (apiVersion, kind) among the definitions.

    Returns the live objects by key (as ResourceFields), the API resources found by group, and
    the number of LIST requests sent. A kind the server does not know yet (a CRD the same list
    creates) has no live objects.
    """
    groups: Dict[Group, set] = {}
    for obj in definitions:
        groups.setdefault((obj["apiVersion"], obj["kind"]), set()).add(obj["metadata"].get("namespace") or "")
    live: Dict[ObjectKey, Any] = {}
    resources: Dict[Group, Any] = {}
    lists = 0
    for (api_version, kind), namespaces in groups.items():
        resource = svc.find_resource(kind, api_version)
        if resource is None:
            continue
        resources[(api_version, kind)] = resource
        params = {}
        if resource.namespaced and len(namespaces) == 1 and "" not in namespaces:
            params["namespace"] = next(iter(namespaces))
        lists += 1
        try:
            response = svc.client.get(resource, **params)
        except (NotFoundError, MethodNotAllowedError):
            continue
        except Exception as e:
            reason = cluster_failure(e, svc.module.params.get("kubeconfig"))
            if reason is None:
                raise
            raise CoreException("Failed to list %s %s: %s" % (api_version, kind, reason)) from e
        for item in response.items or []:
            meta = item.metadata
            live[(api_version, kind, meta.namespace or "", meta.name)] = item
    return live, resources, lists


def diff_entry(obj: Dict[str, Any]) -> Dict[str, Any]:
    if obj.get("kind") != "Secret":
        return obj
    return {k: v for k, v in obj.items() if k not in ("data", "stringData")}


def describe_key(key: ObjectKey) -> str:
    _api, kind, namespace, name = key
    return "%s %s" % (kind, "%s/%s" % (namespace, name) if namespace else name)


def describe(obj: Dict[str, Any]) -> str:
    return describe_key(object_key(obj))


def key_fields(key: ObjectKey) -> Dict[str, Any]:
    """The fields RV(applied) and RV(pruned) name an object with."""
    api_version, kind, namespace, name = key
    return dict(api_version=api_version, kind=kind, namespace=namespace, name=name)


def apply_all(module: AnsibleK8SModule, svc: K8sService, todo: List[Tuple[Dict, Optional[Dict], str]]) -> List[Dict]:
    params = dict(state="present", apply=True, wait=module.params["wait"])
    applied = []
    for obj, live, reason in todo:
        result = perform_action(svc, copy.deepcopy(obj), params)
        applied.append(applied_entry(obj, reason, "create" if live is None else "apply", bool(result.get("changed"))))
    return applied


def applied_entry(obj: Dict[str, Any], reason: str, method: str, changed: bool) -> Dict[str, Any]:
    """One element of RV(applied): the object, why and how it was sent, and whether it changed."""
    return dict(key_fields(object_key(obj)), reason=reason, method=method, changed=changed)


def merge_plan(
    definitions: List[Dict[str, Any]], live: Dict[ObjectKey, Dict[str, Any]]
) -> Tuple[List[Tuple[Dict[str, Any], Optional[Dict[str, Any]], str]], Optional[str]]:
    """patch=merge: each definition whose fields differ from the live object (a subset compare), or a problem."""
    todo = []
    for obj in definitions:
        current = live.get(object_key(obj))
        if current is None:
            return [], "%s does not exist: patch=merge changes existing objects only" % describe(obj)
        if not contains(obj, current):
            todo.append((obj, current, "live fields differ"))
    return todo, None


def merge_patch_all(
    module: AnsibleK8SModule, svc: K8sService, todo: List[Tuple[Dict, Optional[Dict], str]]
) -> List[Dict]:
    """Send each definition (without apiVersion and kind) as a JSON merge patch (dry run in check mode)."""
    applied = []
    for obj, _live, reason in todo:
        api_version, kind, namespace, name = object_key(obj)
        resource = svc.find_resource(kind, api_version, fail=True)
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        # kubernetes.core's client adds dryRun=All in check mode
        svc.client.patch(
            resource, body, name=name, namespace=namespace or None, content_type="application/merge-patch+json"
        )
        applied.append(applied_entry(obj, reason, "merge", True))
    return applied


def server_side_problem(params: Dict[str, Any]) -> Optional[str]:
    if params.get("server_side_apply") and params["patch"] == "merge":
        return "server_side_apply and patch=merge exclude each other: a merge patch is no apply"
    return None


def prune_problem(prune: Optional[Dict[str, Any]]) -> Optional[str]:
    if prune is not None and not [s for s in prune["label_selectors"] if s.strip()]:
        return "prune.label_selectors is empty: give the labels of the objects this task writes"
    return None


def prune_all(svc: K8sService, prune: Dict[str, Any], definitions: List[Dict[str, Any]]) -> List[ObjectKey]:
    """Delete the labelled objects of the pruned kinds and namespaces that are not declared (dry run in check mode)."""
    declared = {object_key(obj) for obj in definitions}
    selector = ",".join(s.strip() for s in prune["label_selectors"] if s.strip())
    namespaces = set(prune["namespaces"])
    pruned = []
    for entry in prune["kinds"]:
        resource = svc.find_resource(entry["kind"], entry["api_version"])
        if resource is None:
            continue
        for item in svc.client.get(resource, label_selector=selector).items or []:
            key = (entry["api_version"], entry["kind"], item.metadata.namespace or "", item.metadata.name)
            if key in declared or key[2] not in namespaces:
                continue
            svc.client.delete(resource, name=key[3], namespace=key[2] or None)
            pruned.append(key)
    return pruned


def _as_dict(resource: Any) -> Optional[Dict[str, Any]]:
    if resource is None:
        return None
    return resource.to_dict() if hasattr(resource, "to_dict") else dict(resource)


def application_ready(progressing_kinds: List[str], resource: Any) -> bool:
    return argocd_app.not_ready(_as_dict(resource), progressing_kinds) is None


def readiness(obj: Dict[str, Any], progressing_kinds: Optional[List[str]] = None) -> Optional[Callable[[Any], bool]]:
    """The predicate of an object whose kind has a readiness, None for the others."""
    if argocd_app.is_application(obj):
        return partial(application_ready, list(progressing_kinds or []))
    if obj["kind"] == "CustomResourceDefinition":
        return partial(custom_condition, ESTABLISHED)
    return RESOURCE_PREDICATES.get(obj["kind"])


def wait_ready(
    module: AnsibleK8SModule,
    svc: K8sService,
    applied: set,
    live: Dict[ObjectKey, Any],
    resources: Dict[Group, Any],
) -> None:
    """Wait for every object with a readiness: Deployments, DaemonSets, StatefulSets, Pods, CRDs, Applications.

    An unchanged object is ready when its LIST says so; only a not-ready one is polled. An
    applied workload was already waited for by the apply; an applied CRD is polled until
    Established, an applied Application until delivered (argocd_app.not_ready).
    """
    kinds = module.params.get("wait_progressing_kinds") or []
    for obj in module.params["definitions"]:
        key = object_key(obj)
        predicate = readiness(obj, kinds)
        if predicate is None:
            continue
        if key in applied:
            if obj["kind"] != "CustomResourceDefinition" and not argocd_app.is_application(obj):
                continue
        elif key in live and predicate(live[key]):
            continue
        resource = resources.get((obj["apiVersion"], obj["kind"])) or svc.find_resource(
            obj["kind"], obj["apiVersion"], fail=True
        )
        ready, instance, _elapsed = Waiter(svc.client, resource, predicate).wait(
            timeout=module.params["wait_timeout"],
            sleep=module.params["wait_sleep"],
            name=obj["metadata"]["name"],
            namespace=obj["metadata"].get("namespace"),
        )
        if not ready and argocd_app.is_application(obj):
            raise CoreException(
                argocd_app.timeout_message(
                    instance or None,
                    obj["metadata"].get("namespace") or "",
                    obj["metadata"]["name"],
                    module.params["wait_timeout"],
                    kinds,
                )
            )
        if not ready:
            raise CoreException('"%s" "%s": Timed out waiting until ready' % (obj["kind"], obj["metadata"]["name"]))


def _status_message(body: Any, fallback: Any) -> str:
    """The ``message`` of a Kubernetes ``Status`` body, else the HTTP reason."""
    try:
        status = json.loads(body) if isinstance(body, (str, bytes)) else body
    except ValueError:
        status = None
    message = status.get("message") if isinstance(status, dict) else None
    return str(message or fallback or "no detail")


def cluster_failure(exc: BaseException, kubeconfig: Any = None) -> Optional[str]:
    """A sentence for a call to the cluster that failed (HTTP error, network, TLS), or None."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "body"):
        text = "the cluster answered HTTP %s: %s" % (status, _status_message(exc.body, getattr(exc, "reason", None)))
        return text + (RENEW % kubeconfig if status == 401 and isinstance(kubeconfig, str) else "")
    if isinstance(exc, Urllib3Error):
        pool = getattr(exc, "pool", None)
        server = "%s:%s" % (pool.host, pool.port) if getattr(pool, "host", None) else "the API server"
        return "cannot reach the cluster: " + describe_failure(exc, server, 0, KUBE_SETTINGS)
    return None


def run(module: AnsibleK8SModule) -> None:
    definitions = module.params["definitions"]
    problem = (
        check_definitions(definitions)
        or server_side_problem(module.params)
        or prune_problem(module.params.get("prune"))
    )
    if problem:
        module.fail_json(msg=problem)
    svc = K8sService(get_api_client(module), module)
    live, resources, lists = read_live(svc, definitions)
    live_dicts = {}
    for key, item in live.items():
        data = item.to_dict()
        data.setdefault("apiVersion", key[0])
        data.setdefault("kind", key[1])
        live_dicts[key] = data
    merge = module.params["patch"] == "merge"
    if merge:
        todo, problem = merge_plan(definitions, live_dicts)
        if problem:
            module.fail_json(msg=problem)
    elif module.params.get("server_side_apply"):
        # kubernetes.core's apply reads the same option and sends the apply server-side
        todo = server_side_plan(definitions, live_dicts, module.params["server_side_apply"]["field_manager"])
    else:
        todo = plan(definitions, live_dicts)
    result: Dict[str, Any] = dict(changed=False, unchanged=len(definitions) - len(todo), lists=lists)
    if module._diff:
        result["diff"] = dict(
            before={describe(o): diff_entry(project(o, cur)) for o, cur, _r in todo if cur is not None},
            after={describe(o): diff_entry(o) for o, _cur, _r in todo},
        )
    applied = merge_patch_all(module, svc, todo) if merge else apply_all(module, svc, todo)
    result["applied"] = applied
    prune = module.params.get("prune")
    pruned = prune_all(svc, prune, definitions) if prune else []
    result["pruned"] = [key_fields(key) for key in pruned]
    result["changed"] = any(a["changed"] for a in applied) or bool(pruned)
    if module._diff:
        for key in pruned:
            result["diff"]["before"][describe_key(key)] = "present"
            result["diff"]["after"][describe_key(key)] = "absent (pruned)"
    if module.params["wait"] and not module.check_mode:
        wait_ready(module, svc, {object_key(o) for o, _c, _r in todo}, live, resources)
    module.exit_json(**result)


def main() -> None:
    module = AnsibleK8SModule(argument_spec=argspec(), supports_check_mode=True)
    try:
        run(module)
    except CoreException as e:
        module.fail_from_exception(e)
    except Exception as e:  # a 401 or a network failure while the client discovers the API
        reason = cluster_failure(e, module.params.get("kubeconfig"))
        if reason is None:
            raise
        module.fail_json(msg=reason[0].upper() + reason[1:])


if __name__ == "__main__":
    main()
