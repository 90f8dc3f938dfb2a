"""A minimal emulation of Argo CD's application controller.

The sandbox runs no Argo CD, so nothing would ever report an Application as Synced or Healthy.
This controller gives ``applications.argoproj.io`` objects the status the real controller writes.
Applications whose sources are Helm charts of the sandbox's chart server or git paths of its git
server are rendered, applied and compared by ``argosync.py``; any other one gets a status from the
spec alone: nothing is fetched, rendered or applied, ``status.resources`` stays empty and
``status.sync.revision`` is the spec's targetRevision (the real controller resolves it to a commit SHA).

It only acts while the Application CRD exists in the virtual cluster, and only after an object
has been unchanged for ``DELAY`` seconds (the real controller is asynchronous too). Rules:

* the spec is checked like the real controller does before it compares: at least one source with a
  ``repoURL`` and a ``path`` or ``chart`` (sources that only carry a ``ref`` are value sources), a
  destination ``server`` or ``name``, a namespace that is a DNS-1123 label, a project that exists
  (``default`` always exists) and whose ``sourceRepos`` and ``destinations`` admit the sources and the
  destination. A failed check gives sync ``Unknown``, health ``Unknown`` and an ``InvalidSpecError``
  condition naming the problem, and keeps ``sync.comparedTo`` and ``operationState`` of the last
  comparison (``argosync.invalid_spec``); no sync operation is run.
* a valid Application with ``spec.syncPolicy.automated`` (or with an ``operation`` requested, as
  ``argocd app sync`` does) is synced: sync ``Synced``, health ``Healthy``, ``operationState``
  ``Succeeded``; the requested ``operation`` is cleared. Without either it is ``OutOfSync``/``Missing``.
* Applications in any namespace (docs/operator-manual/app-any-namespace.md at v3.4.4): the control
  plane's namespace is the one holding ``argocd-cmd-params-cm`` (``argocd`` when absent). An
  Application elsewhere is only reconciled when its namespace matches ``application.namespaces``
  there (otherwise it gets no status at all, as the controller never sees it), and it may only use a
  project whose ``spec.sourceNamespaces`` match its namespace (``AppProject.IsAppNamespacePermitted``
  in pkg/apis/application/v1alpha1/types.go; the controller's ``getAppProj`` then reports
  ``application '<app>' in namespace '<ns>' is not permitted to use project '<project>'``,
  util/argo/argo.go ``ErrProjectNotPermitted``). Projects are looked up in the control plane's
  namespace.
* on deletion, Argo CD's finalizers (``resources-finalizer.argocd.argoproj.io`` and its
  ``/background`` and ``/foreground`` forms, ``post-delete-finalizer.argocd.argoproj.io``) are
  removed, as the real controller does once the (here non-existent) resources are gone.

Status is written only when its meaningful part changes, so an idle cluster emits no watch events.
"""

from __future__ import annotations

import copy
import re
import time
from fnmatch import fnmatchcase
from typing import Any

from sandbox.kube import argosync
from sandbox.kube.cluster import Cluster, now

APPS = "argoproj.io/applications"
PROJECTS = "argoproj.io/appprojects"
PARAMS_CM = "argocd-cmd-params-cm"
DELAY = 0.5
FINALIZER_PREFIXES = ("resources-finalizer.argocd.argoproj.io", "post-delete-finalizer.argocd.argoproj.io")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SYNCED_MESSAGE = "successfully synced (all tasks run)"
# OperationPhase.Completed (gitops-engine pkg/sync/common/types.go)
COMPLETED = ("Succeeded", "Failed", "Error")
# Fields that change on every write; they do not make a status "different".
VOLATILE = ("reconciledAt", "startedAt", "finishedAt", "lastTransitionTime")

_seen: dict[tuple[str, int], float] = {}
# id(cluster) -> the uids of the Applications its controller handled last time: one that is gone
# (deleted, or in a namespace no longer watched) is forgotten, so its git sources stop being refreshed
_handled: dict[int, set[str]] = {}


def control_plane_namespace(cluster: Cluster) -> str:
    """Argo CD's own namespace: where its argocd-cmd-params-cm lives (``argocd`` before the install)."""
    for cm in cluster.objects("/configmaps"):
        if cm["metadata"]["name"] == PARAMS_CM:
            return str(cm["metadata"]["namespace"])
    return "argocd"


def _watched_namespaces(cluster: Cluster, control: str) -> list[str]:
    cm = cluster.lookup("/configmaps", control, PARAMS_CM) or {}
    value = str((cm.get("data") or {}).get("application.namespaces") or "")
    return [item.strip() for item in value.split(",") if item.strip()]


def _watched(app: dict[str, Any], control: str, watched: list[str]) -> bool:
    namespace = app["metadata"]["namespace"]
    return namespace == control or any(fnmatchcase(namespace, pattern) for pattern in watched)


def applications(cluster: Cluster) -> None:
    """Reconcile every Application of ``cluster`` (no-op while the Application CRD is absent)."""
    if APPS not in cluster.by_gr:
        return
    control = control_plane_namespace(cluster)
    watched = _watched_namespaces(cluster, control)
    handled: set[str] = set()
    for app in list(cluster.objects(APPS)):
        if not _watched(app, control, watched):
            continue  # the controller does not list this namespace: the object stays as written
        handled.add(app["metadata"]["uid"])
        if app["metadata"].get("deletionTimestamp"):
            _finalize(cluster, app)
            continue
        key = (app["metadata"]["uid"], int(app["metadata"].get("generation", 1)))
        if time.monotonic() - _seen.setdefault(key, time.monotonic()) < DELAY and not app.get("operation"):
            cluster.timers = True  # come back once the delay has passed, even if nothing else is written
            continue
        _reconcile(cluster, app)
    gone = _handled.get(id(cluster), set()) - handled
    for uid in gone:
        argosync.forget(uid)
    for key in [k for k in _seen if k[0] in gone]:
        del _seen[key]
    _handled[id(cluster)] = handled


def _finalize(cluster: Cluster, app: dict[str, Any]) -> None:
    finalizers = app["metadata"].get("finalizers") or []
    kept = [f for f in finalizers if not f.startswith(FINALIZER_PREFIXES)]
    if kept == finalizers:
        return
    cascade = any(f.startswith(argosync.RESOURCES_FINALIZER) for f in finalizers)
    if cascade and argosync.handles(cluster, app):
        if not argosync.delete_resources(cluster, app, control_plane_namespace(cluster)):
            return  # the managed objects go first (reverse wave order), then the finalizer
        argosync.forget(app["metadata"]["uid"])
    rtype = cluster.rtype(APPS)
    if not kept:
        cluster.unstore(rtype, app)
        return
    new = copy.deepcopy(app)
    new["metadata"]["finalizers"] = kept
    cluster.store(rtype, new, "MODIFIED")


def _sources(spec: dict[str, Any]) -> list[dict[str, Any]]:
    if spec.get("sources"):
        return [s for s in spec["sources"] if isinstance(s, dict)]
    return [spec["source"]] if isinstance(spec.get("source"), dict) else []


def _source_problem(source: dict[str, Any], field: str, multi: bool) -> str | None:
    if not source.get("repoURL"):
        return f"{field}.repoURL is required"
    if source.get("path") or source.get("chart") or (multi and source.get("ref")):
        return None
    return f"{field} needs a path (Git directory) or a chart (Helm repository)"


def _project_problem(cluster: Cluster, app: dict[str, Any], sources: list[dict[str, Any]]) -> str | None:
    name = (app.get("spec") or {}).get("project") or ""
    if not name:
        return "spec.project is required"
    if PROJECTS not in cluster.by_gr:
        return None
    control = control_plane_namespace(cluster)
    project = cluster.lookup(PROJECTS, control, name)
    if project is None and name != "default":
        return f"Application referencing project {name} which does not exist"
    pspec = (project or {}).get("spec") or {}
    problem = _namespace_problem(app, control, name, pspec)
    if problem or project is None:
        return problem
    allowed = [str(r) for r in pspec.get("sourceRepos") or []]
    for source in sources:
        repo = str(source["repoURL"])
        if not any(fnmatchcase(repo, pattern) for pattern in allowed):
            return f"application repo {repo} is not permitted in project '{name}'"
    return _destination_problem(name, pspec, (app.get("spec") or {}).get("destination") or {})


def _namespace_problem(app: dict[str, Any], control: str, project: str, pspec: dict[str, Any]) -> str | None:
    """``AppProject.IsAppNamespacePermitted``: the control plane's namespace, or one of sourceNamespaces."""
    namespace = app["metadata"]["namespace"]
    if namespace == control or any(fnmatchcase(namespace, str(p)) for p in pspec.get("sourceNamespaces") or []):
        return None
    name = app["metadata"]["name"]
    return f"application '{name}' in namespace '{namespace}' is not permitted to use project '{project}'"


def _destination_problem(project: str, pspec: dict[str, Any], dest: dict[str, Any]) -> str | None:
    namespace = str(dest.get("namespace") or "")
    for allowed in pspec.get("destinations") or []:
        if dest.get("server"):
            target_ok = fnmatchcase(str(dest["server"]), str(allowed.get("server") or ""))
        else:
            target_ok = fnmatchcase(str(dest.get("name") or ""), str(allowed.get("name") or ""))
        if target_ok and fnmatchcase(namespace, str(allowed.get("namespace") or "")):
            return None
    target = f"server '{dest['server']}'" if dest.get("server") else f"name '{dest.get('name', '')}'"
    return (
        f"application destination {target} and namespace '{namespace}' do not match any of the allowed "
        f"destinations in project '{project}'"
    )


def spec_problem(cluster: Cluster, app: dict[str, Any]) -> str | None:
    """Return why Argo CD would refuse the Application's spec, or None when it is valid."""
    spec = app.get("spec") or {}
    multi = bool(spec.get("sources"))
    sources = _sources(spec)
    if not sources:
        return "spec.source or spec.sources is required"
    for index, source in enumerate(sources):
        problem = _source_problem(source, f"spec.sources[{index}]" if multi else "spec.source", multi)
        if problem:
            return problem
    dest = spec.get("destination") or {}
    if not dest.get("server") and not dest.get("name"):
        return "spec.destination needs a server or a name"
    namespace = dest.get("namespace") or ""
    if namespace and not DNS_LABEL.match(str(namespace)):
        return f"spec.destination.namespace {namespace!r} is not a valid namespace name (DNS-1123 label)"
    return _project_problem(cluster, app, sources)


def _source_type(source: dict[str, Any]) -> str:
    if source.get("chart") or source.get("helm"):
        return "Helm"
    if source.get("kustomize"):
        return "Kustomize"
    if source.get("plugin"):
        return "Plugin"
    return "Directory"


def _revision(source: dict[str, Any]) -> str:
    return str(source.get("targetRevision") or "HEAD")


def _compared(spec: dict[str, Any], sources: list[dict[str, Any]], multi: bool) -> dict[str, Any]:
    """``status.sync.comparedTo``: ``ApplicationSpec.BuildComparedToStatus`` (pkg/apis/application/v1alpha1/
    types.go, v3.4.4) copies the destination, the ignoreDifferences (omitempty) and the source or sources."""
    compared: dict[str, Any] = {"destination": copy.deepcopy(spec.get("destination") or {})}
    if spec.get("ignoreDifferences"):
        compared["ignoreDifferences"] = copy.deepcopy(spec["ignoreDifferences"])
    if multi:
        compared["sources"] = copy.deepcopy(sources)
    else:
        compared["source"] = copy.deepcopy(sources[0])
    return compared


def desired_status(cluster: Cluster, app: dict[str, Any]) -> dict[str, Any] | None:
    """The status Argo CD's application controller would write for ``app`` (without timestamps set).

    Helm chart Applications are rendered, applied and compared by ``argosync.py`` (None while the
    chart renders); the others get a status from the spec alone.
    """
    spec = app.get("spec") or {}
    old = app.get("status") or {}
    problem = spec_problem(cluster, app)
    status: dict[str, Any] = {"controllerNamespace": control_plane_namespace(cluster), "summary": {}}
    if problem:
        return argosync.invalid_spec(status, old, problem)
    multi = bool(spec.get("sources"))
    sources = _sources(spec)
    if argosync.handles(cluster, app):
        return argosync.sync_status(cluster, app, _base(status, spec, sources, multi), status["controllerNamespace"])
    # `automated: {}` turns auto-sync on: Argo CD looks at the key, not at what it holds
    automated = (spec.get("syncPolicy") or {}).get("automated")
    synced = (isinstance(automated, dict) and automated.get("enabled", True) is not False) or bool(app.get("operation"))
    sync: dict[str, Any] = {
        "status": "Synced" if synced else "OutOfSync",
        "comparedTo": _compared(spec, sources, multi),
    }
    if multi:
        sync["revisions"] = [_revision(s) for s in sources]
        status["sourceTypes"] = [_source_type(s) for s in sources]
    else:
        sync["revision"] = _revision(sources[0])
        status["sourceType"] = _source_type(sources[0])
    status["sync"] = sync
    status["health"] = {"status": "Healthy" if synced else "Missing"}
    if synced:
        status["operationState"] = _operation_state(app, sync, sources, multi)
    elif old.get("operationState"):
        status["operationState"] = old["operationState"]
    return status


def _base(status: dict[str, Any], spec: dict[str, Any], sources: list[dict[str, Any]], multi: bool) -> dict[str, Any]:
    sync: dict[str, Any] = {"status": "Unknown", "comparedTo": _compared(spec, sources, multi)}
    if multi:
        sync["revisions"] = [_revision(s) for s in sources]
        status["sourceTypes"] = [_source_type(s) for s in sources]
    else:
        sync["revision"] = _revision(sources[0])
        status["sourceType"] = _source_type(sources[0])
    status["sync"] = sync
    return status


def _operation_state(
    app: dict[str, Any], sync: dict[str, Any], sources: list[dict[str, Any]], multi: bool
) -> dict[str, Any]:
    requested = app.get("operation") or {}
    operation: dict[str, Any] = copy.deepcopy(requested) or {
        "initiatedBy": {"automated": True},
        "retry": {"limit": 5},
    }
    result: dict[str, Any] = {"resources": []}
    if multi:
        operation.setdefault("sync", {})["revisions"] = list(sync["revisions"])
        result.update({"revisions": list(sync["revisions"]), "sources": copy.deepcopy(sources)})
    else:
        operation.setdefault("sync", {})["revision"] = sync["revision"]
        result.update({"revision": sync["revision"], "source": copy.deepcopy(sources[0])})
    return {"operation": operation, "phase": "Succeeded", "message": SYNCED_MESSAGE, "syncResult": result}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _stamp(status: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    stamp = now()
    status["reconciledAt"] = stamp
    for cond in status.get("conditions") or []:
        previous = next((c for c in old.get("conditions") or [] if _strip(c) == cond), None)
        cond["lastTransitionTime"] = (previous or {}).get("lastTransitionTime", stamp)
    state = status.get("operationState")
    if state and state is not old.get("operationState"):
        kept = old.get("operationState") or {}
        same = _strip(kept) == _strip(state)
        state["startedAt"] = kept.get("startedAt", stamp) if same else stamp
        # controller/appcontroller.go setOperationState: finishedAt only once the phase is Completed
        if state.get("phase") in COMPLETED:
            state["finishedAt"] = kept.get("finishedAt", stamp) if same else stamp
    return status


def _reconcile(cluster: Cluster, app: dict[str, Any]) -> None:
    old = app.get("status") or {}
    status = desired_status(cluster, app)
    if status is None:
        return
    if _strip(status) == _strip(old) and not app.get("operation"):
        return
    new = copy.copy(app)
    new["metadata"] = copy.copy(app["metadata"])
    new.pop("operation", None)
    new["status"] = _stamp(status, old)
    cluster.store(cluster.rtype(APPS), new, "MODIFIED")
