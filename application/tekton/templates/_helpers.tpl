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

{{- define "lofi-pipeline.promoteConfigMap" -}}
{{- printf "%s-promote" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* PipelineRun spec shared by the push and the pull-request templates; dict: root, event, promote (bool), push (bool). */}}
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
    serviceAccountName: {{ $root.Values.serviceAccounts.pipeline }}
    podTemplate:
      securityContext:
        fsGroup: 65532
      {{- with $root.Values.placement.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.placement.tolerations }}
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
    - name: git-credentials
      secret:
        secretName: {{ $root.Values.secrets.gitCredentials }}
    {{- if .push }}
    - name: docker-config
      secret:
        secretName: {{ $root.Values.secrets.registry }}
        items:
          - key: .dockerconfigjson
            path: config.json
    {{- end }}
{{- end -}}
