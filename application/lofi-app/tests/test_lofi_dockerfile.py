"""The image build, checked on the Dockerfile itself (no container runtime runs in CI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[1]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    text = (APP_DIR / "Dockerfile").read_text()
    joined = re.sub(r"\\\n\s*", " ", text)
    result = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _resolve(image: str) -> str:
    args = dict(a.split("=", 1) for k, a in _instructions() if k == "ARG" and "=" in a)
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)


def test_build_is_multi_stage() -> None:
    stages = _stages()
    assert len(stages) == 2
    assert stages[0][0][1].endswith(" AS builder")


def test_base_images_are_pinned_never_latest() -> None:
    for stage in _stages():
        image = _resolve(stage[0][1].split()[0])
        assert ":" in image.rsplit("/", 1)[-1], f"{image} has no tag"
        assert not image.endswith(":latest")
        assert re.search(r":3\.11\.\d+-slim", image), f"{image} is not a pinned python 3.11 slim image"


def test_builder_runs_the_tests_and_draws_the_gif() -> None:
    builder = _stages()[0]
    runs = " ".join(args for keyword, args in builder if keyword == "RUN")
    copied = " ".join(args for keyword, args in builder if keyword == "COPY").split()
    # the tests run in the builder read these files, so they must be in it
    for needed in ("tests/", "lofi/", "pyproject.toml", "Dockerfile", ".dockerignore"):
        assert needed in copied, f"the builder does not copy {needed}"
    assert "pytest" in runs
    assert "python -m lofi render /out/lofi.gif" in runs


def test_final_stage_is_non_root_and_serves_the_prebuilt_gif() -> None:
    final = _stages()[-1]
    users = [args for keyword, args in final if keyword == "USER"]
    assert users, "final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid == "10001" and gid == "10001"
    copies = [args for keyword, args in final if keyword == "COPY"]
    assert any("/out/lofi.gif /app/lofi.gif" in c and "--from=builder" in c for c in copies)
    assert not any(keyword == "RUN" for keyword, _ in final), "the final stage installs nothing"
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "LOFI_GIF_PATH=/app/lofi.gif" in env and "PYTHONDONTWRITEBYTECODE=1" in env


@pytest.mark.parametrize("keyword", ["ENTRYPOINT", "HEALTHCHECK"])
def test_exec_form_commands(keyword: str) -> None:
    args = next(args for k, args in _stages()[-1] if k == keyword)
    exec_part = args[args.index("[") :]
    command = json.loads(exec_part)
    assert command[0] == "python"


def test_build_context_leaves_out_local_state() -> None:
    ignored = (APP_DIR / ".dockerignore").read_text().splitlines()
    for pattern in ("**/__pycache__", ".venv/", ".pytest_cache/"):
        assert pattern in ignored
