"""Helpers shared by the application/ tests: render its Helm charts with test values."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
APPLICATION = ROOT / "application"
HELM = ROOT / ".tools" / "bin" / "helm"
# @octokit/webhooks-examples (npm): GitHub's documented webhook payloads, installed by `make setup`
GITHUB_EXAMPLES = ROOT / ".cache" / "judges" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"

# Test values: every environment-specific value is a recognisable "test-" string, so the rendered
# output can be searched for anything that did not come from them.
DIGEST = "sha256:" + "0123456789abcdef" * 4

APP_VALUES = {
    "host": "lofi.test-domain.io",
    "image": {"repository": "registry.test-domain.io/test-org/lofi"},
    "imagePullSecrets": [{"name": "test-pull-secret"}],
    "ingress": {"className": "test-ingress-class", "clusterIssuer": "test-issuer"},
    "placement": {
        "nodeSelector": {"test-domain.io/node-pool": "test-workloads-pool"},
        "tolerations": [{"key": "test-taint", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    },
    "networkPolicy": {"ingressControllerNamespace": "test-ingress-ns", "prometheusNamespace": "test-monitoring-ns"},
    "serviceMonitor": {"enabled": True, "labels": {"release": "test-prometheus"}},
}

PIPELINE_VALUES = {
    "source": {"url": "https://git.test-domain.io/test-org/lofi.git", "branch": "test-branch"},
    "gitops": {
        "url": "https://git.test-domain.io/test-org/gitops.git",
        "branch": "test-gitops-branch",
        "environment": "test-env",
    },
    "image": {"repository": "registry.test-domain.io/test-org/lofi"},
    "secrets": {
        "gitCredentials": "test-git-credentials",
        "registry": "test-registry-secret",
        "gitReadCredentials": "test-git-read-credentials",
        "webhook": "test-webhook-secret",
        "webhookKey": "test-webhook-key",
    },
    "serviceAccounts": {"pipeline": "test-pipeline-sa", "pullRequest": "test-pr-sa", "triggers": "test-triggers-sa"},
    "webhook": {
        "host": "hooks.test-domain.io",
        "ingressClassName": "test-ingress-class",
        "clusterIssuer": "test-issuer",
    },
    "placement": {
        "nodeSelector": {"test-domain.io/node-pool": "test-tools-pool"},
        "tolerations": [{"key": "test-tools-taint", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    },
    "run": {
        "placement": {
            "nodeSelector": {"test-domain.io/node-pool": "test-workloads-pool"},
            "tolerations": [
                {"key": "test-workloads-taint", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
            ],
        },
    },
}

APPS_VALUES = {
    "environment": "test-env",
    "gitops": {"repoURL": "https://git.test-domain.io/test-org/gitops.git", "targetRevision": "test-gitops-branch"},
    "app": {"namespace": "test-app-ns", "values": APP_VALUES},
    "pipeline": {"namespace": "test-ci-ns", "values": PIPELINE_VALUES},
}


def helm_template(chart: str, values: dict, tmp_path: Path, *extra: str, release: str | None = None) -> list[dict]:
    """Render application/<chart> with `values`; return the non-empty documents."""
    values_file = tmp_path / f"{chart}-values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm_run(chart, release or chart, "-f", str(values_file), *extra)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def helm_run(chart: str, release: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HELM), "template", release, str(APPLICATION / chart), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
