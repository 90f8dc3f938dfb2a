# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DigitalOcean API v2 client for doks.gitops modules, on the shared JsonClient.

* Bearer token auth; DigitalOcean's error body (``id``, ``message``, ``request_id``) becomes
  the error message, so a failure names what the API said and the id support asks for.
* Lists follow ``links.pages.next`` until the last page.
* Retries (429 honouring ``ratelimit-reset``/``Retry-After``, 5xx and timeouts on idempotent
  calls) come from :mod:`rest`; a create goes through :meth:`DigitalOceanClient.create_once`, which
  looks the object up by name after a failure that may have been applied and never sends it twice.
* :func:`run_module` is the common end of every DigitalOcean module's ``main()``: the result
  contract of :func:`rest.run_module` (``changed``, ``actions``, ``api_calls`` as ``{get, write}``,
  ``diff`` only with ``--diff``), with ``diff`` as ``before``/``after`` of the managed settings,
  ``{}`` for an absent object.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.doks.gitops.plugins.module_utils import rest
from ansible_collections.doks.gitops.plugins.module_utils.rest import (
    ApiError,
    JsonClient,
    Run,
    retry_policy_from_params,
    summarize_body,
)

DEFAULT_API_URL = "https://api.digitalocean.com"


def digitalocean_argument_spec() -> Dict[str, Any]:
    """Options of the ``doks.gitops.digitalocean`` and ``doks.gitops.api`` doc fragments."""
    return dict(
        api_token=dict(
            type="str",
            required=True,
            no_log=True,
            fallback=(env_fallback, ["DIGITALOCEAN_TOKEN", "DO_API_TOKEN"]),
        ),
        api_url=dict(type="str", default=DEFAULT_API_URL),
        timeout=dict(type="float", default=30),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        retries=dict(type="int", default=5),
        retry_max_delay=dict(type="float", default=30),
    )


# What a network or TLS failure's fix names: the module option, then the role variable.
SETTINGS = {
    "url": "api_url (doks_cluster_api_url in the doks.gitops roles)",
    "ca_path": "ca_path (doks_cluster_ca_path)",
    "timeout": "timeout (doks_cluster_api_timeout)",
}

UNAUTHORIZED_FIX = (
    "the API token was refused: check api_token (doks_cluster_api_token in the doks.gitops roles), "
    "usually from the environment variable DIGITALOCEAN_TOKEN"
)


def error_message(status: int, body: Any) -> str:
    """``<id>: <message> (HTTP <status>, request_id <id>)`` from DigitalOcean's error body; a 401
    always says which token to check."""
    if isinstance(body, dict) and body.get("message"):
        text = "%s: %s" % (body.get("id") or "error", body["message"])
        details = ["HTTP %s" % status]
        if body.get("request_id"):
            details.append("request_id %s" % body["request_id"])
        message = "%s (%s)" % (text, ", ".join(details))
        return "%s; %s" % (message, UNAUTHORIZED_FIX) if status == 401 else message
    if status == 401:
        return "HTTP 401: %s" % UNAUTHORIZED_FIX
    return "HTTP %s: %s" % (status, summarize_body(body) if body else "no body")


class DigitalOceanClient:
    """Thin helpers over JsonClient for the API v2 conventions."""

    def __init__(self, params: Dict[str, Any], user_agent: str = "doks.gitops") -> None:
        token = params.get("api_token")
        if not token:
            raise ApiError("api_token is empty: set it, or export DIGITALOCEAN_TOKEN")
        self.http = JsonClient(
            params.get("api_url") or DEFAULT_API_URL,
            headers={"Authorization": "Bearer %s" % token},
            timeout=float(params.get("timeout") or 30),
            validate_certs=bool(params.get("validate_certs", True)),
            ca_path=params.get("ca_path"),
            retry=retry_policy_from_params(params),
            error_message=error_message,
            user_agent=user_agent,
            settings=SETTINGS,
        )

    # -------------------------------------------------------------- calls
    def get(self, path: str, query: Optional[Dict[str, Any]] = None, expected: Tuple[int, ...] = (200,)) -> Any:
        return self.http.request("GET", path, query=query, expected=expected).json

    def get_or_none(self, path: str, query: Optional[Dict[str, Any]] = None) -> Any:
        """GET that returns None on 404 (object absent) instead of raising."""
        try:
            return self.get(path, query)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def post(self, path: str, body: Any) -> Any:
        return self.http.request("POST", path, body).json

    def put(self, path: str, body: Any) -> Any:
        return self.http.request("PUT", path, body).json

    def delete(self, path: str, body: Any = None) -> None:
        self.http.request("DELETE", path, body)

    def get_text(self, path: str, query: Optional[Dict[str, Any]] = None) -> str:
        """A non-JSON document (kubeconfig YAML) as text."""
        body = self.http.request("GET", path, query=query, headers={"Accept": "application/yaml"}).json
        if isinstance(body, bytes):
            return body.decode("utf-8")
        if not isinstance(body, str):
            raise ApiError("GET %s: expected a text document, got %s" % (path, type(body).__name__))
        return body

    def list_all(self, path: str, key: str, query: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """Every item of a paginated list, following ``links.pages.next``."""
        items: List[Dict[str, Any]] = []
        params: Optional[Dict[str, Any]] = dict(query or {}, per_page=200)
        next_path: Optional[str] = path
        while next_path:
            body = self.get(next_path, params) or {}
            items.extend(body.get(key) or [])
            next_url = ((body.get("links") or {}).get("pages") or {}).get("next")
            if not next_url:
                break
            parts = urlsplit(next_url)
            next_path = parts.path + ("?" + parts.query if parts.query else "")
            params = None
        return items

    def create_once(self, path: str, body: Any, find: Callable[[], Any], what: str) -> Tuple[Any, Optional[ApiError]]:
        """POST ``body`` once (:meth:`rest.JsonClient.create_once`): ``(answer, None)``, or
        ``(found, error)`` when the POST failed but ``find`` found its result."""
        return self.http.create_once(lambda: self.post(path, body), find, what)

    # -------------------------------------------------------------- accounting
    def counts(self) -> Dict[str, int]:
        """HTTP attempts made so far: GETs and writes (for the module's ``api_calls``)."""
        return rest.call_counts(self.http.calls)


def diff(before: Optional[Dict[str, Any]], after: Optional[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The ``diff`` of every DigitalOcean module: managed settings before and after, ``{}`` for none."""
    return {"before": before or {}, "after": after or {}}


def run_module(module: AnsibleModule, user_agent: str, work: Callable[[Run], Dict[str, Any]]) -> None:
    """:func:`rest.run_module` with a :class:`DigitalOceanClient` built from the module's parameters."""
    rest.run_module(module, lambda params: DigitalOceanClient(dict(params), user_agent=user_agent), work)
