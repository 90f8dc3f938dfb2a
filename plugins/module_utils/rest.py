# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small JSON-over-HTTPS client with the retry rules every doks.gitops API client shares.

Rules:

* 429 is always safe to retry (the API refused the request without acting on it). The wait
  honours ``Retry-After`` (seconds or HTTP date), then the rate-limit reset headers
  (``X-RateLimit-Reset`` / ``RateLimit-Reset``, epoch seconds), else capped exponential backoff
  with full jitter.
* 5xx, timeouts and dropped connections are retried only for idempotent requests
  (GET, HEAD, PUT, DELETE, and PATCH, which our clients only use with set semantics). A POST
  that fails that way raises :class:`ApiError` with ``maybe_applied=True``: the caller must look
  the object up before it tries again, never repeat a create blindly: :meth:`JsonClient.create_once`
  is that look-up, the one every module's create goes through.
* Every wait is capped by ``max_delay`` and the whole call by ``deadline`` seconds.

:func:`run_module` is the common end of every API module's ``main()``: one result contract for
all of them - ``changed``, ``actions`` (one sentence per change, also on failure), ``api_calls``
(``{get, write}``, also on failure) and ``diff`` (returned only with ``--diff``).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import re
import socket
import ssl
import time
from typing import Any, Callable, Iterable, Mapping, NoReturn, Protocol
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

IDEMPOTENT = frozenset(("GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"))
READ_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
RETRY_STATUSES = frozenset((500, 502, 503, 504))
RESET_HEADERS = ("x-ratelimit-reset", "ratelimit-reset")
# After a create got no answer at all: how many look-ups, one timeout apart, before giving up.
LOOKUPS_WITHOUT_ANSWER = 3


class ApiError(Exception):
    """An API call that did not succeed; ``message`` is meant for the user."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.method = method
        self.path = path
        self.maybe_applied = maybe_applied


class Response:
    def __init__(self, status: int, headers: Mapping[str, str], body: Any) -> None:
        self.status = status
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.json = body


class RetryPolicy:
    """How often and how long to retry. ``sleep``/``now``/``rand`` are injectable for tests."""

    def __init__(
        self,
        *,
        retries: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        deadline: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.retries = retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.deadline = deadline
        self.sleep = sleep
        self.now = now
        self.rand = rand

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff: uniform in [0, min(max, base * 2**attempt)]."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return max(self.base_delay / 2, ceiling * self.rand())

    def wait_for(self, headers: Mapping[str, str], attempt: int, status: int | None = 429) -> float:
        """Seconds to wait before the next attempt, from the server's headers if it sent any.

        ``Retry-After`` counts for any status. The rate-limit reset headers only for a 429: APIs
        such as DigitalOcean send them on every answer, and after a 5xx the reset of an
        unexhausted window says nothing about when to try again.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        retry_after = lowered.get("retry-after")
        if retry_after:
            seconds = _parse_retry_after(retry_after, self.now())
            if seconds is not None:
                return min(self.max_delay, max(0.0, seconds))
        if status != 429:
            return self.backoff(attempt)
        for name in RESET_HEADERS:
            value = lowered.get(name)
            if value and value.strip().lstrip("-").isdigit():
                reset = int(value)
                # Epoch seconds (Auth0, DigitalOcean); small numbers are "seconds from now".
                seconds = reset - self.now() if reset > 10**9 else reset
                return min(self.max_delay, max(0.0, seconds) + 0.1 * self.rand())
        return self.backoff(attempt)


def _parse_retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError):
        return None


# Names of the settings a failure's fix points at; API clients pass their own (with the role variable).
DEFAULT_SETTINGS = {"url": "the API URL", "ca_path": "ca_path", "timeout": "timeout"}
# OpenSSL verify codes (X509_V_ERR_*) whose fix is not "trust the CA".
_CERT_EXPIRED = 10
_HOSTNAME_MISMATCH = 62
_BODY_LIMIT = 300


def _root_cause(exc: BaseException) -> BaseException:
    """The socket- or TLS-level error under URLError/urllib3 wrappers (``reason``, ``__cause__``)."""
    seen = set()
    current: BaseException = exc
    while id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ssl.SSLError, TimeoutError, ConnectionError, socket.gaierror)):
            return current
        nested = getattr(current, "reason", None)
        if isinstance(nested, BaseException):
            current = nested
        elif current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None:
            current = current.__context__
        else:
            break
    return current


def _tls_sentence(err: ssl.SSLError, host: str, settings: Mapping[str, str]) -> str:
    if isinstance(err, ssl.SSLCertVerificationError):
        detail = err.verify_message or "certificate verify failed"
        if err.verify_code == _HOSTNAME_MISMATCH:
            return f"the TLS certificate of {host} is not valid for that host ({detail}); check {settings['url']}"
        if err.verify_code == _CERT_EXPIRED:
            return f"the TLS certificate of {host} has expired ({detail})"
        return (
            f"TLS certificate verification failed for {host} ({detail}); "
            f"set {settings['ca_path']} to the CA bundle that signs this endpoint"
        )
    code = getattr(err, "reason", None)
    if code:
        reason = str(code).replace("_", " ").lower()
    else:  # "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" without OpenSSL's internals
        reason = re.sub(r"^\[SSL: \w+\]\s*|\s*\(_ssl\.c:\d+\)", "", err.strerror or str(err)) or "handshake failed"
    return f"the TLS handshake with {host} failed ({reason}); check that {settings['url']} is an https:// endpoint"


def describe_failure(exc: BaseException, base_url: str, timeout: float, settings: Mapping[str, str]) -> str:
    """A sentence for a request that got no HTTP answer, naming the setting to check (no class names)."""
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or base_url
    err = _root_cause(exc)
    if isinstance(err, ssl.SSLError):
        return _tls_sentence(err, host, settings)
    if isinstance(err, TimeoutError):
        within = f" within {timeout:g}s" if timeout else ""
        return f"no answer from {host}{within}; check {settings['url']}, or raise {settings['timeout']}"
    if isinstance(err, ConnectionRefusedError):
        return f"{host} refused the connection (nothing listens there); check {settings['url']}"
    if isinstance(err, socket.gaierror):
        return f"the host name in {base_url} cannot be resolved (DNS); check {settings['url']}"
    if isinstance(err, (ConnectionError, http.client.HTTPException)):
        return f"{host} closed the connection without an answer"
    text = getattr(err, "strerror", None) or str(err) or "no detail"
    return f"cannot reach {host} ({text}); check {settings['url']}"


def summarize_body(body: Any) -> str:
    """An error body that is not the API's JSON (an HTML page from a proxy) as one short line."""
    text = body if isinstance(body, str) else json.dumps(body, sort_keys=True, default=str)
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    if not text:
        return "an empty page"
    return text if len(text) <= _BODY_LIMIT else text[: _BODY_LIMIT - 3] + "..."


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


class JsonClient:
    """JSON API client on ``ansible.module_utils.urls.open_url``.

    ``error_message`` turns an error response body into a user-facing sentence (each API has
    its own error shape). ``on_request`` is called with (method, path) for every HTTP attempt,
    which modules use to count calls.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        validate_certs: bool = True,
        ca_path: str | None = None,
        retry: RetryPolicy | None = None,
        error_message: Callable[[int, Any], str] | None = None,
        user_agent: str = "doks.gitops",
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path or None
        self.retry = retry or RetryPolicy()
        self.error_message = error_message or (lambda status, body: f"HTTP {status}: {summarize_body(body)}")
        self.user_agent = user_agent
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.calls: list[tuple[str, str, int | None]] = []

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        expected: tuple[int, ...] = (200, 201, 202, 204),
        idempotent: bool | None = None,
    ) -> Response:
        """Send one call, retried per the policy.

        ``idempotent`` overrides the method's default (for example a token request is a POST
        that is safe to repeat); None decides by method.
        """
        method = method.upper()
        safe = method in IDEMPOTENT if idempotent is None else idempotent
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        send_headers = {"Accept": "application/json", **self.headers, **(headers or {})}
        if data is not None:
            send_headers["Content-Type"] = "application/json"
        started = self.retry.now()
        attempt = 0
        while True:
            outcome = self._attempt(method, url, data, send_headers)
            if isinstance(outcome, Response) and outcome.status in expected:
                return outcome
            wait = self._retry_wait(method, path, outcome, attempt, started, safe=safe)
            self.retry.sleep(wait)
            attempt += 1

    def create_once(self, post: Callable[[], Any], find: Callable[[], Any], what: str) -> tuple[Any, ApiError | None]:
        """Send a create (``post``) once; never send it again.

        When it fails in a way that may have been applied (``ApiError.maybe_applied``: a 5xx or no
        answer), ``find`` looks for its result before anything else: once after a 5xx (the server
        answered, it is done with the request), up to :data:`LOOKUPS_WITHOUT_ANSWER` times one
        timeout apart after no answer (the server may still be working on it).

        Returns ``(answer, None)`` when the create succeeded, ``(found, error)`` when the look-up
        found its result (the first truthy value of ``find``; the caller says so). Raises the
        create's other errors as they are, and when the result never shows up an ``ApiError`` with
        the create's message and ``<what> does not exist afterwards, so nothing was created: run
        again``.
        """
        try:
            return post(), None
        except ApiError as exc:
            if not exc.maybe_applied:
                raise
            error = exc
        for attempt in range(1 if error.status else LOOKUPS_WITHOUT_ANSWER):
            if attempt:
                self.retry.sleep(min(self.timeout, self.retry.max_delay))
            found = find()
            if found:
                return found, error
        raise ApiError(
            f"{error.message}; {what} does not exist afterwards, so nothing was created: run again",
            status=error.status,
            body=error.body,
            method=error.method,
            path=error.path,
        ) from error

    def _attempt(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> Response | Exception:
        try:
            resp = open_url(
                url,
                data=data,
                headers=headers,
                method=method,
                timeout=self.timeout,
                validate_certs=self.validate_certs,
                ca_path=self.ca_path,
                http_agent=self.user_agent,
                follow_redirects="safe",
            )
            result = Response(resp.getcode(), dict(resp.headers.items()), _decode(resp.read()))
        except HTTPError as exc:
            raw = exc.read() if exc.fp is not None else b""
            result = Response(exc.code, dict(exc.headers.items()) if exc.headers else {}, _decode(raw))
        except (URLError, socket.timeout, ConnectionError, http.client.HTTPException, ssl.SSLError, OSError) as exc:
            self.calls.append((method, url, None))
            return exc
        self.calls.append((method, url, result.status))
        return result

    def _retry_wait(
        self, method: str, path: str, outcome: Response | Exception, attempt: int, started: float, *, safe: bool
    ) -> float:
        """The wait before the next attempt, or raise ApiError when the call must stop."""
        if isinstance(outcome, Exception):
            message = f"{method} {path}: {describe_failure(outcome, self.base_url, self.timeout, self.settings)}"
            if isinstance(_root_cause(outcome), ssl.SSLCertVerificationError):
                raise ApiError(message, method=method, path=path)  # the same answer every time
            retriable = safe
            headers: Mapping[str, str] = {}
            status = None
        else:
            status = outcome.status
            retriable = status == 429 or (status in RETRY_STATUSES and safe)
            message = f"{method} {path}: {self.error_message(status, outcome.json)}"
            headers = outcome.headers
        maybe_applied = status != 429 and not safe and (status is None or status >= 500)
        if not retriable or attempt >= self.retry.retries:
            if retriable:
                message += f" (gave up after {attempt + 1} attempt{'s' if attempt else ''})"
            raise ApiError(
                message,
                status=status,
                body=None if isinstance(outcome, Exception) else outcome.json,
                method=method,
                path=path,
                maybe_applied=maybe_applied,
            )
        wait = self.retry.wait_for(headers, attempt, status)
        if self.retry.now() + wait - started > self.retry.deadline:
            raise ApiError(
                f"{message} (retry deadline of {self.retry.deadline:.0f}s exceeded)",
                status=status,
                method=method,
                path=path,
                maybe_applied=maybe_applied,
            )
        return wait


def retry_policy_from_params(params: Mapping[str, Any]) -> RetryPolicy:
    """Build the policy from the options of the ``doks.gitops.api`` doc fragment."""
    return RetryPolicy(
        retries=int(params.get("retries", 5)),
        max_delay=float(params.get("retry_max_delay", 30)),
    )


# ------------------------------------------------------------------------- the modules' result contract
def call_counts(calls: Iterable[tuple[str, str, int | None]], read_paths: Iterable[str] = ()) -> dict[str, int]:
    """HTTP attempts as a module's ``api_calls``: ``{get, write}``. A call to one of ``read_paths``
    (a token request: a POST that changes nothing) counts as a get, so ``write`` is 0 exactly when
    nothing was sent that could change the API's objects."""
    reads = frozenset(read_paths)
    counts = {"get": 0, "write": 0}
    for method, url, _status in calls:
        read = method in READ_METHODS or urlsplit(url).path in reads
        counts["get" if read else "write"] += 1
    return counts


class CountingClient(Protocol):
    """What :func:`run_module` needs of an API client: its calls so far as ``api_calls``."""

    def counts(self) -> dict[str, int]: ...


class Run:
    """One run of an API module: its client, the actions so far, and how it fails."""

    def __init__(self, module: AnsibleModule, client: Any) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.check = module.check_mode
        self.actions: list[str] = []

    def fail(self, msg: str, **extra: Any) -> NoReturn:
        """Fail the module with what was done and called until then."""
        self.module.fail_json(msg=msg, actions=self.actions, api_calls=self.client.counts(), **extra)
        raise AssertionError("fail_json returned")  # pragma: no cover - fail_json exits


def run_module(
    module: AnsibleModule,
    make_client: Callable[[Mapping[str, Any]], CountingClient],
    work: Callable[[Run], dict[str, Any]],
) -> None:
    """Run ``work`` with a :class:`Run` on ``make_client(module.params)``, then exit the module.

    The result gets ``changed`` (when ``work`` leaves it out: whether an action was taken),
    ``actions`` and ``api_calls``; ``diff`` is dropped unless --diff was asked for. An ``ApiError``
    fails the module with the API's message and status, plus what was done and called until then.
    """
    try:
        run = Run(module, make_client(module.params))
    except ApiError as exc:
        module.fail_json(msg=exc.message, status=exc.status, actions=[], api_calls={})
    try:
        result = work(run)
    except ApiError as exc:
        run.fail(exc.message, status=exc.status)
    result.setdefault("changed", bool(run.actions))
    result["actions"] = run.actions
    result["api_calls"] = run.client.counts()
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
