"""Writes the stand-in CustomResourceDefinitions from the short descriptions below.

``python -m sandbox.crdgen`` (re)writes ``sandbox/charts/<chart>/crds/*.yaml`` (cert-manager:
``templates/crd-*.yaml`` gated by ``crds.enabled`` / ``crds.keep`` like upstream) and
``python -m sandbox.crdgen tekton-pipeline|tekton-triggers`` prints the Tekton CRDs that the
release manifests under ``sandbox/releases/`` embed. The schemas are hand-written and cover the
fields the platform sets; everything else is kept with ``x-kubernetes-preserve-unknown-fields``.
Exceptions: the ``v1`` versions of Tekton's Task, Pipeline, TaskRun and PipelineRun take the shape
of the real v1.15.0 CRDs from ``sandbox/kube/tekton_v1.json`` (see ``sandbox/tektontypes.py``),
and the Triggers CRDs preserve everything at the root like upstream's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from sandbox import crdmodels, crdts

CHARTS = Path(__file__).resolve().parent / "charts"
TEKTON_V1 = Path(__file__).resolve().parent / "kube" / "tekton_v1.json"
OBJ: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
STRS = {"type": "array", "items": STR}
OBJS = {"type": "array", "items": OBJ}
MAP = {"type": "object", "additionalProperties": STR}


def obj(props: dict[str, Any], required: list[str] | None = None, open_: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    if open_:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    return schema


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SECRET_REF = obj({"name": STR, "key": STR}, ["name"], open_=False)
ISSUER_SPEC = obj(
    {
        "acme": obj(
            {
                "server": STR,
                "email": STR,
                "privateKeySecretRef": SECRET_REF,
                "solvers": arr(
                    obj(
                        {
                            "selector": OBJ,
                            "http01": obj({"ingress": obj({"ingressClassName": STR, "class": STR})}),
                            "dns01": obj({"digitalocean": obj({"tokenSecretRef": SECRET_REF}, ["tokenSecretRef"])}),
                        }
                    )
                ),
            },
            ["server", "privateKeySecretRef"],
        ),
        "ca": obj({"secretName": STR}, ["secretName"]),
        "selfSigned": OBJ,
    }
)
ISSUER_REF = obj({"name": STR, "kind": STR, "group": STR}, ["name"], open_=False)
PROM_PLACEMENT = {"nodeSelector": MAP, "tolerations": OBJS, "affinity": OBJ, "resources": OBJ}
SELECTOR = obj({"matchLabels": MAP, "matchExpressions": OBJS})
ENDPOINT = obj({"port": STR, "targetPort": {"x-kubernetes-int-or-string": True}, "path": STR, "interval": STR})
TEKTON_PARAMS = arr(obj({"name": STR, "value": {"x-kubernetes-preserve-unknown-fields": True}}, ["name"]))
TEKTON_REF = obj({"name": STR, "kind": STR, "resolver": STR, "params": TEKTON_PARAMS})


def crd(
    group: str,
    kind: str,
    versions: list[str],
    spec: dict[str, Any] | None = None,
    *,
    plural: str | None = None,
    scope: str = "Namespaced",
    short: list[str] | None = None,
    categories: list[str] | None = None,
    storage: str | None = None,
    required: list[str] | None = None,
    top: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    status_subresource: bool = True,
) -> dict[str, Any]:
    """One CRD; ``versions`` are served, ``storage`` (default: the first) is stored.

    ``status_subresource=False`` for kinds whose upstream CRD keeps status in the main object
    (Argo CD's Application and AppProject: the controller writes status with ordinary updates).
    """
    plural = plural or kind.lower() + "s"
    storage = storage or versions[0]
    props: dict[str, Any] = {"apiVersion": STR, "kind": STR, "metadata": {"type": "object"}}
    if spec is not None:
        props["spec"] = obj(spec, required)
        props["status"] = OBJ
    props.update(top or {})
    schema = {"type": "object", "properties": props}
    if spec is not None and required is not None:
        schema["required"] = ["spec"]
    names: dict[str, Any] = {"kind": kind, "listKind": kind + "List", "plural": plural, "singular": kind.lower()}
    if short:
        names["shortNames"] = short
    if categories:
        names["categories"] = categories
    vers = []
    for name in versions:
        version: dict[str, Any] = {"name": name, "served": True, "storage": name == storage}
        version["schema"] = {"openAPIV3Schema": schema}
        if spec is not None and status_subresource:
            version["subresources"] = {"status": {}}
        vers.append(version)
    metadata: dict[str, Any] = {"name": f"{plural}.{group}"}
    if labels:
        metadata["labels"] = labels
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {"group": group, "names": names, "scope": scope, "versions": vers},
    }


def cert_manager() -> list[dict[str, Any]]:
    cm, acme = "cert-manager.io", "acme.cert-manager.io"
    cats = ["cert-manager"]
    return [
        crd(
            cm,
            "Certificate",
            ["v1"],
            {
                "secretName": STR,
                "commonName": STR,
                "dnsNames": STRS,
                "duration": STR,
                "renewBefore": STR,
                "issuerRef": ISSUER_REF,
                "privateKey": obj({"algorithm": STR, "size": INT, "rotationPolicy": STR}),
                "secretTemplate": obj({"annotations": MAP, "labels": MAP}),
                "usages": STRS,
            },
            short=["cert", "certs"],
            categories=cats,
            required=["issuerRef", "secretName"],
        ),
        crd(
            cm,
            "CertificateRequest",
            ["v1"],
            {"request": STR, "issuerRef": ISSUER_REF, "duration": STR, "isCA": BOOL, "usages": STRS},
            short=["cr", "crs"],
            categories=cats,
            required=["issuerRef", "request"],
        ),
        crd(cm, "Issuer", ["v1"], ISSUER_SPEC["properties"], categories=cats, required=[]),
        crd(cm, "ClusterIssuer", ["v1"], ISSUER_SPEC["properties"], scope="Cluster", categories=cats, required=[]),
        crd(
            acme,
            "Order",
            ["v1"],
            {"request": STR, "issuerRef": ISSUER_REF, "commonName": STR, "dnsNames": STRS, "duration": STR},
            categories=[*cats, "cert-manager-acme"],
            required=["issuerRef", "request"],
        ),
        crd(
            acme,
            "Challenge",
            ["v1"],
            {
                "authorizationURL": STR,
                "dnsName": STR,
                "issuerRef": ISSUER_REF,
                "key": STR,
                "solver": OBJ,
                "token": STR,
                "type": {"type": "string", "enum": ["HTTP-01", "DNS-01"]},
                "url": STR,
                "wildcard": BOOL,
            },
            categories=[*cats, "cert-manager-acme"],
            required=["authorizationURL", "dnsName", "issuerRef", "key", "solver", "token", "type", "url"],
        ),
    ]


def traefik() -> list[dict[str, Any]]:
    g = "traefik.io"
    route = obj(
        {
            "kind": {"type": "string", "enum": ["Rule"]},
            "match": STR,
            "priority": INT,
            "middlewares": arr(obj({"name": STR, "namespace": STR}, ["name"])),
            "services": arr(obj({"name": STR, "namespace": STR, "port": {"x-kubernetes-int-or-string": True}})),
        },
        ["match"],
    )
    tls = obj({"secretName": STR, "certResolver": STR, "options": obj({"name": STR, "namespace": STR})})
    tcp_route = obj({"match": STR, "services": OBJS, "middlewares": OBJS}, ["match"])
    return [
        crd(
            g,
            "IngressRoute",
            ["v1alpha1"],
            {"entryPoints": STRS, "routes": arr(route), "tls": tls},
            required=["routes"],
        ),
        crd(g, "IngressRouteTCP", ["v1alpha1"], {"entryPoints": STRS, "routes": arr(tcp_route), "tls": tls}),
        crd(g, "IngressRouteUDP", ["v1alpha1"], {"entryPoints": STRS, "routes": OBJS}),
        crd(
            g,
            "Middleware",
            ["v1alpha1"],
            {
                "forwardAuth": obj(
                    {
                        "address": STR,
                        "trustForwardHeader": BOOL,
                        "authResponseHeaders": STRS,
                        "authRequestHeaders": STRS,
                        "tls": OBJ,
                    }
                ),
                "redirectScheme": obj({"scheme": STR, "permanent": BOOL, "port": STR}),
                "headers": OBJ,
                "basicAuth": obj({"secret": STR, "realm": STR}),
                "stripPrefix": obj({"prefixes": STRS}),
                "ipAllowList": obj({"sourceRange": STRS}),
                "chain": obj({"middlewares": OBJS}),
                "errors": OBJ,
                "rateLimit": OBJ,
            },
        ),
        crd(g, "MiddlewareTCP", ["v1alpha1"], {"inFlightConn": OBJ, "ipAllowList": OBJ}),
        crd(g, "ServersTransport", ["v1alpha1"], {"serverName": STR, "insecureSkipVerify": BOOL, "rootCAs": OBJS}),
        crd(g, "ServersTransportTCP", ["v1alpha1"], {"serverName": STR, "tls": OBJ}),
        crd(
            g,
            "TLSOption",
            ["v1alpha1"],
            {"minVersion": STR, "maxVersion": STR, "cipherSuites": STRS, "sniStrict": BOOL},
        ),
        crd(g, "TLSStore", ["v1alpha1"], {"defaultCertificate": obj({"secretName": STR}), "certificates": OBJS}),
        crd(g, "TraefikService", ["v1alpha1"], {"weighted": OBJ, "mirroring": OBJ}),
    ]


def prometheus_operator() -> list[dict[str, Any]]:
    g = "monitoring.coreos.com"
    cats = ["prometheus-operator"]
    monitor = {"selector": SELECTOR, "namespaceSelector": obj({"any": BOOL, "matchNames": STRS}), "jobLabel": STR}
    return [
        crd(g, "ServiceMonitor", ["v1"], {**monitor, "endpoints": arr(ENDPOINT)}, short=["smon"], categories=cats),
        crd(
            g, "PodMonitor", ["v1"], {**monitor, "podMetricsEndpoints": arr(ENDPOINT)}, short=["pmon"], categories=cats
        ),
        crd(
            g,
            "PrometheusRule",
            ["v1"],
            {"groups": arr(obj({"name": STR, "interval": STR, "rules": OBJS}, ["name"]))},
            short=["promrule"],
            categories=cats,
        ),
        crd(
            g,
            "Prometheus",
            ["v1"],
            {
                **PROM_PLACEMENT,
                "replicas": INT,
                "retention": STR,
                "retentionSize": STR,
                "image": STR,
                "version": STR,
                "serviceAccountName": STR,
                "externalUrl": STR,
                "serviceMonitorSelector": SELECTOR,
                "podMonitorSelector": SELECTOR,
                "ruleSelector": SELECTOR,
                "serviceMonitorNamespaceSelector": SELECTOR,
                "storage": OBJ,
                "alerting": OBJ,
            },
            plural="prometheuses",
            short=["prom"],
            categories=cats,
        ),
        crd(
            g,
            "Alertmanager",
            ["v1"],
            {**PROM_PLACEMENT, "replicas": INT, "retention": STR, "image": STR, "version": STR, "externalUrl": STR},
            short=["am"],
            categories=cats,
        ),
        crd(
            g,
            "AlertmanagerConfig",
            ["v1alpha1"],
            {"route": OBJ, "receivers": OBJS, "inhibitRules": OBJS},
            short=["amcfg"],
            categories=cats,
        ),
    ]


def argo_cd() -> list[dict[str, Any]]:
    g = "argoproj.io"
    labels = {"app.kubernetes.io/name": "", "app.kubernetes.io/part-of": "argocd"}
    source = obj(
        {
            "repoURL": STR,
            "path": STR,
            "targetRevision": STR,
            "chart": STR,
            "helm": OBJ,
            "kustomize": OBJ,
            "directory": OBJ,
        },
        ["repoURL"],
    )
    destination = obj({"server": STR, "name": STR, "namespace": STR})
    app = crd(
        g,
        "Application",
        ["v1alpha1"],
        {
            "project": STR,
            "source": source,
            "sources": arr(source),
            "destination": destination,
            "syncPolicy": obj({"automated": obj({"prune": BOOL, "selfHeal": BOOL}), "syncOptions": STRS, "retry": OBJ}),
            "ignoreDifferences": OBJS,
            "revisionHistoryLimit": INT,
        },
        short=["app", "apps"],
        required=["destination", "project"],
        top={"operation": OBJ},
        status_subresource=False,
    )
    project = crd(
        g,
        "AppProject",
        ["v1alpha1"],
        {
            "description": STR,
            "sourceRepos": STRS,
            "destinations": arr(obj({"server": STR, "name": STR, "namespace": STR})),
            "clusterResourceWhitelist": OBJS,
            "namespaceResourceWhitelist": OBJS,
            "roles": OBJS,
        },
        short=["appproj", "appprojs"],
        required=[],
        status_subresource=False,
    )
    appset = crd(
        g,
        "ApplicationSet",
        ["v1alpha1"],
        {"generators": OBJS, "template": OBJ, "syncPolicy": OBJ, "goTemplate": BOOL},
        short=["appset", "appsets"],
        required=["generators", "template"],
    )
    for item, name in (
        (app, "argocd-application-controller"),
        (project, "argocd-application-controller"),
        (appset, "argocd-applicationset-controller"),
    ):
        item["metadata"]["labels"] = {**labels, "app.kubernetes.io/name": name}
    return [app, project, appset]


def sealed_secrets() -> list[dict[str, Any]]:
    return [
        crd(
            "bitnami.com",
            "SealedSecret",
            ["v1alpha1"],
            {"encryptedData": MAP, "template": obj({"type": STR, "metadata": OBJ, "data": MAP})},
            required=["encryptedData"],
        )
    ]


def kyverno() -> list[dict[str, Any]]:
    """The kyverno.io kinds of chart 3.9.0's crds subchart that cloudcoil-models-kyverno 1.13.4.0 models."""
    g, cats = "kyverno.io", ["kyverno"]
    return [
        crd(
            g,
            "ClusterPolicy",
            ["v1", "v2beta1"],
            {},
            plural="clusterpolicies",
            scope="Cluster",
            short=["cpol"],
            categories=cats,
        ),
        crd(g, "Policy", ["v1", "v2beta1"], {}, plural="policies", short=["pol"], categories=cats),
        crd(g, "PolicyException", ["v2", "v2beta1"], {}, short=["polex"], categories=cats),
        crd(
            g,
            "ClusterCleanupPolicy",
            ["v2", "v2beta1"],
            {},
            plural="clustercleanuppolicies",
            scope="Cluster",
            short=["ccleanpol"],
            categories=cats,
        ),
        crd(g, "CleanupPolicy", ["v2", "v2beta1"], {}, plural="cleanuppolicies", short=["cleanpol"], categories=cats),
        crd(g, "UpdateRequest", ["v2", "v1beta1"], {}, short=["ur"], categories=cats),
    ]


def policy_reports() -> list[dict[str, Any]]:
    """wgpolicyk8s.io/v1alpha2 reports (no registry package models them), closed as upstream's: the
    types of kyverno/kyverno api/policyreport/v1alpha2 (common.go ``PolicyReportResult``,
    ``PolicyReportSummary``; ``scope`` a core ObjectReference, ``scopeSelector`` a LabelSelector)."""
    reference = obj(
        {k: STR for k in ("apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid")},
        open_=False,
    )
    selector = obj(
        {
            "matchLabels": MAP,
            "matchExpressions": arr(obj({"key": STR, "operator": STR, "values": STRS}, ["key", "operator"], False)),
        },
        open_=False,
    )
    result = obj(
        {
            "source": STR,
            "policy": STR,
            "rule": STR,
            "category": STR,
            "severity": {"type": "string", "enum": ["critical", "high", "low", "medium", "info"]},
            "timestamp": obj({"seconds": INT, "nanos": INT}, ["nanos", "seconds"], False),
            "result": {"type": "string", "enum": ["pass", "fail", "warn", "error", "skip"]},
            "scored": BOOL,
            "resources": arr(reference),
            "resourceSelector": selector,
            "message": STR,
            "properties": MAP,
        },
        ["policy"],
        False,
    )
    report = {
        "scope": reference,
        "scopeSelector": selector,
        "summary": obj({"pass": INT, "fail": INT, "warn": INT, "error": INT, "skip": INT}, open_=False),
        "results": arr(result),
    }
    out = [
        crd("wgpolicyk8s.io", "PolicyReport", ["v1alpha2"], None, short=["polr"], top=report, status_subresource=False),
        crd(
            "wgpolicyk8s.io",
            "ClusterPolicyReport",
            ["v1alpha2"],
            None,
            scope="Cluster",
            short=["cpolr"],
            top=report,
            status_subresource=False,
        ),
    ]
    return out


TEKTON_LABELS = {
    "app.kubernetes.io/instance": "default",
    "app.kubernetes.io/part-of": "tekton-pipelines",
    "pipeline.tekton.dev/release": "v1.15.0",
    "version": "v1.15.0",
}
TRIGGERS_LABELS = {
    "app.kubernetes.io/instance": "default",
    "app.kubernetes.io/part-of": "tekton-triggers",
    "triggers.tekton.dev/release": "v0.37.0",
    "version": "v0.37.0",
}


def tekton_pipeline() -> list[dict[str, Any]]:
    g = "tekton.dev"
    cats = ["tekton", "tekton-pipelines"]
    steps = arr(obj({"name": STR, "image": STR, "script": STR, "command": STRS, "args": STRS, "ref": OBJ}))
    specs = arr(obj({"name": STR, "type": STR, "default": {"x-kubernetes-preserve-unknown-fields": True}}, ["name"]))
    task_spec = {"params": specs, "steps": steps, "workspaces": OBJS, "results": OBJS, "description": STR}
    run_common = {
        "params": TEKTON_PARAMS,
        "serviceAccountName": STR,
        "timeout": STR,
        "workspaces": OBJS,
        "podTemplate": OBJ,
        "status": STR,
    }
    versions = ["v1", "v1beta1"]
    out = [
        crd(g, "Task", versions, task_spec, categories=cats),
        crd(
            g,
            "Pipeline",
            versions,
            {
                "params": specs,
                "workspaces": OBJS,
                "results": OBJS,
                "finally": OBJS,
                "tasks": arr(
                    obj(
                        {
                            "name": STR,
                            "taskRef": TEKTON_REF,
                            "taskSpec": OBJ,
                            "params": TEKTON_PARAMS,
                            "runAfter": STRS,
                            "workspaces": OBJS,
                        },
                        ["name"],
                    )
                ),
            },
            categories=cats,
        ),
        crd(
            g,
            "TaskRun",
            versions,
            {**run_common, "taskRef": TEKTON_REF, "taskSpec": OBJ},
            short=["tr", "trs"],
            categories=cats,
        ),
        crd(
            g,
            "PipelineRun",
            versions,
            {**run_common, "pipelineRef": TEKTON_REF, "pipelineSpec": OBJ, "taskRunTemplate": OBJ, "timeouts": OBJ},
            short=["pr", "prs"],
            categories=cats,
        ),
        crd(
            g,
            "CustomRun",
            ["v1beta1"],
            {"customRef": OBJ, "customSpec": OBJ, "params": TEKTON_PARAMS, "timeout": STR},
            categories=cats,
        ),
        crd(
            g,
            "StepAction",
            ["v1beta1", "v1alpha1"],
            {"image": STR, "script": STR, "command": STRS, "args": STRS, "params": specs, "results": OBJS},
            categories=cats,
        ),
        crd(
            "resolution.tekton.dev",
            "ResolutionRequest",
            ["v1beta1", "v1alpha1"],
            {"params": TEKTON_PARAMS, "url": STR},
            categories=["tekton", "tekton-pipelines"],
        ),
    ]
    for item in out:
        item["metadata"]["labels"] = dict(TEKTON_LABELS)
        if item["spec"]["group"] == g:
            _tekton_v1_schema(item)
    return out


def expand(node: dict[str, Any]) -> dict[str, Any]:
    """A node of ``sandbox/kube/tekton_v1.json`` (see ``sandbox/tektontypes.py``) back as an openAPIV3Schema node."""
    out: dict[str, Any] = {}
    if "t" in node:
        out["type"] = node["t"]
    if node.get("i"):
        out["x-kubernetes-int-or-string"] = True
    if node.get("r"):
        out["required"] = list(node["r"])
    if "f" in node:
        out["properties"] = {key: expand(sub) for key, sub in node["f"].items()}
    if "a" in node:
        out["items"] = expand(node["a"])
    if "m" in node:
        out["additionalProperties"] = expand(node["m"])
    if node.get("p"):
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _tekton_v1_schema(item: dict[str, Any]) -> None:
    """The v1 version of a Tekton Pipelines CRD gets the real v1.15.0 schema's shape: closed where it is closed.

    Upstream's ``config/300-crds`` (controller-gen, from the Go types) prunes unknown fields
    everywhere except embedded specs, param values and a few Kubernetes types; the admission
    webhook emulation (``sandbox/kube/tekton.py``) judges what those open nodes hold.
    """
    kinds = json.loads(TEKTON_V1.read_text())["kinds"]
    kind = item["spec"]["names"]["kind"]
    if kind not in kinds:
        return
    for version in item["spec"]["versions"]:
        if version["name"] != "v1":
            continue
        props: dict[str, Any] = {"apiVersion": STR, "kind": STR, "metadata": {"type": "object"}}
        props.update({part: expand(node) for part, node in kinds[kind].items()})
        version["schema"] = {"openAPIV3Schema": {"type": "object", "properties": props}}


def tekton_triggers() -> list[dict[str, Any]]:
    g = "triggers.tekton.dev"
    cats = ["tekton", "tekton-triggers"]
    versions = ["v1beta1", "v1alpha1"]
    binding = {"params": arr(obj({"name": STR, "value": STR}, ["name", "value"]))}
    trigger = {
        "name": STR,
        "bindings": OBJS,
        "template": obj({"ref": STR, "spec": OBJ}),
        "interceptors": OBJS,
        "serviceAccountName": STR,
    }
    interceptor = {
        "clientConfig": obj({"url": STR, "service": obj({"name": STR, "namespace": STR, "path": STR, "port": INT})})
    }
    out = [
        crd(
            g,
            "EventListener",
            versions,
            {
                "serviceAccountName": STR,
                "triggers": arr(obj(trigger)),
                "namespaceSelector": OBJ,
                "resources": OBJ,
                "labelSelector": OBJ,
            },
            short=["el"],
            categories=cats,
        ),
        crd(g, "Trigger", versions, trigger, short=["tri"], categories=cats),
        crd(g, "TriggerBinding", versions, binding, short=["tb"], categories=cats),
        crd(g, "ClusterTriggerBinding", versions, binding, scope="Cluster", short=["ctb"], categories=cats),
        crd(g, "TriggerTemplate", versions, {"params": OBJS, "resourcetemplates": OBJS}, short=["tt"], categories=cats),
        crd(g, "Interceptor", ["v1alpha1"], interceptor, short=["ni"], categories=cats),
        crd(g, "ClusterInterceptor", ["v1alpha1"], interceptor, scope="Cluster", short=["ci"], categories=cats),
    ]
    for item in out:
        item["metadata"]["labels"] = dict(TRIGGERS_LABELS)
        # Upstream v0.37.0 (config/300-*.yaml): `type: object` + `x-kubernetes-preserve-unknown-fields`
        # at the root; Triggers' admission webhook (sandbox/kube/tekton.py) is the judge.
        for version in item["spec"]["versions"]:
            version["schema"] = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return out


class _Dumper(yaml.SafeDumper):
    """Indents block sequences under their key, as yamllint's default style wants."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def dump(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def write_chart_crds(chart: str, docs: list[dict[str, Any]]) -> None:
    target = CHARTS / chart / "crds"
    target.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (target / f"{doc['metadata']['name']}.yaml").write_text(dump(doc))


def write_cert_manager(docs: list[dict[str, Any]]) -> None:
    """cert-manager ships its CRDs as templates gated by ``crds.enabled`` and kept by ``crds.keep``."""
    target = CHARTS / "cert-manager" / "templates"
    target.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        body = dump(doc).replace(
            "metadata:\n",
            "metadata:\n  {{- if .Values.crds.keep }}\n  annotations:\n    helm.sh/resource-policy: keep\n"
            '  {{- end }}\n  labels:\n    {{- include "cert-manager.crd-labels" . | nindent 4 }}\n',
            1,
        )
        name = doc["metadata"]["name"]
        (target / f"crd-{name}.yaml").write_text(
            "{{- if or .Values.crds.enabled .Values.installCRDs }}\n" + body + "{{- end }}\n"
        )


def from_upstream(project: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` with every version's schema replaced by the real CRD's.

    The schema comes from the cloudcoil models (``sandbox/crdmodels.py``) or, for Argo CD and
    Traefik, from the ``@kubernetes-models`` declarations (``sandbox/crdts.py``). Names, scope,
    short names and categories stay as written above.
    """
    models: Any = crdts.package(project) if project in {"argo-cd", "traefik"} else crdmodels.models(project)
    if models is None:
        raise SystemExit(f"{project}: its registry package is not unpacked under .cache/judges/: run `make judges`")
    for doc in docs:
        spec = doc["spec"]
        for version in spec["versions"]:
            schema = models.resource(f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            if schema is None:
                raise SystemExit(f"{project}: no model for {spec['names']['kind']} {spec['group']}/{version['name']}")
            version["schema"] = {"openAPIV3Schema": schema}
    return docs


def write_upstream() -> None:
    """The CRD families whose schemas come from registry packages, written by ``make judges`` (not committed)."""
    write_cert_manager(from_upstream("cert-manager", cert_manager()))
    write_chart_crds("traefik", from_upstream("traefik", traefik()))
    write_chart_crds("argo-cd", from_upstream("argo-cd", argo_cd()))
    write_chart_crds("kube-prometheus-stack", from_upstream("prometheus-operator", prometheus_operator()))
    write_chart_crds("sealed-secrets", from_upstream("sealed-secrets", sealed_secrets()))
    write_chart_crds("kyverno", from_upstream("kyverno", kyverno()) + policy_reports())


def main(argv: list[str]) -> int:
    if argv and argv[0] == "upstream":
        write_upstream()
        return 0
    if argv:
        docs = {"tekton-pipeline": tekton_pipeline, "tekton-triggers": tekton_triggers}[argv[0]]()
        sys.stdout.write("".join("---\n" + dump(d) for d in docs))
        return 0
    write_upstream()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
