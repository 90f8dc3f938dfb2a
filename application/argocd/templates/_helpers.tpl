{{/* The syncPolicy both Applications share. */}}
{{- define "lofi-apps.syncPolicy" -}}
syncPolicy:
  automated:
    prune: {{ .Values.syncPolicy.prune }}
    selfHeal: {{ .Values.syncPolicy.selfHeal }}
  syncOptions:
    - CreateNamespace=true
    - ServerSideApply=true
    - PruneLast=true
  retry:
    limit: 5
    backoff:
      duration: 10s
      factor: 2
      maxDuration: 3m
{{- end -}}

{{- define "lofi-apps.labels" -}}
app.kubernetes.io/part-of: lofi
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
