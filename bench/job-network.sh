#!/usr/bin/env bash
# What a job's network costs, in one run with podman's: a whole one-step `runner exec` job with
# `network: bridge` (the default: a namespace, CNI ptp + host-local, NAT, the guard) against the
# same job with `network: none`, and `podman run --rm` on its default network against
# `podman run --rm --network none`, on the same busybox image. Also a job with one service (no
# readiness check) against the same job without it. The host's firewall tables and ip_forward are
# saved first and restored after (podman's default network leaves rules behind).
# Prints medians, each tool's network cost and their ratio. Needs root, and: apt-get install
# busybox-static hyperfine podman runc python3 git containernetworking-plugins iptables.
# Usage: bench/job-network.sh [RUNS]
set -euo pipefail
RUNS=${1:-10}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-network-XXXXXX)
iptables-save > "$work/iptables.before"
forward=$(cat /proc/sys/net/ipv4/ip_forward)
restore() {
    iptables-restore < "$work/iptables.before"
    echo "$forward" > /proc/sys/net/ipv4/ip_forward
    podman rmi -f localhost/bench-busybox >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap restore EXIT
cd "$work"

bench_require busybox hyperfine podman runc python3 git iptables-save

bench_busybox_rootfs rootfs
tar -C rootfs -cf rootfs.tar .
bench_publish_runner "$repo" "$work/bin"
runner="$work/bin/runner"
export RUNNER_STATE_DIR="$work/state"
$runner image import rootfs.tar --tag localhost/bench-busybox >/dev/null
bench_podman_config "$work"
podman import -q rootfs.tar localhost/bench-busybox >/dev/null

job() { # NETWORK [SERVICE]
    printf 'jobs:\n  j:\n    image: localhost/bench-busybox\n    network: %s\n' "$1"
    [[ $# -lt 2 ]] || printf '    services:\n      - image: localhost/bench-busybox\n        alias: svc\n        command: [sleep, "600"]\n'
    printf '    steps: ["true"]\n'
}
bench_make_repo none "$(job none)"
bench_make_repo bridge "$(job bridge)"
bench_make_repo service "$(job bridge service)"
for r in none bridge service; do $runner exec -C $r >/dev/null; done # checkouts and image present from here on

hyperfine -N --warmup 2 --runs "$RUNS" --export-json n.json \
    -n "runner exec, network none" "$runner exec -C $work/none" \
    -n "runner exec, network bridge" "$runner exec -C $work/bridge" \
    -n "runner exec, bridge + 1 service" "$runner exec -C $work/service" \
    -n "podman run, network none" "podman run --rm --network none --runtime runc localhost/bench-busybox true" \
    -n "podman run, default network" "podman run --rm --runtime runc localhost/bench-busybox true" \
    >/dev/null

python3 - <<'PY'
import json
r = {x["command"]: x["median"] * 1000 for x in json.load(open("n.json"))["results"]}
rn, rb, rs = r["runner exec, network none"], r["runner exec, network bridge"], r["runner exec, bridge + 1 service"]
pn, pb = r["podman run, network none"], r["podman run, default network"]
print(f"{'measure':44} {'median':>10}")
for name, value in r.items():
    print(f"{name:44} {value:8.0f} ms")
print(f"{'runner: what the bridged network adds':44} {rb - rn:8.0f} ms")
print(f"{'podman: what its default network adds':44} {pb - pn:8.0f} ms")
print(f"{'runner / podman network cost':44} {(rb - rn) / (pb - pn):8.2f}   (target: at most 0.20)")
print(f"{'runner: what one service adds':44} {rs - rb:8.0f} ms")
PY
