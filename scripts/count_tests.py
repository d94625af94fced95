#!/usr/bin/env python3
"""Sums doctest's per-executable counts from meson's testlog.json files and
prints the closing line "N passed, M failed". An executable that ended
without a doctest summary (crash, timeout) counts as one failure. A *.log
argument is a runner's plain output ending with a doctest-style summary."""
import json
import re
import sys

SUMMARY = re.compile(r"\[doctest\] test cases:\s*(\d+) \|\s*(\d+) passed \|\s*(\d+) failed")

passed = failed = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}")
        failed += 1
        continue
    if path.endswith(".log"):
        # Plain output of a runner that ends with a doctest-style summary
        # (tests/fuzz/run); none means it did not finish.
        m = None
        for m in SUMMARY.finditer("\n".join(lines)):
            pass
        if m:
            p, f = int(m.group(2)), int(m.group(3))
            print(f"{path}: {p} passed, {f} failed")
        else:
            p, f = 0, 1
            print(f"{path}: no doctest summary")
        passed += p
        failed += f
        continue
    for line in lines:
        rec = json.loads(line)
        out = rec.get("stdout", "") or ""
        m = None
        for m in SUMMARY.finditer(out):
            pass
        name = f"{path.split('/')[0]}:{rec.get('name')}"
        if m:
            p, f = int(m.group(2)), int(m.group(3))
            if rec.get("result") not in ("OK", "EXPECTEDFAIL") and f == 0:
                f = 1  # doctest passed but the executable failed (sanitizer, exit code)
            print(f"{name}: {p} passed, {f} failed")
            passed += p
            failed += f
        else:
            print(f"{name}: no doctest summary (result {rec.get('result')})")
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
