{{- define "argo-cd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "argo-cd.fullname" -}}
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

{{- define "argo-cd.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* dict context component name */}}
{{- define "argo-cd.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-%s" (include "argo-cd.name" .context) (default .component .name) }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "argo-cd.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version | replace "+" "_" }}
{{ include "argo-cd.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
app.kubernetes.io/part-of: argocd
app.kubernetes.io/version: {{ default .context.Chart.AppVersion .context.Values.global.image.tag | quote }}
{{- with .context.Values.global.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "argo-cd.image" -}}
{{- $img := .component.image -}}
{{- printf "%s:%s" (default .context.Values.global.image.repository $img.repository) (default (default .context.Chart.AppVersion .context.Values.global.image.tag) $img.tag) -}}
{{- end -}}

{{- define "argo-cd.serviceAccountName" -}}
{{- $sa := .component.serviceAccount -}}
{{- if $sa.create -}}
{{- default .fullname $sa.name -}}
{{- else -}}
{{- default "default" $sa.name -}}
{{- end -}}
{{- end -}}

{{/* argocd-cm data: presets (url from global.domain) overwritten by configs.cm */}}
{{- define "argo-cd.config.cm" -}}
{{- $config := omit .Values.configs.cm "create" "annotations" -}}
{{- $preset := dict "url" (printf "https://%s" .Values.global.domain) -}}
{{- range $key, $value := mergeOverwrite $preset $config }}
{{- $fmted := $value | toString }}
{{- if not (eq $fmted "") }}
{{ $key }}: {{ $fmted | toYaml }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "argo-cd.config.params" -}}
{{- $config := omit .Values.configs.params "create" "annotations" -}}
{{- $preset := dict "repo.server" (printf "%s-%s:%d" (include "argo-cd.fullname" .) .Values.repoServer.name (int .Values.repoServer.service.port)) "redis.server" (printf "%s-%s:%d" (include "argo-cd.fullname" .) .Values.redis.name (int .Values.redis.servicePort)) "server.insecure" false "server.basehref" "/" "server.rootpath" "" "server.dex.server" (printf "https://%s-%s:%d" (include "argo-cd.fullname" .) .Values.dex.name (int .Values.dex.servicePortHttp)) "otlp.address" "" "controller.status.processors" 20 "controller.operation.processors" 10 "controller.repo.server.timeout.seconds" 60 "applicationsetcontroller.policy" "sync" -}}
{{- range $key, $value := mergeOverwrite $preset $config }}
{{ $key }}: {{ toString $value | toYaml }}
{{- end }}
{{- end -}}

{{/*
One Argo CD workload with its ServiceAccount, Service and metrics.
dict context component(values) key kind args ports(name->port) servicePorts(name->port)
*/}}
{{- define "argo-cd.workload" -}}
{{- $ctx := .context -}}
{{- $c := .component -}}
{{- $fullname := printf "%s-%s" (include "argo-cd.fullname" $ctx) $c.name | trunc 52 | trimSuffix "-" -}}
{{- $lbl := dict "context" $ctx "component" $c.name -}}
{{- $ns := include "argo-cd.namespace" $ctx -}}
{{- $sa := include "argo-cd.serviceAccountName" (dict "component" $c "fullname" $fullname) -}}
{{- if $c.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $sa }}
  namespace: {{ $ns }}
  labels:
    {{- include "argo-cd.labels" $lbl | nindent 4 }}
  {{- with $c.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
---
{{- end }}
apiVersion: apps/v1
kind: {{ .kind }}
metadata:
  name: {{ $fullname }}
  namespace: {{ $ns }}
  labels:
    {{- include "argo-cd.labels" $lbl | nindent 4 }}
spec:
  replicas: {{ default 1 $c.replicas }}
  {{- if eq .kind "StatefulSet" }}
  serviceName: {{ $fullname }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "argo-cd.selectorLabels" $lbl | nindent 6 }}
  template:
    metadata:
      annotations:
        {{- if has $c.name (list "server" "repo-server" "application-controller") }}
        checksum/cmd-params: {{ include "argo-cd.config.params" $ctx | sha256sum }}
        {{- end }}
        {{- with (merge (dict) $c.podAnnotations $ctx.Values.global.podAnnotations) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "argo-cd.labels" $lbl | nindent 8 }}
        {{- with (merge (dict) $c.podLabels $ctx.Values.global.podLabels) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ $sa }}
      {{- with (default $ctx.Values.global.priorityClassName $c.priorityClassName) }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with (hasKey $c "securityContext" | ternary $c.securityContext $ctx.Values.global.securityContext) }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ $c.name }}
          image: {{ include "argo-cd.image" (dict "context" $ctx "component" $c) }}
          {{- with $c.containerSecurityContext }}
          securityContext:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          imagePullPolicy: {{ default $ctx.Values.global.image.imagePullPolicy $c.image.imagePullPolicy }}
          args:
            {{- range .args }}
            - {{ . | quote }}
            {{- end }}
            {{- range $c.extraArgs }}
            - {{ . | quote }}
            {{- end }}
          {{- $env := concat $ctx.Values.global.env (default list $c.env) (default list $c.extraEnv) }}
          {{- with $env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with (concat (default list $c.envFrom) (default list $c.extraEnvFrom)) }}
          envFrom:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          ports:
            {{- range $portName, $port := .ports }}
            - name: {{ $portName }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          {{- with $c.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with (default $ctx.Values.global.nodeSelector $c.nodeSelector) }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (default $ctx.Values.global.tolerations $c.tolerations) }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with include "argo-cd.affinity" (dict "context" $ctx "component" $c) | trim }}
      affinity:
        {{- . | nindent 8 }}
      {{- end }}
{{- if .servicePorts }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  namespace: {{ $ns }}
  labels:
    {{- include "argo-cd.labels" $lbl | nindent 4 }}
    {{- with ($c.service).labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with ($c.service).annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: {{ default "ClusterIP" ($c.service).type }}
  ports:
    {{- range $portName, $port := .servicePorts }}
    - name: {{ $portName }}
      port: {{ index $port 0 }}
      targetPort: {{ index $port 1 }}
      protocol: TCP
    {{- end }}
  selector:
    {{- include "argo-cd.selectorLabels" $lbl | nindent 4 }}
{{- end }}
{{- if ($c.metrics).enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-metrics
  namespace: {{ $ns }}
  labels:
    {{- include "argo-cd.labels" (dict "context" $ctx "component" $c.name "name" "metrics") | nindent 4 }}
spec:
  type: ClusterIP
  ports:
    - name: http-metrics
      port: {{ default (default 9001 $c.metrics.port) (($c.metrics).service).servicePort }}
      targetPort: metrics
  selector:
    {{- include "argo-cd.selectorLabels" $lbl | nindent 4 }}
{{- if (($c.metrics).serviceMonitor).enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $fullname }}
  namespace: {{ default $ns $c.metrics.serviceMonitor.namespace }}
  labels:
    {{- include "argo-cd.labels" $lbl | nindent 4 }}
    {{- with $c.metrics.serviceMonitor.additionalLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  endpoints:
    - port: http-metrics
      {{- with $c.metrics.serviceMonitor.interval }}
      interval: {{ . }}
      {{- end }}
  namespaceSelector:
    matchNames:
      - {{ $ns }}
  selector:
    matchLabels:
      {{- include "argo-cd.selectorLabels" (dict "context" $ctx "component" $c.name "name" "metrics") | nindent 6 }}
{{- end }}
{{- end }}
{{- end -}}

{{/* a component's affinity, or the global.affinity presets (dict context component) */}}
{{- define "argo-cd.affinity" -}}
{{- if .component.affinity -}}
{{- toYaml .component.affinity -}}
{{- else -}}
{{- $preset := .context.Values.global.affinity -}}
{{- $selector := dict "matchLabels" (dict "app.kubernetes.io/name" (printf "%s-%s" (include "argo-cd.name" .context) .component.name)) -}}
{{- $affinity := dict -}}
{{- if eq (toString $preset.podAntiAffinity) "soft" -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 100 "podAffinityTerm" (dict "labelSelector" $selector "topologyKey" "kubernetes.io/hostname")))) -}}
{{- else if eq (toString $preset.podAntiAffinity) "hard" -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list (dict "labelSelector" $selector "topologyKey" "kubernetes.io/hostname"))) -}}
{{- end -}}
{{- with ($preset.nodeAffinity).matchExpressions -}}
{{- if eq (toString $preset.nodeAffinity.type) "soft" -}}
{{- $_ := set $affinity "nodeAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 1 "preference" (dict "matchExpressions" .)))) -}}
{{- else -}}
{{- $_ := set $affinity "nodeAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (dict "nodeSelectorTerms" (list (dict "matchExpressions" .)))) -}}
{{- end -}}
{{- end -}}
{{- if $affinity }}{{ toYaml $affinity }}{{ end -}}
{{- end -}}
{{- end -}}
