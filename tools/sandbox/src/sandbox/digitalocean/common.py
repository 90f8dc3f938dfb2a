"""Helpers the DigitalOcean emulator's API groups share."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from sandbox.server import HTTPError, Request, Response


def paginate(request: Request, key: str, items: list[dict[str, Any]]) -> Response:
    """One page of ``items`` with DigitalOcean's ``links.pages`` and ``meta.total``."""
    try:
        page = max(1, int(request.arg("page", "1") or 1))
        per_page = min(200, max(1, int(request.arg("per_page", "20") or 20)))
    except ValueError as exc:
        raise HTTPError(400, "page and per_page must be integers") from exc
    total = len(items)
    last = max(1, -(-total // per_page))
    base = f"https://{request.headers.get('Host', 'api.digitalocean.com')}{request.raw_path}"

    def link(n: int) -> str:
        query = {k: v[-1] for k, v in request.query.items()}
        query.update(page=str(n), per_page=str(per_page))
        return f"{base}?{urllib.parse.urlencode(query)}"

    pages: dict[str, str] = {}
    if page > 1:
        pages.update(first=link(1), prev=link(min(page - 1, last)))
    if page < last:
        pages.update(next=link(page + 1), last=link(last))
    start = (page - 1) * per_page
    body = {key: items[start : start + per_page], "links": {"pages": pages}, "meta": {"total": total}}
    return Response(200, body)


def body_of(request: Request) -> dict[str, Any]:
    """The JSON object a write sends; 400 like the API when it is not one."""
    try:
        body = request.json()
    except ValueError as exc:
        raise HTTPError(400, f"unable to parse request body: {exc}") from exc
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise HTTPError(400, "request body must be a JSON object")
    return body


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
