#!/usr/bin/env python3
"""Runs a command with stdout and stderr on a pseudo-terminal, as a user's
terminal would be, and prints what it wrote with each carriage return as a
line break and the erase-to-end-of-line sequence removed; exits with the
command's status.

    run-on-tty.py COMMAND [ARG...]
"""
import os
import pty
import subprocess
import sys


def main():
    leader, follower = pty.openpty()
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL,
                             stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    status = child.wait()
    text = b"".join(chunks).decode(errors="replace")
    text = text.replace("\x1b[K", "").replace("\r\n", "\n").replace("\r", "\n")
    sys.stdout.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
