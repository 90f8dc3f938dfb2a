"""Install the built artifact the way a user does, and run it by FQCN: ``make install-check``.

1. A clean virtualenv (``.cache/install-check/venv-<version>``, created once and reused) with the
   lowest ansible-core that ``meta/runtime.yml`` claims (``requires_ansible: ">=2.19.0"`` →
   ansible-core 2.19.0 from PyPI) and nothing else.
2. The collections ``galaxy.yml`` depends on, as artifacts: Galaxy is out of reach here, so each
   one is packed from the copy the ``ansible`` package ships in the project's .venv (an
   installed collection keeps its MANIFEST.json and FILES.json, which is all an artifact is);
   ``ansible-galaxy`` checks their versions against galaxy.yml's ranges and their files against
   FILES.json while installing.
3. ``ansible-galaxy collection install --offline`` of the doks.gitops artifact
   (``.cache/build/``, from ``make build``) with those, into a temporary directory outside the
   repository; the installed tree must hold LICENSE and none of the dev-only trees.
4. From a directory outside the repository, with no ansible.cfg and only the installed
   collections on ANSIBLE_COLLECTIONS_PATH: ``ansible-doc`` of a module, the preflight action
   (refusing a bad domain by name), and the ``doks.gitops.doks_cluster`` role by FQCN in check
   mode against a sandbox of its own (its modules reach the DigitalOcean emulator through the
   ``group/doks.gitops.digitalocean`` action group of meta/runtime.yml).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from sandbox import client

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "install-check"
SANDBOX_STATE = CACHE / "sandbox"
DEV_COLLECTIONS = Path(sys.executable).parent.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
DEV_ONLY = ("tools", "tests", "molecule", "application", "docs", ".config", "inventories/sandbox")

PLAYBOOK = """
- name: Run doks.gitops from its installed artifact
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Validate the inventory with the installed roles' specs and defaults
      doks.gitops.preflight:
        roles: [gitops, doks_cluster]
        unknown_variables: false
      register: install_check_preflight
      ignore_errors: "{{ expect_preflight_failure | default(false) | bool }}"

    - name: Stop after the preflight case
      ansible.builtin.meta: end_play
      when: expect_preflight_failure | default(false) | bool

    - name: Preview the DOKS cluster with the role, by FQCN
      ansible.builtin.include_role:
        name: doks.gitops.doks_cluster
"""


def lowest_ansible_core() -> str:
    claim = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    match = re.fullmatch(r">=\s*(\d+\.\d+(\.\d+)?)(,.*)?", claim)
    if not match:
        raise SystemExit(f"meta/runtime.yml requires_ansible {claim!r} has no lower bound >=X.Y[.Z]")
    version = match.group(1)
    return version if match.group(2) else f"{version}.0"


def run(cmd: list[str], allow_failure: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900, **kwargs)
    if result.returncode != 0 and not allow_failure:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result


def venv(core: str) -> Path:
    """The clean virtualenv with ansible-core ``core`` only; reused while its stamp matches."""
    path = CACHE / f"venv-{core}"
    stamp = path / ".stamp"
    if stamp.is_file() and stamp.read_text() == core:
        return path
    run([sys.executable, "-m", "venv", "--clear", str(path)])
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"ansible-core=={core}"])
    version = run([str(path / "bin" / "ansible"), "--version"]).stdout.splitlines()[0]
    if f"[core {core}]" not in version:
        raise SystemExit(f"the clean venv runs {version!r}, not ansible-core {core}")
    stamp.write_text(core)
    return path


def _site_collections() -> Path:
    found = sorted(DEV_COLLECTIONS.glob("site-packages/ansible_collections"))
    if not found:
        raise SystemExit(f"no ansible_collections under {DEV_COLLECTIONS}: run make setup")
    return found[0]


def dependency_artifacts() -> list[Path]:
    """An artifact per galaxy.yml dependency, packed from the collection the ansible package ships."""
    deps = yaml.safe_load((ROOT / "galaxy.yml").read_text()).get("dependencies") or {}
    out = CACHE / "deps"
    out.mkdir(parents=True, exist_ok=True)
    artifacts = []
    for fqcn in sorted(deps):
        namespace, name = fqcn.split(".")
        source = _site_collections() / namespace / name
        version = json.loads((source / "MANIFEST.json").read_text())["collection_info"]["version"]
        artifact = out / f"{namespace}-{name}-{version}.tar.gz"
        if not artifact.is_file():
            pack(source, artifact)
        artifacts.append(artifact)
    return artifacts


def pack(source: Path, artifact: Path) -> None:
    """Pack an installed collection as an artifact: its MANIFEST.json, and a FILES.json of the files present.

    The ``ansible`` package drops some files its collections list (``.github/``...): FILES.json keeps
    only those present, each with the checksum of its bytes, and MANIFEST.json the checksum of that
    FILES.json, so ansible-galaxy's install-time verification holds for exactly what ships.
    """
    files = json.loads((source / "FILES.json").read_text())
    kept = [e for e in files["files"] if e["name"] == "." or (source / e["name"]).exists()]
    for entry in kept:
        if entry["ftype"] == "file":
            entry["chksum_sha256"] = hashlib.sha256((source / entry["name"]).read_bytes()).hexdigest()
    files_json = json.dumps({**files, "files": kept}, indent=4).encode()
    manifest = json.loads((source / "MANIFEST.json").read_text())
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    with tarfile.open(artifact, "w:gz") as tar:
        for name, data in (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for entry in kept:
            if entry["name"] != ".":
                tar.add(source / entry["name"], arcname=entry["name"], recursive=False)


def own_artifact() -> Path:
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    artifact = ROOT / ".cache" / "build" / f"doks-gitops-{version}.tar.gz"
    if not artifact.is_file():
        raise SystemExit(f"{artifact} is missing: run make build")
    return artifact


def check_installed_tree(collections: Path) -> None:
    tree = collections / "ansible_collections" / "doks" / "gitops"
    missing = [
        name for name in ("LICENSE", "README.md", "meta/runtime.yml", "MANIFEST.json") if not (tree / name).exists()
    ]
    shipped = [name for name in DEV_ONLY if (tree / name).exists()]
    if missing or shipped:
        raise SystemExit(f"installed doks.gitops lacks {missing} or ships dev-only {shipped}")


def clean_env(venv_path: Path, collections: Path, home: Path) -> dict[str, str]:
    """No ansible.cfg, no developer collections, no shell secrets: only the clean venv and the install."""
    return {
        "PATH": f"{venv_path / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "LANG": "C.UTF-8",
    }


def sandbox_vars(work: Path) -> Path:
    endpoints = json.loads((SANDBOX_STATE / "endpoints.json").read_text())
    values = {
        "gitops_domain": "install-check.example.com",
        "doks_cluster_name": "install-check",
        "doks_cluster_api_url": endpoints["digitalocean"]["url"],
        "doks_cluster_api_token": endpoints["digitalocean"]["token"],
        "doks_cluster_ca_path": endpoints["ca_bundle"],
        "doks_cluster_region": endpoints["spaces"]["region"],
        "doks_cluster_spaces_enabled": False,
        "gitops_kubeconfig": str(work / "install-check.kubeconfig"),
    }
    path = work / "sandbox-vars.json"
    path.write_text(json.dumps(values))
    return path


def playbook(venv_path: Path, env: dict[str, str], work: Path, *args: str) -> str:
    result = run(
        [str(venv_path / "bin" / "ansible-playbook"), "-i", "localhost,", "play.yml", *args],
        cwd=work,
        env=env,
        allow_failure=True,
    )
    return f"rc={result.returncode}\n{result.stdout}{result.stderr}"


def main() -> None:
    started = time.monotonic()
    core = lowest_ansible_core()
    venv_path = venv(core)
    print(f"install-check: clean venv with ansible-core {core} ready ({time.monotonic() - started:.1f}s)")
    with tempfile.TemporaryDirectory(prefix="doks-gitops-install-") as tmp:
        work = Path(tmp)
        collections = work / "collections"
        galaxy = [str(venv_path / "bin" / "ansible-galaxy"), "collection", "install", "--offline", "-p"]
        env = clean_env(venv_path, collections, work)
        run([*galaxy, str(collections), str(own_artifact()), *map(str, dependency_artifacts())], cwd=work, env=env)
        check_installed_tree(collections)
        listed = run([str(venv_path / "bin" / "ansible-galaxy"), "collection", "list"], cwd=work, env=env).stdout
        print(f"install-check: installed from the artifact ({time.monotonic() - started:.1f}s)\n{listed}")
        run([str(venv_path / "bin" / "ansible-doc"), "doks.gitops.doks_cluster"], cwd=work, env=env)
        (work / "play.yml").write_text(PLAYBOOK)
        extra = f"@{sandbox_vars_or_start(work)}"
        bad = playbook(
            venv_path, env, work, "-e", extra, "-e", "gitops_domain=Bad_Domain", "-e", "expect_preflight_failure=true"
        )
        if not bad.startswith("rc=0") or "- gitops_domain:" not in bad:
            raise SystemExit(f"preflight from the artifact did not refuse gitops_domain by name:\n{bad[-4000:]}")
        good = playbook(venv_path, env, work, "-e", extra, "--check")
        if not good.startswith("rc=0") or "failed=0" not in good or "doks.gitops.doks_cluster :" not in good:
            raise SystemExit(f"doks.gitops.doks_cluster from the artifact failed in check mode:\n{good[-4000:]}")
        print("install-check:", *re.findall(r"^localhost\s+:.*$", good, re.MULTILINE))
    print(f"install-check: passed in {time.monotonic() - started:.1f}s")


def sandbox_vars_or_start(work: Path) -> Path:
    client.cli("up", SANDBOX_STATE)
    return sandbox_vars(work)


if __name__ == "__main__":
    try:
        main()
    finally:
        if os.environ.get("INSTALL_CHECK_KEEP_SANDBOX") != "1":
            client.cli("down", SANDBOX_STATE, check=False)
