"""Writes the stand-in Tekton release manifests under ``sandbox/releases/tekton-releases/``.

``python -m sandbox.tektongen`` regenerates them. They mirror the upstream release files
(object kinds, names, namespaces, labels, ConfigMap data keys, container ports and flags) of
Pipelines v1.15.0, Triggers v0.37.0 (``release.yaml`` + ``interceptors.yaml``) and Dashboard
v0.71.0 (``release.yaml`` read-only, ``release-full.yaml`` read-write). Admission webhook
configurations and the webhook HPA are left out: the sandbox runs no admission webhooks.
Images are named like upstream's ``ghcr.io/tektoncd/...`` but are never pulled here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.crdgen import crd, dump, tekton_pipeline, tekton_triggers

ROOT = Path(__file__).resolve().parent / "releases" / "tekton-releases"
PIPELINE, TRIGGERS, DASHBOARD = "v1.15.0", "v0.37.0", "v0.71.0"
NS, RESOLVERS_NS = "tekton-pipelines", "tekton-pipelines-resolvers"
Doc = dict[str, Any]


def meta(name: str, namespace: str | None, labels: dict[str, str]) -> Doc:
    out: Doc = {"name": name}
    if namespace:
        out["namespace"] = namespace
    out["labels"] = labels
    return out


def labels(component: str, part_of: str, version: str, release_key: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": "default",
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/part-of": part_of,
        release_key: version,
    }


def selector(lbl: dict[str, str]) -> dict[str, str]:
    keep = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance")
    return {k: v for k, v in lbl.items() if k in (*keep, "app.kubernetes.io/part-of")}


def namespace(name: str, part_of: str) -> Doc:
    lbl = {
        "app.kubernetes.io/instance": "default",
        "app.kubernetes.io/part-of": part_of,
        "pod-security.kubernetes.io/enforce": "restricted",
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": lbl}}


def service_account(name: str, ns: str, lbl: dict[str, str]) -> Doc:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, ns, lbl)}


def config_map(name: str, ns: str, lbl: dict[str, str], data: dict[str, str]) -> Doc:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name, ns, lbl), "data": data}


def role(kind: str, name: str, ns: str | None, lbl: dict[str, str], rules: list[Doc]) -> Doc:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta(name, ns, lbl), "rules": rules}


def binding(kind: str, name: str, ns: str | None, lbl: dict[str, str], role_name: str, sa: str, sa_ns: str) -> Doc:  # noqa: PLR0917
    role_kind = "ClusterRole" if kind == "ClusterRoleBinding" else "Role"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta(name, ns, lbl),
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
    }


def deployment(  # noqa: PLR0917
    name: str,
    ns: str,
    lbl: dict[str, str],
    sa: str,
    image: str,
    args: list[str],
    ports: dict[str, int],
    env: dict[str, str],
) -> Doc:
    container_env: list[Doc] = [
        {"name": "SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}
    ]
    container_env += [{"name": k, "value": v} for k, v in env.items()]
    pod_labels = {**lbl, "app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, ns, lbl),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(lbl)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": sa,
                    "containers": [
                        {
                            "name": name,
                            "image": image,
                            "args": args,
                            "env": container_env,
                            "ports": [{"name": k, "containerPort": v} for k, v in ports.items()],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                        }
                    ],
                },
            },
        },
    }


def service(name: str, ns: str, lbl: dict[str, str], ports: list[tuple[str, int, Any]]) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(name, ns, {**lbl, "app": name}),
        "spec": {
            "ports": [{"name": n, "port": p, "targetPort": t} for n, p, t in ports],
            "selector": selector(lbl),
        },
    }


def pipeline() -> list[Doc]:
    part, key, ver = "tekton-pipelines", "pipeline.tekton.dev/release", PIPELINE
    base = {"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": part}
    ctrl = labels("controller", part, ver, key)
    hook = labels("webhook", part, ver, key)
    events = labels("events", part, ver, key)
    res = labels("resolvers", part, ver, key)
    img = f"ghcr.io/tektoncd/pipeline/%s:{ver}"
    read = {
        "apiGroups": ["tekton.dev"],
        "resources": ["tasks", "taskruns", "pipelines", "pipelineruns", "customruns", "stepactions"],
        "verbs": ["get", "list", "watch"],
    }
    write = {**read, "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"]}
    docs: list[Doc] = [namespace(NS, part)]
    docs += [
        role(
            "ClusterRole",
            "tekton-pipelines-controller-cluster-access",
            None,
            base,
            [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
                {
                    **write,
                    "resources": [
                        *read["resources"],
                        "taskruns/finalizers",
                        "pipelineruns/finalizers",
                        "taskruns/status",
                        "pipelineruns/status",
                        "customruns/status",
                    ],
                },
                {
                    "apiGroups": ["resolution.tekton.dev"],
                    "resources": ["resolutionrequests", "resolutionrequests/status"],
                    "verbs": ["get", "list", "watch", "create", "delete", "update", "patch"],
                },
            ],
        ),
        role(
            "ClusterRole",
            "tekton-pipelines-controller-tenant-access",
            None,
            base,
            [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "persistentvolumeclaims"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "update", "patch"]},
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "limitranges", "secrets", "serviceaccounts"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["apps"],
                    "resources": ["statefulsets"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
            ],
        ),
        role(
            "ClusterRole",
            "tekton-pipelines-webhook-cluster-access",
            None,
            base,
            [
                {
                    "apiGroups": ["apiextensions.k8s.io"],
                    "resources": ["customresourcedefinitions", "customresourcedefinitions/status"],
                    "verbs": ["get", "list", "update", "patch", "watch"],
                },
                {
                    "apiGroups": ["admissionregistration.k8s.io"],
                    "resources": ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
                    "verbs": ["list", "watch", "get", "update"],
                },
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        role("ClusterRole", "tekton-events-controller-cluster-access", None, base, [read]),
        role(
            "ClusterRole",
            "tekton-aggregate-edit",
            None,
            {
                **base,
                "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                "rbac.authorization.k8s.io/aggregate-to-admin": "true",
            },
            [{**write, "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}],
        ),
        role(
            "ClusterRole",
            "tekton-aggregate-view",
            None,
            {**base, "rbac.authorization.k8s.io/aggregate-to-view": "true"},
            [read],
        ),
        role(
            "ClusterRole",
            "tekton-pipelines-resolvers-resolution-request-updates",
            None,
            base,
            [
                {
                    "apiGroups": ["resolution.tekton.dev"],
                    "resources": ["resolutionrequests", "resolutionrequests/status"],
                    "verbs": ["get", "list", "watch", "update", "patch"],
                },
                {
                    "apiGroups": ["tekton.dev"],
                    "resources": ["tasks", "pipelines", "stepactions"],
                    "verbs": ["get", "list"],
                },
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        role(
            "Role",
            "tekton-pipelines-controller",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch", "get"]},
            ],
        ),
        role(
            "Role",
            "tekton-pipelines-webhook",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch", "get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch", "get", "update"]},
            ],
        ),
        role(
            "Role",
            "tekton-pipelines-events-controller",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "watch", "get"]},
            ],
        ),
        role(
            "Role",
            "tekton-pipelines-leader-election",
            NS,
            base,
            [
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
            ],
        ),
        role(
            "Role",
            "tekton-pipelines-info",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["pipelines-info"], "verbs": ["get"]},
            ],
        ),
    ]
    for sa in ("tekton-pipelines-controller", "tekton-pipelines-webhook", "tekton-events-controller"):
        docs.append(service_account(sa, NS, base))
    docs += [
        binding(
            "ClusterRoleBinding",
            "tekton-pipelines-controller-cluster-access",
            None,
            base,
            "tekton-pipelines-controller-cluster-access",
            "tekton-pipelines-controller",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-pipelines-controller-tenant-access",
            None,
            base,
            "tekton-pipelines-controller-tenant-access",
            "tekton-pipelines-controller",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-pipelines-webhook-cluster-access",
            None,
            base,
            "tekton-pipelines-webhook-cluster-access",
            "tekton-pipelines-webhook",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-events-controller-cluster-access",
            None,
            base,
            "tekton-events-controller-cluster-access",
            "tekton-events-controller",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-controller",
            NS,
            base,
            "tekton-pipelines-controller",
            "tekton-pipelines-controller",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-webhook",
            NS,
            base,
            "tekton-pipelines-webhook",
            "tekton-pipelines-webhook",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-events-controller",
            NS,
            base,
            "tekton-pipelines-events-controller",
            "tekton-events-controller",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-controller-leaderelection",
            NS,
            base,
            "tekton-pipelines-leader-election",
            "tekton-pipelines-controller",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-webhook-leaderelection",
            NS,
            base,
            "tekton-pipelines-leader-election",
            "tekton-pipelines-webhook",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-events-controller-leaderelection",
            NS,
            base,
            "tekton-pipelines-leader-election",
            "tekton-events-controller",
            NS,
        ),
    ]
    info = binding("RoleBinding", "tekton-pipelines-info", NS, base, "tekton-pipelines-info", "x", NS)
    info["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]
    docs.append(info)
    docs += tekton_pipeline()
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("webhook-certs", NS, base)})
    flags = {
        "coschedule": "workspaces",
        "disable-creds-init": "false",
        "await-sidecar-readiness": "true",
        "running-in-environment-with-injected-sidecars": "true",
        "require-git-ssh-secret-known-hosts": "false",
        "enable-tekton-oci-bundles": "false",
        "enable-api-fields": "beta",
        "send-cloudevents-for-runs": "true",
        "trusted-resources-verification-no-match-policy": "ignore",
        "enable-provenance-in-status": "true",
        "enforce-nonfalsifiability": "none",
        "results-from": "termination-message",
        "set-security-context": "false",
        "set-security-context-read-only-root-filesystem": "false",
        "keep-pod-on-cancel": "false",
        "enable-cel-in-whenexpression": "false",
        "enable-artifacts": "false",
        "enable-param-enum": "false",
        "disable-inline-spec": "",
        "enable-concise-resolver-syntax": "false",
        "enable-kubernetes-sidecar": "false",
        "enable-step-actions": "true",
        "enable-wait-exponential-backoff": "false",
        "enable-termination-message-compression": "false",
        "enable-informer-cache-transforms": "true",
    }
    example = "################################\n# see the upstream release for the documented keys\n"
    docs += [
        config_map("config-defaults", NS, base, {"_example": example}),
        config_map("config-events", NS, base, {"_example": example}),
        config_map("feature-flags", NS, base, flags),
        config_map("pipelines-info", NS, base, {"version": ver}),
        config_map("config-leader-election-controller", NS, base, {"_example": example}),
        config_map("config-leader-election-events", NS, base, {"_example": example}),
        config_map("config-leader-election-webhook", NS, base, {"_example": example}),
        config_map(
            "config-logging",
            NS,
            base,
            {
                "zap-logger-config": '{\n  "level": "info",\n  "encoding": "json"\n}\n',
                "loglevel.controller": "info",
                "loglevel.webhook": "info",
            },
        ),
        config_map("config-observability", NS, base, {"metrics-protocol": "prometheus", "_example": example}),
        config_map("config-registry-cert", NS, base, {}),
        config_map("config-spire", NS, base, {"_example": example}),
        config_map("config-tracing", NS, base, {"_example": example}),
        config_map(
            "config-wait-exponential-backoff",
            NS,
            base,
            {"duration": "1s", "factor": "2.0", "jitter": "0.0", "steps": "10", "cap": "60s"},
        ),
    ]
    common_env = {
        "CONFIG_LOGGING_NAME": "config-logging",
        "CONFIG_OBSERVABILITY_NAME": "config-observability",
        "KUBERNETES_MIN_VERSION": "v1.28.0",
    }
    docs += [
        deployment(
            "tekton-pipelines-controller",
            NS,
            ctrl,
            "tekton-pipelines-controller",
            img % "controller",
            [
                "-entrypoint-image",
                img % "entrypoint",
                "-nop-image",
                img % "nop",
                "-sidecarlogresults-image",
                img % "sidecarlogresults",
                "-workingdirinit-image",
                img % "workingdirinit",
                "-shell-image",
                "cgr.dev/chainguard/busybox",
            ],
            {"metrics": 9090, "profiling": 8008, "probes": 8080},
            {
                **common_env,
                "CONFIG_DEFAULTS_NAME": "config-defaults",
                "CONFIG_FEATURE_FLAGS_NAME": "feature-flags",
                "CONFIG_LEADERELECTION_NAME": "config-leader-election-controller",
                "METRICS_DOMAIN": "tekton.dev/pipeline",
            },
        ),
        service(
            "tekton-pipelines-controller",
            NS,
            ctrl,
            [("http-metrics", 9090, 9090), ("http-profiling", 8008, 8008), ("probes", 8080, 8080)],
        ),
        deployment(
            "tekton-pipelines-webhook",
            NS,
            hook,
            "tekton-pipelines-webhook",
            img % "webhook",
            [],
            {"metrics": 9090, "profiling": 8008, "https-webhook": 8443, "probes": 8080},
            {
                **common_env,
                "WEBHOOK_PORT": "8443",
                "WEBHOOK_SERVICE_NAME": "tekton-pipelines-webhook",
                "WEBHOOK_SECRET_NAME": "webhook-certs",
                "METRICS_DOMAIN": "tekton.dev/pipeline",
            },
        ),
        service(
            "tekton-pipelines-webhook",
            NS,
            hook,
            [
                ("http-metrics", 9090, "metrics"),
                ("http-profiling", 8008, "profiling"),
                ("https-webhook", 443, "https-webhook"),
                ("probes", 8080, "probes"),
            ],
        ),
        deployment(
            "tekton-events-controller",
            NS,
            events,
            "tekton-events-controller",
            img % "events",
            [],
            {"metrics": 9090, "profiling": 8008, "probes": 8080},
            {
                **common_env,
                "CONFIG_LEADERELECTION_NAME": "config-leader-election-events",
                "METRICS_DOMAIN": "tekton.dev/events",
            },
        ),
        service(
            "tekton-events-controller",
            NS,
            events,
            [("http-metrics", 9090, 9090), ("http-profiling", 8008, 8008), ("probes", 8080, 8080)],
        ),
    ]
    docs.append(namespace(RESOLVERS_NS, part))
    docs += [
        service_account("tekton-pipelines-resolvers", RESOLVERS_NS, base),
        binding(
            "ClusterRoleBinding",
            "tekton-pipelines-resolvers",
            None,
            base,
            "tekton-pipelines-resolvers-resolution-request-updates",
            "tekton-pipelines-resolvers",
            RESOLVERS_NS,
        ),
        role(
            "Role",
            "tekton-pipelines-resolvers-namespace-rbac",
            RESOLVERS_NS,
            base,
            [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "secrets"],
                    "verbs": ["get", "list", "update", "watch"],
                },
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
            ],
        ),
        binding(
            "RoleBinding",
            "tekton-pipelines-resolvers-namespace-rbac",
            RESOLVERS_NS,
            base,
            "tekton-pipelines-resolvers-namespace-rbac",
            "tekton-pipelines-resolvers",
            RESOLVERS_NS,
        ),
        config_map(
            "bundleresolver-config", RESOLVERS_NS, base, {"default-service-account": "default", "default-kind": "task"}
        ),
        config_map(
            "cluster-resolver-config",
            RESOLVERS_NS,
            base,
            {"default-kind": "task", "default-namespace": "", "allowed-namespaces": "", "blocked-namespaces": ""},
        ),
        config_map(
            "resolvers-feature-flags",
            RESOLVERS_NS,
            base,
            {
                "enable-bundles-resolver": "true",
                "enable-hub-resolver": "true",
                "enable-git-resolver": "true",
                "enable-cluster-resolver": "true",
                "enable-http-resolver": "true",
            },
        ),
        config_map("config-leader-election-resolvers", RESOLVERS_NS, base, {"_example": example}),
        config_map(
            "config-logging",
            RESOLVERS_NS,
            base,
            {"zap-logger-config": '{\n  "level": "info",\n  "encoding": "json"\n}\n', "loglevel.controller": "info"},
        ),
        config_map("config-observability", RESOLVERS_NS, base, {"metrics-protocol": "prometheus", "_example": example}),
        config_map(
            "git-resolver-config",
            RESOLVERS_NS,
            base,
            {
                "fetch-timeout": "1m",
                "default-url": "https://github.com/tektoncd/catalog.git",
                "default-revision": "main",
                "scm-type": "github",
                "server-url": "",
                "api-token-secret-name": "",
                "api-token-secret-key": "",
                "api-token-secret-namespace": "default",
                "default-org": "",
            },
        ),
        config_map("http-resolver-config", RESOLVERS_NS, base, {"fetch-timeout": "1m"}),
        config_map(
            "hubresolver-config",
            RESOLVERS_NS,
            base,
            {
                "default-tekton-hub-catalog": "Tekton",
                "default-artifact-hub-task-catalog": "tekton-catalog-tasks",
                "default-artifact-hub-pipeline-catalog": "tekton-catalog-pipelines",
                "default-kind": "task",
                "default-type": "artifact",
            },
        ),
        config_map("resolver-cache-config", RESOLVERS_NS, base, {"max-size": "1000", "ttl": "5m"}),
        deployment(
            "tekton-pipelines-remote-resolvers",
            RESOLVERS_NS,
            res,
            "tekton-pipelines-resolvers",
            img % "resolvers",
            [],
            {"metrics": 9090, "profiling": 8008, "probes": 8080},
            {
                **common_env,
                "CONFIG_LEADERELECTION_NAME": "config-leader-election-resolvers",
                "CONFIG_FEATURE_FLAGS_NAME": "feature-flags",
                "METRICS_DOMAIN": "tekton.dev/resolution",
            },
        ),
        service(
            "tekton-pipelines-remote-resolvers",
            RESOLVERS_NS,
            res,
            [("http-metrics", 9090, 9090), ("http-profiling", 8008, 8008), ("probes", 8080, 8080)],
        ),
    ]
    return docs


def triggers() -> list[Doc]:
    part, key, ver = "tekton-triggers", "triggers.tekton.dev/release", TRIGGERS
    base = {"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": part}
    ctrl = labels("controller", part, ver, key)
    hook = labels("webhook", part, ver, key)
    img = f"ghcr.io/tektoncd/triggers/%s:{ver}"
    all_triggers = {
        "apiGroups": ["triggers.tekton.dev"],
        "resources": [
            "clustertriggerbindings",
            "clusterinterceptors",
            "interceptors",
            "eventlisteners",
            "triggerbindings",
            "triggertemplates",
            "triggers",
            "eventlisteners/finalizers",
        ],
    }
    docs: list[Doc] = [
        role(
            "ClusterRole",
            "tekton-triggers-admin",
            None,
            base,
            [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "services", "events"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "deployments/finalizers"],
                    "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"],
                },
                {**all_triggers, "verbs": ["get", "list", "create", "update", "delete", "patch", "watch"]},
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-core-interceptors",
            None,
            base,
            [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-core-interceptors-secrets",
            None,
            base,
            [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-eventlistener-roles",
            None,
            base,
            [
                {
                    "apiGroups": ["triggers.tekton.dev"],
                    "resources": ["eventlisteners", "triggerbindings", "interceptors", "triggertemplates", "triggers"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["tekton.dev"],
                    "resources": ["pipelineruns", "pipelineresources", "taskruns"],
                    "verbs": ["create"],
                },
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-eventlistener-clusterroles",
            None,
            base,
            [
                {
                    "apiGroups": ["triggers.tekton.dev"],
                    "resources": ["clustertriggerbindings", "clusterinterceptors"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-aggregate-edit",
            None,
            {
                **base,
                "rbac.authorization.k8s.io/aggregate-to-edit": "true",
                "rbac.authorization.k8s.io/aggregate-to-admin": "true",
            },
            [
                {
                    **all_triggers,
                    "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                }
            ],
        ),
        role(
            "ClusterRole",
            "tekton-triggers-aggregate-view",
            None,
            {**base, "rbac.authorization.k8s.io/aggregate-to-view": "true"},
            [{**all_triggers, "verbs": ["get", "list", "watch"]}],
        ),
        role(
            "Role",
            "tekton-triggers-admin-webhook",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "update", "watch"]},
            ],
        ),
        role(
            "Role",
            "tekton-triggers-core-interceptors",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
            ],
        ),
        role(
            "Role",
            "tekton-triggers-info",
            NS,
            base,
            [
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["triggers-info"], "verbs": ["get"]},
            ],
        ),
        service_account("tekton-triggers-controller", NS, base),
        service_account("tekton-triggers-webhook", NS, base),
        service_account("tekton-triggers-core-interceptors", NS, base),
        binding(
            "ClusterRoleBinding",
            "tekton-triggers-controller-admin",
            None,
            base,
            "tekton-triggers-admin",
            "tekton-triggers-controller",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-triggers-webhook-admin",
            None,
            base,
            "tekton-triggers-admin",
            "tekton-triggers-webhook",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-triggers-core-interceptors",
            None,
            base,
            "tekton-triggers-core-interceptors",
            "tekton-triggers-core-interceptors",
            NS,
        ),
        binding(
            "ClusterRoleBinding",
            "tekton-triggers-core-interceptors-secrets",
            None,
            base,
            "tekton-triggers-core-interceptors-secrets",
            "tekton-triggers-core-interceptors",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-triggers-webhook-admin",
            NS,
            base,
            "tekton-triggers-admin-webhook",
            "tekton-triggers-webhook",
            NS,
        ),
        binding(
            "RoleBinding",
            "tekton-triggers-core-interceptors",
            NS,
            base,
            "tekton-triggers-core-interceptors",
            "tekton-triggers-core-interceptors",
            NS,
        ),
    ]
    info = binding("RoleBinding", "tekton-triggers-info", NS, base, "tekton-triggers-info", "x", NS)
    info["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]
    docs.append(info)
    docs += tekton_triggers()
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta("triggers-webhook-certs", NS, base)})
    example = "################################\n# see the upstream release for the documented keys\n"
    docs += [
        config_map("config-defaults-triggers", NS, base, {"_example": example}),
        config_map("feature-flags-triggers", NS, base, {"enable-api-fields": "stable", "labels-exclusion-pattern": ""}),
        config_map("triggers-info", NS, base, {"version": ver}),
        config_map("config-leader-election-triggers-controller", NS, base, {"_example": example}),
        config_map("config-leader-election-triggers-webhook", NS, base, {"_example": example}),
        config_map(
            "config-logging-triggers",
            NS,
            base,
            {
                "zap-logger-config": '{\n  "level": "info",\n  "encoding": "json"\n}\n',
                "loglevel.controller": "info",
                "loglevel.webhook": "info",
                "loglevel.eventlistener": "info",
            },
        ),
        config_map(
            "config-observability-triggers",
            NS,
            base,
            {"metrics.backend-destination": "prometheus", "_example": example},
        ),
        deployment(
            "tekton-triggers-controller",
            NS,
            ctrl,
            "tekton-triggers-controller",
            img % "controller",
            [
                "-logtostderr",
                "-stderrthreshold",
                "INFO",
                "-el-image",
                img % "eventlistenersink",
                "-el-port",
                "8080",
                "-el-security-context=true",
                "-el-events",
                "disable",
                "-period-seconds",
                "10",
                "-failure-threshold",
                "1",
            ],
            {"metrics": 9000},
            {
                "CONFIG_LOGGING_NAME": "config-logging-triggers",
                "CONFIG_OBSERVABILITY_NAME": "config-observability-triggers",
                "CONFIG_DEFAULTS_NAME": "config-defaults-triggers",
                "METRICS_DOMAIN": "tekton.dev/triggers",
                "METRICS_PROMETHEUS_PORT": "9000",
            },
        ),
        service("tekton-triggers-controller", NS, ctrl, [("http-metrics", 9000, 9000)]),
        deployment(
            "tekton-triggers-webhook",
            NS,
            hook,
            "tekton-triggers-webhook",
            img % "webhook",
            [],
            {"https-webhook": 8443},
            {
                "CONFIG_LOGGING_NAME": "config-logging-triggers",
                "WEBHOOK_SERVICE_NAME": "tekton-triggers-webhook",
                "WEBHOOK_SECRET_NAME": "triggers-webhook-certs",
                "METRICS_DOMAIN": "tekton.dev/triggers",
            },
        ),
        service("tekton-triggers-webhook", NS, hook, [("https-webhook", 443, 8443)]),
    ]
    return docs


def interceptors() -> list[Doc]:
    part, key, ver = "tekton-triggers", "triggers.tekton.dev/release", TRIGGERS
    base = {"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": part}
    lbl = labels("core-interceptors", part, ver, key)
    name = "tekton-triggers-core-interceptors"
    dep = deployment(
        name,
        NS,
        lbl,
        name,
        f"ghcr.io/tektoncd/triggers/interceptors:{ver}",
        ["-logtostderr", "-stderrthreshold", "INFO"],
        {"https": 8443},
        {
            "CONFIG_LOGGING_NAME": "config-logging-triggers",
            "CONFIG_OBSERVABILITY_NAME": "config-observability-triggers",
            "METRICS_DOMAIN": "tekton.dev/triggers",
            "INTERCEPTOR_TLS_SVC_NAME": name,
            "INTERCEPTOR_TLS_SECRET_NAME": f"{name}-certs",
        },
    )
    svc = service(name, NS, lbl, [("https", 8443, 8443)])
    docs: list[Doc] = [{"apiVersion": "v1", "kind": "Secret", "metadata": meta(f"{name}-certs", NS, base)}, dep, svc]
    for interceptor in ("cel", "bitbucket", "slack", "github", "gitlab"):
        docs.append(
            {
                "apiVersion": "triggers.tekton.dev/v1alpha1",
                "kind": "ClusterInterceptor",
                "metadata": {"name": interceptor, "labels": {"server/type": "https"}},
                "spec": {
                    "clientConfig": {"service": {"name": name, "namespace": NS, "path": interceptor, "port": 8443}}
                },
            }
        )
    return docs


def dashboard(read_only: bool) -> list[Doc]:
    part, key, ver = "tekton-dashboard", "dashboard.tekton.dev/release", DASHBOARD
    base = {"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": part}
    lbl = labels("dashboard", part, ver, key)
    name = "tekton-dashboard"
    view_rules = [
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list"]},
        {"apiGroups": ["security.openshift.io"], "resources": ["securitycontextconstraints"], "verbs": ["use"]},
        {
            "apiGroups": ["tekton.dev"],
            "resources": ["tasks", "taskruns", "pipelines", "pipelineruns", "customruns", "stepactions"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": ["triggers.tekton.dev"],
            "resources": [
                "clusterinterceptors",
                "clustertriggerbindings",
                "eventlisteners",
                "interceptors",
                "triggerbindings",
                "triggers",
                "triggertemplates",
            ],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": ["dashboard.tekton.dev"], "resources": ["extensions"], "verbs": ["get", "list", "watch"]},
    ]
    edit_rules = [
        {
            "apiGroups": ["tekton.dev"],
            "resources": ["tasks", "taskruns", "pipelines", "pipelineruns", "customruns"],
            "verbs": ["create", "update", "delete", "patch"],
        },
        {
            "apiGroups": ["triggers.tekton.dev"],
            "resources": ["eventlisteners", "triggerbindings", "triggertemplates", "triggers"],
            "verbs": ["create", "update", "delete", "patch"],
        },
    ]
    docs: list[Doc] = [
        role("ClusterRole", "tekton-dashboard-backend-view", None, base, view_rules),
        role(
            "ClusterRole",
            "tekton-dashboard-tenant-view",
            None,
            base,
            [
                {
                    "apiGroups": [""],
                    "resources": ["events", "namespaces", "pods", "pods/log"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        ),
        binding(
            "ClusterRoleBinding", "tekton-dashboard-backend-view", None, base, "tekton-dashboard-backend-view", name, NS
        ),
        binding(
            "ClusterRoleBinding", "tekton-dashboard-tenant-view", None, base, "tekton-dashboard-tenant-view", name, NS
        ),
    ]
    if not read_only:
        docs[1:1] = [role("ClusterRole", "tekton-dashboard-backend-edit", None, base, edit_rules)]
        docs.append(
            binding(
                "ClusterRoleBinding",
                "tekton-dashboard-backend-edit",
                None,
                base,
                "tekton-dashboard-backend-edit",
                name,
                NS,
            )
        )
    ext = crd(
        "dashboard.tekton.dev",
        "Extension",
        ["v1alpha1"],
        {"apiVersion": {"type": "string"}, "name": {"type": "string"}, "displayname": {"type": "string"}},
        short=["ext", "exts"],
        categories=["tekton", "tekton-dashboard"],
    )
    ext["metadata"]["labels"] = {**base, "dashboard.tekton.dev/release": ver, "version": ver}
    docs.append(ext)
    docs.append(service_account(name, NS, base))
    docs.append(config_map("dashboard-info", NS, base, {"version": ver}))
    dep = deployment(
        name,
        NS,
        lbl,
        name,
        f"ghcr.io/tektoncd/dashboard/dashboard:{ver}",
        [
            "--port=9097",
            "--logout-url=",
            "--pipelines-namespace=tekton-pipelines",
            "--triggers-namespace=tekton-pipelines",
            f"--read-only={'true' if read_only else 'false'}",
            "--log-level=info",
            "--log-format=json",
            "--namespaces=",
            "--default-namespace=",
            "--external-logs=",
        ],
        {"web": 9097},
        {"INSTALLED_NAMESPACE": NS},
    )
    docs.append(dep)
    docs.append(service(name, NS, lbl, [("http", 9097, 9097)]))
    return docs


def write(path: Path, docs: list[Doc]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("---\n" + dump(d) for d in docs))


def main() -> int:
    write(ROOT / "pipeline" / "previous" / PIPELINE / "release.yaml", pipeline())
    write(ROOT / "triggers" / "previous" / TRIGGERS / "release.yaml", triggers())
    write(ROOT / "triggers" / "previous" / TRIGGERS / "interceptors.yaml", interceptors())
    write(ROOT / "dashboard" / "previous" / DASHBOARD / "release.yaml", dashboard(read_only=True))
    write(ROOT / "dashboard" / "previous" / DASHBOARD / "release-full.yaml", dashboard(read_only=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
