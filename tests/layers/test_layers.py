#!/usr/bin/env python3
"""The layer check (scripts/check-layers) on the real tree, and on fake trees that prove it can
fail: a clean fake tree passes, an upward include fails, two objects that call each other fail,
and the same two objects pass once both include one internal header (one module); sqlite3.h
or libpq-fe.h outside store/ fails, inside store/ passes, and a TRANSITIONAL file is reported but passes.
TAP on stdout. The real tree's cycle check reads build/'s objects (make build first).
Owner: build.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import sgtest  # noqa: E402

ROOT = sgtest.ROOT
CHECK = os.path.join(ROOT, "scripts", "check-layers")
OBJS = os.path.join(ROOT, "build", "libsealgate.a.p")

# A tiny tree: lib/ at the bottom, keys/ above it, policy/ above that. keys/one.c and
# keys/two.c do not call each other; the variants below add what must fail.
CLEAN = {
    "lib/base.h": "int base(void);\n",
    "lib/base.c": '#include "lib/base.h"\nint base(void) { return 1; }\n',
    "keys/one.h": "int one(void);\n",
    "keys/one.c": '#include "keys/one.h"\n#include "lib/base.h"\nint one(void) { return base(); }\n',
    "keys/two.h": "int two(void);\n",
    "keys/two.c": '#include "keys/two.h"\n#include "keys/one.h"\nint two(void) { return one(); }\n',
    "policy/top.h": "int top(void);\n",
    "policy/top.c": '#include "policy/top.h"\n#include "keys/two.h"\nint top(void) { return two(); }\n',
}


def run_check(files, objects, extra=()):
    """Writes files under a temp src/, compiles each .c into objects named as meson names them
    (src_<folder>_<name>.c.o) when objects is set, and runs the checker with extra arguments:
    (exit code, output)."""
    tmp = tempfile.mkdtemp(prefix="sg-layers-")
    try:
        src = os.path.join(tmp, "src")
        objdir = os.path.join(tmp, "libsealgate.a.p")
        os.makedirs(objdir)
        for rel, text in files.items():
            path = os.path.join(src, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        args = [sys.executable, CHECK, "--src", src, *extra]
        if objects:
            for rel in files:
                if rel.endswith(".c"):
                    obj = os.path.join(objdir, "src_" + rel.replace("/", "_") + ".o")
                    subprocess.run(["cc", "-c", "-I", src, "-o", obj, os.path.join(src, rel)], check=True)
            args += ["--objects", objdir]
        p = subprocess.run(args, capture_output=True, text=True)
        return p.returncode, p.stdout + p.stderr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    T = sgtest.Tap()

    if os.path.isdir(OBJS):
        p = subprocess.run([sys.executable, CHECK, "--objects", OBJS], capture_output=True, text=True, cwd=ROOT)
        T.ok(p.returncode == 0, "the source tree: no upward include, no call cycle (build/'s objects)",
             (p.stdout + p.stderr).strip().replace("\n", "; "))
    else:
        T.ok(False, "the source tree: no upward include, no call cycle", "build/ is missing: run make build")

    rc, out = run_check(CLEAN, objects=True)
    T.ok(rc == 0 and "0 violation(s)" in out, "a clean fake tree passes", out.strip())

    upward = dict(CLEAN)
    upward["lib/base.c"] = '#include "lib/base.h"\n#include "policy/top.h"\nint base(void) { return 1; }\n'
    rc, out = run_check(upward, objects=False)
    T.ok(rc == 1 and 'src/lib/base.c:2: includes "policy/top.h"' in out,
         "an upward include (lib/ includes policy/) fails, naming file and line", out.strip())

    cycle = dict(CLEAN)
    cycle["keys/one.c"] = ('#include "keys/one.h"\n#include "keys/two.h"\n'
                           "int one(void) { static int d; return d++ ? 0 : two(); }\n")
    rc, out = run_check(cycle, objects=True)
    T.ok(rc == 1 and "src/keys/one.c and src/keys/two.c call each other" in out,
         "two files that call each other fail", out.strip())

    module = dict(cycle)
    module["keys/pair_int.h"] = '#include "keys/one.h"\n#include "keys/two.h"\n'
    module["keys/one.c"] = '#include "keys/pair_int.h"\n' + cycle["keys/one.c"]
    module["keys/two.c"] = '#include "keys/pair_int.h"\n' + cycle["keys/two.c"]
    rc, out = run_check(module, objects=True)
    T.ok(rc == 0, "the same pair passes as one module with one internal header (NAME_int.h)", out.strip())

    nolayer = dict(CLEAN)
    nolayer["misc/odd.c"] = "int odd(void) { return 0; }\n"
    rc, out = run_check(nolayer, objects=False)
    T.ok(rc == 1 and "folder 'misc' has no layer" in out, "a folder without a layer fails", out.strip())

    sql = dict(CLEAN)
    sql["keys/one.c"] = "#include <sqlite3.h>\n" + CLEAN["keys/one.c"]
    rc, out = run_check(sql, objects=False)
    T.ok(rc == 1 and "src/keys/one.c:1: includes sqlite3.h" in out,
         "sqlite3.h outside store/ fails, naming file and line", out.strip())
    rc, out = run_check(sql, objects=False, extra=("--transitional", "keys/one.c"))
    T.ok(rc == 0 and "0 violation(s)" in out and "note: src/keys/one.c:1: includes sqlite3.h (TRANSITIONAL" in out,
         "... reported but passing while the file is TRANSITIONAL", out.strip())
    rc, out = run_check(CLEAN, objects=False, extra=("--transitional", "keys/two.c"))
    T.ok(rc == 0 and "note: src/keys/two.c: listed TRANSITIONAL but includes no sqlite3.h" in out,
         "a TRANSITIONAL entry that no longer includes sqlite3.h is pointed out", out.strip())
    instore = dict(CLEAN)
    instore["store/db.c"] = '#include <sqlite3.h>\n#include "lib/base.h"\nint db(void) { return base(); }\n'
    rc, out = run_check(instore, objects=False)
    T.ok(rc == 0 and "0 violation(s)" in out, "sqlite3.h inside store/ passes", out.strip())
    pq = dict(CLEAN)
    pq["keys/one.c"] = "#include <stdio.h>\n#include <libpq-fe.h>\n" + CLEAN["keys/one.c"]
    rc, out = run_check(pq, objects=False, extra=("--transitional", "keys/one.c"))
    T.ok(rc == 1 and "src/keys/one.c:2: includes libpq-fe.h" in out,
         "libpq-fe.h outside store/ fails, TRANSITIONAL or not (PostgreSQL is SQL too)", out.strip())
    instore["store/pg.c"] = '#include <libpq-fe.h>\n#include "lib/base.h"\nint pg(void) { return base(); }\n'
    rc, out = run_check(instore, objects=False)
    T.ok(rc == 0 and "0 violation(s)" in out, "libpq-fe.h inside store/ passes", out.strip())

    T.done()


if __name__ == "__main__":
    main()
