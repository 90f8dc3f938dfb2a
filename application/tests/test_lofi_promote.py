"""The promote script, run for real against a local bare git repository."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from lofi_charts import APP_VALUES, APPLICATION, helm_template

SCRIPT = APPLICATION / "tekton" / "scripts" / "promote.sh"
VALUES_FILE = "application/deployment/environments/production/values.yaml"
REVISION = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
DIGEST_A = "sha256:" + "a1" * 32
DIGEST_B = "sha256:" + "b2" * 32


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Remote:
    bare: Path
    seed: str
    tmp: Path

    def head(self, branch: str = "main") -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare)

    def show(self, path: str, ref: str = "main") -> str:
        return git("show", f"{ref}:{path}", cwd=self.bare)

    def message(self, ref: str = "main") -> str:
        return git("log", "-1", "--format=%B", ref, cwd=self.bare)

    def count(self, ref: str = "main") -> int:
        return int(git("rev-list", "--count", ref, cwd=self.bare))

    def push_values(self, text: str, message: str) -> None:
        """Someone else's commit: ``text`` becomes the values file on main, pushed from another clone."""
        work = self.tmp / "edit"
        git("clone", "--quiet", str(self.bare), str(work), cwd=self.tmp)
        (work / VALUES_FILE).write_text(text)
        git("-c", "user.name=x", "-c", "user.email=x@test", "commit", "--quiet", "-am", message, cwd=work)
        git("push", "--quiet", "origin", "HEAD:main", cwd=work)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    """A bare repository whose main branch holds the real environment values file."""
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    work = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(work), cwd=tmp_path)
    target = work / VALUES_FILE
    target.parent.mkdir(parents=True)
    shutil.copy(APPLICATION / "deployment" / "environments" / "production" / "values.yaml", target)
    (work / "README.md").write_text("gitops\n")
    git("add", "-A", cwd=work)
    git("-c", "user.name=seed", "-c", "user.email=seed@test", "commit", "--quiet", "-m", "seed", cwd=work)
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=work)
    return Remote(bare=bare, seed=git("rev-parse", "HEAD", cwd=work), tmp=tmp_path)


def promote(remote: Remote, **overrides: str) -> subprocess.CompletedProcess[str]:
    home = remote.tmp / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITOPS_URL": str(remote.bare),
        "GITOPS_BRANCH": "main",
        "VALUES_FILE": VALUES_FILE,
        "ENVIRONMENT": "production",
        "IMAGE_DIGEST": DIGEST_A,
        "IMAGE_URL": "registry.example.test/acme/lofi:" + REVISION,
        "SOURCE_REVISION": REVISION,
        "SOURCE_URL": "https://git.example.test/acme/lofi.git",
        "RESULT_COMMIT": str(remote.tmp / "result-commit"),
        "WORK_DIR": str(remote.tmp / "work"),
    }
    env.update(overrides)
    env = {key: value for key, value in env.items() if value is not None}
    # /bin/sh: dash here, busybox ash in the task's image; the script is POSIX sh
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, check=False, timeout=60)


def test_promote_commits_the_digest_naming_the_revision(remote: Remote) -> None:
    result = promote(remote)
    assert result.returncode == 0, result.stderr
    assert remote.count() == 2
    assert git("rev-parse", "main~1", cwd=remote.bare) == remote.seed
    values = yaml.safe_load(remote.show(VALUES_FILE))
    assert values == {"image": {"digest": DIGEST_A}}
    message = remote.message()
    assert message.splitlines()[0] == f"lofi(production): deploy {DIGEST_A} built from {REVISION[:12]}"
    assert f"Source-Revision: {REVISION}" in message
    assert f"Image: registry.example.test/acme/lofi:{REVISION}@{DIGEST_A}" in message
    assert "Source-Repository: https://git.example.test/acme/lofi.git" in message
    # only the values file changed, the comments in it survive, the identity is the pipeline's
    assert git("diff", "--name-only", "main~1", "main", cwd=remote.bare) == VALUES_FILE
    assert remote.show(VALUES_FILE).startswith("# Written by the lofi-ci pipeline's promote step")
    assert git("log", "-1", "--format=%an <%ae>", cwd=remote.bare) == "lofi-ci <lofi-ci@localhost>"
    assert (remote.tmp / "result-commit").read_text() == remote.head()


def test_second_promote_of_the_same_digest_is_a_no_op(remote: Remote) -> None:
    assert promote(remote).returncode == 0
    head = remote.head()
    result = promote(remote, SOURCE_REVISION="9" * 40)  # another commit, same image: nothing to deploy
    assert result.returncode == 0, result.stderr
    assert "nothing to commit" in result.stdout
    assert remote.head() == head
    assert (remote.tmp / "result-commit").read_text() == ""


def test_new_digest_replaces_the_old_one(remote: Remote) -> None:
    assert promote(remote).returncode == 0
    assert promote(remote, IMAGE_DIGEST=DIGEST_B).returncode == 0
    assert remote.count() == 3
    text = remote.show(VALUES_FILE)
    assert yaml.safe_load(text) == {"image": {"digest": DIGEST_B}}
    assert text.count("digest:") == 1


def test_promoted_file_renders_the_digest_into_the_deployment(remote: Remote, tmp_path: Path, helm: Path) -> None:
    """What the script writes is what the chart reads: the Deployment runs repository@digest."""
    assert promote(remote).returncode == 0
    values_file = tmp_path / "promoted.yaml"
    values_file.write_text(remote.show(VALUES_FILE))
    docs = helm_template("deployment", APP_VALUES, tmp_path, "-f", str(values_file), release="lofi")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{APP_VALUES['image']['repository']}@{DIGEST_A}"


def test_other_keys_in_the_values_file_are_kept(remote: Remote) -> None:
    remote.push_values("replicaCount: 3\nimage:\n  tag: old # kept\nlogLevel: DEBUG\n", "edit")
    assert promote(remote).returncode == 0
    assert yaml.safe_load(remote.show(VALUES_FILE)) == {
        "replicaCount": 3,
        "image": {"tag": "old", "digest": DIGEST_A},
        "logLevel": "DEBUG",
    }


def test_missing_values_file_is_created(remote: Remote) -> None:
    path = "application/deployment/environments/staging/values.yaml"
    result = promote(remote, VALUES_FILE=path, ENVIRONMENT="staging")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(remote.show(path)) == {"image": {"digest": DIGEST_A}}


def test_push_race_is_retried_on_the_new_tip(remote: Remote) -> None:
    """Another commit lands between clone and push: the script refetches and commits on top of it."""
    hook = remote.bare / "hooks" / "pre-receive"
    marker = remote.tmp / "raced"
    # the hook runs with the push quarantined; it writes "someone else's" commit outside of it
    outside = "env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES"
    hook.write_text(
        "#!/bin/sh\n"
        "set -e\n"
        f'if [ ! -e "{marker}" ]; then\n'
        f'  touch "{marker}"\n'
        f"  tree=$({outside} git rev-parse main^{{tree}})\n"
        f"  other=$(echo 'someone else' | {outside} GIT_AUTHOR_NAME=o GIT_AUTHOR_EMAIL=o@test GIT_COMMITTER_NAME=o "
        f'GIT_COMMITTER_EMAIL=o@test git commit-tree "$tree" -p main)\n'
        f'  {outside} git update-ref refs/heads/main "$other"\n'
        "  echo 'branch moved' >&2; exit 1\n"
        "fi\n"
    )
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    result = promote(remote)
    assert result.returncode == 0, result.stderr
    assert "push rejected (attempt 1)" in result.stderr
    assert remote.count() == 3
    assert git("log", "-1", "--format=%s", "main~1", cwd=remote.bare) == "someone else"
    assert yaml.safe_load(remote.show(VALUES_FILE)) == {"image": {"digest": DIGEST_A}}


def test_credentials_workspace_is_installed_in_home(remote: Remote) -> None:
    creds = remote.tmp / "creds"
    creds.mkdir()
    (creds / ".gitconfig").write_text("[user]\n\tname = from-workspace\n")
    (creds / ".git-credentials").write_text("https://x-access-token:not-a-real-token@git.example.test\n")
    result = promote(remote, GIT_CREDENTIALS_DIR=str(creds))
    assert result.returncode == 0, result.stderr
    installed = remote.tmp / "home" / ".git-credentials"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o400
    assert "not-a-real-token" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"IMAGE_DIGEST": "sha256:abc"}, "IMAGE_DIGEST must be sha256:<64 lowercase hex>, got 'sha256:abc'"),
        ({"IMAGE_DIGEST": "latest"}, "IMAGE_DIGEST must be sha256:<64 lowercase hex>"),
        ({"IMAGE_DIGEST": "sha256:" + "A1" * 32}, "IMAGE_DIGEST must be sha256:<64 lowercase hex>"),
        ({"IMAGE_DIGEST": None}, "IMAGE_DIGEST is required"),
        ({"SOURCE_REVISION": "main"}, "SOURCE_REVISION must be a commit id"),
        ({"VALUES_FILE": "/etc/passwd.yaml"}, "VALUES_FILE must be a relative path inside the repository"),
        ({"VALUES_FILE": "../outside.yaml"}, "VALUES_FILE must be a relative path inside the repository"),
        ({"VALUES_FILE": "README.md"}, "VALUES_FILE must name a .yaml file"),
        ({"GITOPS_URL": ""}, "GITOPS_URL is required"),
    ],
)
def test_bad_input_is_rejected_before_any_write(remote: Remote, overrides: dict, message: str) -> None:
    result = promote(remote, **overrides)
    assert result.returncode == 2
    assert message in result.stderr
    assert remote.head() == remote.seed
    assert not (remote.tmp / "work").exists(), "nothing was cloned"


def test_unreachable_repository_fails_with_a_message(remote: Remote) -> None:
    result = promote(remote, GITOPS_URL=str(remote.tmp / "missing.git"))
    assert result.returncode == 1
    assert "cannot clone branch 'main' of the GitOps repository" in result.stderr


def test_inline_image_mapping_is_refused(remote: Remote) -> None:
    remote.push_values("image: {tag: x}\n", "inline")
    head = remote.head()
    result = promote(remote)
    assert result.returncode == 2
    assert "write image: as a block mapping" in result.stderr
    assert remote.head() == head
