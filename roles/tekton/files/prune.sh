#!/usr/bin/env bash
# Keep the newest PRUNE_KEEP completed PipelineRuns of every Pipeline, and the newest PRUNE_KEEP
# completed TaskRuns of every Task among TaskRuns that belong to no PipelineRun; delete the rest.
# Deletion cascades (background) to the runs' TaskRuns, pods and the PersistentVolumeClaims
# Tekton created for volumeClaimTemplate workspaces (they carry owner references to the run).
# PRUNE_NAMESPACES (space separated) limits the namespaces; empty means every namespace.
set -eu
# Fail when a kubectl listing fails inside a pipe.
set -o pipefail

keep="${PRUNE_KEEP:?PRUNE_KEEP is not set}"

# $1 = resource, $2 = jq expression selecting candidate runs, $3 = jq expression of the group key
candidates() {
  if [ -z "${PRUNE_NAMESPACES:-}" ]; then
    kubectl get "$1" --all-namespaces -o json
  else
    for ns in $PRUNE_NAMESPACES; do kubectl get "$1" -n "$ns" -o json; done
  fi | jq -r --argjson keep "$keep" -s "
    [.[].items[] | select(.status.completionTime != null) | select($2)]
    | group_by([.metadata.namespace, ($3)])
    | map(sort_by(.status.completionTime) | reverse | .[\$keep:])
    | add // [] | .[] | \"\(.metadata.namespace) \(.metadata.name)\""
}

prune() {
  candidates "$1" "$2" "$3" | while read -r ns name; do
    kubectl delete "$1" -n "$ns" "$name" --ignore-not-found --wait=false
  done
  echo "pruned $1, kept the newest $keep completed per group"
}

prune pipelineruns.tekton.dev 'true' \
  '.spec.pipelineRef.name // .metadata.generateName // .metadata.labels["tekton.dev/pipeline"] // .metadata.name'
prune taskruns.tekton.dev '(.metadata.labels["tekton.dev/pipelineRun"] // "") == ""' \
  '.spec.taskRef.name // .metadata.generateName // .metadata.labels["tekton.dev/task"] // .metadata.name'
