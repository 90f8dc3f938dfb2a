"""Contract tests of the Spaces (S3) emulator, judged by boto3."""

from __future__ import annotations

import http.client
import ssl
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.sandbox import local_sandbox as sb

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spaces-sandbox")


@pytest.fixture(scope="module")
def endpoints(state: Path):
    eps = sb.start(state)
    yield eps
    sb.stop(state)


def s3(endpoints: dict[str, Any], **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoints["spaces"]["url"],
        region_name=endpoints["spaces"]["region"],
        aws_access_key_id="DOEXAMPLEKEY",
        aws_secret_access_key="example-secret",
        verify=endpoints["ca_file"],
        config=Config(s3={"addressing_style": "path"}, **config),
    )


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
    SigV4Auth(Credentials("DOEXAMPLEKEY", "example-secret"), "s3", "fra1").add_auth(request)
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
