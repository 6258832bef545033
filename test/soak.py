#!/usr/bin/env python3
"""soak.py: the soak test behind `make soak` (run through test/soak.sh). For SOAK_SECONDS
it throws random connections at long-lived processes and checks every byte, then checks
that their memory and descriptors stayed flat. Never part of `make check`; it never
touches kernel AF_VSOCK (vsock runs over vhost-user against cmd/vhost-user-vsock).

Paths (each connection picks one at random):
  tcp        client -TCP-> vsockcat fork server -TCP-> echo server
  vsock-in   client -Unix, "CONNECT 6000"-> back-end A -vsock-> vsockcat VSOCK-LISTEN fork
             server (driver side) -TCP-> echo server                      (host -> guest)
  vsock-out  client -TCP-> vsockcat fork server -VSOCK-CONNECT:2:7000-> back-end B ->
             echo server on B's host-side Unix socket                     (guest -> host)
  xfer       one vsock_xfer process per transfer (a fresh front-end on back-end C each
             time, a quarter of them under --eintr-storm), stdin -> host echo -> stdout

Transfers: 1 B .. 8 MiB (log-uniform) after a 16-byte header the echo server reads:
  echo          send and receive at once, half-close, the echo must be identical
  client-reset  the client stops mid-transfer and resets (SO_LINGER 0), or for xfer the
                process is killed with SIGKILL
  server-reset  the echo server resets the connection after a random byte count
Every byte that comes back must be the prefix of what was sent; a transfer that takes
longer than 60 s is a hang and fails the soak.

The long-lived processes (back-ends A, B, C and the three vsockcat servers) are sampled
every SAMPLE seconds under load (anonymous RSS), and at rest every IDLE_EVERY seconds:
the workers finish their transfers and wait while the descriptors are counted (closing
connections get up to IDLE_DRAIN_S, more than the servers' -t 10). Warm-up is the first
quarter of the run (at least 10 s). Bounds: the peak anonymous RSS (heap and stacks, not
the shared vhost-user memory) after warm-up may exceed the warm-up peak by at most
RSS_SLACK_KB, not counting what open connections may hold by design: a back-end buffers
up to its credit window (WINDOW_KB) of guest data per connection whose host side has not
read it yet, and still flushes connections whose front-end was killed, so its samples
count WINDOW_KB less per descriptor open beyond those at rest before the load. At rest
each process holds at most FD_SLACK descriptors more than at rest before the load, not
counting pipes; pipes (vsockcat's splice pool, bounded by its PIPE_POOL_MAX of 64) at
most 2 x 64. A failure report names the descriptors left (kinds, eventfd states, TCP
states) and what the echo server still holds open.
"""
import argparse
import hashlib
import os
import random
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import hybrid_host  # noqa: E402

HDR = struct.Struct("<4sBQ3x")  # magic, mode (E echo, R reset), reset after N bytes
MAGIC = b"SOAK"
RSS_SLACK_KB = 4096
WINDOW_KB = 1024   # vhost-user-vsock's credit for its first 64 connections (main.c)
FD_SLACK = 2
PIPE_MAX = 2 * 64
IDLE_EVERY = 15.0
IDLE_DRAIN_S = 15.0   # > the servers' -t 10
HANG_S = 60
MAX_SIZE = 8 << 20


def log(msg):
    sys.stderr.write("soak: %s\n" % msg)
    sys.stderr.flush()


# ---- the far end: an echo server with an optional reset -----------------------------------

def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        b = c.recv(n - len(buf))
        if not b:
            return None
        buf += b
    return buf


ECHO_STATE = {}   # id -> [phase, bytes seen], for a report on a connection left open
ECHO_LOCK = threading.Lock()


def echo_state(key, phase, seen):
    with ECHO_LOCK:
        if phase is None:
            ECHO_STATE.pop(key, None)
        else:
            ECHO_STATE[key] = (phase, seen)


def echo_conn(c):
    key = id(c)
    seen = 0
    try:
        c.settimeout(HANG_S)
        hdr = recv_exact(c, HDR.size)
        if hdr is None:
            return
        magic, mode, reset_after = HDR.unpack(hdr)
        if magic != MAGIC:
            return
        echo_state(key, "send", 0)
        c.sendall(hdr)
        seen = HDR.size
        while True:
            if mode == ord("R") and seen >= reset_after:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            echo_state(key, "recv", seen)
            b = c.recv(65536)
            if not b:
                break
            seen += len(b)
            echo_state(key, "send", seen)
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)
    except OSError as e:
        echo_state(key, "error %s" % e, seen)
    finally:
        echo_state(key, None, 0)
        c.close()


def serve(sock):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=echo_conn, args=(c,), daemon=True).start()


def listen_tcp():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
    return s.getsockname()[1]


def listen_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(128)
    threading.Thread(target=serve, args=(s,), daemon=True).start()


def describe_fds(pid):
    """What a process's descriptors are, for a failure report."""
    d = "/proc/%d/fd/" % pid
    kinds = {}
    for fd in os.listdir(d):
        try:
            target = os.readlink(d + fd)
        except OSError:
            continue
        kind = target.split(":")[0] if ":" in target else target
        if target == "anon_inode:[eventfd]":
            # libvsock's readiness eventfds: 0 = writable/not readable, 1 = readable,
            # 18446744073709551614 = not writable
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                count = [x.split()[1] for x in f if x.startswith("eventfd-count")]
            kind = "eventfd=" + (count[0] if count else "?")
        kinds[kind] = kinds.get(kind, 0) + 1
    states = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True).stdout
    mine = [line.split()[0] for line in states.splitlines() if "pid=%d," % pid in line]
    return "%s; tcp states %s" % (kinds, sorted(mine))


def idle_sample(procs, watched, base):
    """Samples at rest. Closing connections may still hold descriptors for a moment (the
    relays' -t wait, vsock close linger): waits up to IDLE_DRAIN_S for the counts to come
    back within FD_SLACK of base. Returns (samples, seconds waited)."""
    t0 = time.time()
    noted = set()
    while True:
        snap = {n: sample(procs.all[n].pid) for n in watched}
        extra = [n for n in watched if snap[n][1] > base[n][1] + FD_SLACK]
        waited = time.time() - t0
        if not extra or waited > IDLE_DRAIN_S:
            return snap, waited
        if extra and not noted:
            with ECHO_LOCK:
                log("  at rest, still closing; the echo server holds %s" %
                    sorted(ECHO_STATE.values()))
        for n in extra:
            if n not in noted:
                log("  at rest, still closing: %s holds %d descriptors (%d before): %s" % (
                    n, snap[n][1], base[n][1], describe_fds(procs.all[n].pid)))
                noted.add(n)
        time.sleep(0.5)


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- the long-lived processes --------------------------------------------------------------

class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.all = {}   # name -> Popen

    def start(self, name, argv, ready=None):
        logf = open(os.path.join(self.tmp, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self.all[name] = p
        if ready is not None:
            deadline = time.time() + 10
            while not ready():
                if p.poll() is not None or time.time() > deadline:
                    raise SystemExit("soak: %s did not start: %s" % (name, self.log(name)))
                time.sleep(0.05)
        return p

    def log(self, name):
        with open(os.path.join(self.tmp, name + ".log"), "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def dead(self):
        return [n for n, p in self.all.items() if p.poll() is not None]

    def stop(self):
        for p in self.all.values():
            if p.poll() is None:
                p.terminate()
        for p in self.all.values():
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def tcp_listening(port):
    def check():
        with open("/proc/net/tcp") as f:
            return any(":%04X 00000000:0000 0A" % port in line for line in f)
    return check


def path_exists(path):
    return lambda: os.path.exists(path)


def log_says(procs, name, text):
    return lambda: text in procs.log(name)


def sample(pid):
    """(anonymous RSS in kB, descriptors other than pipes, pipes, RSS in kB). The bound
    is on anonymous memory (heap, stacks): the whole RSS also counts the shared memory of
    the vhost-user regions, as much of it as the device happened to touch."""
    rss = anon = fds = pipes = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    d = "/proc/%d/fd/" % pid
    for fd in os.listdir(d):
        try:
            target = os.readlink(d + fd)
        except OSError:
            continue
        if target.startswith("pipe:"):
            pipes += 1
        else:
            fds += 1
    return anon, fds, pipes, rss


def conn_allowance_kb(name):
    """What one open connection may hold by design: a back-end, the guest data it
    buffers for a host side that has not read it (up to the credit it advertised); a
    vsockcat server nothing (splice, or the driver's fixed rings)."""
    return WINDOW_KB if name.startswith("backend-") else 0


def unexplained_kb(name, now, before):
    """Anonymous RSS less the allowance for the descriptors open beyond those at rest
    before the load (one per connection: the back-end's host-side socket)."""
    return now[0] - conn_allowance_kb(name) * max(0, now[1] - before[1])


class Gate:
    """Lets the sampler stop the workers between transfers, for an idle measurement."""

    def __init__(self, workers):
        self.cv = threading.Condition()
        self.paused = False
        self.waiting = 0
        self.running = workers

    def enter(self):
        with self.cv:
            while self.paused:
                self.waiting += 1
                self.cv.notify_all()
                self.cv.wait()
                self.waiting -= 1

    def leave_for_good(self):
        with self.cv:
            self.running -= 1
            self.cv.notify_all()

    def pause(self, timeout):
        with self.cv:
            self.paused = True
            return self.cv.wait_for(lambda: self.waiting >= self.running, timeout)

    def resume(self):
        with self.cv:
            self.paused = False
            self.cv.notify_all()


# ---- the clients ---------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = {}
        self.bytes = 0
        self.failures = []

    def done(self, path, mode, nbytes):
        with self.lock:
            key = (path, mode)
            self.n[key] = self.n.get(key, 0) + 1
            self.bytes += nbytes

    def fail(self, msg):
        with self.lock:
            self.failures.append(msg)
        log("FAIL " + msg)


def pick_size(rng):
    return max(1, min(MAX_SIZE, int(2 ** rng.uniform(0, 23))))


def make_payload(rng, mode, size):
    total = HDR.size + size
    reset_after = rng.randint(HDR.size, total) if mode == "server-reset" else 0
    body = rng.randbytes(size)
    return HDR.pack(MAGIC, ord("R" if mode == "server-reset" else "E"), reset_after) + body


def check_prefix(stats, what, sent, got):
    if sent[:len(got)] != got:
        at = next(i for i in range(len(got)) if got[i] != sent[i])
        stats.fail("%s: received bytes differ from the sent ones at offset %d" % (what, at))
        return False
    return True


def socket_transfer(stats, rng, path, mode, connect):
    size = pick_size(rng)
    data = make_payload(rng, mode, size)
    what = "%s %s %d bytes" % (path, mode, size)
    cut = rng.randint(0, len(data)) if mode == "client-reset" else len(data)
    got = bytearray()
    errors = []
    try:
        c = connect()
    except OSError as e:
        stats.fail("%s: connect: %s" % (what, e))
        return
    c.settimeout(HANG_S)

    def send():
        try:
            c.sendall(data[:cut])
            if mode != "client-reset":
                c.shutdown(socket.SHUT_WR)
        except OSError as e:
            errors.append(e)

    t = threading.Thread(target=send)
    t.start()
    deadline = time.time() + HANG_S
    try:
        while True:
            if mode == "client-reset":
                # Read while the cut-off part goes out, then reset; never block on recv,
                # nothing more need come.
                if not t.is_alive():
                    break
                if time.time() > deadline:
                    errors.append("hang")
                    break
                if not select.select([c], [], [], 0.05)[0]:
                    continue
            b = c.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        errors.append("hang")
    except OSError as e:
        errors.append(e)
    if mode == "client-reset":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    t.join(HANG_S)
    if t.is_alive() or "hang" in errors:
        stats.fail("%s: no progress for %d s (a hang)" % (what, HANG_S))
        return
    if not check_prefix(stats, what, data, bytes(got)):
        return
    if mode == "echo":
        if errors:
            stats.fail("%s: %s" % (what, errors[0]))
            return
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            stats.fail("%s: echo of %d bytes, %d sent" % (what, len(got), len(data)))
            return
    stats.done(path, mode, len(data) + len(got))


def hybrid_connect(uds, port):
    return lambda: hybrid_host.connect(uds, port, timeout=HANG_S)


def tcp_connect(port):
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=HANG_S)


def dump_stacks(pid, path):
    """What a hung process was doing, for the log directory: each thread's kernel wait
    channel and, where gdb is installed, its user-space backtrace."""
    with open(path, "w") as out:
        for tid in sorted(os.listdir("/proc/%d/task" % pid)):
            try:
                wchan = open("/proc/%d/task/%s/wchan" % (pid, tid)).read()
            except OSError:
                wchan = "?"
            out.write("thread %s: wchan %s\n" % (tid, wchan))
        out.flush()
        try:
            subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                           stdout=out, stderr=subprocess.STDOUT, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            out.write("gdb: %s\n" % e)


def xfer_transfer(stats, rng, args, tmp, mode):
    size = pick_size(rng)
    data = make_payload(rng, mode, size)
    storm = rng.random() < 0.25
    what = "xfer%s %s %d bytes" % (" (eintr-storm)" if storm else "", mode, size)
    fin, fout = os.path.join(tmp, "xfer.in"), os.path.join(tmp, "xfer.out")
    with open(fin, "wb") as f:
        f.write(data)
    argv = [args.xfer, "--transport", "vhost-user:" + args.vhu_c]
    if storm:
        argv += ["--eintr-storm", "200"]
    argv += ["connect", "2", "7100"]
    with open(fin, "rb") as i, open(fout, "wb") as o:
        p = subprocess.Popen(argv, stdin=i, stdout=o, stderr=subprocess.PIPE)
        if mode == "client-reset":
            time.sleep(rng.uniform(0, 0.2))
            p.kill()
        try:
            _, err = p.communicate(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            dump_stacks(p.pid, os.path.join(tmp, "xfer-hang.txt"))
            p.kill()
            p.communicate()
            stats.fail("%s: vsock_xfer hangs (its threads' stacks in xfer-hang.txt)" % what)
            return
    with open(fout, "rb") as f:
        got = f.read()
    if not check_prefix(stats, what, data, got):
        return
    err = err.decode(errors="replace").strip()
    if mode == "echo" and (p.returncode != 0 or got != data):
        stats.fail("%s: exit %d, %d of %d bytes back: %s" % (what, p.returncode, len(got),
                                                             len(data), err))
        return
    if mode == "server-reset" and p.returncode not in (0, 1):
        stats.fail("%s: exit %d: %s" % (what, p.returncode, err))
        return
    stats.done("xfer", mode, len(data) + len(got))


def pick_mode(rng):
    r = rng.random()
    return "echo" if r < 0.7 else "client-reset" if r < 0.85 else "server-reset"


def worker(stats, gate, seed, until, paths):
    rng = random.Random(seed)
    try:
        while time.time() < until and len(stats.failures) == 0:
            gate.enter()
            name, connect = rng.choice(paths)
            socket_transfer(stats, rng, name, pick_mode(rng), connect)
    finally:
        gate.leave_for_good()


def xfer_worker(stats, gate, seed, until, args, tmp):
    rng = random.Random(seed)
    try:
        while time.time() < until and len(stats.failures) == 0:
            gate.enter()
            xfer_transfer(stats, rng, args, tmp, pick_mode(rng))
    finally:
        gate.leave_for_good()


# ---- main ----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--vsockcat", required=True)
    ap.add_argument("--xfer", required=True)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--sample", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    tmp = args.tmp
    stats = Stats()
    log("seed %d, %g s, %d socket workers + 1 vsock_xfer worker"
        % (args.seed, args.seconds, args.workers))

    echo_port = listen_tcp()
    procs = Procs(tmp)
    vhu = {k: os.path.join(tmp, "vhu-" + k) for k in "ABC"}
    uds = {k: os.path.join(tmp, "uds-" + k) for k in "ABC"}
    args.vhu_c = vhu["C"]
    listen_unix(uds["B"] + "_7000")
    listen_unix(uds["C"] + "_7100")
    try:
        for k in "ABC":
            procs.start("backend-" + k, [args.backend, "--socket", vhu[k], "--uds-path", uds[k],
                                         "--guest-cid", "77"],
                        ready=log_says(procs, "backend-" + k, "waiting for a front-end"))
        port_tcp, port_out = free_tcp_port(), free_tcp_port()
        vc = [args.vsockcat, "-t", "10"]
        procs.start("vsockcat-tcp", vc + ["TCP-LISTEN:%d,fork,reuseaddr,backlog=64" % port_tcp,
                                          "TCP:127.0.0.1:%d" % echo_port],
                    ready=tcp_listening(port_tcp))
        procs.start("vsockcat-vsock-in", vc + ["--transport", "vhost-user:" + vhu["A"], "-d",
                                               "VSOCK-LISTEN:6000,fork",
                                               "TCP:127.0.0.1:%d" % echo_port],
                    ready=log_says(procs, "vsockcat-vsock-in", "listening"))
        procs.start("vsockcat-vsock-out", vc + ["--transport", "vhost-user:" + vhu["B"],
                                                "TCP-LISTEN:%d,fork,reuseaddr,backlog=64"
                                                % port_out, "VSOCK-CONNECT:2:7000"],
                    ready=tcp_listening(port_out))
        paths = [("tcp", tcp_connect(port_tcp)),
                 ("vsock-in", hybrid_connect(uds["A"], 6000)),
                 ("vsock-out", tcp_connect(port_out))]
        watched = sorted(procs.all)
        time.sleep(0.5)
        idle_before = {n: sample(procs.all[n].pid) for n in watched}

        start = time.time()
        until = start + args.seconds
        warmup_end = start + max(10.0, args.seconds / 4)
        gate = Gate(args.workers + 1)
        threads = [threading.Thread(target=worker, args=(stats, gate, args.seed * 100 + i,
                                                         until, paths))
                   for i in range(args.workers)]
        threads.append(threading.Thread(target=xfer_worker, args=(
            stats, gate, args.seed * 100 + 99, until, args, tmp)))
        for t in threads:
            t.daemon = True
            t.start()
        warm_peak = {n: 0 for n in watched}
        late_peak = {n: 0 for n in watched}
        idle_points = []   # (seconds since start, {name: sample}, seconds waited)
        samples = 0
        next_idle = start + IDLE_EVERY
        while any(t.is_alive() for t in threads):
            time.sleep(args.sample)
            dead = procs.dead()
            if dead:
                for n in dead:
                    stats.fail("%s exited (%s): %s" % (n, procs.all[n].returncode,
                                                       procs.log(n)))
                break
            now = time.time()
            peak = warm_peak if now < warmup_end else late_peak
            for n in watched:
                peak[n] = max(peak[n], unexplained_kb(n, sample(procs.all[n].pid),
                                                      idle_before[n]))
            samples += 1
            if now >= next_idle and now < until:
                if not gate.pause(2 * HANG_S):
                    stats.fail("the workers did not come to rest within %d s" % (2 * HANG_S))
                    break
                snap, waited = idle_sample(procs, watched, idle_before)
                idle_points.append((time.time() - start, snap, waited))
                gate.resume()
                next_idle = time.time() + IDLE_EVERY
            if now > until + 3 * HANG_S:
                stats.fail("workers still running %d s after the end" % (now - until))
                break
        if not procs.dead():
            snap, waited = idle_sample(procs, watched, idle_before)
            idle_points.append((time.time() - start, snap, waited))

        total = sum(stats.n.values())
        log("%d transfers in %.0f s, %.1f MiB moved, %d samples, %d idle points (longest "
            "wait for closing connections %.1f s)" % (
                total, time.time() - start, stats.bytes / 1048576.0, samples,
                len(idle_points), max([w for _, _, w in idle_points] or [0])))
        for path in ("tcp", "vsock-in", "vsock-out", "xfer"):
            log("  %-9s %s" % (path, ", ".join("%s %d" % (m, stats.n.get((path, m), 0))
                                               for m in ("echo", "client-reset",
                                                         "server-reset"))))
        log("  (peaks: anonymous RSS less %d kB per back-end connection open then)" % WINDOW_KB)
        log("  %-18s %21s %9s %9s %9s  %s" % (
            "process", "anon RSS (RSS) start", "warm-peak", "late-peak", "end",
            "fds +pipes at rest: before; min..max of %d rests; last" % len(idle_points)))
        for n in watched:
            fds = [p[n][1] for _, p, _ in idle_points] or [0]
            pipes = [p[n][2] for _, p, _ in idle_points] or [0]
            end = idle_points[-1][1][n] if idle_points else (0, 0, 0, 0)
            log("  %-18s %7d k (%7d k) %7d k %7d k %7d k  %d+%d; %d..%d +%d..%d; %d+%d" % (
                n, idle_before[n][0], idle_before[n][3], warm_peak[n], late_peak[n], end[0],
                idle_before[n][1], idle_before[n][2], min(fds), max(fds), min(pipes),
                max(pipes), end[1], end[2]))
            if late_peak[n] > warm_peak[n] + RSS_SLACK_KB:
                stats.fail("%s: anonymous RSS, less %d kB per open connection, grew from "
                           "%d kB (warm-up peak) to %d kB" % (
                               n, conn_allowance_kb(n), warm_peak[n], late_peak[n]))
            for at, p, _ in idle_points:
                if p[n][1] > idle_before[n][1] + FD_SLACK:
                    stats.fail("%s: %d descriptors (not pipes) at rest after %.0f s (%.0f s "
                               "after the last transfer), %d before the load" % (
                                   n, p[n][1], at, IDLE_DRAIN_S, idle_before[n][1]))
                if p[n][2] > PIPE_MAX:
                    stats.fail("%s: %d pipe descriptors at idle after %.0f s" % (
                        n, p[n][2], at))
        if total == 0:
            stats.fail("no transfer completed")
        for path in ("tcp", "vsock-in", "vsock-out", "xfer"):
            if not stats.n.get((path, "echo")):
                stats.fail("%s: no echo transfer completed" % path)
    finally:
        procs.stop()
    if stats.failures:
        log("FAILED: %d failure(s); logs in %s" % (len(stats.failures), tmp))
        for f in stats.failures:   # again at the end, where a tail of the output shows them
            log("  FAIL " + f)
        return 1
    log("ok (bounds: anonymous RSS, less %d kB per open back-end connection, <= warm-up "
        "peak + %d kB; descriptors at rest <= before + %d, pipes <= %d)" % (
            WINDOW_KB, RSS_SLACK_KB, FD_SLACK, PIPE_MAX))
    return 0


if __name__ == "__main__":
    sys.exit(main())
