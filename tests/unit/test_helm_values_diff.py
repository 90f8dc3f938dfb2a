"""The Helm values diff of doks.gitops.helm_release: change decision, --diff text, masking."""

from __future__ import annotations

import difflib

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.plugin_utils.helm_values import (
    MASK,
    MASK_CHANGED,
    chart_label,
    mask_secrets,
    material_strings,
    release_changed,
    secret_key,
    secret_variable,
    values_diff,
)

CHART = {"name": "oauth2-proxy", "repo": "https://oauth2-proxy.github.io/manifests", "version": "7.12.18"}
RELEASE = "oauth2-proxy/oauth2-proxy"


def deployed(values: dict | None, chart: str = "oauth2-proxy-7.12.18", status: str = "deployed") -> dict:
    """A release as kubernetes.core.helm_info returns it (``helm list`` + ``helm get values``)."""
    return {"name": "oauth2-proxy", "chart": chart, "status": status, "revision": "3", "values": values}


def unified(diff: dict) -> list[str]:
    """The lines Ansible's default callback prints for a diff (difflib over before/after)."""
    return list(
        difflib.unified_diff(
            diff["before"].splitlines(), diff["after"].splitlines(), diff["before_header"], diff["after_header"]
        )
    )


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "adminPassword",
        "clientSecret",
        "client_secret",
        "cookieSecret",
        "token",
        "GITHUB_TOKEN",
        "apiKey",
        "secretKey",
        "secretAccessKey",
        "privateKey",
        "tls.key",
        "ALERTMANAGER_SLACK_WEBHOOK_URL",
        "DOCR_DOCKERCONFIGJSON",
        "htpasswd",
        "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET",
    ],
)
def test_secret_material_names(name: str) -> None:
    assert secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "existingSecret",
        "secretKeyRef",
        "secretName",
        "passwordKey",
        "userKey",
        "tokenFile",
        "secrets",
        "token_url",
        "create",
        "key",
        "name",
        "clientID",
        "oauth2_proxy_secret_namespace",
        "bypass",
        42,
    ],
)
def test_reference_and_plain_names(name: object) -> None:
    assert not secret_key(name)


def test_mask_hides_secret_material_and_keeps_references() -> None:
    values = {
        "config": {"clientID": "abc", "clientSecret": "s3cr3t-value", "existingSecret": "oauth2-proxy"},
        "admin": {"existingSecret": "grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"},
        "env": [{"name": "DO_TOKEN", "valueFrom": {"secretKeyRef": {"name": "digitalocean-dns", "key": "token"}}}],
        "storage": {"accessKeyId": "${AWS_ACCESS_KEY_ID}", "secretAccessKey": "${AWS_SECRET_ACCESS_KEY}"},
        "tokens": ["t-1", "t-2"],
        "password": {"enabled": True, "value": "hunter2"},
        "auth": {"password": ""},
        "tls.key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n",
        "extraArgs": ["--client-secret=from-the-run-1234"],
        "caBundle": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----",
    }
    masked = mask_secrets(values, known={"from-the-run-1234", "x"})
    assert masked["config"] == {"clientID": "abc", "clientSecret": MASK, "existingSecret": "oauth2-proxy"}
    assert masked["admin"] == values["admin"]
    assert masked["env"] == values["env"]
    assert masked["storage"] == values["storage"]  # expanded from the environment: a reference
    assert masked["tokens"] == [MASK, MASK]
    assert masked["password"] == {"enabled": True, "value": "hunter2"}  # judged by their own names
    assert masked["auth"] == {"password": ""}  # nothing to hide
    assert masked["tls.key"] == MASK
    assert masked["extraArgs"] == [MASK]  # holds a known secret of the run
    assert masked["caBundle"] == MASK  # a PEM private key under any name
    assert "hunter2" in yaml.safe_dump(masked)  # not a secret name, not known: shown
    assert values["config"]["clientSecret"] == "s3cr3t-value"  # the input is left alone


def test_known_secret_equal_or_inside_anywhere_is_masked() -> None:
    known = {"tok-0123456789"}
    values = {"a": {"b": ["x", "tok-0123456789"]}, "url": "https://u:tok-0123456789@git.example"}
    assert mask_secrets(values, known=known) == {"a": {"b": ["x", MASK]}, "url": MASK}


def test_short_known_secrets_are_not_looked_for() -> None:
    """A short value that sits in a secret variable ("true", a chart name) must not hide plain values."""
    values = {"tolerations": [{"key": "tools", "value": "true"}], "fullnameOverride": "oauth2-proxy"}
    assert mask_secrets(values, known={"true", "tools"}) == values


def test_no_change_when_chart_and_values_match() -> None:
    values = {"replicaCount": 2, "config": {"existingSecret": "oauth2-proxy"}}
    assert not release_changed(deployed(values), CHART, values)
    assert not release_changed(deployed(None), CHART, {})  # helm get values prints null for none


@pytest.mark.parametrize(
    ("release", "why"),
    [
        (None, "not installed"),
        (deployed({"replicaCount": 2}, chart="oauth2-proxy-7.12.17"), "chart version"),
        (deployed({"replicaCount": 1}), "values"),
        (deployed({"replicaCount": 2}, status="failed"), "not deployed"),
    ],
)
def test_change_due(release: dict | None, why: str) -> None:
    assert release_changed(release, CHART, {"replicaCount": 2}), why


def test_chart_label_matches_helm_list() -> None:
    assert chart_label(CHART) == "oauth2-proxy-7.12.18"
    assert chart_label({"name": "oci://ghcr.io/traefik/helm/traefik", "version": "37.1.1"}) == "traefik-37.1.1"


def test_diff_shows_values_and_chart_version_change() -> None:
    before = {"replicaCount": 1, "config": {"clientID": "abc"}}
    after = {"replicaCount": 2, "config": {"clientID": "abc"}}
    diff = values_diff(deployed(before, chart="oauth2-proxy-7.12.17"), CHART, after, RELEASE)
    assert diff["before_header"] == f"{RELEASE} (deployed, revision 3)"
    assert diff["after_header"] == f"{RELEASE} (desired)"
    changes = [line for line in unified(diff) if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changes == [
        "-chart: oauth2-proxy-7.12.17",
        "+chart: oauth2-proxy-7.12.18",
        "-  replicaCount: 1",
        "+  replicaCount: 2",
    ]
    assert yaml.safe_load(diff["after"]) == {"chart": "oauth2-proxy-7.12.18", "values": after}


def test_first_install_shows_every_value_added() -> None:
    values = {"replicaCount": 2, "config": {"clientSecret": "s3cr3t-value"}}
    diff = values_diff(None, CHART, values, RELEASE)
    assert diff["before"] == ""
    assert diff["before_header"] == f"{RELEASE} (not installed)"
    lines = unified(diff)[3:]  # after ---, +++ and the hunk header
    assert lines and all(line.startswith("+") for line in lines)
    assert "s3cr3t-value" not in diff["after"]
    assert f"clientSecret: {MASK}" in diff["after"]


def test_changed_secret_shows_as_changed_mask_and_never_the_value() -> None:
    before = {"config": {"clientSecret": "old-secret-1"}, "other": "same"}
    after = {"config": {"clientSecret": "new-secret-2"}, "other": "same"}
    diff = values_diff(deployed(before), CHART, after, RELEASE, known={"old-secret-1", "new-secret-2"})
    text = diff["before"] + diff["after"]
    assert "old-secret-1" not in text
    assert "new-secret-2" not in text
    assert f"clientSecret: {MASK}" in diff["before"]
    assert f"clientSecret: {MASK_CHANGED}" in diff["after"]
    unchanged = values_diff(deployed(before), CHART, before, RELEASE)
    assert unchanged["before"] == unchanged["after"]


def test_failed_release_shows_its_state() -> None:
    values = {"replicaCount": 2}
    diff = values_diff(deployed(values, status="failed"), CHART, values, RELEASE)
    changes = [line for line in unified(diff) if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changes == ["-status: failed", "+status: deployed"]


class Tagged(str):
    """Stands for Ansible 2.19's tagged strings, which yaml.safe_dump cannot represent."""


def test_diff_of_ansible_values_dumps_as_plain_yaml() -> None:
    values = {Tagged("args"): [Tagged("--kubelet-insecure-tls")], "replicas": 2, "on": True, "ratio": 0.5, "x": None}
    diff = values_diff(None, CHART, values, RELEASE)
    assert yaml.safe_load(diff["after"])["values"] == {
        "args": ["--kubelet-insecure-tls"],
        "replicas": 2,
        "on": True,
        "ratio": 0.5,
        "x": None,
    }


@pytest.mark.parametrize(
    ("name", "material"),
    [
        ("doks_cluster_api_token", True),
        ("auth0_apps_client_secret", True),
        ("lofi_pipeline_webhook_secret", True),
        ("doks_cluster_spaces_secret_access_key", True),
        ("argocd_notifications_secrets", True),
        ("DIGITALOCEAN_TOKEN", True),
        ("SPACES_SECRET_ACCESS_KEY", True),
        # The name of a Kubernetes Secret, not its content: the value shows in the diff.
        ("observability_grafana_oidc_secret", False),
        ("ingress_certmanager_oauth2_proxy_secret", False),
        ("doks_cluster_spaces_secret_name", False),
        ("lofi_pipeline_webhook_secret_length", False),
        ("ingress_certmanager_sealed_secrets_chart", False),  # a component called sealed-secrets
        ("ingress_certmanager_sealed_secrets_enabled", False),
        ("doks_cluster_spaces_access_key_id", True),
        ("ALERTMANAGER_SLACK_WEBHOOK_URL", True),
        ("gitops_domain", False),
    ],
)
def test_secret_variables(name: str, material: bool) -> None:
    assert secret_variable(name) is material


def test_material_strings_leave_out_secret_names() -> None:
    alertmanager = [{"name": "alertmanager-slack", "data": {"url": "https://hooks.example/T0/B0/XYZ"}}]
    assert list(material_strings(alertmanager)) == ["https://hooks.example/T0/B0/XYZ"]
    assert list(material_strings({"slack-token": "xoxb-1", "empty": ""})) == ["xoxb-1"]
    assert list(material_strings(None)) == []
