"""doks.gitops.spaces_encrypted_object against the sandbox's Spaces emulator: the bucket holds only
ciphertext, a second run writes nothing, a wrong passphrase never overwrites."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.doks.gitops.plugins.modules import spaces_encrypted_object

from tests.emulated.doks_helpers import DoSandbox
from tests.emulated.module_runner import as_target

pytestmark = pytest.mark.sandbox

PASSPHRASE = "correct horse battery staple"
KEYS = [
    {
        "name": "sealed-secrets-keyabcde",
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "LS0tLS1CRUdJTiBDRVJU", "tls.key": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t"},
    }
]


def run(do: DoSandbox, *, check: bool = False, **args: Any) -> dict[str, Any]:
    params = {
        "endpoint": do.endpoints["spaces"]["url"],
        "region": do.endpoints["spaces"]["region"],
        "bucket": "backup-test",
        "key": "backups/sealed-secrets-keys.json.enc",
        "access_key_id": "sandbox-admin",
        "secret_access_key": "sandbox-admin-not-a-secret",
        "passphrase": PASSPHRASE,
        "ca_path": do.endpoints["ca_file"],
        "_ansible_check_mode": check,
        **args,
    }
    out = io.StringIO()
    with as_target(), patch_module_args(params), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        spaces_encrypted_object.main()
    return json.loads(out.getvalue())


@pytest.fixture
def bucket(do: DoSandbox) -> str:
    client = do.s3()
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
        client.create_bucket(Bucket="backup-test")
    with contextlib.suppress(Exception):
        client.delete_object(Bucket="backup-test", Key="backups/sealed-secrets-keys.json.enc")
    return "backup-test"


def test_the_bucket_holds_ciphertext_only_and_a_second_run_writes_nothing(do: DoSandbox, bucket: str) -> None:
    preview = run(do, check=True, content=KEYS)
    assert preview["changed"] is True and preview["found"] is False
    assert do.s3().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # check mode wrote nothing
    assert run(do, content=KEYS)["changed"] is True
    stored = do.s3().get_object(Bucket=bucket, Key="backups/sealed-secrets-keys.json.enc")["Body"].read()
    for secret in ("LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t", "sealed-secrets-keyabcde", "tls.key"):
        assert secret.encode() not in stored
    assert json.loads(stored)["format"] == "doks.gitops/aes-256-gcm+scrypt/v1"
    etag = do.s3().head_object(Bucket=bucket, Key="backups/sealed-secrets-keys.json.enc")["ETag"]
    assert run(do, content=KEYS)["changed"] is False
    assert do.s3().head_object(Bucket=bucket, Key="backups/sealed-secrets-keys.json.enc")["ETag"] == etag
    back = run(do, state="read")
    assert back["found"] is True and back["content"] == KEYS
    assert PASSPHRASE not in json.dumps(back)


def test_a_wrong_passphrase_fails_and_never_overwrites(do: DoSandbox, bucket: str) -> None:
    run(do, content=KEYS)
    before = do.s3().get_object(Bucket=bucket, Key="backups/sealed-secrets-keys.json.enc")["Body"].read()
    result = run(do, passphrase="another passphrase of length", content=[])
    assert result["failed"] is True
    assert "does not decrypt with this passphrase" in result["msg"]
    assert do.s3().get_object(Bucket=bucket, Key="backups/sealed-secrets-keys.json.enc")["Body"].read() == before


def test_a_copy_under_another_name_does_not_decrypt(do: DoSandbox, bucket: str) -> None:
    run(do, content=KEYS)
    do.s3().copy_object(
        Bucket=bucket,
        Key="elsewhere.enc",
        CopySource={"Bucket": bucket, "Key": "backups/sealed-secrets-keys.json.enc"},
    )
    assert run(do, key="elsewhere.enc", state="read")["failed"] is True


def test_missing_object_reads_as_not_found(do: DoSandbox, bucket: str) -> None:
    result = run(do, state="read")
    assert (result["found"], result["content"], result["changed"]) == (False, None, False)
