#!/usr/bin/env bash
# Fresh-container start of /bin/true with 256 MiB + 0.5 CPU limits, side by side in one run:
#   runner run (the NativeAOT CLI: start-up + container), the runtime inside a running runner
#   (bench/ContainerStart), crun and runc with a prepared OCI bundle, and podman run --rm
#   --network none. All use the same busybox root file system. Also, in the same run: what one
#   more step costs in a job of `runner exec` ((21 steps - 1 step) / 20), `runner --version`
#   against a NativeAOT "hello world" of the same SDK (bench/HelloAot), and the peak memory of
#   runner run's runner-init, of runner exec's launcher (after 20 containers) and of crun while their container sleeps.
# Prints medians and ratios. With OLD=path/to/an/older/runner, its one more step is measured in
# the same run (through env, which adds the same to both of its jobs). Needs root, and: apt-get
# install busybox-static hyperfine crun runc podman python3 git. Usage: bench/container-start.sh [RUNS]
set -euo pipefail
RUNS=${1:-30}
repo=$(cd "$(dirname "$0")/.." && pwd)

# crun refuses a hybrid cgroup host while its empty cgroup2 mount is visible. Hide it once, for every
# tool alike, in a private mount namespace around the whole benchmark (the host's mounts are untouched).
if [[ -z ${BENCH_CGROUP2_HIDDEN:-} && -d /sys/fs/cgroup/unified && $(stat -f -c %T /sys/fs/cgroup/unified) == cgroup2fs ]]; then
    export BENCH_CGROUP2_HIDDEN=1
    exec unshare --mount --propagation private -- bash -c 'mount -t tmpfs -o size=1m tmpfs /sys/fs/cgroup/unified && exec "$0" "$@"' "$0" "$@"
fi

source "$repo/bench/common.sh"
work=$(mktemp -d /tmp/bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" # podman leaves an 'oom' file in its working directory after an OOM kill

bench_require busybox hyperfine crun runc podman python3 git
bench_busybox_rootfs rootfs
tar -C rootfs -cf rootfs.tar .

# runner: the CLI published as NativeAOT (as it ships), and the in-process harness.
bench_publish_runner "$repo" "$work/runner"
dotnet build -c Release "$repo/bench/ContainerStart" -v q -nologo >/dev/null
dotnet publish -c Release "$repo/bench/HelloAot" -o "$work/hello" -v q -nologo >/dev/null
runner="$work/runner/runner"
export RUNNER_STATE_DIR="$work/state"

# runner exec: jobs of 21 and of 1 trivial steps on the same image, with network: none as the others.
"$runner" image import rootfs.tar --tag localhost/bench-busybox >/dev/null
steps() { # N
    printf 'jobs:\n  j:\n    image: localhost/bench-busybox\n    network: none\n    steps:\n'
    for _ in $(seq "$1"); do printf '      - run: "true"\n'; done
}
bench_make_repo steps21 "$(steps 21)"
bench_make_repo steps1 "$(steps 1)"
"$runner" exec -C steps1 >/dev/null 2>&1 # the checkout is present from here on

# crun and runc: OCI bundles from `crun spec`, with the same limits (one runs /bin/true, one sleeps).
oci_bundle() { # DIR ARGS_JSON
    mkdir "$1"
    (cd "$1" && crun spec)
    python3 - "$work" "$1/config.json" "$2" <<'PY'
import json, sys
work, path, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = json.load(open(path))
c["root"] = {"path": f"{work}/rootfs", "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = args
c["linux"]["resources"] = {"memory": {"limit": 256 * 1024 * 1024}, "cpu": {"quota": 50000, "period": 100000}}
c["linux"]["cgroupsPath"] = "/bench-oci"
json.dump(c, open(path, "w"), indent=1)
PY
}
oci_bundle bundle '["/bin/true"]'
oci_bundle bundle-sleep '["/bin/sleep", "1"]'

# podman: the rootfs as a local image.
bench_podman_config "$work"
podman import -q rootfs.tar localhost/bench-busybox >/dev/null

hyperfine -N --warmup 3 --runs "$RUNS" --export-json results.json \
    -n "runner run" "$runner run --rootfs $work/rootfs --memory 256Mi --cpus 0.5 -- /bin/true" \
    -n "crun run" "crun run --bundle $work/bundle bench-crun" \
    -n "runc run" "runc run --bundle $work/bundle bench-runc" \
    -n "podman run" "podman run --rm --network none --runtime crun --memory 256m --cpus 0.5 localhost/bench-busybox /bin/true" \
    >/dev/null
older=()
if [[ -n ${OLD:-} ]]; then
    RUNNER_STATE_DIR="$work/old-state" "$OLD" image import rootfs.tar --tag localhost/bench-busybox >/dev/null
    RUNNER_STATE_DIR="$work/old-state" "$OLD" exec -C steps1 >/dev/null 2>&1
    older=(-n "older runner exec, 21 steps" "env RUNNER_STATE_DIR=$work/old-state $OLD exec -C $work/steps21"
        -n "older runner exec, 1 step" "env RUNNER_STATE_DIR=$work/old-state $OLD exec -C $work/steps1")
fi
hyperfine -N --warmup 3 --runs "$RUNS" --export-json exec.json \
    -n "runner exec, 21 steps" "$runner exec -C $work/steps21" \
    -n "runner exec, 1 step" "$runner exec -C $work/steps1" "${older[@]}" \
    -n "runner --version" "$runner --version" \
    -n "NativeAOT hello world" "$work/hello/HelloAot" \
    >/dev/null

# Per container inside one running runner: no .NET start-up.
dotnet "$repo/bench/ContainerStart/bin/Release/net10.0/ContainerStart.dll" "$work/rootfs" "$RUNS" "$work/state-inproc" > inproc.txt

# Peak memory (VmHWM), read from the host while the container sleeps: runner run's runner-init (the
# launcher, the monitor outside the container's PID namespace) and crun (which stays as the container's parent).
"$runner" run --rootfs "$work/rootfs" -- sleep 1 &
runner_pid=$!
sleep 0.6
init_peak=$(awk '/VmHWM/ {print $2}' "/proc/$(pgrep -P "$runner_pid" -x runner-init)/status")
wait "$runner_pid"
# The launcher of runner exec (one runner-init making every step's container), during the last of 21 steps,
# the first 20 of which it made already.
bench_make_repo steps-sleep "$(steps 20; printf '      - run: "sleep 1"\n')"
"$runner" exec -C steps-sleep >/dev/null 2>&1 &
exec_pid=$!
until launcher=$(pgrep -P "$exec_pid" -x runner-init) && [[ -n $(pgrep -f '^sleep 1$') ]]; do sleep 0.05; done
launcher_peak=$(awk '/VmHWM/ {print $2}' "/proc/$launcher/status")
# Each step runs under an init: PID 1, a clone of the launcher that never execs. What it adds is its proportional share.
step_init_pss=$(awk '/^Pss:/ {print $2}' "/proc/$(pgrep -P "$launcher" -x runner-init)/smaps_rollup")
wait "$exec_pid"
crun run --bundle "$work/bundle-sleep" bench-crun-sleep &
crun_pid=$!
sleep 0.6
crun_peak=$(awk '/VmHWM/ {print $2}' "/proc/$crun_pid/status")
crun_pss=$(awk '/^Pss:/ {print $2}' "/proc/$crun_pid/smaps_rollup")
wait "$crun_pid"

python3 - "$init_peak" "$crun_peak" "$launcher_peak" "$step_init_pss" "$crun_pss" <<'PY'
import json, statistics, sys
def medians(f): return {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(f))["results"]}
r, e = medians("results.json"), medians("exec.json")
r["runner (in a running runner)"] = statistics.median(float(l) for l in open("inproc.txt"))
r["one more step of runner exec"] = (e["runner exec, 21 steps"] - e["runner exec, 1 step"]) / 20
if "older runner exec, 1 step" in e:
    r["one more step, older runner"] = (e["older runner exec, 21 steps"] - e["older runner exec, 1 step"]) / 20
crun, podman = r["crun run"], r["podman run"]
print(f"{'tool':32} {'median':>10} {'vs crun':>8} {'vs podman':>10}")
for name, ms in r.items():
    print(f"{name:32} {ms:8.1f} ms {ms / crun:7.2f}x {ms / podman:9.3f}x")
v, h = e["runner --version"], e["NativeAOT hello world"]
print(f"{'runner --version':32} {v:8.1f} ms {v / h:7.2f}x a NativeAOT hello world ({h:.1f} ms)")
print(f"peak memory (VmHWM): runner-init of runner run {int(sys.argv[1]) / 1024:.1f} MiB, crun {int(sys.argv[2]) / 1024:.1f} MiB, "
      f"runner exec's launcher after 21 containers {int(sys.argv[3]) / 1024:.1f} MiB")
print(f"proportional memory (Pss) of what stays beside one running container: a step's init (a clone of the launcher) "
      f"{int(sys.argv[4]) / 1024:.1f} MiB, crun {int(sys.argv[5]) / 1024:.1f} MiB")
PY
podman rmi -f localhost/bench-busybox >/dev/null 2>&1 || true
