"""The README's version table is generated from role defaults and must not go stale."""

from __future__ import annotations

from tests.tools import versions


def test_readme_table_matches_role_defaults() -> None:
    readme = (versions.ROOT / "README.md").read_text()
    assert versions.render(readme) == readme, "run `python -m tests.tools.versions` and commit README.md"


def test_every_pin_has_a_version_and_a_source() -> None:
    for role, component, kind, version, source in versions.rows():
        assert version, f"{role}/{component}: {kind} without a version"
        assert source, f"{role}/{component}: {kind} without a source"
