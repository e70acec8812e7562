#!/usr/bin/env bash
# compare.sh: the scale figures of two commits, side by side in one run
# (these machines are noisy: figures from different runs do not compare).
#
#   hack/bench/compare.sh BASE [HEAD] [ROUNDS]
#
# Builds kgctl and the benchmark binaries of pkg/topology, pkg/plan,
# pkg/source and pkg/agent at both commits (git worktrees under a
# temporary directory; HEAD defaults to the work tree as it is), makes
# the clusters with hack/bench/gen, then runs each figure ROUNDS times
# (default 1), BASE then HEAD, and prints every line with its side.
# Benchmarks a commit does not have print nothing for it. Set
# KGCTL_BENCH_10K=1 for the 10,000-node full-mesh flip (minutes; an old
# commit may need hours: each command stops after KGCTL_BENCH_TIMEOUT,
# default 1200 s, and is reported as timed out).
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:?usage: compare.sh BASE [HEAD] [ROUNDS]}
head=${2:-}
rounds=${3:-1}
work=$(mktemp -d /tmp/kgctl-compare.XXXXXX)
cleanup() {
	git worktree remove --force "$work/base" 2>/dev/null || true
	[ -z "$head" ] || git worktree remove --force "$work/head" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# build SIDE DIR: kgctl and the test binaries of one tree.
build() {
	local side=$1 dir=$2
	(cd "$dir" && go build -o "$work/$side.kgctl" ./cmd/kgctl)
	for p in topology plan source agent; do
		(cd "$dir" && go test -c -o "$work/$side.$p.test" "./pkg/$p")
	done
}
git worktree add --detach "$work/base" "$base" > /dev/null
build base "$work/base"
base_dir=$work/base head_dir=$PWD
if [ -n "$head" ]; then
	git worktree add --detach "$work/head" "$head" > /dev/null
	head_dir=$work/head
fi
build head "$head_dir"
go run ./hack/bench/gen -nodes 2000 -locations 50 > "$work/c2000.yaml"
go run ./hack/bench/gen -nodes 10000 -format json > "$work/c10000.json"

# cmd NAME ARGS...: one kgctl command on both sides, timed.
cmd() {
	local name=$1
	shift
	for side in base head; do
		local rc=0
		timeout "${KGCTL_BENCH_TIMEOUT:-1200}" /usr/bin/time -f "%U %S %e %M" -o "$work/t" "$work/$side.kgctl" "$@" > /dev/null 2> "$work/err" || rc=$?
		if [ "$rc" = 124 ]; then
			echo "$side $name: timed out after ${KGCTL_BENCH_TIMEOUT:-1200} s"
			continue
		elif [ "$rc" != 0 ]; then
			echo "$side $name: failed: $(tail -3 "$work/err")"
			continue
		fi
		awk -v s="$side" -v n="$name" '{printf "%-4s %-44s %8.2f s cpu %8.2f s wall %9d KB peak RSS\n", s, n, $1 + $2, $3, $4}' "$work/t"
	done
}

# bench PKG REGEX: one benchmark set on both sides.
bench() {
	local pkg=$1 regex=$2
	local dir
	for side in base head; do
		dir=$base_dir
		[ "$side" = base ] || dir=$head_dir
		# In the package's directory, as go test runs it.
		(cd "$dir/pkg/$pkg" && "$work/$side.$pkg.test" -test.run '^$' -test.bench "$regex" -test.benchmem -test.benchtime 1x 2>&1) |
			awk -v s="$side" '/^Benchmark/ {print s, $0} /--- SKIP/ {print s, $0}'
	done
}

for r in $(seq "$rounds"); do
	echo "== round $r"
	cmd "showconf -f c2000 node" showconf -f "$work/c2000.yaml" node node-00001
	cmd "plan c2000 full (text)" plan --current "$work/c2000.yaml" --mesh-granularity full
	cmd "plan c2000 full (json)" plan --current "$work/c2000.yaml" --mesh-granularity full -o json
	cmd "showconf -f c10000 node" showconf -f "$work/c10000.json" node node-00001
	if [ -n "${KGCTL_BENCH_10K:-}" ]; then
		cmd "plan c10000 full (text)" plan --current "$work/c10000.json" --mesh-granularity full
	fi
	bench topology 'AllViews'
	bench plan 'Plan/nodes=2000/'
	bench source 'Decode/nodes=10000/yaml'
	bench agent 'Reconcile/nodes=10000'
done
