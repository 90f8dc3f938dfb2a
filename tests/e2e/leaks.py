"""Secret-leak scan of a full site.yml run at -vvv (the user journey's first converge).

Every secret the run handled (the DigitalOcean token, the Auth0 management and application
client secrets, the platform repository's push token, and every value of the Secrets the platform
wrote in the cluster) is searched, plain and base64-encoded, in the run's output, the Helm release
values, the Argo CD Applications and ApplicationSets, the ConfigMaps and every file of the platform
GitOps repository (what Argo CD reads). None may appear.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from pathlib import Path

from tests.e2e.harness import ROOT, Sandbox

HOST = "sandbox-1"
# Secret types that hold credentials the platform put there (not Helm's own release records).
SECRET_TYPES = {"Opaque", "kubernetes.io/dockerconfigjson", "kubernetes.io/basic-auth"}
# Keys that hold public identifiers stored next to their secret (an OAuth client id, an access
# key id, a user name): they are meant to be shown; their secret counterparts are scanned.
IDENTIFIER_KEYS = {
    "client-id",
    "client_id",
    "clientid",
    "aws_access_key_id",
    "access_key",
    "username",
    "user",
    "admin-user",
}


def kubectl(box: Sandbox, *args: str) -> str:
    return subprocess.run(
        [str(ROOT / ".tools" / "bin" / "kubectl"), "--kubeconfig", str(box.state / f"{HOST}.kubeconfig"), *args],
        capture_output=True,
        text=True,
        check=True,
        env=box.env(),
    ).stdout


def secrets(box: Sandbox) -> set[str]:
    do = box.endpoints["digitalocean"]
    found = {
        do["token"],
        do["dns_token"],
        box.endpoints["auth0"]["client_secret"],
        box.endpoints["git"]["platform_token"],
    }
    token = box.auth0_token()
    for client in box.auth0("/api/v2/clients", token):
        if (client.get("client_metadata") or {}).get("managed_by"):
            found.add(client["client_secret"])
    for item in json.loads(kubectl(box, "get", "secrets", "-A", "-o", "json"))["items"]:
        if item.get("type") in SECRET_TYPES:
            for key, value in (item.get("data") or {}).items():
                if key.lower() in IDENTIFIER_KEYS:
                    continue
                text = base64.b64decode(value).decode("utf-8", "replace")
                if len(text) >= 12:  # short values (user names, "admin") are not secrets
                    found.add(text)
    return found


def haystacks(box: Sandbox, output: str) -> dict[str, str]:
    found = {"site.yml -vvv output": output}
    for rel in json.loads(
        subprocess.run(
            [str(ROOT / ".tools" / "bin" / "helm"), "list", "-A", "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
            env={**box.env(), "KUBECONFIG": str(box.state / f"{HOST}.kubeconfig")},
        ).stdout
    ):
        found[f"helm values {rel['namespace']}/{rel['name']}"] = subprocess.run(
            [
                str(ROOT / ".tools" / "bin" / "helm"),
                "get",
                "values",
                "--all",
                "-o",
                "json",
                rel["name"],
                "-n",
                rel["namespace"],
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**box.env(), "KUBECONFIG": str(box.state / f"{HOST}.kubeconfig")},
        ).stdout
    found["Argo CD Applications"] = kubectl(box, "get", "applications.argoproj.io", "-A", "-o", "json")
    found["Argo CD ApplicationSets"] = kubectl(box, "get", "applicationsets.argoproj.io", "-A", "-o", "json")
    found["ConfigMaps"] = kubectl(box, "get", "configmaps", "-A", "-o", "json")
    found["platform GitOps repository"] = repository_text(box)
    return found


def repository_text(box: Sandbox) -> str:
    """Every file of the platform GitOps repository's main branch, one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**box.env(), "GIT_SSL_CAINFO": box.endpoints["ca_file"], "HOME": tmp, "GIT_TERMINAL_PROMPT": "0"}
        clone = Path(tmp) / "platform"
        subprocess.run(["git", "clone", "-q", box.endpoints["git"]["platform"], str(clone)], env=env, check=True)
        files = subprocess.run(["git", "ls-files"], cwd=clone, env=env, capture_output=True, text=True, check=True)
        return "\n".join((clone / name).read_text() for name in files.stdout.split())


def leaks(box: Sandbox, output: str) -> list[tuple[str, str]]:
    """(where, the secret's first 4 characters) of every secret found in an output or the cluster."""
    values = secrets(box)
    assert len(values) >= 8, "the scan found too few secrets to be meaningful"
    places = haystacks(box, output)
    # the bootstrap release at least, and the repository holds the rendered Tekton files
    assert any(where.startswith("helm values ") for where in places), sorted(places)
    assert len(places["platform GitOps repository"]) > 10000, "the platform repository holds no rendered manifests"
    return [
        (where, secret[:4] + "…")
        for secret in values
        for form in (secret, base64.b64encode(secret.encode()).decode())
        for where, text in places.items()
        if form in text
    ]
