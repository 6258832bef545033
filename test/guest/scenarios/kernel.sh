# kernel.sh: the guest scenario for the kernel AF_VSOCK path over vsock_loopback (CID 1).
# Phases: (1) vsock core without a transport, (2) vsock_loopback: vsockctl, vsockcat,
# socat interop, (3) vhost_vsock loaded with a registered guest CID that never answers
# (connect timeouts) and the conformance suite. Every `check NAME` line is also read by
# the host (kernel.test) to know which results to expect.
. /guest/lib.sh
export VSOCK_TRANSPORT=kernel
# GUEST_VSOCKCAT=socat on the kernel command line (VSOCK_GUEST_APPEND) dry-runs the
# vsockcat checks with socat, which takes the same addresses.
VSOCKCAT=${GUEST_VSOCKCAT:-vsockcat}
BLACKHOLE_CID=42

# ---- phase 1: AF_VSOCK without a transport ---------------------------------------------
load_module vsock
conformance --transport kernel --group no-transport

# ---- phase 2: vsock_loopback ------------------------------------------------------------
load_module vsock_loopback
load_module vsock_diag

# The harness itself: socat to socat over CID 1, so a broken guest is told apart from a
# broken vsockcat.
socat_selftest() {
    payload /tmp/st.in 1
    timeout 20 socat -u VSOCK-LISTEN:5000 CREATE:/tmp/st.out &
    wait_listen 5000 || fail "socat never listened"
    timeout 20 socat -u OPEN:/tmp/st.in VSOCK-CONNECT:1:5000 || fail "socat connect failed"
    wait $! || fail "socat listener failed"
    same /tmp/st.in /tmp/st.out "socat to socat"
    note "1 MiB socat to socat over CID 1"
    rm -f /tmp/st.*
}
check harness/socat-loopback socat_selftest

# With only vsock_loopback (no guest->host or host->guest transport) Debian's 6.1 kernel
# answers IOCTL_VM_SOCKETS_GET_LOCAL_CID with VMADDR_CID_LOCAL (1); kernels before the
# stable fix "vsock: Fix IOCTL_VM_SOCKETS_GET_LOCAL_CID to check also transport_local"
# answered VMADDR_CID_ANY. The harness boots the newest 6.1, so 1 is asserted.
vsockctl_cid_loopback() {
    out=$(timeout 10 vsockctl --transport kernel cid) || fail "exit $?"
    [ "$out" = 1 ] || fail "printed '$out', want 1"
    out=$(VSOCK_TRANSPORT='' timeout 10 vsockctl cid) || fail "auto transport: exit $?"
    [ "$out" = 1 ] || fail "auto transport printed '$out', want 1"
    note "local CID 1 (kernel and auto transport)"
}
check vsockctl/cid-loopback-only vsockctl_cid_loopback

# vsockctl sockets (vsock_diag): a listener, then both ends of a connection to it.
vsockctl_sockets() {
    need $VSOCKCAT
    (sleep 3; echo hi) | timeout 20 $VSOCKCAT -u VSOCK-LISTEN:5190 STDIO >/tmp/sk.out &
    lpid=$!
    wait_listen 5190 || fail "vsockcat never listened"
    out=$(timeout 10 vsockctl sockets --listening) || fail "exit $?"
    echo "$out" | grep -Eq '^LISTEN +stream +\*:5190 +\*:\* +[0-9]+$' || fail "no listener row in: $out"
    json=$(timeout 10 vsockctl sockets --json) || fail "--json exit $?"
    echo "$json" | grep -q '{"state": "LISTEN", "type": "stream", "local_cid": 4294967295, "local_port": 5190, "peer_cid": 4294967295, "peer_port": 4294967295' ||
        fail "no listener object in: $json"
    (sleep 3; echo hi) | timeout 20 $VSOCKCAT -u STDIO VSOCK-CONNECT:1:5190 &
    cpid=$!
    for i in $(seq 1 50); do
        out=$(timeout 10 vsockctl sockets)
        [ "$(echo "$out" | grep -c '^ESTAB')" -ge 2 ] && break
        sleep 0.1
    done
    echo "$out" | grep -Eq '^ESTAB +stream +1:5190 +1:[0-9]+ ' || fail "no accepted end in: $out"
    # The connecting end keeps the CID it was bound to: VMADDR_CID_ANY after autobind.
    echo "$out" | grep -Eq '^ESTAB +stream +\*:[0-9]+ +1:5190 ' || fail "no connecting end in: $out"
    wait $cpid || fail "client exit $?"
    wait $lpid || fail "listener exit $?"
    note "a listener and both ends of its connection listed (table and JSON)"
    rm -f /tmp/sk.out
}
check vsockctl/sockets vsockctl_sockets

# 64 MiB one way (-u) from each end, then both ways at once.
big_file() {
    [ -f /tmp/big ] || payload /tmp/big 64
}

vsockcat_64m_to_listener() {
    need $VSOCKCAT
    big_file
    timeout 120 $VSOCKCAT -u VSOCK-LISTEN:5101 STDIO </dev/null >/tmp/recv &
    wait_listen 5101 || fail "vsockcat never listened"
    timeout 120 $VSOCKCAT -u STDIO VSOCK-CONNECT:1:5101 </tmp/big ||
        fail "sender exit $?"
    wait $! || fail "listener exit $?"
    same /tmp/big /tmp/recv "64 MiB to the listener"
    rm -f /tmp/recv
    note "64 MiB connect->listen, sha256 equal"
}
check vsockcat/64MiB-connect-to-listen vsockcat_64m_to_listener

vsockcat_64m_from_listener() {
    need $VSOCKCAT
    big_file
    timeout 120 $VSOCKCAT -u STDIO VSOCK-LISTEN:5102 </tmp/big &
    wait_listen 5102 || fail "vsockcat never listened"
    timeout 120 $VSOCKCAT -u VSOCK-CONNECT:1:5102 STDIO >/tmp/recv ||
        fail "receiver exit $?"
    wait $! || fail "listener exit $?"
    same /tmp/big /tmp/recv "64 MiB from the listener"
    rm -f /tmp/recv
    note "64 MiB listen->connect, sha256 equal"
}
check vsockcat/64MiB-listen-to-connect vsockcat_64m_from_listener

vsockcat_64m_duplex() {
    need $VSOCKCAT
    big_file
    timeout 180 $VSOCKCAT -t 30 VSOCK-LISTEN:5107 STDIO </tmp/big >/tmp/recv.l &
    wait_listen 5107 || fail "vsockcat never listened"
    timeout 180 $VSOCKCAT -t 30 STDIO VSOCK-CONNECT:1:5107 </tmp/big >/tmp/recv.c ||
        fail "connecting side exit $?"
    wait $! || fail "listener exit $?"
    same /tmp/big /tmp/recv.l "64 MiB to the listener"
    same /tmp/big /tmp/recv.c "64 MiB to the connecting side"
    rm -f /tmp/recv.l /tmp/recv.c
    note "64 MiB each way at once, sha256 equal"
}
check vsockcat/64MiB-both-ways-at-once vsockcat_64m_duplex

# Kernel vsock sockets are spliced like any other socket: a pipe into VSOCK-CONNECT and
# VSOCK-LISTEN into a Unix socket both say "splice through a pipe" (-d -d), 16 MiB arrive
# intact; the same with VSOCKCAT_NO_SPLICE=1 (the copy path) for comparison. The
# milliseconds the transfer took go to /tmp/sp.ms.
splice_round() {   # PORT [ENV...]
    port=$1
    shift
    rm -f /tmp/sp.sock /tmp/sp.out
    timeout 120 socat -u UNIX-LISTEN:/tmp/sp.sock CREATE:/tmp/sp.out &
    sink=$!
    i=0
    while [ ! -S /tmp/sp.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    env "$@" timeout 120 $VSOCKCAT -d -d -u VSOCK-LISTEN:$port UNIX-CONNECT:/tmp/sp.sock 2>/tmp/sp.l.err &
    lsn=$!
    wait_listen $port || fail "vsockcat never listened"
    start=$(uptime_ms)
    cat /tmp/sp.in | env "$@" timeout 120 $VSOCKCAT -d -d -u STDIO VSOCK-CONNECT:1:$port 2>/tmp/sp.c.err ||
        fail "sender exit $?: $(tail -1 /tmp/sp.c.err)"
    wait $lsn || fail "listener exit $?: $(tail -1 /tmp/sp.l.err)"
    wait $sink || fail "sink exit $?"
    echo $(( $(uptime_ms) - start )) >/tmp/sp.ms
}
vsockcat_splice() {
    need $VSOCKCAT
    need socat
    payload /tmp/sp.in 16
    splice_round 5111
    ms_splice=$(cat /tmp/sp.ms)
    same /tmp/sp.in /tmp/sp.out "16 MiB spliced"
    grep -q 'STDIO -> VSOCK-CONNECT:1:5111: splice through a pipe' /tmp/sp.c.err ||
        fail "sender: $(grep -- ' -> ' /tmp/sp.c.err)"
    grep -q 'VSOCK-LISTEN:5111 -> UNIX-CONNECT:/tmp/sp.sock: splice through a pipe' /tmp/sp.l.err ||
        fail "listener: $(grep -- ' -> ' /tmp/sp.l.err)"
    splice_round 5112 VSOCKCAT_NO_SPLICE=1
    ms_copy=$(cat /tmp/sp.ms)
    same /tmp/sp.in /tmp/sp.out "16 MiB copied"
    grep -q ': copy$' /tmp/sp.l.err || fail "listener with VSOCKCAT_NO_SPLICE: $(grep -- ' -> ' /tmp/sp.l.err)"
    rm -f /tmp/sp.*
    note "16 MiB pipe -> vsock -> Unix socket spliced in $ms_splice ms, copied in $ms_copy ms (TCG)"
}
check vsockcat/splice-kernel-sockets vsockcat_splice

# Half-close: the server only answers after EOF, so the answer proves the client's EOF
# crossed as a shutdown while the other direction stayed open.
vsockcat_half_close() {
    need $VSOCKCAT
    payload /tmp/hc.in 4
    timeout 60 $VSOCKCAT -t 30 VSOCK-LISTEN:5103 SYSTEM:sha256sum &
    wait_listen 5103 || fail "vsockcat never listened"
    timeout 60 $VSOCKCAT -t 30 STDIO VSOCK-CONNECT:1:5103 </tmp/hc.in >/tmp/hc.out ||
        fail "client exit $?"
    wait $! || fail "server exit $?"
    [ "$(cut -d' ' -f1 /tmp/hc.out)" = "$(sha /tmp/hc.in)" ] ||
        fail "server's sha256 '$(cat /tmp/hc.out)' differs"
    note "server answered after EOF with the right sha256"
}
check vsockcat/half-close vsockcat_half_close

# fork: one listener serves 50 clients at once, each echoed back and checked.
vsockcat_fork_50() {
    need $VSOCKCAT
    timeout 120 $VSOCKCAT -t 30 VSOCK-LISTEN:5104,fork EXEC:cat </dev/null &
    srv=$!
    wait_listen 5104 || fail "vsockcat never listened"
    i=0
    while [ $i -lt 50 ]; do
        head -c $((65536 + i * 997)) /dev/urandom >/tmp/fk.in.$i
        i=$((i + 1))
    done
    i=0
    pids=
    while [ $i -lt 50 ]; do
        # connect-timeout: 50 connects at once can take over the 2 s default under TCG+ASan.
        timeout 90 $VSOCKCAT -t 30 STDIO VSOCK-CONNECT:1:5104,connect-timeout=30 </tmp/fk.in.$i >/tmp/fk.out.$i &
        pids="$pids $!"
        i=$((i + 1))
    done
    bad=0
    for p in $pids; do
        wait "$p" || bad=$((bad + 1))
    done
    kill "$srv" 2>/dev/null
    [ $bad -eq 0 ] || fail "$bad of 50 clients failed"
    i=0
    while [ $i -lt 50 ]; do
        same /tmp/fk.in.$i /tmp/fk.out.$i "client $i echo"
        i=$((i + 1))
    done
    rm -f /tmp/fk.*
    note "50 concurrent clients echoed byte for byte"
}
check vsockcat/fork-50-clients vsockcat_fork_50

# Nobody listens: the kernel answers with RST, connect fails with ECONNRESET.
vsockcat_refused() {
    need $VSOCKCAT
    timeout 20 $VSOCKCAT STDIO VSOCK-CONNECT:1:5105 </dev/null >/dev/null 2>/tmp/err
    rc=$?
    [ $rc -eq 1 ] || fail "exit $rc, want 1; stderr: $(cat /tmp/err)"
    grep -q '^vsockcat: .*VSOCK-CONNECT:1:5105.*: [Cc]onnection reset by peer' /tmp/err ||
        fail "stderr: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check vsockcat/connect-refused vsockcat_refused

# Ports below 1024 need CAP_NET_BIND_SERVICE: uid 1000 gets EACCES.
vsockcat_privileged_port() {
    need $VSOCKCAT
    timeout 20 guest-util as-user 1000 $VSOCKCAT VSOCK-LISTEN:500 STDIO </dev/null >/dev/null 2>/tmp/err
    rc=$?
    [ $rc -eq 1 ] || fail "exit $rc, want 1; stderr: $(cat /tmp/err)"
    grep -q '^vsockcat: .*500.*: [Pp]ermission denied' /tmp/err || fail "stderr: $(cat /tmp/err)"
    note "$(cat /tmp/err)"
}
check vsockcat/privileged-port-as-user vsockcat_privileged_port

# VMADDR_PORT_ANY: the kernel picks the port; vsock_diag tells which one it was.
vsockcat_port_any() {
    need $VSOCKCAT
    guest-util listening >/tmp/before || fail "vsock_diag listing failed"
    echo none >>/tmp/before # never empty: busybox grep -f of an empty file matches all
    echo "any port" >/tmp/pa.in
    timeout 30 $VSOCKCAT -u VSOCK-LISTEN:any STDIO >/tmp/pa.out &
    port=
    i=0
    while [ -z "$port" ] && [ $i -lt 100 ]; do
        port=$(guest-util listening | grep -vxF -f /tmp/before | head -1)
        [ -n "$port" ] || sleep 0.1
        i=$((i + 1))
    done
    [ -n "$port" ] || fail "no new listening port appeared"
    [ "$port" -ge 1024 ] && [ "$port" -ne 4294967295 ] || fail "listening on port $port"
    timeout 20 socat -u OPEN:/tmp/pa.in VSOCK-CONNECT:1:$port || fail "socat to port $port failed"
    wait $! || fail "vsockcat exit $?"
    same /tmp/pa.in /tmp/pa.out "data through the chosen port"
    note "VSOCK-LISTEN:any listened on port $port"
}
check vsockcat/listen-port-any vsockcat_port_any

# ---- socat as the real peer (Debian's socat 1.7.4) ---------------------------------------
interop_file() {
    [ -f /tmp/io.in ] || payload /tmp/io.in 8
}

# socat listens, vsockcat connects and sends.
interop_socat_listen_up() {
    need $VSOCKCAT
    interop_file
    timeout 60 socat -u VSOCK-LISTEN:5201 CREATE:/tmp/io.out &
    wait_listen 5201 || fail "socat never listened"
    timeout 60 $VSOCKCAT -u STDIO VSOCK-CONNECT:1:5201 </tmp/io.in || fail "vsockcat exit $?"
    wait $! || fail "socat exit $?"
    same /tmp/io.in /tmp/io.out "vsockcat -> socat"
    note "8 MiB vsockcat VSOCK-CONNECT -> socat VSOCK-LISTEN"
}
check interop/socat-listen-vsockcat-sends interop_socat_listen_up

# socat listens and sends, vsockcat connects and receives.
interop_socat_listen_down() {
    need $VSOCKCAT
    interop_file
    timeout 60 socat -u OPEN:/tmp/io.in VSOCK-LISTEN:5202 &
    wait_listen 5202 || fail "socat never listened"
    timeout 60 $VSOCKCAT -u VSOCK-CONNECT:1:5202 STDIO >/tmp/io.out || fail "vsockcat exit $?"
    wait $! || fail "socat exit $?"
    same /tmp/io.in /tmp/io.out "socat -> vsockcat"
    note "8 MiB socat VSOCK-LISTEN -> vsockcat VSOCK-CONNECT"
}
check interop/socat-listen-vsockcat-receives interop_socat_listen_down

# socat listens with a server that answers after EOF; vsockcat half-closes.
interop_socat_listen_half_close() {
    need $VSOCKCAT
    interop_file
    timeout 60 socat -t 30 VSOCK-LISTEN:5203 SYSTEM:sha256sum &
    wait_listen 5203 || fail "socat never listened"
    timeout 60 $VSOCKCAT -t 30 STDIO VSOCK-CONNECT:1:5203 </tmp/io.in >/tmp/io.out || fail "vsockcat exit $?"
    wait $! || fail "socat exit $?"
    [ "$(cut -d' ' -f1 /tmp/io.out)" = "$(sha /tmp/io.in)" ] || fail "answer '$(cat /tmp/io.out)'"
    note "socat's server answered after vsockcat's half-close"
}
check interop/socat-listen-half-close interop_socat_listen_half_close

# vsockcat listens, socat connects and sends.
interop_vsockcat_listen_up() {
    need $VSOCKCAT
    interop_file
    timeout 60 $VSOCKCAT -u VSOCK-LISTEN:5204 STDIO >/tmp/io.out &
    wait_listen 5204 || fail "vsockcat never listened"
    timeout 60 socat -u OPEN:/tmp/io.in VSOCK-CONNECT:1:5204 || fail "socat exit $?"
    wait $! || fail "vsockcat exit $?"
    same /tmp/io.in /tmp/io.out "socat -> vsockcat"
    note "8 MiB socat VSOCK-CONNECT -> vsockcat VSOCK-LISTEN"
}
check interop/vsockcat-listen-socat-sends interop_vsockcat_listen_up

# vsockcat listens and sends, socat connects and receives.
interop_vsockcat_listen_down() {
    need $VSOCKCAT
    interop_file
    timeout 60 $VSOCKCAT -u STDIO VSOCK-LISTEN:5205 </tmp/io.in &
    wait_listen 5205 || fail "vsockcat never listened"
    timeout 60 socat -u VSOCK-CONNECT:1:5205 CREATE:/tmp/io.out || fail "socat exit $?"
    wait $! || fail "vsockcat exit $?"
    same /tmp/io.in /tmp/io.out "vsockcat -> socat"
    note "8 MiB vsockcat VSOCK-LISTEN -> socat VSOCK-CONNECT"
}
check interop/vsockcat-listen-socat-receives interop_vsockcat_listen_down

# vsockcat listens with a server that answers after EOF; socat half-closes.
interop_vsockcat_listen_half_close() {
    need $VSOCKCAT
    interop_file
    timeout 60 $VSOCKCAT -t 30 VSOCK-LISTEN:5206 SYSTEM:sha256sum &
    wait_listen 5206 || fail "vsockcat never listened"
    timeout 60 socat -t 30 - VSOCK-CONNECT:1:5206 </tmp/io.in >/tmp/io.out || fail "socat exit $?"
    wait $! || fail "vsockcat exit $?"
    [ "$(cut -d' ' -f1 /tmp/io.out)" = "$(sha /tmp/io.in)" ] || fail "answer '$(cat /tmp/io.out)'"
    note "vsockcat's server answered after socat's half-close"
}
check interop/vsockcat-listen-half-close interop_vsockcat_listen_half_close
rm -f /tmp/big /tmp/io.*

# ---- phase 3: a host->guest transport with a CID that never answers ---------------------
load_module vhost_vsock
guest-util blackhole $BLACKHOLE_CID >/tmp/blackhole.out 2>&1 &
blackhole_pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q ready /tmp/blackhole.out; do sleep 0.1; i=$((i + 1)); done

# With vhost_vsock loaded (host->guest transport, no guest->host one) the CID ioctl
# answers VMADDR_CID_HOST.
vsockctl_cid_host() {
    out=$(timeout 10 vsockctl --transport kernel cid) || fail "exit $?"
    [ "$out" = 2 ] || fail "printed '$out', want 2"
    note "local CID 2 with vhost_vsock loaded"
}
check vsockctl/cid-with-vhost-vsock vsockctl_cid_host

# The connect times out (Linux default 2 s) against the CID whose device never runs.
vsockcat_connect_timeout() {
    need $VSOCKCAT
    grep -q ready /tmp/blackhole.out || fail "no silent CID: $(cat /tmp/blackhole.out)"
    start=$(uptime_ms)
    timeout 20 $VSOCKCAT STDIO VSOCK-CONNECT:$BLACKHOLE_CID:5301 </dev/null >/dev/null 2>/tmp/err
    rc=$?
    took=$(( $(uptime_ms) - start ))
    [ $rc -eq 1 ] || fail "exit $rc after $took ms, want 1; stderr: $(cat /tmp/err)"
    grep -q '^vsockcat: .*: [Cc]onnection timed out' /tmp/err || fail "stderr: $(cat /tmp/err)"
    [ $took -ge 1000 ] || fail "gave up after $took ms"
    note "$(cat /tmp/err) after $took ms"
}
check vsockcat/connect-timeout vsockcat_connect_timeout

conformance --transport kernel --peer local --expect-cid 2 --blackhole-cid $BLACKHOLE_CID
kill $blackhole_pid 2>/dev/null
