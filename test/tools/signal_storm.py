#!/usr/bin/env python3
"""signal_storm.py: floods a process with signals, some 20000 a second, until it is gone
(reaped), for the signal storms of faults-signals.bats.

  signal_storm.py PID SIG...    SIG without its prefix: ALRM, CHLD, WINCH, ...

At the end it prints "sent N caught M": M of the samples of /proc/PID/status (one per 200
signals) showed the first signal caught by a handler (not ignored).
"""
import argparse
import os
import signal
import time


def caught(pid, bit):
    """True if /proc/PID/status shows a handler for the signal of mask bit."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & bit)
    return False


def storm(pid, sigs):
    """Sends sigs to pid until it is gone: (signals sent, samples that saw a handler)."""
    bit = 1 << (sigs[0] - 1)
    sent = samples = 0
    try:
        while True:
            for s in sigs:
                os.kill(pid, s)
            sent += len(sigs)
            if sent % 20 < len(sigs):
                time.sleep(0.0005)   # bounded: an unthrottled storm only measures the CPU
            if sent % 200 < len(sigs):
                samples += caught(pid, bit)
    except (ProcessLookupError, FileNotFoundError):
        pass
    return sent, samples


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pid", type=int)
    p.add_argument("signals", nargs="+", metavar="SIG")
    args = p.parse_args()
    sent, samples = storm(args.pid, [getattr(signal, "SIG" + s) for s in args.signals])
    print("sent %d caught %d" % (sent, samples))


if __name__ == "__main__":
    main()
