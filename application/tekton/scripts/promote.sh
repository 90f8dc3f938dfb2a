#!/bin/sh
# promote.sh - write a freshly built image digest into the GitOps repository Argo CD watches.
#
# Runs as the last step of the lofi-ci pipeline (Task lofi-promote); the Helm chart ships this
# very file in a ConfigMap, so what the tests exercise is what runs. POSIX sh + git only (the
# git-clone catalog image: alpine, busybox, git).
#
# Inputs (environment):
#   GITOPS_URL        repository to clone and push (required)
#   GITOPS_BRANCH     branch to commit to (required)
#   VALUES_FILE       path inside the repository, e.g. application/deployment/environments/production/values.yaml
#   IMAGE_DIGEST      sha256:<64 hex> (required)
#   SOURCE_REVISION   commit of the application source that was built (hex, 7-64 chars)
#   IMAGE_URL         optional, repository the digest belongs to (named in the commit message)
#   SOURCE_URL        optional, repository the revision belongs to (named in the commit message)
#   ENVIRONMENT       optional, environment name for the commit subject
#   GIT_CREDENTIALS_DIR optional, directory holding .gitconfig and .git-credentials (basic-auth workspace)
#   GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL  commit identity (defaults: lofi-ci / lofi-ci@localhost)
#   WORK_DIR          scratch directory for the clone (default: a new temporary directory)
#   RESULT_COMMIT     optional file receiving the commit written ("" when nothing changed)
#   PUSH_ATTEMPTS     how often to retry a push rejected because the branch moved (default 4)
#
# Exit codes: 0 promoted or already current; 2 bad input; 1 git failure.
set -eu

die() {
    echo "promote: $*" >&2
    exit "${2:-2}"
}

require() {
    eval "value=\${$1:-}"
    [ -n "$value" ] || die "$1 is required"
}

validate() {
    for name in GITOPS_URL GITOPS_BRANCH VALUES_FILE IMAGE_DIGEST SOURCE_REVISION; do
        require "$name"
    done
    printf '%s' "$IMAGE_DIGEST" | grep -Eqx 'sha256:[0-9a-f]{64}' ||
        die "IMAGE_DIGEST must be sha256:<64 lowercase hex>, got '$IMAGE_DIGEST'"
    printf '%s' "$SOURCE_REVISION" | grep -Eqx '[0-9a-f]{7,64}' ||
        die "SOURCE_REVISION must be a commit id (7-64 hex), got '$SOURCE_REVISION'"
    case "$VALUES_FILE" in
    /* | *..* | *' '*) die "VALUES_FILE must be a relative path inside the repository, got '$VALUES_FILE'" ;;
    *.yaml | *.yml) ;;
    *) die "VALUES_FILE must name a .yaml file, got '$VALUES_FILE'" ;;
    esac
    case "$PUSH_ATTEMPTS" in
    '' | *[!0-9]*) die "PUSH_ATTEMPTS must be a positive integer, got '$PUSH_ATTEMPTS'" ;;
    esac
}

setup_credentials() {
    dir="${GIT_CREDENTIALS_DIR:-}"
    [ -n "$dir" ] || return 0
    [ -d "$dir" ] || die "GIT_CREDENTIALS_DIR '$dir' is not a directory"
    # same layout as the git-clone task's basic-auth workspace
    mkdir -p "$HOME"
    for file in .gitconfig .git-credentials; do
        if [ -f "$dir/$file" ]; then
            cp "$dir/$file" "$HOME/$file"
            chmod 400 "$HOME/$file"
        fi
    done
}

# Print the values file with image.digest set to $1, keeping every other line as it is.
set_digest() {
    awk -v digest="$1" '
        function emit_digest() { print "  digest: \"" digest "\""; done = 1 }
        /^image:[ \t]*[^ \t#]/ { flow = 1 }
        /^image:[ \t]*(#.*)?$/ { print; in_image = 1; next }
        in_image && /^[ \t]+digest:/ { if (!done) emit_digest(); next }
        in_image && /^[^ \t#]/ { if (!done) emit_digest(); in_image = 0 }
        { print }
        END {
            if (flow) exit 3
            if (in_image && !done) emit_digest()
            else if (!done) { print "image:"; emit_digest() }
        }
    ' "$2"
}

commit_message() {
    subject="lofi"
    [ -z "${ENVIRONMENT:-}" ] || subject="lofi($ENVIRONMENT)"
    short=$(printf '%s' "$SOURCE_REVISION" | cut -c1-12)
    printf '%s: deploy %s built from %s\n\n' "$subject" "$IMAGE_DIGEST" "$short"
    printf 'Source-Revision: %s\n' "$SOURCE_REVISION"
    [ -z "${SOURCE_URL:-}" ] || printf 'Source-Repository: %s\n' "$SOURCE_URL"
    if [ -n "${IMAGE_URL:-}" ]; then
        printf 'Image: %s@%s\n' "${IMAGE_URL%@*}" "$IMAGE_DIGEST"
    else
        printf 'Image-Digest: %s\n' "$IMAGE_DIGEST"
    fi
    printf 'Values-File: %s\n' "$VALUES_FILE"
}

# Write the digest into the checkout; succeed when the file changed.
apply() {
    target="$WORK_DIR/repo/$VALUES_FILE"
    mkdir -p "$(dirname "$target")"
    [ -f "$target" ] || : >"$target"
    set_digest "$IMAGE_DIGEST" "$target" >"$target.new" ||
        die "$VALUES_FILE: cannot set image.digest (write image: as a block mapping, not inline)"
    mv "$target.new" "$target" || die "cannot write $VALUES_FILE" 1
    [ -n "$(git -C "$WORK_DIR/repo" status --porcelain -- "$VALUES_FILE")" ]
}

write_result() {
    [ -z "${RESULT_COMMIT:-}" ] || printf '%s' "$1" >"$RESULT_COMMIT"
}

main() {
    PUSH_ATTEMPTS="${PUSH_ATTEMPTS:-4}"
    validate
    setup_credentials
    export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-lofi-ci}"
    export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-lofi-ci@localhost}"
    export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME"
    export GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
    WORK_DIR="${WORK_DIR:-$(mktemp -d)}"
    rm -rf "$WORK_DIR/repo"

    git clone --quiet --depth 1 --branch "$GITOPS_BRANCH" -- "$GITOPS_URL" "$WORK_DIR/repo" ||
        die "cannot clone branch '$GITOPS_BRANCH' of the GitOps repository" 1

    attempt=1
    while :; do
        if ! apply; then
            echo "promote: $VALUES_FILE already deploys $IMAGE_DIGEST; nothing to commit"
            write_result ""
            return 0
        fi
        git -C "$WORK_DIR/repo" add -- "$VALUES_FILE"
        commit_message | git -C "$WORK_DIR/repo" commit --quiet --file=-
        if git -C "$WORK_DIR/repo" push --quiet origin "HEAD:refs/heads/$GITOPS_BRANCH"; then
            commit=$(git -C "$WORK_DIR/repo" rev-parse HEAD)
            echo "promote: committed $commit to $GITOPS_BRANCH: $VALUES_FILE -> $IMAGE_DIGEST"
            write_result "$commit"
            return 0
        fi
        [ "$attempt" -lt "$PUSH_ATTEMPTS" ] || die "push to '$GITOPS_BRANCH' rejected $attempt times" 1
        # the branch moved under us: start again from its new tip
        echo "promote: push rejected (attempt $attempt), refetching $GITOPS_BRANCH" >&2
        attempt=$((attempt + 1))
        sleep "$attempt"
        git -C "$WORK_DIR/repo" fetch --quiet --depth 1 origin "$GITOPS_BRANCH" ||
            die "cannot fetch '$GITOPS_BRANCH'" 1
        git -C "$WORK_DIR/repo" reset --quiet --hard FETCH_HEAD
    done
}

main "$@"
