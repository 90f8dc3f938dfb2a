{{- define "kube-prometheus-stack.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* Truncated at 26 like upstream: component suffixes add up to 37 characters. */}}
{{- define "kube-prometheus-stack.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 26 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 26 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 26 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kube-prometheus-stack.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "kube-prometheus-stack.operator.fullname" -}}
{{- printf "%s-operator" (include "kube-prometheus-stack.fullname" .) -}}
{{- end -}}

{{- define "kube-prometheus-stack.prometheus.crname" -}}
{{- if .Values.cleanPrometheusOperatorObjectNames -}}
{{- include "kube-prometheus-stack.fullname" . -}}
{{- else -}}
{{- printf "%s-prometheus" (include "kube-prometheus-stack.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "kube-prometheus-stack.alertmanager.crname" -}}
{{- if .Values.cleanPrometheusOperatorObjectNames -}}
{{- include "kube-prometheus-stack.fullname" . -}}
{{- else -}}
{{- printf "%s-alertmanager" (include "kube-prometheus-stack.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "kube-prometheus-stack.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ replace "+" "_" .Chart.Version | quote }}
app.kubernetes.io/part-of: {{ include "kube-prometheus-stack.name" . }}
chart: {{ printf "%s-%s" .Chart.Name (replace "+" "_" .Chart.Version) }}
release: {{ .Release.Name | quote }}
heritage: {{ .Release.Service | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kube-prometheus-stack.image" -}}
{{- $registry := default .image.registry .global.imageRegistry -}}
{{- printf "%s/%s:%s" $registry .image.repository (default .default .image.tag) -}}
{{- end -}}

{{/* selector of a Prometheus CR: release label when *NilUsesHelmValues, else the given selector */}}
{{- define "kube-prometheus-stack.selector" -}}
{{- if .selector -}}
{{- toYaml .selector -}}
{{- else if .nilUsesHelmValues -}}
matchLabels:
  release: {{ .release | quote }}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* dict root name namespace selector port path (ServiceMonitor for one of the stack's services) */}}
{{- define "kube-prometheus-stack.serviceMonitor" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ .name }}
  namespace: {{ include "kube-prometheus-stack.namespace" .root }}
  labels:
    app: {{ .app }}
    {{- include "kube-prometheus-stack.labels" .root | nindent 4 }}
spec:
  {{- with .jobLabel }}
  jobLabel: {{ . }}
  {{- end }}
  namespaceSelector:
    matchNames:
      - {{ default (include "kube-prometheus-stack.namespace" .root) .namespace }}
  selector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
  endpoints:
    - port: {{ .port }}
      {{- with .scheme }}
      scheme: {{ . }}
      {{- end }}
      path: {{ default "/metrics" .path }}
{{- end -}}

{{/* dict root name ingress port: an Ingress to one of the stack's Services */}}
{{- define "kube-prometheus-stack.ingress" -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .name }}
  namespace: {{ include "kube-prometheus-stack.namespace" .root }}
  labels:
    {{- include "kube-prometheus-stack.labels" .root | nindent 4 }}
    {{- with .ingress.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .ingress.ingressClassName }}
  ingressClassName: {{ . }}
  {{- end }}
  rules:
    {{- $ctx := . }}
    {{- range .ingress.hosts }}
    - host: {{ . | quote }}
      http:
        paths:
          {{- range (default (list "/") $ctx.ingress.paths) }}
          - path: {{ . }}
            pathType: {{ default "ImplementationSpecific" $ctx.ingress.pathType }}
            backend:
              service:
                name: {{ $ctx.name }}
                port:
                  number: {{ $ctx.port }}
          {{- end }}
    {{- end }}
  {{- with .ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
