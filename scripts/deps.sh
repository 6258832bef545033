#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages vsock-tools needs to build, test and demo.
# Installs only what is missing; needs root (or sudo) when something is missing.
set -euo pipefail

packages=(
    build-essential autoconf automake libtool pkg-config
    libuv1-dev libreadline-dev linux-libc-dev
    bats bats-assert bats-support mandoc
    socat ncat tmux python3 iproute2 util-linux procps psmisc strace
    qemu-system-x86 busybox-static cpio xz-utils zstd kmod
    valgrind clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
