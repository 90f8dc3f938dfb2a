"""The Tekton Chains signing key the collection generates is a cosign key Chains can sign with.

The judge decrypts ``cosign.key`` by the format's definition, not with the collection's loader:
the PEM block ``ENCRYPTED SIGSTORE PRIVATE KEY`` holds the JSON envelope of
``github.com/secure-systems-lab/go-securesystemslib`` v0.11.0 ``encrypted/encrypted.go``
(scrypt N=65536 r=8 p=1 with a 32-byte salt, NaCl secretbox with a 24-byte nonce; ``[]byte``
fields in standard base64), sealing the PKCS#8 DER of an ECDSA P-256 key, as
``github.com/sigstore/cosign/v2`` v2.6.5 ``pkg/cosign/keys.go`` ``GenerateKeyPair`` writes it
(the versions Tekton Chains v0.29.2's go.mod requires). scrypt and ECDSA come from
``cryptography`` (OpenSSL), secretbox (XSalsa20-Poly1305, the construction of Go's
``golang.org/x/crypto/nacl/secretbox``) from PyNaCl (libsodium).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.module_utils import cosign_keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox

PAYLOAD = b'{"critical":{"identity":{"docker-reference":"registry.example/app"}}}'


def pem_body(pem: bytes, block_type: str) -> bytes:
    lines = pem.decode().strip().splitlines()
    assert lines[0] == f"-----BEGIN {block_type}-----"
    assert lines[-1] == f"-----END {block_type}-----"
    assert all(len(line) <= 64 for line in lines[1:-1])  # Go's pem.EncodeToMemory line length
    return base64.b64decode("".join(lines[1:-1]), validate=True)


def judge_decrypt(private_pem: bytes, password: bytes) -> Any:
    """Decrypt cosign.key as encrypted.Decrypt + cosign.LoadPrivateKey define it."""
    envelope = json.loads(pem_body(private_pem, "ENCRYPTED SIGSTORE PRIVATE KEY"))
    assert set(envelope) == {"kdf", "cipher", "ciphertext"}
    kdf, cipher = envelope["kdf"], envelope["cipher"]
    assert kdf["name"] == "scrypt" and cipher["name"] == "nacl/secretbox"
    assert kdf["params"] == {"N": 65536, "r": 8, "p": 1}  # Standard, one of CheckParams' sets
    salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
    assert len(salt) == 32 and len(nonce) == 24
    key = Scrypt(salt=salt, length=32, n=65536, r=8, p=1).derive(password)
    der = SecretBox(key).decrypt(base64.b64decode(envelope["ciphertext"]), nonce)
    return serialization.load_der_private_key(der, password=None)


@pytest.fixture(scope="module")
def secret_data() -> dict[str, str]:
    """The Secret data the module writes on a first run (the collection's own code)."""
    outcome = cosign_keys.reconcile(None)
    assert outcome.action == "create"
    assert set(outcome.data) == {"cosign.key", "cosign.password", "cosign.pub"}
    return outcome.data


def decoded(data: dict[str, str], key: str) -> bytes:
    return base64.b64decode(data[key])


def test_the_stored_key_decrypts_with_the_stored_password_into_a_p256_key(secret_data: dict[str, str]) -> None:
    private = judge_decrypt(decoded(secret_data, "cosign.key"), decoded(secret_data, "cosign.password"))
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    assert isinstance(private.curve, ec.SECP256R1)


def test_a_wrong_password_does_not_decrypt(secret_data: dict[str, str]) -> None:
    with pytest.raises(CryptoError):
        judge_decrypt(decoded(secret_data, "cosign.key"), b"not-the-password")


def test_a_signature_of_the_stored_key_verifies_with_the_published_public_key(secret_data: dict[str, str]) -> None:
    private = judge_decrypt(decoded(secret_data, "cosign.key"), decoded(secret_data, "cosign.password"))
    public = serialization.load_pem_public_key(decoded(secret_data, "cosign.pub"))
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    pem_body(decoded(secret_data, "cosign.pub"), "PUBLIC KEY")
    signature = private.sign(PAYLOAD, ec.ECDSA(hashes.SHA256()))
    public.verify(signature, PAYLOAD, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(signature, PAYLOAD + b" ", ec.ECDSA(hashes.SHA256()))


def test_another_keys_signature_does_not_verify(secret_data: dict[str, str]) -> None:
    public = serialization.load_pem_public_key(decoded(secret_data, "cosign.pub"))
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(InvalidSignature):
        public.verify(other.sign(PAYLOAD, ec.ECDSA(hashes.SHA256())), PAYLOAD, ec.ECDSA(hashes.SHA256()))
    second = cosign_keys.reconcile(None).data  # another generated pair: a new key, a new password
    assert decoded(second, "cosign.pub") != decoded(secret_data, "cosign.pub")
    assert decoded(second, "cosign.password") != decoded(secret_data, "cosign.password")
    theirs = judge_decrypt(decoded(second, "cosign.key"), decoded(second, "cosign.password"))
    with pytest.raises(InvalidSignature):
        public.verify(theirs.sign(PAYLOAD, ec.ECDSA(hashes.SHA256())), PAYLOAD, ec.ECDSA(hashes.SHA256()))


def test_a_present_key_is_kept_and_never_regenerated(secret_data: dict[str, str]) -> None:
    outcome = cosign_keys.reconcile(dict(secret_data))
    assert outcome.action == "keep" and outcome.data == {}
    assert outcome.public_pem == decoded(secret_data, "cosign.pub")


def test_rotation_only_on_request(secret_data: dict[str, str]) -> None:
    outcome = cosign_keys.reconcile(dict(secret_data), rotate=True)
    assert outcome.action == "rotate"
    assert outcome.data["cosign.key"] != secret_data["cosign.key"]
    judge_decrypt(decoded(outcome.data, "cosign.key"), decoded(outcome.data, "cosign.password"))


def test_the_empty_secret_of_the_release_is_filled() -> None:
    assert cosign_keys.reconcile({}).action == "fill"


def test_a_missing_or_wrong_public_key_is_set_from_the_kept_key(secret_data: dict[str, str]) -> None:
    other = cosign_keys.reconcile(None).data["cosign.pub"]
    for data in ({k: v for k, v in secret_data.items() if k != "cosign.pub"}, {**secret_data, "cosign.pub": other}):
        outcome = cosign_keys.reconcile(data)
        assert outcome.action == "publish"
        assert outcome.data == {"cosign.pub": secret_data["cosign.pub"]}


def test_a_key_its_password_does_not_open_is_refused_not_replaced(secret_data: dict[str, str]) -> None:
    wrong = {**secret_data, "cosign.password": base64.b64encode(b"wrong").decode()}
    with pytest.raises(cosign_keys.KeyFormatError, match="does not decrypt"):
        cosign_keys.reconcile(wrong)
