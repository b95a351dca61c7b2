#!/bin/sh
# The pre-commit framework's entry for the latchkey-scan hook (language: script,
# see .pre-commit-hooks.yaml). pre-commit runs it from the repository being
# committed to, with this file inside its clone of the Latchkey repository.
#
# Why a script and not `language: golang`: pre-commit's golang language runs
# `go install ./...` at the hook repository's root, which compiles the whole
# controller (Kubernetes, Helm and Vault clients). This builds only
# ./cmd/latchkey-scan, once per clone: pre-commit keeps one clone per hook
# revision, so the binary cached in it is rebuilt exactly when `rev:` changes,
# and `pre-commit clean`/`gc` removes it with the clone.
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
bin="$src/.bin/latchkey-scan"

if [ ! -x "$bin" ]; then
	if ! command -v go >/dev/null 2>&1; then
		echo "latchkey-scan: building the hook needs Go (https://go.dev/dl/) on PATH;" >&2
		echo "  or install the binary yourself and use the hook id latchkey-scan-system instead" >&2
		exit 2
	fi
	mkdir -p "$src/.bin"
	# Build beside the final path and rename: two commits running at once
	# (two repositories sharing PRE_COMMIT_HOME) never see a half-written binary.
	tmp="$bin.$$.tmp"
	trap 'rm -f "$tmp"' EXIT
	# The hook runs inside `git commit`, which may export GIT_INDEX_FILE (a
	# temporary index of the user's repository, with -a or paths): keep that
	# from go's VCS stamping and stamp the revision pre-commit checked out (a
	# detached HEAD) as the version instead.
	rev=$(cat "$src/.git/HEAD" 2>/dev/null || true)
	case $rev in '' | *[!0-9a-f]*) rev=dev ;; esac
	(
		unset GIT_DIR GIT_INDEX_FILE GIT_WORK_TREE GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR
		cd "$src" && go build -trimpath -buildvcs=false -ldflags "-X main.version=$rev" -o "$tmp" ./cmd/latchkey-scan
	) || {
		echo "latchkey-scan: building the hook failed (see above); bypass it once with SKIP=latchkey-scan git commit ..." >&2
		exit 2
	}
	mv -f "$tmp" "$bin"
	trap - EXIT
fi

exec "$bin" "$@"
