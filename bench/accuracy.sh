#!/usr/bin/env bash
# Accuracy of latchkey scan and gitleaks v8.30.1 (`gitleaks dir`) on the same
# labelled set, per file kind (the first directory of each path): one finding
# per file:line, scored against the set's labels.txt.
#
#   bench/accuracy.sh [SET]     default: scanner/testdata/blind-files
#   LATCHKEY=/path/to/latchkey bench/accuracy.sh   use a prebuilt binary
#
# Needs jq and the gitleaks binary built by `make tools`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
set_dir=$(cd "${1:-$root/scanner/testdata/blind-files}" && pwd)
gitleaks=${GITLEAKS:-${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}/gitleaks-v8.30.1/gitleaks}
command -v jq >/dev/null || { echo "bench/accuracy.sh: jq is missing" >&2; exit 2; }
[[ -x $gitleaks ]] || { echo "bench/accuracy.sh: gitleaks not found at $gitleaks (run make tools)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n ${LATCHKEY:-} ]]; then
	cp "$LATCHKEY" "$work/latchkey"
else
	(cd "$root" && go build -trimpath -o "$work/latchkey" ./cmd/latchkey)
fi

grep -v '^#' "$set_dir/labels.txt" | grep . | sort -u >"$work/labels"
# A copy outside this repository, whose .latchkey.yaml allows testdata; the
# set's labels.txt is not part of the tree being judged.
mkdir "$work/tree"
cp -r "$set_dir/." "$work/tree/"
rm "$work/tree/labels.txt"
set_dir=$work/tree
(cd "$set_dir" && "$work/latchkey" scan --format json . >"$work/latchkey.json" || true)
jq -r '.findings[]? // .[]? | "\(.file):\(.line)"' "$work/latchkey.json" | grep -v '^labels.txt:' | sort -u >"$work/latchkey" || true
"$gitleaks" dir --no-banner --exit-code 0 --report-format json --report-path "$work/gitleaks.json" "$set_dir" >/dev/null 2>&1 || true
jq -r --arg d "$set_dir/" '.[] | "\(.File | ltrimstr($d)):\(.StartLine)"' "$work/gitleaks.json" | grep -v '^labels.txt:' | sort -u >"$work/gitleaks"

printf '%-10s %-12s %7s %9s %9s %6s %6s\n' tool kind labels findings precision recall
for tool in latchkey gitleaks; do
	for kind in $(cut -d/ -f1 "$work/labels" | sort -u) all; do
		pat="^$kind/"
		[[ $kind == all ]] && pat=.
		l=$(grep -c "$pat" "$work/labels" || true)
		f=$(grep -c "$pat" "$work/$tool" || true)
		tp=$(grep "$pat" "$work/$tool" | comm -12 - "$work/labels" | wc -l)
		awk -v t="$tool" -v k="$kind" -v l="$l" -v f="$f" -v tp="$tp" 'BEGIN {
			printf "%-10s %-12s %7d %9d %9.3f %6.3f\n", t, k, l, f, (f ? tp / f : 0), (l ? tp / l : 0) }'
	done
done
