"""Contract tests of the git server (sandbox/gitserver.py), driven by the real git CLI.

The sandbox serves ``doks-gitops.git`` (the checkout's ``application/`` directory at the same paths)
over HTTPS with git's smart-HTTP protocol (``git http-backend``), read-only: ``git ls-remote`` and
``git clone`` succeed with the sandbox CA (``GIT_SSL_CAINFO``), a push is refused with 403 (http-backend
refuses ``git-receive-pack`` when ``http.receivepack`` is false, git-http-backend(1) "SERVICES").
"""

from __future__ import annotations

import base64
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sandbox_tools import REPO

from sandbox import gitserver


def _git(
    env: dict[str, str], *args: str, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


@pytest.fixture
def git_env(sandbox_endpoints: dict[str, Any], tmp_path: Path) -> dict[str, str]:
    return gitserver.git_env(HOME=str(tmp_path), GIT_SSL_CAINFO=sandbox_endpoints["ca_file"])


def test_ls_remote_and_clone_over_https(
    sandbox_endpoints: dict[str, Any], git_env: dict[str, str], tmp_path: Path
) -> None:
    git = sandbox_endpoints["git"]
    url = git["doks_gitops"]
    assert url.startswith("https://127.0.0.1:") and url.endswith("/doks-gitops.git")
    refs = dict(line.split("\t")[::-1] for line in _git(git_env, "ls-remote", url).stdout.splitlines())
    assert refs == {"HEAD": git["doks_gitops_revision"], "refs/heads/main": git["doks_gitops_revision"]}

    _git(git_env, "clone", "--quiet", url, str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    assert _git(git_env, "rev-parse", "HEAD", cwd=clone).stdout.strip() == git["doks_gitops_revision"]
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == ["application"]
    for rel in ("application/argocd/Chart.yaml", "application/deployment/environments/sandbox/values.yaml"):
        assert (clone / rel).read_bytes() == (REPO / rel).read_bytes()
    tracked = _git(git_env, "ls-files", cwd=clone).stdout.splitlines()
    assert tracked and not [p for p in tracked if "__pycache__" in p or p.endswith(".pyc")]


def test_tls_is_checked(sandbox_endpoints: dict[str, Any], tmp_path: Path) -> None:
    """Without the sandbox CA the real client refuses the server's certificate."""
    env = gitserver.git_env(HOME=str(tmp_path), GIT_SSL_CAINFO=str(tmp_path / "empty.pem"))
    (tmp_path / "empty.pem").write_text("")
    done = _git(env, "ls-remote", sandbox_endpoints["git"]["doks_gitops"], check=False)
    assert done.returncode == 128
    assert "SSL" in done.stderr or "certificate" in done.stderr


def test_push_is_refused(sandbox_endpoints: dict[str, Any], git_env: dict[str, str], tmp_path: Path) -> None:
    git = sandbox_endpoints["git"]
    clone = tmp_path / "clone"
    _git(git_env, "clone", "--quiet", git["doks_gitops"], str(clone))
    (clone / "application" / "pushed.txt").write_text("no\n")
    _git(git_env, "add", "-A", cwd=clone)
    _git(git_env, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "push", cwd=clone)
    done = _git(git_env, "push", "origin", "HEAD:main", cwd=clone, check=False)
    assert done.returncode == 128
    assert "The requested URL returned error: 403" in done.stderr
    head = _git(git_env, "ls-remote", git["doks_gitops"], "refs/heads/main").stdout.split("\t")[0]
    assert head == git["doks_gitops_revision"]


def test_unknown_repository_and_methods(sandbox_endpoints: dict[str, Any], git_env: dict[str, str]) -> None:
    base = sandbox_endpoints["git"]["url"]
    done = _git(git_env, "ls-remote", f"{base}/nope.git", check=False)
    assert done.returncode == 128
    assert f"repository '{base}/nope.git/' not found" in done.stderr
    context = ssl.create_default_context(cafile=sandbox_endpoints["ca_file"])
    request = urllib.request.Request(f"{base}/doks-gitops.git/info/refs", method="PUT", data=b"")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert caught.value.code == 405


def test_build_is_deterministic(tmp_path: Path) -> None:
    """The same content gives the same commit SHA in any repository; a change gives another root commit."""
    source = tmp_path / "src"
    (source / "application" / "chart").mkdir(parents=True)
    (source / "application" / "chart" / "Chart.yaml").write_text("name: a\n")
    first = gitserver.build_repository(tmp_path / "one.git", source)
    assert gitserver.build_repository(tmp_path / "two.git", source) == first
    assert gitserver.build_repository(tmp_path / "one.git", source) == first
    (source / "application" / "chart" / "values.yaml").write_text("a: 1\n")
    second = gitserver.build_repository(tmp_path / "one.git", source)
    assert second != first
    env = gitserver.git_env(GIT_DIR=str(tmp_path / "one.git"))
    assert _git(env, "rev-list", "--count", "main").stdout.strip() == "1"
    with pytest.raises(FileNotFoundError):
        gitserver.build_repository(tmp_path / "three.git", tmp_path / "missing")


def test_platform_repository_takes_pushes_with_the_token_only(
    sandbox_endpoints: dict[str, Any], git_env: dict[str, str], tmp_path: Path
) -> None:
    """A Git host over HTTPS: anonymous reads; receive-pack only with the token as the Basic password
    (401 and ``WWW-Authenticate: Basic`` otherwise, git-http-backend(1): receive-pack needs REMOTE_USER)."""
    git = sandbox_endpoints["git"]
    url, token = git["platform"], git["platform_token"]
    clone = tmp_path / "platform"
    _git(git_env, "clone", "--quiet", url, str(clone))
    assert (clone / "README.md").read_text() == gitserver.PLATFORM_README
    before = _git(git_env, "ls-remote", url, "refs/heads/main").stdout.split("\t")[0]
    (clone / "x.txt").write_text("x\n")
    _git(git_env, "add", "-A", cwd=clone)
    _git(git_env, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "-qm", "x", cwd=clone)

    anonymous = _git(git_env, "push", "origin", "HEAD:main", cwd=clone, check=False)
    assert anonymous.returncode == 128 and "could not read Username" in anonymous.stderr
    wrong = base64.b64encode(b"x-access-token:wrong").decode()
    refused = _git(
        git_env,
        "-c",
        f"http.extraHeader=Authorization: Basic {wrong}",
        "push",
        "origin",
        "HEAD:main",
        cwd=clone,
        check=False,
    )
    assert refused.returncode == 128
    assert _git(git_env, "ls-remote", url, "refs/heads/main").stdout.split("\t")[0] == before

    good = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    _git(git_env, "-c", f"http.extraHeader=Authorization: Basic {good}", "push", "origin", "HEAD:main", cwd=clone)
    after = _git(git_env, "ls-remote", url, "refs/heads/main").stdout.split("\t")[0]
    assert after == _git(git_env, "rev-parse", "HEAD", cwd=clone).stdout.strip() != before

    context = ssl.create_default_context(cafile=sandbox_endpoints["ca_file"])
    request = urllib.request.Request(f"{url}/info/refs?service=git-receive-pack")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert caught.value.code == 401 and caught.value.headers["WWW-Authenticate"].startswith("Basic ")


def test_build_platform_is_deterministic(tmp_path: Path) -> None:
    """A fresh platform repository is always the same first commit (reset brings it back)."""
    first = gitserver.build_platform(tmp_path / "one.git")
    assert gitserver.build_platform(tmp_path / "two.git") == first
    assert gitserver.build_platform(tmp_path / "one.git") == first
