"""tap.py - the one TAP writer of the Python suites (stdlib only). Owner: tests.

Every check prints one numbered line, `ok N - name` or `not ok N - name: why`; a skip is
`ok N - name # SKIP why`, which tests/run-all counts as skipped, never as passed. The reason of
a failure is put on one line (a newline in it could otherwise start a line run-all would count
as a result of its own). done() prints the plan and exits 1 when any check failed.
The C unit tests have their own, tests/unit/check.h.
"""
import sys

REASON_MAX = 600  # the whole story is in the suite's log; the TAP line names it


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, detail=""):
        """One check: passes when cond is true; detail says why it failed. Returns bool(cond)."""
        self.n += 1
        name = " ".join(str(name).split())
        if cond:
            print(f"ok {self.n} - {name}", flush=True)
        else:
            self.failed += 1
            why = " ".join(str(detail).split())[:REASON_MAX] if detail else ""
            print(f"not ok {self.n} - {name}" + (f": {why}" if why else ""), flush=True)
        return bool(cond)

    check = ok

    def fail(self, name, reason):
        """A failure found without a condition to test (an exception, a step that never came)."""
        self.ok(False, name, reason or "failed")

    def skip(self, name, why):
        self.n += 1
        print(f"ok {self.n} - {' '.join(str(name).split())} # SKIP {why}", flush=True)

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)

    exit = done
