# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is a kubeconfig's bearer token still accepted? One cheap authenticated read tells.

DOKS kubeconfig tokens expire (7 days unless ``expiry_seconds`` says otherwise) and can be
revoked before that (they are DigitalOcean API tokens of the account). A stale one makes every
``kubernetes.core`` task end in a Python traceback (``UnauthorizedException``), so
``doks.gitops.doks_cluster`` renews it and ``doks.gitops.kubeconfig_check`` names the file and
the fix before the first Kubernetes task.

The file doks_cluster writes carries a header (:func:`stamp`) with the cluster id, server and the
token's expiry; :func:`stale_reason` decides from it (and one :func:`probe`) whether to fetch a new
one, and :func:`write_stamped` writes it, readable by the owner only.

:func:`probe` sends ``GET <server>/api`` (core API discovery, which only authenticated users may
read) with the current context's token. The API server answers an invalid or expired bearer token
with 401 on every path, so only a 401 is a verdict (``rejected``); a network or TLS failure, a
5xx, or a kubeconfig without a bearer token (client certificates, an exec plugin) is
``unknown`` and the caller carries on as before.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, NamedTuple, Optional, Tuple

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

# The header doks.gitops.doks_cluster writes above the kubeconfig it fetched.
MARKER = re.compile(r"^# doks\.gitops: cluster=(\S+) server=(\S+) expires=(\d+)$", re.MULTILINE)

OK = "ok"
MISSING = "missing"
UNREADABLE = "unreadable"
EXPIRED = "expired"
REJECTED = "rejected"
UNKNOWN = "unknown"


class Verdict(NamedTuple):
    """What became of a kubeconfig: one of the module constants, the server, and a sentence."""

    state: str
    server: str = ""
    detail: str = ""


class Credentials(NamedTuple):
    server: str
    token: str
    ca_pem: Optional[str]
    ca_file: Optional[str]
    insecure: bool


def marker_expiry(text: str) -> Optional[int]:
    """The expiry (epoch seconds) doks_cluster wrote above the kubeconfig, if it wrote one."""
    match = MARKER.search(text[:4096])
    return int(match.group(3)) if match else None


def _named(items: Any, name: Any) -> Dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return {}


def credentials(doc: Any, base_dir: str = ".") -> Optional[Credentials]:
    """The server, bearer token and CA of the current context; None when it has no bearer token."""
    if not isinstance(doc, dict):
        return None
    context = _named(doc.get("contexts"), doc.get("current-context")).get("context") or {}
    cluster = _named(doc.get("clusters"), context.get("cluster")).get("cluster") or {}
    user = _named(doc.get("users"), context.get("user")).get("user") or {}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        try:
            with open(os.path.join(base_dir, user["tokenFile"]), encoding="utf-8") as handle:
                token = handle.read().strip()
        except OSError:
            return None
    server = cluster.get("server")
    if not token or not server:
        return None
    ca_pem = None
    if cluster.get("certificate-authority-data"):
        try:
            ca_pem = base64.b64decode(cluster["certificate-authority-data"]).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
    ca_file = cluster.get("certificate-authority")
    if ca_file:
        ca_file = os.path.join(base_dir, ca_file)
    return Credentials(str(server), str(token), ca_pem, ca_file, bool(cluster.get("insecure-skip-tls-verify")))


def _context(creds: Credentials) -> ssl.SSLContext:
    if creds.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=creds.ca_file or None, cadata=creds.ca_pem or None)


def ask(creds: Credentials, timeout: float) -> Verdict:
    """``GET <server>/api`` with the token: 401 is ``rejected``, a 5xx or no answer ``unknown``,
    any other answer ``ok`` (the token was accepted; a 403 is a matter of RBAC, not of the token)."""
    if not creds.server.startswith(("https://", "http://")):
        return Verdict(UNKNOWN, creds.server, "the server %s is not an HTTP(S) URL" % creds.server)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        creds.server.rstrip("/") + "/api",
        headers={"Authorization": "Bearer " + creds.token, "Accept": "application/json"},
    )
    # The kubernetes client does not read proxy variables; neither does this probe.
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=_context(creds))
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(0)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            detail = "the cluster at %s refused its token (HTTP 401): it expired or was revoked" % creds.server
            return Verdict(REJECTED, creds.server, detail)
        if exc.code >= 500:
            return Verdict(UNKNOWN, creds.server, "the cluster at %s answered HTTP %s" % (creds.server, exc.code))
    except (urllib.error.URLError, socket.timeout, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, ssl.SSLError):
            return Verdict(UNKNOWN, creds.server, "TLS with %s failed (%s)" % (creds.server, reason))
        return Verdict(UNKNOWN, creds.server, "no answer from %s (%s)" % (creds.server, reason))
    return Verdict(OK, creds.server)


def _load(path: str) -> Tuple[str, Any]:
    """The file's text and parsed document; raises ``_Unusable`` with the verdict otherwise."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        raise _Unusable(Verdict(MISSING, "", "the file does not exist")) from exc
    except OSError as exc:
        raise _Unusable(Verdict(UNREADABLE, "", "the file cannot be read (%s)" % (exc.strerror or exc))) from exc
    if not HAS_YAML:
        raise _Unusable(Verdict(UNKNOWN, "", "PyYAML is not installed"))
    try:
        return text, yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d)" % (mark.line + 1) if mark is not None else ""
        raise _Unusable(Verdict(UNREADABLE, "", "it is not valid YAML%s" % where)) from exc


class _Unusable(Exception):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.detail)
        self.verdict = verdict


def probe(path: str, timeout: float = 10.0, now: Optional[float] = None) -> Verdict:
    """Whether the kubeconfig at ``path`` still opens its cluster (see the module docstring)."""
    try:
        text, doc = _load(path)
    except _Unusable as exc:
        return exc.verdict
    creds = credentials(doc, os.path.dirname(os.path.abspath(path)))
    if creds is None:
        return Verdict(UNKNOWN, "", "its current context has no bearer token to check")
    expires = marker_expiry(text)
    if expires is not None and expires <= (time.time() if now is None else now):
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
        return Verdict(EXPIRED, creds.server, "its token expired at %s" % stamp)
    return ask(creds, timeout)


# ------------------------------------------------------------------------- the file doks_cluster writes
DEFAULT_EXPIRY = 7 * 24 * 3600  # DigitalOcean's own token lifetime when expiry_seconds is not sent
REFUSED = " (the cluster refused its token: expired or revoked)"


def stamp(cluster_id: str, endpoint: Optional[str], expires: int) -> str:
    """The header line doks_cluster writes above a kubeconfig it fetched (read back by MARKER)."""
    return "# doks.gitops: cluster=%s server=%s expires=%d\n" % (cluster_id, endpoint or "-", expires)


def is_fresh(
    head: Optional[str], cluster: Dict[str, Any], *, expiry_seconds: Optional[int], renew_before: int, now: float
) -> bool:
    """Whether a file starting with ``head`` holds a kubeconfig of this cluster (id and endpoint) whose
    token lives longer than the renewal margin: ``renew_before``, at most half the token's lifetime
    (a short-lived token is renewed at half its lifetime at the latest)."""
    match = MARKER.search(head or "")
    if not match or match.group(1) != cluster.get("id") or match.group(2) != (cluster.get("endpoint") or "-"):
        return False
    renew = min(renew_before, (expiry_seconds or DEFAULT_EXPIRY) // 2)
    return int(match.group(3)) - now > renew


def stale_reason(
    path: str, cluster: Dict[str, Any], *, expiry_seconds: Optional[int], renew_before: int, timeout: float
) -> Optional[str]:
    """None when the file at ``path`` needs no new kubeconfig; otherwise why it does, as a suffix of
    the action sentence (``""`` when it is missing, of another cluster or about to expire). A fresh
    file is asked once whether the cluster still takes its token (:func:`probe`); only a 401 counts."""
    try:
        with open(path, encoding="utf-8") as handle:
            head: Optional[str] = handle.read(4096)
    except OSError:
        head = None
    if not is_fresh(head, cluster, expiry_seconds=expiry_seconds, renew_before=renew_before, now=time.time()):
        return ""
    return REFUSED if probe(path, timeout=timeout).state == REJECTED else None


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".kubeconfig-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_stamped(path: str, cluster: Dict[str, Any], text: str, expiry_seconds: Optional[int]) -> None:
    """Write a fetched kubeconfig with its :func:`stamp` (the token's expiry) above it."""
    expires = int(time.time()) + (expiry_seconds or DEFAULT_EXPIRY)
    write_private(path, stamp(cluster["id"], cluster.get("endpoint"), expires) + text)
