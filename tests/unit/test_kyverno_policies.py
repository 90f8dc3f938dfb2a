"""The ClusterPolicies the kyverno role applies, judged with Kyverno's own schema.

The judge is PyPI ``cloudcoil-models-kyverno`` 1.13.4.0, generated from Kyverno's CRDs
(``kyverno.io_clusterpolicies.yaml``): a rendered policy must validate as ``kyverno.io/v1``
ClusterPolicy and survive the round trip unchanged, so a field the CRD does not declare (which the
model would silently drop, as the API server prunes it) fails the test. The fields used here are
also in the CRD of the pinned chart 3.9.0 (v1.19.0).

The signature policy carries the public key the tekton role publishes (the ``tekton_chains_public_key``
fact its chains.yml sets from ``doks.gitops.cosign_keypair``): a signature made with the stored
private key verifies with that key, another key's signature does not (cryptography, ECDSA P-256 /
SHA-256 as cosign signs).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import cosign_keys
from cloudcoil.models.kyverno import v1 as kyverno_v1
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.unit.promtool_judge import judge_alert
from tests.unit.role_render import ROOT, outputs, render_role
from tests.unit.test_cosign_keypair import PAYLOAD, judge_decrypt

TASKS = """
    - name: Load the role's vars as the role does
      ansible.builtin.include_vars: {root}/roles/kyverno/vars/main.yml
    - name: Choose the key as the role does
      ansible.builtin.include_tasks: {root}/roles/kyverno/tasks/key.yml
      when: kyverno_verify_images_enabled | bool
    - name: Write the policies as the role applies them
      ansible.builtin.copy:
        dest: "{out}/policies.json"
        content: "{{{{ lookup('ansible.builtin.template', 'policies.yml.j2') | from_yaml_all | select | list | to_json }}}}"
        mode: "0600"
    - name: Write the alert rule
      ansible.builtin.copy:
        dest: "{out}/rules.json"
        content: "{{{{ lookup('ansible.builtin.template', 'kyverno-rules.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
    - name: Write the chart values
      ansible.builtin.copy:
        dest: "{out}/values.json"
        content: "{{{{ lookup('ansible.builtin.template', 'kyverno-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def chains_key() -> dict[str, str]:
    """The key pair as the tekton role's cosign_keypair module keeps it (the collection's own code): the
    Secret data decoded, ``cosign.pub`` being the ``public_key`` it returns and chains.yml publishes."""
    outcome = cosign_keys.reconcile(None)
    data = {key: base64.b64decode(value).decode() for key, value in outcome.data.items()}
    assert data["cosign.pub"] == outcome.public_pem.decode()
    return data


def render(tmp_path: Path, variables: dict[str, Any]) -> dict[str, Any]:
    result = render_role(tmp_path, "kyverno", TASKS, variables, defaults_of=("lofi_pipeline",), root=ROOT)
    return outputs(tmp_path, result)


def by_name(policies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p for p in policies}


def judge(policy: dict[str, Any]) -> None:
    model = kyverno_v1.ClusterPolicy.model_validate(policy)
    assert model.model_dump(mode="json", by_alias=True, exclude_unset=True) == policy


def test_the_judge_refuses_a_field_kyverno_does_not_declare() -> None:
    policy = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "p"},
        "spec": {"rules": [{"name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]}}]},
    }
    judge(policy)
    policy["spec"]["rules"][0]["verifyImage"] = [{"imageReferences": ["*"]}]
    with pytest.raises(AssertionError):
        judge(policy)


def public_key_of(policy: dict[str, Any]) -> str:
    rule = policy["spec"]["rules"][0]["verifyImages"][0]
    keys = [e["keys"]["publicKeys"] for a in rule["attestors"] for e in a["entries"]]
    keys += [e["keys"]["publicKeys"] for at in rule["attestations"] for a in at["attestors"] for e in a["entries"]]
    assert len(set(keys)) == 1
    return keys[0]


@pytest.mark.parametrize("action", ["Audit", "Enforce"])
def test_policies_validate_against_kyvernos_schema(tmp_path: Path, chains_key: dict[str, str], action: str) -> None:
    out = render(
        tmp_path,
        {"tekton_chains_public_key": chains_key["cosign.pub"], "kyverno_validation_failure_action": action},
    )
    policies = by_name(out["policies"])
    assert set(policies) == {"verify-image-signatures", "require-image-digests", "require-restricted-pod-security"}
    for policy in policies.values():
        judge(policy)
    # the switch reaches every rule, and nothing else decides it
    verify = policies["verify-image-signatures"]["spec"]
    assert [v["failureAction"] for v in verify["rules"][0]["verifyImages"]] == [action]
    for name in ("require-image-digests", "require-restricted-pod-security"):
        assert [r["validate"]["failureAction"] for r in policies[name]["spec"]["rules"]] == [action] * len(
            policies[name]["spec"]["rules"]
        )
    assert "validationFailureAction" not in json.dumps(out["policies"])
    # in Audit an outage of Kyverno must not block the apps; in Enforce an unverified image must not pass
    assert verify["failurePolicy"] == ("Fail" if action == "Enforce" else "Ignore")
    # Kyverno refuses mutateDigest in Audit; the references are digests already
    assert verify["rules"][0]["verifyImages"][0]["mutateDigest"] is False


def test_switch_refuses_other_values(tmp_path: Path, chains_key: dict[str, str]) -> None:
    """Only Audit and Enforce (the argument spec's choices, checked by the role's first task)."""
    variables = {"tekton_chains_public_key": chains_key["cosign.pub"], "kyverno_validation_failure_action": "enforce"}
    result = render_role(
        tmp_path, "kyverno", TASKS, variables, defaults_of=("lofi_pipeline",), preflight=True, root=ROOT
    )
    assert result.returncode != 0
    assert "kyverno_validation_failure_action" in result.stdout
    assert not list((tmp_path / "out").glob("*.json"))


def test_policies_match_only_the_application_namespaces(tmp_path: Path, chains_key: dict[str, str]) -> None:
    apps = [{"name": "lofi"}, {"name": "shop"}]
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"], "lofi_pipeline_apps": apps})
    for policy in out["policies"]:
        for rule in policy["spec"]["rules"]:
            (selector,) = rule["match"]["any"]
            assert selector["resources"].get("namespaces", selector["resources"].get("names")) == ["lofi", "shop"]
    assert 'resource_namespace=~"lofi|shop"' in out["rules"]["spec"]["groups"][0]["rules"][0]["expr"]


def test_no_application_no_policy(tmp_path: Path, chains_key: dict[str, str]) -> None:
    """An empty ``namespaces`` match selects every namespace in Kyverno: no app, no policy."""
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"], "lofi_pipeline_apps": []})
    assert out["policies"] == []


def test_the_policy_carries_the_published_key_and_verifies_its_signatures(
    tmp_path: Path, chains_key: dict[str, str]
) -> None:
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"]})
    policy = by_name(out["policies"])["verify-image-signatures"]
    carried = public_key_of(policy)
    assert carried == chains_key["cosign.pub"].strip()
    rule = policy["spec"]["rules"][0]["verifyImages"][0]
    assert rule["attestations"][0]["type"] == "https://slsa.dev/provenance/v1"
    assert rule["attestations"][0]["conditions"][0]["all"][0] == {
        "key": "{{ runDetails.builder.id }}",
        "operator": "Equals",
        "value": "https://tekton.dev/chains/v2",
    }
    verifier = serialization.load_pem_public_key(carried.encode())
    assert isinstance(verifier, ec.EllipticCurvePublicKey)
    signer = judge_decrypt(chains_key["cosign.key"].encode(), chains_key["cosign.password"].encode())
    verifier.verify(signer.sign(PAYLOAD, ec.ECDSA(hashes.SHA256())), PAYLOAD, ec.ECDSA(hashes.SHA256()))
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidSignature):
        verifier.verify(other.sign(PAYLOAD, ec.ECDSA(hashes.SHA256())), PAYLOAD, ec.ECDSA(hashes.SHA256()))


def test_inventory_key_wins_over_the_published_one(tmp_path: Path, chains_key: dict[str, str]) -> None:
    other = cosign_keys.reconcile(None).public_pem.decode()
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"], "kyverno_public_key": other})
    assert public_key_of(by_name(out["policies"])["verify-image-signatures"]) == other.strip()


def test_values_place_every_controller_on_the_tools_pool(tmp_path: Path, chains_key: dict[str, str]) -> None:
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"]})
    values = out["values"]
    tools = {
        "nodeSelector": {"doks.digitalocean.com/node-pool": "tools"},
        "tolerations": [{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    }
    for component in (
        "global",
        "admissionController",
        "backgroundController",
        "cleanupController",
        "reportsController",
    ):
        assert {k: values[component][k] for k in ("nodeSelector", "tolerations")} == tools, component
    for component in ("admissionController", "backgroundController", "cleanupController", "reportsController"):
        assert values[component]["serviceMonitor"] == {"enabled": True}


def test_the_violation_alert_passes_promtool_and_fires_on_a_new_failure(
    tmp_path: Path, chains_key: dict[str, str]
) -> None:
    """``promtool check rules`` and ``promtool test rules`` (Prometheus' own tools, ``make tools``) on the
    PrometheusRule: a failed result counted in an app namespace fires KyvernoPolicyViolation, one in
    another namespace or a passing one does not. Series labels as Kyverno v1.19.0
    pkg/metrics/policy_engine.go records them (counter kyverno_policy_results, ``_total`` in Prometheus)."""
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"]})
    labels = 'policy_name="require-image-digests",rule_name="require-digest",policy_validation_mode="audit"'
    judge_alert(
        tmp_path,
        out["rules"]["spec"]["groups"],
        input_series=[
            {
                "series": f'kyverno_policy_results_total{{{labels},rule_result="fail",resource_namespace="lofi"}}',
                "values": "0x10 1x30",
            },
            {
                "series": f'kyverno_policy_results_total{{{labels},rule_result="fail",resource_namespace="kube-system"}}',
                "values": "0x10 5x30",
            },
            {
                "series": f'kyverno_policy_results_total{{{labels},rule_result="pass",resource_namespace="lofi"}}',
                "values": "0+1x40",
            },
        ],
        alert_rule_test=[
            {"eval_time": "5m", "alertname": "KyvernoPolicyViolation", "exp_alerts": []},
            {
                "eval_time": "15m",
                "alertname": "KyvernoPolicyViolation",
                "exp_alerts": [
                    {
                        "exp_labels": {
                            "severity": "warning",
                            "policy_name": "require-image-digests",
                            "rule_name": "require-digest",
                            "resource_namespace": "lofi",
                            "policy_validation_mode": "audit",
                        },
                        "exp_annotations": {
                            "summary": "Kyverno policy require-image-digests failed in lofi",
                            "description": "Rule require-digest of require-image-digests failed for a resource"
                            " of namespace lofi in the last 15m (mode audit). See the policy reports (kubectl"
                            " get policyreports -n lofi) and the Grafana dashboard Kyverno.",
                        },
                    }
                ],
            },
            {"eval_time": "40m", "alertname": "KyvernoPolicyViolation", "exp_alerts": []},
        ],
    )


DOCKERCONFIG = '{"auths": {"registry.digitalocean.com": {"auth": "cmVhZC1vbmx5OnRva2Vu"}}}'


@pytest.mark.parametrize(
    "credential",
    [{"kyverno_registry_dockerconfigjson": DOCKERCONFIG}, {"kyverno_sealed_registry": "AgBy3i4OJSWK+PiTySYZZA9rO43c"}],
    ids=["clear", "sealed"],
)
@pytest.mark.parametrize("action", ["Audit", "Enforce"])
def test_a_registry_credential_is_named_in_the_signature_rule(
    tmp_path: Path, chains_key: dict[str, str], credential: dict[str, str], action: str
) -> None:
    """Kyverno fetches signatures and attestations with the Secrets of its own namespace that the rule
    names in ``imageRegistryCredentials.secrets`` (kyverno.io docs, policy-types/cluster-policy/verify-images:
    "imageRegistryCredentials: use specific registry credentials for this policy"; the CRD's
    ImageRegistryCredentials: ``secrets``, ``providers``, ``allowInsecureRegistry``). The judge keeps the
    field, so the API server would too; TLS to the registry stays on (``allowInsecureRegistry: false``)."""
    out = render(
        tmp_path,
        {
            "tekton_chains_public_key": chains_key["cosign.pub"],
            "kyverno_validation_failure_action": action,
            "kyverno_registry_secret_name": "docr-read",
            **credential,
        },
    )
    policies = by_name(out["policies"])
    for policy in policies.values():
        judge(policy)
    (rule,) = policies["verify-image-signatures"]["spec"]["rules"][0]["verifyImages"]
    assert rule["imageRegistryCredentials"] == {"secrets": ["docr-read"], "allowInsecureRegistry": False}
    # the credential itself is never in a policy (only the Secret's name)
    assert "cmVhZC1vbmx5OnRva2Vu" not in json.dumps(out) and "AgBy3i4O" not in json.dumps(out)
    # the other policies read no registry
    for name in ("require-image-digests", "require-restricted-pod-security"):
        assert "imageRegistryCredentials" not in json.dumps(policies[name])


def test_without_a_registry_credential_the_rule_names_none(tmp_path: Path, chains_key: dict[str, str]) -> None:
    """No credential (a public registry): no Secret to name, Kyverno reads anonymously."""
    out = render(tmp_path, {"tekton_chains_public_key": chains_key["cosign.pub"]})
    policy = by_name(out["policies"])["verify-image-signatures"]
    judge(policy)
    (rule,) = policy["spec"]["rules"][0]["verifyImages"]
    assert "imageRegistryCredentials" not in rule
