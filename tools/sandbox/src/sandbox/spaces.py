"""DigitalOcean Spaces (the S3 API) through moto's S3 server, behind the sandbox's TLS.

moto's S3 WSGI application answers every request, so boto3, amazon.aws and s3cmd see the S3
wire protocol (XML bodies, ETags, multipart, ListObjectsV2); the sandbox adds TLS from its CA,
the request log and fault injection (injected faults answer with S3's XML error body).

Addressing: path-style (``https://127.0.0.1:<port>/<bucket>/<key>``) always works; configure
boto3 with ``endpoint_url`` and ``s3={"addressing_style": "path"}``. Virtual-host style works
when the request carries ``Host: <bucket>.<name>:<port>`` (for example ``<bucket>.localhost``),
and the client must reach 127.0.0.1 under that name: the sandbox certificate covers
``*.localhost``, but ``*.localhost`` does not resolve everywhere (not in this sandbox's image), so
SDKs that derive the connection host from the bucket need path-style unless /etc/hosts helps.

Persistence: moto keeps state in memory. After every successful write, buckets and their
objects (body, content type, user metadata) are snapshotted into the emulator's store, which
flushes to ``<state>/spaces.json``; on start the snapshot is loaded back into moto. Versions,
ACLs, policies, lifecycle rules and in-flight multipart uploads are not persisted.
Setting (``settings.json``): ``{"spaces": {"region": "fra1"}}``; ``endpoints.json`` gets
``{"spaces": {"url", "region"}}``.

Authentication, as on Spaces: every request carries AWS Signature Version 4, in the
``Authorization`` header or as a presigned URL's ``X-Amz-*`` query, and is verified with the S3
rules (canonical URI = the path as sent; query names and values re-encoded with ``-_.~``
unreserved and sorted; the SignedHeaders lowercased with trimmed, space-collapsed values; the
payload hash = ``x-amz-content-sha256`` as sent, ``UNSIGNED-PAYLOAD`` for presigned URLs, and a
hex digest must match the body). Known keys: the sandbox admin key ``sandbox-admin`` /
``sandbox-admin-not-a-secret`` (full access) and the keys the DigitalOcean emulator holds
(``/v2/spaces/keys``), read under its lock on every request, so a deleted key fails at once.
Errors are S3's: no credentials → 403 ``AccessDenied``; unknown key → 403 ``InvalidAccessKeyId``;
wrong signature → 403 ``SignatureDoesNotMatch``; ``x-amz-date`` more than 15 minutes off → 403
``RequestTimeTooSkewed``; an expired presigned URL → 403 ``AccessDenied`` "Request has expired".
Any signing region is accepted (Spaces clients often sign for ``us-east-1``). Signature
Version 2 is not emulated (400 ``InvalidRequest``).

Grants of DigitalOcean keys: ``read`` allows GET/HEAD on the bucket and its objects;
``readwrite`` adds object writes (PUT/POST/DELETE on objects, multipart uploads, DeleteObjects)
but not creating, deleting or configuring the bucket; ``fullaccess`` (bucket ``""``) allows
everything. ListBuckets answers every valid key with the buckets it can read. Anything else is
403 ``AccessDenied``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import email.utils
import hashlib
import hmac
import io
import re
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import create_backend_app

from sandbox.server import Emulator, HTTPError, Request, Response

REGION = "fra1"
S3_CODES = {
    400: "InvalidRequest",
    403: "AccessDenied",
    404: "NoSuchKey",
    409: "OperationAborted",
    429: "SlowDown",
    500: "InternalError",
    501: "NotImplemented",
    503: "SlowDown",
}
# Hop-by-hop or framing headers the sandbox server sets itself.
_SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-type", "server", "date"}

# ------------------------------------------------------------------ SigV4 authentication
ALGORITHM = "AWS4-HMAC-SHA256"
ADMIN_ACCESS_KEY = "sandbox-admin"
# The sandbox admin key (documented in the sandbox inventory): full access to every bucket.
ADMIN_SECRET_KEY = "sandbox-admin-not-a-secret"  # noqa: S105 - a public sandbox fixture
MAX_SKEW_SECONDS = 15 * 60
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# Access levels: what a grant allows, and what an operation needs.
READ, READWRITE, FULL = 1, 2, 3
LEVELS = {"read": READ, "readwrite": READWRITE, "fullaccess": FULL}
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_QUERY_AUTH = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature")


@dataclass
class Identity:
    """A verified access key and what it may touch (bucket name -> level; "" = every bucket)."""

    access_key: str
    grants: dict[str, int]

    def level(self, bucket: str) -> int:
        return max(self.grants.get("", 0), self.grants.get(bucket, 0))


@dataclass
class Signed:
    """The parts of a SigV4 signature a request carries (header or query form)."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    timestamp: str
    payload_hash: str
    query: list[tuple[str, str]]


def _denied(message: str = "Access Denied") -> HTTPError:
    return HTTPError(403, message, code="AccessDenied")


def _uri_encode(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs))


def _header_text(value: str) -> str:
    """http.server decodes header bytes as latin-1; signers hash the UTF-8 text."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _canonical_headers(request: Request, names: list[str]) -> str:
    lines = []
    for name in names:
        values = request.headers.get_all(name) or []
        lines.append(f"{name}:" + ",".join(" ".join(_header_text(v).split()) for v in values))
    return "\n".join(lines) + "\n"


def _credential(value: str, malformed: Callable[[str], HTTPError]) -> tuple[str, str, str, str]:
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
        raise malformed(
            f'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request": {value!r}'
        )
    if parts[3] != "s3":
        raise malformed(f"the service '{parts[3]}' is wrong; expecting 's3'")
    return parts[0], parts[1], parts[2], parts[3]


def _signed_header_names(value: str, malformed: Callable[[str], HTTPError]) -> list[str]:
    names = [n.strip().lower() for n in value.split(";") if n.strip()]
    if not names:
        raise malformed("SignedHeaders is empty")
    return names


def _header_malformed(message: str) -> HTTPError:
    return HTTPError(400, f"The authorization header is malformed; {message}", code="AuthorizationHeaderMalformed")


def _query_malformed(message: str) -> HTTPError:
    return HTTPError(
        400, f"Error parsing the X-Amz-Credential parameter; {message}", code="AuthorizationQueryParametersError"
    )


def _request_timestamp(request: Request) -> str:
    amz_date = request.headers.get("x-amz-date")
    if amz_date:
        return amz_date.strip()
    date = request.headers.get("Date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            return email.utils.parsedate_to_datetime(date).astimezone(datetime.UTC).strftime(TIMESTAMP_FORMAT)
    raise _denied("AWS authentication requires a valid Date or x-amz-date header")


def _epoch(timestamp: str) -> float:
    try:
        return datetime.datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=datetime.UTC).timestamp()
    except ValueError:
        raise _denied("AWS authentication requires a valid Date or x-amz-date header") from None


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, values in request.query.items() for v in values]


def _from_header(request: Request, authorization: str) -> Signed:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme != ALGORITHM:
        raise HTTPError(
            400,
            "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
            code="InvalidRequest",
        )
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(",") if part.strip())
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise _header_malformed(f"missing {', '.join(missing)}")
    access_key, date, region, service = _credential(fields["Credential"], _header_malformed)
    payload = request.headers.get("x-amz-content-sha256")
    return Signed(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=_signed_header_names(fields["SignedHeaders"], _header_malformed),
        signature=fields["Signature"],
        timestamp="",
        payload_hash=payload.strip() if payload else hashlib.sha256(request.body).hexdigest(),
        query=_query_pairs(request),
    )


def _from_query(request: Request) -> Signed:
    if request.arg("X-Amz-Algorithm") != ALGORITHM:
        raise HTTPError(
            400, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', code="AuthorizationQueryParametersError"
        )
    missing = [name for name in _QUERY_AUTH if not request.arg(name)]
    if missing:
        raise HTTPError(
            400,
            f"Query-string authentication version 4 requires the {', '.join(_QUERY_AUTH)} parameters",
            code="AuthorizationQueryParametersError",
        )
    access_key, date, region, service = _credential(request.arg("X-Amz-Credential") or "", _query_malformed)
    return Signed(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=_signed_header_names(request.arg("X-Amz-SignedHeaders") or "", _query_malformed),
        signature=request.arg("X-Amz-Signature") or "",
        timestamp=request.arg("X-Amz-Date") or "",
        payload_hash=UNSIGNED_PAYLOAD,
        query=[(k, v) for k, v in _query_pairs(request) if k != "X-Amz-Signature"],
    )


def _check_presign_window(request: Request, timestamp: str, now: float) -> None:
    expires = request.arg("X-Amz-Expires") or ""
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_PRESIGN_EXPIRES:
        raise HTTPError(
            400,
            f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds",
            code="AuthorizationQueryParametersError",
        )
    signed_at = _epoch(timestamp)
    if now > signed_at + int(expires):
        raise _denied("Request has expired")
    if signed_at - now > MAX_SKEW_SECONDS:
        raise _denied("Request is not yet valid")


def _check_amz_headers_signed(request: Request, signed_headers: list[str]) -> None:
    """S3 refuses header-signed requests that carry x-amz-* headers outside SignedHeaders."""
    unsigned = sorted({k.lower() for k in request.headers} - set(signed_headers))
    unsigned = [name for name in unsigned if name.startswith("x-amz-")]
    if unsigned:
        raise _denied(f"There were headers present in the request which were not signed: {', '.join(unsigned)}")


def _signature(secret: str, signed: Signed, request: Request) -> str:
    canonical = "\n".join(
        [
            request.method.upper(),
            request.raw_path or "/",
            _canonical_query(signed.query),
            _canonical_headers(request, signed.signed_headers),
            ";".join(signed.signed_headers),
            signed.payload_hash,
        ]
    )
    scope = f"{signed.date}/{signed.region}/{signed.service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, signed.timestamp, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (signed.date, signed.region, signed.service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class SpacesEmulator(Emulator):
    name = "spaces"

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.region = (ctx.settings or {}).get("region", REGION)
        self.app = create_backend_app("s3")
        self._restore()

    # ------------------------------------------------------------------ moto state
    @staticmethod
    def _backend() -> Any:
        return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]

    def _restore(self) -> None:
        backend = self._backend()
        for name, bucket in (self.store.data.get("buckets") or {}).items():
            if name in backend.buckets:
                continue
            backend.create_bucket(name, bucket.get("region") or self.region)
            for key, obj in bucket.get("objects", {}).items():
                fake = backend.put_object(name, key, base64.b64decode(obj["data"]))
                fake.set_metadata(dict(obj.get("metadata") or {}))
                if obj.get("content_type"):
                    fake.metadata["Content-Type"] = obj["content_type"]

    def _snapshot(self) -> None:
        buckets: dict[str, Any] = {}
        for name, bucket in self._backend().buckets.items():
            objects = {}
            for key in bucket.keys:
                fake = bucket.keys[key]
                metadata = {k: v for k, v in dict(fake.metadata).items() if k.lower() != "content-type"}
                objects[key] = {
                    "data": base64.b64encode(fake.value).decode(),
                    "content_type": dict(fake.metadata).get("Content-Type"),
                    "metadata": metadata,
                }
            buckets[name] = {"region": bucket.region_name, "objects": objects}
        self.store.data["buckets"] = buckets
        self.store.touch()

    # ------------------------------------------------------------------ access keys
    def _key(self, access_key: str) -> tuple[str, dict[str, int]] | None:
        """The secret and grants of a known key: the sandbox admin key, or a key the DigitalOcean
        emulator holds right now (read under its lock, so a deleted key stops working at once)."""
        if access_key == ADMIN_ACCESS_KEY:
            return ADMIN_SECRET_KEY, {"": FULL}
        peer = self.ctx.peers.get("digitalocean")
        api = getattr(peer, "spaces_keys", None)
        if peer is None or api is None:
            return None
        with peer.lock:
            key = api.keys.get(access_key)
            if key is None:
                return None
            secret, grants = str(key["_secret_key"]), [dict(g) for g in key.get("grants") or []]
        levels: dict[str, int] = {}
        for grant in grants:
            level = LEVELS.get(grant.get("permission") or "", 0)
            bucket = "" if level == FULL else str(grant.get("bucket") or "")
            if level and (bucket or level == FULL):
                levels[bucket] = max(levels.get(bucket, 0), level)
        return secret, levels

    def _authenticate(self, request: Request) -> Identity:
        authorization = request.headers.get("Authorization")
        presigned = "X-Amz-Algorithm" in request.query or "X-Amz-Credential" in request.query
        if authorization and presigned:
            raise HTTPError(
                400,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter "
                "or the Authorization header should be specified",
                code="InvalidArgument",
            )
        if not authorization and not presigned:
            raise _denied()
        signed = _from_query(request) if presigned else _from_header(request, authorization or "")
        known = self._key(signed.access_key)
        if known is None:
            raise HTTPError(
                403, "The AWS Access Key Id you provided does not exist in our records.", code="InvalidAccessKeyId"
            )
        secret, grants = known
        now = time.time()
        if presigned:
            _check_presign_window(request, signed.timestamp, now)
        else:
            signed.timestamp = _request_timestamp(request)
            if abs(now - _epoch(signed.timestamp)) > MAX_SKEW_SECONDS:
                raise HTTPError(
                    403,
                    "The difference between the request time and the current time is too large.",
                    code="RequestTimeTooSkewed",
                )
            _check_amz_headers_signed(request, signed.signed_headers)
        if not hmac.compare_digest(_signature(secret, signed, request).encode(), signed.signature.encode()):
            raise HTTPError(
                403,
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
                code="SignatureDoesNotMatch",
            )
        if _HEX_SHA256.match(signed.payload_hash) and not hmac.compare_digest(
            signed.payload_hash, hashlib.sha256(request.body).hexdigest()
        ):
            raise HTTPError(
                400,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                code="XAmzContentSHA256Mismatch",
            )
        return Identity(signed.access_key, grants)

    # ------------------------------------------------------------------ grants
    @staticmethod
    def _target(request: Request) -> tuple[str, str]:
        """(bucket, key) addressed by the request, path-style or virtual-host style (the same
        rule moto applies: a Host that is an IP address, localhost or a single label is path-style)."""
        host = (request.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        path = request.path.lstrip("/")
        path_style = (
            not name
            or name.startswith(("localhost", "["))
            or "." not in name
            or re.fullmatch(r"[\d.]+", name) is not None
        )
        if path_style:
            bucket, _, key = path.partition("/")
            return bucket, key
        return name.split(".", 1)[0], path

    @staticmethod
    def _required(request: Request, key: str) -> int:
        """The level an operation needs: reads need read; object writes (uploads, multipart,
        deletes, DeleteObjects) readwrite; bucket writes (create, delete, configuration) full access."""
        if request.method in ("GET", "HEAD"):
            return READ
        if key or (request.method == "POST" and ("delete" in request.query or not request.query)):
            return READWRITE
        return FULL

    def _authorize(self, request: Request, identity: Identity) -> None:
        bucket, key = self._target(request)
        if not bucket and request.method in ("GET", "HEAD"):
            return  # ListBuckets: every valid key; the answer lists what the key can see
        if identity.level(bucket) < self._required(request, key):
            raise _denied()
        source = request.headers.get("x-amz-copy-source")
        if source and request.method == "PUT":
            # CopyObject / UploadPartCopy also read the source object
            source_bucket = urllib.parse.unquote(source).lstrip("/").split("/", 1)[0]
            if identity.level(source_bucket) < READ:
                raise _denied()

    @staticmethod
    def _visible_buckets(body: bytes, identity: Identity) -> bytes:
        if identity.level("") >= READ:
            return body

        def keep(match: re.Match[bytes]) -> bytes:
            name = re.search(rb"<Name>([^<]*)</Name>", match.group(0))
            bucket = name.group(1).decode() if name else ""
            return match.group(0) if identity.level(bucket) >= READ else b""

        return re.sub(rb"<Bucket>.*?</Bucket>", keep, body, flags=re.S)

    # ------------------------------------------------------------------ HTTP
    def _environ(self, request: Request) -> dict[str, Any]:
        host = request.headers.get("Host") or "127.0.0.1"
        server, port = host.partition(":")[::2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path.encode("utf-8").decode("latin-1"),
            "RAW_URI": request.raw_path,
            "QUERY_STRING": "&".join(
                f"{_uri_encode(k)}={_uri_encode(v)}" if v else _uri_encode(k)
                for k, values in request.query.items()
                for v in values
            ),
            "SERVER_NAME": server,
            "SERVER_PORT": port or "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in request.headers.items():
            name = key.upper().replace("-", "_")
            # the sandbox server already de-chunked the body and answered Expect: 100-continue
            if name not in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING", "EXPECT"):
                environ[f"HTTP_{name}"] = value
        return environ

    def _spaces_create_bucket(self, request: Request) -> None:
        """Spaces creates a bucket in the endpoint's region when no LocationConstraint is sent;
        moto (like AWS outside us-east-1) refuses that, so name the signing region for it."""
        path = request.path.strip("/")
        if request.method != "PUT" or request.query or request.body or not path or "/" in path:
            return
        match = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/s3/", request.headers.get("Authorization") or "")
        region = match.group(1) if match else self.region
        if region != "us-east-1":
            request.body = (
                '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<LocationConstraint>{escape(region)}</LocationConstraint></CreateBucketConfiguration>"
            ).encode()

    def handle(self, request: Request) -> Response:
        identity = self._authenticate(request)
        self._authorize(request, identity)
        captured: dict[str, Any] = {}
        self._spaces_create_bucket(request)

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda _data: None

        chunks = self.app(self._environ(request), start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        status = captured["status"]
        headers = {k: v for k, v in captured["headers"] if k.lower() not in _SKIP_HEADERS}
        content_type = next((v for k, v in captured["headers"] if k.lower() == "content-type"), "application/xml")
        if request.method == "HEAD":
            # The sandbox server derives Content-Length from the body and sends none for HEAD:
            # give it a body of the object's size so HeadObject reports the right length.
            length = next((v for k, v in captured["headers"] if k.lower() == "content-length"), "0")
            body = bytes(int(length)) if length.isdigit() else b""
        if request.method in ("PUT", "POST", "DELETE") and status < 300:
            self._snapshot()
        if request.method == "GET" and status == 200 and not self._target(request)[0]:
            body = self._visible_buckets(body, identity)
        return Response(status, body, headers=headers, content_type=content_type)

    def error(self, status: int, message: str, code: str | None = None, **extra: Any) -> Response:
        """S3's XML error body; ``code`` names the S3 error code (default: by status)."""
        request_id = uuid.uuid4().hex.upper()[:16]
        code = code or S3_CODES.get(status, "InternalError")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        )
        return Response(status, body.encode(), headers={"x-amz-request-id": request_id}, content_type="application/xml")

    def fault_headers(self, status: int) -> dict[str, str]:
        return {"Retry-After": "1"} if status in (429, 503) else {}

    def reset(self) -> None:
        with self.lock:
            self._backend().reset()
            self.store.data.clear()
            self.store.touch()

    def endpoint(self, base_url: str) -> dict[str, Any]:
        return {"url": base_url, "region": self.region}

    def close(self) -> None:
        with self.lock:
            self._snapshot()
