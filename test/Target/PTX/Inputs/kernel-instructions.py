"""kernel-instructions.py PTX REGEX: one line `kernel instruction` for each
match of REGEX in the PTX, named by the .entry it is in."""
import re
import sys

kernel = "-"
for line in open(sys.argv[1]):
    entry = re.match(r"\.visible \.entry (\w+)", line)
    if entry:
        kernel = entry.group(1)
    for match in re.findall(sys.argv[2], line):
        print(kernel, match)
