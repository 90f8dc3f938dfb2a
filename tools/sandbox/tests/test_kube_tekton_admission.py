"""Tekton's admission webhooks, emulated by the Kubernetes emulator, judged with the kubernetes client.

Every wrong object is refused the way a cluster running Tekton Pipelines v1.15.0 and Triggers
v0.37.0 refuses it (a ``Status`` 400 ``BadRequest`` "admission webhook "<name>" denied the
request: …"), and the same object made right is accepted. The CRDs come from the stand-in
release manifests (``sandbox/releases/``), whose v1 schemas have the real CRDs' shape.

Upstream sources (read at the tags): tektoncd/pipeline v1.15.0 ``cmd/webhook/main.go``,
``pkg/apis/pipeline/v1/*_validation.go``, ``pkg/substitution/substitution.go``,
``pkg/reconciler/pipeline/dag/dag.go``, ``config/300-crds``; tektoncd/triggers v0.37.0
``cmd/webhook/main.go``, ``pkg/apis/triggers/v1beta1/*_validation.go``; knative.dev/pkg
(v0.0.0-20260622140654-39ebae2ee2dc, Tekton's go.mod) ``webhook/resourcesemantics/
{defaulting,validation}``, ``webhook/json/decode.go``, ``apis/field_error.go``; k8s.io/apiserver
``admission/plugin/webhook/errors/statuserror.go``.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_tools import install_crds, listable, wait_for
from kubernetes import client, config
from sandbox_tools import RELEASES as ALL_RELEASES
from sandbox_tools import REPO

RELEASES = ALL_RELEASES / "tekton-releases"
NS = "tekton-contract"
PIPELINE_HOOK = 'admission webhook "webhook.pipeline.tekton.dev" denied the request: '
PIPELINE_VALIDATION = 'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request: '
TRIGGERS_HOOK = 'admission webhook "webhook.triggers.tekton.dev" denied the request: '
TRIGGERS_VALIDATION = 'admission webhook "validation.webhook.triggers.tekton.dev" denied the request: '
PLURALS = {
    "Task": "tasks",
    "Pipeline": "pipelines",
    "PipelineRun": "pipelineruns",
    "TaskRun": "taskruns",
    "EventListener": "eventlisteners",
    "TriggerBinding": "triggerbindings",
    "TriggerTemplate": "triggertemplates",
    "Trigger": "triggers",
}


@pytest.fixture(scope="module")
def api(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(str(kubeconfig))
    crds = [
        doc
        for release in ("pipeline/previous/v1.15.0/release.yaml", "triggers/previous/v0.37.0/release.yaml")
        for doc in yaml.safe_load_all((RELEASES / release).read_text())
        if doc and doc["kind"] == "CustomResourceDefinition"
    ]
    install_crds(api_client, crds, NS)
    custom = client.CustomObjectsApi(api_client)
    resources = [("tekton.dev", "v1", "tasks"), ("triggers.tekton.dev", "v1beta1", "eventlisteners")]
    wait_for(lambda: listable(custom, NS, *resources), "the Tekton CRDs to be served", timeout=15)
    yield api_client


def create(api: client.ApiClient, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    group, version = obj["apiVersion"].split("/")
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        group, version, NS, PLURALS[obj["kind"]], obj, **kwargs
    )


def refused(api: client.ApiClient, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(client.ApiException) as caught:
        create(api, obj, **kwargs)
    return json.loads(caught.value.body)


def named(obj: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"] = {"name": name}
    return out


def assert_denied(status: dict[str, Any], message: str) -> None:
    """knative's ``webhook.MakeErrorStatus`` is ``apierrors.NewBadRequest``; the API server prefixes the webhook name."""
    assert status["kind"] == "Status"
    assert status["code"] == 400, status
    assert status["reason"] == "BadRequest", status
    assert status["message"] == message


TASK = {
    "apiVersion": "tekton.dev/v1",
    "kind": "Task",
    "metadata": {"name": "echo"},
    "spec": {
        "params": [{"name": "greeting", "type": "string"}],
        "results": [{"name": "said"}],
        "steps": [
            {
                "name": "say",
                "image": "alpine:3.20",
                "script": "echo $(params.greeting) | tee $(results.said.path)",
            }
        ],
    },
}

PIPELINE = {
    "apiVersion": "tekton.dev/v1",
    "kind": "Pipeline",
    "metadata": {"name": "ci"},
    "spec": {
        "params": [{"name": "url", "type": "string"}],
        "workspaces": [{"name": "source"}],
        "tasks": [
            {
                "name": "clone",
                "taskRef": {
                    "resolver": "bundles",
                    "params": [
                        {"name": "bundle", "value": "ghcr.io/tektoncd-catalog/git-clone/bundle:v1.7.0"},
                        {"name": "name", "value": "git-clone"},
                        {"name": "kind", "value": "task"},
                    ],
                },
                "params": [{"name": "url", "value": "$(params.url)"}],
                "workspaces": [{"name": "output", "workspace": "source"}],
            },
            {
                "name": "build",
                "runAfter": ["clone"],
                "taskRef": {"name": "echo"},
                "params": [{"name": "greeting", "value": "$(tasks.clone.results.commit)"}],
            },
        ],
        "results": [{"name": "commit", "value": "$(tasks.clone.results.commit)"}],
    },
}

PIPELINE_RUN = {
    "apiVersion": "tekton.dev/v1",
    "kind": "PipelineRun",
    "metadata": {"name": "ci-run"},
    "spec": {
        "pipelineRef": {"name": "ci"},
        "params": [{"name": "url", "value": "https://github.com/example/lofi.git"}],
        "taskRunTemplate": {"serviceAccountName": "lofi-ci"},
        "workspaces": [{"name": "source", "emptyDir": {}}],
    },
}


# ---------------------------------------------------------------- tekton.dev/v1


def test_v1_pipelinerun_has_no_service_account_name(api: client.ApiClient) -> None:
    """``tekton.dev/v1`` PipelineRunSpec has no ``serviceAccountName``: it is ``taskRunTemplate.serviceAccountName``.

    pipelinerun_types.go (v1.15.0): ``TaskRunTemplate PipelineTaskRunTemplate `json:"taskRunTemplate,omitempty"```
    with ``ServiceAccountName string `json:"serviceAccountName,omitempty"``` in PipelineTaskRunTemplate;
    the v1 schema of config/300-crds/300-pipelinerun.yaml closes ``spec``. With strict field
    validation (kubectl's default) the API server refuses the field; without it the field is
    pruned and the run would use the namespace's default ServiceAccount.
    """
    wrong = named(PIPELINE_RUN, "sa-wrong")
    wrong["spec"] = {**wrong["spec"], "serviceAccountName": "lofi-ci"}
    del wrong["spec"]["taskRunTemplate"]
    status = refused(api, wrong, field_validation="Strict")
    assert status["code"] == 400
    assert status["message"] == (
        'PipelineRun in version "v1" cannot be handled as a PipelineRun: '
        'strict decoding error: unknown field "spec.serviceAccountName"'
    )
    pruned = create(api, wrong, field_validation="Ignore")
    assert "serviceAccountName" not in pruned["spec"]
    right = create(api, named(PIPELINE_RUN, "sa-right"), field_validation="Strict")
    assert right["spec"]["taskRunTemplate"] == {"serviceAccountName": "lofi-ci"}


def test_unknown_field_in_an_embedded_spec_is_refused_by_the_defaulting_webhook(api: client.ApiClient) -> None:
    """Embedded specs are open in the CRD (``pipelineSpec``: x-kubernetes-preserve-unknown-fields) and
    decoded by the webhook with unknown fields disallowed.

    cmd/webhook/main.go: ``defaulting.NewAdmissionController(ctx, name, "/defaulting", types, …,
    // Whether to disallow unknown fields. true)``, default name "webhook.pipeline.tekton.dev";
    knative defaulting.go: ``fmt.Errorf("cannot decode incoming new object: %w", err)`` →
    ``webhook.MakeErrorStatus("mutation failed: %v", err)``.
    """
    inline = {
        "params": PIPELINE["spec"]["params"],
        "workspaces": [{"name": "source"}],
        "tasks": [PIPELINE["spec"]["tasks"][0]],
    }
    wrong = named(PIPELINE_RUN, "inline-wrong")
    del wrong["spec"]["pipelineRef"]
    wrong["spec"]["pipelineSpec"] = copy.deepcopy(inline)
    wrong["spec"]["pipelineSpec"]["tasks"][0]["retry"] = 2
    status = refused(api, wrong)
    assert_denied(
        status, PIPELINE_HOOK + 'mutation failed: cannot decode incoming new object: json: unknown field "retry"'
    )
    right = named(PIPELINE_RUN, "inline-right")
    del right["spec"]["pipelineRef"]
    right["spec"]["pipelineSpec"] = copy.deepcopy(inline)
    right["spec"]["pipelineSpec"]["tasks"][0]["retries"] = 2
    assert create(api, right)["spec"]["pipelineSpec"]["tasks"][0]["retries"] == 2


def test_task_params_must_be_declared(api: client.ApiClient) -> None:
    """``$(params.x)`` in a Task's steps must name a declared param.

    task_validation.go ``Task.Validate``: "we do not support propagated parameters. Validate that
    all params it uses are declared" (``ValidateUsageOfDeclaredParameters``); substitution.go:
    ``msg = fmt.Sprintf("non-existent variable in %q", value)``.
    """
    wrong = named(TASK, "echo-wrong")
    wrong["spec"]["steps"][0]["script"] = "echo $(params.greting)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION
        + 'validation failed: non-existent variable in "echo $(params.greting)": spec.steps[0].script',
    )
    assert create(api, named(TASK, "echo"))["metadata"]["name"] == "echo"


def test_task_results_must_be_declared(api: client.ApiClient) -> None:
    """``$(results.r.path)`` in a step script must name a declared result.

    task_validation.go ``validateTaskResultsVariables``: ``ValidateNoReferencesToUnknownVariables(step.Script,
    "results", resultsNames).ViaField("script").ViaFieldIndex("steps", idx)``.
    """
    wrong = named(TASK, "result-wrong")
    wrong["spec"]["steps"][0]["script"] = "echo hi | tee $(results.sad.path)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION
        + 'validation failed: non-existent variable in "echo hi | tee $(results.sad.path)": spec.steps[0].script',
    )
    assert create(api, named(TASK, "result-right"))["spec"]["results"] == [{"name": "said"}]


def test_pipeline_task_result_references_need_the_task(api: client.ApiClient) -> None:
    """``$(tasks.t.results.r)`` makes ``t`` a dependency; ``t`` must be a pipeline task.

    pipeline_types.go ``PipelineTask.Deps``: result references and runAfter; pipeline_validation.go
    ``validateGraph``: ``apis.ErrInvalidValue(err.Error(), "tasks")``; dag.go ``Build``:
    "couldn't add link between %s and %s: %w", ``addLink``: "task %s depends on %s but %s wasn't
    present in Pipeline".
    """
    wrong = named(PIPELINE, "graph-wrong")
    wrong["spec"]["tasks"][1]["params"][0]["value"] = "$(tasks.checkout.results.commit)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION + "validation failed: invalid value: couldn't add link between build and checkout: "
        "task build depends on checkout but checkout wasn't present in Pipeline: spec.tasks",
    )
    assert create(api, named(PIPELINE, "graph-right"))["spec"]["tasks"][1]["runAfter"] == ["clone"]


def test_pipeline_params_must_be_declared(api: client.ApiClient) -> None:
    """``$(params.x)`` in a pipeline task's params must name a Pipeline param.

    pipeline_validation.go ``Pipeline.Validate`` → ``validatePipelineParameterUsage`` →
    ``validatePipelineTaskParameterUsage``; param_types.go ``validateParamStringValue``:
    ``.ViaFieldKey("params", param.Name)``.
    """
    wrong = named(PIPELINE, "params-wrong")
    wrong["spec"]["tasks"][0]["params"][0]["value"] = "$(params.repo-url)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION
        + 'validation failed: non-existent variable in "$(params.repo-url)": spec.tasks[0].params[url]',
    )
    assert create(api, named(PIPELINE, "params-right"))["spec"]["params"][0]["name"] == "url"


def test_pipeline_workspaces_must_be_declared(api: client.ApiClient) -> None:
    """A pipeline task's workspace binding must name a Pipeline workspace.

    pipeline_validation.go ``PipelineTask.validateWorkspaces``: "pipeline task %q expects
    workspace with name %q but none exists in pipeline spec".
    """
    wrong = named(PIPELINE, "ws-wrong")
    wrong["spec"]["tasks"][0]["workspaces"][0]["workspace"] = "src"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION + 'validation failed: invalid value: pipeline task "clone" expects workspace with name '
        '"src" but none exists in pipeline spec: spec.tasks[0].workspaces[0]',
    )
    assert create(api, named(PIPELINE, "ws-right"))["spec"]["workspaces"] == [{"name": "source"}]


def test_pipelinerun_needs_exactly_one_pipeline(api: client.ApiClient) -> None:
    """pipelinerun_validation.go: "Must have exactly one of pipelineRef and pipelineSpec" (``ErrMissingOneOf``)."""
    wrong = named(PIPELINE_RUN, "none-wrong")
    del wrong["spec"]["pipelineRef"]
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION
        + "validation failed: expected exactly one, got neither: spec.pipelineRef, spec.pipelineSpec",
    )
    assert create(api, named(PIPELINE_RUN, "none-right"))["spec"]["pipelineRef"] == {"name": "ci"}


def test_task_context_variables_must_exist(api: client.ApiClient) -> None:
    """task_validation.go ``validateTaskContextVariables``: ``$(context.taskRun.x)`` is one of name,
    namespace, uid; ``$(context.task.x)`` one of name, retry-count."""
    wrong = named(TASK, "ctx-wrong")
    wrong["spec"]["steps"][0]["script"] = "echo $(context.taskRun.id)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION
        + 'validation failed: non-existent variable in "echo $(context.taskRun.id)": spec.steps[0].script',
    )
    right = named(TASK, "ctx-right")
    right["spec"]["steps"][0]["script"] = "echo $(context.taskRun.name) $(context.task.retry-count)"
    assert create(api, right)["metadata"]["name"] == "ctx-right"


def test_pipeline_results_reference_existing_tasks(api: client.ApiClient) -> None:
    """pipeline_validation.go ``validatePipelineResults``: ``ErrInvalidValue("referencing a nonexistent
    task", "value").ViaFieldIndex("results", idx)``."""
    wrong = named(PIPELINE, "results-wrong")
    wrong["spec"]["results"][0]["value"] = "$(tasks.fetch.results.commit)"
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION + "validation failed: invalid value: referencing a nonexistent task: spec.results[0].value",
    )
    assert create(api, named(PIPELINE, "results-right"))["spec"]["results"][0]["name"] == "commit"


def test_pipeline_param_expressions_need_a_known_prefix(api: client.ApiClient) -> None:
    """pipeline_validation.go ``validateVarSubstitutionExpressions``: "invalid variable reference %q, must
    start with a valid prefix: params, tasks, finally, context, workspaces, or results; if you meant a
    shell variable, use ${VAR} instead"."""
    wrong = named(PIPELINE, "prefix-wrong")
    wrong["spec"]["tasks"][1]["params"].append({"name": "home", "value": "$(HOME)/x"})
    assert_denied(
        refused(api, wrong),
        PIPELINE_VALIDATION + 'validation failed: invalid value: invalid variable reference "$(HOME)", must start '
        "with a valid prefix: params, tasks, finally, context, workspaces, or results; if you meant a shell "
        "variable, use ${VAR} instead: spec.tasks[1].params[home].value",
    )
    right = named(PIPELINE, "prefix-right")
    right["spec"]["tasks"][1]["params"].append({"name": "home", "value": "${HOME}/x"})
    assert create(api, right)["metadata"]["name"] == "prefix-right"


def test_taskrun_needs_exactly_one_task(api: client.ApiClient) -> None:
    """taskrun_validation.go: ``apis.ErrMultipleOneOf("taskRef", "taskSpec")`` when both are given."""
    run = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": "tr-wrong"},
        "spec": {
            "taskRef": {"name": "echo"},
            "taskSpec": TASK["spec"],
            "params": [{"name": "greeting", "value": "hi"}],
        },
    }
    assert_denied(
        refused(api, run),
        PIPELINE_VALIDATION + "validation failed: expected exactly one, got both: spec.taskRef, spec.taskSpec",
    )
    del run["spec"]["taskSpec"]
    assert create(api, {**run, "metadata": {"name": "tr-right"}})["spec"]["taskRef"] == {"name": "echo"}


# ---------------------------------------------------------------- triggers.tekton.dev/v1beta1

TEMPLATE = {
    "apiVersion": "triggers.tekton.dev/v1beta1",
    "kind": "TriggerTemplate",
    "metadata": {"name": "ci"},
    "spec": {
        "params": [{"name": "revision"}],
        "resourcetemplates": [
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "PipelineRun",
                "metadata": {"generateName": "ci-"},
                "spec": {
                    "pipelineRef": {"name": "ci"},
                    "params": [{"name": "url", "value": "$(tt.params.revision)"}],
                },
            }
        ],
    },
}

LISTENER = {
    "apiVersion": "triggers.tekton.dev/v1beta1",
    "kind": "EventListener",
    "metadata": {"name": "lofi"},
    "spec": {
        "serviceAccountName": "lofi-listener",
        "triggers": [
            {
                "name": "push",
                "interceptors": [
                    {
                        "ref": {"name": "github", "kind": "ClusterInterceptor"},
                        "params": [{"name": "eventTypes", "value": ["push"]}],
                    }
                ],
                "bindings": [{"ref": "push", "kind": "TriggerBinding"}],
                "template": {"ref": "ci"},
            }
        ],
    },
}


def test_trigger_template_params_must_be_declared(api: client.ApiClient) -> None:
    """``$(tt.params.x)`` in a resource template must be declared in ``spec.params``.

    trigger_template_validation.go ``verifyParamDeclarations``: ``ErrInvalidValue(fmt.Sprintf("undeclared
    param '$(tt.params.%s)'", …), fmt.Sprintf("[%d]", i))`` with Details "'$(tt.params.%s)' must be
    declared in spec.params".
    """
    wrong = named(TEMPLATE, "tt-wrong")
    wrong["spec"]["resourcetemplates"][0]["spec"]["params"][0]["value"] = "$(tt.params.git-revision)"
    assert_denied(
        refused(api, wrong),
        TRIGGERS_VALIDATION + "validation failed: invalid value: undeclared param '$(tt.params.git-revision)': "
        "spec.resourcetemplates[0]\n'$(tt.params.git-revision)' must be declared in spec.params",
    )
    assert create(api, named(TEMPLATE, "tt-right"))["spec"]["params"] == [{"name": "revision"}]


def test_eventlistener_unknown_field_is_refused(api: client.ApiClient) -> None:
    """Triggers' CRDs preserve every field (config/300-eventlistener.yaml at v0.37.0); the webhook decodes strictly.

    triggers cmd/webhook/main.go: ``defaulting.NewAdmissionController(ctx, "webhook.triggers.tekton.dev",
    …, // Whether to disallow unknown fields. true)``; event_listener_types.go has ``Interceptors
    []*EventInterceptor `json:"interceptors,omitempty"```, no ``interceptor``.
    """
    wrong = named(LISTENER, "el-wrong")
    wrong["spec"]["triggers"][0]["interceptor"] = wrong["spec"]["triggers"][0].pop("interceptors")
    assert_denied(
        refused(api, wrong),
        TRIGGERS_HOOK + 'mutation failed: cannot decode incoming new object: json: unknown field "interceptor"',
    )
    assert create(api, named(LISTENER, "el-right"))["spec"]["triggers"][0]["name"] == "push"


def test_eventlistener_interceptor_needs_a_ref(api: client.ApiClient) -> None:
    """trigger_validation.go ``TriggerInterceptor.validate``: without a webhook, ``ref.name`` is required
    (``apis.ErrMissingField("interceptor")``), seen through ``ViaField("spec.triggers[%d]")``."""
    wrong = named(LISTENER, "ic-wrong")
    wrong["spec"]["triggers"][0]["interceptors"][0]["ref"] = {"kind": "ClusterInterceptor"}
    assert_denied(
        refused(api, wrong),
        TRIGGERS_VALIDATION + "validation failed: missing field(s): spec.triggers[0].interceptors[0].interceptor",
    )
    assert create(api, named(LISTENER, "ic-right"))["metadata"]["name"] == "ic-right"


def test_trigger_binding_param_names_are_unique(api: client.ApiClient) -> None:
    """trigger_binding_validation.go ``validateParams``: "Ensure there aren't multiple params with the
    same name" → ``apis.ErrMultipleOneOf(fmt.Sprintf("[%d].name", i))``."""
    binding = {
        "apiVersion": "triggers.tekton.dev/v1beta1",
        "kind": "TriggerBinding",
        "metadata": {"name": "push"},
        "spec": {"params": [{"name": "revision", "value": "$(body.after)"}]},
    }
    wrong = named(binding, "tb-wrong")
    wrong["spec"]["params"].append({"name": "revision", "value": "$(body.head_commit.id)"})
    assert_denied(
        refused(api, wrong),
        TRIGGERS_VALIDATION + "validation failed: expected exactly one, got both: spec.params[1].name",
    )
    assert create(api, named(binding, "tb-right"))["spec"]["params"][0]["value"] == "$(body.after)"


# ---------------------------------------------------------------- the product's objects


def test_lofi_pipeline_objects_are_admitted(api: client.ApiClient, tmp_path: Path) -> None:
    """Every Tekton object of the lofi pipeline chart (and the PipelineRuns its TriggerTemplates
    create) passes the webhooks with strict field validation."""
    sys.path.insert(0, str(REPO / "application" / "tests"))
    from lofi_charts import PIPELINE_VALUES, helm_template  # noqa: PLC0415 - application/tests is not a package

    docs = helm_template("tekton", PIPELINE_VALUES, tmp_path, release="lofi-pipeline")
    runs = [run for doc in docs if doc["kind"] == "TriggerTemplate" for run in doc["spec"]["resourcetemplates"]]
    kinds = []
    for rendered in [*docs, *runs]:
        if rendered["kind"] not in PLURALS:
            continue
        meta = {k: v for k, v in rendered["metadata"].items() if k not in {"namespace", "generateName"}}
        doc = rendered
        if doc["kind"] == "PipelineRun":
            meta["name"] = doc["metadata"]["generateName"] + "x"
            doc = json.loads(json.dumps(doc).replace("$(tt.params.", "$(x."))  # the listener substitutes these
        create(api, {**doc, "metadata": meta}, field_validation="Strict")
        kinds.append(doc["kind"])
    assert {"EventListener", "Pipeline", "Task", "TriggerBinding", "TriggerTemplate", "PipelineRun"} <= set(kinds)
