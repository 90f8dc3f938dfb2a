{{/* Name of every object: the release name (Argo CD: the Application name). */}}
{{- define "lofi.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lofi.selectorLabels" -}}
app.kubernetes.io/name: lofi
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lofi.labels" -}}
{{ include "lofi.selectorLabels" . }}
app.kubernetes.io/version: {{ include "lofi.version" . | quote }}
app.kubernetes.io/part-of: lofi
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The image reference: repository@digest once promoted, repository:tag before that. */}}
{{- define "lofi.image" -}}
{{- $repo := required "image.repository is required (the registry repository the pipeline pushes to)" .Values.image.repository -}}
{{- if contains "@" $repo -}}
{{- fail (printf "image.repository %q must not carry a digest; set image.digest" $repo) -}}
{{- end -}}
{{- with .Values.image.digest -}}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" .) -}}
{{- fail (printf "image.digest %q is not sha256:<64 hex>" .) -}}
{{- end -}}
{{- printf "%s@%s" $repo . -}}
{{- else -}}
{{- $tag := required "image.digest is empty and no image.tag is set: run the lofi-ci pipeline once (it promotes a digest) or set image.tag" .Values.image.tag -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must not be latest: the cluster would not know when it changes" -}}
{{- end -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}
{{- end -}}

{{/* Version shown by the app: appVersion, else the digest's first 12 hex, else the tag. */}}
{{- define "lofi.version" -}}
{{- if .Values.appVersion -}}
{{- .Values.appVersion -}}
{{- else if .Values.image.digest -}}
{{- .Values.image.digest | trimPrefix "sha256:" | trunc 12 -}}
{{- else -}}
{{- .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}
{{- end -}}
