"""The chains-config the tekton role writes uses only keys and values Tekton Chains documents.

The judge is the configuration reference of the pinned release, tektoncd/chains v0.29.2
``docs/config.md`` ("Chains Configuration": the TaskRun, PipelineRun, OCI, KMS, Storage, In-toto,
Transparency Log, Fulcio and KMS OIDC/Spire tables): ``DOCUMENTED`` is its key column, each with its
"Supported Values" column where that column enumerates them (``None`` for free-form values such as
URLs). Chains ignores an unknown key silently and falls back to its default (``in-toto``/``tekton``
storage), so a misspelt key would quietly drop the provenance from the registry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf

from sandbox.artifacts import RELEASES_SOURCE, release_checksums
from tests.unit.role_render import ROOT, outputs, render_role

STORAGE = {"tekton", "oci", "gcs", "docdb", "grafeas", "archivista"}
FORMATS = {"in-toto", "slsa/v1", "slsa/v2alpha3", "slsa/v2alpha4"}
SIGNERS = {"x509", "kms", "none"}
BOOL = {"true", "false"}
# docs/config.md at v0.29.2, key -> supported values (None: free-form, e.g. a URL or a path).
DOCUMENTED: dict[str, set[str] | None] = {
    "artifacts.taskrun.format": FORMATS,
    "artifacts.taskrun.storage": STORAGE,
    "artifacts.taskrun.signer": SIGNERS,
    "artifacts.pipelinerun.format": FORMATS,
    "artifacts.pipelinerun.storage": STORAGE,
    "artifacts.pipelinerun.signer": SIGNERS,
    "artifacts.pipelinerun.enable-deep-inspection": BOOL,
    "artifacts.oci.format": {"simplesigning"},
    "artifacts.oci.storage": {"tekton", "oci", "gcs", "docdb", "grafeas"},
    "artifacts.oci.signer": SIGNERS,
    "signers.kms.kmsref": None,
    "storage.gcs.bucket": None,
    "storage.oci.repository": None,
    "storage.oci.repository.insecure": BOOL,
    "storage.oci.encoding-format": {"dsse", "sigstore-bundle"},
    "storage.docdb.url": None,
    "storage.docdb.mongo-server-url": None,
    "storage.docdb.mongo-server-url-dir": None,
    "storage.docdb.mongo-server-url-path": None,
    "storage.grafeas.projectid": None,
    "storage.grafeas.noteid": None,
    "storage.grafeas.notehint": None,
    "storage.archivista.url": None,
    "builder.id": None,
    "builddefinition.buildtype": {"https://tekton.dev/chains/v2/slsa", "https://tekton.dev/chains/v2/slsa-tekton"},
    "transparency.enabled": {"true", "false", "manual"},
    "transparency.url": None,
    "signers.x509.fulcio.enabled": BOOL,
    "signers.x509.fulcio.address": None,
    "signers.x509.fulcio.issuer": None,
    "signers.x509.fulcio.provider": {"google", "spiffe", "github", "filesystem"},
    "signers.x509.identity.token.file": None,
    "signers.x509.tuf.mirror.url": None,
    "signers.kms.auth.address": None,
    "signers.kms.auth.token": None,
    "signers.kms.auth.token-path": None,
    "signers.kms.auth.oidc.path": None,
    "signers.kms.auth.oidc.role": None,
    "signers.kms.auth.oidc.token-path": None,
    "signers.kms.auth.spire.sock": None,
    "signers.kms.auth.spire.audience": None,
}
# "Multiple backends can be specified with comma-separated list"; "" disables the artifact.
LISTS = {"artifacts.taskrun.storage", "artifacts.pipelinerun.storage", "artifacts.oci.storage"}
# slsa/v2alpha3 and slsa/v2alpha4 "correspond to the slsav1.0 spec"; slsa/v1 is an alias of in-toto.
SLSA_V1_0 = {"slsa/v2alpha3", "slsa/v2alpha4"}

TASKS = """
    - name: Write chains-config as the role's transform sets it on the Chains release
      ansible.builtin.copy:
        dest: "{out}/chains.json"
        content: >-
          {{{{ (lookup('ansible.builtin.file', '{release}') | from_yaml_all | select | list
               | doks.gitops.k8s_configmap_data('chains-config', tekton_chains_config_data)
               | selectattr('kind', 'eq', 'ConfigMap') | selectattr('metadata.name', 'eq', 'chains-config')
               | first).data | to_json }}}}
        mode: "0600"
"""


def chains_config(tmp_path: Path, **variables: Any) -> dict[str, str]:
    release = RELEASES_SOURCE / "tekton-releases/chains/previous/v0.29.2/release.yaml"
    result = render_role(
        tmp_path,
        "tekton",
        TASKS,
        {"tekton_release_sha256": release_checksums(RELEASES_SOURCE)["tekton-releases"], **variables},
        play_vars=yaml.safe_load((ROOT / "roles/tekton/vars/main.yml").read_text()),
        release=release,
    )
    return outputs(tmp_path, result)["chains"]


def illegal(data: dict[str, str]) -> list[str]:
    found = []
    for key, value in data.items():
        if key not in DOCUMENTED:
            found.append(f"{key}: not a documented key")
            continue
        allowed = DOCUMENTED[key]
        values = [v.strip() for v in value.split(",")] if key in LISTS and value else [value]
        if allowed is not None and not (key in LISTS and value == "") and not set(values) <= allowed:
            found.append(f"{key}: {value!r} not in {sorted(allowed)}")
    return found


def test_the_default_chains_config_is_documented_slsa_v1_0_in_oci_signed_offline(tmp_path: Path) -> None:
    data = chains_config(tmp_path)
    assert illegal(data) == []
    assert data["artifacts.pipelinerun.format"] in SLSA_V1_0
    assert data["artifacts.taskrun.format"] in SLSA_V1_0
    assert "oci" in data["artifacts.pipelinerun.storage"].split(",")
    assert "oci" in data["artifacts.oci.storage"].split(",")
    assert {data[f"artifacts.{a}.signer"] for a in ("taskrun", "pipelinerun", "oci")} == {"x509"}
    assert data["transparency.enabled"] == "false"  # no Rekor upload: the key-based path works offline
    assert data.get("signers.x509.fulcio.enabled", "false") == "false"


def test_inventory_keys_merge_and_null_drops_a_key(tmp_path: Path) -> None:
    data = chains_config(
        tmp_path, tekton_chains_config={"artifacts.taskrun.storage": None, "storage.oci.repository": "r.example/att"}
    )
    assert "artifacts.taskrun.storage" not in data
    assert data["storage.oci.repository"] == "r.example/att"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"artifacts.taskrun.formats": "slsa/v2alpha4"}, "not a documented key"),
        ({"artifacts.pipelinerun.format": "slsa/v1.0"}, "not in"),
        ({"artifacts.oci.storage": "oci,s3"}, "not in"),
        ({"transparency.enabled": "yes"}, "not in"),
    ],
)
def test_the_judge_refuses_undocumented_keys_and_values(data: dict[str, str], problem: str) -> None:
    (found,) = illegal(data)
    assert problem in found


def test_preflight_refuses_a_public_key_configmap_that_is_no_object_name() -> None:
    """ConfigMap names are DNS subdomains (RFC 1123; kubernetes.io docs/concepts/overview/working-with-objects/names)."""

    def getter(**over: Any) -> pf.Getter:
        values = {**yaml.safe_load((ROOT / "roles/tekton/defaults/main.yml").read_text()), **over}
        return lambda name, default=None: values.get(name, default)

    assert [p.variable for p in pf.check_tekton_settings(getter())] == []
    bad = pf.check_tekton_settings(getter(tekton_chains_public_key_configmap="Chains_Key"))
    assert [p.variable for p in bad] == ["tekton_chains_public_key_configmap"]
    assert pf.check_tekton_settings(getter(tekton_chains_public_key_configmap="x_", tekton_chains_enabled=False)) == []
