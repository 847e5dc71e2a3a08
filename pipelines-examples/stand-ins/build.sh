#!/usr/bin/env bash
# Stand-in images for the example pipelines on a machine that cannot reach docker.io: each is
# built from Debian 12's packages with mmdebstrap and stored under the name the example uses, so
# the examples run unchanged. They are stand-ins, not the images: Debian's PostgreSQL 15 answers
# for postgres:16-alpine, Debian's Node.js 18 for node:20-bookworm-slim.
#
#   pipelines-examples/stand-ins/build.sh [postgres] [node] [dotnet]      (default: all)
#
# RUNNER names the runner to store them with (default: dotnet run --project src/Runner --), and
# RUNNER_STATE_DIR the store, as for any runner command. Debian roots are kept a week in
# /var/tmp/runner-stand-ins, so a second build only imports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache=/var/tmp/runner-stand-ins
read -r -a runner <<< "${RUNNER:-dotnet run --project $root/src/Runner --}"
mkdir -p "$cache"

# name → Debian packages; name → the image names the examples use.
declare -A packages=(
    [postgres]="postgresql,postgresql-client"
    [node]="nodejs,npm,ca-certificates,git"
    [dotnet]="ca-certificates,libicu72,libssl3,zlib1g,libstdc++6,libgcc-s1,git"
)
# More mmdebstrap arguments: the .NET SDK is the host's, copied in.
declare -A extra=(
    [dotnet]="--customize-hook=copy-in /usr/share/dotnet /usr/share"
)
declare -A names=(
    [postgres]="docker.io/library/postgres:16-alpine"
    [node]="docker.io/library/node:20-bookworm-slim"
    [dotnet]="mcr.microsoft.com/dotnet/sdk:10.0"
)

debian_root() {
    local name=$1 tar="$cache/$1.tar"
    if [[ ! -f $tar || -n $(find "$tar" -mtime +7) ]]; then
        echo "stand-ins: making a Debian 12 root with ${packages[$name]} (about a minute)" >&2
        [[ $name != dotnet || -x /usr/share/dotnet/dotnet ]] || { echo "stand-ins: the dotnet stand-in copies the host's SDK from /usr/share/dotnet, which is not there" >&2; exit 3; }
        rm -f "$tar.tmp.tar" # what a build that was killed left
        mmdebstrap --variant=minbase --quiet --include="${packages[$name]}" ${extra[$name]:+"${extra[$name]}"} bookworm "$tar.tmp.tar"
        mv "$tar.tmp.tar" "$tar"
    fi
    echo "$tar"
}

for name in "${@:-postgres node dotnet}"; do
    for one in $name; do
        if [[ -z ${packages[$one]:-} ]]; then
            echo "stand-ins: no stand-in named '$one' (there are: ${!packages[*]})" >&2
            exit 2
        fi

        tar=$(debian_root "$one")
        "${runner[@]}" image import "$tar" --tag "localhost/stand-in/$one-root:1" >/dev/null
        # The build context: the stand-in's files and the host's extra certificate authorities.
        context=$(mktemp -d)
        trap 'rm -rf "$context"' EXIT
        cp -r "$here/$one/." "$context/"
        mkdir -p "$context/host-ca"
        cp /usr/local/share/ca-certificates/*.crt "$context/host-ca/" 2>/dev/null || true
        for image in ${names[$one]}; do
            "${runner[@]}" image build -t "$image" "$context" >/dev/null 2>&1 \
                || { "${runner[@]}" image build -t "$image" "$context"; exit 1; }
            echo "stand-ins: $image (Debian 12: ${packages[$one]})"
        done
        rm -rf "$context"
    done
done
