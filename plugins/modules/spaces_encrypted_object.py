#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: spaces_encrypted_object
short_description: Keep a JSON document encrypted in a DigitalOcean Spaces bucket, or read it back
version_added: 0.1.0
description:
  - Stores O(content) (any JSON value) as one object of a Spaces (S3 API) bucket, encrypted with
    AES-256-GCM under a key derived from O(passphrase) (scrypt, a fresh salt and nonce per write;
    the bucket and object key are bound as associated data, so a copy under another name does not
    decrypt). The bucket never sees the plaintext.
  - With O(state=present) the object is read and decrypted first; it is written only when its
    content differs (a second run makes no write). Check mode writes nothing.
  - With O(state=read) the object is decrypted and returned as RV(content) (register the result
    with C(no_log)); a missing object returns RV(found) false.
  - An object that does not decrypt with O(passphrase) fails the run (it is never overwritten).
author:
  - doks.gitops maintainers (@doks-gitops)
attributes:
  check_mode:
    support: full
    description: Reads, compares and reports; never writes.
  diff_mode:
    support: none
    description: The content is secret; only the result's C(changed) tells a difference.
options:
  endpoint:
    description: S3 endpoint of Spaces, for example V(https://fra1.digitaloceanspaces.com).
    type: str
    required: true
  region:
    description: Region of the bucket.
    type: str
    required: true
  bucket:
    description: Bucket name.
    type: str
    required: true
  key:
    description: Object key.
    type: str
    required: true
  access_key_id:
    description: Spaces access key id.
    type: str
    required: true
  secret_access_key:
    description: Spaces secret key (never logged).
    type: str
    required: true
  passphrase:
    description: Passphrase the encryption key is derived from (at least 16 characters; never logged).
    type: str
    required: true
  state:
    description: V(present) keeps O(content) stored; V(read) returns what is stored.
    type: str
    choices: [present, read]
    default: present
  content:
    description: The JSON value to keep (with O(state=present)).
    type: raw
  ca_path:
    description: CA bundle to trust for the endpoint; empty uses the system trust store.
    type: path
requirements:
  - boto3
  - cryptography
"""

EXAMPLES = r"""
- name: Back up the sealed-secrets keys, encrypted
  doks.gitops.spaces_encrypted_object:
    endpoint: https://fra1.digitaloceanspaces.com
    region: fra1
    bucket: c1-logs
    key: backups/sealed-secrets-keys.json.enc
    access_key_id: "{{ lookup('ansible.builtin.env', 'SPACES_ACCESS_KEY_ID') }}"
    secret_access_key: "{{ lookup('ansible.builtin.env', 'SPACES_SECRET_ACCESS_KEY') }}"
    passphrase: "{{ lookup('ansible.builtin.env', 'SEALED_SECRETS_BACKUP_PASSPHRASE') }}"
    content: "{{ keys }}"
  no_log: true
"""

RETURN = r"""
found:
  description: Whether the object existed before the run.
  returned: always
  type: bool
content:
  description: The decrypted content (V(null) when not found).
  returned: when O(state=read)
  type: raw
"""

import base64
import json
import os
from typing import Any

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_BOTO3 = False
try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_CRYPTOGRAPHY = False

FORMAT = "doks.gitops/aes-256-gcm+scrypt/v1"
SCRYPT_N = 2**15
MIN_PASSPHRASE = 16


class BackupError(Exception):
    pass


def _derive(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=8, p=1).derive(passphrase.encode())


def encrypt(content: Any, passphrase: str, aad: str) -> bytes:
    """The envelope (JSON) of ``content`` encrypted with a key derived from ``passphrase``."""
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    sealed = AESGCM(_derive(passphrase, salt)).encrypt(nonce, plain, aad.encode())
    envelope = {
        "format": FORMAT,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(envelope, sort_keys=True).encode()


def decrypt(blob: bytes, passphrase: str, aad: str) -> Any:
    try:
        envelope = json.loads(blob)
        if envelope.get("format") != FORMAT:
            raise BackupError(f"the object is not a {FORMAT} envelope")
        salt, nonce, sealed = (base64.b64decode(envelope[k]) for k in ("salt", "nonce", "ciphertext"))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"the object is not a {FORMAT} envelope ({exc.__class__.__name__})") from None
    try:
        plain = AESGCM(_derive(passphrase, salt)).decrypt(nonce, sealed, aad.encode())
    except InvalidTag:
        raise BackupError(
            "the object does not decrypt with this passphrase (or was altered); it is left as it is"
        ) from None
    return json.loads(plain)


def _client(params: dict[str, Any]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=params["endpoint"],
        region_name=params["region"],
        aws_access_key_id=params["access_key_id"],
        aws_secret_access_key=params["secret_access_key"],
        verify=params.get("ca_path") or True,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )


def run(params: dict[str, Any], check: bool) -> dict[str, Any]:
    if len(params["passphrase"] or "") < MIN_PASSPHRASE:
        raise BackupError(f"passphrase must have at least {MIN_PASSPHRASE} characters")
    s3 = _client(params)
    aad = f"{params['bucket']}/{params['key']}"
    try:
        blob: bytes | None = s3.get_object(Bucket=params["bucket"], Key=params["key"])["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
            raise
        blob = None
    current = decrypt(blob, params["passphrase"], aad) if blob is not None else None
    if params["state"] == "read":
        return {"changed": False, "found": blob is not None, "content": current}
    wanted = json.loads(json.dumps(params["content"]))
    if blob is not None and current == wanted:
        return {"changed": False, "found": True}
    if not check:
        s3.put_object(
            Bucket=params["bucket"],
            Key=params["key"],
            Body=encrypt(wanted, params["passphrase"], aad),
            ContentType="application/json",
        )
    return {"changed": True, "found": blob is not None}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "endpoint": {"type": "str", "required": True},
            "region": {"type": "str", "required": True},
            "bucket": {"type": "str", "required": True},
            "key": {"type": "str", "required": True, "no_log": False},
            "access_key_id": {"type": "str", "required": True},
            "secret_access_key": {"type": "str", "required": True, "no_log": True},
            "passphrase": {"type": "str", "required": True, "no_log": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "read"]},
            "content": {"type": "raw"},
            "ca_path": {"type": "path"},
        },
        required_if=[("state", "present", ("content",))],
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"))
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"))
    try:
        result = run(module.params, module.check_mode)
    except BackupError as exc:
        module.fail_json(msg=f"s3://{module.params['bucket']}/{module.params['key']}: {exc}")
    except (ClientError, BotoCoreError) as exc:
        module.fail_json(msg=f"s3://{module.params['bucket']}/{module.params['key']}: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
