"""Resource health as Argo CD computes it (gitops-engine pkg/health at Argo CD v3.4.4).

``resource_health(obj)`` returns ``{"status", "message"?}`` or None for kinds without a built-in
check (ConfigMap, ServiceAccount, RBAC, CRDs, ...): Argo CD gives those no health, and they do not
count in the Application's health. Order of badness (``health.go`` healthOrder): Healthy, Suspended,
Progressing, Missing, Degraded, Unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ORDER = ("Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown")
Health = dict[str, str]


def worse(current: str, new: str) -> bool:
    return ORDER.index(new) > ORDER.index(current)


def _h(status: str, message: str = "") -> Health:
    return {"status": status, "message": message} if message else {"status": status}


def _cond(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def _deployment(obj: dict[str, Any]) -> Health:  # noqa: PLR0911 - upstream's checks, one return each
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return _h("Suspended", "Deployment is paused")
    if int(obj["metadata"].get("generation", 0)) > int(st.get("observedGeneration", 0)):
        return _h(
            "Progressing", "Waiting for rollout to finish: observed deployment generation less than desired generation"
        )
    cond = _cond(obj, "Progressing")
    replicas = spec.get("replicas", 1)
    updated, total, available = (int(st.get(k, 0)) for k in ("updatedReplicas", "replicas", "availableReplicas"))
    if cond and cond.get("reason") == "ProgressDeadlineExceeded":
        return _h("Degraded", f'Deployment "{obj["metadata"]["name"]}" exceeded its progress deadline')
    if updated < replicas:
        return _h(
            "Progressing",
            f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been updated...",
        )
    if total > updated:
        return _h(
            "Progressing", f"Waiting for rollout to finish: {total - updated} old replicas are pending termination..."
        )
    if available < updated:
        return _h(
            "Progressing", f"Waiting for rollout to finish: {available} of {updated} updated replicas are available..."
        )
    return _h("Healthy")


def _statefulset(obj: dict[str, Any]) -> Health:  # noqa: PLR0911 - upstream's checks, one return each
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    observed = int(st.get("observedGeneration", 0))
    if observed == 0 or int(obj["metadata"].get("generation", 0)) > observed:
        return _h("Progressing", "Waiting for statefulset spec update to be observed...")
    replicas, ready = spec.get("replicas", 1), int(st.get("readyReplicas", 0))
    if ready < replicas:
        return _h("Progressing", f"Waiting for {replicas - ready} pods to be ready...")
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    updated = int(st.get("updatedReplicas", 0))
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling is not None:
        if rolling.get("partition") is not None and updated < replicas - int(rolling["partition"]):
            wanted = replicas - int(rolling["partition"])
            return _h(
                "Progressing",
                f"Waiting for partitioned roll out to finish: {updated} out of {wanted} new pods have been updated...",
            )
        return _h("Healthy", f"partitioned roll out complete: {updated} new pods have been updated...")
    if strategy.get("type") == "OnDelete":
        return _h("Healthy", f"statefulset has {ready} ready pods")
    if st.get("updateRevision") != st.get("currentRevision"):
        return _h(
            "Progressing",
            f"waiting for statefulset rolling update to complete {updated} pods at revision "
            f"{st.get('updateRevision')}...",
        )
    current = int(st.get("currentReplicas", 0))
    return _h(
        "Healthy", f"statefulset rolling update complete {current} pods at revision {st.get('currentRevision')}..."
    )


def _daemonset(obj: dict[str, Any]) -> Health:
    spec, st, name = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]["name"]
    if int(obj["metadata"].get("generation", 0)) > int(st.get("observedGeneration", 0)):
        return _h(
            "Progressing", "Waiting for rollout to finish: observed daemon set generation less than desired generation"
        )
    updated, desired = int(st.get("updatedNumberScheduled", 0)), int(st.get("desiredNumberScheduled", 0))
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":
        return _h("Healthy", f"daemon set {updated} out of {desired} new pods have been updated")
    if updated < desired:
        return _h(
            "Progressing",
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods '
            "have been updated...",
        )
    available = int(st.get("numberAvailable", 0))
    if available < desired:
        return _h(
            "Progressing",
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods '
            "are available...",
        )
    return _h("Healthy")


def _replicaset(obj: dict[str, Any]) -> Health:
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    if int(obj["metadata"].get("generation", 0)) > int(st.get("observedGeneration", 0)):
        return _h(
            "Progressing", "Waiting for rollout to finish: observed replica set generation less than desired generation"
        )
    failure = _cond(obj, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return _h("Degraded", str(failure.get("message", "")))
    replicas, available = spec.get("replicas", 1), int(st.get("availableReplicas", 0))
    if available < replicas:
        return _h(
            "Progressing", f"Waiting for rollout to finish: {available} out of {replicas} new replicas are available..."
        )
    return _h("Healthy")


def _pod_failed(st: dict[str, Any]) -> Health:
    if st.get("message"):
        return _h("Degraded", st["message"])
    for ctr in (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or []):
        term = (ctr.get("state") or {}).get("terminated") or {}
        if term.get("message"):
            return _h("Degraded", term["message"])
        if term.get("reason") == "OOMKilled":
            return _h("Degraded", "OOMKilled")
        if term.get("exitCode"):
            return _h("Degraded", f'container "{ctr.get("name")}" failed with exit code {term["exitCode"]}')
    return _h("Degraded")


def _pod(obj: dict[str, Any]) -> Health:  # noqa: PLR0911 - upstream's checks, one return each
    spec, st = obj.get("spec") or {}, obj.get("status") or {}
    policy = spec.get("restartPolicy", "Always")
    if policy == "Always":
        bad = [
            str(w.get("message", ""))
            for c in st.get("containerStatuses") or []
            if (w := (c.get("state") or {}).get("waiting"))
            and (str(w.get("reason", "")).startswith("Err") or str(w.get("reason", "")).endswith(("Error", "BackOff")))
        ]
        if bad:
            return _h("Degraded", ", ".join(bad))
    message = str(st.get("message", ""))
    phase = st.get("phase")
    if phase == "Pending":
        return _h("Progressing", message)
    if phase == "Succeeded":
        return _h("Healthy", message)
    if phase == "Failed":
        return _pod_failed(st)
    if phase == "Running":
        if policy != "Always":
            return _h("Progressing", message)
        ready = _cond(obj, "Ready")
        if ready and ready.get("status") == "True":
            return _h("Healthy", message)
        if any((c.get("lastState") or {}).get("terminated") for c in st.get("containerStatuses") or []):
            return _h("Degraded", message)
        return _h("Progressing", message)
    return _h("Unknown", message)


def _service(obj: dict[str, Any]) -> Health:
    if (obj.get("spec") or {}).get("type") != "LoadBalancer":
        return _h("Healthy")
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    return _h("Healthy" if ingress else "Progressing")


def _ingress(obj: dict[str, Any]) -> Health:
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    return _h("Healthy" if ingress else "Progressing")


def _pvc(obj: dict[str, Any]) -> Health:
    phase = (obj.get("status") or {}).get("phase")
    return _h({"Lost": "Degraded", "Pending": "Progressing", "Bound": "Healthy"}.get(str(phase), "Unknown"))


def _job(obj: dict[str, Any]) -> Health:
    failed = complete = suspended = False
    message = fail_message = ""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        kind = cond.get("type")
        if kind == "Failed":
            failed = complete = True
            fail_message = str(cond.get("message", ""))
        elif kind == "Complete":
            complete, message = True, str(cond.get("message", ""))
        elif kind == "Suspended":
            complete, message = True, str(cond.get("message", ""))
            suspended = cond.get("status") == "True"
    if not complete:
        return _h("Progressing", message)
    if failed:
        return _h("Degraded", fail_message)
    if suspended:
        return _h("Suspended", fail_message)
    return _h("Healthy", message)


def _apiservice(obj: dict[str, Any]) -> Health:
    cond = _cond(obj, "Available")
    if cond is None:
        return _h("Progressing", "Waiting to be processed")
    text = f"{cond.get('reason', '')}: {cond.get('message', '')}"
    return _h("Healthy" if cond.get("status") == "True" else "Progressing", text)


CHECKS: dict[tuple[str, str], Callable[[dict[str, Any]], Health]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _statefulset,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "ReplicaSet"): _replicaset,
    ("extensions", "Ingress"): _ingress,
    ("networking.k8s.io", "Ingress"): _ingress,
    ("apiregistration.k8s.io", "APIService"): _apiservice,
    ("", "Service"): _service,
    ("", "PersistentVolumeClaim"): _pvc,
    ("", "Pod"): _pod,
    ("batch", "Job"): _job,
}


def resource_health(obj: dict[str, Any]) -> Health | None:
    """Argo CD's health of a live object; None when it has no health check."""
    if obj["metadata"].get("deletionTimestamp"):
        return _h("Progressing", "Pending deletion")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    check = CHECKS.get((group, str(obj.get("kind", ""))))
    return check(obj) if check else None
