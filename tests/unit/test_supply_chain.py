"""The installer's supply chain (issue #18): nothing downloaded is used unverified.

- Every download task of the roles verifies a pinned checksum, and caches under a path that holds
  the URL and that checksum, so a file cached from another host (the sandbox's stand-ins) or with
  another checksum is never read for a pinned one. ansible.builtin.get_url with ``checksum`` checks
  the file after the download and skips the download when ``dest`` already has that checksum
  (docs.ansible.com, ansible.builtin.get_url, option ``checksum``).
- Tekton's release files need a pin each: preflight names every missing one with how to get it.
- Images the roles set are valid OCI references (distribution/reference ``regexp.go``), by tag
  and by digest unless listed with the reason.
- The execution environment builds from a pinned base (never ``:latest``) and verifies every download.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf

from sandbox import imageref
from sandbox.artifacts import RELEASES_SOURCE, release_checksums
from sandbox.kube.controllers import _image_id

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
DOWNLOAD_MODULES = {"ansible.builtin.get_url", "get_url"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
# images pinned by tag only, with why (listed in the report): no digest could be recorded
BY_TAG_ONLY = {"ingress_certmanager_external_dns_webhook_image": "no published digest of 0.1.0 was found"}


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def tasks_of(node: Any) -> list[dict[str, Any]]:
    """Every task of a task file, blocks included."""
    out = []
    for task in node or []:
        if not isinstance(task, dict):
            continue
        out.append(task)
        for key in ("block", "rescue", "always"):
            out += tasks_of(task.get(key))
    return out


def downloads() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, module arguments, the role's vars and defaults) of every download task of the roles."""
    found = []
    for task_file in sorted(ROLES.glob("*/tasks/*.yml")):
        role = task_file.parents[1]
        definitions = {**(load(role / "defaults" / "main.yml") or {}), **(load(role / "vars" / "main.yml") or {})}
        for task in tasks_of(load(task_file)):
            if DOWNLOAD_MODULES & set(task):
                where = f"{task_file.relative_to(ROOT)}: {task.get('name')}"
                found.append((where, task, {**definitions, **(task.get("vars") or {})}))
    return found


def render_with() -> dict[str, Any]:
    return {
        "tekton_cache_dir": "/cache",
        "tekton_release_sha256": release_checksums(RELEASES_SOURCE)["tekton-releases"],
    }


def test_the_roles_have_download_tasks() -> None:
    """The check below is not vacuous: tekton downloads its release manifests."""
    assert any("roles/tekton/" in where for where, _, _ in downloads())


@pytest.mark.parametrize("where,task,definitions", downloads(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_download_verifies_a_pinned_checksum_and_caches_by_url_and_checksum(
    where: str, task: dict[str, Any], definitions: dict[str, Any]
) -> None:
    """Each download as it runs: its arguments rendered with the role's variables for every item of
    its loop (all of Tekton's release files), pinned as inventories/sandbox pins them (the role
    defaults pin nothing: preflight asks the inventory for every pin)."""
    args = next(task[m] for m in DOWNLOAD_MODULES & set(task))
    checksum = str(args.get("checksum") or "")
    assert "omit" not in checksum and " if " not in checksum, f"{where}: the checksum is optional"
    # the controller's cache directory comes from its environment (lookup env), unknown to a bare
    # Templar; the pins come from the inventory
    definitions = {**definitions, **{k: v for k, v in render_with().items() if k in definitions}}
    templar = Templar(loader=DataLoader(), variables=trust(definitions))
    items = templar.template(trust_as_template(task["loop"])) if "loop" in task else [None]
    loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
    assert items, f"{where}: the loop has no item, nothing was checked"
    for item in items:
        bound = Templar(loader=DataLoader(), variables=trust({**definitions, loop_var: item}))
        url, dest, pin = (str(bound.template(trust_as_template(args[k]))) for k in ("url", "dest", "checksum"))
        assert pin.startswith("sha256:") and HEX64.match(pin[7:]), f"{where}: {url}: no pinned sha256 ({pin!r})"
        assert pin[7:] in dest, f"{where}: the cache path {dest} does not hold the checksum"
        assert hashlib.sha256(url.encode()).hexdigest()[:16] in dest, f"{where}: the cache path does not hold the URL"


# ---------------------------------------------------------------- tekton's cache path, rendered


def trust(value: Any) -> Any:
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trust(v) for v in value]
    return value


def cache_path(base_url: str, sha256: str) -> str:
    """The cache path of the pipeline's release.yaml (tekton_release_files), as the role's variables render it."""
    tekton = ROLES / "tekton"
    variables = {
        **load(tekton / "defaults" / "main.yml"),
        **load(tekton / "vars" / "main.yml"),
        "tekton_cache_dir": "/cache",
        "tekton_release_base_url": base_url,
        "tekton_release_sha256": {"pipeline/previous/v1.15.0/release.yaml": sha256},
        "tekton_components": [{"name": "pipeline", "release": {"version": "v1.15.0", "files": ["release.yaml"]}}],
    }
    templar = Templar(loader=DataLoader(), variables=trust(variables))
    return str(templar.template(trust_as_template("{{ tekton_release_files[0].cache }}")))


def test_a_stand_in_is_never_cached_where_a_production_file_is_looked_for() -> None:
    upstream, sandbox = "https://infra.tekton.dev/tekton-releases", "https://127.0.0.1:8443/releases/tekton-releases"
    real, stand_in = (
        "a" * 64,
        release_checksums(RELEASES_SOURCE)["tekton-releases"]["pipeline/previous/v1.15.0/release.yaml"],
    )
    production = cache_path(upstream, real)
    assert real in production and production.endswith("/release.yaml")
    assert cache_path(upstream, real) == production, "the same pin finds its cached file again"
    assert cache_path(sandbox, stand_in) != production
    assert cache_path(sandbox, real) != production, "another host, same checksum"
    assert cache_path(upstream, stand_in) != production, "same URL, another checksum"


def test_no_stand_in_checksum_is_pinned_outside_the_sandbox() -> None:
    """The stand-ins' checksums come from the artifact server (endpoints.json) into inventories/sandbox
    only: the role defaults and the other inventories never name one."""
    stand_ins = set(release_checksums(RELEASES_SOURCE)["tekton-releases"].values())
    assert stand_ins
    for path in [*ROLES.rglob("*.yml"), *(ROOT / "inventories").rglob("*.yml")]:
        assert not stand_ins & set(re.findall(r"[0-9a-f]{64}", path.read_text())), path
    sandbox_vars = load(ROOT / "inventories" / "sandbox" / "group_vars" / "all" / "sandbox.yml")
    assert "release_sha256" in sandbox_vars["tekton_release_sha256"]


# ---------------------------------------------------------------- preflight


def defaults_getter(**over: Any) -> pf.Getter:
    values = {**load(ROLES / "tekton" / "defaults" / "main.yml"), **over}
    return lambda name, default=None: values.get(name, default)


def test_preflight_names_every_release_file_without_a_pin_and_how_to_get_it() -> None:
    problems = pf.check_release_checksums(defaults_getter())
    files = pf.tekton_release_files(defaults_getter())
    assert [p.variable for p in problems] == [f"tekton_release_sha256[{key}]" for key in files]
    assert {key.split("/")[0] for key in files} == {"pipeline", "triggers", "dashboard", "chains"}
    for problem, key in zip(problems, files, strict=True):
        url = f"https://infra.tekton.dev/tekton-releases/{key}"
        assert f"curl -sL {url} | sha256sum" in problem.fix
        assert "unverified" in problem.message


def test_preflight_asks_no_chains_pin_when_chains_is_off() -> None:
    files = pf.tekton_release_files(defaults_getter(tekton_chains_enabled=False))
    assert files and not [key for key in files if key.startswith("chains/")]
    assert "chains/previous/v0.29.2/release.yaml" in pf.tekton_release_files(defaults_getter())


def test_pinned_release_files_pass_preflight() -> None:
    pins = {key: hashlib.sha256(key.encode()).hexdigest() for key in pf.tekton_release_files(defaults_getter())}
    assert pf.check_release_checksums(defaults_getter(tekton_release_sha256=pins)) == []


def test_the_read_write_dashboard_needs_the_pin_of_release_full() -> None:
    pins = {key: "b" * 64 for key in pf.tekton_release_files(defaults_getter())}
    problems = pf.check_release_checksums(defaults_getter(tekton_release_sha256=pins, tekton_dashboard_read_only=False))
    assert [p.variable for p in problems] == ["tekton_release_sha256[dashboard/previous/v0.71.0/release-full.yaml]"]


@pytest.mark.parametrize("value", ["sha256:" + "c" * 64, "c" * 63, "z" * 64, ""])
def test_a_malformed_pin_is_named(value: str) -> None:
    pins = {key: "d" * 64 for key in pf.tekton_release_files(defaults_getter())}
    pins["pipeline/previous/v1.15.0/release.yaml"] = value
    problems = pf.check_release_checksums(defaults_getter(tekton_release_sha256=pins))
    assert [p.variable for p in problems] == ["tekton_release_sha256[pipeline/previous/v1.15.0/release.yaml]"]


def test_without_tekton_no_pin_is_needed() -> None:
    assert pf.check_release_checksums(defaults_getter(tekton_enabled=False)) == []


def test_the_sandbox_publishes_the_checksum_of_every_stand_in() -> None:
    published = release_checksums(RELEASES_SOURCE)["tekton-releases"]
    files = sorted(p for p in (RELEASES_SOURCE / "tekton-releases").rglob("*") if p.is_file())
    assert files
    for path in files:
        key = path.relative_to(RELEASES_SOURCE / "tekton-releases").as_posix()
        assert published[key] == hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- image references


@pytest.mark.parametrize(
    "reference,repository,tag,digest",
    [
        ("python:3.11", "docker.io/library/python", "3.11", None),
        ("alpine/k8s:1.34.1", "docker.io/alpine/k8s", "1.34.1", None),
        ("ghcr.io/a/b:v1@sha256:" + "e" * 64, "ghcr.io/a/b", "v1", "sha256:" + "e" * 64),
        ("localhost:5000/app@sha256:" + "f" * 64, "localhost:5000/app", None, "sha256:" + "f" * 64),
        ("registry.example.com:443/team/app:1.0", "registry.example.com:443/team/app", "1.0", None),
    ],
)
def test_references_follow_the_distribution_grammar(
    reference: str, repository: str, tag: str | None, digest: str | None
) -> None:
    ref = imageref.parse(reference)
    assert ref is not None and (ref.repository, ref.tag, ref.digest) == (repository, tag, digest)
    assert _image_id(reference).startswith(f"{repository}@sha256:")
    if digest:
        assert _image_id(reference) == f"{repository}@{digest}", "a pull by digest runs exactly that digest"


@pytest.mark.parametrize(
    "reference",
    [
        "Python:3.11",  # upper case in a path component
        "python:3.11@sha256:" + "e" * 63,  # a sha256 digest is 64 hex digits
        "python:3.11@sha256:" + "E" * 64,  # ... in lower case
        "python::3.11",
        "python:" + "1" * 129,  # a tag is at most 128 characters
        "a/" * 128 + "b",  # a name is at most 255 characters
        " python:3.11",
    ],
)
def test_malformed_references_are_refused(reference: str) -> None:
    assert imageref.parse(reference) is None
    assert not imageref.is_pinned(reference)


def role_images() -> list[tuple[str, Any]]:
    out = []
    for defaults in sorted(ROLES.glob("*/defaults/main.yml")):
        for name, value in (load(defaults) or {}).items():
            if name.endswith("_image"):
                out.append((name, value))
    return out


@pytest.mark.parametrize("name,value", role_images(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_role_image_is_pinned_by_tag_and_digest(name: str, value: Any) -> None:
    if name in BY_TAG_ONLY:
        assert isinstance(value, dict) and value.get("tag") and "latest" not in str(value["tag"])
        return
    ref = imageref.parse(value)
    assert ref is not None and ref.tag and ref.tag != "latest", f"{name}: {value} has no version tag"
    assert imageref.is_pinned(value), f"{name}: {value} is not pinned by digest"


# ---------------------------------------------------------------- execution environment


def test_the_execution_environment_pins_its_base_and_verifies_every_download() -> None:
    text = (ROOT / "execution-environment.yml").read_text()
    ee = yaml.safe_load(text)
    assert ":latest" not in json.dumps(ee), "no image or download by a moving :latest tag"
    base = imageref.parse(ee["images"]["base_image"]["name"])
    assert base is not None and base.tag and (base.digest or re.search(r"\d", base.tag)), base
    steps = [s for phase in ee["additional_build_steps"].values() for s in phase]
    fetches = [s for s in steps if re.search(r"\b(curl|wget)\b", s)]
    assert fetches, "helm is downloaded"
    for step in fetches:
        targets = re.findall(r"-o\s+(\S+)", step)
        assert targets, f"a download that is not written to a file cannot be verified: {step}"
        for target in targets:
            verified = re.search(rf'echo "([0-9a-f]{{64}})  {re.escape(target)}" \| sha256sum -c -', step)
            assert verified, f"{target} is not verified: {step}"
    helm = re.search(r"helm-(v\d+\.\d+\.\d+)-linux-amd64", text)
    makefile = re.search(r"^HELM_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert helm and makefile and helm[1] == makefile[1], "the EE's helm is the one development uses"
