{{/*
Labels of every object. No app.kubernetes.io/instance on Tekton objects: Tekton copies a
Pipeline's labels onto its PipelineRuns, and Argo CD (label tracking) would then claim the runs
as out-of-sync parts of this Application and prune them.
*/}}
{{- define "lofi-pipeline.labels" -}}
app.kubernetes.io/part-of: lofi
app.kubernetes.io/component: ci
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Labels every PipelineRun created by the EventListener carries (pruning, dashboards, Argo CD exclusions). */}}
{{- define "lofi-pipeline.runLabels" -}}
app.kubernetes.io/part-of: lofi
app.kubernetes.io/component: ci-run
{{- end -}}

{{- define "lofi-pipeline.valuesFile" -}}
{{- $env := required "gitops.environment is required: the environment the pipeline promotes to (e.g. production)" .Values.gitops.environment -}}
{{- printf "%s/%s/values.yaml" (trimSuffix "/" .Values.gitops.valuesDir) $env -}}
{{- end -}}

{{/*
owner/repo of source.url, lower case: the only repository whose webhook events the EventListener
accepts (GitHub's repository.full_name; GitHub compares owner and repository names case-insensitively).
https://host/owner/repo(.git), ssh://[user@]host[:port]/owner/repo(.git) and user@host:owner/repo(.git).
*/}}
{{- define "lofi-pipeline.repository" -}}
{{- $url := required "source.url is required: the clone URL of the application repository" .Values.source.url | trim -}}
{{- $path := regexReplaceAll "^(https://[^/]+/|ssh://[^/]+/|[^@/:]+@[^:/]+:)" $url "" -}}
{{- $name := $path | trimSuffix "/" | trimSuffix ".git" | lower -}}
{{- if or (eq $path $url) (not (regexMatch "^[a-z0-9_.-]+/[a-z0-9_.-]+$" $name)) -}}
{{- fail (printf "source.url %q is not https://host/owner/repo.git (or ssh://host/owner/repo.git, git@host:owner/repo.git): the EventListener accepts only this repository's events" $url) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{- define "lofi-pipeline.promoteConfigMap" -}}
{{- printf "%s-promote" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
PipelineRun spec shared by the push and the pull-request templates; dict: root, event, promote (bool),
push (bool). A pull-request run executes the pull request's code (tests, Dockerfile RUN steps): it runs as
its own ServiceAccount (nothing attached to it), gets no registry credentials and only the read-only git
credentials (secrets.gitReadCredentials; none: an anonymous clone), never the push run's git token.
*/}}
{{- define "lofi-pipeline.pipelineRun" -}}
{{- $root := .root -}}
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  generateName: {{ printf "lofi-ci-%s-" .event }}
  labels:
    {{- include "lofi-pipeline.runLabels" $root | nindent 4 }}
    lofi.doks.gitops/event: {{ .event }}
  annotations:
    # delete the per-run workspace PVC as soon as the run finishes (Tekton >= 1.x); the PVC is
    # also owned by the run, so deleting the run (pruning) removes it in any case
    tekton.dev/auto-cleanup-pvc: "true"
spec:
  pipelineRef:
    name: lofi-ci
  params:
    - name: git-url
      value: $(tt.params.git-url)
    - name: git-revision
      value: $(tt.params.git-revision)
    - name: no-push
      value: {{ not .push | quote }}
    - name: promote
      value: {{ .promote | quote }}
  taskRunTemplate:
    serviceAccountName: {{ ternary $root.Values.serviceAccounts.pipeline $root.Values.serviceAccounts.pullRequest .push }}
    # run.placement (the workloads pool), not the listener's tools pool: a build runs code from git.
    # A PipelineRun's nodeSelector and tolerations replace the tekton role's default-pod-template ones
    # (tektoncd/pipeline pkg/apis/pipeline/pod/template.go MergePodTemplateWithDefault).
    podTemplate:
      securityContext:
        fsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      {{- with $root.Values.run.placement.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.run.placement.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
  timeouts:
    pipeline: {{ $root.Values.run.timeout }}
  workspaces:
    - name: source
      volumeClaimTemplate:
        spec:
          accessModes: ["ReadWriteOnce"]
          {{- with $root.Values.run.storageClassName }}
          storageClassName: {{ . }}
          {{- end }}
          resources:
            requests:
              storage: {{ $root.Values.run.workspaceSize }}
    {{- if .push }}
    - name: git-credentials
      secret:
        secretName: {{ $root.Values.secrets.gitCredentials }}
    {{- else if $root.Values.secrets.gitReadCredentials }}
    - name: git-credentials
      secret:
        secretName: {{ $root.Values.secrets.gitReadCredentials }}
    {{- end }}
    {{- if .push }}
    - name: docker-config
      secret:
        secretName: {{ $root.Values.secrets.registry }}
        items:
          - key: .dockerconfigjson
            path: config.json
    {{- end }}
{{- end -}}

{{/* Directory (in the run's workspace) the build writes the image to as an OCI layout and the scan reads. */}}
{{- define "lofi-pipeline.imageLayout" -}}
.lofi-image
{{- end -}}

{{/*
Severities that fail the scan: scan.severity and every higher one on Trivy's scale (UNKNOWN is no rank:
never part of a threshold), joined for --severity.
*/}}
{{- define "lofi-pipeline.scanSeverities" -}}
{{- $scale := list "LOW" "MEDIUM" "HIGH" "CRITICAL" -}}
{{- $threshold := .Values.scan.severity -}}
{{- if not (has $threshold $scale) -}}
{{- fail (printf "scan.severity %q is not one of LOW, MEDIUM, HIGH, CRITICAL (the lowest severity that fails the scan)" (toString $threshold)) -}}
{{- end -}}
{{- $on := false -}}
{{- $out := list -}}
{{- range $scale -}}
{{- if eq . $threshold -}}{{- $on = true -}}{{- end -}}
{{- if $on -}}{{- $out = append $out . -}}{{- end -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/*
What every step of the scan Task shares: the Trivy image, its cache and report volume, resources and a
non-root container without capabilities. Ends with `env:` and HOME, so a step may add variables below it.
*/}}
{{- define "lofi-pipeline.scanStep" -}}
image: {{ .Values.images.trivy }}
volumeMounts:
  - name: scan
    mountPath: /scan
computeResources:
  requests:
    cpu: 250m
    memory: 512Mi
  limits:
    memory: 2Gi
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  allowPrivilegeEscalation: false
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
env:
  - name: HOME
    value: /scan
{{- end -}}
