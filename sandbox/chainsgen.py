"""Writes the stand-in Tekton Chains release under ``sandbox/releases/tekton-releases/chains/``.

``python -m sandbox.chainsgen`` regenerates it. It mirrors the upstream release file of Tekton
Chains v0.29.2 (built from tektoncd/chains ``config/``: ``100-deployment.yaml``,
``100-rolebinding.yaml``, ``config-*.yaml``, ``observability-service.yaml``): the
``tekton-chains`` namespace, the empty ``signing-secrets`` Secret the controller mounts, the
``chains-config`` ConfigMap without data, the RBAC, the controller Deployment with its volumes
and its own securityContext (``runAsUser: 65532``, no ``runAsNonRoot``, no seccomp profile, no
dropped capabilities - which is why the role labels the namespace ``baseline``) and the metrics
Service. The image is named like upstream's ``ghcr.io/tektoncd/chains/...`` but never pulled here.
"""

from __future__ import annotations

from sandbox.tektongen import ROOT, Doc, binding, config_map, meta, role, service_account, write

CHAINS = "v0.29.2"
NS = "tekton-chains"
BASE = {"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": "tekton-chains"}
CTRL = {"app.kubernetes.io/component": "controller", **BASE}
SELECTOR = {"app.kubernetes.io/name": "controller", **CTRL}


def controller() -> Doc:
    labels = {**SELECTOR, "pipeline.tekton.dev/release": CHAINS, "version": CHAINS}
    env: list[Doc] = [
        {"name": "TUF_ROOT", "value": "/home/nonroot/.sigstore/root"},
        {"name": "SYSTEM_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "METRICS_DOMAIN", "value": "tekton.dev/chains"},
        {"name": "CONFIG_OBSERVABILITY_NAME", "value": "tekton-chains-config-observability"},
        {"name": "CONFIG_LEADERELECTION_NAME", "value": "tekton-chains-config-leader-election"},
        {"name": "KUBERNETES_MIN_VERSION", "value": "v1.28.0"},
    ]
    container = {
        "name": "tekton-chains-controller",
        "image": f"ghcr.io/tektoncd/chains/controller:{CHAINS}",
        "volumeMounts": [
            {"name": "signing-secrets", "mountPath": "/etc/signing-secrets"},
            {"name": "oidc-info", "mountPath": "/var/run/sigstore/cosign"},
            {"name": "sigstore-cache", "mountPath": "/home/nonroot/.sigstore"},
        ],
        "env": env,
        "ports": [{"name": "metrics", "containerPort": 9090}],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
        },
    }
    token = {"serviceAccountToken": {"path": "oidc-token", "expirationSeconds": 600, "audience": "sigstore"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("tekton-chains-controller", NS, labels),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": SELECTOR},
            "template": {
                "metadata": {
                    "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                    "labels": {"app": "tekton-chains-controller", **labels},
                },
                "spec": {
                    "serviceAccountName": "tekton-chains-controller",
                    "containers": [container],
                    "volumes": [
                        {"name": "signing-secrets", "secret": {"secretName": "signing-secrets"}},
                        {"name": "sigstore-cache", "emptyDir": {"medium": "Memory", "sizeLimit": "50Mi"}},
                        {"name": "oidc-info", "projected": {"sources": [token]}},
                    ],
                },
            },
        },
    }


def chains() -> list[Doc]:
    tekton = ["tasks", "clustertasks", "taskruns", "pipelines", "pipelineruns", "pipelineresources", "conditions"]
    rw = ["get", "list", "create", "update", "delete", "patch", "watch"]
    sa = "tekton-chains-controller"
    docs: list[Doc] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": BASE}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("signing-secrets", NS, BASE)},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("chains-config", NS, BASE)},
        binding("ClusterRoleBinding", f"{sa}-cluster-access", None, CTRL, f"{sa}-cluster-access", sa, NS),
        role(
            "ClusterRole",
            f"{sa}-cluster-access",
            None,
            CTRL,
            [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
                {"apiGroups": ["tekton.dev"], "resources": [*tekton, "runs"], "verbs": rw},
                {
                    "apiGroups": ["tekton.dev"],
                    "resources": ["taskruns/finalizers", "pipelineruns/finalizers", "runs/finalizers"],
                    "verbs": rw,
                },
                {"apiGroups": ["tekton.dev"], "resources": [f"{r}/status" for r in [*tekton, "runs"]], "verbs": rw},
            ],
        ),
        role(
            "ClusterRole",
            f"{sa}-tenant-access",
            None,
            CTRL,
            [
                {"apiGroups": [""], "resources": ["pods", "pods/log", "events", "persistentvolumeclaims"], "verbs": rw},
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "limitranges", "secrets", "serviceaccounts"],
                    "verbs": ["get", "list", "watch"],
                },
                {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": rw},
            ],
        ),
        binding("ClusterRoleBinding", f"{sa}-tenant-access", None, CTRL, f"{sa}-tenant-access", sa, NS),
        service_account(sa, NS, CTRL),
        role(
            "Role",
            "tekton-chains-leader-election",
            NS,
            BASE,
            [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": rw}],
        ),
        binding("RoleBinding", f"{sa}-leaderelection", NS, CTRL, "tekton-chains-leader-election", sa, NS),
        role(
            "Role",
            "tekton-chains-info",
            NS,
            BASE,
            [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["chains-info"], "verbs": ["get"]}],
        ),
    ]
    info = binding("RoleBinding", "tekton-chains-info", NS, BASE, "tekton-chains-info", "x", NS)
    info["subjects"] = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]
    example = "################################\n# see the upstream release for the documented keys\n"
    docs += [
        info,
        config_map("chains-info", NS, BASE, {"version": CHAINS}),
        config_map("tekton-chains-config-leader-election", NS, BASE, {"_example": example}),
        config_map(
            "config-logging",
            NS,
            BASE,
            {"zap-logger-config": '{\n  "level": "info",\n  "encoding": "json"\n}\n', "loglevel.controller": "info"},
        ),
        config_map(
            "tekton-chains-config-observability", NS, BASE, {"metrics-protocol": "prometheus", "_example": example}
        ),
        controller(),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta("tekton-chains-metrics", NS, {**BASE, "app": "tekton-chains-controller"}),
            "spec": {
                "ports": [{"name": "http-metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}],
                "selector": SELECTOR,
            },
        },
    ]
    return docs


def main() -> int:
    write(ROOT / "chains" / "previous" / CHAINS / "release.yaml", chains())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
