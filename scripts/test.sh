#!/usr/bin/env bash
# test.sh: the full test suite in one command on a fresh Debian 12 machine: installs the
# dependencies, builds with warnings as errors, runs `make check` (unit tests, bats
# integration tests, QEMU guest tests) and prints the counts.
#   SANITIZE=1  build with -fsanitize=address,undefined in _build-asan and run the suite
#   VALGRIND=1  also run the C unit tests under valgrind (must be clean)
#   DISTCHECK=1 also run `make distcheck` (guest tests skipped inside it)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"

builddir=$top/_build
cfg=()
if [ "${SANITIZE:-0}" = 1 ]; then
    builddir=$top/_build-asan
    san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    cfg=(CFLAGS="-O1 -g $san" LDFLAGS="$san")
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
"$top/scripts/build.sh" "$builddir" "${cfg[@]}"
cd "$builddir"

status=0
make -j"$(nproc)" check >check.out 2>&1 || status=$?
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' check.out | grep -v '^PASS' | head -100 || true
for log in $(grep -lE '^(not ok|Bail out)' $(find . -name '*.log' -newer Makefile) 2>/dev/null); do
    # each failure with the TAP comments just before it (a bats teardown's log tails)
    echo "---- $log (failures)"
    awk 'after > 0 {print; after--; next} /^# / {held = held $0 "\n"; next}
         /^not ok/ {printf "%s%s\n", held, $0; after = 15} {held = ""}' "$log" | head -150
done
sed -n '/^=*$/,$p' check.out | grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR)' || true
# A QEMU guest that did not finish fails every check it owed; its harness log says why
# (boot times, console tail, QEMU's own messages). Printed last, where a truncated CI
# log still shows it.
for err in $(find test/guest -name run.err -newer Makefile 2>/dev/null | sort); do
    [ -s "$(dirname "$err")/failure.txt" ] || continue
    echo "---- $err"
    head -60 "$err"
done
if [ $status -ne 0 ] && ! grep -q '^# TOTAL:' check.out; then
    echo "make check failed before running the tests:"; tail -30 check.out
fi
pass=$(sed -n 's/^# PASS: *//p' check.out | tail -1)
fail=$(sed -n 's/^# FAIL: *//p' check.out | tail -1)
err=$(sed -n 's/^# ERROR: *//p' check.out | tail -1)
skip=$(sed -n 's/^# SKIP: *//p' check.out | tail -1)

if [ "${VALGRIND:-0}" = 1 ] && [ $status -eq 0 ]; then
    for t in test/unit/test_*; do
        [ -x "$t" ] && [ -f "$t" ] || continue
        case $t in *.o|*.log|*.trs) continue;; esac
        if ! valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
                "$t" >/dev/null 2>valgrind.err; then
            echo "valgrind: $t is not clean:"; cat valgrind.err; status=1
        fi
    done
    [ $status -eq 0 ] && echo "valgrind: unit tests clean"
fi

if [ "${DISTCHECK:-0}" = 1 ] && [ $status -eq 0 ]; then
    VSOCK_SKIP_GUEST=1 make -j"$(nproc)" distcheck >distcheck.out 2>&1 || { tail -40 distcheck.out; status=1; }
    [ $status -eq 0 ] && echo "distcheck: ok"
fi

echo "${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed, ${skip:-0} skipped"
exit $status
