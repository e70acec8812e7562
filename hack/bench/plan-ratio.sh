#!/usr/bin/env bash
# plan-ratio.sh: the whole-cluster preview against one node's view, in one
# run (these machines are noisy: compare the ratio, not the seconds).
#
#   hack/bench/plan-ratio.sh [NODES] [ROUNDS] [BASE_KGCTL]
#
# Makes a cluster with hack/bench/gen (NODES Nodes in 50 locations,
# default 2000), then, ROUNDS times (default 3) interleaved:
#   showconf -f cluster node node-00001
#   plan --current cluster --mesh-granularity full           (text)
#   plan --current cluster --mesh-granularity full -o json
# each with /usr/bin/time, output to /dev/null. With BASE_KGCTL (another
# kgctl binary, e.g. an older commit's) its plans run in the same rounds.
# Prints each run's CPU seconds and peak RSS, and the medians' ratios to
# showconf's.
set -euo pipefail
cd "$(dirname "$0")/../.."
nodes=${1:-2000}
rounds=${2:-3}
base=${3:-}
work=$(mktemp -d /tmp/kgctl-plan-ratio.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/kgctl" ./cmd/kgctl
go run ./hack/bench/gen -nodes "$nodes" -locations 50 > "$work/cluster.yaml"

# run NAME BIN ARGS...: one timed run, appended to $work/NAME.
run() {
	local name=$1 bin=$2
	shift 2
	/usr/bin/time -f "%U %S %M %e" -o "$work/t" "$bin" "$@" > /dev/null 2> "$work/err" || {
		cat "$work/err" >&2
		exit 1
	}
	local cpu m wall
	read -r cpu m wall < <(awk '{print $1 + $2, $3, $4}' "$work/t")
	echo "$cpu $m $wall" >> "$work/$name"
	printf '  %-12s %6.2f s cpu %6.2f s wall %8d KB\n' "$name" "$cpu" "$wall" "$m"
}
tools=("showconf" "plan" "plan-json")
[ -n "$base" ] && tools+=("base-plan" "base-json")
for r in $(seq "$rounds"); do
	echo "round $r"
	run showconf "$work/kgctl" showconf -f "$work/cluster.yaml" node node-00001
	run plan "$work/kgctl" plan --current "$work/cluster.yaml" --mesh-granularity full
	run plan-json "$work/kgctl" plan --current "$work/cluster.yaml" --mesh-granularity full -o json
	if [ -n "$base" ]; then
		run base-plan "$base" plan --current "$work/cluster.yaml" --mesh-granularity full
		run base-json "$base" plan --current "$work/cluster.yaml" --mesh-granularity full -o json
	fi
done
# median FILE COLUMN: the median of one column.
median() { sort -n -k"$2" "$work/$1" | awk -v c="$2" '{a[NR]=$c} END {print a[int((NR+1)/2)]}'; }
sc=$(median showconf 1)
sw=$(median showconf 3)
echo "medians of $rounds rounds, $nodes nodes (ratios to showconf's):"
for t in "${tools[@]}"; do
	c=$(median "$t" 1) m=$(median "$t" 2) w=$(median "$t" 3)
	awk -v t="$t" -v c="$c" -v m="$m" -v w="$w" -v sc="$sc" -v sw="$sw" \
		'BEGIN {printf "  %-12s %6.2f s cpu (%5.1fx) %6.2f s wall (%5.1fx) %8d KB peak RSS\n", t, c, c / sc, w, w / sw, m}'
done
