"""Container image references, by the grammar of the OCI distribution reference.

The grammar is distribution/reference's (``regexp.go``, the one containerd, the kubelet and
Docker parse ``image:`` with)::

    reference      := name [ ":" tag ] [ "@" digest ]
    name           := [domain '/'] remote-name
    domain         := host [':' port-number]
    remote-name    := path-component ['/' path-component]*
    path-component := alpha-numeric [separator alpha-numeric]*
    alpha-numeric  := /[a-z0-9]+/
    separator      := /[_.]|__|[-]+/
    tag            := /[\\w][\\w.-]{0,127}/
    digest         := algorithm ":" encoded   (sha256: exactly 64 lower-case hex digits)

A name is at most 255 characters. ``tag@digest`` is valid: the digest decides what is pulled and
the tag is kept for readers. A name without a domain is Docker Hub's (``docker.io``), and a
single path component there is an official image (``library/<name>``); that is how the runtime
reports the repository of a pulled image (``imageID`` is ``<repository>@<digest>``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
REFERENCE = re.compile(rf"^(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")
SHA256_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
NAME_MAX = 255


class Reference(NamedTuple):
    name: str
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """The fully qualified repository (``docker.io/library/python`` for ``python``)."""
        first, _, rest = self.name.partition("/")
        if not rest:
            return f"docker.io/library/{self.name}"
        if "." in first or ":" in first or first == "localhost" or first != first.lower():
            return self.name
        return f"docker.io/{self.name}"


def parse(reference: str) -> Reference | None:
    """The parts of ``reference``, or None when the grammar refuses it (the kubelet's InvalidImageName)."""
    match = REFERENCE.match(reference) if isinstance(reference, str) else None
    if not match or len(match["name"]) > NAME_MAX:
        return None
    digest = match["digest"]
    if digest and digest.startswith("sha256:") and not SHA256_DIGEST.match(digest):
        return None
    return Reference(match["name"], match["tag"], digest)


def is_pinned(reference: str) -> bool:
    """A valid reference that names its content by a sha256 digest."""
    ref = parse(reference)
    return ref is not None and ref.digest is not None and SHA256_DIGEST.match(ref.digest) is not None
