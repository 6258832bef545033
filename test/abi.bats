#!/usr/bin/env bats
# abi.bats: libvsock.so exports exactly the functions include/libvsock.h declares: no
# internal symbol leaks into the ABI (the library is built -fvisibility=hidden) and no
# declared function is missing its VSOCK_API. See "Interface stability" in libvsock(3).

load helpers
bats_require_minimum_version 1.5.0

HEADER="$abs_top_srcdir/include/libvsock.h"
API_FUNCTIONS="$abs_top_srcdir/test/tools/api_functions.py"

setup() {
    SO="$abs_top_builddir/lib/.libs/libvsock.so"
    [ -e "$SO" ] || skip "libvsock.so is not built (--disable-shared)"
    command -v nm >/dev/null || skip "nm is not installed"
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/abi.XXXXXX")
}

teardown() {
    rm -rf "${TMPD:-/nonexistent}"
}

# The symbols a shared library defines and exports, sorted. Names the toolchain adds in
# every shared object (_init, _fini, sanitizer hooks: a leading underscore is theirs, never
# a C API name here) are left out.
exported() {
    nm -D --defined-only "$1" | awk '{ print $NF }' | grep -v '^_' | sort -u
}

# Compares the functions HEADER declares with what SO exports; prints each difference.
same_exports() {
    local header=$1 so=$2
    python3 "$API_FUNCTIONS" "$header" > "$TMPD/declared" || return 1
    exported "$so" > "$TMPD/exported"
    comm -23 "$TMPD/declared" "$TMPD/exported" | sed 's/^/declared but not exported: /'
    comm -13 "$TMPD/declared" "$TMPD/exported" | sed 's/^/exported but not declared: /'
    cmp -s "$TMPD/declared" "$TMPD/exported"
}

@test "libvsock.so exports exactly the functions libvsock.h declares" {
    run same_exports "$HEADER" "$SO"
    [ "$status" -eq 0 ] || { echo "$output" >&2; false; }
    [ "$(wc -l < "$TMPD/exported")" -ge 30 ]
}

@test "the header reader finds every kind of declaration in libvsock.h" {
    run python3 "$API_FUNCTIONS" "$HEADER"
    [ "$status" -eq 0 ]
    # one line, several lines, a pointer to pointer result, a void argument list
    for fn in vsock_socket vsock_transport_open vsock_transport_specs vsock_version; do
        grep -qx "$fn" <<<"$output" || { echo "$fn not found" >&2; false; }
    done
    # typedefs and macros are not functions
    ! grep -qx 'vsock_describe_fn' <<<"$output"
    ! grep -q 'VSOCK_' <<<"$output"
}

@test "the comparison fails for a declaration without export and an export without declaration" {
    # A header declaring one more function, and one declaring one fewer, must both fail:
    # the test above cannot pass by accident.
    sed 's/^VSOCK_API int vsock_listen(.*/&\nint vsock_not_exported(void);/' "$HEADER" > "$TMPD/more.h"
    run same_exports "$TMPD/more.h" "$SO"
    [ "$status" -ne 0 ]
    [[ $output == *"declared but not exported: vsock_not_exported"* ]]
    grep -v '^VSOCK_API int vsock_listen(' "$HEADER" > "$TMPD/fewer.h"
    run same_exports "$TMPD/fewer.h" "$SO"
    [ "$status" -ne 0 ]
    [[ $output == *"exported but not declared: vsock_listen"* ]]
}
