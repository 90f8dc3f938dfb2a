"""Artifact server: a Helm chart repository of the sandbox stand-ins and the release manifests.

Chart sources live in ``sandbox/charts/<name>/``; at start each is packaged the way
``helm package`` lays it out (a gzip tar whose entries all sit under ``<name>/``) into
``<state>/artifacts/charts/<name>-<version>.tgz`` and listed in a repository ``index.yaml``.
Packaging is deterministic (sorted entries, fixed owner, mode and time) and cached by the
sha256 of the source tree, so a restart repackages nothing that did not change.

Routes (GET and HEAD; anything else is 405, any other path 404):

* ``/charts/index.yaml`` — the Helm repository index (``apiVersion: v1``);
* ``/charts/<name>-<version>.tgz`` — a packaged chart;
* ``/releases/<path>`` — a file under ``sandbox/releases/``, laid out like the upstream host
  (``/releases/tekton-releases/pipeline/previous/v1.15.0/release.yaml`` stands in for
  ``https://infra.tekton.dev/tekton-releases/pipeline/previous/v1.15.0/release.yaml``).

The endpoint entry (``endpoints.json``) publishes ``sources`` (``charts`` and ``releases``: the
directories the artifacts come from, for clients that read a stand-in's file directly) and
``release_sha256``: per top directory of
``sandbox/releases/`` (``tekton-releases``), the sha256 of every file keyed by its path below it,
which inventories/sandbox pins as ``tekton_release_sha256``. The stand-ins differ from the real
release files, so their checksums are the sandbox's own: the tekton role's defaults pin nothing,
and a cache entry is keyed by URL and checksum, so a stand-in never serves a production run.

Responses carry ``Content-Type``, ``Content-Length``, a strong ``ETag`` (sha256 of the body)
and ``Last-Modified``; ``If-None-Match`` is answered with 304.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from sandbox import CHARTS, RELEASES
from sandbox.server import Context, Emulator, Request, Response

CHARTS_SOURCE = CHARTS
RELEASES_SOURCE = RELEASES
# Every packaged file and index entry carries this time, so packages are byte-identical
# across machines and restarts (the digest in index.yaml never changes for the same source).
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
YAML_TYPE = "application/x-yaml"
TGZ_TYPE = "application/gzip"
TEXT_TYPE = "text/plain; charset=utf-8"
IGNORED_NAMES = {".helmignore", ".DS_Store", "__pycache__"}


@dataclass(frozen=True)
class Artifact:
    body: bytes
    content_type: str
    modified: dt.datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest() + '"'


def _chart_files(source: Path) -> list[Path]:
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not any(part in IGNORED_NAMES or part.endswith("~") for part in rel.parts):
            files.append(path)
    return files


def source_hash(source: Path) -> str:
    """sha256 over the relative names and contents of a chart source tree."""
    digest = hashlib.sha256()
    for path in _chart_files(source):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_chart(source: Path, name: str) -> bytes:
    """A deterministic ``helm package`` equivalent: gzip tar with every entry under ``<name>/``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in _chart_files(source):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{name}/{path.relative_to(source).as_posix()}")
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(EPOCH.timestamp())
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=int(EPOCH.timestamp())) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def load_chart_meta(source: Path) -> dict[str, Any]:
    meta = yaml.safe_load((source / "Chart.yaml").read_text())
    for key in ("apiVersion", "name", "version"):
        if not meta.get(key):
            raise ValueError(f"{source}/Chart.yaml has no {key}")
    if meta["name"] != source.name:
        raise ValueError(f"{source}/Chart.yaml names the chart {meta['name']!r}, not {source.name!r}")
    return meta


class ChartRepository:
    """Packages every chart source into ``target`` and builds the repository index."""

    def __init__(self, source: Path, target: Path) -> None:
        self.source = source
        self.target = target
        self.charts: list[dict[str, Any]] = []

    def build(self) -> None:
        self.target.mkdir(parents=True, exist_ok=True)
        cache_file = self.target / "cache.json"
        cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}
        wanted = set()
        for chart_dir in sorted(p for p in self.source.iterdir() if (p / "Chart.yaml").is_file()):
            meta = load_chart_meta(chart_dir)
            filename = f"{meta['name']}-{meta['version']}.tgz"
            wanted.add(filename)
            tgz = self.target / filename
            content = source_hash(chart_dir)
            if cache.get(filename) != content or not tgz.exists():
                tgz.write_bytes(package_chart(chart_dir, meta["name"]))
                cache[filename] = content
            digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
            self.charts.append({**meta, "digest": digest, "filename": filename})
        for stale in self.target.glob("*.tgz"):
            if stale.name not in wanted:
                stale.unlink()
        cache = {k: v for k, v in cache.items() if k in wanted}
        cache_file.write_text(json.dumps(cache, indent=2, sort_keys=True))

    def index(self, base_url: str) -> bytes:
        """The repository ``index.yaml`` with absolute chart URLs under ``base_url``."""
        created = EPOCH.isoformat().replace("+00:00", "Z")
        entries: dict[str, list[dict[str, Any]]] = {}
        keys = ("apiVersion", "name", "version", "appVersion", "description", "type", "kubeVersion", "keywords")
        for chart in self.charts:
            entry = {k: chart[k] for k in keys if chart.get(k) is not None}
            entry.update({"created": created, "digest": chart["digest"], "urls": [f"{base_url}/{chart['filename']}"]})
            entries.setdefault(chart["name"], []).append(entry)
        doc = {"apiVersion": "v1", "entries": entries, "generated": created}
        return yaml.safe_dump(doc, sort_keys=True).encode()


def release_checksums(root: Path) -> dict[str, dict[str, str]]:
    """``{top directory: {path below it: sha256}}`` of every file served under ``/releases/``."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).parts
        if len(rel) < 2 or any(part.startswith(".") for part in rel):
            continue
        out.setdefault(rel[0], {})["/".join(rel[1:])] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class ArtifactServer(Emulator):
    """Serves the stand-in chart repository and the release manifests."""

    name = "artifacts"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        state = Path(ctx.endpoints.get("state_dir") or ctx.store.path.parent)
        self.charts_source = Path(ctx.settings.get("charts_dir") or CHARTS_SOURCE)
        self.releases_source = Path(ctx.settings.get("releases_dir") or RELEASES_SOURCE).resolve()
        self.repo = ChartRepository(self.charts_source, state / "artifacts" / "charts")
        self.repo.build()
        self.started = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.index_body = self.repo.index("")

    def endpoint(self, base_url: str) -> dict[str, Any]:
        self.index_body = self.repo.index(f"{base_url}/charts")
        return {
            "url": base_url,
            "charts": f"{base_url}/charts",
            "releases": f"{base_url}/releases",
            "release_sha256": release_checksums(self.releases_source),
            # the same stand-ins as files on this machine (a scenario applies a CRD of a chart
            # another role would install, or a release manifest, straight from them)
            "sources": {"charts": str(self.charts_source.resolve()), "releases": str(self.releases_source)},
        }

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, f"{status} {message}\n", content_type=TEXT_TYPE)

    def reset(self) -> None:
        """Nothing to wipe: the artifacts are the project's sources, not emulator state."""

    def handle(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            response = self.error(405, "method not allowed")
            response.headers["Allow"] = "GET, HEAD"
            return response
        artifact = self._lookup(request.path)
        if artifact is None:
            return self.error(404, "not found")
        headers = {
            "ETag": artifact.etag,
            "Last-Modified": email.utils.format_datetime(artifact.modified, usegmt=True),
        }
        if artifact.etag in [t.strip() for t in (request.headers.get("If-None-Match") or "").split(",")]:
            return Response(304, None, headers=headers, content_type=artifact.content_type)
        return Response(200, artifact.body, headers=headers, content_type=artifact.content_type)

    def _lookup(self, path: str) -> Artifact | None:
        if path == "/charts/index.yaml":
            return Artifact(self.index_body, YAML_TYPE, self.started)
        if path.startswith("/charts/"):
            name = path.removeprefix("/charts/")
            if "/" in name or not name.endswith(".tgz"):
                return None
            return self._file(self.repo.target, name, TGZ_TYPE)
        if path.startswith("/releases/"):
            return self._file(self.releases_source, path.removeprefix("/releases/"), None)
        return None

    @staticmethod
    def _file(root: Path, rel: str, content_type: str | None) -> Artifact | None:
        parts = PurePosixPath(rel).parts
        if not parts or any(p in {"..", "."} or p.startswith(".") for p in parts):
            return None
        path = root.joinpath(*parts)
        if not path.is_file():
            return None
        if content_type is None:
            content_type = YAML_TYPE if path.suffix in {".yaml", ".yml"} else "application/octet-stream"
        modified = dt.datetime.fromtimestamp(int(path.stat().st_mtime), dt.UTC)
        return Artifact(path.read_bytes(), content_type, modified)
