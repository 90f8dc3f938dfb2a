# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Desired vs deployed Helm values: the change decision and the --diff text, secrets masked.

Pure functions, used on the controller by the doks.gitops.helm_release action. A deployed
release is what kubernetes.core.helm_info returns as ``status`` (``chart`` is ``<name>-<version>``,
``values`` what ``helm get values`` prints, ``status`` Helm's state of the release).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import yaml

# What the diff shows in place of a secret; never derived from the value.
MASK = "<masked>"
# The mask on the desired side when the secret there differs from the deployed one.
MASK_CHANGED = "<masked, changed>"
# Known secrets shorter than this are not looked for: a real credential is longer, and a short
# value ("true", a chart name) that only happens to sit in a secret variable would hide plain values.
MIN_KNOWN_SECRET = 8

# Key names that hold secret material (matched on the name lowercased, without "_", "-", ".").
_SECRET_WORDS = re.compile(
    r"password|passwd|passphrase|secret|token|apikey|privatekey|accesskey|signingkey|encryptionkey"
    r"|credential|dockerconfig|htpasswd|webhookurl|bearer|salt|tlskey|sslkey|clientkey"
)
# Key names that name where a secret is kept, not the secret: existingSecret, secretKeyRef,
# secretName, passwordKey (the key inside a Secret), tokenFile, secrets (a list of Secret names, as
# in Alertmanager and ServiceAccount), token_url (an endpoint, unlike a Slack webhook URL), ...
_REFERENCE = re.compile(
    r"^existing|^secrets$|(ref|refs|name|names|namespace|file|files|path|mounts?|create|enabled|endpoint"
    r"|(?<!webhook)(url|uri))$"
)
_REFERENCE_KEY = re.compile(r"(password|passwd|user|username|token|clientsecret|credentials?)key$")
# Values that point at a secret kept elsewhere: ${AWS_SECRET_ACCESS_KEY} (expanded from the
# environment), $oidc.auth0.clientSecret (Argo CD's reference to a key of argocd-secret).
_REFERENCE_VALUE = re.compile(r"^\$(\{[\w.:-]+\}|[\w.:-]+)$")
# Key material recognised by its form, whatever the key is called.
_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def _normal(name: str) -> str:
    return re.sub(r"[_.\-\s]", "", name.lower())


def secret_key(name: Any) -> bool:
    """True when a mapping key's name says its value is secret material (not a reference to one)."""
    if not isinstance(name, str):
        return False
    normal = _normal(name)
    if name.lower().endswith(".key"):  # tls.key, ca.key: file-like entries of key material
        return True
    if not _SECRET_WORDS.search(normal):
        return False
    return not (_REFERENCE.search(normal) or _REFERENCE_KEY.search(normal))


# A variable holds secret material when its name ends with what it holds (doks_cluster_api_token,
# auth0_apps_client_secret, SPACES_SECRET_ACCESS_KEY, ALERTMANAGER_SLACK_WEBHOOK_URL), not when a
# component's name says secret (ingress_certmanager_sealed_secrets_chart). Names ending in
# <thing>_secret name a Kubernetes Secret (observability_grafana_oidc_secret: grafana-oidc); client,
# cookie and webhook secrets are the material itself.
_MATERIAL_VARIABLE = re.compile(
    r"(token|tokens|password|passwd|passphrase|secret|secrets|credentials|dockerconfigjson|key|key_id|webhook_url)$"
)
_REFERENCE_VARIABLE = re.compile(r"(?<!client)(?<!cookie)(?<!webhook)(?<!shared)(?<!signing)_secret$")
# Where a secret variable says the Secret goes, next to its data: not material.
_SECRET_ADDRESS = frozenset({"name", "namespace", "secretname", "type", "labels", "annotations"})


def secret_variable(name: Any) -> bool:
    """True when an Ansible variable (or environment variable) holds secret material by its name."""
    if not isinstance(name, str) or not secret_key(name):
        return False
    lowered = name.lower()
    return bool(_MATERIAL_VARIABLE.search(lowered)) and not _REFERENCE_VARIABLE.search(lowered)


def material_strings(value: Any) -> Iterator[str]:
    """The strings of a secret variable's value, leaving out the names under reference keys ({name, data})."""
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not (isinstance(key, str) and _normal(key) in _SECRET_ADDRESS):
                yield from material_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from material_strings(item)


def _known(secrets: Iterable[str]) -> frozenset[str]:
    return frozenset(s for s in secrets if isinstance(s, str) and len(s) >= MIN_KNOWN_SECRET)


def _secret_scalar(value: Any, known: frozenset[str]) -> bool:
    if not isinstance(value, str) or not value:
        return False
    return bool(_PEM_PRIVATE_KEY.search(value)) or any(s in value for s in known)


def _masked(value: Any, under_secret_key: bool, known: frozenset[str]) -> Any:
    # A mapping's entries are judged by their own names (password: {existingSecret: x} shows x);
    # a list's items by the key that holds the list.
    if isinstance(value, Mapping):
        return {k: _masked(v, secret_key(k), known) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, under_secret_key, known) for v in value]
    if _secret_scalar(value, known):
        return MASK
    if not under_secret_key or value is None or isinstance(value, bool) or value == "":
        return value
    return value if isinstance(value, str) and _REFERENCE_VALUE.match(value) else MASK


def mask_secrets(values: Any, known: Iterable[str] = ()) -> Any:
    """A copy of ``values`` with every secret replaced by MASK.

    Secret: any non-empty scalar under a key whose name looks like secret material (password, token,
    clientSecret, apiKey, tls.key, ...; not references such as existingSecret or secretKeyRef, nor
    values that only point at one, such as ${AWS_SECRET_ACCESS_KEY}), any string equal to or
    holding a known secret (of at least MIN_KNOWN_SECRET characters), and any PEM private key.
    """
    return _masked(values, False, _known(known))


def _mark_changed(before: Any, after: Any, masked_before: Any, masked_after: Any) -> Any:
    """masked_after, with MASK_CHANGED where a masked secret differs from the deployed one."""
    if isinstance(masked_after, dict) and isinstance(masked_before, dict):
        return {
            k: _mark_changed(before.get(k), after.get(k), masked_before.get(k), v) if k in masked_before else v
            for k, v in masked_after.items()
        }
    if isinstance(masked_after, list) and isinstance(masked_before, list) and len(masked_after) == len(masked_before):
        rows = zip(before, after, masked_before, masked_after, strict=True)
        return [_mark_changed(b, a, mb, ma) for b, a, mb, ma in rows]
    if masked_after == MASK and masked_before == MASK and before != after:
        return MASK_CHANGED
    return masked_after


def normal_values(values: Any) -> dict[str, Any]:
    """Values as Helm keeps them: ``helm get values`` prints ``null`` for a release without any."""
    return dict(values) if isinstance(values, Mapping) else {}


def chart_label(chart: Mapping[str, Any]) -> str:
    """``<name>-<version>`` as ``helm list`` shows a release's chart (the name is a repo chart or OCI path)."""
    name = str(chart["name"]).rstrip("/").rsplit("/", 1)[-1]
    return f"{name}-{chart['version']}"


def release_changed(deployed: Mapping[str, Any] | None, chart: Mapping[str, Any], values: Any) -> bool:
    """Whether an upgrade is due: no release, a release not in state deployed, another chart, other values."""
    if not deployed:
        return True
    return (
        deployed.get("status") != "deployed"
        or deployed.get("chart") != chart_label(chart)
        or normal_values(deployed.get("values")) != normal_values(values)
    )


def _plain(value: Any) -> Any:
    """Builtin types only (Ansible's tagged str/int/dict subclasses are not representable by safe_dump)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value if value is None else str(value)


def _dump(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(_plain(document), default_flow_style=False, sort_keys=True, allow_unicode=True, width=120)


def values_diff(
    deployed: Mapping[str, Any] | None,
    chart: Mapping[str, Any],
    values: Any,
    release: str,
    known: Iterable[str] = (),
) -> dict[str, str]:
    """The ``diff`` of a release for Ansible's --diff: chart and values, deployed then desired, secrets masked.

    No release yet: ``before`` is empty, so every line shows as added.
    """
    known = _known(known)
    desired = normal_values(values)
    after = {"chart": chart_label(chart), "values": desired}
    masked_after = mask_secrets(after, known)
    result = {"after_header": f"{release} (desired)"}
    if deployed:
        before = {"chart": deployed.get("chart", ""), "values": normal_values(deployed.get("values"))}
        if deployed.get("status") != "deployed":
            before["status"] = deployed.get("status")
            after["status"] = masked_after["status"] = "deployed"
        masked_before = mask_secrets(before, known)
        masked_after = _mark_changed(before, after, masked_before, masked_after)
        revision = deployed.get("revision")
        result["before_header"] = f"{release} (deployed{f', revision {revision}' if revision else ''})"
        result["before"] = _dump(masked_before)
    else:
        result["before_header"] = f"{release} (not installed)"
        result["before"] = ""
    result["after"] = _dump(masked_after)
    return result
