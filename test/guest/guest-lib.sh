# guest-lib.sh: sourced by the guest scenarios. Checks report one line each on the
# result port (ttyS1): "RESULT <name> ok|fail|skip <detail>"; the host maps them onto TAP.
# Every check runs in its own subshell with a time limit and its output in a log that
# the failure detail quotes.
RESULT_PORT=/dev/ttyS1
CHECK_LIMIT=${CHECK_LIMIT:-60}
mkdir -p /tmp/log

result() {
    name=$1 status=$2
    shift 2
    echo "RESULT $name $status $*" >"$RESULT_PORT"
    echo "RESULT $name $status $*"
}

uptime_ms() {
    awk '{ printf "%d", $1 * 1000 }' /proc/uptime
}

# note TEXT: the detail an ok result reports (last one wins).
note() {
    echo "note: $*"
}

# need PROGRAM: skips the running check when PROGRAM is not in this guest.
need() {
    command -v "$1" >/dev/null 2>&1 || { echo "skip: $1 is not in this guest"; exit 77; }
}

fail() {
    echo "fail: $*"
    exit 1
}

# check NAME FUNCTION [ARGS...]
check() {
    _name=$1
    shift
    _log=/tmp/log/$(echo "$_name" | tr / _).log
    _start=$(uptime_ms)
    ("$@") >"$_log" 2>&1 &
    _pid=$!
    (sleep "$CHECK_LIMIT"; kill -9 "$_pid" 2>/dev/null) >/dev/null 2>&1 &
    _wd=$!
    wait "$_pid"
    _rc=$?
    kill "$_wd" 2>/dev/null
    wait "$_wd" 2>/dev/null
    _took=$(( $(uptime_ms) - _start ))
    case $_rc in
        0) result "$_name" ok "$(sed -n 's/^note: //p' "$_log" | tail -1) (${_took} ms)" ;;
        77) result "$_name" skip "$(sed -n 's/^skip: //p' "$_log" | tail -1)" ;;
        137) result "$_name" fail "timed out after ${CHECK_LIMIT} s: $(tail -n 3 "$_log" | tr '\n' '|')" ;;
        *) result "$_name" fail "exit $_rc: $(tail -n 4 "$_log" | tr '\n' '|')" ;;
    esac
}

# load_module NAME: insmods NAME and its dependencies (list made by mkinitramfs.sh).
load_module() {
    [ -f "/etc/modules.load/$1" ] || { echo "load_module: $1 unknown" >&2; return 1; }
    while read -r ko; do
        m=$(basename "$ko" .ko)
        [ -d "/sys/module/$m" ] || [ -d "/sys/module/$(echo "$m" | tr - _)" ] ||
            insmod "$ko" || return 1
    done <"/etc/modules.load/$1"
}

# conformance ARGS...: runs the vsock(4) suite and reports each TAP line as a result
# named conformance/CASE.
conformance() {
    if ! command -v vsock-conformance >/dev/null 2>&1; then
        result conformance/suite fail "vsock-conformance is not in this guest"
        return
    fi
    timeout 150 vsock-conformance "$@" 2>/tmp/log/conformance.err | while IFS= read -r line; do
        echo "$line"
        case $line in
            "ok "*"# SKIP"*)
                rest=${line#* - }
                result "conformance/${rest%% *}" skip "${rest#*# SKIP }" ;;
            "ok "*)
                rest=${line#* - }
                result "conformance/${rest%%:*}" ok "${rest#*: }" ;;
            "not ok "*)
                rest=${line#* - }
                result "conformance/${rest%%:*}" fail "${rest#*: }" ;;
        esac
    done
    # A refusal or crash leaves cases unreported; the host points at the console for why.
    if [ -s /tmp/log/conformance.err ]; then
        echo "vsock-conformance stderr:"
        cat /tmp/log/conformance.err
    fi
}

# wait_listen PORT: until a vsock socket listens on PORT (vsock_diag; no probe connection).
wait_listen() {
    guest-util wait-listen "$1" 10000
}

# payload FILE MIB: MIB MiB of random bytes.
payload() {
    head -c $(( $2 * 1048576 )) /dev/urandom >"$1"
}

sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# same FILE1 FILE2 WHAT: fails unless both files have the same sha256.
same() {
    a=$(sha "$1") b=$(sha "$2")
    [ "$a" = "$b" ] || fail "$3: sha256 $b ($(wc -c <"$2") bytes), want $a ($(wc -c <"$1") bytes)"
}

# uio_refused REGEX: binds the virtio-vsock device to uio_pci_generic, then the uio
# transport must refuse it before using it, with one stderr line matching REGEX (the
# short guests of pci.test, each with a device our driver must not drive).
uio_refused() {
    timeout 10 vsockctl bind || fail "bind exit $?"
    timeout 10 vsockctl --transport uio cid >/tmp/out 2>/tmp/err && fail "accepted: $(cat /tmp/out)"
    grep -q "$1" /tmp/err || fail "stderr: $(cat /tmp/err)"
    [ "$(wc -l </tmp/err)" -eq 1 ] || fail "more than one line: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
