#!/usr/bin/env bash
# Install cost of the pre-commit hook: latchkey-scan vs gitleaks v8.30.1, each
# from a local Git repository holding its own .pre-commit-hooks.yaml, run by
# the pre-commit framework on PATH (Debian's package: apt-get install pre-commit).
#
#   bench/precommit.sh [RUNS]      default 1 run of each, interleaved
#
# For each tool and run it prints:
#   cold_s   first use with nothing cached: a fresh PRE_COMMIT_HOME and empty
#            GOCACHE and GOMODCACHE (every module downloaded, every package compiled)
#   gowarm_s first use of the hook (fresh PRE_COMMIT_HOME) on a machine that
#            already builds Go: this user's GOCACHE and GOMODCACHE, as they are
#   next_s   the next commit: the hook is installed, pre-commit only runs it
#   bin_MB   the size of the binary the hook built
# then the medians and the ratios gitleaks/latchkey.
#
# The latchkey hook repository is a clone of the checkout's committed HEAD
# (commit first to measure uncommitted changes); gitleaks' is its module
# v8.30.1 from the Go module proxy (the version tools/install.sh builds), made
# a Git repository. Both hooks run on the same one-file commit of a clean
# manifest, so both exit 0. Modules come from GOPROXY: cold figures include the
# download.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-1}
gitleaks_version=v8.30.1

command -v pre-commit >/dev/null || { echo "bench/precommit.sh: pre-commit is missing (apt-get install pre-commit)" >&2; exit 2; }
command -v go >/dev/null || { echo "bench/precommit.sh: go is missing" >&2; exit 2; }

work=$(mktemp -d)
# The module cache is read-only by default; make it removable.
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
unset SKIP

# The hook repositories.
git clone -q "$root" "$work/latchkey-hooks"
latchkey_rev=$(git -C "$work/latchkey-hooks" rev-parse HEAD)
gitleaks_dir=$(cd "$work" && go mod download -json "github.com/zricethezav/gitleaks/v8@$gitleaks_version" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
cp -r "$gitleaks_dir" "$work/gitleaks-hooks"
chmod -R u+w "$work/gitleaks-hooks"
git -C "$work/gitleaks-hooks" init -q -b main
git -C "$work/gitleaks-hooks" add -A
git -C "$work/gitleaks-hooks" commit -q -m "gitleaks $gitleaks_version from the module proxy"
gitleaks_rev=$(git -C "$work/gitleaks-hooks" rev-parse HEAD)

echo "pre-commit $(pre-commit --version | awk '{print $2}'), $(go version | awk '{print $3}'), $(nproc) cores, $runs interleaved run(s)"
echo "latchkey hook: $root at $latchkey_rev (id latchkey-scan)"
echo "gitleaks hook: github.com/zricethezav/gitleaks/v8@$gitleaks_version (id gitleaks)"
printf '%-4s %-9s %9s %9s %9s %8s\n' run tool cold_s gowarm_s next_s bin_MB

# user_repo DIR HOOKREPO REV ID: a repository using the hook, with one clean
# file staged.
user_repo() {
	local dir=$1
	mkdir -p "$dir"
	git -C "$dir" init -q -b main
	printf 'repos:\n  - repo: %s\n    rev: %s\n    hooks:\n      - id: %s\n' "$2" "$3" "$4" >"$dir/.pre-commit-config.yaml"
	git -C "$dir" add .pre-commit-config.yaml
	git -C "$dir" commit -q -m "pre-commit config"
	printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: <path:secret/data/db#password>\n' >"$dir/secret.yaml"
	git -C "$dir" add secret.yaml
}

# timed DIR ENV...: seconds taken by `pre-commit run` in DIR with ENV set.
timed() {
	local dir=$1 start end
	shift
	start=$(date +%s.%N)
	if ! (cd "$dir" && env "$@" pre-commit run >"$dir.log" 2>&1); then
		echo "bench/precommit.sh: pre-commit run failed in $dir:" >&2
		cat "$dir.log" >&2
		exit 1
	fi
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f", e - s}'
}

# measure RUN TOOL HOOKREPO REV ID BINARY-GLOB: one row; appends the figures to $work/TOOL.
measure() {
	local run=$1 tool=$2 repo=$3 rev=$4 id=$5 glob=$6 d cold gowarm next bin size
	d=$work/$tool-$run
	mkdir -p "$d/gocache" "$d/gomodcache"
	user_repo "$d/cold" "$repo" "$rev" "$id"
	cold=$(timed "$d/cold" PRE_COMMIT_HOME="$d/home-cold" GOCACHE="$d/gocache" GOMODCACHE="$d/gomodcache")
	next=$(timed "$d/cold" PRE_COMMIT_HOME="$d/home-cold" GOCACHE="$d/gocache" GOMODCACHE="$d/gomodcache")
	user_repo "$d/gowarm" "$repo" "$rev" "$id"
	gowarm=$(timed "$d/gowarm" PRE_COMMIT_HOME="$d/home-gowarm")
	# shellcheck disable=SC2086 # the glob is meant to expand
	bin=$(ls $d/home-cold/$glob 2>/dev/null | head -1)
	[[ -n $bin ]] || { echo "bench/precommit.sh: no binary $glob under $d/home-cold" >&2; exit 1; }
	size=$(awk -v b="$(stat -c %s "$bin")" 'BEGIN {printf "%.1f", b / 1e6}')
	printf '%-4s %-9s %9s %9s %9s %8s\n' "$run" "$tool" "$cold" "$gowarm" "$next" "$size"
	echo "$cold $gowarm $next $size" >>"$work/$tool"
	chmod -R u+w "$d" && rm -rf "$d"
}

for ((i = 1; i <= runs; i++)); do
	measure "$i" latchkey "$work/latchkey-hooks" "$latchkey_rev" latchkey-scan 'repo*/.bin/latchkey-scan'
	measure "$i" gitleaks "$work/gitleaks-hooks" "$gitleaks_rev" gitleaks 'repo*/golangenv-*/bin/gitleaks'
done

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -v c="$2" '{print $c}' "$work/$1" | median; }
echo "median    cold_s gowarm_s next_s bin_MB"
for tool in latchkey gitleaks; do
	printf '%-9s %6s %8s %6s %6s\n' "$tool" "$(col $tool 1)" "$(col $tool 2)" "$(col $tool 3)" "$(col $tool 4)"
done
ratio() { awk -v a="$(col gitleaks "$1")" -v b="$(col latchkey "$1")" 'BEGIN {printf "%.1f", a / b}'; }
echo "gitleaks/latchkey: cold $(ratio 1)x, go-warm $(ratio 2)x, next commit $(ratio 3)x, binary $(ratio 4)x"
