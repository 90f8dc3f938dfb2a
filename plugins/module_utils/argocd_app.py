# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether an Argo CD Application is delivered, from the object alone (pure functions).

Used by ``k8s_apply_changed`` (``wait: true``) to wait for the Applications it applies. The
rules follow Argo CD v3.4.4:

* the status must describe the current spec: the application controller itself refreshes an
  Application whose ``spec.source`` (``spec.sources``), ``spec.destination`` or
  ``spec.ignoreDifferences`` differ from ``status.sync.comparedTo`` ("spec.source differs",
  ``needRefreshAppStatus`` in controller/appcontroller.go), and fills ``comparedTo`` from the spec
  when it compares (``CompareAppState`` in controller/state.go, ``ApplicationSpec.BuildComparedToStatus``
  in pkg/apis/application/v1alpha1/types.go). So an Application just applied is not judged on
  the status of the spec it replaced;
* no operation may be pending: ``argocd app wait`` (``checkAppWaitConditions`` in
  cmd/argocd/commands/app.go) waits while ``operation`` is set, while ``status.operationState``
  has not finished, and until the controller reconciled the app once after the operation finished
  (``reconciledAt`` before ``operationState.finishedAt``); a ``Running`` or ``Terminating`` phase
  (gitops-engine pkg/sync/common/types.go ``OperationPhase.Completed``) is pending as well, also
  during a retry's back-off when the controller sets ``finishedAt`` on a Running state;
* sync ``Synced`` and health ``Healthy``; ``Progressing`` is accepted only when every resource of
  ``status.resources`` that is not Healthy has one of the kinds given (an Ingress, say, is
  Progressing until an ingress controller publishes its address).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

APPLICATION_API_VERSION = "argoproj.io/v1alpha1"
APPLICATION_KIND = "Application"
# OperationPhase.Completed (gitops-engine pkg/sync/common/types.go)
COMPLETED_PHASES = ("Succeeded", "Failed", "Error")
# ApplicationSourceHelm.ValuesObject is a runtime.RawExtension: kept as given, empty values included.
RAW_FIELDS = ("valuesObject",)


def is_application(obj: Dict[str, Any]) -> bool:
    return obj.get("apiVersion") == APPLICATION_API_VERSION and obj.get("kind") == APPLICATION_KIND


def _empty(value: Any) -> bool:
    """What Go's ``omitempty`` leaves out: nil, false, 0, "", an empty list or map."""
    return (
        value is None
        or value is False
        or value == ""
        or (type(value) in (int, float) and value == 0)
        or (isinstance(value, (list, dict)) and not value)
    )


def go_json(value: Any) -> Any:
    """``value`` as Argo CD's Go types write it back: fields with an empty value are left out.

    The spec is kept by the API server as it was sent; ``status.sync.comparedTo`` is the same spec
    marshalled from Go structs whose fields are ``omitempty`` (a ``false``, ``0``, ``""``, empty
    list or map disappears). Raw fields (``helm.valuesObject``) are kept as they are.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            kept = item if key in RAW_FIELDS else go_json(item)
            if not _empty(kept):
                out[key] = kept
        return out
    if isinstance(value, list):
        return [go_json(item) for item in value]
    return value


def compared_with_spec(app: Dict[str, Any]) -> bool:
    """Whether ``status.sync.comparedTo`` is the current spec (its sources, destination, ignoreDifferences)."""
    spec = app.get("spec") or {}
    compared = ((app.get("status") or {}).get("sync") or {}).get("comparedTo")
    if not isinstance(compared, dict):
        return False
    fields = ["destination", "ignoreDifferences"]
    fields.append("sources" if spec.get("sources") else "source")
    return all(go_json({f: spec.get(f)}) == go_json({f: compared.get(f)}) for f in fields)


def source_differs(app: Dict[str, Any], source: Optional[Dict[str, Any]]) -> bool:
    """Whether ``spec.source`` is not ``source`` (None: not asked), both as Argo CD's Go types write them."""
    if source is None:
        return False
    return go_json({"source": (app.get("spec") or {}).get("source")}) != go_json({"source": source})


def _time(value: Any) -> Optional[datetime]:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def pending_operation(app: Dict[str, Any]) -> Optional[str]:
    """What operation is still under way, None when none is."""
    if app.get("operation"):
        return "a sync operation is requested"
    status = app.get("status") or {}
    state = status.get("operationState")
    if not isinstance(state, dict) or not state:
        return None
    phase = str(state.get("phase") or "")
    if phase not in COMPLETED_PHASES:
        return "its sync operation is %s" % (phase or "starting")
    finished = _time(state.get("finishedAt"))
    if finished is None:
        return "its sync operation is %s but not finished" % phase
    reconciled = _time(status.get("reconciledAt"))
    if reconciled is None or reconciled < finished:
        return "it was not reconciled since its last sync finished"
    return None


def unhealthy_kinds(app: Dict[str, Any]) -> List[str]:
    """The kinds of the resources of ``status.resources`` whose health is reported and not Healthy."""
    kinds: List[str] = []
    for res in (app.get("status") or {}).get("resources") or []:
        health = res.get("health")
        if isinstance(health, dict) and health.get("status") != "Healthy" and res.get("kind") not in kinds:
            kinds.append(str(res.get("kind")))
    return kinds


def sync_health(app: Dict[str, Any]) -> Tuple[str, str]:
    status = app.get("status") or {}
    return (
        str((status.get("sync") or {}).get("status") or "Unknown"),
        str((status.get("health") or {}).get("status") or "Unknown"),
    )


def stale(app: Optional[Dict[str, Any]]) -> Optional[str]:
    """Why the status does not tell yet how the current spec is delivered, None when it does."""
    if not app:
        return "it does not exist"
    if not app.get("status"):
        return "the controller has given it no status yet"
    if not compared_with_spec(app):
        return "the controller has not compared its current spec yet (status.sync.comparedTo differs)"
    return pending_operation(app)


def delivery_problem(app: Dict[str, Any], progressing_kinds: Sequence[str] = ()) -> Optional[str]:
    """What keeps the status from Synced and Healthy (or Progressing only on ``progressing_kinds``)."""
    sync, health = sync_health(app)
    if sync != "Synced":
        return "it is %s" % sync
    if health == "Progressing":
        others = [k for k in unhealthy_kinds(app) if k not in progressing_kinds]
        return "it is Progressing on %s" % ", ".join(others) if others else None
    return None if health == "Healthy" else "it is %s" % health


def not_ready(app: Optional[Dict[str, Any]], progressing_kinds: Sequence[str] = ()) -> Optional[str]:
    """Why the Application is not delivered yet, None when it is (see the rules above)."""
    return stale(app) or delivery_problem(app or {}, progressing_kinds)


def resource_problems(app: Dict[str, Any]) -> List[str]:
    """``Kind/ns/name (status, health: message)`` for each resource not Synced or not Healthy."""
    bad = []
    for res in (app.get("status") or {}).get("resources") or []:
        health = res.get("health") if isinstance(res.get("health"), dict) else None
        status = res.get("status") or "Synced"
        if status == "Synced" and (health is None or health.get("status", "Healthy") == "Healthy"):
            continue
        where = "%s/%s" % (res.get("namespace"), res.get("name")) if res.get("namespace") else str(res.get("name"))
        detail = str(res.get("status") or "Unknown")
        if health is not None:
            detail += ", %s" % health.get("status")
            if health.get("message"):
                detail += ": %s" % health["message"]
        bad.append("%s/%s (%s)" % (res.get("kind"), where, detail))
    return bad


def timeout_message(
    app: Optional[Dict[str, Any]],
    namespace: str,
    name: str,
    timeout: int,
    progressing_kinds: Sequence[str] = (),
) -> str:
    """The failure of a wait that ran out of time, with what the Application reports."""
    if not app:
        return "Application %s/%s does not exist after %ss." % (namespace, name, timeout)
    sync, health = sync_health(app)
    wanted = "Synced/Healthy"
    if progressing_kinds:
        wanted += ", or Progressing only for " + ", ".join(progressing_kinds)
    parts = [
        "Application %s/%s is %s/%s after %ss (wanted %s). Not delivered: %s."
        % (namespace, name, sync, health, timeout, wanted, not_ready(app, progressing_kinds) or "it is now")
    ]
    status = app.get("status") or {}
    message = (status.get("operationState") or {}).get("message")
    if message:
        parts.append("Last sync: %s." % message)
    conditions = ["%s: %s" % (c.get("type"), c.get("message", "")) for c in status.get("conditions") or []]
    if conditions:
        parts.append("Conditions: %s." % "; ".join(conditions))
    bad = resource_problems(app)
    parts.append("Resources not Synced/Healthy: %s." % ("; ".join(bad) if bad else "none reported"))
    return " ".join(parts)
