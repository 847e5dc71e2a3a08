#!/usr/bin/env bash
# runner serve: hook-to-first-step latency (against runner exec --url of the same commit) and a
# burst of signed hooks (bench/serve.py). Needs root, busybox-static, git and python3.
# Usage: bench/serve.sh [LATENCY_RUNS] [BURST] [CONNECTIONS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-serve-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
bench_require busybox python3 git

bench_busybox_rootfs rootfs
tar -C rootfs -cf rootfs.tar .
bench_publish_runner "$repo" "$work/bin"
for state in state state-exec; do
    RUNNER_STATE_DIR="$work/$state" "$work/bin/runner" image import rootfs.tar --tag localhost/bench-busybox >/dev/null
done

bench_make_repo app 'jobs:
  j:
    image: localhost/bench-busybox
    steps:
      - run: echo started'
# The burst's runs are not triggered (a branch filter that matches none of them): the bench
# measures taking hooks in, and the runs after it cost a fetch and a compile each, not containers.
bench_make_repo burst 'on:
  push:
    branches: [never]
jobs:
  j:
    image: localhost/bench-busybox
    steps:
      - run: "true"'
git clone -q --bare app app.git
git clone -q --bare burst burst.git
python3 "$repo/bench/serve.py" "$work/bin/runner" "$work/state" "$work" "${1:-10}" "${2:-2000}" "${3:-32}"
