"""Conventions the collection promises, checked on the tree itself."""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from pathlib import Path

import ansible
import pytest
import yaml
from ansible.release import __version__ as core_version
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.tools.install_check import DEV_ONLY

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
PLATFORM_ROLES = [
    "doks_cluster",
    "auth0_apps",
    "observability",
    "ingress_certmanager",
    "tekton",
    "kyverno",
    "falco",
    "argocd",
    "lofi_pipeline",
]


def _load(path: Path) -> object:
    return yaml.safe_load(path.read_text())


def test_all_platform_roles_exist() -> None:
    assert set(PLATFORM_ROLES) <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_role_has_required_files(role: str) -> None:
    base = ROOT / "roles" / role
    for rel in ("defaults/main.yml", "meta/main.yml", "meta/argument_specs.yml", "README.md"):
        assert (base / rel).is_file(), f"{role}: missing {rel}"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_prefixed_and_documented(role: str) -> None:
    """Every default is prefixed with the role name and declared in the argument spec."""
    base = ROOT / "roles" / role
    defaults = _load(base / "defaults/main.yml") or {}
    spec = _load(base / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for name in defaults:
        assert name.startswith(f"{role}_"), f"{role}: default {name} lacks the {role}_ prefix"
        assert name in spec, f"{role}: default {name} is not in meta/argument_specs.yml"
    text = (base / "defaults/main.yml").read_text()
    for name in defaults:
        # the line before each top-level key is a comment (defaults are commented line by line)
        match = re.search(rf"^(?P<prev>.*)\n{re.escape(name)}:", text, re.MULTILINE)
        assert match and match.group("prev").lstrip().startswith("#"), f"{role}: {name} has no comment"


@pytest.mark.parametrize("role", PLATFORM_ROLES)
def test_platform_roles_depend_on_shared_settings(role: str) -> None:
    deps = _load(ROOT / "roles" / role / "meta/main.yml")["dependencies"]
    assert {"role": "doks.gitops.gitops"} in deps


def test_site_applies_every_role_in_order() -> None:
    plays = _load(ROOT / "playbooks/site.yml")
    converge = next(p for p in plays if p.get("hosts") == "clusters")
    names = [r["role"].removeprefix("doks.gitops.") for r in converge["roles"]]
    assert names == PLATFORM_ROLES


def _tracked_files() -> list[str]:
    """The files `make build` copies before ansible-galaxy builds: those git tracks."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [path for path in out.decode().split("\0") if path]


def _build_ignored(path: str, patterns: list[str]) -> bool:
    """ansible-galaxy's rule (ansible.galaxy.collection._build_files_manifest_walk): a pattern is
    fnmatch'ed against each folder's and file's path relative to the collection, and an ignored
    folder is not walked into."""
    parts = path.split("/")
    return any(fnmatch.fnmatch("/".join(parts[:n]), p) for n in range(1, len(parts) + 1) for p in patterns)


def test_galaxy_build_ignores_the_dev_only_paths_and_only_paths_that_exist() -> None:
    """What `make build` ships: the tracked files less build_ignore. The dev-only trees (the sandbox
    package under tools/, the tests, install_check's DEV_ONLY) stay out, build_ignore names the
    dev-tools folder as a whole, and every entry names a tracked path (local state never reaches
    the build, which copies the tracked files only)."""
    ignore = _load(ROOT / "galaxy.yml")["build_ignore"]
    tracked = _tracked_files()
    shipped = [path for path in tracked if not _build_ignored(path, ignore)]
    for dev in DEV_ONLY:
        assert not [p for p in shipped if p == dev or p.startswith(dev + "/")], f"{dev} would ship in the artifact"
    assert not [p for p in ignore if p.startswith("tools/")], "ignore the dev-tools folder as a whole"
    unused = [p for p in ignore if not any(_build_ignored(path, [p]) for path in tracked)]
    assert not unused, f"build_ignore names paths git does not track: {unused}"
    covered = [
        p
        for p in ignore
        if all(_build_ignored(t, [q for q in ignore if q != p]) for t in tracked if _build_ignored(t, [p]))
    ]
    assert not covered, f"build_ignore entries another entry already covers: {covered}"
    for needed in (
        "plugins/modules/doks_cluster.py",
        "roles/gitops/tasks/helm_release.yml",
        "meta/runtime.yml",
        "LICENSE",
    ):
        assert needed in shipped


# What would tie the collection to the sandbox package: importing it, or a path into it.
SANDBOX_REFERENCE = re.compile(r"^\s*(?:from|import)\s+sandbox\b|tools/sandbox|python -m sandbox", re.MULTILINE)


def test_the_collection_never_imports_or_names_the_sandbox_package() -> None:
    """plugins/, roles/ and playbooks/ stand alone: only the sandbox inventory reads the sandbox
    (through the endpoints.json it writes)."""
    found = [
        str(path.relative_to(ROOT))
        for top in ("plugins", "roles", "playbooks")
        for path in sorted((ROOT / top).rglob("*"))
        if path.is_file()
        and path.suffix in {".py", ".yml", ".yaml", ".md", ".j2"}
        and SANDBOX_REFERENCE.search(path.read_text(errors="replace"))
    ]
    assert found == []


# what a test under tests/unit/ may not do: start an emulator, reach the emulated fixtures, serve HTTP
EMULATOR_USE = re.compile(
    r"from tests\.emulated\b|import tests\.emulated\b|\bsandbox\.client\b|from sandbox import client\b"
    r"|\bEmulatorServer\b|\bdef \w+\([^)]*\b(box|do|auth0_sandbox|do_sandbox)\b"
)


def test_tests_sit_in_the_folder_that_says_what_they_need() -> None:
    """tests/README.md's layout: nothing under tests/unit/ (pure units in Ansible's layout, render and
    rule tests) starts or reaches an emulator, those tests live in tests/emulated/; benchmarks live in
    tests/bench/."""
    tests = ROOT / "tests"
    assert [p.name for p in sorted(tests.glob("bench_*.py"))] == []
    assert sorted(p.name for p in (tests / "bench").glob("bench_*.py"))
    assert (tests / "emulated" / "conftest.py").is_file() and not (tests / "unit" / "conftest.py").exists()
    found = [
        str(path.relative_to(ROOT))
        for path in sorted((tests / "unit").rglob("*.py"))
        if path != Path(__file__).resolve() and EMULATOR_USE.search(path.read_text())
    ]
    assert found == []


def test_galaxy_metadata_matches_what_is_tested() -> None:
    """galaxy.yml and meta/runtime.yml claim what the tests run on.

    ansible-galaxy installs what galaxy.yml's `dependencies` allow, so they must be the ranges in
    requirements.yml (the ones CI installs); `requires_ansible` must admit the ansible-core that
    runs the tests and nothing older than 2.19, the first release with the data-tagging API
    (`ansible.template.trust_as_template`) that plugins/action/preflight.py imports.
    """
    galaxy = _load(ROOT / "galaxy.yml")
    wanted = {c["name"]: c["version"] for c in _load(ROOT / "requirements.yml")["collections"]}
    for name, version in galaxy["dependencies"].items():
        assert wanted.get(name) == version, f"galaxy.yml {name} {version!r} != requirements.yml {wanted.get(name)!r}"
    floor = re.fullmatch(r">=(\d+)\.(\d+)\.\d+", _load(ROOT / "meta/runtime.yml")["requires_ansible"])
    assert floor, "requires_ansible must be a >=X.Y.Z floor"
    assert (int(floor[1]), int(floor[2])) == (2, 19)
    assert tuple(int(x) for x in core_version.split(".")[:2]) >= (2, 19)


def _bundled_version(name: str) -> Version:
    """The version of a collection the `ansible` package installed (the one every test runs on)."""
    namespace, collection = name.split(".")
    manifest = Path(ansible.__file__).parents[1] / "ansible_collections" / namespace / collection / "MANIFEST.json"
    return Version(json.loads(manifest.read_text())["collection_info"]["version"])


def test_dependency_ranges_hold_the_tested_versions() -> None:
    """Each range in requirements.yml admits the version the tests run on and stops before its next major.

    The execution environment installs requirements.yml from Galaxy, so a range open upwards would
    install a major release nothing here has run on (kubernetes.core's module_utils, which
    k8s_apply_changed imports, are no public API). The floor is in the tested major.
    """
    for entry in _load(ROOT / "requirements.yml")["collections"]:
        spec = SpecifierSet(entry["version"])
        tested = _bundled_version(entry["name"])
        assert tested in spec, f"{entry['name']} {tested} (what the tests run on) is outside {spec}"
        assert f"<{tested.major + 1}.0.0" in {str(s) for s in spec}, f"{entry['name']}: no upper bound {spec}"
        floors = [Version(s.version) for s in spec if s.operator == ">="]
        assert floors and floors[0].major == tested.major, f"{entry['name']}: floor {spec} is not in {tested.major}.x"


def test_every_collection_the_content_calls_is_a_dependency() -> None:
    """A module, lookup or module_utils of another collection named in shipped content is in galaxy.yml.

    ansible.posix appears only in ansible.cfg (profile_tasks), which the collection does not need:
    requirements.yml carries it for the execution environment, galaxy.yml does not.
    """
    declared = set(_load(ROOT / "galaxy.yml")["dependencies"])
    bundled = Path(ansible.__file__).parents[1] / "ansible_collections"
    known = {f"{ns.name}.{c.name}" for ns in bundled.iterdir() if ns.is_dir() for c in ns.iterdir() if c.is_dir()}
    files = subprocess.run(
        ["git", "ls-files", "plugins", "roles", "playbooks", "meta"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    used: dict[str, str] = {}
    for rel in files:
        for match in re.finditer(r"\b([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+", (ROOT / rel).read_text(errors="ignore")):
            if match[1] in known and match[1] != "ansible.builtin":
                used.setdefault(match[1], rel)
    assert {"kubernetes.core", "amazon.aws", "awx.awx"} <= set(used)
    assert set(used) <= declared, {name: rel for name, rel in used.items() if name not in declared}
    assert (ROOT / "LICENSE").is_file() and "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()


def test_readme_names_every_module() -> None:
    """The README's module list (a newcomer's index of `ansible-doc` pages) names each module."""
    readme = (ROOT / "README.md").read_text()
    listed = re.search(r"^Modules: (.*?)\n\n", readme, re.MULTILINE | re.DOTALL)
    assert listed, "README.md has no 'Modules:' paragraph"
    modules = {p.stem for p in (ROOT / "plugins/modules").glob("*.py") if p.stem != "__init__"}
    assert set(re.findall(r"`doks\.gitops\.([a-z0-9_]+)`", listed[1])) == modules
