# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One cheap authenticated read per API, so that a refused credential stops the run before any write.

Used by the preflight action on the controller, through the collection's REST client:

* DigitalOcean: ``GET /v2/account``;
* the DNS token external-dns and the DNS-01 solver keep in the cluster: ``GET /v2/domains``
  (its ``domain:read`` scope), then ``GET /v2/kubernetes/clusters``, which a token custom-scoped
  to DNS is refused (403, no ``kubernetes:read``): an answer means a token wider than DNS;
* Auth0: the client-credentials token, then ``GET /api/v2/clients/{client_id}`` (the management
  client reads itself; the role needs ``read:clients`` anyway);
* Spaces: ``ListBuckets`` (``GET /`` signed with AWS Signature Version 4), which every valid key may do.

Only a definite refusal is a finding (401/403, S3's ``InvalidAccessKeyId``,
``SignatureDoesNotMatch``, ``AccessDenied``). An API that does not answer, or answers 429/5xx
after the retries, is not one: the roles retry and report it themselves, and offline rendering
turns the probes off (``gitops_preflight_credentials: false``).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from ansible_collections.doks.gitops.plugins.module_utils.auth0 import Auth0Client, path_id
from ansible_collections.doks.gitops.plugins.module_utils.digitalocean import error_message as do_error
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError, JsonClient, RetryPolicy

REFUSED = frozenset((401, 403))
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_CODE = re.compile(r"<Code>([^<]+)</Code>")
ENV_LOOKUP = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?env['"]\s*,\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")


class Refusal(NamedTuple):
    """A credential the API refused: which variable holds it and what the API said."""

    variable: str
    detail: str
    fix: str = ""


def env_source(raw: Any, usual: str) -> str:
    """The environment variable a variable's value comes from: the one its inventory expression
    reads, else the one the shipped inventories use."""
    found = ENV_LOOKUP.search(raw) if isinstance(raw, str) else None
    return found.group(1) if found else usual


def _do_client(url: str, token: str, ca_path: str | None, timeout: float) -> JsonClient:
    return JsonClient(
        url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
        ca_path=ca_path,
        retry=_policy(),
        error_message=do_error,
        user_agent="doks.gitops/preflight",
    )


def _policy() -> RetryPolicy:
    # A few quick retries on 429/5xx; the probe gives up (no finding) rather than slow preflight down.
    return RetryPolicy(retries=2, max_delay=3.0, deadline=20.0)


def probe_digitalocean(url: str, token: str, ca_path: str | None, timeout: float = 15.0) -> Refusal | None:
    client = _do_client(url, token, ca_path, timeout)
    try:
        client.request("GET", "/v2/account", expected=(200,))
    except ApiError as exc:
        if exc.status in REFUSED:
            message = f"DigitalOcean refused the token (GET /v2/account: HTTP {exc.status})"
            return Refusal("doks_cluster_api_token", message)
    return None


def probe_dns_token(url: str, token: str, ca_path: str | None, how_to: str, timeout: float = 15.0) -> Refusal | None:
    """The DNS token reads domains and nothing else: a refusal of ``GET /v2/domains`` or an answer
    to ``GET /v2/kubernetes/clusters`` names ``ingress_certmanager_digitalocean_token``."""
    variable = "ingress_certmanager_digitalocean_token"
    client = _do_client(url, token, ca_path, timeout)
    try:
        client.request("GET", "/v2/domains", query={"per_page": 1}, expected=(200,))
    except ApiError as exc:
        if exc.status in REFUSED:
            return Refusal(variable, f"DigitalOcean refused the DNS token (GET /v2/domains: HTTP {exc.status})")
        return None
    try:
        client.request("GET", "/v2/kubernetes/clusters", query={"per_page": 1}, expected=(200,))
    except ApiError:
        return None  # 403 as a DNS-scoped token gets, or no answer: nothing to report
    return Refusal(
        variable,
        "the DNS token reads Kubernetes clusters too (GET /v2/kubernetes/clusters: HTTP 200), "
        "so it is wider than DNS and would be kept in the cluster",
        f"give it a token of its own: {how_to}",
    )


def probe_auth0(
    domain: str, client_id: str, secret: str, *, audience: str | None, ca_path: str | None, timeout: float = 15.0
) -> Refusal | None:
    api = Auth0Client(domain, client_id, secret, audience=audience, timeout=timeout, ca_path=ca_path, retry=_policy())
    try:
        api.token()
    except ApiError as exc:
        if exc.status in REFUSED:
            return Refusal(
                "auth0_apps_client_secret",
                f"Auth0 refused the management client auth0_apps_client_id/auth0_apps_client_secret ({exc.message})",
            )
        return None
    try:
        api.call("GET", f"/clients/{path_id(client_id)}", query={"fields": "client_id"}, expected=(200,))
    except ApiError as exc:
        if exc.status in REFUSED:
            return Refusal("auth0_apps_client_id", f"the management client's token cannot read clients ({exc.message})")
    return None


def sigv4_headers(url: str, region: str, key_id: str, secret: str, now: datetime.datetime) -> dict[str, str]:
    """AWS Signature Version 4 headers of a body-less ``GET url`` to S3 (what Spaces verifies)."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = "host;x-amz-content-sha256;x-amz-date"
    canonical = "\n".join(
        [
            "GET",
            parts.path or "/",
            parts.query,
            f"host:{parts.netloc}",
            f"x-amz-content-sha256:{EMPTY_SHA256}",
            f"x-amz-date:{amz_date}",
            "",
            signed,
            EMPTY_SHA256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "x-amz-date": amz_date,
        "x-amz-content-sha256": EMPTY_SHA256,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}",
    }


def probe_spaces(
    endpoint: str, region: str, key_id: str, secret: str, *, ca_path: str | None, timeout: float = 15.0
) -> Refusal | None:
    client = JsonClient(
        endpoint,
        timeout=timeout,
        ca_path=ca_path,
        retry=_policy(),
        error_message=lambda status, body: f"HTTP {status} {_s3_code(body) or ''}".strip(),
        user_agent="doks.gitops/preflight",
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    headers = sigv4_headers(client.base_url + "/", region or "us-east-1", key_id, secret, now)
    try:
        client.request("GET", "/", headers={**headers, "Accept": "application/xml"}, expected=(200,))
    except ApiError as exc:
        if exc.status not in REFUSED:
            return None
        code = _s3_code(exc.body)
        variable = (
            "doks_cluster_spaces_secret_access_key"
            if code == "SignatureDoesNotMatch"
            else "doks_cluster_spaces_access_key_id"
        )
        return Refusal(variable, f"Spaces refused the admin key (ListBuckets: HTTP {exc.status} {code or ''})".strip())
    return None


def _s3_code(body: Any) -> str | None:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = S3_CODE.search(text) if isinstance(text, str) else None
    return found.group(1) if found else None
