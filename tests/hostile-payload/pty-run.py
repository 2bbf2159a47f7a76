#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a command on a terminal of its own and reports what was typed into that terminal.

usage: pty-run.py TIMEOUT CMD [ARGS...]

CMD runs as a session leader with a fresh pty as its controlling terminal and as its stdin,
stdout and stderr (what a user's shell gives a program it starts). Its output is copied to our
stdout (carriage returns dropped). After CMD has exited, the bytes waiting in the pty's input
queue are what a shell reading that terminal would read next: anything there was injected
(TIOCSTI) by CMD or by something it ran. They are reported in a last line

    PTY-INPUT N HEX

and discarded, never executed. Exit status: CMD's (128+N for signal N, 124 on timeout)."""

import fcntl
import os
import select
import signal
import sys
import termios
import time
import tty

timeout = float(sys.argv[1])
cmd = sys.argv[2:]
master, slave = os.openpty()
# Raw: injected bytes are readable without a newline, and nothing is echoed back.
tty.setraw(slave, termios.TCSANOW)

pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)

out = bytearray()
deadline = time.monotonic() + timeout
status = None
while status is None:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            out += os.read(master, 65536)
        except OSError:
            pass
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st)
        status = 128 - status if status < 0 else status
    elif time.monotonic() > deadline:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        status = 124
# What is still on its way out.
while select.select([master], [], [], 0.2)[0]:
    try:
        d = os.read(master, 65536)
    except OSError:
        break
    if not d:
        break
    out += d

# The input queue, read without blocking (raw again, should CMD have left it otherwise; TCSANOW:
# TCSAFLUSH would discard that very input).
tty.setraw(slave, termios.TCSANOW)
pending = int.from_bytes(fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)
injected = b""
if pending:
    os.set_blocking(slave, False)
    try:
        injected = os.read(slave, 65536)
    except BlockingIOError:
        pass
sys.stdout.write(out.decode("utf-8", "replace").replace("\r", ""))
if out and not out.endswith(b"\n"):
    sys.stdout.write("\n")
print("PTY-INPUT %d %s" % (len(injected), injected.hex() or "-"))
sys.exit(status)
