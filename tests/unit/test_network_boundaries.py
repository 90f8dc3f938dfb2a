"""Every namespace the platform creates is closed by default and carries its Pod Security level.

The objects are those the roles apply: each role's namespace declaration (its defaults and vars,
``ingress_certmanager``'s ``namespaces.yml.j2``) rendered through the shared
``roles/gitops/templates/platform-namespaces.yml.j2`` by Ansible itself, and Tekton's namespaces
from the release manifest through the role's own ``tasks/transform.yml``.

The NetworkPolicies are then evaluated as a reachability matrix with the semantics of
https://kubernetes.io/docs/concepts/services-networking/network-policies/ : a pod is isolated for
ingress when any NetworkPolicy in its namespace selects it and lists ``Ingress`` in its
``policyTypes``; a connection to an isolated pod is allowed when at least one ingress rule of any
policy selecting it matches both the source (a rule without ``from`` matches every source; a peer
with ``namespaceSelector`` and ``podSelector`` matches pods selected by both; a ``podSelector``
alone means the policy's own namespace) and the port (a rule without ``ports`` matches every port;
a named port matches the container port of that name). The pods are modelled with the labels and
container ports of the upstream charts and manifests at the pinned versions (Tekton's from the
release files in ``sandbox/releases``, which are upstream's), the namespaces with the
``kubernetes.io/metadata.name`` label the API server sets on every namespace (since 1.22).

The API server of a DOKS cluster is a managed control plane outside the pod network: it calls
admission webhooks from an address no pod or namespace selector matches, modelled as ``API``.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.role_render import ROOT, ansible_playbook

ROLES = ("gitops", "auth0_apps", "ingress_certmanager", "observability", "tekton", "argocd", "lofi_pipeline")
TEKTON_RELEASE = ROOT / "sandbox/releases/tekton-releases/pipeline/previous/v1.15.0/release.yaml"

PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files: {vars_files}
  tasks:
    - name: Render the namespaces and NetworkPolicies of every role
      ansible.builtin.copy:
        dest: "{out}/{{{{ item.key }}}}.json"
        content: >-
          {{{{ lookup('ansible.builtin.template', '{shared}',
                      template_vars={{'gitops_platform_namespaces': item.value.namespaces,
                                     'gitops_platform_namespaces_kinds': item.value.kinds}}) | from_yaml | to_json }}}}
        mode: "0600"
      loop: "{{{{ rendered | dict2items }}}}"
      loop_control:
        label: "{{{{ item.key }}}}"
      vars:
        rendered:
          ingress_certmanager:
            namespaces: "{{{{ lookup('ansible.builtin.template', '{icm}') | from_yaml }}}}"
            kinds: [Namespace, NetworkPolicy]
          observability: {{namespaces: "{{{{ observability_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          argocd: {{namespaces: "{{{{ argocd_namespaces_declared }}}}", kinds: [Namespace, NetworkPolicy]}}
          tekton: {{namespaces: "{{{{ tekton_namespaces_declared }}}}", kinds: [NetworkPolicy]}}
          lofi_pipeline:
            namespaces: "{{{{ lofi_pipeline_pipeline_namespaces_declared }}}}"
            kinds: [NetworkPolicy]

    - name: Transform Tekton's Pipelines release like the role does
      ansible.builtin.include_tasks: {transform}
      vars:
        tekton_raw: {{content: "{release_b64}"}}
        tekton_component: {{name: pipeline}}
        tekton_file: release.yaml

    - name: Write the namespaces of Tekton's release
      ansible.builtin.copy:
        dest: "{out}/tekton_release.json"
        content: "{{{{ tekton_docs | selectattr('kind', 'eq', 'Namespace') | list | to_json }}}}"
        mode: "0600"
"""


def render(tmp_path: Path, variables: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The objects of each role (by role name) and of Tekton's release (``tekton_release``)."""
    out = tmp_path / "out"
    out.mkdir()
    vars_files = [str(ROOT / "roles" / role / "defaults/main.yml") for role in ROLES]
    vars_files += [str(p) for role in ROLES if (p := ROOT / "roles" / role / "vars/main.yml").exists()]
    vars_files.append(str(tmp_path / "app.yml"))
    # lofi_pipeline's per-application entry, as tasks/main.yml builds it for the default app
    (tmp_path / "app.yml").write_text(
        yaml.safe_dump({"lofi_pipeline_cur": {"name": "lofi", "app_namespace": "lofi", "pipeline_namespace": "lofi-ci"}})
    )
    (tmp_path / "play.yml").write_text(
        PLAY.format(
            vars_files=json.dumps(vars_files),
            out=out,
            shared=ROOT / "roles/gitops/templates/platform-namespaces.yml.j2",
            icm=ROOT / "roles/ingress_certmanager/templates/namespaces.yml.j2",
            transform=ROOT / "roles/tekton/tasks/transform.yml",
            release_b64=base64.b64encode(TEKTON_RELEASE.read_bytes()).decode(),
        )
    )
    (tmp_path / "extra.json").write_text(json.dumps(variables or {}))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"), "ANSIBLE_NOCOLOR": "1"}
    result = ansible_playbook(["play.yml", "-e", "@extra.json"], cwd=tmp_path, env=env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


def test_render_smoke(tmp_path: Path) -> None:
    got = render(tmp_path)
    print(json.dumps(got, indent=1))
    assert 0
