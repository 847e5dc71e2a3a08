#!/usr/bin/env bash
# Cold pull of a Debian minbase image (mmdebstrap, one layer, ~170 MB unpacked, ~10,000 entries)
# from a loopback registry (Debian's docker-registry), its layer gzip-compressed as registries mostly
# serve them (COMPRESS=none: the plain tar): runner image pull against podman pull,
# alternating, each into an empty store, the registry and page cache warm. Prints the medians and
# the ratio. With OLD=path/to/an/older/runner, that binary is measured too (before/after).
# Needs root, and: apt-get install docker-registry podman mmdebstrap python3. Usage: bench/pull.sh [RUNS]
set -euo pipefail
RUNS=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
source "$repo/bench/common.sh"
bench_require docker-registry podman skopeo python3
tarball=/var/tmp/runner-tests/debian-bookworm-minbase.tar
if [[ ! -f $tarball ]]; then
    bench_require mmdebstrap
    mkdir -p "$(dirname "$tarball")"
    mmdebstrap --variant=minbase --quiet bookworm "$tarball"
fi

work=$(mktemp -d /var/tmp/bench-pull-XXXXXX) # not /tmp: a tmpfs would make the store's writes free
registry_pid=
trap '[[ -z $registry_pid ]] || kill "$registry_pid"; rm -rf "$work"' EXIT
cd "$work"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > registry.yml <<YML
version: 0.1
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:$port }
YML
docker-registry serve registry.yml >registry.log 2>&1 &
registry_pid=$!
until curl -sf "http://127.0.0.1:$port/v2/" >/dev/null; do sleep 0.2; done

bench_publish_runner "$repo" "$work/bin"
export RUNNER_INSECURE_REGISTRIES="127.0.0.1:$port"
image="127.0.0.1:$port/bench/debian:bookworm"
RUNNER_STATE_DIR="$work/push-state" "$work/bin/runner" image import "$tarball" --tag localhost/debian:bookworm >/dev/null
RUNNER_STATE_DIR="$work/push-state" "$work/bin/runner" image push localhost/debian:bookworm "$image.tar" >/dev/null
# As registries mostly serve layers: gzip-compressed (COMPRESS=none: the plain tar the runner pushed). The
# compressed image is an OCI layout made once beside the tarball (python's gzip, level 6), pushed with skopeo.
if [[ ${COMPRESS:-gzip} == gzip ]]; then
    layout="${tarball%.tar}-gzip-oci"
    [[ -f $layout/index.json ]] || python3 - "$tarball" "$layout" <<'PY2'
import gzip, hashlib, json, os, shutil, sys
tarball, layout = sys.argv[1], sys.argv[2]
blobs = os.path.join(layout + ".tmp", "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, digest), "wb").write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}
raw = open(tarball, "rb").read()
layer = put(gzip.compress(raw, 6, mtime=0))
config = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(raw).hexdigest()}"]}}).encode())
manifest = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode())
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
    "annotations": {"org.opencontainers.image.ref.name": "bookworm"}}]}, open(os.path.join(layout + ".tmp", "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(layout + ".tmp", "oci-layout"), "w"))
shutil.rmtree(layout, ignore_errors=True)
os.rename(layout + ".tmp", layout)
PY2
    skopeo copy -q --dest-tls-verify=false "oci:$layout:bookworm" "docker://$image" >/dev/null
else
    image="$image.tar"
fi
bench_podman_config "$work"

python3 - "$work" "$image" "$RUNS" "${OLD:-}" <<'PY'
import os, statistics, subprocess, sys, time
work, image, runs, old = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
tools = { # name: the command pulling into a store in the directory RUN
    "runner image pull": lambda run: [f"{work}/bin/runner", "image", "pull", image],
    "podman pull": lambda run: ["podman", "--root", f"{run}/root", "--runroot", f"{run}/run", "pull", "-q", "--tls-verify=false", image],
}
if old:
    tools["older runner image pull"] = lambda run: [old, "image", "pull", image]
times = {name: [] for name in tools}
# Every run pulls into a directory of its own, and none is removed before the end: ext4 scans an inode
# table for every new file while inodes freed in the last 30 s are in it (recently_deleted), which, after
# removing the last run's 10,000 files, cost about 1.5 s of every pull, for every tool alike.
for i in range(runs + 1): # the first round warms the registry and the page cache, and is not counted
    for name, command in tools.items():
        run = f"{work}/runs/{i}-{name.replace(' ', '-')}"
        subprocess.run(["sync"], check=True)
        start = time.perf_counter()
        subprocess.run(command(run), env=dict(os.environ, RUNNER_STATE_DIR=f"{run}/state"), check=True, stdout=subprocess.DEVNULL)
        if i > 0:
            times[name].append(time.perf_counter() - start)
podman_median = statistics.median(times["podman pull"])
for name, values in times.items():
    m = statistics.median(values)
    print(f"{name:26} median {m:6.2f} s (min {min(values):.2f}, max {max(values):.2f})  {m / podman_median:5.2f}x podman")
PY
