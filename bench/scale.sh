#!/usr/bin/env bash
# Does the runner stay as fast at the end of a long run as at its start? Two runs of runner exec on
# the busybox image (network: none):
#   (a) one job of STEPS trivial steps (default 1000);
#   (b) JOBS one-step jobs (default 200) with --jobs 16.
# From the run's JSON events: the time per step (the gap between one step's end and the next's, so
# everything between two containers counts) of the first hundred against the last hundred, and
# each container's own wall time likewise; the runner's peak resident memory (the largest of its
# process tree's, which is the runner's own); and the state directory afterwards (nothing left of
# the containers). Needs root, and: apt-get install busybox-static python3 git.
# Usage: bench/scale.sh [STEPS] [JOBS]
set -euo pipefail
STEPS=${1:-1000}
JOBS=${2:-200}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-scale-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"

bench_require busybox python3 git
bench_busybox_rootfs rootfs
tar -C rootfs -cf rootfs.tar .
bench_publish_runner "$repo" "$work/bin"
runner="$work/bin/runner"
export RUNNER_STATE_DIR="$work/state"
"$runner" image import rootfs.tar --tag localhost/bench-busybox >/dev/null

steps="$(printf 'jobs:\n  j:\n    image: localhost/bench-busybox\n    network: none\n    steps:\n'; for _ in $(seq "$STEPS"); do printf '      - run: "true"\n'; done)"
jobs="$(printf 'jobs:\n'; for i in $(seq "$JOBS"); do printf '  j%s:\n    image: localhost/bench-busybox\n    network: none\n    steps: ["true"]\n' "$i"; done)"
bench_make_repo steps "$steps"
bench_make_repo jobs "$jobs"
"$runner" exec -C jobs -j j1 >/dev/null 2>&1 # the checkout and image are warm from here on

python3 - "$runner" "$work" "$STEPS" "$JOBS" <<'PY'
import json, resource, statistics, subprocess, sys, datetime
runner, work, steps, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def run(name, args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([runner, "exec", "--json", *args], capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode != 0:
        sys.exit(f"{name}: runner exec failed ({p.returncode}): {p.stderr[-2000:]}")
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    done = [e for e in events if e["type"] == "step_finished"]
    ends = [datetime.datetime.fromisoformat(e["time"]) for e in done]
    gaps = [(b - a).total_seconds() * 1000 for a, b in zip(ends, ends[1:])]
    walls = [e["result"]["outcome"]["duration"] * 1000 for e in done]
    first, last = statistics.mean(gaps[:100]), statistics.mean(gaps[-100:])
    wf, wl = statistics.mean(walls[:100]), statistics.mean(walls[-100:])
    print(f"{name}: {len(done)} steps; per step, first 100 {first:.1f} ms, last 100 {last:.1f} ms ({last / first - 1:+.1%}); "
          f"a container's own time {wf:.1f} -> {wl:.1f} ms ({wl / wf - 1:+.1%}); runner peak RSS {max(peak, before) / 1024:.0f} MiB")

run(f"one job of {steps} steps", ["-C", f"{work}/steps"])
run(f"{jobs} one-step jobs, --jobs 16", ["-C", f"{work}/jobs", "--jobs", "16"])
PY
leftovers=$(find "$RUNNER_STATE_DIR/c" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
echo "containers left in the state directory: $leftovers"
