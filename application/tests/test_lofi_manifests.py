"""The application/ charts, rendered with test values and checked against the resources' APIs.

The structural checks follow the upstream API references: Tekton Pipelines v1 (Pipeline, Task,
PipelineRun), Tekton Triggers v1beta1 (EventListener, TriggerBinding, TriggerTemplate), Argo CD
v1alpha1 Application, and Kubernetes apps/v1, networking.k8s.io/v1, policy/v1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from lofi_cel import compile_filter, matches
from lofi_charts import (
    APP_VALUES,
    APPLICATION,
    APPS_VALUES,
    DIGEST,
    GITHUB_EXAMPLES,
    PIPELINE_VALUES,
    helm_run,
    helm_template,
)

# ---------------------------------------------------------------- rendering

# git-clone v1.7.0 (tektoncd-catalog/git-clone, task/git-clone/git-clone.yaml): its interface
GIT_CLONE_PARAMS = {
    "url",
    "revision",
    "refspec",
    "submodules",
    "submodulePaths",
    "depth",
    "sslVerify",
    "crtFileName",
    "subdirectory",
    "sparseCheckoutDirectories",
    "deleteExisting",
    "httpProxy",
    "httpsProxy",
    "noProxy",
    "verbose",
    "userFriendlyErrors",
    "gitInitImage",
    "userHome",
}
GIT_CLONE_RESULTS = {"commit", "url", "committer-date"}
GIT_CLONE_WORKSPACES = {"output", "ssh-directory", "basic-auth", "ssl-ca-directory"}
GIT_CLONE_OPTIONAL_WORKSPACES = {"ssh-directory", "basic-auth", "ssl-ca-directory"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, helm: Path) -> dict[str, list[dict]]:
    tmp = tmp_path_factory.mktemp("charts")
    return {
        "deployment": helm_template(
            "deployment", {**APP_VALUES, "image": {**APP_VALUES["image"], "digest": DIGEST}}, tmp, release="lofi"
        ),
        "tekton": helm_template("tekton", PIPELINE_VALUES, tmp, release="lofi-pipeline"),
        "argocd": helm_template("argocd", APPS_VALUES, tmp, release="lofi-apps"),
    }


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) pair in a nested structure, keys included as path segments."""
    items = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            items += walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            items += walk(value, f"{path}[{index}]")
    return items


def refs(text: str, prefix: str) -> set[str]:
    """Names used in $(prefix.NAME...) substitutions."""
    return set(re.findall(rf"\$\({re.escape(prefix)}\.([A-Za-z0-9_-]+)", text))


def tekton_objects(rendered: dict[str, list[dict]]) -> list[dict]:
    """Every Tekton object, including the PipelineRuns inside TriggerTemplates."""
    docs = list(rendered["tekton"])
    for template in by_kind(docs, "TriggerTemplate"):
        docs += template["spec"]["resourcetemplates"]
    return docs


# ---------------------------------------------------------------- API versions and removed features

API_VERSIONS = {
    "Pipeline": "tekton.dev/v1",
    "Task": "tekton.dev/v1",
    "PipelineRun": "tekton.dev/v1",
    "EventListener": "triggers.tekton.dev/v1beta1",
    "TriggerBinding": "triggers.tekton.dev/v1beta1",
    "TriggerTemplate": "triggers.tekton.dev/v1beta1",
    "Application": "argoproj.io/v1alpha1",
    "Deployment": "apps/v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Ingress": "networking.k8s.io/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
}


def test_every_object_uses_the_current_api_version(rendered) -> None:
    kinds = set()
    for docs in (*rendered.values(), tekton_objects(rendered)):
        for doc in docs:
            assert doc["apiVersion"] == API_VERSIONS[doc["kind"]], f"{doc['kind']} {doc['metadata']}"
            kinds.add(doc["kind"])
    assert kinds == set(API_VERSIONS), f"missing kinds: {set(API_VERSIONS) - kinds}"


def test_no_removed_tekton_features(rendered) -> None:
    """No taskRef.bundle (removed in v1), no PipelineResources, no v1beta1 field names."""
    for doc in tekton_objects(rendered):
        assert doc["kind"] != "PipelineResource"
        if doc["kind"] in ("Pipeline", "Task", "PipelineRun"):
            assert "resources" not in doc["spec"], "PipelineResources were removed"
        for path, value in walk(doc):
            assert not path.endswith(".bundle"), f"{doc['kind']}: `bundle:` key at {path}"
            if path.endswith(".steps") or path.endswith(".sidecars"):
                for step in value:
                    assert "resources" not in step, "v1 steps use computeResources"
        if doc["kind"] == "PipelineRun":
            assert "serviceAccountName" not in doc["spec"], "v1 moved it to taskRunTemplate"
            assert "timeout" not in doc["spec"], "v1 uses timeouts"
    text = json.dumps([d for docs in rendered.values() for d in docs])
    assert "gcr.io/kaniko-project" not in text and "gcr.io/tekton-releases" not in text


# ---------------------------------------------------------------- Tekton structure


def _check_params(declared: list[dict]) -> dict[str, dict]:
    names = [p["name"] for p in declared]
    assert len(names) == len(set(names)), f"duplicate params {names}"
    for param in declared:
        assert param.get("type", "string") in ("string", "array", "object")
    return {p["name"]: p for p in declared}


def _check_task(task: dict) -> None:
    spec = task["spec"]
    assert task["metadata"]["name"]
    assert spec["steps"], "a Task needs steps"
    params = _check_params(spec.get("params", []))
    results = {r["name"] for r in spec.get("results", [])}
    workspaces = {w["name"] for w in spec.get("workspaces", [])}
    volumes = {v["name"] for v in spec.get("volumes", [])}
    step_names = [s["name"] for s in spec["steps"]]
    assert len(step_names) == len(set(step_names))
    for step in spec["steps"]:
        assert step["image"], f"step {step['name']} has no image"
        assert not ("script" in step and "command" in step), "Tekton rejects script together with command"
        assert "script" in step or "command" in step
        for mount in step.get("volumeMounts", []):
            assert mount["name"] in volumes
    text = json.dumps(spec)
    assert refs(text, "params") <= set(params), "undeclared param used"
    assert refs(text, "results") <= results, "undeclared result used"
    assert refs(text, "workspaces") <= workspaces, "undeclared workspace used"


def test_tasks_are_well_formed(rendered) -> None:
    tasks = by_kind(rendered["tekton"], "Task")
    assert {t["metadata"]["name"] for t in tasks} == {"lofi-lint-test", "lofi-build", "lofi-scan", "lofi-promote"}
    for task in tasks:
        _check_task(task)


def _task_interface(rendered, pipeline_task: dict) -> tuple[set[str], set[str], set[str], set[str]]:
    """(params, required params, results, workspaces) of the Task a pipeline task runs."""
    ref = pipeline_task["taskRef"]
    if "resolver" in ref:
        params = {p["name"]: p["value"] for p in ref["params"]}
        assert ref["resolver"] == "bundles"
        assert params["name"] == "git-clone" and params["kind"] == "task"
        assert re.fullmatch(r"ghcr\.io/tektoncd-catalog/git-clone/bundle:v\d+\.\d+\.\d+", params["bundle"])
        return GIT_CLONE_PARAMS, {"url"}, GIT_CLONE_RESULTS, GIT_CLONE_WORKSPACES
    task = one(rendered["tekton"], "Task", ref["name"])["spec"]
    params = {p["name"] for p in task.get("params", [])}
    required = {p["name"] for p in task.get("params", []) if "default" not in p}
    results = {r["name"] for r in task.get("results", [])}
    return params, required, results, {w["name"] for w in task.get("workspaces", [])}


def test_pipeline_wires_tasks_params_results_and_workspaces(rendered) -> None:
    pipeline = one(rendered["tekton"], "Pipeline", "lofi-ci")["spec"]
    params = _check_params(pipeline["params"])
    workspaces = {w["name"] for w in pipeline["workspaces"]}
    tasks = {t["name"]: t for t in pipeline["tasks"]}
    assert list(tasks) == ["clone", "lint-test", "build", "scan", "promote"]
    assert refs(json.dumps(pipeline), "params") <= set(params)
    interfaces = {name: _task_interface(rendered, task) for name, task in tasks.items()}
    for name, task in tasks.items():
        assert ("taskRef" in task) != ("taskSpec" in task)
        task_params, required, _, task_workspaces = interfaces[name]
        given = {p["name"] for p in task.get("params", [])}
        assert given <= task_params, f"{name}: unknown params {given - task_params}"
        assert required <= given, f"{name}: missing params {required - given}"
        for binding in task.get("workspaces", []):
            assert binding["name"] in task_workspaces and binding["workspace"] in workspaces
        for previous in task.get("runAfter", []):
            assert list(tasks).index(previous) < list(tasks).index(name)
        for when in task.get("when", []):
            assert set(when) == {"input", "operator", "values"} and when["operator"] in ("in", "notin")
        # $(tasks.X.results.Y) names a real result of an earlier task
        for producer, result in re.findall(r"\$\(tasks\.([a-z-]+)\.results\.([A-Za-z_-]+)\)", json.dumps(task)):
            assert result in interfaces[producer][2], f"{name}: {producer} has no result {result}"
    for result in pipeline["results"]:
        producer, name = re.fullmatch(r"\$\(tasks\.([a-z-]+)\.results\.([A-Za-z_-]+)\)", result["value"]).groups()
        assert name in interfaces[producer][2]


def test_promote_runs_only_for_pushed_images(rendered) -> None:
    promote = next(t for t in one(rendered["tekton"], "Pipeline")["spec"]["tasks"] if t["name"] == "promote")
    assert {"input": "$(params.promote)", "operator": "in", "values": ["true"]} in promote["when"]
    assert {"input": "$(params.no-push)", "operator": "in", "values": ["false"]} in promote["when"]
    params = {p["name"]: p["value"] for p in promote["params"]}
    assert params["image-digest"] == "$(tasks.scan.results.IMAGE_DIGEST)", "the digest the scan passed"
    assert promote["runAfter"] == ["scan"]
    assert params["source-revision"] == "$(tasks.clone.results.commit)"
    assert params["values-file"] == "$(params.values-file)"
    defaults = {p["name"]: p.get("default") for p in one(rendered["tekton"], "Pipeline")["spec"]["params"]}
    assert defaults["values-file"] == "application/deployment/environments/test-env/values.yaml"
    assert defaults["gitops-url"] == PIPELINE_VALUES["gitops"]["url"]
    assert defaults["gitops-branch"] == "test-gitops-branch"


def test_build_uses_the_maintained_kaniko_reproducibly(rendered) -> None:
    task = one(rendered["tekton"], "Task", "lofi-build")["spec"]
    build = task["steps"][0]
    assert build["image"] == "ghcr.io/osscontainertools/kaniko:v1.28.3"
    args = build["args"]
    assert "--dockerfile=$(workspaces.source.path)/$(params.context)/Dockerfile" in args
    assert "--context=dir://$(workspaces.source.path)/$(params.context)" in args
    assert "--destination=$(params.image)" in args
    assert "--digest-file=$(results.IMAGE_DIGEST.path)" in args
    assert "--reproducible" in args and "--no-push=$(params.no-push)" in args
    assert {r["name"] for r in task["results"]} == {"IMAGE_DIGEST", "IMAGE_URL"}
    assert "$(results.IMAGE_URL.path)" in task["steps"][1]["script"]
    pipeline_build = next(t for t in one(rendered["tekton"], "Pipeline")["spec"]["tasks"] if t["name"] == "build")
    image = next(p["value"] for p in pipeline_build["params"] if p["name"] == "image")
    assert image == "$(params.image-repository):$(tasks.clone.results.commit)", "tagged by commit, never latest"


# What kaniko needs besides root (GoogleContainerTools/kaniko#778 and #1171, shipwright-io/build#93 and
# #118): chown/chmod the unpacked layers, write into read-only directories, RUN after USER. All of them
# are in the Pod Security "baseline" allowed set (kubernetes.io/docs/concepts/security/pod-security-standards).
KANIKO_CAPABILITIES = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"}
BASELINE_CAPABILITIES = KANIKO_CAPABILITIES | {
    "AUDIT_WRITE",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETPCAP",
    "SYS_CHROOT",
}


def test_build_step_gets_the_least_root_kaniko_needs(rendered) -> None:
    """kaniko runs as root (it has no rootless mode) with every capability dropped but the five it needs,
    no privilege escalation and the runtime's seccomp profile; every other step of our Tasks is non-root
    with no capability (the Pod Security "restricted" rules for a container)."""
    for task in by_kind(rendered["tekton"], "Task"):
        for step in task["spec"]["steps"]:
            security = step["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}
            assert security["capabilities"]["drop"] == ["ALL"]
            assert "privileged" not in security
            if step["image"].startswith("ghcr.io/osscontainertools/kaniko:"):
                assert security["runAsUser"] == 0 and security["runAsNonRoot"] is False
                assert set(security["capabilities"]["add"]) == KANIKO_CAPABILITIES
                assert set(security["capabilities"]["add"]) <= BASELINE_CAPABILITIES
            else:
                assert security["runAsNonRoot"] is True and security["runAsUser"] == 65532
                assert "add" not in security["capabilities"], f"{task['metadata']['name']}/{step['name']}"


def test_run_pods_take_no_traffic_and_send_only_dns_and_https(rendered) -> None:
    """The NetworkPolicy selects every pod of every run (Tekton copies a PipelineRun's labels to its
    TaskRuns and pods), admits nothing in, and lets out DNS to the cluster DNS and HTTPS to public
    addresses: not the cluster's or the VPC's private ranges (API server, platform Services)."""
    policy = one(rendered["tekton"], "NetworkPolicy", "lofi-ci-runs")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"} and not policy.get("ingress")
    for template in by_kind(rendered["tekton"], "TriggerTemplate"):
        labels = template["spec"]["resourcetemplates"][0]["metadata"]["labels"]
        assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    dns, https = policy["egress"]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    (block,) = https["to"]
    assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(block["ipBlock"]["except"])


def test_promote_task_runs_exactly_the_tested_script(rendered) -> None:
    task = one(rendered["tekton"], "Task", "lofi-promote")["spec"]
    config_map_name = task["volumes"][0]["configMap"]["name"]
    config_map = one(rendered["tekton"], "ConfigMap", config_map_name)
    script = (APPLICATION / "tekton" / "scripts" / "promote.sh").read_text()
    assert config_map["data"]["promote.sh"] == script
    step = task["steps"][0]
    assert step["command"] == ["/bin/sh", "/scripts/promote.sh"]
    env = {e["name"]: e["value"] for e in step["env"]}
    # every input the script requires is wired to a param
    for name in ("GITOPS_URL", "GITOPS_BRANCH", "VALUES_FILE", "IMAGE_DIGEST", "SOURCE_REVISION"):
        assert env[name].startswith("$(params.")
    assert env["GIT_CREDENTIALS_DIR"] == "$(workspaces.git-credentials.path)"
    assert env["RESULT_COMMIT"] == "$(results.commit.path)"


# Pinned by tag only, as no digest of them could be recorded from a source yet (issue #18 lists them).
BY_TAG_ONLY = {
    "ghcr.io/tektoncd-catalog/git-clone/bundle",
    "ghcr.io/tektoncd-catalog/git-clone",
    "ghcr.io/osscontainertools/kaniko",
}


def test_images_and_bundle_are_pinned(rendered) -> None:
    """Every image and bundle by version tag, and by ``tag@sha256:<digest>`` (the OCI distribution reference
    grammar: the digest decides what is pulled, the tag stays for readers) unless listed in BY_TAG_ONLY."""
    seen = set()
    nodes = walk(tekton_objects(rendered))
    # a bundle is a resolver parameter: {name: bundle, value: <reference>}
    bundles = [(f"{p}.value", n["value"]) for p, n in nodes if isinstance(n, dict) and n.get("name") == "bundle"]
    for path, value in [(p, v) for p, v in nodes if p.endswith(".image")] + bundles:
        if isinstance(value, str):
            named, _, digest = value.partition("@")
            repository, _, tag = named.rpartition(":")
            seen.add(repository)
            assert re.fullmatch(r"v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?", tag), f"{path}: {value} is not pinned by version"
            if repository not in BY_TAG_ONLY:
                assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{path}: {value} is not pinned by digest"
    assert seen >= BY_TAG_ONLY, "a by-tag-only exception no longer in use: remove it"


# ---------------------------------------------------------------- Triggers


def test_trigger_templates_create_v1_pipelineruns_with_per_run_workspaces(rendered) -> None:
    pipeline = one(rendered["tekton"], "Pipeline", "lofi-ci")["spec"]
    without_default = {p["name"] for p in pipeline["params"] if "default" not in p}
    required_workspaces = {w["name"] for w in pipeline["workspaces"] if not w.get("optional")}
    templates = {t["metadata"]["name"]: t for t in by_kind(rendered["tekton"], "TriggerTemplate")}
    assert set(templates) == {"lofi-ci-push", "lofi-ci-pr"}
    for name, template in templates.items():
        declared = {p["name"] for p in template["spec"]["params"]}
        (run,) = template["spec"]["resourcetemplates"]
        assert refs(json.dumps(run), "tt.params") <= declared
        assert run["metadata"]["generateName"].startswith("lofi-ci-")
        assert "name" not in run["metadata"], "a fixed name would collide on the second event"
        assert run["metadata"]["labels"]["app.kubernetes.io/part-of"] == "lofi"
        assert run["metadata"]["labels"]["app.kubernetes.io/component"] == "ci-run"
        assert run["metadata"]["annotations"]["tekton.dev/auto-cleanup-pvc"] == "true"
        spec = run["spec"]
        assert spec["pipelineRef"] == {"name": "lofi-ci"}
        given = {p["name"]: p["value"] for p in spec["params"]}
        assert without_default <= set(given)
        assert set(given) <= {p["name"] for p in pipeline["params"]}
        bound = {w["name"]: w for w in spec["workspaces"]}
        assert required_workspaces <= set(bound)
        assert set(bound["source"]) == {"name", "volumeClaimTemplate"}
        claim = bound["source"]["volumeClaimTemplate"]["spec"]
        assert claim["accessModes"] == ["ReadWriteOnce"] and claim["resources"]["requests"]["storage"]
        # builds run code from git: the workloads pool (run.placement), not the listener's tools pool
        pod = spec["taskRunTemplate"]["podTemplate"]
        assert pod["nodeSelector"] == PIPELINE_VALUES["run"]["placement"]["nodeSelector"]
        assert pod["tolerations"] == PIPELINE_VALUES["run"]["placement"]["tolerations"]
        assert pod["nodeSelector"] != PIPELINE_VALUES["placement"]["nodeSelector"]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert re.fullmatch(r"\d+[hms]", spec["timeouts"]["pipeline"])
        if name == "lofi-ci-push":
            assert (given["no-push"], given["promote"]) == ("false", "true")
            assert spec["taskRunTemplate"]["serviceAccountName"] == "test-pipeline-sa"
            assert bound["git-credentials"]["secret"]["secretName"] == "test-git-credentials"
            registry = bound["docker-config"]["secret"]
            assert registry["secretName"] == "test-registry-secret"
            assert registry["items"] == [{"key": ".dockerconfigjson", "path": "config.json"}]
        else:
            assert (given["no-push"], given["promote"]) == ("true", "false")
            # pull-request code (tests, Dockerfile RUN steps) never sees a credential that writes
            assert "docker-config" not in bound, "pull-request code must never see registry credentials"
            assert spec["taskRunTemplate"]["serviceAccountName"] == "test-pr-sa"
            assert bound["git-credentials"]["secret"]["secretName"] == "test-git-read-credentials"


def test_pull_request_runs_without_read_credentials_clone_anonymously(tmp_path: Path) -> None:
    """No read-only token given: the pull-request run binds no git credentials at all (git-clone's
    basic-auth workspace is optional), never the push runs' token."""
    values = {**PIPELINE_VALUES, "secrets": {**PIPELINE_VALUES["secrets"], "gitReadCredentials": ""}}
    docs = helm_template("tekton", values, tmp_path, release="lofi-pipeline")
    run = one(docs, "TriggerTemplate", "lofi-ci-pr")["spec"]["resourcetemplates"][0]
    assert {w["name"] for w in run["spec"]["workspaces"]} == {"source"}
    assert "test-git-credentials" not in json.dumps(run) and "test-registry-secret" not in json.dumps(run)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"serviceAccounts": {"pullRequest": "test-pipeline-sa"}}, "serviceAccounts.pullRequest must differ"),
        ({"secrets": {"gitReadCredentials": "test-git-credentials"}}, "must not be secrets.gitCredentials"),
        ({"source": {"url": "https://git.test-domain.io/test-org"}}, "is not https://host/owner/repo.git"),
        ({"source": {"url": "file:///srv/test-org/lofi.git"}}, "is not https://host/owner/repo.git"),
    ],
)
def test_pipeline_chart_refuses_values_that_would_widen_a_run(tmp_path: Path, overrides: dict, message: str) -> None:
    values = json.loads(json.dumps(PIPELINE_VALUES))
    for key, value in overrides.items():
        values[key] = {**values[key], **value}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm_run("tekton", "lofi-pipeline", "-f", str(values_file))
    assert result.returncode != 0
    assert message in result.stderr


def test_optional_pipeline_workspaces_reach_only_optional_task_workspaces(rendered) -> None:
    """Tekton fails a run whose Pipeline hands an optional workspace to a Task that requires it
    (tektoncd/pipeline pkg/reconciler/pipelinerun/resources/validate_dependencies.go ValidateOptionalWorkspaces,
    reason RequiredWorkspaceMarkedOptional): git-credentials is optional, as pull-request runs may bind none."""
    pipeline = one(rendered["tekton"], "Pipeline", "lofi-ci")["spec"]
    optional = {w["name"] for w in pipeline["workspaces"] if w.get("optional")}
    assert {"git-credentials", "docker-config"} <= optional
    for task in pipeline["tasks"]:
        if "resolver" in task["taskRef"]:
            task_optional = GIT_CLONE_OPTIONAL_WORKSPACES
        else:
            spec = one(rendered["tekton"], "Task", task["taskRef"]["name"])["spec"]
            task_optional = {w["name"] for w in spec.get("workspaces", []) if w.get("optional")}
        for binding in task.get("workspaces", []):
            if binding["workspace"] in optional:
                assert binding["name"] in task_optional, f"{task['name']}: {binding['name']} must be optional"


def test_eventlistener_checks_github_signatures_then_filters(rendered) -> None:
    listener = one(rendered["tekton"], "EventListener", "lofi-listener")
    spec = listener["spec"]
    assert spec["serviceAccountName"] == "test-triggers-sa"
    bindings = {b["metadata"]["name"] for b in by_kind(rendered["tekton"], "TriggerBinding")}
    templates = {t["metadata"]["name"] for t in by_kind(rendered["tekton"], "TriggerTemplate")}
    events = {}
    for trigger in spec["triggers"]:
        github, cel = trigger["interceptors"]
        assert github["ref"] == {"name": "github", "kind": "ClusterInterceptor"}
        params = {p["name"]: p["value"] for p in github["params"]}
        assert params["secretRef"] == {"secretName": "test-webhook-secret", "secretKey": "test-webhook-key"}
        events[trigger["name"]] = params["eventTypes"]
        assert cel["ref"] == {"name": "cel", "kind": "ClusterInterceptor"}
        compile_filter(cel["params"][0]["value"])  # parses and type-checks in Tekton's CEL environment
        assert {b["ref"] for b in trigger["bindings"]} <= bindings
        assert trigger["template"]["ref"] in templates
    assert events == {"push": ["push"], "pull-request": ["pull_request"]}
    pod = spec["resources"]["kubernetesResource"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == PIPELINE_VALUES["placement"]["nodeSelector"]  # the listener stays on tools


def test_bindings_read_fields_present_in_github_payloads(rendered) -> None:
    for binding in by_kind(rendered["tekton"], "TriggerBinding"):
        payload = PUSH if binding["metadata"]["name"] == "lofi-push" else pull_request("opened")
        values = {}
        for param in binding["spec"]["params"]:
            node: Any = {"body": payload}
            for key in re.fullmatch(r"\$\(([a-z_.]+)\)", param["value"]).group(1).split("."):
                node = node[key]
            values[param["name"]] = node
        assert set(values) == {"git-url", "git-revision"}
        assert re.fullmatch(r"[0-9a-f]{40}", values["git-revision"])


# Real GitHub webhook payloads: the examples GitHub documents, as packaged by @octokit/webhooks-examples
# (npm, installed by `make setup`; api.github.com/index.json: one entry per event with its examples,
# https://docs.github.com/en/webhooks/webhook-events-and-payloads). Only the fields that name *our*
# repository and branch are changed.
def _examples(event: str) -> list[dict]:
    assert GITHUB_EXAMPLES.is_file(), f"run `make setup` first: {GITHUB_EXAMPLES} is missing"
    events = {entry["name"]: entry["examples"] for entry in json.loads(GITHUB_EXAMPLES.read_text())}
    return events[event]


def _ours(body: dict) -> dict:
    body = json.loads(json.dumps(body))
    body["repository"] |= REPO
    return body


REPO = {"full_name": "test-org/lofi", "clone_url": "https://git.test-domain.io/test-org/lofi.git"}
_BRANCH_PUSH = next(e for e in _examples("push") if e["ref"].startswith("refs/heads/") and e["commits"])
PUSH = {**_ours(_BRANCH_PUSH), "ref": "refs/heads/test-branch"}
PUSH["commits"] = [
    {**PUSH["commits"][0], "added": [], "removed": [], "modified": ["application/lofi-app/lofi/scene.py"]}
]


def pull_request(action: str, head_repo: dict | None = None) -> dict:
    """GitHub's own pull_request example for ``action`` (or, for actions it has none of, its first one)."""
    examples = _examples("pull_request")
    body = _ours(next((e for e in examples if e["action"] == action), examples[0]))
    body["action"] = action
    head = body["pull_request"]["head"]
    head["repo"] = {**(head.get("repo") or {}), **(head_repo or REPO)}
    return body


def fired(rendered, event: str, body: dict) -> list[str]:
    """Triggers that fire for a validly signed event: github eventTypes, then the CEL filter."""
    listener = one(rendered["tekton"], "EventListener", "lofi-listener")
    names = []
    for trigger in listener["spec"]["triggers"]:
        github, cel = trigger["interceptors"]
        event_types = next(p["value"] for p in github["params"] if p["name"] == "eventTypes")
        if event in event_types and matches(cel["params"][0]["value"], body):
            names.append(trigger["name"])
    return names


# Another repository of the same organisation: an organisation webhook signs its events with the same secret.
OTHER = {"full_name": "test-org/lofi-other", "clone_url": "https://git.test-domain.io/test-org/lofi-other.git"}


def from_repository(body: dict, repo: dict) -> dict:
    """``body`` as sent for ``repo`` (a pull request's head in the same repository: no fork)."""
    body = json.loads(json.dumps(body))
    body["repository"] |= repo
    if "pull_request" in body:
        body["pull_request"]["head"]["repo"] |= repo
    return body


ONLY_PROMOTE = [{**PUSH["commits"][0], "id": "4" * 40, "modified": ["application/deployment/environments/x.yaml"]}]


@pytest.mark.parametrize(
    ("event", "body", "expected"),
    [
        ("push", PUSH, ["push"]),
        ("push", {**PUSH, "ref": "refs/heads/other"}, []),
        ("push", {**PUSH, "ref": "refs/tags/v1.0.0"}, []),
        ("push", {**PUSH, "deleted": True, "commits": []}, []),
        ("push", {**PUSH, "commits": ONLY_PROMOTE}, []),  # the promote commit itself: no build loop
        ("push", {**PUSH, "commits": ONLY_PROMOTE + PUSH["commits"]}, ["push"]),
        ("push", {**PUSH, "commits": []}, ["push"]),
        ("push", {key: value for key, value in PUSH.items() if key != "deleted"}, []),  # malformed
        ("pull_request", pull_request("opened"), ["pull-request"]),
        ("pull_request", pull_request("synchronize"), ["pull-request"]),
        ("pull_request", pull_request("reopened"), ["pull-request"]),
        ("pull_request", pull_request("closed"), []),
        ("pull_request", pull_request("labeled"), []),
        ("pull_request", pull_request("opened", {"full_name": "fork/lofi", "clone_url": "x"}), []),
        ("issue_comment", _ours(_examples("issue_comment")[0]), []),
        # the configured repository only (GitHub compares owner and name case-insensitively)
        ("push", from_repository(PUSH, OTHER), []),
        ("push", from_repository(PUSH, {"full_name": "Test-Org/LoFi"}), ["push"]),
        ("push", from_repository(PUSH, {"full_name": "test-org/lofi.git"}), []),
        ("pull_request", from_repository(pull_request("opened"), OTHER), []),
        (
            "pull_request",
            from_repository(pull_request("synchronize"), {"full_name": "TEST-ORG/lofi"}),
            ["pull-request"],
        ),
        ("push", {key: value for key, value in PUSH.items() if key != "repository"}, []),  # malformed
    ],
)
def test_filters_on_sample_payloads(rendered, event: str, body: dict, expected: list[str]) -> None:
    assert fired(rendered, event, body) == expected


def _listener_for(tmp_path: Path, url: str) -> dict:
    values = {**PIPELINE_VALUES, "source": {**PIPELINE_VALUES["source"], "url": url}}
    tmp_path.mkdir(parents=True, exist_ok=True)
    return {"tekton": helm_template("tekton", values, tmp_path, release="lofi-pipeline")}


@pytest.mark.parametrize("event", ["push", "pull_request"])
def test_only_the_configured_repository_is_built(tmp_path: Path, event: str) -> None:
    """Every example GitHub documents for the event, made to name the configured branch (push) or an
    open pull request from the repository itself: it fires the listener whose source.url is the
    example's own repository, and never one configured for another repository of the same owner,
    although it is signed with the same secret (an organisation webhook)."""
    examples = _examples(event)
    assert examples
    renders: dict[str, dict] = {}
    for example in examples:
        body = json.loads(json.dumps(example))
        repo = body["repository"]
        if event == "push":
            body |= {"ref": "refs/heads/test-branch", "deleted": False}
        else:
            body["action"] = "synchronize"
            body["pull_request"]["head"]["repo"] = dict(repo)
        own, other = repo["clone_url"], repo["clone_url"].removesuffix(".git") + "-other.git"
        for url in (own, other):
            if url not in renders:
                renders[url] = _listener_for(tmp_path / str(len(renders)), url)
        expected = ["push"] if event == "push" else ["pull-request"]
        assert fired(renders[own], event, body) == expected, f"{repo['full_name']}: not built from {own}"
        assert fired(renders[other], event, body) == [], f"{repo['full_name']}: built for {other}"


@pytest.mark.parametrize(
    "url",
    [
        "https://git.test-domain.io/Test-Org/LoFi.git",
        "https://git.test-domain.io/test-org/lofi",
        "https://git.test-domain.io/test-org/lofi/",
        "ssh://git@git.test-domain.io:2222/test-org/lofi.git",
        "git@git.test-domain.io:test-org/lofi.git",
    ],
)
def test_the_accepted_repository_comes_from_source_url(tmp_path: Path, url: str) -> None:
    """One place: the repository the listener accepts is the clone URL's owner/name, whatever its form."""
    for trigger in one(_listener_for(tmp_path, url)["tekton"], "EventListener")["spec"]["triggers"]:
        cel = trigger["interceptors"][1]["params"][0]["value"]
        assert cel.startswith("body.repository.full_name.lowerAscii() == 'test-org/lofi' && ")


def test_listener_ingress_has_tls(rendered) -> None:
    ingress = one(rendered["tekton"], "Ingress", "lofi-listener")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "test-issuer"
    assert ingress["spec"]["ingressClassName"] == "test-ingress-class"
    assert ingress["spec"]["tls"][0]["hosts"] == ["hooks.test-domain.io"]
    assert ingress["spec"]["tls"][0]["secretName"]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "hooks.test-domain.io"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "el-lofi-listener", "port": {"number": 8080}}  # Triggers' Service naming


def test_tekton_objects_carry_no_instance_label(rendered) -> None:
    """Tekton copies Pipeline labels to PipelineRuns; an instance label would let Argo CD claim them."""
    for doc in tekton_objects(rendered):
        assert "app.kubernetes.io/instance" not in doc["metadata"].get("labels", {})


# ---------------------------------------------------------------- the app's Deployment and friends


def test_pods_are_locked_down(rendered) -> None:
    deployments = by_kind(rendered["deployment"], "Deployment")
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert security["runAsNonRoot"] is True
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_deployment_runs_the_digest_on_the_workloads_pool(rendered) -> None:
    deployment = one(rendered["deployment"], "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == f"registry.test-domain.io/test-org/lofi@{DIGEST}"
    assert pod["nodeSelector"] == APP_VALUES["placement"]["nodeSelector"]
    assert pod["tolerations"] == APP_VALUES["placement"]["tolerations"]
    assert pod["imagePullSecrets"] == [{"name": "test-pull-secret"}]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_service_ingress_pdb_networkpolicy_servicemonitor(rendered) -> None:
    docs = rendered["deployment"]
    selector = one(docs, "Deployment")["spec"]["selector"]["matchLabels"]
    service = one(docs, "Service")
    assert service["spec"]["selector"] == selector
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    ingress = one(docs, "Ingress")
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "test-issuer"
    assert ingress["spec"]["ingressClassName"] == "test-ingress-class"
    assert ingress["spec"]["tls"] == [{"hosts": ["lofi.test-domain.io"], "secretName": "lofi-tls"}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == selector and pdb["spec"]["maxUnavailable"] == 1
    policy = one(docs, "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == selector
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["egress"] == []
    sources = [peer["namespaceSelector"]["matchLabels"] for peer in policy["ingress"][0]["from"]]
    assert sources == [
        {"kubernetes.io/metadata.name": "test-ingress-ns"},
        {"kubernetes.io/metadata.name": "test-monitoring-ns"},
    ]
    monitor = one(docs, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "test-prometheus"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image": {"repository": "r.test/x", "digest": "sha256:abc"}}, 'image.digest "sha256:abc" is not sha256'),
        ({"image": {"repository": "r.test/x", "tag": "latest"}}, "image.tag must not be latest"),
        ({"image": {"repository": "r.test/x"}}, "image.digest is empty and no image.tag is set"),
        ({"image": {"repository": "", "digest": DIGEST}}, "image.repository is required"),
        ({"host": ""}, "host is required"),
        ({"ingress": {"className": "", "clusterIssuer": "x"}}, "ingress.className is required"),
    ],
)
def test_deployment_chart_refuses_incomplete_values(tmp_path: Path, overrides: dict, message: str) -> None:
    values = {**APP_VALUES, "image": {**APP_VALUES["image"], "digest": DIGEST}, **overrides}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm_run("deployment", "lofi", "-f", str(values_file))
    assert result.returncode != 0
    assert message in result.stderr


def test_tag_is_used_only_before_a_digest_exists(tmp_path: Path) -> None:
    values = {**APP_VALUES, "image": {**APP_VALUES["image"], "tag": "abc1234"}}
    docs = helm_template("deployment", values, tmp_path, release="lofi")
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"].endswith("/lofi:abc1234")
    values["image"]["digest"] = DIGEST
    docs = helm_template("deployment", values, tmp_path, release="lofi")
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f"@{DIGEST}")


def test_environment_files_hold_only_the_digest() -> None:
    files = sorted((APPLICATION / "deployment" / "environments").glob("*/values.yaml"))
    assert files
    for path in files:
        values = yaml.safe_load(path.read_text())
        assert list(values) == ["image"] and list(values["image"]) == ["digest"], path
        # empty until the pipeline's first promote, then a digest (a promote commit must keep tests green)
        assert re.fullmatch(r"(sha256:[0-9a-f]{64})?", values["image"]["digest"]), path


# ---------------------------------------------------------------- Argo CD


def test_applications_deploy_both_charts_from_the_gitops_repository(rendered) -> None:
    apps = {a["metadata"]["name"]: a for a in by_kind(rendered["argocd"], "Application")}
    assert set(apps) == {"lofi", "lofi-pipeline"}
    for app in apps.values():
        spec = app["spec"]
        assert app["metadata"]["namespace"] == "argocd-apps"  # never argocd: see roles/argocd README "Projects"
        assert spec["project"] == "applications"
        assert spec["source"]["repoURL"] == "https://git.test-domain.io/test-org/gitops.git"
        assert spec["source"]["targetRevision"] == "test-gitops-branch"
        assert spec["destination"]["server"] == "https://kubernetes.default.svc"
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert {"CreateNamespace=true", "ServerSideApply=true"} <= set(spec["syncPolicy"]["syncOptions"])
        assert app["metadata"]["annotations"]["argocd.argoproj.io/compare-options"] == "ServerSideDiff=true"
    lofi, pipeline = apps["lofi"]["spec"], apps["lofi-pipeline"]["spec"]
    assert lofi["source"]["path"] == "application/deployment"
    assert lofi["source"]["helm"]["valueFiles"] == ["environments/test-env/values.yaml"]
    assert lofi["source"]["helm"]["valuesObject"] == APP_VALUES
    assert lofi["destination"]["namespace"] == "test-app-ns"
    assert pipeline["source"]["path"] == "application/tekton"
    assert pipeline["source"]["helm"]["valuesObject"] == PIPELINE_VALUES
    assert pipeline["destination"]["namespace"] == "test-ci-ns"
    # the paths exist and the value file the app Application names is the one promote writes
    assert (APPLICATION.parent / lofi["source"]["path"] / "Chart.yaml").is_file()
    assert (APPLICATION.parent / pipeline["source"]["path"] / "Chart.yaml").is_file()


def test_digest_can_only_come_from_the_environment_file(tmp_path: Path) -> None:
    values = {**APPS_VALUES, "app": {"values": {"image": {"digest": DIGEST}}}}
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm_run("argocd", "lofi-apps", "-f", str(values_file))
    assert result.returncode != 0
    assert "app.values.image.digest must not be set" in result.stderr


# ---------------------------------------------------------------- nothing environment-specific


@pytest.mark.parametrize(
    ("chart", "message"),
    [
        ("deployment", "is required"),
        ("tekton", "is required"),
        ("argocd", "is required"),
    ],
)
def test_charts_have_no_environment_defaults(chart: str, message: str) -> None:
    """Rendered with their own defaults, the charts stop and name the missing value."""
    result = helm_run(chart, chart)
    assert result.returncode != 0 and message in result.stderr


ENVIRONMENT_WORDS = (
    "example.com",
    "example.org",
    "digitalocean",
    "production",
    "sandbox",
    "letsencrypt",
    "traefik",
    "nginx",
    "monitoring",
    "kube-prometheus",
    "do-block-storage",
    "workloads",
    "tools",
    "argocd.example",
    "github.com/",
)


def test_rendered_output_holds_only_the_supplied_environment(rendered) -> None:
    """Every environment-specific string in the output came from the test values."""
    # registries of the pinned images, well-known label prefixes, the in-cluster API, a finalizer
    allowed_hosts = {
        "ghcr.io",
        "docker.io",
        "mirror.gcr.io",  # Trivy's default database repository (application/tests/test_lofi_scan.py)
        "kubernetes.io",
        "kubernetes.default.svc",
        "resources-finalizer.argocd.argoproj.io",
    }
    for chart, docs in rendered.items():
        # the promote script's ConfigMap is checked byte for byte elsewhere; its comments may
        # name an example environment
        for doc in (d for d in docs if d["kind"] != "ConfigMap"):
            for path, value in walk(doc):
                if not isinstance(value, str) or path.endswith(".apiVersion"):
                    continue
                text = re.sub(r"[a-z0-9.-]*test-[a-z0-9.-]*", "", value.lower())
                for word in ENVIRONMENT_WORDS:
                    found = re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text)
                    assert not found, f"{chart} {doc['kind']}{path}: {word!r} is hard-coded in {value!r}"
                for host in re.findall(r"\b(?:[a-z0-9-]+\.)+(?:io|com|net|org|dev|test|invalid|svc)\b", text):
                    assert host in allowed_hosts, f"{chart} {doc['kind']}{path}: unexpected host {host!r}"


def test_cel_environment_is_the_triggers_one() -> None:
    """The filters run in Tekton Triggers v0.37.0's CEL environment (pkg/interceptors/cel/cel.go makeCelEnv,
    triggers.go): its variables and functions compile, anything else does not, and a missing key is an
    evaluation error that drops the event."""
    push = _examples("push")[0]
    header = {"X-Github-Event": ["push"]}
    assert matches(
        "header.match('X-GitHub-Event', 'push') && header.canonical('x-github-event') == 'push'", push, header
    )
    assert matches("body.ref.split('/')[0] == 'refs' && body.ref.truncate(4) == 'refs'", push)
    assert matches("body.repository.html_url.parseURL().host == 'github.com'", push)
    assert matches("'{\"a\": [1]}'.parseJSON().a.first() == 1 && requestURL == ''", push)
    with pytest.raises(RuntimeError, match="undeclared reference"):
        compile_filter("body.ref.sha256() == ''")
    assert not matches("body.no_such_field == 'x'", push)
