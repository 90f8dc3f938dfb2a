{{- define "cert-manager.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cert-manager.namespace" -}}
{{- default .Release.Namespace .Values.namespace -}}
{{- end -}}

{{- define "labels" -}}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- if eq .Values.creator "helm" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 }}
{{- end }}
{{- with .Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "cert-manager.crd-labels" -}}
app: cert-manager
app.kubernetes.io/name: cert-manager
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: crds
{{ include "labels" . }}
{{- end -}}

{{/* (tuple <image values> <root>) -> registry/namespace/name:tag like upstream */}}
{{- define "cert-manager.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- $repo := $image.repository -}}
{{- if not $repo -}}
{{- $repo = printf "%s/%s/%s" $root.Values.imageRegistry $root.Values.imageNamespace $image.name -}}
{{- end -}}
{{- printf "%s:%s" $repo (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/* Component name: "" (controller), "webhook", "cainjector", "startupapicheck" */}}
{{- define "cert-manager.component.name" -}}
{{- if .component -}}
{{- printf "%s-%s" (include "cert-manager.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "cert-manager.fullname" .root -}}
{{- end -}}
{{- end -}}

{{- define "cert-manager.component.selector" -}}
app.kubernetes.io/name: {{ default "cert-manager" .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ default "controller" .component | quote }}
{{- end -}}

{{- define "cert-manager.component.labels" -}}
app: {{ default "cert-manager" .component }}
{{ include "cert-manager.component.selector" . }}
{{ include "labels" .root }}
{{- end -}}

{{/* A component's pod placement: the component's keys, then global.nodeSelector */}}
{{- define "cert-manager.placement" -}}
{{- $nodeSelector := merge (deepCopy (default dict .values.nodeSelector)) .root.Values.global.nodeSelector -}}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Deployment + ServiceAccount of one component: dict root component values args port */}}
{{- define "cert-manager.deployment" -}}
{{- $name := include "cert-manager.component.name" . -}}
{{- $ns := include "cert-manager.namespace" .root -}}
{{- if .values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
automountServiceAccountToken: true
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
  labels:
    {{- include "cert-manager.component.labels" . | nindent 4 }}
  {{- with .values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
---
{{- end }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  namespace: {{ $ns }}
  labels:
    {{- include "cert-manager.component.labels" . | nindent 4 }}
spec:
  replicas: {{ .values.replicaCount }}
  selector:
    matchLabels:
      {{- include "cert-manager.component.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "cert-manager.component.labels" . | nindent 8 }}
        {{- with .values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ .values.serviceAccount.create | ternary $name "default" }}
      enableServiceLinks: false
      {{- with .root.Values.global.priorityClassName }}
      priorityClassName: {{ . | quote }}
      {{- end }}
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ printf "cert-manager-%s" (default "controller" .component) }}
          image: {{ include "cert-manager.image" (tuple .values.image .root) }}
          imagePullPolicy: {{ .values.image.pullPolicy }}
          args:
            - --v={{ .root.Values.global.logLevel }}
            {{- range .args }}
            - {{ . }}
            {{- end }}
            {{- range .values.extraArgs }}
            - {{ . }}
            {{- end }}
          ports:
            {{- range $portName, $port := .ports }}
            - name: {{ $portName }}
              containerPort: {{ $port }}
              protocol: TCP
            {{- end }}
          env:
            - name: POD_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            {{- with .values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with .values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
      {{- include "cert-manager.placement" . | nindent 6 }}
{{- end -}}
