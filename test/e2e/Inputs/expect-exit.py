#!/usr/bin/env python3
"""Runs a command and succeeds only if it exits with exactly the given code:
`not` accepts any failure, but the tools' contract separates 1 (a check
failed) from 2 (bad input or usage) and forbids crashes and hangs.

    expect-exit.py CODE [--timeout SECONDS] COMMAND ARGS...

The command's stdout and stderr pass through unchanged.
"""
import signal
import subprocess
import sys


def main(argv):
    if len(argv) < 3:
        print("usage: expect-exit.py CODE [--timeout S] COMMAND ARGS...", file=sys.stderr)
        return 2
    expected = int(argv[1])
    timeout = 300.0
    command = argv[2:]
    if command[0] == "--timeout":
        timeout = float(command[1])
        command = command[2:]
    try:
        status = subprocess.run(command, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        print(f"expect-exit: {command[0]} hung (no exit after {timeout:g} s)", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"expect-exit: cannot run {command[0]}: {error}", file=sys.stderr)
        return 1
    if status == expected:
        return 0
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = str(-status)
        why = f"was killed by signal {name}"
    else:
        why = f"exited with {status}"
    print(f"expect-exit: {command[0]} {why}, expected exit code {expected}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
