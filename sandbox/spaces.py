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
Anonymous requests are refused (403) like on Spaces; signatures are not verified.

Persistence: moto keeps state in memory. After every successful write, buckets and their
objects (body, content type, user metadata) are snapshotted into the emulator's store, which
flushes to ``<state>/spaces.json``; on start the snapshot is loaded back into moto. Versions,
ACLs, policies, lifecycle rules and in-flight multipart uploads are not persisted.
Any access key signs (keys made with the DigitalOcean emulator's ``/v2/spaces/keys`` are not
enforced here, nor are their bucket grants). Setting (``settings.json``): ``{"spaces": {"region":
"fra1"}}``; ``endpoints.json`` gets ``{"spaces": {"url", "region"}}``.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import create_backend_app

from sandbox.server import Emulator, Request, Response

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

    # ------------------------------------------------------------------ HTTP
    def _environ(self, request: Request) -> dict[str, Any]:
        host = request.headers.get("Host") or "127.0.0.1"
        server, port = host.partition(":")[::2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path.encode("utf-8").decode("latin-1"),
            "RAW_URI": request.raw_path,
            "QUERY_STRING": "&".join(f"{k}={v}" if v else k for k, values in request.query.items() for v in values),
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
        return Response(status, body, headers=headers, content_type=content_type)

    def error(self, status: int, message: str, **extra: Any) -> Response:
        request_id = uuid.uuid4().hex.upper()[:16]
        code = S3_CODES.get(status, "InternalError")
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
