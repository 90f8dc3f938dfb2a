"""The doks_cluster role's Spaces steps (tasks/spaces.yml) against the sandbox: key rotation.

DigitalOcean can change only the name of a Spaces key ("You can only update the name of the
key", github.com/digitalocean/openapi, specification/resources/spaces/key_update.yml and
key_patch.yml). When the bucket changes, the role must therefore make a new key with the new
grant, store its secret in the Secret Loki reads, and only then delete the old key.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sandbox import client as sb
from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import outputs, render_role, run_local_play

pytestmark = pytest.mark.sandbox

PLAY = """
- name: Converge the Spaces steps of doks_cluster
  hosts: all
  gather_facts: false
  module_defaults:
    group/doks.gitops.digitalocean:
      api_url: "{{ sandbox_do_url }}"
      api_token: "{{ sandbox_do_token }}"
      ca_path: "{{ doks_cluster_ca_path }}"
    # as the role's body sets it for spaces.yml (meta/runtime.yml, group kubernetes)
    group/doks.gitops.kubernetes:
      kubeconfig: "{{ doks_cluster_kubeconfig_path }}"
  tasks:
    - name: Run tasks/spaces.yml of the role
      ansible.builtin.include_role:
        name: doks.gitops.doks_cluster
        tasks_from: spaces.yml
"""


def converge(do: DoSandbox, tmp_path: Path, bucket: str, *flags: str) -> dict[str, int]:
    """Run the role's Spaces steps for ``bucket``; the play recap's counts."""
    endpoints = do.endpoints
    extra = {
        "sandbox_do_url": do.url,
        "sandbox_do_token": do.token,
        "gitops_kubeconfig": endpoints["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": endpoints["ca_bundle"],
        "gitops_domain": "example.com",
        "doks_cluster_name": "c1",
        "doks_cluster_ca_path": endpoints["ca_bundle"],
        "doks_cluster_spaces_bucket": bucket,
        "doks_cluster_spaces_endpoint": endpoints["spaces"]["url"],
        "doks_cluster_spaces_region": endpoints["spaces"]["region"],
        "doks_cluster_spaces_access_key_id": "sandbox-admin",
        "doks_cluster_spaces_secret_access_key": "sandbox-admin-not-a-secret",
    }
    recap, printed = run_local_play(
        tmp_path, PLAY, extra, *flags, never_printed=("secret_key", "AWS_SECRET_ACCESS_KEY: ")
    )
    (tmp_path / "last.out").write_text(printed)
    return recap


def checked_out(tmp_path: Path) -> str:
    """What the last converge printed."""
    return (tmp_path / "last.out").read_text()


def stored(do: DoSandbox) -> tuple[str, str]:
    """Access key id and secret in the Secret observability/loki-spaces."""
    api = k8s_client.CoreV1Api(k8s_config.new_client_from_config(do.endpoints["kubernetes"]["kubeconfig"]))
    data = api.read_namespaced_secret("loki-spaces", "observability").data
    return base64.b64decode(data["AWS_ACCESS_KEY_ID"]).decode(), base64.b64decode(
        data["AWS_SECRET_ACCESS_KEY"]
    ).decode()


def keys(do: DoSandbox) -> list[dict[str, Any]]:
    return do.api("GET", "/v2/spaces/keys?name=c1-loki")["keys"]


def test_a_new_bucket_rotates_the_key_stores_it_then_deletes_the_old_one(do: DoSandbox, tmp_path: Path) -> None:
    converge(do, tmp_path, "c1-logs")
    first = stored(do)
    assert [k["access_key"] for k in keys(do)] == [first[0]]

    # --check --diff: the rotation is reported, nothing is written anywhere
    mark, kube_mark = do.mark(), sb.last_seq(do.endpoints, "kubernetes")
    checked = converge(do, tmp_path, "c1-archive", "--check", "--diff")
    assert checked["changed"] >= 1
    assert do.writes(mark) == []
    assert [e for e in sb.requests(do.endpoints, "kubernetes", kube_mark) if e["method"] != "GET"] == []
    assert stored(do) == first
    # the key task shows its grants before and after (check mode returns no secret to hide)
    assert re.search(r"^-\s+-\s+bucket: c1-logs$", checked_out(tmp_path), re.MULTILINE)
    assert re.search(r"^\+\s+-\s+bucket: c1-archive$", checked_out(tmp_path), re.MULTILINE)

    # the bucket changes: a new key with the new grant, never a PUT of grants
    mark, kube_mark = do.mark(), sb.last_seq(do.endpoints, "kubernetes")
    converge(do, tmp_path, "c1-archive")
    writes = do.writes(mark)
    assert [(m, p.rsplit("/", 1)[-1] if m == "DELETE" else p) for m, p, _s in writes] == [
        ("POST", "/v2/spaces/keys"),
        ("DELETE", first[0]),
    ]
    second = stored(do)
    assert second[0] != first[0]
    assert [(k["access_key"], k["grants"]) for k in keys(do)] == [
        (second[0], [{"bucket": "c1-archive", "permission": "readwrite"}])
    ]
    # the Secret was written before the old key was deleted: Loki always has a working key
    secret_write = max(
        e["time"]
        for e in sb.requests(do.endpoints, "kubernetes", kube_mark)
        if e["method"] != "GET" and "/secrets" in e["path"]
    )
    delete = next(e["time"] for e in do.log(mark) if e["method"] == "DELETE")
    assert secret_write < delete
    # the stored key works in the new bucket; the old one is gone
    do.s3(second).put_object(Bucket="c1-archive", Key="chunk", Body=b"x")
    with pytest.raises(ClientError) as err:
        do.s3(first).list_buckets()
    assert err.value.response["Error"]["Code"] == "InvalidAccessKeyId"

    # and a second run changes nothing
    mark = do.mark()
    assert converge(do, tmp_path, "c1-archive")["changed"] == 0
    assert do.writes(mark) == []


LOKI_TASKS = """
    - name: Render Loki's values
      ansible.builtin.copy:
        dest: "{out}/loki.json"
        content: "{{{{ lookup('ansible.builtin.template', 'loki-values.yml.j2') | from_yaml | to_json }}}}"
        mode: "0600"
"""


def loki_annotations(tmp_path: Path, access_key: str | None) -> dict[str, str]:
    play_vars: dict[str, Any] = {}
    if access_key is not None:
        data = {"AWS_ACCESS_KEY_ID": base64.b64encode(access_key.encode()).decode(), "AWS_SECRET_ACCESS_KEY": "eA=="}
        play_vars["_observability_spaces_secret"] = {"resources": [{"data": data}]}
    variables = {"doks_cluster_spaces_bucket": "logs", "doks_cluster_region": "fra1", "gitops_sso_enabled": False}
    result = render_role(tmp_path, "observability", LOKI_TASKS, variables, play_vars)
    return outputs(tmp_path, result)["loki"]["singleBinary"]["podAnnotations"]


def test_a_rotated_key_rolls_loki(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Loki takes the key from its environment (extraEnvFrom), read at start only; the rotation
    deletes the old key once the new one is stored, so a new key must change Loki's pod template
    (the chart's own checksum/config covers the config file, not the environment)."""
    first = loki_annotations(tmp_path_factory.mktemp("k1"), "DOFIRSTKEY0000000001")
    again = loki_annotations(tmp_path_factory.mktemp("k1b"), "DOFIRSTKEY0000000001")
    second = loki_annotations(tmp_path_factory.mktemp("k2"), "DOSECONDKEY000000002")
    assert first == again and first != second
    assert "DOFIRSTKEY" not in json.dumps(first)
    assert loki_annotations(tmp_path_factory.mktemp("none"), None)["doks.gitops/spaces-key"]
