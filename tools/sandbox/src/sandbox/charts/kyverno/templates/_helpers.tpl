{{- define "kyverno.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kyverno.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/* matchLabels of one component: (list $ "admission-controller") */}}
{{- define "kyverno.matchLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/part-of: {{ include "kyverno.fullname" $ }}
{{- end -}}

{{- define "kyverno.labels" -}}
{{ include "kyverno.matchLabels" . }}
{{- $ := index . 0 }}
app.kubernetes.io/version: {{ $.Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ $.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $.Chart.Name $.Chart.Version }}
{{- with $.Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Placement like upstream: a component's value when non-empty, else global's; kubernetes.io/os: linux always merged. */}}
{{- define "kyverno.placement" -}}
{{- $ := index . 0 -}}
{{- $c := index . 1 -}}
{{- $selector := merge (dict "kubernetes.io/os" "linux") (default $.Values.global.nodeSelector $c.nodeSelector) -}}
nodeSelector:
  {{- toYaml $selector | nindent 2 }}
{{- with (default $.Values.global.tolerations $c.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
