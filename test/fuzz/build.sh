#!/usr/bin/env bash
# build.sh: builds the libFuzzer targets of test/fuzz/ with clang (ASan + UBSan, separate
# from the configured compiler) and runs each for FUZZ_SECONDS, then prints executions,
# exec/s and coverage per target. Fails if a target crashes, leaks, hangs or trips UBSan.
# Usage: build.sh SRCDIR BUILDDIR [build|run|all] [TARGET...]   (make fuzz runs "all")
set -euo pipefail

src=${1:?usage: build.sh SRCDIR BUILDDIR [build|run|all] [TARGET...]}
build=${2:?usage: build.sh SRCDIR BUILDDIR [build|run|all] [TARGET...]}
mode=${3:-all}
shift $(($# < 3 ? $# : 3))
CC=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
out=$build/test/fuzz
all_targets=(addr spec hybrid_reply connect_line driver vring vhost_msg vhu_front pci_cfg)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

die() { echo "fuzz: $*" >&2; exit 1; }
[ -f "$build/config.h" ] || die "$build/config.h missing: run configure first"
command -v "$CC" >/dev/null || die "$CC not found (scripts/deps.sh installs clang)"

sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags=(-std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wno-unused-function
        -I"$build" -I"$src/include" -I"$src/lib" -I"$src" -I"$src/test/fuzz")
read -r -a uv_cflags <<<"$(pkg-config --cflags libuv)"
read -r -a uv_libs <<<"$(pkg-config --libs libuv)"

# The project's own source lists (local.mk) decide what each component is made of, so a
# new module is picked up without editing this script; main() files stay out.
sources_of() { # local.mk prefix [exclude...]
    local mk=$1 prefix=$2
    shift 2
    grep -o "$prefix[A-Za-z0-9_/.-]*\.c" "$src/$mk" | sort -u | while read -r f; do
        for x in "$@"; do [ "$f" = "$x" ] && continue 2; done
        echo "$f"
    done
}

# One instrumented static archive per component: targets pull only what they use.
archive() { # name include-dirs... -- sources...
    local name=$1 objdir=$out/obj/$1 incs=() objs=()
    shift
    while [ "$1" != "--" ]; do incs+=(-I"$src/$1"); shift; done
    shift
    mkdir -p "$objdir"
    for f in "$@"; do
        local o=$objdir/$(basename "${f%.c}").o
        "$CC" "${cflags[@]}" "${incs[@]}" "${uv_cflags[@]}" $sanitize -fsanitize=fuzzer-no-link \
            -c "$src/$f" -o "$o"
        objs+=("$o")
    done
    rm -f "$out/obj/lib$name.a"
    ar rcs "$out/obj/lib$name.a" "${objs[@]}"
}

link_target() { # target include-dirs... -- extra sources... -- archives...
    local t=$1 incs=() extra=() libs=()
    shift
    while [ "$1" != "--" ]; do incs+=(-I"$src/$1"); shift; done
    shift
    while [ "$1" != "--" ]; do extra+=("$src/$1"); shift; done
    shift
    for a in "$@"; do libs+=("$out/obj/lib$a.a"); done
    "$CC" "${cflags[@]}" "${incs[@]}" "${uv_cflags[@]}" $sanitize -fsanitize=fuzzer \
        "$src/test/fuzz/fuzz_$t.c" "${extra[@]}" "${libs[@]}" "${uv_libs[@]}" -lreadline \
        -lpthread -o "$out/bin/fuzz_$t"
}

do_build() {
    mkdir -p "$out/bin" "$out/obj"
    echo "fuzz: building with $($CC --version | head -n1)"
    mapfile -t lib_srcs < <(sources_of lib/local.mk lib/; sources_of lib/virtio/local.mk lib/
        sources_of util/local.mk util/)
    archive vsock -- "${lib_srcs[@]}"
    mapfile -t cli_srcs < <(sources_of cmd/common/local.mk cmd/common/)
    archive cli cmd/common -- "${cli_srcs[@]}"
    mapfile -t vc_srcs < <(sources_of cmd/vsockcat/local.mk cmd/vsockcat/ \
        cmd/vsockcat/main.c cmd/vsockcat/options.c cmd/vsockcat/addr_vsock.c)
    archive vsockcat cmd/vsockcat cmd/common -- "${vc_srcs[@]}"
    mapfile -t vhu_srcs < <(sources_of cmd/vhost-user-vsock/local.mk cmd/vhost-user-vsock/ \
        cmd/vhost-user-vsock/main.c cmd/vhost-user-vsock/options.c)
    archive vhu cmd/vhost-user-vsock cmd/common -- "${vhu_srcs[@]}"
    mapfile -t util_srcs < <(sources_of util/local.mk util/)
    archive util -- "${util_srcs[@]}"
    for t in "${targets[@]}"; do
        echo "fuzz: linking fuzz_$t"
        case $t in
        addr) link_target addr -- -- vsock ;;
        spec) link_target spec cmd/vsockcat cmd/common -- cmd/vsockcat/addr_vsock.c -- \
            vsockcat vsock cli ;;
        hybrid_reply) link_target hybrid_reply cmd/vsockcat cmd/common -- -- vsockcat vsock cli ;;
        connect_line) link_target connect_line cmd/vhost-user-vsock -- -- vhu util ;;
        driver) link_target driver test/unit -- test/unit/test_virtio_model.c -- vsock ;;
        vring) link_target vring cmd/vhost-user-vsock cmd/common -- -- vhu util cli ;;
        vhost_msg) link_target vhost_msg cmd/vhost-user-vsock cmd/common -- -- vhu util cli ;;
        vhu_front) link_target vhu_front -- -- vsock ;;
        pci_cfg) link_target pci_cfg -- -- vsock ;;
        *) die "unknown target $t" ;;
        esac
    done
}

# run_one TARGET: fuzzes one target; writes its summary line to logs/TARGET.summary and
# exits non-zero on a finding.
run_one() {
    local t=$1 work=$out/work/$1 art=$out/artifacts/$1 log=$out/logs/$1.log
    mkdir -p "$work" "$art"
    if [ -n "$(ls -A "$art")" ]; then # findings of an earlier run: keep, but apart
        mkdir -p "$out/artifacts-earlier/$t"
        mv "$art"/* "$out/artifacts-earlier/$t/"
    fi
    echo "fuzz: running fuzz_$t for ${seconds}s"
    local rc=0
    # -close_fd_mask=3: the targets' own stdout/stderr chatter (backend logs) is
    # dropped; libFuzzer and sanitizer reports still reach the log.
    "$out/bin/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -max_len=4096 -close_fd_mask=3 -artifact_prefix="$art/" \
        "$work" "$src/test/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
    local execs rate cov status=ok
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n1)
    if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$art")" ]; then
        status="FAILED (exit $rc; inputs in $art, log $log)"
    fi
    printf '%-13s %12s execs %8s exec/s  %-22s %s\n' "$t" "${execs:-?}" "${rate:-?}" \
        "${cov:-cov: ?}" "$status" >"$out/logs/$t.summary"
    [ "$status" = ok ]
}

# FUZZ_JOBS targets at a time (default 1): CI runs one per core to keep 60 s each short.
do_run() {
    local jobs=${FUZZ_JOBS:-1} failed=0 running=0
    mkdir -p "$out/logs"
    for t in "${targets[@]}"; do
        rm -f "$out/logs/$t.summary"
        if [ "$running" -ge "$jobs" ]; then
            wait -n || failed=$((failed + 1))
            running=$((running - 1))
        fi
        run_one "$t" &
        running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do
        wait -n || failed=$((failed + 1))
        running=$((running - 1))
    done
    echo "fuzz: summary (${seconds}s each, ${#targets[@]} targets, $jobs at a time)"
    for t in "${targets[@]}"; do
        printf '  %s' "$(cat "$out/logs/$t.summary" 2>/dev/null || echo "$t: no summary")"
        echo
    done
    [ "$failed" -eq 0 ] || die "$failed target(s) failed"
}

case $mode in
build) do_build ;;
run) do_run ;;
all) do_build; do_run ;;
*) die "unknown mode $mode (build, run or all)" ;;
esac
