# Shared by the bench scripts (sourced): the tools check, the busybox root file system, the
# published runner, and podman's configuration for this host.

bench_require() { # TOOL...
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "bench: $tool is not installed" >&2; exit 3; }
    done
}

bench_busybox_rootfs() { # DIR: Debian's static busybox and its applets, with the usual mount points
    mkdir -p "$1"/bin "$1"/proc "$1"/dev "$1"/sys "$1"/tmp "$1"/opt
    cp /bin/busybox "$1"/bin/
    for applet in $(busybox --list); do [[ $applet == busybox ]] || ln -s busybox "$1/bin/$applet"; done
}

bench_publish_runner() { # REPO OUT: the NativeAOT binary, as users get it
    dotnet publish -c Release "$1/src/Runner" -o "$2" -v q -nologo >/dev/null
}

bench_podman_config() { # DIR: rootful, cgroupfs manager, file events, without the rlimits this host cannot raise
    cat > "$1/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=16384:16384"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
    export CONTAINERS_CONF="$1/containers.conf"
}

bench_make_repo() { # NAME PIPELINE [FILE CONTENT]: a git repository with one commit
    mkdir -p "$1"
    printf '%s\n' "$2" > "$1/.runner.yml"
    [[ $# -lt 4 ]] || printf '%s\n' "$4" > "$1/$3"
    git -C "$1" init -q -b main && git -C "$1" add . && git -C "$1" -c user.email=b@b -c user.name=b commit -qm bench
}
