#!/usr/bin/env bash
# bench/install — what the optional native TF.js packages (@tensorflow/tfjs-node, -gpu) add to `npm ci`.
#
#   bash bench/install/npm-ci.sh [repetitions=2]
#
# Copies package.json + package-lock.json of the working tree ("with") and of the last commit before
# the optional packages were added ("without") into temp dirs and runs `npm ci --no-audit --no-fund`
# in each, alternating, with the same npm cache (warm after the first run of each). Prints seconds,
# exit code, and whether the optional packages ended up installed; writes bench/results/npm-ci.json.
# On a machine without access to storage.googleapis.com their install scripts fail and npm drops them.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
reps="${1:-2}"
cd "$root"
added=$(git log --format=%H -S'"@tensorflow/tfjs-node"' -- package.json | tail -1)
base="${added}^"
work=$(mktemp -d /tmp/kiln-bench-npm-ci-XXXXXX)
mkdir -p "$work/with" "$work/without"
cp package.json package-lock.json "$work/with/"
git show "$base:package.json" > "$work/without/package.json"
git show "$base:package-lock.json" > "$work/without/package-lock.json"
echo "baseline: $(git rev-parse --short "$base") (before $(git rev-parse --short "$added")); load average $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for rep in $(seq 1 "$reps"); do
  for v in without with; do
    cd "$work/$v"
    rm -rf node_modules
    s=$(date +%s.%N)
    set +e
    npm ci --no-audit --no-fund > "npm-ci-$rep.log" 2>&1
    rc=$?
    set -e
    e=$(date +%s.%N)
    secs=$(echo "$e - $s" | bc)
    native=$([ -d node_modules/@tensorflow/tfjs-node ] && echo true || echo false)
    lines=$(grep -cv 'EBADENGINE\|^npm warn EBADENGINE' "npm-ci-$rep.log" || true)
    echo "$v rep $rep: exit $rc, ${secs} s, tfjs-node installed: $native, output lines (EBADENGINE aside): $lines"
    rows+=("{\"variant\":\"$v\",\"rep\":$rep,\"exit\":$rc,\"seconds\":$secs,\"tfjsNodeInstalled\":$native}")
  done
done
mkdir -p "$root/bench/results"
(IFS=,; echo "{\"at\":\"$(date -u +%FT%TZ)\",\"loadAverageAtEnd\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"runs\":[${rows[*]}]}") > "$root/bench/results/npm-ci.json"
echo "wrote bench/results/npm-ci.json; logs in $work"
