{{- define "loki.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "loki.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "loki.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "loki.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{/* dict ctx component */}}
{{- define "loki.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loki.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{- define "loki.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "loki.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "loki.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "loki.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* dict image global defaultTag */}}
{{- define "loki.image" -}}
{{- $registry := coalesce .global.imageRegistry .image.registry "docker.io" -}}
{{- printf "%s/%s:%s" $registry .image.repository (toString (default .defaultTag .image.tag)) -}}
{{- end -}}

{{- define "loki.isUsingObjectStorage" -}}
{{- has .Values.loki.storage.type (list "s3" "gcs" "azure" "swift" "alibabacloud" "cos" "bos") -}}
{{- end -}}

{{/* the generated Loki configuration (config.yaml) */}}
{{- define "loki.calculatedConfig" -}}
{{- $l := .Values.loki -}}
auth_enabled: {{ $l.auth_enabled }}
server:
  {{- toYaml $l.server | nindent 2 }}
memberlist:
  join_members:
    - {{ include "loki.fullname" . }}-memberlist.{{ include "loki.namespace" . }}.svc.{{ .Values.global.clusterDomain }}
common:
  {{- toYaml $l.commonConfig | nindent 2 }}
  storage:
    {{- if eq (include "loki.isUsingObjectStorage" .) "true" }}
    {{- $chunks := required "Please define loki.storage.bucketNames.chunks" (dig "bucketNames" "chunks" "" $l.storage) }}
    {{- if eq $l.storage.type "s3" }}
    s3:
      bucketnames: {{ $chunks }}
      {{- with $l.storage.s3 }}
      {{- with .endpoint }}
      endpoint: {{ . }}
      {{- end }}
      {{- with .region }}
      region: {{ . }}
      {{- end }}
      {{- with .accessKeyId }}
      access_key_id: {{ . }}
      {{- end }}
      {{- with .secretAccessKey }}
      secret_access_key: {{ . }}
      {{- end }}
      s3forcepathstyle: {{ .s3ForcePathStyle }}
      insecure: {{ .insecure }}
      {{- end }}
    {{- else }}
    {{ $l.storage.type }}:
      bucket_name: {{ $chunks }}
    {{- end }}
    {{- else }}
    filesystem:
      chunks_directory: /var/loki/chunks
      rules_directory: /var/loki/rules
    {{- end }}
limits_config:
  {{- toYaml $l.limits_config | nindent 2 }}
runtime_config:
  file: /etc/loki/runtime-config/runtime-config.yaml
{{- with $l.schemaConfig }}
schema_config:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $l.storage_config }}
storage_config:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $l.compactor }}
compactor:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if eq (include "loki.isUsingObjectStorage" .) "true" }}
ruler:
  storage:
    type: {{ $l.storage.type }}
    {{ $l.storage.type }}:
      bucketnames: {{ required "Please define loki.storage.bucketNames.ruler" (dig "bucketNames" "ruler" "" $l.storage) }}
{{- end }}
{{- if .Values.chunksCache.enabled }}
chunk_store_config:
  chunk_cache_config:
    memcached_client:
      addresses: dnssrvnoa+_memcached-client._tcp.{{ include "loki.fullname" . }}-chunks-cache.{{ include "loki.namespace" . }}.svc
{{- end }}
{{- if .Values.resultsCache.enabled }}
query_range:
  align_queries_with_step: true
  cache_results: true
  results_cache:
    cache:
      memcached_client:
        addresses: dnssrvnoa+_memcached-client._tcp.{{ include "loki.fullname" . }}-results-cache.{{ include "loki.namespace" . }}.svc
{{- end }}
{{- end -}}

{{/* placement with a fallback map (dict own fallback) */}}
{{- define "loki.placement" -}}
{{- with (coalesce .own.nodeSelector .fallback.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (coalesce .own.tolerations .fallback.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .own.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
