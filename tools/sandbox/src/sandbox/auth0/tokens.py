"""JWT-shaped access tokens the emulator signs (HS256 with a per-tenant key) and verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(claims: dict[str, Any], key: str, kid: str) -> str:
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    head = _b64(json.dumps(header, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def verify(token: str, key: str, audience: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token for ``audience``; None otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    head, body, mac = parts
    expected = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if claims.get("aud") != audience or float(claims.get("exp", 0)) < time.time():
        return None
    return claims
