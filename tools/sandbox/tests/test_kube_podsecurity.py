"""Pod Security admission in the emulated API server, judged by upstream's own cases and by kubectl.

The evaluator (``sandbox/kube/podsecurity.py``) is written from k8s.io/pod-security-admission v0.31.9
(the module of Kubernetes v1.31.9, the version the emulator serves). Its judges, from the same tag:

- every fixture of ``test/testdata/{baseline,restricted}/<version>/{pass,fail}/*.yaml`` for the versions
  v1.31 (= latest), v1.30, v1.28, v1.24 and v1.18: upstream's ``TestFixtures`` generates them from
  ``test/fixtures_*.go`` and its ``test/run.go`` asserts that each ``pass`` pod is allowed and each ``fail``
  pod refused at that level and version. They are ported as data (each the JSON merge patch from the
  level's ``pass/base.yaml``) in ``tools/sandbox/tests/data/psa_fixtures.yaml``;
- the reasons and details upstream's ``policy/check_*_test.go`` expect, pod shapes and strings ported
  per case below (test file and case name in each id);
- the admission responses of ``admission/admission.go`` (``ValidatePod``, ``ValidatePodController``,
  ``ValidateNamespace``) and kube-controller-manager's reaction to a refused pod
  (``pkg/controller/controller_utils.go`` ``"Error creating: %v"`` Event with reason ``FailedCreate``;
  ``pkg/controller/replicaset/replica_set_utils.go`` ``ReplicaFailure`` condition;
  ``pkg/controller/deployment/progress.go`` copying it onto the Deployment), checked through kubectl.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_tools import TOOLS, run

from sandbox.kube import podsecurity
from sandbox.kube.defaults import pod_spec

FIXTURES = yaml.safe_load((Path(__file__).parent / "data/psa_fixtures.yaml").read_text())
KUBECTL = str(TOOLS / "kubectl")


def _merge(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _cases() -> list[Any]:
    params = []
    for case in FIXTURES["cases"]:
        for version in case["versions"]:
            pod = _merge(FIXTURES["bases"][f"{case['level']}/{version}"], case["patch"])
            case_id = f"{case['level']}/{version}/{case['file']}"
            params.append(pytest.param(case["level"], version, case["expect"], pod, id=case_id))
    return params


@pytest.mark.parametrize(("level", "version", "expect", "pod"), _cases())
def test_upstream_fixtures(level: str, version: str, expect: str, pod: dict[str, Any]) -> None:
    """Each upstream fixture is allowed (pass) or refused (fail) at its level and version, after the API
    server's defaulting (upstream's run.go creates them on a real server)."""
    pod_spec(pod["spec"])
    parsed = (1, int(version.split(".")[1]))
    failed = podsecurity.evaluate(level, parsed, pod["metadata"], pod["spec"])
    assert bool(failed) == (expect == "fail"), podsecurity.detail(failed)


def test_upstream_base_pods_pass_at_latest() -> None:
    """``pass/base.yaml`` of v1.31 passes at ``latest`` for its level, and the baseline one fails restricted."""
    for level in ("baseline", "restricted"):
        base = FIXTURES["bases"][f"{level}/v1.31"]
        assert podsecurity.evaluate(level, None, base["metadata"], base["spec"]) == []
    base = FIXTURES["bases"]["baseline/v1.31"]
    assert podsecurity.evaluate("restricted", None, base["metadata"], base["spec"])


def _c(name: str, **sc: Any) -> dict[str, Any]:
    return {"name": name, "image": "x", **({"securityContext": sc} if sc else {})}


# (upstream test file: case name, check function, pod spec, expected reason, expected detail)
MESSAGES = [
    (
        "check_runAsNonRoot_test.go: no explicit runAsNonRoot",
        podsecurity.run_as_non_root,
        {"containers": [_c("a")]},
        "runAsNonRoot != true",
        'pod or container "a" must set securityContext.runAsNonRoot=true',
    ),
    (
        "check_runAsNonRoot_test.go: containers runAsNonRoot=false",
        podsecurity.run_as_non_root,
        {
            "securityContext": {"runAsNonRoot": True},
            "containers": [
                _c("a"),
                _c("b", runAsNonRoot=True),
                _c("c", runAsNonRoot=False),
                _c("d", runAsNonRoot=False),
            ],
        },
        "runAsNonRoot != true",
        'containers "c", "d" must not set securityContext.runAsNonRoot=false',
    ),
    (
        "check_runAsNonRoot_test.go: pod nil, container fallthrough",
        podsecurity.run_as_non_root,
        {"containers": [_c("a"), _c("b"), _c("c", runAsNonRoot=True)]},
        "runAsNonRoot != true",
        'pod or containers "a", "b" must set securityContext.runAsNonRoot=true',
    ),
    (
        "check_capabilities_restricted_test.go: multiple containers",
        podsecurity.capabilities_restricted,
        {
            "containers": [
                _c("a", capabilities={"add": ["FOO", "BAR"]}),
                _c("b", capabilities={"add": ["BAR", "BAZ"], "drop": ["NET_RAW"]}),
                _c("c", capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}),
            ]
        },
        "unrestricted capabilities",
        'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must '
        'not include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add',
    ),
    (
        "check_capabilities_restricted_test.go: linux pod, reject if security context is not set",
        podsecurity.capabilities_restricted,
        {"os": {"name": "linux"}, "containers": [_c("a")]},
        "unrestricted capabilities",
        'container "a" must set securityContext.capabilities.drop=["ALL"]',
    ),
    (
        "check_hostPorts_test.go: multiple containers, multiple host port",
        podsecurity.host_ports,
        {
            "containers": [
                {"name": "a", "ports": [{"containerPort": 1}]},
                {"name": "b", "ports": [{"containerPort": 2, "hostPort": 10}, {"containerPort": 3, "hostPort": 20}]},
                {"name": "c", "ports": [{"containerPort": 4, "hostPort": 30}]},
            ]
        },
        "hostPort",
        'containers "b", "c" use hostPorts 10, 20, 30',
    ),
    (
        "check_seLinuxOptions_test.go: invalid pod and containers",
        podsecurity._se_linux(podsecurity.SELINUX_1_31),
        {
            "securityContext": {"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}},
            "containers": [
                _c("a", seLinuxOptions={}),
                _c("b", seLinuxOptions={"type": "container_t"}),
                _c("c", seLinuxOptions={"type": "container_init_t"}),
                _c("d", seLinuxOptions={"type": "container_kvm_t"}),
                _c("e", seLinuxOptions={"type": "bar"}),
                _c("f", seLinuxOptions={"user": "bar"}),
                _c("g", seLinuxOptions={"role": "baz"}),
            ],
        },
        "seLinuxOptions",
        'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: types "bar", "foo"; '
        "user may not be set; role may not be set",
    ),
    (
        "check_appArmorProfile_test.go: unconfined container",
        podsecurity.app_armor_profile,
        {
            "containers": [_c("foo", appArmorProfile={"type": "Unconfined"})],
            "initContainers": [_c("bar", appArmorProfile={"type": "RuntimeDefault"})],
        },
        "forbidden AppArmor profile",
        'container "foo" must not set AppArmor profile type to "Unconfined"',
    ),
]


@pytest.mark.parametrize(("check", "spec", "reason", "detail"), [m[1:] for m in MESSAGES], ids=[m[0] for m in MESSAGES])
def test_upstream_messages(check: Any, spec: dict[str, Any], reason: str, detail: str) -> None:
    result = check({}, spec)
    assert (result.allowed, result.reason, result.detail) == (False, reason, detail)


def test_restricted_order_and_overrides() -> None:
    """registry.go: restricted runs the baseline checks it does not override, baseline IDs first, each sorted."""
    ids = [cid for cid, _ in podsecurity.checks_for("restricted", None)]
    assert ids == [
        "appArmorProfile",
        "hostNamespaces",
        "hostPorts",
        "privileged",
        "procMount",
        "seLinuxOptions",
        "sysctls",
        "windowsHostProcess",
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "restrictedVolumes",
        "runAsNonRoot",
        "runAsUser",
        "seccompProfile_restricted",
    ]
    assert podsecurity.checks_for("privileged", None) == []


def test_namespace_policy_labels() -> None:
    """api/helpers.go PolicyToEvaluate: defaults, fail-closed enforce, fail-open audit/warn, warn follows enforce."""
    p = podsecurity.policy({})
    assert (str(p.enforce), str(p.audit), str(p.warn), p.errors) == (
        "privileged:latest",
        "privileged:latest",
        "privileged:latest",
        (),
    )
    p = podsecurity.policy({"pod-security.kubernetes.io/enforce": "baseline"})
    assert str(p.warn) == "baseline:latest"
    p = podsecurity.policy({"pod-security.kubernetes.io/enforce": "strict", "pod-security.kubernetes.io/warn": "x"})
    assert (p.enforce.level, p.warn.level) == ("restricted", "privileged")
    assert [e[0] for e in p.errors] == ["pod-security.kubernetes.io/enforce", "pod-security.kubernetes.io/warn"]
    p = podsecurity.policy({"pod-security.kubernetes.io/enforce-version": "v1.030"})
    assert p.errors == (("pod-security.kubernetes.io/enforce-version", "v1.030", 'must be "latest" or "v1.x"'),)


# ---- the emulated API server, through kubectl -------------------------------------------------------


def _ns(kube_env: dict[str, str], name: str, level: str, **extra: str) -> None:
    labels = {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        **extra,
    }
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    _apply(kube_env, body)


def _apply(kube_env: dict[str, str], body: dict[str, Any], check: bool = True) -> Any:
    path = Path(kube_env["HOME"]) / f"obj-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(body))
    return run(kube_env, KUBECTL, "apply", "--server-side", "-f", str(path), check=check)


def _deployment(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


ROOTFUL = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
RESTRICTED_OK = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 101, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "app",
            "image": "nginx:1.27",
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
    ],
}
RESTRICTED_DETAIL = (
    'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), '
    'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), '
    'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
    'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")'
)


def test_pod_refused_with_upstream_message(kube_env: dict[str, str]) -> None:
    """ValidatePod: a pod create in an enforce=restricted namespace is a 403 ``pods "x" is forbidden: violates
    PodSecurity "restricted:latest": ...``; the same pod made restricted is created, a dry run is judged too."""
    _ns(kube_env, "psa-restricted", "restricted")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "psa-restricted"}}
    result = _apply(kube_env, {**pod, "spec": ROOTFUL}, check=False)
    assert result.returncode != 0
    assert f'pods "root" is forbidden: violates PodSecurity "restricted:latest": {RESTRICTED_DETAIL}' in result.stderr
    status = run(kube_env, KUBECTL, "get", "--raw", "/api/v1/namespaces/psa-restricted/pods/root", check=False).stderr
    assert "NotFound" in status or "not found" in status
    _apply(kube_env, {**pod, "metadata": {**pod["metadata"], "name": "ok"}, "spec": RESTRICTED_OK})
    run(kube_env, KUBECTL, "-n", "psa-restricted", "get", "pod", "ok")


def test_workloads_are_warned_not_refused(kube_env: dict[str, str]) -> None:
    """ValidatePodController: a Deployment whose template violates the level is created with the
    ``would violate PodSecurity`` Warning; its ReplicaSet's pods are refused, so it never becomes ready:
    ReplicaFailure/FailedCreate on the ReplicaSet and the Deployment, a FailedCreate Warning Event."""
    _ns(kube_env, "psa-deploy", "restricted")
    result = _apply(kube_env, _deployment("psa-deploy", "web", ROOTFUL))
    assert f'Warning: would violate PodSecurity "restricted:latest": {RESTRICTED_DETAIL}' in result.stderr
    deadline = time.monotonic() + 20
    dep: dict[str, Any] = {}
    while time.monotonic() < deadline:
        out = run(kube_env, KUBECTL, "-n", "psa-deploy", "get", "deployment", "web", "-o", "json").stdout
        dep = json.loads(out)
        if any(c["type"] == "ReplicaFailure" for c in dep.get("status", {}).get("conditions", [])):
            break
        time.sleep(0.3)
    failure = next(c for c in dep["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert (failure["status"], failure["reason"]) == ("True", "FailedCreate")
    assert failure["message"].startswith('pods "web-') and "is forbidden: violates PodSecurity" in failure["message"]
    assert not dep["status"].get("readyReplicas")
    pods = json.loads(run(kube_env, KUBECTL, "-n", "psa-deploy", "get", "pods", "-o", "json").stdout)["items"]
    assert pods == []
    events = json.loads(run(kube_env, KUBECTL, "-n", "psa-deploy", "get", "events", "-o", "json").stdout)["items"]
    failed = [e for e in events if e["reason"] == "FailedCreate"]
    assert len(failed) == 1 and failed[0]["type"] == "Warning"
    assert failed[0]["involvedObject"]["kind"] == "ReplicaSet"
    assert failed[0]["message"].startswith('Error creating: pods "web-')
    # the compliant template rolls out
    result = _apply(kube_env, _deployment("psa-deploy", "web", RESTRICTED_OK))
    assert "would violate" not in result.stderr
    run(kube_env, KUBECTL, "-n", "psa-deploy", "rollout", "status", "deployment/web", "--timeout=20s")


def test_warn_and_audit_labels_only_warn(kube_env: dict[str, str]) -> None:
    """A namespace with enforce=baseline and warn=restricted admits a baseline pod with the restricted warning."""
    _ns(kube_env, "psa-warn", "baseline", **{"pod-security.kubernetes.io/warn": "restricted"})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "psa-warn"}, "spec": ROOTFUL}
    result = _apply(kube_env, pod)
    assert f'Warning: would violate PodSecurity "restricted:latest": {RESTRICTED_DETAIL}' in result.stderr
    privileged = copy.deepcopy(pod)
    privileged["metadata"]["name"] = "priv"
    privileged["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    result = _apply(kube_env, privileged, check=False)
    assert (
        'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)'
        in result.stderr
    )


def test_namespace_labels_validated_and_tightening_warns(kube_env: dict[str, str]) -> None:
    """ValidateNamespace: invalid level refused on create (422, the label's field path); tightening enforce over
    existing pods warns with EvaluatePodsInNamespace's lines."""
    bad = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "psa-bad", "labels": {"pod-security.kubernetes.io/enforce": "strict"}},
    }
    result = _apply(kube_env, bad, check=False)
    assert (
        'Namespace "psa-bad" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
        "must be one of privileged, baseline, restricted"
    ) in result.stderr
    _ns(kube_env, "psa-tighten", "privileged")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root", "namespace": "psa-tighten"}, "spec": ROOTFUL}
    _apply(kube_env, pod)
    result = run(
        kube_env,
        KUBECTL,
        "label",
        "--overwrite",
        "namespace",
        "psa-tighten",
        "pod-security.kubernetes.io/enforce=restricted",
    )
    assert (
        'existing pods in namespace "psa-tighten" violate the new PodSecurity enforce level "restricted:latest"'
        in result.stderr
    )
    assert (
        "root: allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile"
        in result.stderr
    )
