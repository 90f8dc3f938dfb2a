"""The shared retry rules of plugins/module_utils/rest.py, against a real local HTTPS server."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.six.moves.urllib.error import URLError
from ansible_collections.doks.gitops.plugins.module_utils.rest import (
    ApiError,
    JsonClient,
    RetryPolicy,
    describe_failure,
    summarize_body,
)

from sandbox import tls
from sandbox.server import Context, Emulator, EmulatorServer, Request, Response
from sandbox.store import Store


class Items(Emulator):
    name = "items"

    def handle(self, request: Request) -> Response:
        items = self.store.data.setdefault("items", [])
        if request.method == "POST":
            items.append(request.json())
            return Response(201, {"item": request.json()})
        return Response(200, {"items": items})

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, {"id": "server_error", "message": message})


@pytest.fixture
def server(tmp_path: Path):
    ca, ca_key = tls.ensure_ca(tmp_path)
    cert, key = tls.ensure_server_cert(tmp_path, ca, ca_key)
    srv = EmulatorServer(Items(Context("items", Store(tmp_path / "s.json"), {}, {})), 0, tls.server_context(cert, key))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.ca = str(ca)  # type: ignore[attr-defined]
    yield srv
    srv.shutdown()


def fault(srv: EmulatorServer, **rule: Any) -> None:
    req = urllib.request.Request(
        f"https://127.0.0.1:{srv.port}/_sandbox/faults", data=json.dumps(rule).encode(), method="POST"
    )
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=srv.ca)).close()  # type: ignore[attr-defined]


def client(srv: EmulatorServer, waits: list[float], **kw: Any) -> JsonClient:
    policy = RetryPolicy(
        retries=kw.pop("retries", 3),
        sleep=waits.append,
        rand=lambda: 0.5,
        now=kw.pop("now", None) or __import__("time").time,
    )
    return JsonClient(
        f"https://127.0.0.1:{srv.port}",
        ca_path=srv.ca,  # type: ignore[attr-defined]
        retry=policy,
        timeout=kw.pop("timeout", 5),
        error_message=lambda status, body: body["message"] if isinstance(body, dict) else str(body),
    )


def methods(srv: EmulatorServer) -> list[tuple[str, int]]:
    return [(e["method"], e["status"]) for e in srv.log.since(0)]


def test_get_returns_json(server) -> None:
    waits: list[float] = []
    assert client(server, waits).request("GET", "/items").json == {"items": []}
    assert waits == []


def test_429_honours_retry_after(server) -> None:
    fault(server, status=429, headers={"Retry-After": "7"}, count=1)
    waits: list[float] = []
    assert client(server, waits).request("GET", "/items").status == 200
    assert waits == [7.0]
    assert methods(server) == [("GET", 429), ("GET", 200)]


def test_429_honours_ratelimit_reset_epoch(server) -> None:
    fault(server, status=429, headers={"X-RateLimit-Reset": "1000000012"}, count=1)
    waits: list[float] = []
    client(server, waits, now=lambda: 1000000000.0).request("GET", "/items")
    assert 12.0 <= waits[0] <= 12.1


def test_429_on_create_is_retried_because_nothing_was_applied(server) -> None:
    fault(server, status=429, count=1, method="POST")
    waits: list[float] = []
    client(server, waits).request("POST", "/items", {"name": "a"})
    assert methods(server) == [("POST", 429), ("POST", 201)]
    assert len(server.emulator.store.data["items"]) == 1


def test_500_on_get_is_retried_with_backoff(server) -> None:
    fault(server, status=500, count=2)
    waits: list[float] = []
    assert client(server, waits).request("GET", "/items").status == 200
    # full jitter: min(30, 0.5 * 2**attempt) * rand, with rand fixed at 0.5
    assert waits == [0.25, 0.5]


def test_503_ignores_the_ratelimit_reset_every_answer_carries(server) -> None:
    # DigitalOcean sends ratelimit-reset (the end of the current window) on every answer: after
    # a 5xx it says nothing about when to retry, so backoff applies, not a wait for the window.
    fault(server, status=503, headers={"RateLimit-Reset": "1000003600"}, count=1)
    waits: list[float] = []
    assert client(server, waits, now=lambda: 1000000000.0).request("GET", "/items").status == 200
    assert waits == [0.25]


def test_503_honours_retry_after(server) -> None:
    fault(server, status=503, headers={"Retry-After": "4"}, count=1)
    waits: list[float] = []
    assert client(server, waits).request("GET", "/items").status == 200
    assert waits == [4.0]


def test_500_on_create_is_not_repeated(server) -> None:
    fault(server, status=500, count=1, method="POST")
    with pytest.raises(ApiError) as err:
        client(server, []).request("POST", "/items", {"name": "a"})
    assert err.value.maybe_applied is True
    assert err.value.status == 500
    assert methods(server) == [("POST", 500)]


def test_timeout_on_get_is_retried(server) -> None:
    fault(server, delay=1.0, count=1)
    assert client(server, [], timeout=0.3).request("GET", "/items").status == 200


def test_timeout_on_create_is_reported_as_maybe_applied(server) -> None:
    fault(server, delay=1.0, count=1, method="POST")
    with pytest.raises(ApiError) as err:
        client(server, [], timeout=0.3).request("POST", "/items", {"name": "a"})
    assert err.value.maybe_applied is True
    assert "no answer from 127.0.0.1" in err.value.message


def test_connection_reset_on_get_is_retried(server) -> None:
    fault(server, action="reset", count=1)
    assert client(server, []).request("GET", "/items").status == 200


def test_gives_up_after_retries_with_the_api_message(server) -> None:
    fault(server, status=503, count=10)
    with pytest.raises(ApiError) as err:
        client(server, [], retries=2).request("GET", "/items")
    assert "injected fault" in err.value.message
    assert "gave up after 3 attempts" in err.value.message


def test_4xx_is_not_retried(server) -> None:
    fault(server, status=404, count=1)
    with pytest.raises(ApiError) as err:
        client(server, []).request("GET", "/items")
    assert err.value.status == 404
    assert methods(server) == [("GET", 404)]


def test_untrusted_certificate_names_the_fix(server) -> None:
    c = JsonClient(f"https://127.0.0.1:{server.port}", retry=RetryPolicy(retries=0))
    with pytest.raises(ApiError, match="ca_path"):
        c.request("GET", "/items")


def test_retry_deadline_stops_long_waits(server) -> None:
    fault(server, status=429, headers={"Retry-After": "20"}, count=5)
    clock = [1000.0]
    policy = RetryPolicy(
        retries=5, deadline=30, sleep=lambda s: clock.__setitem__(0, clock[0] + s), now=lambda: clock[0]
    )
    c = JsonClient(f"https://127.0.0.1:{server.port}", ca_path=server.ca, retry=policy)
    with pytest.raises(ApiError, match="deadline"):
        c.request("GET", "/items")
    assert methods(server) == [("GET", 429), ("GET", 429)]  # waited 20s once, a second 20s would pass 30s


# ---------------------------------------------------------------------- message shapes
# A failure reads as a sentence naming the setting to fix, never as an exception's repr or class
# (``ConnectionRefusedError(...)``, ``<urllib3.connection.HTTPSConnection object at 0x...>``,
# ``[Errno 111]``, ``_ssl.c:1006``).
LEAKS = re.compile(r"Error\(|<\w+[.\w]* object at|\[Errno|_ssl\.c|Traceback|<class ")
SETTINGS = {"url": "api_url (x_api_url)", "ca_path": "ca_path (x_ca_path)", "timeout": "timeout (x_timeout)"}


def failure(base_url: str, **kw: Any) -> str:
    c = JsonClient(base_url, retry=RetryPolicy(retries=0), settings=SETTINGS, **kw)
    with pytest.raises(ApiError) as err:
        c.request("GET", "/items")
    assert not LEAKS.search(err.value.message), err.value.message
    return err.value.message


def test_connection_refused_names_the_url_setting() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert failure(f"https://127.0.0.1:{port}") == (
        f"GET /items: 127.0.0.1:{port} refused the connection (nothing listens there); "
        "check api_url (x_api_url) (gave up after 1 attempt)"
    )


def test_timeout_names_the_url_and_the_timeout_settings(server) -> None:
    fault(server, delay=1.0, count=1)
    message = failure(f"https://127.0.0.1:{server.port}", ca_path=server.ca, timeout=0.3)
    assert message == (
        f"GET /items: no answer from 127.0.0.1:{server.port} within 0.3s; check api_url (x_api_url), "
        "or raise timeout (x_timeout) (gave up after 1 attempt)"
    )


def test_untrusted_certificate_names_the_ca_setting(server) -> None:
    assert failure(f"https://127.0.0.1:{server.port}") == (
        f"GET /items: TLS certificate verification failed for 127.0.0.1:{server.port} "
        "(unable to get local issuer certificate); set ca_path (x_ca_path) to the CA bundle that signs this endpoint"
    )


def test_unknown_host_is_a_dns_failure() -> None:
    assert failure("https://no-such-host.invalid") == (
        "GET /items: the host name in https://no-such-host.invalid cannot be resolved (DNS); "
        "check api_url (x_api_url) (gave up after 1 attempt)"
    )


def _cert_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {message}")
    err.verify_code, err.verify_message = code, message
    return err


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            _cert_error(62, "Hostname mismatch, certificate is not valid for 'api.example.com'."),
            "the TLS certificate of api.example.com is not valid for that host "
            "(Hostname mismatch, certificate is not valid for 'api.example.com'.); check api_url (x_api_url)",
        ),
        (
            _cert_error(10, "certificate has expired"),
            "the TLS certificate of api.example.com has expired (certificate has expired)",
        ),
        (
            URLError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")),
            "the TLS handshake with api.example.com failed (wrong version number); "
            "check that api_url (x_api_url) is an https:// endpoint",
        ),
        (
            URLError(ConnectionResetError(104, "Connection reset by peer")),
            "api.example.com closed the connection without an answer",
        ),
        (
            URLError(TimeoutError("timed out")),
            "no answer from api.example.com; check api_url (x_api_url), or raise timeout (x_timeout)",
        ),
    ],
    ids=["hostname mismatch", "expired certificate", "plain HTTP port", "reset", "timeout without a figure"],
)
def test_network_failures_read_as_sentences(exc: BaseException, expected: str) -> None:
    assert describe_failure(exc, "https://api.example.com", 0, SETTINGS) == expected


def test_tls_reason_is_shown_without_openssl_internals() -> None:
    err = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    err.reason = "WRONG_VERSION_NUMBER"
    assert describe_failure(err, "https://api.example.com", 5, SETTINGS) == (
        "the TLS handshake with api.example.com failed (wrong version number); "
        "check that api_url (x_api_url) is an https:// endpoint"
    )


def test_an_html_error_page_is_summarised() -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>" + "x" * 500 + "</body>"
    assert summarize_body(page).startswith("502 Bad Gateway 502 Bad Gateway xxx")
    assert len(summarize_body(page)) == 300 and summarize_body(page).endswith("...")
    assert summarize_body("<html></html>") == "an empty page"
