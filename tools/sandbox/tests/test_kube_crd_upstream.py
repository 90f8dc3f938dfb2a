"""Stand-in CRDs with the real CRDs' schemas, judged with the kubernetes client.

The schemas of cert-manager's, prometheus-operator's and sealed-secrets' CRDs are rebuilt at
``make setup`` from the cloudcoil model packages (PyPI, generated from the real CRDs:
cloudcoil-models-cert-manager 1.21.1.1, -prometheus-operator 0.93.1.1, -sealed-secrets 0.39.1.1;
``sandbox/crdmodels.py``); Argo CD's and Traefik's from the type declarations of the npm packages
generated from the Go types their CRDs come from (@kubernetes-models/argo-cd 4.0.0, /traefik
2.0.0; ``sandbox/crdts.py``). A custom resource with a field the real CRD does not declare is refused
under strict field validation ("strict decoding error: unknown field", 400 BadRequest, as
k8s.io/apiextensions-apiserver's strict decoding answers) and pruned otherwise; a value of the
wrong type is refused 422 Invalid ("in body must be of type", the structural schema
validation). The same object made right is accepted.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_tools import install_crds, listable, wait_for
from kubernetes import client, config
from sandbox_tools import CHARTS

NS = "crd-contract"
CRDS = {
    "certificates.cert-manager.io": CHARTS / "cert-manager" / "templates" / "crd-certificates.cert-manager.io.yaml",
    "servicemonitors.monitoring.coreos.com": CHARTS
    / "kube-prometheus-stack"
    / "crds"
    / "servicemonitors.monitoring.coreos.com.yaml",
    "sealedsecrets.bitnami.com": CHARTS / "sealed-secrets" / "crds" / "sealedsecrets.bitnami.com.yaml",
    "applications.argoproj.io": CHARTS / "argo-cd" / "crds" / "applications.argoproj.io.yaml",
    "middlewares.traefik.io": CHARTS / "traefik" / "crds" / "middlewares.traefik.io.yaml",
}


def _crd(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"run `make judges` first: {path} is generated from the registry packages"
    text = "\n".join(line for line in path.read_text().splitlines() if "{{" not in line)  # cert-manager's gates
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def custom(kubeconfig: Path) -> Iterator[client.CustomObjectsApi]:
    api = config.new_client_from_config(str(kubeconfig))
    install_crds(api, [_crd(path) for path in CRDS.values()], NS)
    objects = client.CustomObjectsApi(api)
    sealed = ("bitnami.com", "v1alpha1", "sealedsecrets")
    wait_for(lambda: listable(objects, NS, sealed), "the CRDs to be served", timeout=15)
    yield objects


def create(custom: client.CustomObjectsApi, plural: str, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    group, version = obj["apiVersion"].split("/")
    return custom.create_namespaced_custom_object(group, version, NS, plural, obj, **kwargs)


def refused(custom: client.CustomObjectsApi, plural: str, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(client.ApiException) as caught:
        create(custom, plural, obj, **kwargs)
    return json.loads(caught.value.body)


def named(obj: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"] = {"name": name}
    return out


CERTIFICATE = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "lofi"},
    "spec": {
        "secretName": "lofi-tls",
        "dnsNames": ["lofi.example.com"],
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
    },
}


def test_certificate_unknown_field_is_refused(custom: client.CustomObjectsApi) -> None:
    """cert-manager v1.21.1 ``CertificateSpec`` has ``dnsNames``, not ``dnsName`` (CRD
    certificates.cert-manager.io, closed ``spec``; the stand-in used to preserve unknown fields)."""
    wrong = named(CERTIFICATE, "cert-wrong")
    wrong["spec"]["dnsName"] = wrong["spec"].pop("dnsNames")
    status = refused(custom, "certificates", wrong, field_validation="Strict")
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"] == (
        'Certificate in version "v1" cannot be handled as a Certificate: '
        'strict decoding error: unknown field "spec.dnsName"'
    )
    pruned = create(custom, "certificates", wrong, field_validation="Ignore")
    assert "dnsName" not in pruned["spec"]
    right = create(custom, "certificates", named(CERTIFICATE, "cert-right"), field_validation="Strict")
    assert right["spec"]["dnsNames"] == ["lofi.example.com"]


def test_certificate_private_key_types_are_checked(custom: client.CustomObjectsApi) -> None:
    """``spec.privateKey.size`` is an integer and ``algorithm`` one of RSA, ECDSA, Ed25519
    (cert-manager v1.21.1 CRD: ``enum: [RSA, ECDSA, Ed25519]``)."""
    wrong = named(CERTIFICATE, "key-wrong")
    wrong["spec"]["privateKey"] = {"algorithm": "rsa", "size": "2048"}
    status = refused(custom, "certificates", wrong)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    fields = {cause["field"] for cause in status["details"]["causes"]}
    assert fields == {"spec.privateKey.algorithm", "spec.privateKey.size"}
    right = named(CERTIFICATE, "key-right")
    right["spec"]["privateKey"] = {"algorithm": "RSA", "size": 2048, "rotationPolicy": "Always"}
    assert create(custom, "certificates", right)["spec"]["privateKey"]["size"] == 2048


SERVICE_MONITOR = {
    "apiVersion": "monitoring.coreos.com/v1",
    "kind": "ServiceMonitor",
    "metadata": {"name": "lofi"},
    "spec": {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "lofi"}},
        "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "honorLabels": True}],
    },
}


def test_servicemonitor_unknown_endpoint_field_is_refused(custom: client.CustomObjectsApi) -> None:
    """prometheus-operator v0.93.1 ``Endpoint`` has ``honorLabels`` (camel case): the endpoint
    schema is closed in servicemonitors.monitoring.coreos.com (the stand-in used to be open)."""
    wrong = named(SERVICE_MONITOR, "smon-wrong")
    wrong["spec"]["endpoints"][0]["honorlabels"] = wrong["spec"]["endpoints"][0].pop("honorLabels")
    status = refused(custom, "servicemonitors", wrong, field_validation="Strict")
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"].endswith('strict decoding error: unknown field "spec.endpoints[0].honorlabels"')
    right = create(custom, "servicemonitors", named(SERVICE_MONITOR, "smon-right"), field_validation="Strict")
    assert right["spec"]["endpoints"][0]["honorLabels"] is True


SEALED = {
    "apiVersion": "bitnami.com/v1alpha1",
    "kind": "SealedSecret",
    "metadata": {"name": "lofi"},
    "spec": {"encryptedData": {"token": "AgB…"}, "template": {"type": "Opaque", "immutable": True}},
}


def test_sealedsecret_template_is_typed(custom: client.CustomObjectsApi) -> None:
    """sealed-secrets ``SecretTemplateSpec.immutable`` is a boolean (CRD sealedsecrets.bitnami.com,
    ``spec.template`` closed apart from ``data`` and ``metadata``)."""
    wrong = named(SEALED, "sealed-wrong")
    wrong["spec"]["template"]["immutable"] = "yes"
    status = refused(custom, "sealedsecrets", wrong)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec.template.immutable"
    assert "must be of type boolean" in status["message"]
    assert create(custom, "sealedsecrets", named(SEALED, "sealed-right"))["spec"]["template"]["immutable"] is True


APPLICATION = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "lofi"},
    "spec": {
        "project": "default",
        "source": {"repoURL": "https://github.com/example/gitops.git", "path": "apps", "targetRevision": "main"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "lofi"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
    },
}


def test_application_unknown_field_is_refused(custom: client.CustomObjectsApi) -> None:
    """Argo CD ``ApplicationSource`` (pkg/apis/application/v1alpha1/types.go) has ``targetRevision``;
    the applications.argoproj.io CRD generated from it is closed (the stand-in's source was open)."""
    wrong = named(APPLICATION, "app-wrong")
    wrong["spec"]["source"]["targetRevison"] = wrong["spec"]["source"].pop("targetRevision")
    status = refused(custom, "applications", wrong, field_validation="Strict")
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"] == (
        'Application in version "v1alpha1" cannot be handled as a Application: '
        'strict decoding error: unknown field "spec.source.targetRevison"'
    )
    right = create(custom, "applications", named(APPLICATION, "app-right"), field_validation="Strict")
    assert right["spec"]["source"]["targetRevision"] == "main"


def test_application_sync_policy_is_typed(custom: client.CustomObjectsApi) -> None:
    """``SyncPolicyAutomated.Prune`` is a bool (``prune: "true"`` is refused, 422)."""
    wrong = named(APPLICATION, "app-typed-wrong")
    wrong["spec"]["syncPolicy"]["automated"]["prune"] = "true"
    status = refused(custom, "applications", wrong)
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "spec.syncPolicy.automated.prune"
    assert create(custom, "applications", named(APPLICATION, "app-typed-right"))["spec"]["syncPolicy"]["automated"]


MIDDLEWARE = {
    "apiVersion": "traefik.io/v1alpha1",
    "kind": "Middleware",
    "metadata": {"name": "sso"},
    "spec": {
        "forwardAuth": {
            "address": "http://oauth2-proxy.ingress.svc/oauth2/auth",
            "trustForwardHeader": True,
            "authResponseHeaders": ["X-Auth-Request-User", "X-Auth-Request-Email"],
        }
    },
}


def test_middleware_unknown_field_is_refused(custom: client.CustomObjectsApi) -> None:
    """Traefik v3 ``ForwardAuth`` (pkg/provider/kubernetes/crd/traefikio/v1alpha1/middleware.go) has
    ``trustForwardHeader`` (singular); middlewares.traefik.io is closed there."""
    wrong = named(MIDDLEWARE, "mw-wrong")
    wrong["spec"]["forwardAuth"]["trustForwardHeaders"] = wrong["spec"]["forwardAuth"].pop("trustForwardHeader")
    status = refused(custom, "middlewares", wrong, field_validation="Strict")
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"].endswith('strict decoding error: unknown field "spec.forwardAuth.trustForwardHeaders"')
    right = create(custom, "middlewares", named(MIDDLEWARE, "mw-right"), field_validation="Strict")
    assert right["spec"]["forwardAuth"]["trustForwardHeader"] is True


# Where the real CRDs keep unknown fields, by the name of the open node, and why (the Go type).
UPSTREAM_OPEN = {
    "config": "cert-manager ACMEIssuerDNS01ProviderWebhook.Config *apiextensionsv1.JSON",
    "routes": "prometheus-operator AlertmanagerConfig Route.Routes []apiextensionsv1.JSON",
    "metadata": "EmbeddedObjectMetadata of volume claim templates; SealedSecret template metadata",
    "data": "SealedSecret spec.template.data (open in cloudcoil-models-sealed-secrets 0.39.1)",
    "valuesObject": "Argo CD ApplicationSourceHelm.ValuesObject *runtime.RawExtension",
    "elements": "Argo CD ListGenerator.Elements []apiextensionsv1.JSON",
    "matrix": "Argo CD NestedMatrixGenerator / NestedMergeGenerator are apiextensionsv1.JSON",
    "merge": "Argo CD NestedMatrixGenerator / NestedMergeGenerator are apiextensionsv1.JSON",
    "parameters": "Argo CD PluginInput.Parameters map[string]apiextensionsv1.JSON",
    "plugin": "Traefik MiddlewareSpec.Plugin map[string]apiextensionsv1.JSON",
}
# The kyverno.io CRDs' open nodes (kyverno/kyverno api/kyverno/v1, v2; the Any fields of
# cloudcoil-models-kyverno 1.13.4.0, which is generated from those CRDs), only for files of that group.
KYVERNO_OPEN = {
    "key": "Condition.RawKey *apiextv1.JSON",
    "value": "Condition.RawValue, Variable.Value *apiextv1.JSON",
    "default": "Variable.Default *apiextv1.JSON",
    "pattern": "Validation.RawPattern *apiextv1.JSON",
    "anyPattern": "Validation.RawAnyPattern *apiextv1.JSON",
    "patchStrategicMerge": "Mutation.RawPatchStrategicMerge *apiextv1.JSON",
    "preconditions": "Rule.RawAnyAllConditions *apiextv1.JSON",
    "conditions": "Deny.RawAnyAllConditions *apiextv1.JSON",
    "foreach": "ForEachValidation / ForEachMutation nested foreach *apiextv1.JSON",
    "attestor": "Attestor.Attestor (a nested attestor set) *apiextv1.JSON",
    "assert": "Validation.Assert AssertionTree (x-kubernetes-preserve-unknown-fields)",
    "object": "UpdateRequestSpec.Context.AdmissionRequestInfo: admissionv1.AdmissionRequest.Object runtime.RawExtension",
    "oldObject": "admissionv1.AdmissionRequest.OldObject runtime.RawExtension",
    "options": "admissionv1.AdmissionRequest.Options runtime.RawExtension",
}


def _open_paths(node: dict[str, Any], path: str = "") -> list[str]:
    found = [path] if node.get("x-kubernetes-preserve-unknown-fields") else []
    for key, sub in (node.get("properties") or {}).items():
        found += _open_paths(sub, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += _open_paths(node[key], path)
    return found


def test_no_open_node_where_the_real_crd_is_closed() -> None:
    """Every generated stand-in CRD keeps unknown fields only where the real CRD does (issue 16:
    "no open node where the real schema is closed"): each open node is one of the upstream
    free-form fields listed in UPSTREAM_OPEN."""
    files = sorted(CHARTS.glob("*/crds/*.yaml")) + sorted((CHARTS / "cert-manager" / "templates").glob("crd-*.yaml"))
    assert len(files) == 34, [f.name for f in files]
    for path in files:
        for version in _crd(path)["spec"]["versions"]:
            allowed = UPSTREAM_OPEN | (KYVERNO_OPEN if path.name.endswith(".kyverno.io.yaml") else {})
            for open_path in _open_paths(version["schema"]["openAPIV3Schema"]):
                assert open_path.rsplit(".", 1)[-1] in allowed, f"{path.name} {version['name']}: {open_path}"
