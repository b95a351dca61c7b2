#!/usr/bin/env bash
# Scanner throughput: latchkey scan vs gitleaks v8.30.1 (`gitleaks dir`) on the
# same tree, runs interleaved so both see the same machine load. Prints wall
# time, MB/s, CPU time and peak RSS of every run, then the medians and the
# throughput ratio.
#
#   bench/scan.sh [DIR] [RUNS]     default: ../shared/corpus/bitnami-charts, 5 runs
#   LATCHKEY=/path/to/latchkey bench/scan.sh   use a prebuilt binary
#
# Needs /usr/bin/time (apt-get install time) and the gitleaks binary built by
# `make tools` (or: cd tools/gitleaks && go build -o "$GITLEAKS" github.com/zricethezav/gitleaks/v8).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/../shared/corpus/bitnami-charts}
runs=${2:-5}
gitleaks=${GITLEAKS:-${LATCHKEY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/latchkey/tools}/gitleaks-v8.30.1/gitleaks}

[[ -x /usr/bin/time ]] || { echo "bench/scan.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
[[ -x $gitleaks ]] || { echo "bench/scan.sh: gitleaks not found at $gitleaks (run make tools)" >&2; exit 2; }
[[ -d $dir ]] || { echo "bench/scan.sh: no directory $dir" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [[ -n ${LATCHKEY:-} ]]; then
	cp "$LATCHKEY" "$work/latchkey" # a prebuilt binary
else
	(cd "$root" && go build -trimpath -o "$work/latchkey" ./cmd/latchkey)
fi

bytes=$(find "$dir" -type f -not -path '*/.git/*' -printf '%s\n' | awk '{s += $1} END {print s}')
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')
echo "tree: $dir ($mb MB), $runs interleaved runs, $(nproc) cores"
echo "latchkey: $("$work/latchkey" version)"
echo "gitleaks: $("$gitleaks" version)"
printf '%-4s %-9s %8s %8s %8s %10s %10s %9s\n' run tool wall_s MB/s cpu_s peak_MiB anon_MiB findings

# measure TOOL LABEL CMD...: run once under /usr/bin/time -v, print a row and
# append "wall rss" to $work/LABEL.
measure() {
	local run=$1 label=$2
	shift 2
	/usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>"$work/err" &
	local tpid=$! child="" anon=0 a
	# Sample the private (anonymous) memory of the tool every 10 ms: peak RSS
	# also counts the executable's file-backed pages, which are shared page
	# cache and grow with binary size, not with the work done.
	while kill -0 "$tpid" 2>/dev/null; do
		[[ -n $child ]] || child=$(pgrep -P "$tpid" | head -1 || true)
		if [[ -n $child ]]; then
			a=$(awk '/^RssAnon:/ {print $2}' "/proc/$child/status" 2>/dev/null || true)
			[[ -n $a && $a -gt $anon ]] && anon=$a
		fi
		sleep 0.01
	done
	wait "$tpid" || true
	local wall cpu rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/time")
	cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.2f", u + s}' "$work/time")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$work/time")
	local found
	case $label in
	latchkey) found=$(grep -c '"rule":' "$work/report" || true) ;;
	gitleaks) found=$(grep -c '"RuleID":' "$work/report" || true) ;;
	esac
	case $label in latchkey | gitleaks) ;;
	esac
	anon=$(awk -v a="$anon" 'BEGIN {printf "%.1f", a / 1024}')
	printf '%-4s %-9s %8.2f %8.1f %8s %10s %10s %9s\n' "$run" "$label" "$wall" "$(awk -v b="$bytes" -v w="$wall" 'BEGIN {print b / 1e6 / w}')" "$cpu" "$rss" "$anon" "$found"
	echo "$wall $rss $anon" >>"$work/runs-$label"
}

for ((i = 1; i <= runs; i++)); do
	measure "$i" latchkey "$work/latchkey" scan "$dir" --format json --output "$work/report"
	measure "$i" gitleaks "$gitleaks" dir "$dir" --no-banner --log-level error --redact --exit-code 0 \
		--report-format json --report-path "$work/report"
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
lw=$(cut -d' ' -f1 "$work/runs-latchkey" | median)
gw=$(cut -d' ' -f1 "$work/runs-gitleaks" | median)
lr=$(cut -d' ' -f2 "$work/runs-latchkey" | sort -n | tail -1)
gr=$(cut -d' ' -f2 "$work/runs-gitleaks" | sort -n | tail -1)
la=$(cut -d' ' -f3 "$work/runs-latchkey" | sort -n | tail -1)
ga=$(cut -d' ' -f3 "$work/runs-gitleaks" | sort -n | tail -1)
echo
awk -v b="$bytes" -v lw="$lw" -v gw="$gw" -v lr="$lr" -v gr="$gr" -v la="$la" -v ga="$ga" 'BEGIN {
	printf "median wall: latchkey %.2f s (%.1f MB/s), gitleaks %.2f s (%.1f MB/s)\n", lw, b / 1e6 / lw, gw, b / 1e6 / gw
	printf "throughput ratio latchkey/gitleaks: %.1fx\n", gw / lw
	printf "peak RSS (max over runs): latchkey %.1f MiB, gitleaks %.1f MiB\n", lr, gr
	printf "peak private memory (RssAnon, max over runs): latchkey %.1f MiB, gitleaks %.1f MiB\n", la, ga
}'
