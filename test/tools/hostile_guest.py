#!/usr/bin/env python3
"""hostile_guest.py: guests (and their host-side accomplices) attacking vhost-user-vsock
through its device, one scenario per attack of issue 16, built on vhu_frontend.py. Each
checks that the back-end refuses what it must and stays responsive meanwhile.

Usage: hostile_guest.py VHU UDS CID SCENARIO [BACKEND_PID]
  fd-cap        open guest connections until refused (run the back-end under a low
                descriptor limit) while host clients connect: RST past the cap, no spin
                (BACKEND_PID's CPU), a host client served once the guest lets go
  accept-pause  hold guest connections, lower the back-end's descriptor limit under its
                open fds (prlimit), then host clients and a second front-end connect:
                no spin; both listeners serve again once the guest lets go
  backlog       40 REQUESTs to a host listener with backlog 1 that never accepts: a host
                client is answered meanwhile and every REQUEST within a bound
  late-accept   a burst of REQUESTs to a listener with backlog 1 that accepts a little
                late (a fork server): every one is connected
  links         <uds>_P as a symbolic link to a listening socket elsewhere, or a regular
                file: RST, and the socket elsewhere sees no connection
  rst-backpressure  packets that each owe an RST while the guest posts no rx buffer:
                the device takes 255, then stops taking any until the guest takes the
                RSTs; then every packet is answered
Prints one "ok ..." line per check and "N checks passed"; exit 1 at the first failure."""
import os
import resource
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hybrid_host  # noqa: E402
from vhost_wire import REQUEST, RESPONSE, RST, RW  # noqa: E402
from vhu_frontend import Checks, Frontend, host_listener  # noqa: E402

VHU, UDS, CID, SCENARIO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PID = int(sys.argv[5]) if len(sys.argv) > 5 else None

CPU_WINDOW_S = 3.0
CPU_MAX_MS = 500   # an idle back-end uses ~0; the spin this guards against used 2850


def cpu_ms(pid):
    """User + system CPU milliseconds the process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def cpu_during(pid, seconds):
    before = cpu_ms(pid)
    time.sleep(seconds)
    return cpu_ms(pid) - before


class Acceptor:
    """A host listener at <uds>_<port> whose connections are accepted and kept open."""

    def __init__(self, port, backlog=512):
        self.lst = host_listener(UDS, port, backlog)
        self.lst.setblocking(False)
        self.conns = []

    def drain(self):
        while True:
            try:
                self.conns.append(self.lst.accept()[0])
            except BlockingIOError:
                return


def host_client(line=None):
    """A host program connected to --uds-path, having sent line (if any)."""
    hc = socket.socket(socket.AF_UNIX)
    hc.settimeout(10)
    hc.connect(UDS)
    if line is not None:
        hc.sendall(line)
    return hc


def open_until_refused(fe, acc, host_port, first_src, most):
    """Guest connections to host_port from ports first_src.. until one is refused: the
    guest ports held and the refused one."""
    held = []
    for src in range(first_src, first_src + most):
        fe.send(fe.hdr(REQUEST, src, host_port))
        p = fe.recv(5)
        acc.drain()
        if p is None or p["op"] != "RESPONSE" or p["dst_port"] != src:
            return held, src, p
        held.append(src)
    return held, None, None


def release(fe, held, host_port):
    for src in held:
        fe.send(fe.hdr(RST, src, host_port))


def serve_host_client(fe, check, guest_port, what):
    """A host client's CONNECT reaches the guest, which accepts: the client reads OK."""
    hc = hybrid_host.request(UDS, guest_port, timeout=10)
    p = check.expect(fe, "REQUEST", what + ": the guest gets the host client's REQUEST",
                     skip=("RST",), timeout=10, dst_port=guest_port)
    fe.send(fe.hdr(RESPONSE, guest_port, p["src_port"]))
    line = hybrid_host.read_answer(hc)
    check(line.startswith(b"OK "), what + ": the host client reads OK (got %r)" % line)
    hc.close()


def replies(fe, ports, timeout, want=None):
    """Reads rx until each guest port in ports (or `want` of them) got its answer
    (RESPONSE or RST): {port: op}; ports unanswered at the timeout are missing."""
    got = {}
    want = len(ports) if want is None else want
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        p = fe.recv(max(0.01, deadline - time.monotonic()))
        if p is not None and p["dst_port"] in ports and p["op"] in ("RESPONSE", "RST"):
            got.setdefault(p["dst_port"], p["op"])
    return got


def scenario_fd_cap(fe, check):
    acc = Acceptor(5600)
    held, refused, p = open_until_refused(fe, acc, 5600, 10000, 1100)
    check(refused is not None and p is not None and p["op"] == "RST",
          "the guest's REQUEST past the cap is answered with RST (got %r after %d)"
          % (p and p["op"], len(held)))
    check(0 < len(held) < 1024, "the cap (%d connections) is below the descriptor limit"
          % len(held))
    for src in range(refused + 1, refused + 4):
        fe.send(fe.hdr(REQUEST, src, 5600))
        check.expect(fe, "RST", "another REQUEST at the cap is reset at once", dst_port=src)
    waiting = [hybrid_host.request(UDS, 7000, timeout=10) for _ in range(2)] + \
        [host_client() for _ in range(2)]
    used = cpu_during(PID, CPU_WINDOW_S)
    check(used < CPU_MAX_MS, "host clients at the cap cost the back-end %d ms of CPU in %.0f s"
          % (used, CPU_WINDOW_S))
    for hc in waiting[:2]:
        check(hybrid_host.read_answer(hc) == b"",
              "a host client's CONNECT at the cap is closed without OK")
    for hc in waiting:
        hc.close()
    release(fe, held, 5600)
    serve_host_client(fe, check, 7000, "after the guest let go")


def end_of_fd_block(pid):
    """1 + the last descriptor of the process before a gap of more than 8 free numbers
    (descriptors inherited far above its own do not count)."""
    fds = sorted(int(n) for n in os.listdir("/proc/%d/fd" % pid))
    end = fds[0]
    for fd in fds[1:]:
        if fd - end > 8:
            break
        end = fd
    return end + 1


def scenario_accept_pause(fe, check):
    acc = Acceptor(5600)
    held, refused, p = open_until_refused(fe, acc, 5600, 10000, 40)
    check(len(held) == 40, "40 guest connections held (refused at %r: %r)" % (refused, p))
    # Just above the back-end's block of descriptors: the guest's connections are all
    # under it, and once the first host clients took the holes below it (if any), every
    # new fd fails with EMFILE, whatever the connection cap says.
    limit = end_of_fd_block(PID)
    resource.prlimit(PID, resource.RLIMIT_NOFILE, (limit, limit))
    waiting = [host_client() for _ in range(10)]
    time.sleep(0.2)
    second_fe = socket.socket(socket.AF_UNIX)
    second_fe.connect(VHU)
    used = cpu_during(PID, CPU_WINDOW_S)
    check(used < CPU_MAX_MS, "listeners without descriptors cost the back-end %d ms of CPU "
          "in %.0f s" % (used, CPU_WINDOW_S))
    release(fe, held, 5600)
    second_fe.settimeout(10)
    check(second_fe.recv(1) == b"", "once descriptors are freed the waiting second "
          "front-end is accepted (and refused: one is connected)")
    for hc in waiting:
        hc.close()
    serve_host_client(fe, check, 7000, "once descriptors are freed")
    check(fe.get_config() == CID, "the front-end is still served")


def scenario_backlog(fe, check):
    lst = host_listener(UDS, 5700, backlog=1)  # never accepts
    ports = list(range(20000, 20040))
    start = time.monotonic()
    fe.post_batch([fe.hdr(REQUEST, src, 5700) for src in ports[:12]])
    # A host client meanwhile: its malformed line is refused at once by a loop that is not
    # asleep (the loop used to sleep 100 ms per REQUEST on a full backlog: 1 s here).
    t = time.monotonic()
    hc = host_client(b"HELLO\n")
    closed = hc.recv(64) == b""
    took = time.monotonic() - t
    check(closed and took < 0.5, "a host client is answered in %.2f s during the burst" % took)
    fe.wait_tx(10)
    for i in range(12, len(ports), 12):
        fe.post_batch([fe.hdr(REQUEST, src, 5700) for src in ports[i:i + 12]])
        fe.wait_tx(10)
    got = replies(fe, set(ports), 10)
    took = time.monotonic() - start
    check(len(got) == len(ports), "every REQUEST is answered (%d of %d)" % (len(got), len(ports)))
    connected = sum(op == "RESPONSE" for op in got.values())
    check(connected <= 2, "only what the backlog holds is connected (%d)" % connected)
    check(took < 2.5, "all %d answered in %.2f s (a bounded wait each, not one after another)"
          % (len(ports), took))
    lst.close()


def scenario_late_accept(fe, check):
    lst = host_listener(UDS, 5750, backlog=1)
    ports = list(range(21000, 21012))
    fe.post_batch([fe.hdr(REQUEST, src, 5750) for src in ports])
    # The first answer comes once the device has handled the whole batch: what the backlog
    # held is connected, the rest is waiting for it. Only then does the server accept.
    got = replies(fe, set(ports), 5, want=1)
    check(len(got) < len(ports), "the backlog held only part of the burst (%d)" % len(got))
    conns = []
    lst.settimeout(2)
    for _ in ports:
        try:
            conns.append(lst.accept()[0])
        except socket.timeout:
            break
    got.update(replies(fe, set(ports) - set(got), 5))
    check(sorted(got.values()) == ["RESPONSE"] * len(ports),
          "a burst of %d to a listener that accepts late: all connected (%r)"
          % (len(ports), sorted(got.values())))
    for c in conns:
        c.close()


def scenario_links(fe, check):
    elsewhere = os.path.join(os.path.dirname(UDS), "elsewhere.sock")
    other = socket.socket(socket.AF_UNIX)
    other.bind(elsewhere)
    other.listen(8)
    other.setblocking(False)
    os.symlink(elsewhere, "%s_5800" % UDS)
    fe.send(fe.hdr(REQUEST, 30000, 5800))
    check.expect(fe, "RST", "REQUEST to <uds>_P, a symbolic link to a listening socket: RST",
                 dst_port=30000)
    try:
        other.accept()
        reached = True
    except BlockingIOError:
        reached = False
    check(not reached, "the socket the link points to saw no connection")
    with open("%s_5801" % UDS, "w") as f:
        f.write("not a socket\n")
    fe.send(fe.hdr(REQUEST, 30001, 5801))
    check.expect(fe, "RST", "REQUEST to <uds>_P, a regular file: RST", dst_port=30001)
    real = host_listener(UDS, 5802)
    fe.send(fe.hdr(REQUEST, 30002, 5802))
    check.expect(fe, "RESPONSE", "REQUEST to <uds>_P, a listening socket: connected",
                 dst_port=30002)
    real.accept()[0].close()


RST_QUEUE_MAX = 256  # VDEV_RST_QUEUE_MAX: the device stops at one short of it


def scenario_rst_backpressure(fe, check):
    ports = iter(range(40000, 41000))
    sent = 0
    while sent < 2 * RST_QUEUE_MAX:
        fe.post_batch([fe.hdr(RW, next(ports), 5900) for _ in range(12)])
        sent += 12
        try:
            fe.wait_tx(timeout=1)
        except TimeoutError:
            break
    taken = fe.used_idx(1)
    check(taken == RST_QUEUE_MAX - 1, "with no rx buffer the device takes %d packets owing "
          "an RST, then stops (took %d of %d)" % (RST_QUEUE_MAX - 1, taken, sent))
    time.sleep(0.5)
    check(fe.used_idx(1) == taken, "and takes no more while the guest takes no RST")
    fe.stock_rx()
    got = 0
    while got < sent:
        p = fe.recv(3)
        if p is None:
            break
        got += p["op"] == "RST"
    check(got == sent, "once the guest posts rx buffers every packet is answered "
          "(%d of %d RSTs)" % (got, sent))


def main():
    scenario = globals().get("scenario_" + SCENARIO.replace("-", "_"))
    if scenario is None:
        sys.exit("hostile_guest.py: %s: unknown scenario" % SCENARIO)
    check = Checks()
    scenario(Frontend(VHU, CID, stock_rx=SCENARIO != "rst-backpressure"), check)
    check.done()


if __name__ == "__main__":
    main()
