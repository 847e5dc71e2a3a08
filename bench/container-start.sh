#!/usr/bin/env bash
# Fresh-container start of /bin/true with 256 MiB + 0.5 CPU limits, side by side in one run:
#   runner run (the NativeAOT CLI: start-up + container), the runtime inside a running runner
#   (what each step of `runner exec` pays), crun and runc with a prepared OCI bundle, and
#   podman run --rm --network none. All use the same busybox root file system.
# Prints medians and ratios, and the peak memory of runner-init. Needs root, and: apt-get
# install busybox-static hyperfine crun runc podman python3. Usage: bench/container-start.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" # podman leaves an 'oom' file in its working directory after an OOM kill

bench_require busybox hyperfine crun runc podman python3
bench_busybox_rootfs rootfs

# runner: the CLI published as NativeAOT (as it ships), and the in-process harness.
bench_publish_runner "$repo" "$work/runner"
dotnet build -c Release "$repo/bench/ContainerStart" -v q -nologo >/dev/null
runner="$work/runner/runner"
export RUNNER_STATE_DIR="$work/state"

# crun and runc: one OCI bundle from `crun spec`, with the same limits.
mkdir bundle
(cd bundle && crun spec)
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
path = f"{work}/bundle/config.json"
c = json.load(open(path))
c["root"] = {"path": f"{work}/rootfs", "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["linux"]["resources"] = {"memory": {"limit": 256 * 1024 * 1024}, "cpu": {"quota": 50000, "period": 100000}}
c["linux"]["cgroupsPath"] = "/bench-oci"
json.dump(c, open(path, "w"), indent=1)
PY

# crun refuses hybrid cgroup hosts while the empty cgroup2 mount is visible: hide it in a private mount namespace.
crun_cmd="crun run --bundle $work/bundle bench-crun"
if [[ -d /sys/fs/cgroup/unified && $(stat -f -c %T /sys/fs/cgroup/unified) == cgroup2fs ]]; then
    crun_cmd="unshare --mount --propagation private -- sh -c 'mount -t tmpfs -o size=1m tmpfs /sys/fs/cgroup/unified && exec crun run --bundle $work/bundle bench-crun'"
fi

# podman: the rootfs as a local image.
bench_podman_config "$work"
tar -C rootfs -c . | podman import -q - localhost/bench-busybox >/dev/null

hyperfine -N --warmup 3 --runs "$RUNS" --export-json results.json \
    -n "runner run" "$runner run --rootfs $work/rootfs --memory 256Mi --cpus 0.5 -- /bin/true" \
    -n "crun run" "$crun_cmd" \
    -n "runc run" "runc run --bundle $work/bundle bench-runc" \
    -n "podman run" "podman run --rm --network none --runtime runc --memory 256m --cpus 0.5 localhost/bench-busybox /bin/true" \
    >/dev/null

# Per container inside one running runner: no .NET start-up, the cost each pipeline step pays.
dotnet "$repo/bench/ContainerStart/bin/Release/net10.0/ContainerStart.dll" "$work/rootfs" "$RUNS" "$work/state-inproc" > inproc.txt

# Peak memory of runner-init: its VmHWM, read from the host while the container sleeps (it monitors from outside the container's PID namespace).
"$runner" run --rootfs "$work/rootfs" -- sleep 1 &
runner_pid=$!
sleep 0.6
init_pid=$(pgrep -n -f '^init spec\.json$')
init_peak=$(awk '/VmHWM/ {print $2}' "/proc/$init_pid/status")
wait "$runner_pid"

python3 - "$init_peak" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open("results.json"))["results"]}
inproc = statistics.median(float(l) for l in open("inproc.txt"))
r["runner (in a running runner)"] = inproc
crun, podman = r["crun run"], r["podman run"]
print(f"{'tool':32} {'median':>10} {'vs crun':>8} {'vs podman':>10}")
for name, ms in r.items():
    print(f"{name:32} {ms:8.1f} ms {ms / crun:7.2f}x {ms / podman:9.3f}x")
print(f"runner-init peak memory (VmHWM): {int(sys.argv[1]) / 1024:.1f} MiB")
PY
podman rmi -f localhost/bench-busybox >/dev/null 2>&1 || true
