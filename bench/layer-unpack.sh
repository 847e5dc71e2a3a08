#!/usr/bin/env bash
# Unpacking a real image layer (a Debian minbase root, ~170 MB, ~10,000 entries) into the store:
# `runner image import` against GNU tar extracting the same tarball (the floor: no digest, no
# checks) and umoci's unpack where installed, in one hyperfine run so only ratios count.
# With OLD=path/to/an/older/runner, that binary is measured too (before/after a change).
#   bench/layer-unpack.sh [ROOTFS.tar]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bench_require hyperfine tar
[[ $(id -u) == 0 ]] || { echo "bench: run as root (the store keeps owners and devices)" >&2; exit 3; }

tarball=${1:-/var/tmp/runner-tests/debian-bookworm-minbase.tar}
if [[ ! -f $tarball ]]; then
    bench_require mmdebstrap
    mkdir -p "$(dirname "$tarball")"
    mmdebstrap --variant=minbase --quiet bookworm "$tarball"
fi

work=$(mktemp -d /var/tmp/bench-unpack-XXXXXX)
trap 'rm -rf "$work"' EXIT
bench_publish_runner "$here/.." "$work/runner"

commands=(
    -n "runner image import" "RUNNER_STATE_DIR=$work/state $work/runner/runner image import $tarball --tag localhost/deb:1 >/dev/null"
    -n "tar -x" "mkdir -p $work/tar && tar -C $work/tar --numeric-owner -xpf $tarball"
)
if [[ -n ${OLD:-} ]]; then
    commands+=(-n "older runner ($OLD)" "RUNNER_STATE_DIR=$work/old-state $OLD image import $tarball --tag localhost/deb:1 >/dev/null")
fi

hyperfine --warmup 1 --runs "${RUNS:-5}" --prepare "rm -rf $work/state $work/old-state $work/tar; sync" "${commands[@]}"
