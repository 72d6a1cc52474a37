"""Prints how the host entry's loop nests are shared between layers.

    outlined-loops.py LOWERED.mlir ENTRY

Reads the LLVM-dialect module llm-opt --llm-host-pipeline wrote, counts the
functions llm-host-outline-loops made (ENTRY_loopN) and the calls the entry
makes to them, and prints one line per function called more than once, then
`functions F calls C shared S`.
"""
import collections
import re
import sys


def main():
    path, entry = sys.argv[1], sys.argv[2]
    text = open(path).read()
    defined = re.findall(rf"llvm\.func (?:internal )?@({entry}_loop\d+)\(", text)
    body = re.search(rf"llvm\.func (?:internal )?@{entry}\(.*?\n  \}}\n", text, re.S)
    if body is None:
        sys.exit(f"no llvm.func @{entry} in {path}")
    calls = collections.Counter(
        re.findall(rf"llvm\.call @({entry}_loop\d+)\(", body.group(0)))
    for name in defined:
        if calls[name] > 1:
            print(f"{name} called {calls[name]} times")
    missing = sorted(set(calls) - set(defined))
    if missing:
        sys.exit(f"called but not defined: {missing}")
    shared = sum(1 for name in defined if calls[name] > 1)
    print(f"functions {len(defined)} calls {sum(calls.values())} shared {shared}")


if __name__ == "__main__":
    main()
