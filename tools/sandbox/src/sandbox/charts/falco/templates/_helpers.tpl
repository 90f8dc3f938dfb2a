{{- define "falco.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "falco.fullname" -}}
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

{{- define "falco.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "falco.selectorLabels" -}}
app.kubernetes.io/name: {{ include "falco.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "falco.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "falco.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* registry/repository:tag, the tag defaulting to the appVersion (upstream falco.image) */}}
{{- define "falco.image" -}}
{{- with .Values.image.registry -}}{{ . }}/{{- end -}}
{{- .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion -}}
{{- end -}}

{{/* upstream falco.engineConfiguration: only kmod, modern_ebpf, auto and the aliases module, modern-bpf */}}
{{- define "falco.driverKind" -}}
{{- $supported := list "kmod" "modern_ebpf" "auto" -}}
{{- $aliases := list "module" "modern-bpf" -}}
{{- if and (not (has .Values.driver.kind $supported)) (not (has .Values.driver.kind $aliases)) -}}
{{- fail (printf "unsupported driver kind: \"%s\". Supported drivers %s, alias %s" .Values.driver.kind $supported $aliases) -}}
{{- end -}}
{{- if eq .Values.driver.kind "module" }}kmod{{ else if eq .Values.driver.kind "modern-bpf" }}modern_ebpf{{ else }}{{ .Values.driver.kind }}{{ end -}}
{{- end -}}

{{/* upstream falco.securityContext: privileged for every driver, unless modern_ebpf with leastPrivileged */}}
{{- define "falco.securityContext" -}}
{{- $sc := dict -}}
{{- if .Values.driver.enabled -}}
{{- if and (eq (include "falco.driverKind" .) "modern_ebpf") .Values.driver.modernEbpf.leastPrivileged -}}
{{- $_ := set $sc "capabilities" (dict "add" (list "BPF" "SYS_RESOURCE" "PERFMON" "SYS_PTRACE")) -}}
{{- else -}}
{{- $_ := set $sc "privileged" true -}}
{{- end -}}
{{- end -}}
{{- if .Values.containerSecurityContext -}}
{{- toYaml .Values.containerSecurityContext -}}
{{- else -}}
{{- toYaml $sc -}}
{{- end -}}
{{- end -}}

{{/* upstream falcosidekick.url: the subchart's Service on 2801 (falcosidekick.listenport, lower case upstream) */}}
{{- define "falco.falcosidekickUrl" -}}
{{- $port := .Values.falcosidekick.listenport | default "2801" -}}
{{- if .Values.falcosidekick.fullfqdn -}}
{{- printf "http://%s-falcosidekick.%s.svc.cluster.local:%s" (include "falco.fullname" .) .Release.Namespace $port -}}
{{- else -}}
{{- printf "http://%s-falcosidekick:%s" (include "falco.fullname" .) $port -}}
{{- end -}}
{{- end -}}
