"""Contract tests of the Spaces (S3) emulator, judged by boto3."""

from __future__ import annotations

import datetime
import http.client
import io
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import pydo
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ReadTimeoutError

from sandbox import client as sb

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spaces-sandbox")


@pytest.fixture(scope="module")
def endpoints(state: Path):
    eps = sb.start(state)
    yield eps
    sb.stop(state)


# The sandbox admin key (inventories/sandbox): full access to every bucket.
ADMIN = ("sandbox-admin", "sandbox-admin-not-a-secret")


def s3(endpoints: dict[str, Any], key: tuple[str, str] = ADMIN, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoints["spaces"]["url"],
        region_name=endpoints["spaces"]["region"],
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        verify=endpoints["ca_file"],
        config=Config(s3={"addressing_style": "path"}, **config),
    )


def do_client(endpoints: dict[str, Any]) -> pydo.Client:
    ep = endpoints["digitalocean"]
    return pydo.Client(token=ep["token"], endpoint=ep["url"], connection_verify=endpoints["ca_file"])


def spaces_key(endpoints: dict[str, Any], name: str, *grants: tuple[str, str]) -> tuple[str, str]:
    """A key made through the DigitalOcean API (/v2/spaces/keys), as doks_cluster makes its own."""
    body = {"name": name, "grants": [{"bucket": b, "permission": p} for b, p in grants]}
    created = do_client(endpoints).spaces_key.create(body)["key"]
    return created["access_key"], created["secret_key"]


def error_code(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    response = err.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def fetch(url: str, ca_file: str) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=ca_file)
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_endpoint_names_the_region(endpoints: dict[str, Any]) -> None:
    assert endpoints["spaces"]["region"] == "fra1"
    assert endpoints["spaces"]["url"].startswith("https://127.0.0.1:")


def test_bucket_create_put_get_list_head_delete(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints)
    client.create_bucket(Bucket="loki-logs")
    assert "loki-logs" in {b["Name"] for b in client.list_buckets()["Buckets"]}
    client.put_object(Bucket="loki-logs", Key="chunks/a", Body=b"hello spaces", ContentType="text/plain")
    got = client.get_object(Bucket="loki-logs", Key="chunks/a")
    assert got["Body"].read() == b"hello spaces"
    assert got["ContentType"] == "text/plain"
    assert client.head_object(Bucket="loki-logs", Key="chunks/a")["ContentLength"] == len(b"hello spaces")
    listed = client.list_objects_v2(Bucket="loki-logs", Prefix="chunks/")
    assert [o["Key"] for o in listed["Contents"]] == ["chunks/a"]
    client.delete_object(Bucket="loki-logs", Key="chunks/a")
    assert client.list_objects_v2(Bucket="loki-logs").get("KeyCount") == 0
    with pytest.raises(ClientError) as err:
        client.get_object(Bucket="loki-logs", Key="chunks/a")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"


def test_bucket_location_is_the_endpoint_region(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints)
    client.create_bucket(Bucket="located")
    assert client.get_bucket_location(Bucket="located")["LocationConstraint"] == "fra1"


def test_virtual_host_request_signed_by_botocore(endpoints: dict[str, Any]) -> None:
    """Virtual-host style: the bucket is in the Host header (DNS for <bucket>.localhost is the
    client's business, so the signed request is sent to 127.0.0.1 with that Host)."""
    client = s3(endpoints)
    client.create_bucket(Bucket="vhost")
    client.put_object(Bucket="vhost", Key="k.txt", Body=b"virtual")
    port = int(endpoints["spaces"]["url"].rsplit(":", 1)[1])
    request = AWSRequest(
        "GET", f"https://vhost.localhost:{port}/k.txt", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    SigV4Auth(Credentials(*ADMIN), "s3", "fra1").add_auth(request)
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, context=ssl.create_default_context(cafile=endpoints["ca_file"])
    )
    conn.putrequest("GET", "/k.txt", skip_host=True, skip_accept_encoding=True)
    for key, value in request.headers.items():
        conn.putheader(key, value)
    if "Host" not in request.headers:
        conn.putheader("Host", f"vhost.localhost:{port}")
    conn.endheaders()
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"virtual")


def test_buckets_and_objects_survive_a_restart(endpoints: dict[str, Any], state: Path) -> None:
    client = s3(endpoints)
    client.create_bucket(Bucket="durable")
    client.put_object(Bucket="durable", Key="k", Body=b"kept")
    sb.stop(state)
    restarted = sb.start(state)
    endpoints.update(restarted)
    assert s3(restarted).get_object(Bucket="durable", Key="k")["Body"].read() == b"kept"


@pytest.mark.parametrize(("bucket", "status"), [("retry", 503), ("patient", 429)])
def test_injected_throttling_is_retried_by_boto3(endpoints: dict[str, Any], bucket: str, status: int) -> None:
    # botocore retries both with its own backoff: SlowDown counts as throttling; Retry-After is ignored
    client = s3(endpoints)
    client.create_bucket(Bucket=bucket)
    seq = sb.last_seq(endpoints, "spaces")
    sb.fault(endpoints, "spaces", status=status, count=1, path=f"^/{bucket}", method="GET")
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    statuses = [e["status"] for e in sb.requests(endpoints, "spaces", seq) if e["path"] == f"/{bucket}"]
    assert statuses == [status, 200]


def test_injected_429_is_s3_xml_with_retry_after(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints, retries={"total_max_attempts": 1, "mode": "standard"})
    client.create_bucket(Bucket="throttled")
    sb.fault(endpoints, "spaces", status=429, count=1, path="^/throttled")
    with pytest.raises(ClientError) as err:
        client.list_objects_v2(Bucket="throttled")
    meta = err.value.response["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 429
    assert meta["HTTPHeaders"]["retry-after"] == "1"
    assert err.value.response["Error"]["Code"] == "SlowDown"


def test_injected_500_is_internal_error(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints, retries={"total_max_attempts": 1, "mode": "standard"})
    sb.fault(endpoints, "spaces", status=500, count=1, path="^/")
    with pytest.raises(ClientError) as err:
        client.list_buckets()
    assert err.value.response["Error"]["Code"] == "InternalError"


def test_injected_delay_beyond_the_read_timeout(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints, retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=1)
    sb.fault(endpoints, "spaces", delay=3, count=1, path="^/")
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        client.list_buckets()
    assert time.monotonic() - started < 2.9


# ---------------------------------------------------------------------- credentials and grants
def test_admin_key_has_full_access(endpoints: dict[str, Any]) -> None:
    client = s3(endpoints)
    client.create_bucket(Bucket="admin-owned")
    client.put_object(Bucket="admin-owned", Key="k", Body=b"v")
    assert client.get_object(Bucket="admin-owned", Key="k")["Body"].read() == b"v"
    client.delete_object(Bucket="admin-owned", Key="k")
    client.delete_bucket(Bucket="admin-owned")
    assert "admin-owned" not in {b["Name"] for b in client.list_buckets()["Buckets"]}


def test_readwrite_key_works_in_its_bucket_only(endpoints: dict[str, Any]) -> None:
    admin = s3(endpoints)
    admin.create_bucket(Bucket="rw-mine")
    admin.create_bucket(Bucket="rw-other")
    key = s3(endpoints, spaces_key(endpoints, "loki", ("rw-mine", "readwrite")))
    key.put_object(Bucket="rw-mine", Key="chunk", Body=b"data")
    assert key.get_object(Bucket="rw-mine", Key="chunk")["Body"].read() == b"data"
    assert [o["Key"] for o in key.list_objects_v2(Bucket="rw-mine")["Contents"]] == ["chunk"]
    key.delete_object(Bucket="rw-mine", Key="chunk")
    assert error_code(key.put_object, Bucket="rw-other", Key="x", Body=b"no")[:2] == (403, "AccessDenied")
    assert error_code(key.list_objects_v2, Bucket="rw-other")[:2] == (403, "AccessDenied")
    assert error_code(key.create_bucket, Bucket="rw-new")[:2] == (403, "AccessDenied")
    assert error_code(key.delete_bucket, Bucket="rw-mine")[:2] == (403, "AccessDenied")
    assert "rw-new" not in {b["Name"] for b in admin.list_buckets()["Buckets"]}
    assert "x" not in {o["Key"] for o in admin.list_objects_v2(Bucket="rw-other").get("Contents", [])}
    # ListBuckets answers every valid key with the buckets it can see
    assert {b["Name"] for b in key.list_buckets()["Buckets"]} == {"rw-mine"}


def test_grants_sent_in_a_key_update_do_not_change_access(endpoints: dict[str, Any]) -> None:
    """A key keeps the grants it was created with: "You can only update the name of the key"
    (github.com/digitalocean/openapi, specification/resources/spaces/key_update.yml). Sending
    other grants with PUT gives no access to the other bucket - what Loki met on real Spaces."""
    admin = s3(endpoints)
    admin.create_bucket(Bucket="upd-old")
    admin.create_bucket(Bucket="upd-new")
    access_key, secret = spaces_key(endpoints, "moved", ("upd-old", "readwrite"))
    do_client(endpoints).spaces_key.update(
        access_key, {"name": "moved", "grants": [{"bucket": "upd-new", "permission": "readwrite"}]}
    )
    key = s3(endpoints, (access_key, secret))
    assert error_code(key.put_object, Bucket="upd-new", Key="chunk", Body=b"x")[:2] == (403, "AccessDenied")
    key.put_object(Bucket="upd-old", Key="chunk", Body=b"x")


def test_read_key_cannot_write(endpoints: dict[str, Any]) -> None:
    admin = s3(endpoints)
    admin.create_bucket(Bucket="read-only")
    admin.put_object(Bucket="read-only", Key="k", Body=b"visible")
    key = s3(endpoints, spaces_key(endpoints, "reader", ("read-only", "read")))
    assert key.get_object(Bucket="read-only", Key="k")["Body"].read() == b"visible"
    assert key.head_object(Bucket="read-only", Key="k")["ContentLength"] == len(b"visible")
    assert error_code(key.put_object, Bucket="read-only", Key="k", Body=b"overwritten")[:2] == (403, "AccessDenied")
    assert error_code(key.delete_object, Bucket="read-only", Key="k")[:2] == (403, "AccessDenied")
    assert admin.get_object(Bucket="read-only", Key="k")["Body"].read() == b"visible"


def test_fullaccess_key_creates_and_deletes_buckets(endpoints: dict[str, Any]) -> None:
    key = s3(endpoints, spaces_key(endpoints, "ops", ("", "fullaccess")))
    key.create_bucket(Bucket="full-made")
    key.put_object(Bucket="full-made", Key="k", Body=b"v")
    assert "full-made" in {b["Name"] for b in key.list_buckets()["Buckets"]}
    key.delete_object(Bucket="full-made", Key="k")
    key.delete_bucket(Bucket="full-made")


def test_wrong_secret_is_signature_does_not_match(endpoints: dict[str, Any]) -> None:
    access_key, _secret = spaces_key(endpoints, "wrong", ("", "fullaccess"))
    status, code, message = error_code(s3(endpoints, (access_key, "not-the-secret")).list_buckets)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert "signature we calculated does not match" in message
    assert error_code(s3(endpoints, (ADMIN[0], "wrong")).list_buckets)[:2] == (403, "SignatureDoesNotMatch")


def test_unknown_key_is_invalid_access_key_id(endpoints: dict[str, Any]) -> None:
    status, code, _message = error_code(s3(endpoints, ("DOEXAMPLEKEY", "example-secret")).list_buckets)
    assert (status, code) == (403, "InvalidAccessKeyId")


def test_deleted_key_stops_working_at_once(endpoints: dict[str, Any]) -> None:
    access_key, secret = spaces_key(endpoints, "short-lived", ("", "fullaccess"))
    client = s3(endpoints, (access_key, secret))
    client.list_buckets()
    do_client(endpoints).spaces_key.delete(access_key)
    assert error_code(client.list_buckets)[:2] == (403, "InvalidAccessKeyId")


def test_anonymous_request_is_access_denied(endpoints: dict[str, Any]) -> None:
    s3(endpoints).create_bucket(Bucket="anon")
    status, body = fetch(f"{endpoints['spaces']['url']}/anon", endpoints["ca_file"])
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body


def test_clock_skew_beyond_15_minutes_is_refused(endpoints: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - datetime.timedelta(minutes=16))
    client = s3(endpoints, retries={"total_max_attempts": 1, "mode": "standard"})
    assert error_code(client.list_buckets)[:2] == (403, "RequestTimeTooSkewed")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - datetime.timedelta(minutes=14))
    client.list_buckets()


def test_presigned_get_url(endpoints: dict[str, Any]) -> None:
    admin = s3(endpoints)
    admin.create_bucket(Bucket="shared")
    admin.put_object(Bucket="shared", Key="dir/report 1.txt", Body=b"presigned body")
    key = s3(endpoints, spaces_key(endpoints, "sharer", ("shared", "read")))
    url = key.generate_presigned_url("get_object", Params={"Bucket": "shared", "Key": "dir/report 1.txt"}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    assert fetch(url, endpoints["ca_file"]) == (200, b"presigned body")
    tampered = url.replace("report%201.txt", "report%202.txt")
    assert tampered != url
    status, body = fetch(tampered, endpoints["ca_file"])
    assert (status, b"<Code>SignatureDoesNotMatch</Code>" in body) == (403, True)
    signature = url.rsplit("X-Amz-Signature=", 1)[1]
    forged = url.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    assert fetch(forged, endpoints["ca_file"])[0] == 403


def test_expired_presigned_url(endpoints: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    admin = s3(endpoints)
    admin.create_bucket(Bucket="stale")
    admin.put_object(Bucket="stale", Key="k", Body=b"old")
    real = botocore.auth.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - datetime.timedelta(seconds=620))
    params = {"Bucket": "stale", "Key": "k"}
    still_valid = admin.generate_presigned_url("get_object", Params=params, ExpiresIn=900)
    expired = admin.generate_presigned_url("get_object", Params=params, ExpiresIn=600)
    assert fetch(still_valid, endpoints["ca_file"]) == (200, b"old")
    status, body = fetch(expired, endpoints["ca_file"])
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert b"Request has expired" in body


def test_signatures_verify_for_awkward_keys_queries_and_multipart(endpoints: dict[str, Any]) -> None:
    """Canonical URI, query and payload rules hold for the requests boto3 really sends: keys that
    need encoding, list prefixes with reserved characters, multipart uploads, DeleteObjects."""
    key = s3(endpoints, spaces_key(endpoints, "awkward", ("awkward", "readwrite")))
    s3(endpoints).create_bucket(Bucket="awkward")
    names = ["a b/c+d=e&f.txt", "ünïcode/ключ", "tilde~star*(paren)'quote'", "semi;colon,comma:colon@at$"]
    for name in names:
        key.put_object(Bucket="awkward", Key=name, Body=name.encode())
        assert key.get_object(Bucket="awkward", Key=name)["Body"].read() == name.encode()
    listed = key.list_objects_v2(Bucket="awkward", Prefix="a b/c+d=e&", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["a b/c+d=e&f.txt"]
    upload = key.create_multipart_upload(Bucket="awkward", Key="big/object")
    part = bytes(range(256)) * 20480  # 5 MiB, the smallest part S3 accepts before the last one
    etags = [
        key.upload_part(Bucket="awkward", Key="big/object", PartNumber=n, UploadId=upload["UploadId"], Body=body)[
            "ETag"
        ]
        for n, body in ((1, part), (2, b"tail"))
    ]
    key.complete_multipart_upload(
        Bucket="awkward",
        Key="big/object",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags, strict=True)]},
    )
    assert key.head_object(Bucket="awkward", Key="big/object")["ContentLength"] == len(part) + 4
    deleted = key.delete_objects(Bucket="awkward", Delete={"Objects": [{"Key": n} for n in names]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == sorted(names)
    assert [o["Key"] for o in key.list_objects_v2(Bucket="awkward")["Contents"]] == ["big/object"]
    # streamed uploads (file objects) carry x-amz-content-sha256 values other than a hex digest
    key.upload_fileobj(io.BytesIO(b"streamed body"), "awkward", "streamed")
    out = io.BytesIO()
    key.download_fileobj("awkward", "streamed", out)
    assert out.getvalue() == b"streamed body"


def test_copy_needs_read_on_the_source_bucket(endpoints: dict[str, Any]) -> None:
    admin = s3(endpoints)
    for bucket in ("copy-src", "copy-dst"):
        admin.create_bucket(Bucket=bucket)
    admin.put_object(Bucket="copy-src", Key="k", Body=b"secret data")
    admin.put_object(Bucket="copy-dst", Key="k", Body=b"mine")
    key = s3(endpoints, spaces_key(endpoints, "copier", ("copy-dst", "readwrite")))
    copy = {"Bucket": "copy-dst", "Key": "copied"}
    assert error_code(key.copy_object, CopySource={"Bucket": "copy-src", "Key": "k"}, **copy)[:2] == (
        403,
        "AccessDenied",
    )
    key.copy_object(CopySource={"Bucket": "copy-dst", "Key": "k"}, **copy)
    assert key.get_object(**copy)["Body"].read() == b"mine"


def send_signed(
    endpoints: dict[str, Any], method: str, path: str, body: bytes, sent: bytes | None = None, **after: str
) -> tuple[int, bytes]:
    """Sign a request with botocore's S3 signer, then send it with ``sent`` as the body (when
    given) and the headers in ``after`` added or replaced."""
    port = int(endpoints["spaces"]["url"].rsplit(":", 1)[1])
    request = AWSRequest(method, f"https://127.0.0.1:{port}{path}", data=body)
    S3SigV4Auth(Credentials(*ADMIN), "s3", "fra1").add_auth(request)
    headers = dict(request.headers.items())
    headers.update(after)
    conn = http.client.HTTPSConnection(
        "127.0.0.1", port, context=ssl.create_default_context(cafile=endpoints["ca_file"])
    )
    conn.request(method, path, body=body if sent is None else sent, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def test_signed_body_and_headers_cannot_change(endpoints: dict[str, Any]) -> None:
    s3(endpoints).create_bucket(Bucket="tamper")
    assert send_signed(endpoints, "PUT", "/tamper/k", b"original")[0] == 200
    status, body = send_signed(endpoints, "PUT", "/tamper/k", b"original", b"replaced")
    assert status == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    status, body = send_signed(endpoints, "PUT", "/tamper/k", b"original", **{"x-amz-meta-added": "later"})
    assert (status, b"were not signed" in body) == (403, True)
    status, body = send_signed(endpoints, "PUT", "/tamper/k", b"original", **{"X-Amz-Date": "20200101T000000Z"})
    assert (status, b"<Code>RequestTimeTooSkewed</Code>" in body) == (403, True)
    assert s3(endpoints).get_object(Bucket="tamper", Key="k")["Body"].read() == b"original"
