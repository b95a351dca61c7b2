#!/usr/bin/env bash
# Builds the real components the tests and the demo run (kube-apiserver, etcd,
# Vault, kubeseal, the sealed-secrets controller, gitleaks) from pinned Go module
# versions into a per-user cache outside the repository, skipping what is there.
#
# Usage: tools/install.sh [NAME...]     (default: every tool but the on-demand ones)
#        tools/install.sh flux           (Flux's source- and kustomize-controller, for bench/reconcile)
#        tools/install.sh --dir          (print the cache directory)
#        tools/install.sh --path NAME    (print where NAME's binary is, built or not)
#
# The manifest below restates internal/components.Tools, the one table of tool
# versions the launcher runs; TestInstallScriptAgreesWithTheToolTable fails when
# they disagree, and the Makefile asks --path instead of spelling versions.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}

# name | version | module directory under tools/ | package to build | extra ldflags
manifest() {
	cat <<'TOOLS'
etcd|v3.6.16|etcd|go.etcd.io/etcd/server/v3|
kube-apiserver|v1.37.2|kube-apiserver|.|-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37
vault|v1.21.0|vault|.|
kubeseal|v0.36.0|sealed-secrets|github.com/bitnami-labs/sealed-secrets/cmd/kubeseal|-X main.VERSION=v0.36.0
sealed-secrets-controller|v0.36.0|sealed-secrets|github.com/bitnami-labs/sealed-secrets/cmd/controller|-X main.VERSION=v0.36.0
gitleaks|v8.30.1|gitleaks|github.com/zricethezav/gitleaks/v8|-X github.com/zricethezav/gitleaks/v8/version.Version=v8.30.1
controller-gen|v0.23.0|controller-gen|sigs.k8s.io/controller-tools/cmd/controller-gen|
staticcheck|v0.8.2|staticcheck|honnef.co/go/tools/cmd/staticcheck|
registry|v3.1.2|registry|github.com/distribution/distribution/v3/cmd/registry|-X github.com/distribution/distribution/v3/version.version=v3.1.2
source-controller|v1.9.6|flux|github.com/fluxcd/source-controller|
kustomize-controller|v1.9.6|flux|github.com/fluxcd/kustomize-controller|
TOOLS
}

# Built only when named: Flux is what bench/reconcile compares against, no test
# needs it, and CI's time matters (the two take minutes to compile).
on_demand() {
	case $1 in source-controller | kustomize-controller) return 0 ;; esac
	return 1
}

# group is the short name that selects several tools at once.
group() {
	case $1 in source-controller | kustomize-controller) echo flux ;; esac
}

if [[ ${1:-} == --dir ]]; then
	echo "$dir"
	exit 0
fi
if [[ ${1:-} == --path ]]; then
	while IFS='|' read -r name version _; do
		if [[ $name == "${2:-}" ]]; then
			echo "$dir/$name-$version/$name"
			exit 0
		fi
	done < <(manifest)
	echo "tools/install.sh --path: no tool ${2:-} in the manifest" >&2
	exit 1
fi

# extras installs what a tool needs besides its binary, before the binary is
# moved into place (its presence means the tool is complete).
extras() {
	case $1 in
	source-controller | kustomize-controller)
		# The CRDs of the same release, for the benchmark to install.
		local src
		src=$(cd "$here/$2" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' "github.com/fluxcd/$1")
		mkdir -p "$3/crds"
		cp "$src"/config/crd/bases/*.yaml "$3/crds/"
		chmod -R u+w "$3/crds"
		;;
	sealed-secrets-controller)
		# The SealedSecret CRD of the same release, for the test harness to install.
		local src
		src=$(cd "$here/$2" && go list -m -f '{{.Dir}}' github.com/bitnami-labs/sealed-secrets)
		mkdir -p "$3/crds"
		cp "$src"/helm/sealed-secrets/crds/*.yaml "$3/crds/"
		chmod -R u+w "$3/crds"
		;;
	esac
}

# src_sum digests what a tool is built from (the Go files, go.mod and go.sum of
# its directory under tools/): a change there rebuilds the tool at the same
# version, so no cache keeps a binary the project no longer builds.
src_sum() {
	(cd "$here/$1" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) | LC_ALL=C sort | xargs cat | sha256sum | cut -d' ' -f1)
}

want=("$@")
selected() {
	if [[ ${#want[@]} -eq 0 ]]; then
		on_demand "$1" && return 1
		return 0
	fi
	local w g
	g=$(group "$1")
	for w in "${want[@]}"; do [[ $w == "$1" || (-n $g && $w == "$g") ]] && return 0; done
	return 1
}

mkdir -p "$dir"
while IFS='|' read -r name version moddir pkg ldflags; do
	selected "$name" || continue
	out="$dir/$name-$version/$name"
	sum=$(src_sum "$moddir")
	if [[ -x $out ]]; then
		# A binary from before the digests were kept is taken as built from
		# today's sources, once.
		[[ -f $out.src ]] || echo "$sum" >"$out.src"
		if [[ $(cat "$out.src") == "$sum" ]]; then
			echo "tools: $name $version: present ($out)"
			continue
		fi
		echo "tools: $name $version: tools/$moddir changed since it was built: rebuilding"
	fi
	echo "tools: $name $version: building from tools/$moddir ..."
	start=$(date +%s)
	mkdir -p "$(dirname "$out")"
	# Build next to the target and rename, so an interrupted build never leaves
	# a half-written binary that a later run would take for a finished one.
	# Flux's go.mod lists its own replaces, which do not carry over to a module
	# that requires it: tools/flux restates them, and -mod=mod lets the go
	# command complete the requirements of two mains it cannot import.
	modflag=
	[[ $moddir == flux ]] && modflag=-mod=mod
	(cd "$here/$moddir" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} $modflag" go build -trimpath -ldflags "-s -w $ldflags" -o "$out.partial" "$pkg")
	extras "$name" "$moddir" "$(dirname "$out")"
	mv "$out.partial" "$out"
	echo "$sum" >"$out.src"
	echo "tools: $name $version: built in $(($(date +%s) - start))s, $(du -h "$out" | cut -f1)"
done < <(manifest)
