#!/usr/bin/env bash
# runner exec against podman, in one run, on the same busybox image (imported into both):
#   (a) one job of 20 trivial steps, against a shell loop of 20 `podman run --rm`; and the
#       per-step cost inside a running runner: (21 steps - 1 step) / 20;
#   (b) a setup step of ~20 s that writes ~200 MB (cache: layer, keyed on a lock file), then a
#       test step: the first run against the second, with the lock file unchanged;
#   (c) a whole one-step job from a present image and an existing checkout.
# Prints medians and ratios. Needs root, and: apt-get install busybox-static hyperfine podman
# python3 git. Usage: bench/exec-pipeline.sh [RUNS]
set -euo pipefail
RUNS=${1:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-exec-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

bench_require busybox hyperfine podman python3 git

# The image: the busybox root file system as a tarball.
bench_busybox_rootfs rootfs
tar -C rootfs -cf rootfs.tar .

bench_publish_runner "$repo" "$work/bin"
runner="$work/bin/runner"
export RUNNER_STATE_DIR="$work/state"
$runner image import rootfs.tar --tag localhost/bench-busybox >/dev/null

# podman runs with runc: crun refuses this hybrid host.
bench_podman_config "$work"
podman import -q rootfs.tar localhost/bench-busybox >/dev/null

steps() { # N: a pipeline of N trivial steps
    # network: none, as the podman side runs: bench/job-network.sh measures what a bridged network adds.
    printf 'jobs:\n  j:\n    image: localhost/bench-busybox\n    network: none\n    steps:\n'
    for _ in $(seq "$1"); do printf '      - run: "true"\n'; done
}
bench_make_repo steps20 "$(steps 20)"
bench_make_repo steps21 "$(steps 21)"
bench_make_repo steps1 "$(steps 1)"
bench_make_repo setup "jobs:
  j:
    image: localhost/bench-busybox
    network: none
    steps:
      - name: setup
        run: sleep 20; dd if=/dev/urandom of=/opt/deps bs=1M count=200 2>/dev/null
        cache: layer
        key_files: [deps.lock]
      - name: test
        run: ls -l /opt/deps" deps.lock "deps v1"

$runner exec -C steps1 >/dev/null # the checkout and image are present from here on

hyperfine -N --warmup 2 --runs "$RUNS" --export-json a.json \
    -n "runner exec, 20 steps" "$runner exec -C $work/steps20" \
    -n "runner exec, 21 steps" "$runner exec -C $work/steps21" \
    -n "runner exec, 1 step" "$runner exec -C $work/steps1" \
    -n "podman run --rm x20" "bash -c 'for i in \$(seq 20); do podman run --rm --network none --runtime runc localhost/bench-busybox true; done'" \
    >/dev/null

# (b): one cold run (empty step cache) and one warm run, each timed once (the cold one takes ~20 s).
start=$(date +%s.%N); $runner exec -C setup >/dev/null; cold=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N); $runner exec -C setup > warm.txt; warm=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "cached" warm.txt || { echo "bench: the second run did not use the cached setup layer" >&2; cat warm.txt >&2; exit 1; }

python3 - "$cold" "$warm" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open("a.json"))["results"]}
s20, s21, s1, podman = r["runner exec, 20 steps"], r["runner exec, 21 steps"], r["runner exec, 1 step"], r["podman run --rm x20"]
cold, warm = float(sys.argv[1]) * 1000, float(sys.argv[2]) * 1000
print(f"{'measure':48} {'median':>10}")
print(f"{'(a) runner exec, one job of 20 steps':48} {s20:8.0f} ms")
print(f"{'(a) 20 x podman run --rm':48} {podman:8.0f} ms   runner is {podman / s20:.1f}x faster")
print(f"{'(a) per step inside the runner, (21 - 1) / 20':48} {(s21 - s1) / 20:8.1f} ms")
print(f"{'(b) setup + test, cold (setup runs, ~20 s)':48} {cold:8.0f} ms")
print(f"{'(b) setup + test, warm (setup layer cached)':48} {warm:8.0f} ms   {cold / warm:.1f}x faster")
print(f"{'(c) runner exec, whole one-step job':48} {s1:8.0f} ms")
PY
podman rmi -f localhost/bench-busybox >/dev/null 2>&1 || true
