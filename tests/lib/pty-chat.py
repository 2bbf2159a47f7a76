#!/usr/bin/python3
# pty-chat.py [STEP…] -- CMD…: runs CMD on a pty of its own and talks to it, step by step:
#   -t SECONDS   how long the next -e/-w waits (20 until set)
#   -e TEXT      wait until TEXT has come; fail (stop, kill CMD) when it does not
#   -w TEXT      wait until TEXT has come or the time is out, either way go on (to drain output)
#   -s TEXT      send TEXT
#   --status N   at the end, fail unless CMD exited with N
# Writes all CMD wrote to stdout; exits 0 when every -e was met (and --status, when given).
import os, pty, select, signal, sys, time

args = sys.argv[1:]
steps, status = [], None
while args and args[0] != "--":
    opt, val = args[0], args[1]
    args = args[2:]
    if opt == "--status":
        status = int(val)
    else:
        steps.append((opt, val))
cmd = args[1:]

pid, fd = pty.fork()
if pid == 0:
    os.execv(cmd[0], cmd)
buf = b""


def until(pat, t):
    global buf
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return False
            if not d:
                return False
            buf += d
            if pat in buf:
                return True
    return False


ok, timeout = True, 20.0
for opt, val in steps:
    if opt == "-t":
        timeout = float(val)
    elif opt == "-s":
        os.write(fd, val.encode())
    elif opt == "-w":
        until(val.encode(), timeout)
    elif opt == "-e" and not until(val.encode(), timeout):
        ok = False
        os.kill(pid, signal.SIGKILL)
        break
_, st = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace"))
if status is not None and not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == status):
    ok = False
sys.exit(0 if ok else 1)
