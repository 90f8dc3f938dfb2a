"""Admission of built-in kinds as a real 1.31 API server does it, judged by the official clients.

Each rule: the wrong request is refused with the real status, reason, field path and message, and
the same request made correctly is accepted. The schemas are Kubernetes' own 1.31 OpenAPI in
strict mode, shipped by PyPI ``kubernetes-validate`` (``sandbox/kube/judge.py``); the rules the
OpenAPI cannot carry are written from kubernetes/kubernetes (``pkg/apis/core/validation/
validation.go``, ``pkg/apis/apps/validation/validation.go``, ``pkg/apis/networking/validation/
validation.go``, ``pkg/apis/rbac/validation/validation.go``,
``staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go``), function named in each test.
The quotes were read from the kubernetes/kubernetes copies available here (a snapshot newer than the
v1.31 tag and, for ``ValidateTolerations``, an older vendored copy; the tag itself is too large to fetch):
the quoted rules read the same in both, so they are taken to be those of v1.31.
Requests are dry runs where the accepted case should leave nothing behind.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from sandbox_tools import TOOLS, run

NS = "admission"
KUBECTL = str(TOOLS / "kubectl")


@pytest.fixture(scope="module")
def k8s(kubeconfig: Path) -> client.ApiClient:
    api = config.new_client_from_config(str(kubeconfig))
    core = client.CoreV1Api(api)
    try:
        core.create_namespace({"metadata": {"name": NS}})
    except ApiException as exc:
        assert exc.status == 409
    return api


def deployment(**pod: Any) -> dict[str, Any]:
    container = {"name": "web", "image": "nginx:1.27", **pod.pop("container", {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container], **pod},
            },
        },
    }


def service(ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": ports},
    }


def create(api: client.ApiClient, body: dict[str, Any], **options: Any) -> Any:
    """POST ``body`` as a dry run through the typed client of its kind; returns the response."""
    kind = body["kind"]
    options.setdefault("dry_run", "All")
    if kind == "Deployment":
        return client.AppsV1Api(api).create_namespaced_deployment(NS, body, **options)
    if kind == "Service":
        return client.CoreV1Api(api).create_namespaced_service(NS, body, **options)
    if kind == "NetworkPolicy":
        return client.NetworkingV1Api(api).create_namespaced_network_policy(NS, body, **options)
    if kind == "Ingress":
        return client.NetworkingV1Api(api).create_namespaced_ingress(NS, body, **options)
    raise AssertionError(kind)


def refusal(api: client.ApiClient, body: dict[str, Any], **options: Any) -> dict[str, Any]:
    with pytest.raises(ApiException) as caught:
        create(api, body, **options)
    return json.loads(caught.value.body)


def assert_invalid(status: dict[str, Any], kind: str, *causes: tuple[str, str, str]) -> None:
    """A 422 ``Invalid`` Status whose causes include each (reason, field, message)."""
    assert status["code"] == 422, status
    assert status["reason"] == "Invalid"
    assert status["details"]["kind"] == kind
    got = [(c["reason"], c["field"], c["message"]) for c in status["details"]["causes"]]
    for cause in causes:
        assert cause in got, got
    first = causes[0]
    assert f"{first[1]}: {first[2]}" in status["message"]


# ------------------------------------------------------------------ port names (IANA_SVC_NAME)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("metrics-exporter-http", "must be no more than 15 characters"),
        ("HTTP", "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
        ("8080", "must contain at least one letter (a-z)"),
        ("web--http", "must not contain consecutive hyphens"),
        ("-web", "must not begin or end with a hyphen"),
    ],
)
def test_container_port_name_is_an_iana_service_name(k8s: client.ApiClient, name: str, message: str) -> None:
    """``validateContainerPorts`` (core validation.go at v1.31) checks every named port with
    ``validation.IsValidPortName``: "It must be non-empty and no more than 15 characters long. It may
    contain only [-a-z0-9] and must contain at least one letter [a-z]. It must not start or end with a
    hyphen, nor contain adjacent hyphens." (apimachinery util/validation/validation.go)."""
    bad = deployment(container={"ports": [{"name": name, "containerPort": 8080}]})
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        ("FieldValueInvalid", "spec.template.spec.containers[0].ports[0].name", f'Invalid value: "{name}": {message}'),
    )
    good = deployment(container={"ports": [{"name": "metrics", "containerPort": 8080}]})
    assert create(k8s, good).spec.template.spec.containers[0].ports[0].name == "metrics"


def test_container_port_names_are_unique(k8s: client.ApiClient) -> None:
    """``validateContainerPorts``: ``else if allNames.Has(port.Name) { field.Duplicate(idxPath.Child("name"), ...)``."""
    ports = [{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]
    assert_invalid(
        refusal(k8s, deployment(container={"ports": ports})),
        "Deployment",
        ("FieldValueDuplicate", "spec.template.spec.containers[0].ports[1].name", 'Duplicate value: "http"'),
    )
    ports[1]["name"] = "admin"
    create(k8s, deployment(container={"ports": ports}))


def test_service_target_port_name_is_an_iana_service_name(k8s: client.ApiClient) -> None:
    """``validateServicePort`` ends with ``ValidatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))``,
    which applies ``validation.IsValidPortName`` to a string targetPort (core validation.go at v1.31)."""
    bad = service([{"port": 80, "targetPort": "prometheus-metrics"}])
    assert_invalid(
        refusal(k8s, bad),
        "Service",
        (
            "FieldValueInvalid",
            "spec.ports[0].targetPort",
            'Invalid value: "prometheus-metrics": must be no more than 15 characters',
        ),
    )
    create(k8s, service([{"port": 80, "targetPort": "metrics"}]))


def test_multi_port_service_needs_port_names(k8s: client.ApiClient) -> None:
    """``ValidateService`` calls ``validateServicePort(..., len(service.Spec.Ports) > 1, ...)`` and
    ``validateServicePort`` says ``if requireName && len(sp.Name) == 0 { field.Required(fldPath.Child("name"), "") }``;
    names are unique (``field.Duplicate``)."""
    bad = service([{"port": 80}, {"port": 443}])
    assert_invalid(
        refusal(k8s, bad),
        "Service",
        ("FieldValueRequired", "spec.ports[0].name", "Required value"),
        ("FieldValueRequired", "spec.ports[1].name", "Required value"),
    )
    dup = service([{"name": "http", "port": 80}, {"name": "http", "port": 443}])
    assert_invalid(
        refusal(k8s, dup), "Service", ("FieldValueDuplicate", "spec.ports[1].name", 'Duplicate value: "http"')
    )
    create(k8s, service([{"name": "http", "port": 80}, {"name": "https", "port": 443}]))
    create(k8s, service([{"port": 80}]))  # one port needs no name


# ------------------------------------------------------------------ tolerations


def test_toleration_operator_is_equal_or_exists(k8s: client.ApiClient) -> None:
    """``ValidateTolerations``: ``default: validValues := []core.TolerationOperator{core.TolerationOpEqual,
    core.TolerationOpExists}; field.NotSupported(idxPath.Child("operator"), toleration.Operator, validValues)``."""
    bad = deployment(tolerations=[{"key": "tools", "operator": "In", "value": "true", "effect": "NoSchedule"}])
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        (
            "FieldValueNotSupported",
            "spec.template.spec.tolerations[0].operator",
            'Unsupported value: "In": supported values: "Equal", "Exists"',
        ),
    )
    good = deployment(tolerations=[{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}])
    create(k8s, good)


def test_exists_toleration_takes_no_value(k8s: client.ApiClient) -> None:
    """``ValidateTolerations``: ``case core.TolerationOpExists: if len(toleration.Value) > 0 {
    field.Invalid(idxPath.Child("operator"), toleration, "value must be empty when `operator` is 'Exists'")``."""
    bad = deployment(tolerations=[{"key": "tools", "operator": "Exists", "value": "true", "effect": "NoSchedule"}])
    status = refusal(k8s, bad)
    assert_invalid(
        status,
        "Deployment",
        (
            "FieldValueInvalid",
            "spec.template.spec.tolerations[0].operator",
            'Invalid value: core.Toleration{Key:"tools", Operator:"Exists", Value:"true", Effect:"NoSchedule", '
            "TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is 'Exists'",
        ),
    )
    create(k8s, deployment(tolerations=[{"key": "tools", "operator": "Exists", "effect": "NoSchedule"}]))


def test_toleration_effect_is_a_taint_effect(k8s: client.ApiClient) -> None:
    """``ValidateTolerations`` → ``validateTaintEffect``: ``field.NotSupported(fldPath, *effect, validValues)``
    with ``NoSchedule``, ``PreferNoSchedule``, ``NoExecute``."""
    bad = deployment(tolerations=[{"key": "tools", "operator": "Exists", "effect": "NoScheduled"}])
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        (
            "FieldValueNotSupported",
            "spec.template.spec.tolerations[0].effect",
            'Unsupported value: "NoScheduled": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
        ),
    )


# ------------------------------------------------------------------ probes, containers, env, resources


def test_probe_needs_exactly_one_handler(k8s: client.ApiClient) -> None:
    """``validateHandler``: a second handler gives ``field.Forbidden(fldPath.Child("tcpSocket"), "may not specify
    more than 1 handler type")``; none gives ``field.Required(fldPath, "must specify a handler type")``."""
    two = deployment(container={"livenessProbe": {"httpGet": {"port": 80}, "tcpSocket": {"port": 80}}})
    assert_invalid(
        refusal(k8s, two),
        "Deployment",
        (
            "FieldValueForbidden",
            "spec.template.spec.containers[0].livenessProbe.tcpSocket",
            "Forbidden: may not specify more than 1 handler type",
        ),
    )
    none = deployment(container={"readinessProbe": {"periodSeconds": 5}})
    assert_invalid(
        refusal(k8s, none),
        "Deployment",
        (
            "FieldValueRequired",
            "spec.template.spec.containers[0].readinessProbe",
            "Required value: must specify a handler type",
        ),
    )
    create(k8s, deployment(container={"livenessProbe": {"httpGet": {"port": 80}}}))


def test_container_names_are_unique(k8s: client.ApiClient) -> None:
    """``validateContainers``: "Container names must be unique within the list of regular containers."
    → ``field.Duplicate(path.Child("name"), ctr.Name)``."""
    bad = deployment()
    containers = bad["spec"]["template"]["spec"]["containers"]
    containers.append(copy.deepcopy(containers[0]))
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        ("FieldValueDuplicate", "spec.template.spec.containers[1].name", 'Duplicate value: "web"'),
    )
    containers[1]["name"] = "sidecar"
    create(k8s, bad)


def test_env_var_names(k8s: client.ApiClient) -> None:
    """``ValidateEnv`` → ``validation.IsEnvVarName``: "a valid environment variable name must consist of
    alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"."""
    bad = deployment(container={"env": [{"name": "1PASSWORD", "value": "x"}]})
    status = refusal(k8s, bad)
    cause = status["details"]["causes"][0]
    assert (status["code"], cause["reason"], cause["field"]) == (
        422,
        "FieldValueInvalid",
        "spec.template.spec.containers[0].env[0].name",
    )
    assert cause["message"].startswith(
        'Invalid value: "1PASSWORD": a valid environment variable name must consist of alphabetic characters'
    )
    create(k8s, deployment(container={"env": [{"name": "PASSWORD_1", "value": "x"}]}))


def test_requests_may_not_exceed_limits(k8s: client.ApiClient) -> None:
    """``ValidateResourceRequirements``: ``quantity.Cmp(limitQuantity) > 0`` → ``field.Invalid(reqPath,
    quantity.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", resourceName, ...))``."""
    bad = deployment(container={"resources": {"requests": {"memory": "512Mi"}, "limits": {"memory": "256Mi"}}})
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        (
            "FieldValueInvalid",
            "spec.template.spec.containers[0].resources.requests[memory]",
            'Invalid value: "512Mi": must be less than or equal to memory limit of 256Mi',
        ),
    )
    create(k8s, deployment(container={"resources": {"requests": {"memory": "0.25Gi"}, "limits": {"memory": "256Mi"}}}))


def test_selector_must_match_template_labels(k8s: client.ApiClient) -> None:
    """apps ``ValidatePodTemplateSpecForReplicaSet``: ``if !selector.Matches(labels) {
    field.Invalid(fldPath.Child("metadata", "labels"), template.Labels, "`selector` does not match template `labels`")``."""
    bad = deployment()
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    assert_invalid(
        refusal(k8s, bad),
        "Deployment",
        (
            "FieldValueInvalid",
            "spec.template.metadata.labels",
            'Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
        ),
    )


# ------------------------------------------------------------------ networking


def test_network_policy_ports(k8s: client.ApiClient) -> None:
    """networking ``ValidateNetworkPolicyPort``: a named port is an IANA name and takes no ``endPort``
    ("may not be specified when `port` is non-numeric"); ``endPort`` must be ``>= port``."""
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": "http-metrics-port", "endPort": 9000}]}]},
    }
    assert_invalid(
        refusal(k8s, policy),
        "NetworkPolicy",
        (
            "FieldValueInvalid",
            "spec.ingress[0].ports[0].endPort",
            "Invalid value: 9000: may not be specified when `port` is non-numeric",
        ),
        (
            "FieldValueInvalid",
            "spec.ingress[0].ports[0].port",
            'Invalid value: "http-metrics-port": must be no more than 15 characters',
        ),
    )
    policy["spec"]["ingress"][0]["ports"] = [{"port": 8000, "endPort": 7000}]
    assert_invalid(
        refusal(k8s, policy),
        "NetworkPolicy",
        (
            "FieldValueInvalid",
            "spec.ingress[0].ports[0].endPort",
            "Invalid value: 7000: must be greater than or equal to `port`",
        ),
    )
    policy["spec"]["ingress"][0]["ports"] = [{"port": 8000, "endPort": 9000}]
    create(k8s, policy)


def test_ingress_paths(k8s: client.ApiClient) -> None:
    """networking ``validateHTTPIngressPath``: ``if path.PathType == nil { field.Required(fldPath.Child("pathType"),
    "pathType must be specified") }``; for Exact and Prefix, ``if !strings.HasPrefix(path.Path, "/") {
    field.Invalid(fldPath.Child("path"), path.Path, "must be an absolute path") }``."""
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/", "backend": backend}]}}]},
    }
    assert_invalid(
        refusal(k8s, ingress),
        "Ingress",
        ("FieldValueRequired", "spec.rules[0].http.paths[0].pathType", "Required value: pathType must be specified"),
    )
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    path.update(pathType="Prefix", path="api")
    assert_invalid(
        refusal(k8s, ingress),
        "Ingress",
        ("FieldValueInvalid", "spec.rules[0].http.paths[0].path", 'Invalid value: "api": must be an absolute path'),
    )
    path["path"] = "/api"
    create(k8s, ingress)


# ------------------------------------------------------------------ rbac


def test_policy_rules_need_verbs_groups_and_resources(k8s: client.ApiClient) -> None:
    """rbac ``validatePolicyRule``: ``field.Required(fldPath.Child("verbs"), "verbs must contain at least one
    value")``; a resource rule ``field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least
    one api group")`` (pkg/apis/rbac/validation/validation.go)."""
    rbac = client.RbacAuthorizationV1Api(k8s)
    role = {"metadata": {"name": "reader", "namespace": NS}, "rules": [{"resources": ["pods"], "verbs": []}]}
    with pytest.raises(ApiException) as caught:
        rbac.create_namespaced_role(NS, role, dry_run="All")
    assert_invalid(
        json.loads(caught.value.body),
        "Role",
        ("FieldValueRequired", "rules[0].verbs", "Required value: verbs must contain at least one value"),
        (
            "FieldValueRequired",
            "rules[0].apiGroups",
            "Required value: resource rules must supply at least one api group",
        ),
    )
    role["rules"] = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    rbac.create_namespaced_role(NS, role, dry_run="All")


def test_cluster_role_binding_service_account_needs_a_namespace(k8s: client.ApiClient) -> None:
    """rbac ``ValidateClusterRoleBinding``: roleRef kind ``field.NotSupported(..., []string{"ClusterRole"})``;
    ``validateRoleBindingSubject(subject, false, ...)``: ``if !isNamespaced && len(subject.Namespace) == 0 {
    field.Required(fldPath.Child("namespace"), "") }``; on update "cannot change roleRef"."""
    rbac = client.RbacAuthorizationV1Api(k8s)
    binding = {
        "metadata": {"name": "admission-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "default"}],
    }
    with pytest.raises(ApiException) as caught:
        rbac.create_cluster_role_binding(binding, dry_run="All")
    assert_invalid(
        json.loads(caught.value.body),
        "ClusterRoleBinding",
        ("FieldValueNotSupported", "roleRef.kind", 'Unsupported value: "Role": supported values: "ClusterRole"'),
        ("FieldValueRequired", "subjects[0].namespace", "Required value"),
    )
    binding["roleRef"]["kind"] = "ClusterRole"
    binding["subjects"][0]["namespace"] = NS
    rbac.create_cluster_role_binding(binding)
    try:
        binding["roleRef"]["name"] = "edit"
        with pytest.raises(ApiException) as caught:
            rbac.replace_cluster_role_binding("admission-reader", binding)
        assert_invalid(
            json.loads(caught.value.body),
            "ClusterRoleBinding",
            (
                "FieldValueInvalid",
                "roleRef",
                'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: '
                "cannot change roleRef",
            ),
        )
    finally:
        rbac.delete_cluster_role_binding("admission-reader")


# ------------------------------------------------------------------ the 1.31 schema (kubernetes-validate, strict)


def test_unknown_fields_follow_field_validation(k8s: client.ApiClient) -> None:
    """The 1.31 schema decides what is unknown, not a newer client's model: PodSpec ``hostnameOverride``
    arrived in 1.34, so a 1.31 server does not know it. "Strict: This will fail the request with a
    BadRequest error if any unknown fields would be dropped from the object" — message ``strict decoding
    error: unknown field "<path>"``; "Warn: ... send a warning via the standard warning response header";
    "Ignore: ... silently drop" (API reference, ``fieldValidation`` query parameter)."""
    bad = deployment(hostnameOverride="web-1")
    status = refusal(k8s, bad, field_validation="Strict")
    assert status["code"] == 400 and status["reason"] == "BadRequest"
    assert status["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: '
        'strict decoding error: unknown field "spec.template.spec.hostnameOverride"'
    )
    response = client.AppsV1Api(k8s).create_namespaced_deployment(
        NS, bad, dry_run="All", field_validation="Warn", _preload_content=False
    )
    assert response.status == 201
    assert 'unknown field \\"spec.template.spec.hostnameOverride\\"' in response.headers.get("Warning", "")
    assert "hostnameOverride" not in json.loads(response.data)["spec"]["template"]["spec"]
    response = client.AppsV1Api(k8s).create_namespaced_deployment(
        NS, bad, dry_run="All", field_validation="Ignore", _preload_content=False
    )
    assert response.status == 201 and "Warning" not in response.headers


def test_wrong_type_fails_decoding(k8s: client.ApiClient) -> None:
    """A value of the wrong JSON type cannot be decoded into the Go type: 400 ``BadRequest`` "cannot be handled
    as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type
    int32" (``runtime.NewStrictDecodingError``-free decode error, whatever ``fieldValidation`` says)."""
    bad = deployment()
    bad["spec"]["replicas"] = "2"
    status = refusal(k8s, bad, field_validation="Ignore")
    assert status["code"] == 400 and status["reason"] == "BadRequest"
    assert status["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go '
        "struct field DeploymentSpec.spec.replicas of type int32"
    )
    bad["spec"]["replicas"] = 2
    create(k8s, bad, field_validation="Strict")


def test_patch_and_apply_are_judged_too(k8s: client.ApiClient) -> None:
    """Validation runs on the object a patch or an apply produces, not only on creates."""
    apps = client.AppsV1Api(k8s)
    name = "patched"
    body = deployment()
    body["metadata"]["name"] = name
    apps.create_namespaced_deployment(NS, body)
    try:
        patch = {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "web", "ports": [{"name": "a--b", "containerPort": 80}]}]}
                }
            }
        }
        with pytest.raises(ApiException) as caught:
            apps.patch_namespaced_deployment(name, NS, patch)
        assert caught.value.status == 422
        cause = json.loads(caught.value.body)["details"]["causes"][0]
        assert cause["field"] == "spec.template.spec.containers[0].ports[0].name"
        applied = deployment(tolerations=[{"key": "tools", "operator": "Exists", "value": "x"}])
        applied["metadata"]["name"] = name
        with pytest.raises(ApiException) as caught:
            apps.patch_namespaced_deployment(
                name, NS, applied, field_manager="test", dry_run="All", _content_type="application/apply-patch+yaml"
            )
        assert caught.value.status == 422
    finally:
        apps.delete_namespaced_deployment(name, NS)


# ------------------------------------------------------------------ kubectl


def test_kubectl_sees_the_refusals(kube_env: dict[str, str], tmp_path: Path) -> None:
    """kubectl 1.31 defaults to ``--validate=strict`` (server-side field validation, "Strict"): an unknown
    field is a BadRequest naming the field; an invalid port name is the API server's Invalid message."""
    manifest = tmp_path / "web.yaml"
    bad = deployment(container={"ports": [{"name": "metrics-exporter-http", "containerPort": 8080}]})
    bad["metadata"]["name"] = "kubectl-web"
    manifest.write_text(json.dumps(bad))
    result = run(kube_env, KUBECTL, "apply", "-f", str(manifest), "--dry-run=server", check=False)
    assert result.returncode != 0
    assert (
        'The Deployment "kubectl-web" is invalid: spec.template.spec.containers[0].ports[0].name: '
        'Invalid value: "metrics-exporter-http": must be no more than 15 characters'
    ) in result.stderr
    bad = deployment(hostnameOverride="x")
    bad["metadata"]["name"] = "kubectl-web"
    manifest.write_text(json.dumps(bad))
    result = run(kube_env, KUBECTL, "apply", "-f", str(manifest), "--dry-run=server", check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spec.template.spec.hostnameOverride"' in result.stderr
    good = deployment()
    good["metadata"]["name"] = "kubectl-web"
    manifest.write_text(json.dumps(good))
    run(kube_env, KUBECTL, "apply", "-f", str(manifest), "--dry-run=server")


# ------------------------------------------------------------------ cost


def test_admission_cost_per_object_is_small() -> None:
    """The schema judge compiles one validator per kind and reuses it: judging a Deployment costs well under
    a few milliseconds once warm (the e2e converge admits hundreds of objects)."""
    from sandbox.kube import judge  # noqa: PLC0415

    body = deployment(container={"ports": [{"name": "http", "containerPort": 80}]})
    judge.judge(body, "apps/v1", "Deployment")
    start = time.perf_counter()
    for _ in range(50):
        assert not judge.judge(body, "apps/v1", "Deployment")
    assert (time.perf_counter() - start) / 50 < 0.02


# ------------------------------------------------------------------ the fidelity gate


def test_audit_finds_what_admission_would_refuse(tmp_path: Path) -> None:
    """``GET /_sandbox/audit`` re-judges every stored object (state kept from a looser emulator, objects
    written by emulated controllers) with the same judges as admission; a fresh cluster is clean."""
    from email.message import Message  # noqa: PLC0415

    from sandbox.kube import KubeEmulator  # noqa: PLC0415
    from sandbox.server import Context, Request  # noqa: PLC0415
    from sandbox.store import Store  # noqa: PLC0415

    kube = KubeEmulator(Context("kubernetes", Store(tmp_path / "k.json"), {}, {}))
    kube.endpoint("https://127.0.0.1:1")
    audit = kube.admin_routes()[("GET", "audit")]

    def problems() -> list[dict[str, Any]]:
        return json.loads(audit(Request("GET", "/_sandbox/audit", {}, Message(), b"")).payload())["problems"]

    assert problems() == []
    cluster = kube.cluster()
    bad = deployment(
        container={"ports": [{"name": "metrics-exporter-http", "containerPort": 8080, "protocol": "TCP"}]},
        hostnameOverride="x",
    )
    bad["metadata"]["namespace"] = "default"
    with kube.lock:
        cluster.store(cluster.rtype("apps/deployments"), bad)
    (found,) = problems()
    assert (found["kind"], found["namespace"], found["name"]) == ("Deployment", "default", "web")
    assert found["problems"] == [
        'spec.template.spec.containers[0].ports[0].name: Invalid value: "metrics-exporter-http": '
        "must be no more than 15 characters",
        'spec.template.spec.hostnameOverride: unknown field "spec.template.spec.hostnameOverride"',
    ]


def test_audit_reports_fields_dropped_with_only_a_warning(tmp_path: Path) -> None:
    """A client that sends no ``fieldValidation`` (kubernetes.core sends none) gets the server default,
    "Warn: This will send a warning via the standard warning response header for each unknown field that
    is dropped from the object ... The request will still succeed": the write passes and the field is
    silently lost on a real cluster. The gate reports it until that manager writes the object cleanly."""
    from email.message import Message  # noqa: PLC0415

    from sandbox.kube import KubeEmulator  # noqa: PLC0415
    from sandbox.server import Context, Request  # noqa: PLC0415
    from sandbox.store import Store  # noqa: PLC0415

    kube = KubeEmulator(Context("kubernetes", Store(tmp_path / "k.json"), {}, {}))
    token = kube.endpoint("https://127.0.0.1:1")["token"]
    audit = kube.admin_routes()[("GET", "audit")]

    def call(method: str, path: str, body: Any, query: str = "") -> int:
        headers = Message()
        headers["Authorization"] = f"Bearer {token}"
        headers["Content-Type"] = "application/json"
        args = {k: [v] for k, v in (part.split("=", 1) for part in query.split("&") if part)}
        request = Request(method, path, args, headers, json.dumps(body).encode())
        with kube.lock:
            return kube.handle(request).status

    def problems() -> list[str]:
        found = json.loads(audit(Request("GET", "/_sandbox/audit", {}, Message(), b"")).payload())["problems"]
        return [p for entry in found for p in entry["problems"]]

    body = {"metadata": {"name": "cm"}, "data": {"a": "b"}, "datta": {"x": "y"}}
    assert call("POST", "/api/v1/namespaces/default/configmaps", body, "fieldManager=ansible") == 201
    assert problems() == [
        'datta: unknown field "datta" dropped with a warning (fieldValidation=Warn) on a write by ansible'
    ]
    del body["datta"]
    assert call("PUT", "/api/v1/namespaces/default/configmaps/cm", body, "fieldManager=ansible") == 200
    assert problems() == []
