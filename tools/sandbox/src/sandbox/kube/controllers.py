"""Emulated controllers: what kube-controller-manager, the scheduler and kubelets would do.

``reconcile(cluster, ca_pem)`` runs from the emulator's ``tick()`` (about every 100 ms) and only
writes when something actually changes, so an idle cluster emits no watch events.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import re
import secrets
import time
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox import imageref
from sandbox.kube import applicationset, argocd
from sandbox.kube.cluster import NS_GR, Cluster, Op, now
from sandbox.kube.errors import KubeError
from sandbox.kube.scheduler import unschedulable_message, why_not
from sandbox.kube.selectors import label_selector

CONTROLLER = Op(manager="kube-controller-manager")
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as "
    "the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of "
    "Kubernetes clusters."
)
SAFE = "bcdfghjklmnpqrstvwxz2456789"
LB_DELAY = 1.0
DOBS_DRIVER = "dobs.csi.digitalocean.com"
JOB_RUN = 0.3

_first_seen: dict[str, float] = {}


def _age(uid: str) -> float:
    return time.monotonic() - _first_seen.setdefault(uid, time.monotonic())


def template_hash(template: dict[str, Any]) -> str:
    digest = int.from_bytes(hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()[:4], "big")
    return "".join(SAFE[int(c) % len(SAFE)] for c in str(digest))


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned(cluster: Cluster, gr: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
    uid = owner["metadata"]["uid"]
    ns = owner["metadata"].get("namespace", "")
    return [
        o
        for o in cluster.objects(gr, ns)
        if any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences") or [])
    ]


def _set_status(cluster: Cluster, gr: str, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    if obj.get("status") == status:
        return obj
    new = copy.copy(obj)
    new["metadata"] = copy.copy(obj["metadata"])
    new["status"] = status
    return cluster.store(cluster.rtype(gr), new, "MODIFIED")


def _condition(
    kind: str, status: str, reason: str, message: str, old: dict[str, Any] | None, *, probe: bool = True
) -> dict[str, Any]:
    previous = next((c for c in (old or {}).get("conditions") or [] if c.get("type") == kind), None)
    stamp = now()
    if previous and previous.get("status") == status and previous.get("reason") == reason:
        return previous
    cond = {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": stamp}
    if probe:
        cond["lastUpdateTime"] = stamp
    return cond


def _create(cluster: Cluster, gr: str, obj: dict[str, Any]) -> dict[str, Any]:
    # an Op per write: admission's warnings (Pod Security) would pile up on a shared one
    return cluster._create(cluster.rtype(gr), obj, Op(manager=CONTROLLER.manager))


def _create_pod(cluster: Cluster, owner: dict[str, Any], pod: dict[str, Any], failed: str) -> dict[str, Any] | str:
    """Create a controller's pod; an API refusal (Pod Security admission) becomes a ``FailedCreate``
    Warning Event on the owner, worded ``failed`` (``{error}`` is the refusal), and is returned as text.

    As kube-controller-manager: ``controller_utils.go`` CreatePods records ``"Error creating: %v"``
    (ReplicaSets, Jobs, DaemonSets), ``stateful_pod_control.go`` ``"create Pod %s in StatefulSet %s
    failed error: %s"``; the controller retries on its next sync.
    """
    try:
        return _create(cluster, "/pods", pod)
    except KubeError as exc:
        _warning_event(cluster, owner, "FailedCreate", failed.format(error=exc.message))
        return exc.message


def _warning_event(cluster: Cluster, obj: dict[str, Any], reason: str, message: str) -> None:
    """A core/v1 Warning Event about ``obj`` from kube-controller-manager, once per reason and message."""
    meta = obj["metadata"]
    # one Event per refusal, not per attempt: the generated pod name changes on every retry (the real
    # recorder aggregates such similar events too)
    same = re.sub(r'pods "[^"]*"', "pods", message)
    digest = hashlib.sha256(f"{meta['uid']}/{reason}/{same}".encode()).hexdigest()[:16]
    name = f"{meta['name']}.{digest}"
    if cluster.lookup("/events", meta["namespace"], name) is not None:
        return
    stamp = now()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": obj["kind"].lower() + "-controller"},
        "reportingComponent": obj["kind"].lower() + "-controller",
    }
    _create(cluster, "/events", event)


# ------------------------------------------------------------------------------- namespaces


def namespaces(cluster: Cluster, ca_pem: str) -> None:
    for ns in list(cluster.objects(NS_GR)):
        name = ns["metadata"]["name"]
        if ns["metadata"].get("deletionTimestamp"):
            _finalize_namespace(cluster, ns)
            continue
        if cluster.lookup("/serviceaccounts", name, "default") is None:
            _create(
                cluster,
                "/serviceaccounts",
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}},
            )
        if cluster.lookup("/configmaps", name, "kube-root-ca.crt") is None:
            _create(
                cluster,
                "/configmaps",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "namespace": name,
                        "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
                    },
                    "data": {"ca.crt": ca_pem},
                },
            )


def _finalize_namespace(cluster: Cluster, ns: dict[str, Any]) -> None:
    """Delete a terminating namespace's contents, then the namespace (finalizers are honoured)."""
    name = ns["metadata"]["name"]
    waiting = False
    for rtype in list(cluster.by_gr.values()):
        if not rtype.namespaced:
            continue
        for obj in list(cluster.objects(rtype.gr, name)):
            if obj["metadata"].get("finalizers"):
                waiting = True
                if not obj["metadata"].get("deletionTimestamp"):
                    new = copy.deepcopy(obj)
                    new["metadata"]["deletionTimestamp"] = now()
                    cluster.store(rtype, new, "MODIFIED")
                continue
            if cluster.lookup(rtype.gr, name, obj["metadata"]["name"]) is obj:
                cluster._delete_now(rtype, obj, "Background")
    if waiting or ns["metadata"].get("finalizers"):
        return
    cluster.unstore(cluster.rtype(NS_GR), ns)


# ------------------------------------------------------------------------------- workloads


def deployments(cluster: Cluster) -> None:
    for dep in list(cluster.objects("apps/deployments")):
        if dep["metadata"].get("deletionTimestamp"):
            continue
        spec = dep["spec"]
        template = spec.get("template") or {}
        pod_hash = template_hash(template)
        sets = _owned(cluster, "apps/replicasets", dep)
        current = next(
            (rs for rs in sets if rs["metadata"].get("labels", {}).get("pod-template-hash") == pod_hash), None
        )
        revision = max(
            [int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")) for rs in sets]
            + [0]
        )
        replicas = int(spec.get("replicas", 1))
        annotations = {
            "deployment.kubernetes.io/desired-replicas": str(replicas),
            "deployment.kubernetes.io/max-replicas": str(replicas + 1),
        }
        if current is None:
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = pod_hash
            selector = copy.deepcopy(spec.get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = pod_hash
            current = _create(
                cluster,
                "apps/replicasets",
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{dep['metadata']['name']}-{pod_hash}",
                        "namespace": dep["metadata"]["namespace"],
                        "labels": {**(template.get("metadata", {}).get("labels") or {}), "pod-template-hash": pod_hash},
                        "annotations": {**annotations, "deployment.kubernetes.io/revision": str(revision + 1)},
                        "ownerReferences": [_owner(dep)],
                    },
                    "spec": {
                        "replicas": replicas,
                        "minReadySeconds": spec.get("minReadySeconds", 0),
                        "selector": selector,
                        "template": rs_template,
                    },
                },
            )
        elif int(current["spec"].get("replicas", 1)) != replicas:
            new = copy.deepcopy(current)
            new["spec"]["replicas"] = replicas
            new["metadata"].setdefault("annotations", {}).update(annotations)
            new["metadata"]["generation"] = int(new["metadata"].get("generation", 1)) + 1
            current = cluster.store(cluster.rtype("apps/replicasets"), new, "MODIFIED")
        for rs in sets:
            if rs is not current and int(rs["spec"].get("replicas", 0)) != 0:
                new = copy.deepcopy(rs)
                new["spec"]["replicas"] = 0
                new["metadata"]["generation"] = int(new["metadata"].get("generation", 1)) + 1
                cluster.store(cluster.rtype("apps/replicasets"), new, "MODIFIED")
        old_sets = sorted(
            (rs for rs in sets if rs is not current),
            key=lambda r: int(r["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")),
        )
        excess = len(old_sets) - int(spec.get("revisionHistoryLimit", 10))
        for rs in old_sets[: max(0, excess)]:
            cluster._delete_now(cluster.rtype("apps/replicasets"), rs, "Background")
        _deployment_status(cluster, dep, current, sets)


def _deployment_status(
    cluster: Cluster, dep: dict[str, Any], current: dict[str, Any], sets: list[dict[str, Any]]
) -> None:
    replicas = int(dep["spec"].get("replicas", 1))
    rs_status = current.get("status") or {}
    ready = int(rs_status.get("readyReplicas", 0))
    total = sum(int((rs.get("status") or {}).get("replicas", 0)) for rs in sets if rs is not current) + int(
        rs_status.get("replicas", 0)
    )
    old = dep.get("status") or {}
    status: dict[str, Any] = {"observedGeneration": dep["metadata"].get("generation", 1)}
    if total:
        status["replicas"] = total
    if rs_status.get("replicas"):
        status["updatedReplicas"] = int(rs_status.get("replicas", 0))
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    unavailable = max(0, replicas - ready)
    if unavailable:
        status["unavailableReplicas"] = unavailable
    available = ready >= replicas - _max_unavailable(dep["spec"], replicas)
    done = ready >= replicas and total == replicas
    name = current["metadata"]["name"]
    status["conditions"] = [
        _condition(
            "Available",
            "True" if available else "False",
            "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "Deployment has minimum availability." if available else "Deployment does not have minimum availability.",
            old,
        ),
        _condition(
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if done else "ReplicaSetUpdated",
            f'ReplicaSet "{name}" has successfully progressed.' if done else f'ReplicaSet "{name}" is progressing.',
            old,
        ),
    ]
    # progress.go syncRolloutStatus: a ReplicaSet's ReplicaFailure condition is the Deployment's too
    failure = next(
        (
            c
            for rs in [current, *sets]
            for c in (rs.get("status") or {}).get("conditions") or []
            if c.get("type") == "ReplicaFailure" and c.get("status") == "True"
        ),
        None,
    )
    if failure is not None:
        status["conditions"].append(_condition("ReplicaFailure", "True", failure["reason"], failure["message"], old))
    revision = (current["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
    if revision and (dep["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision") != revision:
        new = copy.deepcopy(dep)
        new["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = revision
        dep = cluster.store(cluster.rtype("apps/deployments"), new, "MODIFIED")
    _set_status(cluster, "apps/deployments", dep, status)


def _max_unavailable(spec: dict[str, Any], replicas: int) -> int:
    strategy = spec.get("strategy") or {}
    if strategy.get("type") != "RollingUpdate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return int(replicas * int(value[:-1]) / 100)
    return int(value)


def _pod(
    owner: dict[str, Any], name: str, template: dict[str, Any], labels: dict[str, str], node: str = ""
) -> dict[str, Any]:
    meta = template.get("metadata") or {}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(meta.get("labels") or {}), **labels},
            "ownerReferences": [_owner(owner)],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def replicasets(cluster: Cluster) -> None:
    for rs in list(cluster.objects("apps/replicasets")):
        if rs["metadata"].get("deletionTimestamp"):
            continue
        pods = [p for p in _owned(cluster, "/pods", rs) if not p["metadata"].get("deletionTimestamp")]
        want = int(rs["spec"].get("replicas", 1))
        template = rs["spec"].get("template") or {}
        refused = ""
        for _ in range(want - len(pods)):
            name = f"{rs['metadata']['name']}-{secrets.token_hex(3)[:5]}"
            created = _create_pod(cluster, rs, _pod(rs, name, template, {}), "Error creating: {error}")
            if isinstance(created, str):
                refused = created
                break
            pods.append(created)
        for pod in sorted(pods, key=_pod_ready)[: max(0, len(pods) - want)]:
            cluster._delete_now(cluster.rtype("/pods"), pod, "Background")
            pods.remove(pod)
        ready = sum(1 for p in pods if _pod_ready(p))
        status: dict[str, Any] = {"replicas": len(pods), "observedGeneration": rs["metadata"].get("generation", 1)}
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        if refused:
            # replica_set_utils.go calculateStatus: ReplicaFailure, FailedCreate, the create error
            old = rs.get("status") or {}
            status["conditions"] = [_condition("ReplicaFailure", "True", "FailedCreate", refused, old, probe=False)]
        _set_status(cluster, "apps/replicasets", rs, status)


def statefulsets(cluster: Cluster) -> None:
    for sts in list(cluster.objects("apps/statefulsets")):
        if sts["metadata"].get("deletionTimestamp"):
            continue
        spec = sts["spec"]
        name = sts["metadata"]["name"]
        revision = f"{name}-{template_hash(spec.get('template') or {})}"
        want = int(spec.get("replicas", 1))
        pods = {p["metadata"]["name"]: p for p in _owned(cluster, "/pods", sts)}
        for index in range(want):
            pod_name = f"{name}-{index}"
            pod = pods.get(pod_name)
            if pod is not None and pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                cluster._delete_now(cluster.rtype("/pods"), pod, "Background")
                pod = None
            if pod is None:
                created = _stateful_pod(cluster, sts, index, revision)
                if isinstance(created, str):
                    break  # the controller creates ordinal by ordinal: it waits on the refused one
                pods[pod_name] = created
        for pod_name, pod in list(pods.items()):
            if (
                not pod_name.startswith(f"{name}-")
                or not pod_name.rsplit("-", 1)[-1].isdigit()
                or int(pod_name.rsplit("-", 1)[-1]) >= want
            ):
                cluster._delete_now(cluster.rtype("/pods"), pod, "Background")
                pods.pop(pod_name)
        ready = sum(1 for p in pods.values() if _pod_ready(p))
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "currentReplicas": len(pods),
            "updatedReplicas": len(pods),
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": ready,
        }
        if ready:
            status["readyReplicas"] = ready
        _set_status(cluster, "apps/statefulsets", sts, status)


def _stateful_pod(cluster: Cluster, sts: dict[str, Any], index: int, revision: str) -> dict[str, Any] | str:
    """Create pod ``<name>-<index>`` of a StatefulSet and the claims of its volumeClaimTemplates."""
    spec = sts["spec"]
    ns = sts["metadata"]["namespace"]
    pod_name = f"{sts['metadata']['name']}-{index}"
    labels = {
        "controller-revision-hash": revision,
        "statefulset.kubernetes.io/pod-name": pod_name,
        "apps.kubernetes.io/pod-index": str(index),
    }
    pod = _pod(sts, pod_name, spec.get("template") or {}, labels)
    pod["spec"]["hostname"] = pod_name
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    volumes = pod["spec"].setdefault("volumes", [])
    for claim in spec.get("volumeClaimTemplates") or []:
        template_name = claim["metadata"]["name"]
        claim_name = f"{template_name}-{pod_name}"
        if cluster.lookup("/persistentvolumeclaims", ns, claim_name) is None:
            claim_meta = {
                "name": claim_name,
                "namespace": ns,
                "labels": dict((spec.get("selector") or {}).get("matchLabels") or {}),
            }
            body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta}
            _create(cluster, "/persistentvolumeclaims", {**body, "spec": copy.deepcopy(claim.get("spec") or {})})
        if not any(v.get("name") == template_name for v in volumes):
            volumes.append({"name": template_name, "persistentVolumeClaim": {"claimName": claim_name}})
    if not volumes:
        del pod["spec"]["volumes"]
    failed = f"create Pod {pod_name} in StatefulSet {sts['metadata']['name']} failed error: {{error}}"
    return _create_pod(cluster, sts, pod, failed)


def daemonsets(cluster: Cluster) -> None:
    nodes = list(cluster.objects("/nodes"))
    for ds in list(cluster.objects("apps/daemonsets")):
        if ds["metadata"].get("deletionTimestamp"):
            continue
        template = ds["spec"].get("template") or {}
        revision = template_hash(template)
        pods = _owned(cluster, "/pods", ds)
        by_node = {p["spec"].get("nodeName"): p for p in pods}
        wanted = [n for n in nodes if why_not(template.get("spec") or {}, n) is None]
        wanted_names = {n["metadata"]["name"] for n in wanted}
        for node in wanted:
            node_name = node["metadata"]["name"]
            pod = by_node.get(node_name)
            if pod is not None and pod["metadata"].get("labels", {}).get("controller-revision-hash") != revision:
                cluster._delete_now(cluster.rtype("/pods"), pod, "Background")
                pod = None
            if pod is None:
                name = f"{ds['metadata']['name']}-{secrets.token_hex(3)[:5]}"
                labels = {
                    "controller-revision-hash": revision,
                    "pod-template-generation": str(ds["metadata"].get("generation", 1)),
                }
                created = _create_pod(
                    cluster, ds, _pod(ds, name, template, labels, node_name), "Error creating: {error}"
                )
                if isinstance(created, str):
                    continue
                by_node[node_name] = created
        for node_name, pod in list(by_node.items()):
            if node_name not in wanted_names:
                cluster._delete_now(cluster.rtype("/pods"), pod, "Background")
                by_node.pop(node_name)
        ready = sum(1 for p in by_node.values() if _pod_ready(p))
        status = {
            "observedGeneration": ds["metadata"].get("generation", 1),
            "desiredNumberScheduled": len(wanted),
            "currentNumberScheduled": len(by_node),
            "updatedNumberScheduled": len(by_node),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
        }
        if len(wanted) - ready:
            status["numberUnavailable"] = len(wanted) - ready
        else:
            status.pop("numberUnavailable", None)
        _set_status(cluster, "apps/daemonsets", ds, status)


def jobs(cluster: Cluster) -> None:
    for job in list(cluster.objects("batch/jobs")):
        if job["metadata"].get("deletionTimestamp"):
            continue
        spec = job["spec"]
        old = job.get("status") or {}
        if any(
            c.get("type") in {"Complete", "Failed"} and c.get("status") == "True" for c in old.get("conditions") or []
        ):
            continue
        if spec.get("suspend"):
            continue
        pods = _owned(cluster, "/pods", job)
        completions = int(spec.get("completions") or 1)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in {"Succeeded", "Failed"}]
        parallelism = int(spec.get("parallelism", 1))
        while succeeded + len(active) < completions and len(active) < parallelism:
            name = f"{job['metadata']['name']}-{secrets.token_hex(3)[:5]}"
            created = _create_pod(
                cluster, job, _pod(job, name, spec.get("template") or {}, {}), "Error creating: {error}"
            )
            if isinstance(created, str):
                break
            active.append(created)
        status: dict[str, Any] = {
            "startTime": old.get("startTime") or now(),
            "uncountedTerminatedPods": {},
            "terminating": 0,
        }
        status["ready"] = sum(1 for p in active if _pod_ready(p))
        if active:
            status["active"] = len(active)
        if succeeded:
            status["succeeded"] = succeeded
        if succeeded >= completions:
            stamp = now()
            status["completionTime"] = stamp
            status.pop("active", None)
            status["ready"] = 0
            status["conditions"] = [
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
                {
                    "type": "Complete",
                    "status": "True",
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                    "lastProbeTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ]
        _set_status(cluster, "batch/jobs", job, status)


# ------------------------------------------------------------------------------- pods


def pods(cluster: Cluster) -> None:
    nodes = list(cluster.objects("/nodes"))
    load: dict[str, int] = {}
    for pod in cluster.objects("/pods"):
        node = pod["spec"].get("nodeName")
        if node:
            load[node] = load.get(node, 0) + 1
    for pod in list(cluster.objects("/pods")):
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") in {"Succeeded", "Failed"}:
            continue
        if not pod["spec"].get("nodeName"):
            _schedule(cluster, pod, nodes, load)
        elif status.get("phase") != "Running":
            _start(cluster, pod)
        elif _job_pod(pod):
            if _age(pod["metadata"]["uid"]) >= JOB_RUN:
                _finish(cluster, pod)
            else:
                cluster.timers = True


def _job_pod(pod: dict[str, Any]) -> bool:
    return any(r.get("kind") == "Job" for r in pod["metadata"].get("ownerReferences") or []) or pod["spec"].get(
        "restartPolicy"
    ) in {"Never", "OnFailure"}


def _schedule(cluster: Cluster, pod: dict[str, Any], nodes: list[dict[str, Any]], load: dict[str, int]) -> None:
    fitting = [n for n in nodes if why_not(pod["spec"], n) is None]
    old = pod.get("status") or {}
    if not fitting:
        message = unschedulable_message(pod["spec"], nodes) if nodes else "no nodes available to schedule pods"
        status = {
            "phase": "Pending",
            "qosClass": _qos(pod),
            "conditions": [
                {
                    **_condition("PodScheduled", "False", "Unschedulable", message, old, probe=False),
                    "lastProbeTime": None,
                }
            ],
        }
        _set_status(cluster, "/pods", pod, status)
        return
    node = min(fitting, key=lambda n: (load.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
    name = node["metadata"]["name"]
    load[name] = load.get(name, 0) + 1
    new = copy.deepcopy(pod)
    new["spec"]["nodeName"] = name
    new["status"] = {
        "phase": "Pending",
        "qosClass": _qos(pod),
        "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}],
    }
    cluster.store(cluster.rtype("/pods"), new, "MODIFIED")


def _qos(pod: dict[str, Any]) -> str:
    resources = [c.get("resources") or {} for c in pod["spec"].get("containers") or []]
    if not any(r.get("limits") or r.get("requests") for r in resources):
        return "BestEffort"
    if all(r.get("limits") and r.get("limits") == (r.get("requests") or r.get("limits")) for r in resources):
        return "Guaranteed"
    return "Burstable"


def _ip(cluster: Cluster, name: str, base: str) -> str:
    n = cluster.seq(name)
    return f"{base}.{(n // 250) % 256}.{n % 250 + 2}"


def _image_id(image: str) -> str:
    """What the runtime reports as ``imageID``: ``<repository>@<digest>``, the digest of the reference when it
    names one (a pull by digest gets exactly that content), else one made up from the reference."""
    ref = imageref.parse(image)
    digest = f"sha256:{hashlib.sha256(image.encode()).hexdigest()}"
    if ref is None:
        return f"{image}@{digest}"
    return f"{ref.repository}@{ref.digest or digest}"


def _start(cluster: Cluster, pod: dict[str, Any]) -> None:
    stamp = now()
    node = cluster.lookup("/nodes", "", pod["spec"]["nodeName"]) or {}
    host_ip = next(
        (a["address"] for a in (node.get("status") or {}).get("addresses") or [] if a.get("type") == "InternalIP"),
        "10.110.0.2",
    )
    pod_ip = _ip(cluster, "podip", "10.244")
    conditions = [
        {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
        for kind in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    new = copy.deepcopy(pod)
    new["status"] = {
        "phase": "Running",
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": stamp,
        "qosClass": _qos(pod),
        "containerStatuses": [
            {
                "name": c.get("name"),
                "image": c.get("image"),
                "imageID": _image_id(str(c.get("image"))),
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": stamp}},
                "lastState": {},
            }
            for c in pod["spec"].get("containers") or []
        ],
    }
    _age(pod["metadata"]["uid"])
    cluster.store(cluster.rtype("/pods"), new, "MODIFIED")


def _finish(cluster: Cluster, pod: dict[str, Any]) -> None:
    stamp = now()
    new = copy.deepcopy(pod)
    status = new["status"]
    status["phase"] = "Succeeded"
    for cond in status.get("conditions") or []:
        if cond["type"] in {"Ready", "ContainersReady", "PodReadyToStartContainers"}:
            cond.update({"status": "False", "reason": "PodCompleted", "lastTransitionTime": stamp})
    for cs in status.get("containerStatuses") or []:
        started = (cs.get("state") or {}).get("running", {}).get("startedAt", stamp)
        cs.update(
            {
                "ready": False,
                "started": False,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": started,
                        "finishedAt": stamp,
                        "containerID": cs.get("containerID"),
                    }
                },
            }
        )
    cluster.store(cluster.rtype("/pods"), new, "MODIFIED")


# ------------------------------------------------------------------------------- services, storage, tokens


def services(cluster: Cluster) -> None:
    for svc in list(cluster.objects("/services")):
        spec = svc.get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            if not ingress and _age(svc["metadata"]["uid"]) >= LB_DELAY:
                ip = _ip(cluster, "lbip", "203.0")
                _set_status(cluster, "/services", svc, {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}})
            elif not ingress:
                cluster.timers = True
        if spec.get("selector") and spec.get("type") != "ExternalName":
            _endpoints(cluster, svc)


def _endpoints(cluster: Cluster, svc: dict[str, Any]) -> None:
    ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
    matches = label_selector({"matchLabels": svc["spec"]["selector"]})
    ready, not_ready = [], []
    for pod in cluster.objects("/pods", ns):
        if not matches(pod["metadata"].get("labels") or {}) or not (pod.get("status") or {}).get("podIP"):
            continue
        address = {
            "ip": pod["status"]["podIP"],
            "nodeName": pod["spec"].get("nodeName"),
            "targetRef": {
                "kind": "Pod",
                "name": pod["metadata"]["name"],
                "namespace": ns,
                "uid": pod["metadata"]["uid"],
            },
        }
        (ready if _pod_ready(pod) else not_ready).append(address)
    subsets = []
    if ready or not_ready:
        subset: dict[str, Any] = {
            "ports": [
                {
                    k: v
                    for k, v in {
                        "name": p.get("name"),
                        "port": p.get("targetPort") if isinstance(p.get("targetPort"), int) else p.get("port"),
                        "protocol": p.get("protocol", "TCP"),
                    }.items()
                    if v is not None
                }
                for p in svc["spec"].get("ports") or []
            ]
        }
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: a["ip"])
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: a["ip"])
        subsets.append(subset)
    current = cluster.lookup("/endpoints", ns, name)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})},
    }
    if subsets:
        body["subsets"] = subsets
    if current is None:
        _create(cluster, "/endpoints", body)
    elif current.get("subsets") != body.get("subsets"):
        new = copy.deepcopy(current)
        if subsets:
            new["subsets"] = subsets
        else:
            new.pop("subsets", None)
        cluster.store(cluster.rtype("/endpoints"), new, "MODIFIED")


def ingresses(cluster: Cluster) -> None:
    """An ingress controller publishes its LoadBalancer address into the Ingresses it serves."""
    if not any(cluster.objects("networking.k8s.io/ingressclasses")):
        return
    balancers = sorted(
        (s for s in cluster.objects("/services") if (s.get("spec") or {}).get("type") == "LoadBalancer"),
        key=lambda s: (
            (s["metadata"].get("labels") or {}).get("app.kubernetes.io/name") not in {"traefik", "ingress-nginx"},
            s["metadata"].get("namespace", ""),
            s["metadata"]["name"],
        ),
    )
    address = next(
        (
            ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            for s in balancers
            if ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        ),
        None,
    )
    if not address:
        return
    published = [{"ip": a["ip"]} for a in address if a.get("ip")]
    for ingress in list(cluster.objects("networking.k8s.io/ingresses")):
        if (ingress.get("status") or {}).get("loadBalancer", {}).get("ingress") != published:
            _set_status(cluster, "networking.k8s.io/ingresses", ingress, {"loadBalancer": {"ingress": published}})


def claims(cluster: Cluster) -> None:
    default_class = next(
        (
            sc["metadata"]["name"]
            for sc in cluster.objects("storage.k8s.io/storageclasses")
            if (sc["metadata"].get("annotations") or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
        ),
        None,
    )
    for pvc in list(cluster.objects("/persistentvolumeclaims")):
        if (pvc.get("status") or {}).get("phase") == "Bound" or pvc["metadata"].get("deletionTimestamp"):
            continue
        spec = pvc.get("spec") or {}
        volume = f"pvc-{pvc['metadata']['uid']}"
        storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        storage_class = spec.get("storageClassName") or default_class
        if cluster.lookup("/persistentvolumes", "", volume) is None:
            pv_spec: dict[str, Any] = {
                "capacity": {"storage": storage},
                "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                "persistentVolumeReclaimPolicy": "Delete",
                "volumeMode": spec.get("volumeMode", "Filesystem"),
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "name": pvc["metadata"]["name"],
                    "namespace": pvc["metadata"]["namespace"],
                    "uid": pvc["metadata"]["uid"],
                },
                # the CSI driver's volume handle is the DigitalOcean volume's id (a UUID): the
                # DigitalOcean emulator creates that volume (sandbox/digitalocean/cloud.py)
                "csi": {"driver": DOBS_DRIVER, "volumeHandle": str(uuid.uuid4()), "fsType": "ext4"},
            }
            if storage_class:
                pv_spec["storageClassName"] = storage_class
            pv = _create(
                cluster,
                "/persistentvolumes",
                {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume}, "spec": pv_spec},
            )
            _set_status(cluster, "/persistentvolumes", pv, {"phase": "Bound"})
        new = copy.deepcopy(pvc)
        new["spec"]["volumeName"] = volume
        if storage_class:
            new["spec"].setdefault("storageClassName", storage_class)
        new["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
        new["status"] = {
            "phase": "Bound",
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "capacity": {"storage": storage},
        }
        cluster.store(cluster.rtype("/persistentvolumeclaims"), new, "MODIFIED")


def released(cluster: Cluster) -> None:
    """The persistent-volume controller's reclaim: a bound PV whose claim is gone is deleted
    (``persistentVolumeReclaimPolicy: Delete``, the CSI driver then deletes the disk) or left
    ``Released`` (``Retain``). Kubernetes docs, "Persistent Volumes", Reclaiming."""
    for pv in list(cluster.objects("/persistentvolumes")):
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or pv["metadata"].get("deletionTimestamp"):
            continue
        claim = cluster.lookup("/persistentvolumeclaims", ref.get("namespace", ""), ref.get("name", ""))
        if claim is not None and (not ref.get("uid") or claim["metadata"].get("uid") == ref["uid"]):
            continue
        if pv["spec"].get("persistentVolumeReclaimPolicy", "Retain") == "Delete":
            cluster.unstore(cluster.rtype("/persistentvolumes"), pv)
        elif (pv.get("status") or {}).get("phase") != "Released":
            _set_status(cluster, "/persistentvolumes", pv, {"phase": "Released"})


def tokens(cluster: Cluster, ca_pem: str) -> None:
    for secret in list(cluster.objects("/secrets")):
        if secret.get("type") != "kubernetes.io/service-account-token" or (secret.get("data") or {}).get("token"):
            continue
        account = (secret["metadata"].get("annotations") or {}).get("kubernetes.io/service-account.name")
        if not account:
            continue
        token = secrets.token_urlsafe(48)
        cluster.data["tokens"][token] = None
        new = copy.deepcopy(secret)
        new["data"] = {
            "token": base64.b64encode(token.encode()).decode(),
            "ca.crt": base64.b64encode(ca_pem.encode()).decode(),
            "namespace": base64.b64encode(secret["metadata"]["namespace"].encode()).decode(),
        }
        cluster.store(cluster.rtype("/secrets"), new, "MODIFIED")


# sealed-secrets' key registry (bitnami-labs/sealed-secrets, README "Bring your own certificates"
# and pkg/controller/keyregistry.go): at start the controller reads the kubernetes.io/tls Secrets of
# its namespace labelled sealedsecrets.bitnami.com/sealed-secrets-key=active and generates a new
# key pair (Secret generateName sealed-secrets-key, RSA 4096, the --key-size default) only when
# there is none. A key restored before the controller starts is therefore the one it uses.
SEALED_SECRETS_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SEALED_SECRETS_KEY_SIZE = 4096


def sealed_secrets_keys(cluster: Cluster) -> None:
    for dep in list(cluster.objects("apps/deployments")):
        labels = ((dep["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
        if labels.get("app.kubernetes.io/name") != "sealed-secrets" or dep["metadata"].get("deletionTimestamp"):
            continue
        ns = dep["metadata"]["namespace"]
        running = [
            p
            for p in cluster.objects("/pods", ns)
            if (p.get("status") or {}).get("phase") == "Running"
            and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in labels.items())
        ]
        if not running:
            continue
        keys = [
            s
            for s in cluster.objects("/secrets", ns)
            if (s["metadata"].get("labels") or {}).get(SEALED_SECRETS_KEY_LABEL) == "active"
        ]
        if keys:
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=SEALED_SECRETS_KEY_SIZE)
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealed-secret")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime.now(datetime.UTC))
            .not_valid_after(datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        pem_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        _create(
            cluster,
            "/secrets",
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {
                    # as the API server stores an object created with generateName: both fields set
                    "generateName": "sealed-secrets-key",
                    "name": "sealed-secrets-key" + "".join(secrets.choice(SAFE) for _ in range(5)),
                    "namespace": ns,
                    "labels": {SEALED_SECRETS_KEY_LABEL: "active"},
                },
                "data": {
                    "tls.crt": base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode(),
                    "tls.key": base64.b64encode(pem_key).decode(),
                },
            },
        )


def apiservices(cluster: Cluster) -> None:
    """kube-aggregator's AvailableConditionController (staging/src/k8s.io/kube-aggregator/pkg/controllers/
    status/available_controller.go at v1.31): a local APIService is Available; one backed by a Service is
    Available once the Service exists and its Endpoints have an address."""
    for api in list(cluster.objects("apiregistration.k8s.io/apiservices")):
        ref = (api.get("spec") or {}).get("service")
        if not ref:
            cond = ("True", "Local", "Local APIServices are always available")
        else:
            ns, name = ref.get("namespace", ""), ref.get("name", "")
            endpoints = cluster.lookup("/endpoints", ns, name)
            ready = any(s.get("addresses") for s in (endpoints or {}).get("subsets") or [])
            if cluster.lookup("/services", ns, name) is None:
                cond = ("False", "ServiceNotFound", f'service/{name} in "{ns}" is not present')
            elif not ready:
                cond = ("False", "MissingEndpoints", f'endpoints for service/{name} in "{ns}" have no addresses')
            else:
                cond = ("True", "Passed", "all checks passed")
        old = api.get("status") or {}
        condition = _condition("Available", cond[0], cond[1], cond[2], old, probe=False)
        if condition.get("message") != cond[2]:
            condition = {**condition, "message": cond[2]}
        _set_status(cluster, "apiregistration.k8s.io/apiservices", api, {**old, "conditions": [condition]})


def reconcile(cluster: Cluster, ca_pem: str, passes: int = 6) -> None:
    """Run the controllers until nothing changes (at most ``passes`` rounds).

    A cluster that is quiet (nothing written since, no timer pending) is skipped by ``idle``.
    """
    for _ in range(passes):
        before = cluster.rv
        cluster.timers = False
        _round(cluster, ca_pem)
        if cluster.rv == before:
            cluster.quiet_rv = cluster.rv
            return


def idle(cluster: Cluster) -> bool:
    """Nothing for the controllers to do until the next write."""
    return cluster.quiet_rv == cluster.rv and not cluster.timers


def _round(cluster: Cluster, ca_pem: str) -> None:
    namespaces(cluster, ca_pem)
    deployments(cluster)
    replicasets(cluster)
    statefulsets(cluster)
    daemonsets(cluster)
    jobs(cluster)
    pods(cluster)
    services(cluster)
    ingresses(cluster)
    claims(cluster)
    released(cluster)
    tokens(cluster, ca_pem)
    sealed_secrets_keys(cluster)
    apiservices(cluster)
    applicationset.applicationsets(cluster)
    argocd.applications(cluster)
