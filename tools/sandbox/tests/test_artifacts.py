"""Contract test of the artifact server with the real clients: helm and urllib over the sandbox CA."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
import tarfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sandbox_tools import CHARTS, RELEASES, TOOLS

from sandbox import client
from sandbox.artifacts import ChartRepository

HELM = str(TOOLS / "helm")
STANDINS = {
    meta["name"]: str(meta["version"])
    for meta in (yaml.safe_load(p.read_text()) for p in sorted(CHARTS.glob("*/Chart.yaml")))
}
PIPELINE = "tekton-releases/pipeline/previous/v1.15.0/release.yaml"

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A sandbox of its own (the shared session fixture may replace this one)."""
    state = tmp_path_factory.mktemp("sandbox-artifacts")
    box = client.Sandbox.start(state)
    yield {"state": state, "ca": state / "ca.crt", **box.endpoints["artifacts"]}
    box.stop()


@pytest.fixture(scope="module")
def helm(sandbox: dict, tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("helm-home")
    env = {
        **os.environ,
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
    }

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([HELM, *args], env=env, capture_output=True, text=True, check=False, timeout=120)

    added = run("repo", "add", "sandbox", sandbox["charts"], "--ca-file", str(sandbox["ca"]))
    assert added.returncode == 0, added.stderr
    return run


def _get(url: str, ca: Path, method: str = "GET", headers: dict | None = None):
    request = urllib.request.Request(url, method=method, headers=headers or {})
    context = ssl.create_default_context(cafile=str(ca))
    return urllib.request.urlopen(request, context=context, timeout=30)


def test_endpoint_document(sandbox: dict) -> None:
    assert sandbox["charts"] == sandbox["url"] + "/charts"
    assert sandbox["releases"] == sandbox["url"] + "/releases"
    assert sandbox["url"].startswith("https://127.0.0.1:")


def test_sources_are_the_files_served(sandbox: dict) -> None:
    """``sources`` (what molecule's ``sandbox_fixtures`` reads) names the directories the server
    serves from: a release file there is byte for byte the one served, a chart's CRD is there."""
    sources = sandbox["sources"]
    assert (Path(sources["charts"]), Path(sources["releases"])) == (CHARTS.resolve(), RELEASES.resolve())
    with _get(f"{sandbox['releases']}/{PIPELINE}", sandbox["ca"]) as resp:
        assert resp.read() == (Path(sources["releases"]) / PIPELINE).read_bytes()
    crd = Path(sources["charts"]) / "kube-prometheus-stack" / "crds" / "servicemonitors.monitoring.coreos.com.yaml"
    assert yaml.safe_load(crd.read_text())["kind"] == "CustomResourceDefinition"


def test_helm_search_finds_every_standin_at_its_pinned_version(helm) -> None:
    updated = helm("repo", "update", "sandbox")
    assert updated.returncode == 0, updated.stderr
    found = helm("search", "repo", "sandbox/", "--versions", "-o", "json")
    assert found.returncode == 0, found.stderr
    listed = {item["name"].removeprefix("sandbox/"): item["version"] for item in json.loads(found.stdout)}
    assert listed == STANDINS
    assert len(listed) == 13


def test_index_lists_digests_that_match_the_packages(sandbox: dict) -> None:
    with _get(sandbox["charts"] + "/index.yaml", sandbox["ca"]) as resp:
        assert resp.headers["Content-Type"] == "application/x-yaml"
        index = yaml.safe_load(resp.read())
    assert index["apiVersion"] == "v1"
    for name, version in STANDINS.items():
        (entry,) = index["entries"][name]
        assert entry["version"] == version
        assert entry["apiVersion"] == "v2"
        assert "sandbox stand-in" in entry["description"].lower()
        assert entry["created"] and entry["appVersion"]
        with _get(entry["urls"][0], sandbox["ca"]) as resp:
            body = resp.read()
            assert resp.headers["Content-Type"] == "application/gzip"
            assert int(resp.headers["Content-Length"]) == len(body)
        assert hashlib.sha256(body).hexdigest() == entry["digest"]


def test_helm_pull_and_template_a_standin(helm, sandbox: dict, tmp_path: Path) -> None:
    assert helm("repo", "update", "sandbox").returncode == 0
    pulled = helm("pull", "sandbox/traefik", "--version", STANDINS["traefik"], "-d", str(tmp_path))
    assert pulled.returncode == 0, pulled.stderr
    tgz = tmp_path / f"traefik-{STANDINS['traefik']}.tgz"
    with tarfile.open(tgz) as tar:
        names = tar.getnames()
    assert "traefik/Chart.yaml" in names
    assert all(n.startswith("traefik/") for n in names)
    rendered = helm("template", "traefik", str(tgz), "--namespace", "traefik")
    assert rendered.returncode == 0, rendered.stderr
    kinds = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(rendered.stdout) if d}
    assert ("Deployment", "traefik") in kinds
    assert ("Service", "traefik") in kinds
    # the chart is fetched straight from the repository too (helm install's code path)
    direct = helm("template", "cm", "sandbox/cert-manager", "--version", STANDINS["cert-manager"], "-n", "cm")
    assert direct.returncode == 0, direct.stderr
    assert "name: cm-cert-manager-webhook" in direct.stdout


def test_release_manifest_is_served_with_headers(sandbox: dict) -> None:
    source = (RELEASES / PIPELINE).read_bytes()
    with _get(f"{sandbox['releases']}/{PIPELINE}", sandbox["ca"]) as resp:
        body = resp.read()
        headers = resp.headers
    assert body == source
    assert headers["Content-Type"] == "application/x-yaml"
    assert int(headers["Content-Length"]) == len(source)
    assert headers["ETag"] == '"' + hashlib.sha256(source).hexdigest() + '"'
    assert headers["Last-Modified"].endswith("GMT")
    kinds = [d["kind"] for d in yaml.safe_load_all(body) if d]
    assert kinds.count("CustomResourceDefinition") == 7
    with _get(f"{sandbox['releases']}/{PIPELINE}", sandbox["ca"], method="HEAD") as resp:
        assert resp.read() == b""
        assert int(resp.headers["Content-Length"]) == len(source)
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        _get(f"{sandbox['releases']}/{PIPELINE}", sandbox["ca"], headers={"If-None-Match": headers["ETag"]})
    assert not_modified.value.code == 304


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/releases/tekton-releases/pipeline/previous/v0.0.1/release.yaml", "GET", 404),
        ("/charts/nothing-1.0.0.tgz", "GET", 404),
        ("/charts/nothing-1.0.0.tgz", "HEAD", 404),
        ("/releases/../artifacts.py", "GET", 404),
        ("/releases/%2e%2e/artifacts.py", "GET", 404),
        ("/charts/../../ca.key", "GET", 404),
        ("/", "GET", 404),
        ("/charts/index.yaml", "POST", 405),
    ],
)
def test_anything_else_is_refused(sandbox: dict, path: str, method: str, status: int) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(sandbox["url"] + path, sandbox["ca"], method=method)
    assert refused.value.code == status


def test_request_log_counts_downloads(sandbox: dict) -> None:
    with _get(sandbox["url"] + "/_sandbox/requests", sandbox["ca"]) as resp:
        before = len(json.loads(resp.read()))
    with _get(f"{sandbox['releases']}/{PIPELINE}", sandbox["ca"]) as resp:
        resp.read()
    with _get(sandbox["url"] + "/_sandbox/requests", sandbox["ca"]) as resp:
        log = json.loads(resp.read())
    assert len(log) == before + 1
    assert log[-1]["path"] == f"/releases/{PIPELINE}"
    assert log[-1]["status"] == 200


def test_packaging_is_deterministic_and_cached(tmp_path: Path) -> None:
    first = ChartRepository(CHARTS, tmp_path / "a")
    first.build()
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").glob("*.tgz")}
    assert len(stamps) == len(STANDINS)
    again = ChartRepository(CHARTS, tmp_path / "a")
    again.build()
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "a").glob("*.tgz")} == stamps
    other = ChartRepository(CHARTS, tmp_path / "b")
    other.build()
    assert [c["digest"] for c in first.charts] == [c["digest"] for c in other.charts]
    assert first.index("https://x/charts") == other.index("https://x/charts")


def test_a_changed_source_is_repackaged(tmp_path: Path) -> None:
    source = tmp_path / "src" / "demo"
    (source / "templates").mkdir(parents=True)
    (source / "Chart.yaml").write_text("apiVersion: v2\nname: demo\nversion: 1.0.0\n")
    (source / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    repo = ChartRepository(tmp_path / "src", tmp_path / "out")
    repo.build()
    before = repo.charts[0]["digest"]
    (source / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")
    repo = ChartRepository(tmp_path / "src", tmp_path / "out")
    repo.build()
    assert repo.charts[0]["digest"] != before
    with tarfile.open(tmp_path / "out" / "demo-1.0.0.tgz") as tar:
        member = tar.extractfile("demo/templates/cm.yaml")
        assert member is not None
        assert b"name: b" in member.read()
