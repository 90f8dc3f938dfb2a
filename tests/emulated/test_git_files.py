"""doks.gitops.git_files against the sandbox's git server (real git CLI on both ends, smart HTTP).

The platform GitOps repository takes pushes authenticated with a token as the HTTP Basic password,
as GitHub does over HTTPS ("Authenticating with the API" / git's http.extraHeader, git-config(1));
git-http-backend(1) runs receive-pack only for an authenticated user. The module owns one directory:
other directories are never changed, a no-op writes nothing (no receive-pack request), check mode
never pushes, a push that lost a race with another writer is redone on the new head (git's
"! [rejected] ... (fetch first)"), and the token never reaches the result.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.doks.gitops.plugins.modules import git_files

from sandbox import client as sb
from sandbox import gitserver
from tests.emulated.doks_helpers import DoSandbox, run_module

pytestmark = pytest.mark.sandbox


@pytest.fixture
def repo(do: DoSandbox) -> Iterator[dict[str, Any]]:
    """The platform repository at its first commit (the ``do`` fixture reset every emulator)."""
    git = do.endpoints["git"]
    yield {"url": git["platform"], "token": git["platform_token"], "ca": do.endpoints["ca_file"], "do": do}


def call(capsys: pytest.CaptureFixture[str], repo: dict[str, Any], **args: Any) -> Any:
    params = {"repo_url": repo["url"], "token": repo["token"], "ca_path": repo["ca"], **args}
    return run_module(git_files.main, capsys, params)


def git(repo: dict[str, Any], tmp: Path, *args: str, cwd: Path | None = None) -> str:
    env = gitserver.git_env(HOME=str(tmp), GIT_SSL_CAINFO=repo["ca"])
    done = subprocess.run(["git", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def remote_files(repo: dict[str, Any], tmp: Path, branch: str = "main") -> dict[str, str]:
    clone = tmp / f"check-{len(list(tmp.iterdir()))}"
    git(repo, tmp, "clone", "--quiet", "--branch", branch, repo["url"], str(clone))
    names = git(repo, tmp, "ls-files", cwd=clone).split()
    return {name: (clone / name).read_text() for name in names}


def head(repo: dict[str, Any], tmp: Path, branch: str = "main") -> str:
    return git(repo, tmp, "ls-remote", repo["url"], f"refs/heads/{branch}").split("\t")[0]


def pushes(repo: dict[str, Any], since: int) -> list[dict[str, Any]]:
    return [e for e in sb.requests(repo["do"].endpoints, "git", since) if "receive-pack" in e["path"] + e["query"]]


def test_first_write_is_one_commit_and_the_next_run_writes_nothing(repo, capsys, tmp_path: Path) -> None:
    files = {"pipeline/00-release.yaml": "kind: A\n", "triggers/00-release.yaml": "kind: B\n"}
    first = call(capsys, repo, path="clusters/c1/tekton", files=files)
    assert first["changed"] and not first.failed, first
    assert first["added"] == [
        "clusters/c1/tekton/pipeline/00-release.yaml",
        "clusters/c1/tekton/triggers/00-release.yaml",
    ]
    assert first["commit"] == head(repo, tmp_path)
    assert first["revisions"] == {"pipeline": first["commit"], "triggers": first["commit"]}
    assert remote_files(repo, tmp_path) == {
        "README.md": gitserver.PLATFORM_README,
        "clusters/c1/tekton/pipeline/00-release.yaml": "kind: A\n",
        "clusters/c1/tekton/triggers/00-release.yaml": "kind: B\n",
    }

    mark = sb.last_seq(repo["do"].endpoints, "git")
    again = call(capsys, repo, path="clusters/c1/tekton", files=files)
    assert not again["changed"] and again["commit"] == first["commit"]
    assert again["revisions"] == first["revisions"]
    assert pushes(repo, mark) == []


def test_a_change_moves_only_its_directory_revision_and_keeps_other_clusters(repo, capsys, tmp_path: Path) -> None:
    call(capsys, repo, path="clusters/c2/tekton", files={"pipeline/a.yaml": "other: cluster\n"})
    first = call(
        capsys, repo, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a: 1\n", "dashboard/a.yaml": "d\n"}
    )
    changed = call(
        capsys, repo, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a: 2\n", "dashboard/a.yaml": "d\n"}
    )
    assert changed["modified"] == ["clusters/c1/tekton/pipeline/a.yaml"] and not changed["added"]
    assert changed["revisions"]["dashboard"] == first["revisions"]["dashboard"]
    assert changed["revisions"]["pipeline"] == changed["commit"] != first["commit"]

    removed = call(capsys, repo, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a: 2\n"})
    assert removed["removed"] == ["clusters/c1/tekton/dashboard/a.yaml"]
    assert remote_files(repo, tmp_path)["clusters/c2/tekton/pipeline/a.yaml"] == "other: cluster\n"

    gone = call(capsys, repo, path="clusters/c1", state="absent")
    assert gone["removed"] == ["clusters/c1/tekton/pipeline/a.yaml"] and gone["revision"] == ""
    assert sorted(remote_files(repo, tmp_path)) == ["README.md", "clusters/c2/tekton/pipeline/a.yaml"]
    assert not call(capsys, repo, path="clusters/c1", state="absent")["changed"]


def test_check_mode_shows_the_diff_and_pushes_nothing(repo, capsys, tmp_path: Path) -> None:
    call(capsys, repo, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a: 1\n"})
    before = head(repo, tmp_path)
    mark = sb.last_seq(repo["do"].endpoints, "git")
    result = call(
        capsys,
        repo,
        path="clusters/c1/tekton",
        files={"pipeline/a.yaml": "a: 2\n"},
        _ansible_check_mode=True,
        _ansible_diff=True,
    )
    assert result["changed"] and result["commit"] == before
    assert result["diff"] == [
        {
            "before_header": "clusters/c1/tekton/pipeline/a.yaml",
            "after_header": "clusters/c1/tekton/pipeline/a.yaml",
            "before": "a: 1\n",
            "after": "a: 2\n",
        }
    ]
    assert head(repo, tmp_path) == before and pushes(repo, mark) == []


def test_a_refused_token_names_the_cause_and_never_shows_the_token(repo, capsys, tmp_path: Path) -> None:
    before = head(repo, tmp_path)
    mark = sb.last_seq(repo["do"].endpoints, "git")
    wrong = "not-the-token-0123456789"
    result = call(capsys, repo, token=wrong, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a\n"})
    assert result.failed
    assert (
        "git push failed" in result["msg"]
        and "the token is missing, wrong, expired, or lacks write access" in result["msg"]
    )
    assert wrong not in repr(result) and head(repo, tmp_path) == before
    pushes_seen = pushes(repo, mark)
    assert pushes_seen and {e["status"] for e in pushes_seen} == {401}


def test_a_push_that_lost_a_race_is_redone_on_the_new_head(repo, capsys, tmp_path: Path, monkeypatch) -> None:
    """Another writer (the lofi promote step, another cluster's run) pushes between our fetch and push."""
    clone = tmp_path / "other"
    git(repo, tmp_path, "clone", "--quiet", repo["url"], str(clone))
    (clone / "other.txt").write_text("theirs\n")
    git(repo, tmp_path, "add", "-A", cwd=clone)
    git(repo, tmp_path, "-c", "user.name=o", "-c", "user.email=o@o.invalid", "commit", "-qm", "theirs", cwd=clone)
    written = git_files.Repo.write
    raced: list[str] = []

    def write_after_them(self: Any, path: str, wanted: dict[str, str]) -> None:
        if not raced:
            auth = f"http.extraHeader={self.env['GIT_CONFIG_VALUE_0']}"
            git(repo, tmp_path, "-c", auth, "push", "--quiet", "origin", "HEAD:main", cwd=clone)
            raced.append(head(repo, tmp_path))
        written(self, path, wanted)

    monkeypatch.setattr(git_files.Repo, "write", write_after_them)
    result = call(capsys, repo, path="clusters/c1/tekton", files={"pipeline/a.yaml": "a\n"})
    assert result["changed"] and not result.failed, result
    files = remote_files(repo, tmp_path)
    assert files["other.txt"] == "theirs\n" and files["clusters/c1/tekton/pipeline/a.yaml"] == "a\n"
    assert len(raced) == 1 and result["commit"] != raced[0]


def test_a_missing_branch_is_created(repo, capsys, tmp_path: Path) -> None:
    result = call(capsys, repo, branch="platform", path="clusters/c1/tekton", files={"pipeline/a.yaml": "a\n"})
    assert result["changed"] and result["commit"] == head(repo, tmp_path, "platform")
    assert remote_files(repo, tmp_path, "platform") == {"clusters/c1/tekton/pipeline/a.yaml": "a\n"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"path": "../outside"}, "path '../outside' must be a relative path inside the repository"),
        ({"path": "clusters/c1", "files": {"/etc/x": "x"}}, "file '/etc/x' must be a relative path"),
        (
            {"path": "clusters/c1", "files": {".git/config": "x"}},
            "file '.git/config' must not name git's own directory",
        ),
        ({"path": "c", "repo_url": "http://example.invalid/r.git"}, "must be an https:// clone URL"),
    ],
)
def test_bad_input_fails_before_any_request(repo, capsys, args: dict[str, Any], message: str) -> None:
    mark = sb.last_seq(repo["do"].endpoints, "git")
    result = call(capsys, repo, **args)
    assert result.failed and message in result["msg"], result["msg"]
    assert sb.requests(repo["do"].endpoints, "git", mark) == []
