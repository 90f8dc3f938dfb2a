"""When an Argo CD Application counts as delivered (plugins/module_utils/argocd_app.py), without HTTP.

The rules are Argo CD v3.4.4's: the controller refreshes an Application whose spec.source,
spec.destination or spec.ignoreDifferences differ from status.sync.comparedTo
(``needRefreshAppStatus``, controller/appcontroller.go) and writes comparedTo from the spec when it
compares (``CompareAppState``, controller/state.go); ``argocd app wait`` waits while an operation
is requested, unfinished, or finished after the last reconciliation (``checkAppWaitConditions``,
cmd/argocd/commands/app.go).
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.doks.gitops.plugins.module_utils import argocd_app

SOURCE = {
    "repoURL": "https://charts.example",
    "chart": "traefik",
    "targetRevision": "39.0.0",
    "helm": {"releaseName": "traefik", "valuesObject": {"ingressClass": {"enabled": False}, "extra": {}}},
}
DEST = {"server": "https://kubernetes.default.svc", "namespace": "traefik"}


def app(**status: Any) -> dict[str, Any]:
    """A delivered Application (status as the controller writes it after a sync), with ``status`` overrides."""
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "traefik", "namespace": "argocd"},
        "spec": {"project": "default", "source": copy.deepcopy(SOURCE), "destination": dict(DEST)},
        "status": {
            "sync": {"status": "Synced", "comparedTo": {"source": copy.deepcopy(SOURCE), "destination": dict(DEST)}},
            "health": {"status": "Healthy"},
            "reconciledAt": "2026-12-03T09:00:05Z",
            "operationState": {
                "phase": "Succeeded",
                "message": "successfully synced (all tasks run)",
                "startedAt": "2026-12-03T09:00:01Z",
                "finishedAt": "2026-12-03T09:00:04Z",
            },
        },
    }
    body["status"].update(status)
    return body


def resource(kind: str, health: str, name: str = "x", status: str = "Synced", message: str = "") -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": kind, "namespace": "traefik", "name": name, "status": status}
    entry["health"] = {"status": health, **({"message": message} if message else {})}
    return entry


def test_a_synced_healthy_application_compared_with_its_spec_is_delivered() -> None:
    assert argocd_app.not_ready(app()) is None


def test_a_status_compared_with_the_spec_it_replaced_is_not_trusted() -> None:
    """Just applied new values: the old Synced/Healthy status is about the old source."""
    stale = app()
    stale["spec"]["source"]["helm"]["valuesObject"]["replicas"] = 2
    assert "has not compared its current spec" in (argocd_app.not_ready(stale) or "")
    moved = app()
    moved["spec"]["destination"]["namespace"] = "edge"
    assert argocd_app.not_ready(moved)
    ignored = app()
    ignored["spec"]["ignoreDifferences"] = [{"kind": "Secret", "jsonPointers": ["/data"]}]
    assert argocd_app.not_ready(ignored), "comparedTo.ignoreDifferences is part of the comparison too"
    no_compare = app(sync={"status": "Synced"})
    assert argocd_app.not_ready(no_compare)


def test_multiple_sources_are_compared_with_comparedto_sources() -> None:
    multi = app(sync={"status": "Synced", "comparedTo": {"sources": [copy.deepcopy(SOURCE)], "destination": DEST}})
    multi["spec"]["sources"] = [multi["spec"].pop("source")]
    assert argocd_app.not_ready(multi) is None
    multi["spec"]["sources"].append({"repoURL": "https://git.example/values.git", "ref": "values"})
    assert argocd_app.not_ready(multi)


def test_comparedto_is_read_as_argo_cd_marshals_it() -> None:
    """Go's omitempty drops empty fields of the typed spec, never inside the raw helm.valuesObject."""
    spec_with_empties = app()
    spec_with_empties["spec"]["source"]["helm"]["skipCrds"] = False
    spec_with_empties["spec"]["source"]["path"] = ""
    assert argocd_app.not_ready(spec_with_empties) is None
    values_differ = app()
    del values_differ["spec"]["source"]["helm"]["valuesObject"]["extra"]
    assert argocd_app.not_ready(values_differ), "an empty map in valuesObject is a value"


def test_a_pending_operation_keeps_it_not_ready() -> None:
    requested = app()
    requested["operation"] = {"sync": {"revision": "39.0.0"}}
    assert argocd_app.not_ready(requested) == "a sync operation is requested"
    running = app(operationState={"phase": "Running", "startedAt": "2026-12-03T09:00:01Z"})
    assert argocd_app.not_ready(running) == "its sync operation is Running"
    backoff = app(operationState={"phase": "Running", "finishedAt": "2026-12-03T09:00:04Z", "message": "retrying"})
    assert argocd_app.not_ready(backoff) == "its sync operation is Running", "a retry's back-off is still running"
    not_reconciled = app(reconciledAt="2026-12-03T09:00:03Z")
    assert argocd_app.not_ready(not_reconciled) == "it was not reconciled since its last sync finished"


def test_progressing_is_accepted_only_for_the_kinds_given() -> None:
    ingress = app(
        health={"status": "Progressing"}, resources=[resource("Ingress", "Progressing"), resource("Service", "Healthy")]
    )
    assert argocd_app.not_ready(ingress, ["Ingress"]) is None
    assert argocd_app.not_ready(ingress, []) == "it is Progressing on Ingress"
    rollout = app(
        health={"status": "Progressing"},
        resources=[resource("Ingress", "Progressing"), resource("Deployment", "Progressing")],
    )
    assert argocd_app.not_ready(rollout, ["Ingress"]) == "it is Progressing on Deployment"


def test_degraded_or_out_of_sync_is_not_ready() -> None:
    assert argocd_app.not_ready(app(health={"status": "Degraded"}), ["Ingress"]) == "it is Degraded"
    assert (
        argocd_app.not_ready(app(sync={"status": "OutOfSync", "comparedTo": {"source": SOURCE, "destination": DEST}}))
        == "it is OutOfSync"
    )
    assert argocd_app.not_ready(None) == "it does not exist"
    assert argocd_app.not_ready({"spec": {}}) == "the controller has given it no status yet"


def test_the_timeout_message_names_what_keeps_it_back() -> None:
    bad = app(
        sync={"status": "OutOfSync", "comparedTo": {"source": SOURCE, "destination": DEST}},
        health={"status": "Degraded"},
        operationState={
            "phase": "Failed",
            "message": "one or more objects failed to apply",
            "finishedAt": "2026-12-03T09:00:04Z",
        },
        conditions=[{"type": "SyncError", "message": "Failed sync attempt: one or more objects failed to apply"}],
        resources=[
            resource("Deployment", "Degraded", "traefik", message="Deployment exceeded its progress deadline"),
            resource("Service", "Healthy", "traefik", status="OutOfSync"),
            resource("ConfigMap", "Healthy", "traefik-config"),
            {"kind": "ClusterRole", "name": "traefik", "status": "OutOfSync"},
        ],
    )
    msg = argocd_app.timeout_message(bad, "argocd", "traefik", 300, ["Ingress"])
    assert msg.startswith(
        "Application argocd/traefik is OutOfSync/Degraded after 300s "
        "(wanted Synced/Healthy, or Progressing only for Ingress). Not delivered: it is OutOfSync."
    )
    assert "Last sync: one or more objects failed to apply." in msg
    assert "Conditions: SyncError: Failed sync attempt: one or more objects failed to apply." in msg
    assert msg.endswith(
        "Resources not Synced/Healthy: Deployment/traefik/traefik (Synced, Degraded: Deployment exceeded its progress "
        "deadline); Service/traefik/traefik (OutOfSync, Healthy); ClusterRole/traefik (OutOfSync)."
    )
    assert "traefik-config" not in msg


def test_the_timeout_message_of_a_stale_or_missing_application() -> None:
    stale = app()
    stale["spec"]["source"]["targetRevision"] = "39.0.1"
    msg = argocd_app.timeout_message(stale, "argocd", "traefik", 5)
    assert "is Synced/Healthy after 5s (wanted Synced/Healthy). Not delivered: the controller has not compared" in msg
    assert msg.endswith("Resources not Synced/Healthy: none reported.")
    assert argocd_app.timeout_message(None, "argocd", "gone", 2) == "Application argocd/gone does not exist after 2s."
