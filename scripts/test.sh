#!/usr/bin/env bash
# Runs all of llmc's tests: builds (scripts/setup.sh), then the lit suite in
# build/test and the Python package's pytest suite in python/tests. Ends with
# one line `N passed, M failed, K skipped` and exits non-zero if a test failed
# or if no test ran.
#
#   bash scripts/test.sh
#
# Environment:
#   LLMC_BUILD_DIR=DIR     build folder (default: build)
#   LLMC_SKIP_SETUP=1      do not run scripts/setup.sh (test what is built)
#   LLMC_LIT_FILTER=REGEX  run only the lit tests whose path matches
#   LLMC_LIT_ARGS="..."    more arguments for lit (e.g. -j4)
#   LLMC_CPU_OPT_LEVEL=N   host JIT / HLS C-simulation optimization (default
#                          0 here, 2 for users; results are the same)
# Lit counts XFAIL as passed and UNSUPPORTED as skipped; pytest's exit 5
# ("no tests collected") is not a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${LLMC_BUILD_DIR:-build}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || PYTHON=python3
LIT=/usr/lib/llvm-22/bin/lit

say() { echo "[test] $*"; }

if [[ "${LLMC_SKIP_SETUP:-0}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
fi

export LLMC_CPU_OPT_LEVEL="${LLMC_CPU_OPT_LEVEL:-0}"

RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/llmc-test.XXXXXX")"
trap 'rm -rf "$RESULTS"' EXIT
reports=()   # junit/xunit XML files to count
broken=0     # suites that produced no report

# --- lit --------------------------------------------------------------------
if [[ -f "$BUILD_DIR/test/lit.site.cfg.py" ]]; then
  # The models the tests export, into the export cache lit gives them
  # (test/lit.cfg.py), by two processes that import torch once each instead
  # of a process per test; a test whose export is missing exports it.
  cache="${LLMC_EXPORT_CACHE-$BUILD_DIR/test/export-cache}"
  if [[ -n "$cache" ]] && "$PYTHON" -c "import torch" 2> /dev/null; then
    LLMC_EXPORT_CACHE="$cache" "$PYTHON" test/models/export_models.py --prefill test \
      | sed 's/^/[test] /' || say "export prefill failed; the tests export their models"
  fi
  say "lit: $BUILD_DIR/test"
  lit_args=(-sv --xunit-xml-output "$RESULTS/lit.xml")
  [[ -n "${LLMC_LIT_FILTER:-}" ]] && lit_args+=(--filter "$LLMC_LIT_FILTER")
  # shellcheck disable=SC2206  # word splitting is the point
  [[ -n "${LLMC_LIT_ARGS:-}" ]] && lit_args+=($LLMC_LIT_ARGS)
  lit_status=0
  "$LIT" "${lit_args[@]}" "$BUILD_DIR/test" || lit_status=$?
  if [[ -s "$RESULTS/lit.xml" ]]; then
    reports+=("$RESULTS/lit.xml")
  else
    say "lit exited with $lit_status and wrote no results"
    broken=$((broken + 1))
  fi
else
  say "no $BUILD_DIR/test/lit.site.cfg.py: is $BUILD_DIR/ configured?"
  broken=$((broken + 1))
fi

# --- pytest -----------------------------------------------------------------
if [[ -d python/tests ]]; then
  say "pytest: python/tests (PYTHONPATH=$BUILD_DIR/python)"
  pytest_status=0
  PYTHONPATH="$BUILD_DIR/python${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m pytest -v -p no:cacheprovider -p no:hypothesispytest --junitxml="$RESULTS/pytest.xml" \
    python/tests || pytest_status=$?
  if [[ -s "$RESULTS/pytest.xml" ]]; then
    reports+=("$RESULTS/pytest.xml")
  elif (( pytest_status != 5 )); then
    say "pytest exited with $pytest_status and wrote no results"
    broken=$((broken + 1))
  fi
fi

# --- Summary ----------------------------------------------------------------
# Both lit's xunit and pytest's junit XML mark a failed case with <failure>
# or <error> and a skipped one with <skipped>; lit reports XFAIL as a plain
# pass and XPASS, UNRESOLVED and TIMEOUT as failures.
"$PYTHON" - "$broken" "${reports[@]}" <<'EOF'
import sys
import xml.etree.ElementTree as ET

broken = int(sys.argv[1])
passed = failed = skipped = 0
failures = []
for path in sys.argv[2:]:
    for case in ET.parse(path).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if tags & {"failure", "error"}:
            failed += 1
            failures.append(name)
        elif "skipped" in tags:
            # lit lists the tests --filter left out as skipped too; they did
            # not run and are not counted.
            reason = case.find("skipped").get("message", "")
            if not reason.startswith("Test not selected"):
                skipped += 1
        else:
            passed += 1
failed += broken
if failures:
    print("[test] failed:")
    for name in failures:
        print(f"  {name}")
if broken:
    print(f"[test] {broken} suite(s) produced no results (counted as failed)")
if passed + failed == 0:
    print("[test] no tests ran")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed or passed + failed == 0 else 0)
EOF
