#!/usr/bin/env python3
"""Used by scripts/perf-instructions.sh as `twofold-load run --during`: switches callgrind's
instrumentation of the server (PID) on when the measured phase begins and, at SIGINT,
dumps the counts and switches it off again, so the dump holds the phase alone.

A Python script rather than a shell one: a shell cannot trap a signal it was started
with ignored, as SIGINT is for background jobs."""
import signal
import subprocess
import sys
import time

pid = sys.argv[1]


def ctl(*args):
    subprocess.run(
        ["callgrind_control", *args, pid],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )


ctl("-i", "on")
stopped = False


def stop(*_):
    global stopped
    stopped = True


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
while not stopped:
    time.sleep(0.05)
ctl("-d")
ctl("-i", "off")
