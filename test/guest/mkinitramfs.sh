#!/usr/bin/env bash
# mkinitramfs.sh OUT KERNEL_DIR RELEASE SCENARIO [PROGRAM...]: builds the guest's
# initramfs (newc cpio, gzip): busybox-static with its applets, the given programs and
# host socat with the shared libraries they need (found with ldd), the vsock/virtio/uio
# kernel modules with their dependencies (from modules.dep), the guest /init, the
# scenario library and SCENARIO as /guest/scenario.sh.
set -euo pipefail
out=$1 kdir=$2 rel=$3 scenario=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)

# Modules the scenarios load (by name); dependencies are added from modules.dep.
modules=(vsock vsock_loopback vsock_diag vmw_vsock_virtio_transport_common
    vmw_vsock_virtio_transport vhost_vsock uio uio_pci_generic virtio_pci)

root=$(mktemp -d "${TMPDIR:-/tmp}/vsock-initramfs.XXXXXX")
chmod 0755 "$root" # becomes the guest's /, which uid 1000 must traverse
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,home/user,guest,opt/vsock/bin,usr/bin}
mkdir -p "$root/etc/modules.load"

busybox=$(command -v busybox || echo /bin/busybox)
! ldd "$busybox" >/dev/null 2>&1 ||
    { echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2; exit 1; }
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

# Copies a file to the same path inside the image, following symlinks.
copy_in() {
    local src=$1 dst=$root$1
    [ -e "$dst" ] && return 0
    mkdir -p "$(dirname "$dst")"
    cp -L "$src" "$dst"
}

# Copies an executable to DEST inside the image, with every library ldd names.
copy_program() {
    local prog=$1 dest=$2 lib
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$prog" "$root$dest"
    for lib in $(ldd "$prog" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
        copy_in "$lib"
    done
}

for prog in "$@"; do
    copy_program "$prog" "/opt/vsock/bin/$(basename "$prog")"
done
socat=$(command -v socat || true)
[ -n "$socat" ] && copy_program "$socat" /usr/bin/socat

# Modules: each name gets /etc/modules.load/NAME listing the .ko files to insmod, in
# order (dependencies first). modules.dep lists a module's full dependency closure.
mdir=$kdir/lib/modules/$rel
declare -A dep_line
while IFS= read -r line; do
    key=${line%%:*}
    name=$(basename "$key")
    name=${name%%.ko*}
    dep_line[$name]=$line
done <"$mdir/modules.dep"

install_ko() {
    local rel_path=$1 src dst
    src=$mdir/$rel_path
    dst=$root/lib/modules/$rel/${rel_path%%.ko*}.ko
    [ -e "$dst" ] && return 0
    mkdir -p "$(dirname "$dst")"
    case $rel_path in
        *.ko.xz) xz -dc "$src" >"$dst" ;;
        *.ko.zst) zstd -qdc "$src" >"$dst" ;;
        *.ko.gz) gzip -dc "$src" >"$dst" ;;
        *) cp "$src" "$dst" ;;
    esac
}

load_order() {
    local name=$1 line deps d
    line=${dep_line[$name]:-}
    [ -n "$line" ] || return 1
    deps=${line#*:}
    # modules.dep lists the module that must be loaded last first; reverse it.
    for d in $(echo $deps | tr ' ' '\n' | tac); do
        echo "$d"
    done
    echo "${line%%:*}"
}

for m in "${modules[@]}"; do
    if ! order=$(load_order "$m"); then
        # Built into this kernel (or absent): nothing to load.
        grep -q "/$m.ko" "$mdir/modules.builtin" 2>/dev/null && : >"$root/etc/modules.load/$m"
        continue
    fi
    : >"$root/etc/modules.load/$m"
    for ko in $order; do
        install_ko "$ko"
        echo "/lib/modules/$rel/${ko%%.ko*}.ko" >>"$root/etc/modules.load/$m"
    done
done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
chmod 1777 "$root/tmp"

install -m 0755 "$here/init" "$root/init"
install -m 0644 "$here/guest-lib.sh" "$root/guest/lib.sh"
install -m 0644 "$scenario" "$root/guest/scenario.sh"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
