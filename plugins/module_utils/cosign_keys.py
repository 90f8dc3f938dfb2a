# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cosign key pairs in the format Tekton Chains reads from its ``signing-secrets`` Secret.

The format is cosign's, as Tekton Chains v0.29.2 vendors it (``github.com/sigstore/cosign/v2
v2.6.5``, ``pkg/cosign/keys.go``: ``GenerateKeyPair`` / ``marshalKeyPair`` / ``LoadPrivateKey``;
``github.com/secure-systems-lab/go-securesystemslib v0.11.0``, ``encrypted/encrypted.go``):

* the private key is an ECDSA P-256 key (``GeneratePrivateKey``: the default algorithm
  ``PKIX_ECDSA_P256_SHA_256``), marshalled as PKCS#8 DER (``x509.MarshalPKCS8PrivateKey``);
* the DER is encrypted with the password (``encrypted.Encrypt``, ``Standard`` KDF strength):
  scrypt with a random 32-byte salt and N=65536, r=8, p=1 derives a 32-byte key, NaCl
  ``secretbox`` (XSalsa20-Poly1305) with a random 24-byte nonce seals the DER; the result is the
  JSON ``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name":
  "nacl/secretbox", "nonce"}, "ciphertext"}`` with byte fields in standard base64 (Go's
  ``encoding/json`` for ``[]byte``), the ciphertext being secretbox's tag followed by the sealed bytes;
* that JSON is the body of a PEM block of type ``ENCRYPTED SIGSTORE PRIVATE KEY``
  (``SigstorePrivateKeyPemType``) - ``cosign.key``;
* the public key is PKIX DER in a ``PUBLIC KEY`` PEM block (``cryptoutils.MarshalPublicKeyToPEM``)
  - ``cosign.pub``; the password is ``cosign.password``.

Chains' x509 signer reads ``cosign.key`` and ``cosign.password`` from the mounted Secret
(tektoncd/chains v0.29.2 ``pkg/chains/signing/x509/x509.go``) and decrypts them with
``LoadPrivateKey``, which accepts only the scrypt parameter sets of ``CheckParams``.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from typing import Any, Dict, NamedTuple, Optional

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    HAS_CRYPTOGRAPHY = True
except ImportError:  # reported by the module with missing_required_lib
    HAS_CRYPTOGRAPHY = False

try:
    from nacl.exceptions import CryptoError
    from nacl.secret import SecretBox

    HAS_NACL = True
except ImportError:
    HAS_NACL = False

PRIVATE_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
# cosign also reads keys written by its older versions under this type (LoadPrivateKey).
LEGACY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
SALT_SIZE = 32
NONCE_SIZE = 24
BOX_KEY_SIZE = 32
# encrypted.go: Standard (the default of Encrypt), and the two other sets CheckParams accepts.
STANDARD_PARAMS = {"N": 65536, "r": 8, "p": 1}
ACCEPTED_PARAMS = ({"N": 32768, "r": 8, "p": 1}, STANDARD_PARAMS, {"N": 131072, "r": 8, "p": 1})
PASSWORD_ALPHABET = string.ascii_letters + string.digits
# Secret data keys Chains reads (cosign.key, cosign.password) and the public key next to them.
KEY, PASSWORD, PUBLIC = "cosign.key", "cosign.password", "cosign.pub"


class KeyPair(NamedTuple):
    private_pem: bytes
    public_pem: bytes
    password: bytes


class KeyFormatError(ValueError):
    """cosign.key is not a key cosign (and so Chains) can load with the password given."""


def new_password(length: int = 32) -> bytes:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _position in range(length)).encode()


def _scrypt_key(password: bytes, salt: bytes, params: Dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=BOX_KEY_SIZE, n=params["N"], r=params["r"], p=params["p"]).derive(password)


def _pem(block_type: str, body: bytes) -> bytes:
    """A PEM block as Go's ``pem.EncodeToMemory`` writes it (64-character lines)."""
    text = base64.b64encode(body).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN %s-----\n%s\n-----END %s-----\n" % (block_type, "\n".join(lines), block_type)).encode()


def _unpem(data: bytes) -> tuple[str, bytes]:
    text = data.decode("ascii", "replace").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("-----BEGIN ") or not lines[-1].startswith("-----END "):
        raise KeyFormatError("cosign.key is not a PEM block")
    block_type = lines[0][len("-----BEGIN ") : -len("-----")]
    try:
        return block_type, base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError as e:
        raise KeyFormatError("cosign.key holds no valid base64") from e


def public_pem(private_key: Any) -> bytes:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _pem("PUBLIC KEY", der)


def encrypt(plaintext: bytes, password: bytes) -> bytes:
    """``encrypted.Encrypt``: the JSON envelope of ``plaintext`` sealed under ``password``."""
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    sealed = SecretBox(_scrypt_key(password, salt, STANDARD_PARAMS)).encrypt(plaintext, nonce).ciphertext
    envelope = {
        "kdf": {"name": "scrypt", "params": STANDARD_PARAMS, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def generate(password: Optional[bytes] = None) -> KeyPair:
    """``cosign.GenerateKeyPair``: a new P-256 key, encrypted under ``password`` (a new random one if None)."""
    password = new_password() if password is None else password
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return KeyPair(_pem(PRIVATE_PEM_TYPE, encrypt(der, password)), public_pem(key), password)


def load_private_key(private_pem: bytes, password: bytes) -> Any:
    """``cosign.LoadPrivateKey``: decrypt ``cosign.key`` with ``password``; raises KeyFormatError."""
    block_type, body = _unpem(private_pem)
    if block_type not in (PRIVATE_PEM_TYPE, LEGACY_PEM_TYPE):
        raise KeyFormatError("cosign.key has PEM type %r, not %r" % (block_type, PRIVATE_PEM_TYPE))
    try:
        envelope = json.loads(body)
        kdf, cipher = envelope["kdf"], envelope["cipher"]
        params = {k: int(kdf["params"][k]) for k in ("N", "r", "p")}
        salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
        sealed = base64.b64decode(envelope["ciphertext"])
    except (ValueError, KeyError, TypeError) as e:
        raise KeyFormatError("cosign.key is not a securesystemslib encrypted envelope") from e
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
        raise KeyFormatError("cosign.key uses kdf %r / cipher %r" % (kdf.get("name"), cipher.get("name")))
    if params not in ACCEPTED_PARAMS or len(nonce) != NONCE_SIZE:
        raise KeyFormatError("cosign.key has scrypt parameters or a nonce cosign refuses")
    try:
        der = SecretBox(_scrypt_key(password, salt, params)).decrypt(sealed, nonce)
    except CryptoError as e:
        raise KeyFormatError("cosign.password does not decrypt cosign.key") from e
    try:
        return serialization.load_der_private_key(der, password=None)
    except ValueError as e:
        raise KeyFormatError("cosign.key does not hold a PKCS#8 private key") from e


class Outcome(NamedTuple):
    """What the Secret needs: ``action`` keep, create, fill (no key yet), rotate, or publish (a
    missing or wrong cosign.pub set from the key); ``data`` the Secret data keys to write (base64
    values, empty for keep); ``public_pem`` the public key the Secret holds afterwards."""

    action: str
    data: Dict[str, str]
    public_pem: bytes


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def reconcile(data: Optional[Dict[str, str]], rotate: bool = False) -> Outcome:
    """Decide what the Secret (``data``: its base64 data, None when it does not exist) needs.

    A Secret that holds cosign.key keeps it (create once); only ``rotate`` replaces it. The kept
    key must decrypt with cosign.password (else KeyFormatError: Chains could not sign with it
    either), and cosign.pub is set from it when missing or different.
    """
    if data is None or rotate or not data.get(KEY):
        pair = generate()
        action = "create" if data is None else ("rotate" if data.get(KEY) else "fill")
        written = {KEY: _b64(pair.private_pem), PASSWORD: _b64(pair.password), PUBLIC: _b64(pair.public_pem)}
        return Outcome(action, written, pair.public_pem)
    try:
        private_pem = base64.b64decode(data[KEY])
        password = base64.b64decode(data.get(PASSWORD) or "")
        current_pub = base64.b64decode(data.get(PUBLIC) or "")
    except ValueError as e:
        raise KeyFormatError("the Secret's data is not base64") from e
    derived = public_pem(load_private_key(private_pem, password))
    if current_pub.strip() == derived.strip():
        return Outcome("keep", {}, current_pub)
    return Outcome("publish", {PUBLIC: _b64(derived)}, derived)
