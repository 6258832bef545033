#!/usr/bin/env bats
# man.bats: the manual pages are clean mdoc and cannot drift from the code: every
# installed page lints clean with mandoc, vsockctl.8 documents every command and option
# of vsockctl, libvsock.3 every function of libvsock.h, vsockcat.1 and
# vhost-user-vsock.8 every option their --help shows (the help comes from each program's
# option table, cmd/common/cli_opt.h), and the C examples in the pages compile and link.

load helpers
bats_require_minimum_version 1.5.0

MANDIR="$abs_top_srcdir/man"
EXAMPLES="$abs_top_srcdir/test/tools/man_examples.py"
BACKEND="$abs_top_builddir/cmd/vhost-user-vsock/vhost-user-vsock"

setup() {
    command -v mandoc >/dev/null || skip "mandoc is not installed"
    TMPD=$(mktemp -d "${BATS_TMPDIR:-/tmp}/man.XXXXXX")
}

teardown() {
    rm -rf "$TMPD"
}

# The pages `make install` installs, from dist_man_MANS in man/local.mk.
installed_pages() {
    sed -n 's/^dist_man_MANS += //p' "$MANDIR/local.mk" | tr ' ' '\n' | sed '/^$/d'
}

# Compiles and links a C example against the built library, with the build's flags (so
# a sanitizer build links its runtime too).
cc_example() {
    local cflags ldflags
    cflags=$(sed -n 's/^CFLAGS = //p' "$abs_top_builddir/Makefile")
    ldflags=$(sed -n 's/^LDFLAGS = //p' "$abs_top_builddir/Makefile")
    # shellcheck disable=SC2086 # the flags are word lists
    timeout 60 "${CC:-cc}" -std=c11 -D_GNU_SOURCE $cflags -I"$abs_top_srcdir/include" "$@" \
        "$abs_top_builddir/lib/.libs/libvsock-core.a" $ldflags
}

# A page as plain text (no overstrike), for searching what a reader sees.
render() {
    timeout 20 mandoc -T ascii "$1" | sed 's/.\x08//g'
}

# Prints the flags (-x, --long) at the start of option lines of a --help text.
help_flags() {
    grep -E '^[[:space:]]+-' | sed -E 's/^[[:space:]]+//; s/[[:space:]]{2,}.*//' |
        grep -oE '(^|[[:space:],|])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed -E 's/^[[:space:],|]+//' |
        sort -u
}

# Fails naming each of the flags (at least MIN) that the page does not mention as a word.
page_mentions_flags() {
    local page=$1 min=$2 text flag
    shift 2
    text=$(render "$MANDIR/$page")
    [ "$#" -ge "$min" ] || { echo "found only $# options in the help: $*" >&2; false; }
    for flag in "$@"; do
        grep -Eq -- "(^|[^A-Za-z0-9-])$flag([^A-Za-z0-9-]|$)" <<<"$text" ||
            { echo "$page does not mention $flag" >&2; false; }
    done
}

@test "the installed man pages are vsockctl.8, vsock.4 and libvsock.3 at least, and exist" {
    run installed_pages
    [ "$status" -eq 0 ]
    for page in man/vsockctl.8 man/vsock.4 man/libvsock.3; do
        grep -qx "$page" <<<"$output"
    done
    for page in $output; do
        [ -f "$abs_top_srcdir/$page" ] || { echo "$page is listed but missing" >&2; false; }
    done
}

@test "every man page in man/ is installed (listed in dist_man_MANS)" {
    local listed page
    listed=$(installed_pages)
    for page in "$MANDIR"/*.[1-8]; do
        [ -e "$page" ] || continue
        grep -qx "man/${page##*/}" <<<"$listed" ||
            { echo "${page##*/} is not in dist_man_MANS (man/local.mk)" >&2; false; }
    done
}

@test "every man page lints clean with mandoc -T lint -W warning" {
    local page n=0
    for page in "$MANDIR"/*.[1-8]; do
        [ -e "$page" ] || continue
        n=$((n + 1))
        run timeout 20 mandoc -T lint -W warning "$page"
        if [ "$status" -ne 0 ] || [ -n "$output" ]; then
            printf '%s: mandoc exit %s:\n%s\n' "${page##*/}" "$status" "$output" >&2
            false
        fi
    done
    [ "$n" -ge 3 ]
}

@test "the lint test catches a broken page" {
    # A page with a sentence outside any section and an unclosed list must fail the
    # same check, so the test above cannot pass by accident.
    printf '.Dd January 1, 2026\n.Dt BROKEN 1\n.Os\ntext before NAME\n.Sh NAME\n.Nm broken\n.Bl -tag\n' \
        > "$TMPD/broken.1"
    run timeout 20 mandoc -T lint -W warning "$TMPD/broken.1"
    [ "$status" -ne 0 ]
    [ -n "$output" ]
}

@test "vsockctl.8 has an entry for every command in vsockctl's command table" {
    [ -x "$VSOCKCTL" ] || skip "vsockctl is not built"
    run timeout 10 "$VSOCKCTL" help
    [ "$status" -eq 0 ]
    local commands cmd
    commands=$(awk '/^Commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && /^$/ { c = 0 }' <<<"$output")
    [ "$(wc -w <<<"$commands")" -ge 5 ]
    for cmd in $commands; do
        grep -Eq "^\.It Cm $cmd( |$)" "$MANDIR/vsockctl.8" ||
            { echo "vsockctl.8 has no '.It Cm $cmd' entry" >&2; false; }
    done
}

@test "vsockctl.8 mentions every option vsockctl's help shows" {
    [ -x "$VSOCKCTL" ] || skip "vsockctl is not built"
    local flags
    flags=$(timeout 10 "$VSOCKCTL" help | help_flags)
    flags+=" $(timeout 10 "$VSOCKCTL" help | grep -oE '\[--[a-z-]+\]' | tr -d '[]')"
    # shellcheck disable=SC2086 # a word list
    page_mentions_flags vsockctl.8 4 $flags
}

@test "libvsock.3 documents every function declared in libvsock.h" {
    local functions fn
    functions=$(python3 "$abs_top_srcdir/test/tools/api_functions.py" \
        "$abs_top_srcdir/include/libvsock.h")
    [ "$(wc -w <<<"$functions")" -ge 27 ]
    for fn in $functions; do
        grep -Eq "^\.Nm $fn( ,)?$" "$MANDIR/libvsock.3" ||
            { echo "libvsock.3: $fn is not in NAME" >&2; false; }
        grep -Eq "^\.(Fn|Fo) $fn( |$)" "$MANDIR/libvsock.3" ||
            { echo "libvsock.3: $fn is not in SYNOPSIS or the text" >&2; false; }
    done
}

@test "the C examples in vsock.4 and libvsock.3 compile and link" {
    local lib="$abs_top_builddir/lib/.libs/libvsock-core.a" src page
    [ -f "$lib" ] || skip "libvsock-core.a is not built"
    timeout 20 python3 "$EXAMPLES" "$TMPD" "$MANDIR/vsock.4" "$MANDIR/libvsock.3"
    for page in vsock_4 libvsock_3; do
        [ "$(ls "$TMPD/$page"-*.c | wc -l)" -ge 2 ] || { echo "$page: want 2 C examples" >&2; false; }
    done
    for src in "$TMPD"/*.c; do
        run cc_example -Wall -Wextra -Werror -o "${src%.c}" "$src"
        [ "$status" -eq 0 ] || { echo "${src##*/}: $output" >&2; false; }
    done
    [ "$(ls "$TMPD"/*.c | wc -l)" -eq 4 ]
}

@test "the libvsock.3 example prints the same CID as vsockctl cid" {
    local lib="$abs_top_builddir/lib/.libs/libvsock-core.a"
    [ -f "$lib" ] || skip "libvsock-core.a is not built"
    [ -x "$VSOCKCTL" ] || skip "vsockctl is not built"
    run timeout 10 "$VSOCKCTL" cid
    [ "$status" -eq 0 ] || skip "no vsock transport here: $output"
    local want=$output
    timeout 20 python3 "$EXAMPLES" --containing vsock_local_cid "$TMPD" "$MANDIR/libvsock.3"
    cc_example -o "$TMPD/cid" "$TMPD/libvsock_3-0.c"
    run timeout 10 "$TMPD/cid"
    [ "$status" -eq 0 ]
    [ "$output" = "$want" ]
}

@test "vsockcat.1 mentions every option vsockcat -h shows" {
    [ -x "$VSOCKCAT" ] || skip "vsockcat is not built yet"
    [ -f "$MANDIR/vsockcat.1" ] || skip "man/vsockcat.1 is not written yet"
    local flags
    flags=$(timeout 10 "$VSOCKCAT" -h 2>&1 | help_flags)
    # shellcheck disable=SC2086 # a word list
    page_mentions_flags vsockcat.1 3 $flags
}

@test "vhost-user-vsock.8 mentions every option vhost-user-vsock --help shows" {
    [ -x "$BACKEND" ] || skip "vhost-user-vsock is not built"
    local flags
    flags=$(timeout 10 "$BACKEND" --help | help_flags)
    # shellcheck disable=SC2086 # a word list
    page_mentions_flags vhost-user-vsock.8 8 $flags
}
