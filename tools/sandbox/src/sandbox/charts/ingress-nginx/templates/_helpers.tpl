{{- define "ingress-nginx.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress-nginx.fullname" -}}
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

{{- define "ingress-nginx.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "ingress-nginx.controller.fullname" -}}
{{- printf "%s-%s" (include "ingress-nginx.fullname" .) .Values.controller.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ingress-nginx.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ingress-nginx.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "ingress-nginx.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ingress-nginx.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: {{ include "ingress-nginx.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "ingress-nginx.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ingress-nginx.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The controller container's securityContext: containerSecurityContext verbatim, else built from image.* (upstream's rule). */}}
{{- define "ingress-nginx.controller.containerSecurityContext" -}}
{{- $c := .Values.controller -}}
{{- if $c.containerSecurityContext -}}
{{- toYaml $c.containerSecurityContext -}}
{{- else -}}
runAsNonRoot: {{ $c.image.runAsNonRoot }}
runAsUser: {{ $c.image.runAsUser }}
runAsGroup: {{ $c.image.runAsGroup }}
allowPrivilegeEscalation: {{ or $c.image.allowPrivilegeEscalation $c.image.chroot }}
{{- with $c.image.seccompProfile }}
seccompProfile:
  {{- toYaml . | nindent 2 }}
{{- end }}
capabilities:
  drop:
    - ALL
  add:
    - NET_BIND_SERVICE
    {{- if $c.image.chroot }}
    {{- if $c.image.seccompProfile }}
    - SYS_ADMIN
    {{- end }}
    - SYS_CHROOT
    {{- end }}
readOnlyRootFilesystem: {{ $c.image.readOnlyRootFilesystem }}
{{- end -}}
{{- end -}}
