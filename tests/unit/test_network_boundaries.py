"""Every namespace the platform creates is closed by default and carries its Pod Security level.

The objects are those the roles apply: each role's namespace declaration (its defaults and vars,
``ingress_certmanager``'s ``namespaces.yml.j2``) rendered through the shared
``roles/gitops/templates/platform-namespaces.yml.j2`` by Ansible itself, and Tekton's namespaces
from the release manifest through the role's own transform (``tekton_file_docs`` in ``vars/main.yml``).

The NetworkPolicies are then evaluated as a reachability matrix with the semantics of
https://kubernetes.io/docs/concepts/services-networking/network-policies/ : a pod is isolated for
ingress when any NetworkPolicy in its namespace selects it and lists ``Ingress`` in its
``policyTypes``; a connection to an isolated pod is allowed when at least one ingress rule of any
policy selecting it matches both the source (a rule without ``from`` matches every source; a peer
with ``namespaceSelector`` and ``podSelector`` matches pods selected by both; a ``podSelector``
alone means the policy's own namespace) and the port (a rule without ``ports`` matches every port;
a named port matches the container port of that name). The pods are modelled with the labels and
container ports of the upstream charts and manifests at the pinned versions (Tekton's from the
release files in ``sandbox.RELEASES``, which are upstream's), the namespaces with the
``kubernetes.io/metadata.name`` label the API server sets on every namespace (since 1.22).

The API server of a DOKS cluster is a managed control plane outside the pod network: it calls
admission webhooks from an address no pod or namespace selector matches, modelled as ``API``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox
from tests.unit.role_render import ROOT, ansible_playbook

ROLES = (
    "gitops",
    "auth0_apps",
    "ingress_certmanager",
    "observability",
    "tekton",
    "kyverno",
    "falco",
    "argocd",
    "lofi_pipeline",
)
TEKTON_RELEASE = sandbox.RELEASES / "tekton-releases/pipeline/previous/v1.15.0/release.yaml"

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: {vars_files}
  tasks:
    - name: Render the namespaces and NetworkPolicies of every role
      ansible.builtin.copy:
        dest: "{out}/{{{{ item.key }}}}.json"
        content: >-
          {{{{ lookup('ansible.builtin.template', '{shared}',
                      template_vars={{'gitops_platform_namespaces': item.value.namespaces,
                                     'gitops_platform_namespaces_kinds': item.value.kinds}}) | from_yaml | to_json }}}}
        mode: "0600"
      loop: "{{{{ rendered | dict2items }}}}"
      loop_control:
        label: "{{{{ item.key }}}}"
      vars:
        rendered:
          ingress_certmanager:
            namespaces: "{{{{ lookup('ansible.builtin.template', '{icm}') | from_yaml }}}}"
            kinds: [Namespace, NetworkPolicy]
          observability: {{namespaces: "{{{{ observability_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          argocd: {{namespaces: "{{{{ argocd_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          tekton: {{namespaces: "{{{{ tekton_namespaces_declared }}}}", kinds: [NetworkPolicy]}}
          kyverno: {{namespaces: "{{{{ kyverno_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          falco: {{namespaces: "{{{{ falco_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          lofi_pipeline:
            namespaces: "{{{{ lofi_pipeline_pipeline_namespaces_declared }}}}"
            kinds: [NetworkPolicy]

    - name: Write the namespaces of Tekton's release, transformed like the role does
      ansible.builtin.copy:
        dest: "{out}/tekton_release.json"
        content: "{{{{ tekton_file_docs | selectattr('kind', 'eq', 'Namespace') | list | to_json }}}}"
        mode: "0600"
      vars:
        tekton_file: {{component: pipeline, file: release.yaml, cache: "{release}"}}
"""


def render(tmp_path: Path, variables: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The objects of each role (by role name) and of Tekton's release (``tekton_release``)."""
    out = tmp_path / "out"
    out.mkdir()
    vars_files = [str(ROOT / "roles" / role / "defaults/main.yml") for role in ROLES]
    vars_files += [str(p) for role in ROLES if (p := ROOT / "roles" / role / "vars/main.yml").exists()]
    vars_files.append(str(tmp_path / "app.yml"))
    # lofi_pipeline's per-application entry, as tasks/main.yml builds it for the default app
    (tmp_path / "app.yml").write_text(
        yaml.safe_dump(
            {"lofi_pipeline_cur": {"name": "lofi", "app_namespace": "lofi", "pipeline_namespace": "lofi-ci"}}
        )
    )
    (tmp_path / "play.yml").write_text(
        PLAY.format(
            vars_files=json.dumps(vars_files),
            out=out,
            shared=ROOT / "roles/gitops/templates/platform-namespaces.yml.j2",
            icm=ROOT / "roles/ingress_certmanager/templates/namespaces.yml.j2",
            release=TEKTON_RELEASE,
        )
    )
    (tmp_path / "extra.json").write_text(json.dumps(variables or {}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1"}
    result = ansible_playbook(["play.yml", "-e", "@extra.json"], cwd=tmp_path, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return {p.stem: json.loads(p.read_text()) or [] for p in out.glob("*.json")}


# ---- The NetworkPolicy semantics (networking.k8s.io/v1) ----------------------------------------


@dataclass(frozen=True)
class Pod:
    """A pod of the model: namespace, labels and named container ports."""

    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)


API = Pod("", {})  # the DOKS API server: outside the pod network, no selector matches it


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions; ``{}`` selects everything)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and key in labels and labels[key] in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def _namespace_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name}


def _peer_matches(peer: dict[str, Any], policy_namespace: str, src: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # the model's sources have no addresses a block could name
    if src is API:
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], _namespace_labels(src.namespace)):
            return False
    elif src.namespace != policy_namespace:
        return False
    return _selects(peer.get("podSelector"), src.labels) if "podSelector" in peer else True


def _port_matches(rule_ports: list[dict[str, Any]] | None, dst: Pod, port: int) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = dst.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and (number == port or number <= port <= entry.get("endPort", number)):
            return True
    return False


def allowed(policies: list[dict[str, Any]], src: Pod, dst: Pod, port: int) -> bool:
    """Whether ``src`` may open a TCP connection to ``dst`` on ``port`` (ingress side only)."""
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == dst.namespace
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"].get("podSelector"), dst.labels)
    ]
    if not selecting:
        return True  # not isolated for ingress
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            source_ok = not peers or any(_peer_matches(peer, dst.namespace, src) for peer in peers)
            if source_ok and _port_matches(rule.get("ports"), dst, port):
                return True
    return False


def test_the_evaluator_follows_the_documented_semantics() -> None:
    """The examples of the Kubernetes page: AND within one peer, OR across peers and policies."""
    a = Pod("prod", {"role": "db"}, {"db": 6379})
    frontend = Pod("prod", {"role": "frontend"})
    other = Pod("dev", {"role": "frontend"})
    deny = {"metadata": {"namespace": "prod"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    assert allowed([], other, a, 6379)
    assert not allowed([deny], frontend, a, 6379)
    both = {
        "metadata": {"namespace": "prod"},
        "spec": {
            "podSelector": {"matchLabels": {"role": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dev"}},
                            "podSelector": {"matchLabels": {"role": "frontend"}},
                        }
                    ],
                    "ports": [{"port": "db"}],
                }
            ],
        },
    }
    assert allowed([deny, both], other, a, 6379)  # namespace AND pod of one peer match
    assert not allowed([deny, both], frontend, a, 6379)  # right pod, wrong namespace
    assert not allowed([deny, both], other, a, 80)  # named port resolves to 6379 only
    any_source = {
        "metadata": {"namespace": "prod"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"ports": [{"port": 443}]}]},
    }
    assert allowed([deny, any_source], API, a, 443)
    assert not allowed([deny, any_source], API, a, 6379)


# ---- The platform's pods (labels and ports of the upstream charts at the pinned versions) -----

TRAEFIK = Pod("traefik", {"app.kubernetes.io/name": "traefik"}, {"web": 8000, "websecure": 8443, "metrics": 9100})
PROMETHEUS = Pod("observability", {"app.kubernetes.io/name": "prometheus", "prometheus": "kube-prometheus-stack"})
ALERTMANAGER = Pod("observability", {"app.kubernetes.io/name": "alertmanager"}, {"http-web": 9093})
GRAFANA = Pod("observability", {"app.kubernetes.io/name": "grafana"}, {"grafana": 3000})
LOKI = Pod("observability", {"app.kubernetes.io/name": "loki", "app.kubernetes.io/component": "single-binary"})
ALLOY = Pod("observability", {"app.kubernetes.io/name": "alloy"})
OPERATOR = Pod(
    "observability",
    {
        "app.kubernetes.io/name": "kube-prometheus-stack-prometheus-operator",
        "app.kubernetes.io/component": "prometheus-operator",
    },
)
CERT_MANAGER_WEBHOOK = Pod(
    "cert-manager", {"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook"}
)
CERT_MANAGER = Pod(
    "cert-manager", {"app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/component": "controller"}
)
EXTERNAL_DNS = Pod("external-dns", {"app.kubernetes.io/name": "external-dns"})
OAUTH2_PROXY = Pod("oauth2-proxy", {"app.kubernetes.io/name": "oauth2-proxy"})
ARGOCD_SERVER = Pod("argocd", {"app.kubernetes.io/name": "argocd-server"})
ARGOCD_REPO = Pod("argocd", {"app.kubernetes.io/name": "argocd-repo-server"})
ARGOCD_REDIS = Pod("argocd", {"app.kubernetes.io/name": "argocd-redis"})
ARGOCD_CONTROLLER = Pod("argocd", {"app.kubernetes.io/name": "argocd-application-controller"})
EVENT_LISTENER = Pod(
    "lofi-ci",
    {"app.kubernetes.io/managed-by": "EventListener", "app.kubernetes.io/part-of": "Triggers", "eventlistener": "lofi"},
)
LOFI = Pod("lofi", {"app.kubernetes.io/name": "lofi"})
# kyverno chart 3.9.0: pods labelled part-of (the fullname), component and instance; webhooks on
# container port 9443 (admission, cleanup), metrics on 8000 (every controller)
KYVERNO_ADMISSION = Pod(
    "kyverno",
    {"app.kubernetes.io/part-of": "kyverno", "app.kubernetes.io/component": "admission-controller"},
    {"https": 9443, "metrics-port": 8000},
)
KYVERNO_REPORTS = Pod(
    "kyverno",
    {"app.kubernetes.io/part-of": "kyverno", "app.kubernetes.io/component": "reports-controller"},
    {"metrics-port": 8000},
)
LOFI_BUILD = Pod("lofi-ci", {"tekton.dev/pipelineRun": "lofi-run"})
# falco chart 9.1.0: the DaemonSet's pods (selector labels name, instance; port web 8765, metrics too);
# falcosidekick 0.12.1: name falcosidekick, component core, port http 2801 (events in, /metrics)
FALCO = Pod("falco", {"app.kubernetes.io/name": "falco", "app.kubernetes.io/instance": "falco"}, {"web": 8765})
FALCOSIDEKICK = Pod(
    "falco",
    {
        "app.kubernetes.io/name": "falcosidekick",
        "app.kubernetes.io/instance": "falco",
        "app.kubernetes.io/component": "core",
    },
    {"http": 2801},
)


def _tekton_pods() -> dict[str, Pod]:
    """Tekton's pods from the release manifests (the sandbox's releases mirror upstream's files)."""
    pods = {}
    for path in sorted((sandbox.RELEASES / "tekton-releases").glob("*/previous/*/*.yaml")):
        if path.name == "release-full.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Deployment":
                template = doc["spec"]["template"]
                ports = {
                    p["name"]: p["containerPort"]
                    for c in template["spec"]["containers"]
                    for p in c.get("ports") or []
                    if "name" in p
                }
                pods[doc["metadata"]["name"]] = Pod(doc["metadata"]["namespace"], template["metadata"]["labels"], ports)
    return pods


TEKTON = _tekton_pods()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    return render(tmp_path_factory.mktemp("net"))


@pytest.fixture(scope="module")
def policies(rendered: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [o for objects in rendered.values() for o in objects if o["kind"] == "NetworkPolicy"]


def test_loki_answers_the_stack_only(policies: list[dict[str, Any]]) -> None:
    """Loki has no authentication: only Alloy (pushes) and Grafana (queries) reach it."""
    assert allowed(policies, ALLOY, LOKI, 3100)
    assert allowed(policies, GRAFANA, LOKI, 3100)
    for src in (LOFI, LOFI_BUILD, EVENT_LISTENER, TRAEFIK, ARGOCD_REPO, TEKTON["tekton-pipelines-controller"], API):
        assert not allowed(policies, src, LOKI, 3100), src


def test_alertmanager_cannot_be_silenced_from_an_app(policies: list[dict[str, Any]]) -> None:
    assert allowed(policies, PROMETHEUS, ALERTMANAGER, 9093)
    assert allowed(policies, GRAFANA, ALERTMANAGER, 9093)
    for src in (LOFI, LOFI_BUILD, TRAEFIK, OAUTH2_PROXY):
        assert not allowed(policies, src, ALERTMANAGER, 9093), src


def test_the_dashboard_is_reached_through_the_gate_only(policies: list[dict[str, Any]]) -> None:
    """Only the ingress controller (which asks oauth2-proxy first) reaches the Dashboard's pods."""
    dashboard = TEKTON["tekton-dashboard"]
    assert allowed(policies, TRAEFIK, dashboard, 9097)
    others = (LOFI, LOFI_BUILD, EVENT_LISTENER, OAUTH2_PROXY, GRAFANA, PROMETHEUS, API, *TEKTON.values())
    for src in others:
        if src is not dashboard:
            assert not allowed(policies, src, dashboard, 9097), src


def test_ingress_controller_reaches_the_uis_and_the_gate(policies: list[dict[str, Any]]) -> None:
    assert allowed(policies, API, TRAEFIK, 8443)  # the load balancer, from outside the pod network
    assert allowed(policies, API, TRAEFIK, 8000)
    assert not allowed(policies, LOFI, TRAEFIK, 9100)  # its metrics port is Prometheus'
    for ui in (GRAFANA, ARGOCD_SERVER, OAUTH2_PROXY, EVENT_LISTENER):
        assert allowed(policies, TRAEFIK, ui, 8080), ui
        assert not allowed(policies, LOFI, ui, 8080), ui
    assert not allowed(policies, LOFI, EVENT_LISTENER, 8080)


def test_prometheus_scrapes_every_platform_namespace(policies: list[dict[str, Any]]) -> None:
    targets = (TRAEFIK, CERT_MANAGER, CERT_MANAGER_WEBHOOK, EXTERNAL_DNS, OAUTH2_PROXY, ALERTMANAGER, GRAFANA)
    targets += (LOKI, ALLOY, OPERATOR, ARGOCD_SERVER, ARGOCD_REPO, ARGOCD_CONTROLLER, EVENT_LISTENER)
    targets += (KYVERNO_ADMISSION, KYVERNO_REPORTS)
    tekton = [pod for pod in TEKTON.values() if pod.labels["app.kubernetes.io/part-of"] != "tekton-dashboard"]
    for target in (*targets, *tekton):  # the Dashboard has no metrics endpoint: the gate's alone
        assert allowed(policies, PROMETHEUS, target, 9090), target
    for target in (CERT_MANAGER, EXTERNAL_DNS, ARGOCD_CONTROLLER, TEKTON["tekton-pipelines-controller"]):
        assert not allowed(policies, LOFI, target, 9090), target
        assert not allowed(policies, GRAFANA if target.namespace != "observability" else LOFI, target, 9090), target
    assert allowed(policies, PROMETHEUS, KYVERNO_REPORTS, 8000)
    assert not allowed(policies, LOFI, KYVERNO_REPORTS, 8000)


def test_the_api_server_reaches_the_admission_webhooks(policies: list[dict[str, Any]]) -> None:
    """On DOKS the control plane calls webhooks from outside the pod network: their port is open."""
    assert allowed(policies, API, CERT_MANAGER_WEBHOOK, 10250)
    assert allowed(policies, API, OPERATOR, 10250)
    assert allowed(policies, API, TEKTON["tekton-pipelines-webhook"], 8443)
    assert allowed(policies, API, TEKTON["tekton-triggers-webhook"], 8443)
    assert allowed(policies, API, KYVERNO_ADMISSION, 9443)
    # the open port is the webhook's alone
    assert not allowed(policies, API, KYVERNO_ADMISSION, 8000)
    assert not allowed(policies, API, CERT_MANAGER, 10250)
    assert not allowed(policies, API, TEKTON["tekton-pipelines-webhook"], 9090)
    assert not allowed(policies, API, TEKTON["tekton-pipelines-controller"], 8443)


def test_event_listeners_reach_the_interceptors(policies: list[dict[str, Any]]) -> None:
    interceptors = TEKTON["tekton-triggers-core-interceptors"]
    assert allowed(policies, EVENT_LISTENER, interceptors, 8443)
    assert not allowed(policies, EVENT_LISTENER, TEKTON["tekton-triggers-controller"], 9000)


def test_argo_cd_reaches_its_parts_and_nothing_else_does(policies: list[dict[str, Any]]) -> None:
    for src in (ARGOCD_SERVER, ARGOCD_CONTROLLER):
        assert allowed(policies, src, ARGOCD_REPO, 8081)
        assert allowed(policies, src, ARGOCD_REDIS, 6379)
    for src in (LOFI, LOFI_BUILD, TRAEFIK, EVENT_LISTENER):
        assert not allowed(policies, src, ARGOCD_REPO, 8081), src
        assert not allowed(policies, src, ARGOCD_REDIS, 6379), src


def test_every_platform_namespace_denies_by_default(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """Each namespace of each role has a policy selecting every pod with no ingress rule."""
    namespaces = {
        o["metadata"]["namespace"] for objs in rendered.values() for o in objs if o["kind"] == "NetworkPolicy"
    }
    declared = {o["metadata"]["name"] for objs in rendered.values() for o in objs if o["kind"] == "Namespace"}
    assert declared <= namespaces
    expected = {"traefik", "cert-manager", "external-dns", "oauth2-proxy", "observability", "argocd", "argocd-apps"}
    expected |= {"kyverno", "falco"}
    assert expected | {"tekton-pipelines", "tekton-pipelines-resolvers", "tekton-chains", "lofi-ci"} == namespaces
    for namespace in namespaces:
        denies = [
            o
            for objs in rendered.values()
            for o in objs
            if o["kind"] == "NetworkPolicy"
            and o["metadata"]["namespace"] == namespace
            and o["spec"]["podSelector"] == {}
            and not o["spec"].get("ingress")
        ]
        assert denies, namespace


# ---- Pod Security ------------------------------------------------------------------------------


def _documented_levels() -> dict[str, str]:
    """The level each role's defaults document for its namespaces (the values of the variables)."""
    icm = yaml.safe_load((ROOT / "roles/ingress_certmanager/defaults/main.yml").read_text())
    obs = yaml.safe_load((ROOT / "roles/observability/defaults/main.yml").read_text())
    argo = yaml.safe_load((ROOT / "roles/argocd/defaults/main.yml").read_text())
    tekton = yaml.safe_load((ROOT / "roles/tekton/defaults/main.yml").read_text())
    kyverno = yaml.safe_load((ROOT / "roles/kyverno/defaults/main.yml").read_text())
    falco = yaml.safe_load((ROOT / "roles/falco/defaults/main.yml").read_text())
    levels = icm["ingress_certmanager_pod_security"]
    return {
        "traefik": levels["controller"],
        "cert-manager": levels["cert_manager"],
        "external-dns": levels["external_dns"],
        "oauth2-proxy": levels["oauth2_proxy"],
        "observability": obs["observability_pod_security"],
        "argocd": argo["argocd_pod_security"],
        "argocd-apps": argo["argocd_applications_pod_security"],
        "tekton-pipelines": tekton["tekton_pod_security"],
        "tekton-pipelines-resolvers": tekton["tekton_pod_security"],
        "kyverno": kyverno["kyverno_pod_security"],
        "falco": falco["falco_pod_security"],
    }


def test_every_platform_namespace_enforces_its_documented_level(rendered: dict[str, list[dict[str, Any]]]) -> None:
    """enforce, enforce-version, audit and warn on each namespace, at the level its role documents.

    Pod Security Admission reads these labels (https://kubernetes.io/docs/concepts/security/pod-security-admission/).
    The two host-level DaemonSets make observability privileged, Falco's privileged eBPF DaemonSet makes
    falco privileged (roles/gitops/README.md says why); every other namespace restricted.
    """
    namespaces = {o["metadata"]["name"]: o for objs in rendered.values() for o in objs if o["kind"] == "Namespace"}
    documented = _documented_levels()
    assert set(namespaces) == set(documented)
    for name, level in documented.items():
        labels = namespaces[name]["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == level, (name, mode)
        assert labels["pod-security.kubernetes.io/enforce-version"] == "latest"
    assert documented["observability"] == documented["falco"] == "privileged"
    assert {level for name, level in documented.items() if name not in {"observability", "falco"}} == {"restricted"}


def test_ingress_nginx_gets_restricted(tmp_path: Path) -> None:
    """ingress-nginx 4.15.1's controller only adds NET_BIND_SERVICE, which restricted allows: restricted.

    Upstream ``charts/ingress-nginx/values.yaml`` at ``helm-chart-4.15.1``: ``controller.image``
    runAsNonRoot, runAsUser 101, allowPrivilegeEscalation false, seccompProfile RuntimeDefault;
    ``_helpers.tpl`` drops ALL and adds NET_BIND_SERVICE (SYS_CHROOT only with ``chroot``). Pod Security
    Standards, restricted: capabilities may add only NET_BIND_SERVICE. ``test_pod_security.py`` judges
    the rendered pods.
    """
    got = render(tmp_path, {"gitops_ingress_controller": "ingress-nginx"})
    (namespace,) = [
        o for o in got["ingress_certmanager"] if o["kind"] == "Namespace" and o["metadata"]["name"] == "ingress-nginx"
    ]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    nginx = Pod(
        "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, {"http": 80, "https": 443, "webhook": 8443}
    )
    policies = [o for objs in got.values() for o in objs if o["kind"] == "NetworkPolicy"]
    assert allowed(policies, API, nginx, 443) and allowed(policies, API, nginx, 8443)
    assert allowed(policies, nginx, OAUTH2_PROXY, 4180)
    assert not allowed(policies, TRAEFIK, OAUTH2_PROXY, 4180)


def test_falco_reaches_falcosidekick_and_prometheus_scrapes_both(policies: list[dict[str, Any]]) -> None:
    assert allowed(policies, FALCO, FALCOSIDEKICK, 2801)
    assert allowed(policies, PROMETHEUS, FALCO, 8765)
    assert allowed(policies, PROMETHEUS, FALCOSIDEKICK, 2801)
    for src in (LOFI, LOFI_BUILD, GRAFANA, TRAEFIK):
        assert not allowed(policies, src, FALCOSIDEKICK, 2801), src
    assert not allowed(policies, FALCOSIDEKICK, FALCO, 8765)


def test_falcosidekick_reaches_loki_and_alertmanager_only_while_falco_is_on(
    policies: list[dict[str, Any]], tmp_path: Path
) -> None:
    """observability admits gitops_network_peers_falcosidekick only with falco_enabled (off by default):
    then to Loki's push port and Alertmanager's API, nothing else of the stack, and no other pod of
    the falco namespace."""
    assert not allowed(policies, FALCOSIDEKICK, LOKI, 3100)
    assert not allowed(policies, FALCOSIDEKICK, ALERTMANAGER, 9093)
    got = render(tmp_path, {"falco_enabled": True})
    on = [o for objs in got.values() for o in objs if o["kind"] == "NetworkPolicy"]
    assert allowed(on, FALCOSIDEKICK, LOKI, 3100)
    assert allowed(on, FALCOSIDEKICK, ALERTMANAGER, 9093)
    assert not allowed(on, FALCOSIDEKICK, LOKI, 9095)
    assert not allowed(on, FALCOSIDEKICK, GRAFANA, 3000)
    assert not allowed(on, FALCOSIDEKICK, PROMETHEUS, 9090)
    for src in (FALCO, LOFI, LOFI_BUILD):
        assert not allowed(on, src, LOKI, 3100), src
        assert not allowed(on, src, ALERTMANAGER, 9093), src
