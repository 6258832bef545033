# pci.sh: the guest scenario of pci.test. The guest has a vhost-user-vsock-pci device
# (1af4:1053) whose back-end is our cmd/vhost-user-vsock on the host; the host side
# (pci.test) serves Unix sockets and connects in through VSOCK-HYBRID.
# Phase 1: Linux's own driver (virtio_pci + vmw_vsock_virtio_transport) against our
# back-end. Phase 2: the modules unloaded, the device handed to uio_pci_generic with
# vsockctl bind, and libvsock's userspace driver (transport uio) running the same checks.
# Before each check runs, "PLAN name" goes to the result port so the host can tell a
# check that never reported; "HOSTGO PORT NAME send|receive" asks the host to connect.
. /guest/lib.sh
CHECK_LIMIT=100
HOST_CID=2
BIG=/tmp/g.big
HOST_BIG=/tmp/h.big

plan() {
    for c in "$@"; do echo "PLAN $c" >"$RESULT_PORT"; done
}

# hostgo PORT NAME MODE: the host connects to guest PORT (send: 64 MiB to us; receive:
# takes what we send) and reports its own result host/NAME.
hostgo() {
    echo "HOSTGO $1 $2 $3" >"$RESULT_PORT"
}

# uio_held: waits (5 s at most) until a process holds the uio device (the driver's
# flock on /dev/uioN shows in /proc/locks).
uio_held() {
    i=0
    while [ $i -lt 50 ]; do
        grep -q FLOCK /proc/locks && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# listener_up PORT PID: a kernel listener shows in vsock_diag; the userspace driver's
# sockets live in the listener's process: wait until it holds the device, then give it
# a moment to listen (the host retries a refused connection anyway).
listener_up() {
    if [ "$KIND" = kernel ]; then
        wait_listen "$1"
    else
        uio_held && sleep 0.3 && kill -0 "$2" 2>/dev/null
    fi
}

# ---- checks run with either driver ($P = phase name, $KIND = kernel|uio) ----------------
c_g2h_half_close() {
    # The host answers with sha256sum only after EOF: the answer proves our SHUTDOWN(SEND)
    # crossed while the other direction stayed open.
    timeout 90 vsockcat -t 30 STDIO VSOCK-CONNECT:$HOST_CID:5000 <$BIG >/tmp/ans ||
        fail "vsockcat exit $?"
    [ "$(cut -d' ' -f1 /tmp/ans)" = "$BIG_SHA" ] || fail "host's sha256 '$(cat /tmp/ans)'"
    note "64 MiB guest->host, host's sha256 after our half-close matches"
}

c_h2g() {
    timeout 90 vsockcat -u VSOCK-CONNECT:$HOST_CID:5001 STDIO >$HOST_BIG || fail "vsockcat exit $?"
    [ "$(sha $HOST_BIG)" = "$HOST_BIG_SHA" ] ||
        fail "sha256 $(sha $HOST_BIG) ($(wc -c <$HOST_BIG) bytes), want $HOST_BIG_SHA"
    note "64 MiB host->guest, sha256 equal"
}

c_socat_g2h_half_close() {
    timeout 90 socat -t 30 - VSOCK-CONNECT:$HOST_CID:5000 <$BIG >/tmp/ans || fail "socat exit $?"
    [ "$(cut -d' ' -f1 /tmp/ans)" = "$BIG_SHA" ] || fail "host's sha256 '$(cat /tmp/ans)'"
    note "socat: 64 MiB guest->host, host's sha256 after half-close matches"
}

c_socat_h2g() {
    timeout 90 socat -u VSOCK-CONNECT:$HOST_CID:5001 CREATE:/tmp/h2.big || fail "socat exit $?"
    [ "$(sha /tmp/h2.big)" = "$HOST_BIG_SHA" ] || fail "sha256 $(sha /tmp/h2.big)"
    rm -f /tmp/h2.big
    note "socat: 64 MiB host->guest, sha256 equal"
}

# The host connects (vsockcat VSOCK-HYBRID) and sends 64 MiB to our listener.
c_hybrid_in() {
    port=$1
    timeout 90 vsockcat -u VSOCK-LISTEN:$port STDIO >/tmp/hin &
    pid=$!
    listener_up $port $pid || { kill $pid; fail "vsockcat never listened"; }
    hostgo $port "$P/host-hybrid-sends-64MiB" send
    wait $pid || fail "listener exit $?"
    [ "$(sha /tmp/hin)" = "$HOST_BIG_SHA" ] || fail "sha256 $(sha /tmp/hin) ($(wc -c </tmp/hin) bytes)"
    rm -f /tmp/hin
    note "64 MiB from a host-initiated hybrid connection, sha256 equal"
}

# The host connects and takes 64 MiB (the file it sent us before) from our listener.
c_hybrid_out() {
    port=$1
    [ -s $HOST_BIG ] || fail "no host file (h2g check failed)"
    timeout 90 vsockcat -u OPEN:$HOST_BIG VSOCK-LISTEN:$port &
    pid=$!
    listener_up $port $pid || { kill $pid; fail "vsockcat never listened"; }
    hostgo $port "$P/host-hybrid-receives-64MiB" receive
    wait $pid || fail "listener exit $?"
    note "64 MiB to a host-initiated hybrid connection (the host checks the sha256)"
}

# Kernel: 20 vsockcat processes. Userspace driver: one process owns the device, so one
# vsockcat relays 20 local Unix connections, each to its own vsock connection.
c_concurrent_20() {
    if [ "$KIND" = uio ]; then
        timeout 80 vsockcat UNIX-LISTEN:/tmp/relay.sock,fork VSOCK-CONNECT:$HOST_CID:5002 &
        relay=$!
        i=0
        while [ ! -S /tmp/relay.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        [ -S /tmp/relay.sock ] || { kill $relay; fail "the relay never listened"; }
        client="socat -t 30 - UNIX-CONNECT:/tmp/relay.sock"
    else
        client="vsockcat -t 30 STDIO VSOCK-CONNECT:$HOST_CID:5002"
    fi
    i=0
    while [ $i -lt 20 ]; do
        head -c $((262144 + i * 4099)) /dev/urandom >/tmp/cc.in.$i
        i=$((i + 1))
    done
    i=0
    pids=
    while [ $i -lt 20 ]; do
        timeout 80 $client </tmp/cc.in.$i >/tmp/cc.out.$i &
        pids="$pids $!"
        i=$((i + 1))
    done
    bad=0
    for p in $pids; do wait "$p" || bad=$((bad + 1)); done
    [ "$KIND" = uio ] && kill $relay
    [ $bad -eq 0 ] || fail "$bad of 20 connections failed"
    i=0
    while [ $i -lt 20 ]; do
        same /tmp/cc.in.$i /tmp/cc.out.$i "connection $i echo"
        i=$((i + 1))
    done
    rm -f /tmp/cc.*
    note "20 concurrent connections echoed by the host, byte for byte"
}

c_refused() {
    start=$(uptime_ms)
    timeout 20 vsockcat STDIO VSOCK-CONNECT:$HOST_CID:5999 </dev/null >/dev/null 2>/tmp/err
    rc=$?
    took=$(( $(uptime_ms) - start ))
    [ $rc -eq 1 ] || fail "exit $rc, want 1: $(cat /tmp/err)"
    grep -q 'onnection reset by peer' /tmp/err || fail "stderr: $(cat /tmp/err)"
    [ $took -lt 3000 ] || fail "took $took ms"
    note "RST from the back-end in $took ms: $(cat /tmp/err)"
}

# We close first while the host keeps its end open: the back-end must answer our
# SHUTDOWN with RST at once. Linux keeps a closed socket up to 8 s waiting for that RST
# (vsock_diag shows it); libvsock's transport waits up to 3 s at exit.
c_close_first() {
    echo "closing first" >/tmp/small
    start=$(uptime_ms)
    timeout 20 vsockcat -u OPEN:/tmp/small VSOCK-CONNECT:$HOST_CID:5003 || fail "vsockcat exit $?"
    took=$(( $(uptime_ms) - start ))
    if [ "$KIND" = kernel ]; then
        left=1
        i=0
        while [ $i -lt 30 ]; do
            left=$(pci-util sockets 5003) || fail "vsock_diag failed"
            [ "$left" = 0 ] && break
            sleep 0.1
            i=$((i + 1))
        done
        gone=$(( $(uptime_ms) - start ))
        [ "$left" = 0 ] || fail "$left socket(s) on port 5003 still there $gone ms after close (linger: no RST)"
        note "closed socket gone $gone ms after connect (no 8 s linger)"
    else
        [ $took -lt 2500 ] || fail "vsockcat needed $took ms (its close waited for an RST)"
        note "connect, send, close and exit in $took ms (no linger)"
    fi
}

# The host sends 1000 bytes and closes first: we see EOF, close, and nothing lingers.
c_host_closes_first() {
    start=$(uptime_ms)
    timeout 20 vsockcat -u VSOCK-CONNECT:$HOST_CID:5004 STDIO >/tmp/hc </dev/null || fail "vsockcat exit $?"
    took=$(( $(uptime_ms) - start ))
    [ "$(wc -c </tmp/hc)" -eq 1000 ] || fail "got $(wc -c </tmp/hc) bytes, want 1000"
    if [ "$KIND" = kernel ]; then
        sleep 0.5
        left=$(pci-util sockets 5004) || fail "vsock_diag failed"
        [ "$left" = 0 ] || fail "$left socket(s) on port 5004 left after the host closed"
    fi
    [ $took -lt 2500 ] || fail "took $took ms"
    note "host's EOF after 1000 bytes, done in $took ms"
}

# run_phase: the checks both drivers run; the name list doubles as the plan.
run_phase() {
    base=$1
    names="g2h-64MiB-half-close h2g-64MiB guest-listens-host-sends-64MiB guest-listens-host-receives-64MiB 20-concurrent-connections connect-refused-rst guest-closes-first-no-linger host-closes-first"
    [ "$KIND" = kernel ] && names="$names socat-g2h-64MiB-half-close socat-h2g-64MiB"
    for n in $names; do plan "$P/$n"; done
    plan "host/$P/host-hybrid-sends-64MiB" "host/$P/host-hybrid-receives-64MiB"
    check $P/g2h-64MiB-half-close c_g2h_half_close
    check $P/h2g-64MiB c_h2g
    check $P/guest-listens-host-sends-64MiB c_hybrid_in $((base + 0))
    check $P/guest-listens-host-receives-64MiB c_hybrid_out $((base + 1))
    check $P/20-concurrent-connections c_concurrent_20
    check $P/connect-refused-rst c_refused
    check $P/guest-closes-first-no-linger c_close_first
    check $P/host-closes-first c_host_closes_first
    if [ "$KIND" = kernel ]; then
        check $P/socat-g2h-64MiB-half-close c_socat_g2h_half_close
        check $P/socat-h2g-64MiB c_socat_h2g
    fi
}

payload $BIG 64
BIG_SHA=$(sha $BIG)

# ---- phase 1: Linux's driver ----------------------------------------------------------
P=kernel-driver KIND=kernel
export VSOCK_TRANSPORT=kernel
load_module virtio_pci
load_module vmw_vsock_virtio_transport
load_module vsock_diag

c_cid() {
    i=0
    while [ $i -lt 30 ]; do
        out=$(timeout 10 vsockctl cid 2>&1) && [ "$out" = "$GUEST_CID" ] && break
        sleep 0.1
        i=$((i + 1))
    done
    [ "$out" = "$GUEST_CID" ] || fail "vsockctl cid: '$out', want $GUEST_CID"
    note "CID $out read from our back-end through Linux's driver"
}
plan $P/guest-cid $P/event-idx vsockctl/devices-virtio-pci vsockctl/bind-refused-in-use
check $P/guest-cid c_cid

# Linux's driver takes VIRTIO_RING_F_EVENT_IDX (bit 29) from our back-end, so every
# data check of this phase runs with event-index notification on both sides.
c_event_idx() {
    for d in /sys/bus/virtio/devices/*; do
        [ "$(cat $d/device)" = 0x0013 ] || continue
        f=$(cat $d/features)
        [ "$(echo "$f" | cut -c30)" = 1 ] || fail "features $f: bit 29 (EVENT_IDX) not set"
        note "virtio-vsock features $f"
        return 0
    done
    fail "no virtio device 0x0013 in /sys/bus/virtio/devices"
}
check $P/event-idx c_event_idx

c_devices_virtio() {
    out=$(timeout 10 vsockctl devices) || fail "exit $?: $out"
    echo "$out" | grep -q ' 1af4:1053 virtio-pci -$' || fail "'$out'"
    note "$out"
}
check vsockctl/devices-virtio-pci c_devices_virtio

c_bind_refused_in_use() {
    # Taking the device from a running kernel vsock would cut the machine off its host.
    load_module uio_pci_generic || fail "cannot load uio_pci_generic"
    out=$(timeout 10 vsockctl bind 2>&1) && fail "bind took the device from kernel vsock: $out"
    echo "$out" | grep -q "in use by the kernel's vsock (vmw_vsock_virtio_transport)" ||
        fail "'$out'"
    timeout 10 vsockctl devices | grep -q ' 1af4:1053 virtio-pci -$' || fail "the device moved"
    rmmod uio_pci_generic uio 2>/dev/null   # phase 2 checks that it is missing at first
    note "$out"
}
check vsockctl/bind-refused-in-use c_bind_refused_in_use
run_phase 6000

# ---- phase 2: libvsock's userspace driver over uio_pci_generic ------------------------
P=uio-driver KIND=uio
for m in vsock_diag vmw_vsock_virtio_transport vmw_vsock_virtio_transport_common vsock; do
    rmmod $m 2>>/tmp/rmmod.err
done
# Nothing may load vsock behind our back (socket(AF_VSOCK) asks for the module).
echo /nonexistent >/proc/sys/kernel/modprobe
plan vsockctl/uio-check-before-bind vsockctl/bind vsockctl/uio-check-ready uio-driver/no-kernel-vsock \
    uio-driver/auto-picks-uio uio-driver/info uio-driver/explicit-device uio-driver/hugepages \
    uio-driver/fork-keeps-dma-hugepages uio-driver/fork-keeps-dma-reserved \
    uio-driver/vsockcat-system-hugepages \
    uio-driver/refuses-system-ram uio-driver/bad-spec uio-driver/second-process-refused vsockctl/unbind

c_check_before() {
    timeout 10 vsockctl uio-check >/tmp/chk 2>&1 && fail "exit 0 before bind: $(cat /tmp/chk)"
    grep -q '^MISSING  module .*modprobe uio_pci_generic' /tmp/chk || fail "$(cat /tmp/chk)"
    grep -q '^MISSING  binding .*vsockctl bind' /tmp/chk || fail "$(cat /tmp/chk)"
    grep -q '^ok       reserved memory  memmap=16M\$0x30000000 (Reserved)' /tmp/chk || fail "$(cat /tmp/chk)"
    note "names the missing module and binding"
}
check vsockctl/uio-check-before-bind c_check_before
load_module uio_pci_generic

c_bind() {
    out=$(timeout 10 vsockctl bind 2>&1) || fail "exit $?: $out"
    echo "$out" | grep -q 'bound to uio_pci_generic (/dev/uio0)' || fail "'$out'"
    d=$(timeout 10 vsockctl devices) || fail "devices exit $?"
    echo "$d" | grep -q ' 1af4:1053 uio_pci_generic /dev/uio0$' || fail "devices: '$d'"
    note "$out"
}
check vsockctl/bind c_bind

c_check_ready() {
    timeout 10 vsockctl uio-check >/tmp/chk 2>&1 || fail "exit $?: $(cat /tmp/chk)"
    grep -q '^uio transport: ready' /tmp/chk || fail "$(cat /tmp/chk)"
    note "uio transport: ready"
}
check vsockctl/uio-check-ready c_check_ready

c_no_kernel_vsock() {
    [ -d /sys/module/vsock ] && fail "vsock module still loaded: $(cat /tmp/rmmod.err)"
    note "vsock modules unloaded"
}
check uio-driver/no-kernel-vsock c_no_kernel_vsock

c_auto() {
    out=$(VSOCK_TRANSPORT= timeout 10 vsockctl transport 2>&1) || fail "exit $?: $out"
    case $out in "uio (auto: "*) ;; *) fail "'$out'" ;; esac
    cid=$(VSOCK_TRANSPORT= timeout 10 vsockctl cid 2>&1) || fail "cid: $cid"
    [ "$cid" = "$GUEST_CID" ] || fail "cid '$cid'"
    note "$out"
}
check uio-driver/auto-picks-uio c_auto

c_info() {
    timeout 10 vsockctl --transport uio info >/tmp/info 2>&1 || fail "exit $?: $(cat /tmp/info)"
    grep -q '^dma_memory: *reserved RAM 0x30000000' /tmp/info || fail "$(cat /tmp/info)"
    grep -q '^bar_mapping: .*via /dev/mem' /tmp/info || fail "$(cat /tmp/info)"
    grep -q '^local_cid: *'"$GUEST_CID"'$' /tmp/info || fail "$(cat /tmp/info)"
    grep -q '^features: .*EVENT_IDX' /tmp/info || fail "EVENT_IDX not negotiated: $(cat /tmp/info)"
    note "$(grep -E '^(pci_device|bar_mapping):' /tmp/info | tr -s ' ' | tr '\n' ';')"
}
check uio-driver/info c_info

export VSOCK_TRANSPORT=uio
run_phase 6100

# The vsock(4) conformance cases that need no peer process: their peer is the host
# (CID 2), answering with RST where nobody listens. The cases with a peer need the
# back-end's host-side Unix sockets in the same process, which the guest cannot reach;
# they run on the same driver core over vhost-user (test/conformance/hybrid.test).
CONFORMANCE_UIO=local_cid,connect_refused,connect_nonblocking_refused,connect_no_route,connect_listener_einval,not_connected_enotconn,bind_addrinuse,bind_addrnotavail,bind_twice_einval,bind_bad_family,listen_unbound_einval,reserved_port_root,reserved_port_unprivileged
plan $(echo $CONFORMANCE_UIO | tr ',' '\n' | sed 's|^|conformance/|')
conformance --transport uio --peer hybrid:/tmp/no-host-side/h.sock --expect-cid $GUEST_CID \
    --only $CONFORMANCE_UIO

c_explicit() {
    echo "explicit" >/tmp/ex.in
    VSOCK_TRANSPORT=uio:/dev/uio0,mem=0x30000000+16M timeout 20 vsockcat -t 30 STDIO \
        VSOCK-CONNECT:$HOST_CID:5002 </tmp/ex.in >/tmp/ex.out || fail "exit $?"
    same /tmp/ex.in /tmp/ex.out "echo"
    note "uio:/dev/uio0,mem=0x30000000+16M echoes"
}
check uio-driver/explicit-device c_explicit

c_hugepages() {
    echo 4 >/proc/sys/vm/nr_hugepages
    head -c 3000000 /dev/urandom >/tmp/hp.in
    VSOCK_TRANSPORT=uio:mem=hugepages timeout 60 vsockcat -t 30 STDIO \
        VSOCK-CONNECT:$HOST_CID:5002 </tmp/hp.in >/tmp/hp.out || fail "exit $?"
    same /tmp/hp.in /tmp/hp.out "echo"
    out=$(timeout 10 vsockctl --transport uio:mem=hugepages info | grep dma_memory)
    echo "$out" | grep -q 'hugepages at physical' || fail "'$out'"
    note "3 MB echoed with DMA memory in hugepages ($out)"
}
check uio-driver/hugepages c_hugepages

# A child forked without exec (vsockcat's EXEC and SYSTEM until the exec; here one that
# lives while data moves) must leave the DMA memory where the device writes it. With
# MAP_PRIVATE hugepages the parent's next write copied the page away from the device
# (copy-on-write, spare hugepages allowing) and the transfer stalled. vsock_xfer checks
# the echo, that the DMA page never moved (/proc/self/pagemap) and that the child got
# no mapping of the BAR or the DMA memory (MADV_DONTFORK).
c_fork_keeps_dma() {
    echo 8 >/proc/sys/vm/nr_hugepages
    free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
    timeout 60 vsock_xfer --transport "$1" --fork-holder echo-clients 2 $HOST_CID 5002 1048576 \
        >/tmp/fh.out 2>/tmp/fh.err || fail "exit $?: $(cat /tmp/fh.out /tmp/fh.err)"
    grep -q '^2 connections, 1048576 bytes each way each: ok$' /tmp/fh.out || fail "$(cat /tmp/fh.out)"
    grep -qE '^fork-holder: DMA memory stayed at physical 0x[0-9a-f]+.*; the child mapped 0 of [2-9] ' \
        /tmp/fh.err || fail "$(cat /tmp/fh.err)"
    note "$1, $free free hugepages: 2 x 1 MiB echoed; $(sed -n 's/^fork-holder: //p' /tmp/fh.err)"
}
check uio-driver/fork-keeps-dma-hugepages c_fork_keeps_dma uio:mem=hugepages
check uio-driver/fork-keeps-dma-reserved c_fork_keeps_dma uio:mem=0x30000000+16M

# What the issue names: vsockcat's SYSTEM forks a shell while the driver runs in
# vsockcat (DMA memory in hugepages); the shell keeps the host's 64 MiB.
c_vsockcat_system() {
    echo 8 >/proc/sys/vm/nr_hugepages
    rm -f /tmp/sys.out
    VSOCK_TRANSPORT=uio:mem=hugepages timeout 80 vsockcat -u VSOCK-CONNECT:$HOST_CID:5001 \
        SYSTEM:'cat >/tmp/sys.out' || fail "exit $?"
    [ "$(sha /tmp/sys.out)" = "$HOST_BIG_SHA" ] ||
        fail "sha256 $(sha /tmp/sys.out) ($(wc -c </tmp/sys.out) bytes), want $HOST_BIG_SHA"
    rm -f /tmp/sys.out
    note "64 MiB host->guest into a SYSTEM child, DMA memory in hugepages, sha256 equal"
}
check uio-driver/vsockcat-system-hugepages c_vsockcat_system

c_refuse_ram() {
    timeout 10 vsockctl --transport uio:mem=0x1000000+16M cid >/dev/null 2>/tmp/err &&
        fail "accepted System RAM"
    grep -q 'overlaps System RAM' /tmp/err || fail "stderr: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check uio-driver/refuses-system-ram c_refuse_ram

c_bad_spec() {
    timeout 10 vsockctl --transport uio:mem=lots cid >/dev/null 2>/tmp/err && fail "accepted"
    grep -q "bad mem=lots" /tmp/err || fail "stderr: $(cat /tmp/err)"
    timeout 10 vsockctl --transport uio:/dev/uio7 cid >/dev/null 2>/tmp/err && fail "accepted uio7"
    grep -q "uio7: no such UIO device" /tmp/err || fail "stderr: $(cat /tmp/err)"
    note "bad mem= and a missing device are refused by name"
}
check uio-driver/bad-spec c_bad_spec

# One process drives the device: a second one is refused instead of resetting it.
c_exclusive() {
    timeout 30 vsockcat -u VSOCK-LISTEN:6200 STDIO >/dev/null &
    pid=$!
    uio_held || { kill $pid; fail "the first process never took the device"; }
    timeout 10 vsockctl --transport uio cid >/dev/null 2>/tmp/err && { kill $pid; fail "second process opened the device"; }
    kill -0 $pid 2>/dev/null || fail "the first process died"
    kill $pid
    grep -q 'in use by another process' /tmp/err || fail "stderr: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check uio-driver/second-process-refused c_exclusive

c_unbind() {
    out=$(timeout 10 vsockctl unbind 2>&1) || fail "exit $?: $out"
    echo "$out" | grep -q 'unbound from uio_pci_generic (driver now: virtio-pci)' || fail "'$out'"
    note "$out"
}
check vsockctl/unbind c_unbind
