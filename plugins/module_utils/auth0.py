# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Auth0 Management API v2 client on the shared JSON client (no SDK).

* One access token per client object (client credentials grant), requested on first use.
* Retries, backoff and the "never repeat a create blindly" rule come from
  :mod:`.rest` (:class:`JsonClient`); this module only adds Auth0's token, paging and error
  messages.
* Every list is paged: offset paging (``page``/``per_page``/``include_totals``) stops at
  ``total``; checkpoint paging (``from``/``take``) follows ``next``. One request per page.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.doks.gitops.plugins.module_utils.rest import (
    ApiError,
    JsonClient,
    RetryPolicy,
    retry_policy_from_params,
    summarize_body,
)

PER_PAGE = 100

# Argument spec of the doks.gitops.auth0 doc fragment (credentials) + doks.gitops.api.
AUTH0_ARGSPEC: dict[str, Any] = {
    "domain": {"type": "str", "required": True, "fallback": (env_fallback, ["AUTH0_DOMAIN"])},
    "client_id": {"type": "str", "required": True, "fallback": (env_fallback, ["AUTH0_CLIENT_ID"])},
    "client_secret": {
        "type": "str",
        "required": True,
        "no_log": True,
        "fallback": (env_fallback, ["AUTH0_CLIENT_SECRET"]),
    },
    "audience": {"type": "str", "fallback": (env_fallback, ["AUTH0_AUDIENCE"])},
    "timeout": {"type": "float", "default": 30},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "retries": {"type": "int", "default": 5},
    "retry_max_delay": {"type": "float", "default": 30},
}


# What a network or TLS failure's fix names: the module option, then the role variable.
SETTINGS = {
    "url": "domain (auth0_apps_domain in the doks.gitops roles)",
    "ca_path": "ca_path (auth0_apps_ca_path)",
    "timeout": "timeout (auth0_apps_timeout)",
}


def error_message(status: int, body: Any) -> str:
    """Auth0's error bodies as one clear sentence (Management API and /oauth/token shapes)."""
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error")
        message = body.get("message") or body.get("error_description") or ""
        if body.get("errorCode") == "insufficient_scope":
            scopes = message.partition("expected any of:")[2].strip() or "?"
            return (
                f"the management client lacks the scope {scopes} this call needs (HTTP 403: {message}); "
                "authorise it for the Auth0 Management API with that scope"
            )
        if status == 401 and body.get("error") == "access_denied":
            return f"HTTP 401 access_denied: {message or 'Unauthorized'}; check client_id and client_secret"
        if status == 403 and body.get("error") == "access_denied":
            return f"HTTP 403 access_denied: {message}; authorise the client for the audience"
        return f"HTTP {status} {code or ''}: {message}".replace("  ", " ").strip()
    return f"HTTP {status}: {summarize_body(body)}"


class Auth0Client:
    """Auth0 Management API v2. ``calls`` lists every HTTP attempt (method, URL, status)."""

    def __init__(
        self,
        domain: str,
        client_id: str,
        client_secret: str,
        *,
        audience: str | None = None,
        timeout: float = 30.0,
        validate_certs: bool = True,
        ca_path: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.domain = domain.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        self.audience = audience or f"https://{self.domain}/api/v2/"
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self.scopes: set[str] = set()
        self.http = JsonClient(
            f"https://{self.domain}",
            timeout=timeout,
            validate_certs=validate_certs,
            ca_path=ca_path,
            retry=retry,
            error_message=error_message,
            user_agent="doks.gitops-auth0",
            settings=SETTINGS,
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Auth0Client:
        return cls(
            params["domain"],
            params["client_id"],
            params["client_secret"],
            audience=params.get("audience"),
            timeout=float(params.get("timeout") or 30),
            validate_certs=bool(params.get("validate_certs", True)),
            ca_path=params.get("ca_path"),
            retry=retry_policy_from_params(params),
        )

    @property
    def calls(self) -> list[tuple[str, str, int | None]]:
        return self.http.calls

    @property
    def issuer(self) -> str:
        return f"https://{self.domain}/"

    # ------------------------------------------------------------------ token
    def token(self) -> str:
        if self._token is None:
            body = {
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "audience": self.audience,
            }
            # A token request changes nothing on the tenant: safe to repeat after a 5xx/timeout.
            resp = self.http.request("POST", "/oauth/token", body, expected=(200,), idempotent=True)
            data = resp.json if isinstance(resp.json, dict) else {}
            if not data.get("access_token"):
                raise ApiError(
                    "POST /oauth/token: the answer holds no access_token", method="POST", path="/oauth/token"
                )
            self._token = str(data["access_token"])
            self.scopes = set(str(data.get("scope") or "").split())
        return self._token

    # ------------------------------------------------------------------ calls
    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        expected: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}"}
        resp = self.http.request(method, "/api/v2" + path, body, query=query, headers=headers, expected=expected)
        return resp.json

    def offset_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of an offset-paged list (``include_totals`` tells when to stop)."""
        page = 0
        while True:
            params = {**(query or {}), "page": page, "per_page": PER_PAGE, "include_totals": "true"}
            data = self.call("GET", path, query=params)
            if isinstance(data, list):  # an endpoint that ignores include_totals
                items, total = data, None
            else:
                items = data.get(key) or []
                total = data.get("total")
            yield from items
            seen = page * PER_PAGE + len(items)
            if not items or len(items) < PER_PAGE or (total is not None and seen >= int(total)):
                return
            page += 1

    def checkpoint_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of a checkpoint-paged list (``from``/``take``, follows ``next``)."""
        cursor = None
        while True:
            params = {**(query or {}), "take": PER_PAGE}
            if cursor:
                params["from"] = cursor
            data = self.call("GET", path, query=params)
            items = data.get(key) or [] if isinstance(data, dict) else data or []
            yield from items
            cursor = data.get("next") if isinstance(data, dict) else None
            if not cursor or not items:
                return

    def action_pages(self, path: str, key: str, query: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Items of the Actions lists (``page``/``per_page`` with ``total`` in every answer)."""
        page = 0
        per_page = 50
        while True:
            data = self.call("GET", path, query={**(query or {}), "page": page, "per_page": per_page})
            items = data.get(key) or []
            yield from items
            if not items or (page + 1) * per_page >= int(data.get("total") or 0):
                return
            page += 1


def path_id(value: str) -> str:
    """An id as a URL path segment (user ids hold ``|``)."""
    return quote(value, safe="")
