#!/usr/bin/env python3
"""scripts/fresh-check --dry-run: its arguments, and the plan it would carry out, without the
long run (bootstrap plus a whole `make test`, see docs/testing.md). The apt sources come from a
directory made here (FRESH_APT_ETC), so what counts as a source is checked, not this machine's
files. Owner: build."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Tap  # noqa: E402

SCRIPT = os.path.join(ROOT, "scripts", "fresh-check")
t = Tap()
work = tempfile.mkdtemp(prefix="sg-fresh-")
apt = os.path.join(work, "apt")
cache = os.path.join(work, "cache")
os.makedirs(os.path.join(apt, "sources.list.d"))
os.makedirs(cache)


def write(name, text):
    with open(os.path.join(apt, name), "w") as f:
        f.write(text)


def run(*args):
    env = dict(os.environ, FRESH_APT_ETC=apt, FRESH_CACHE=cache)
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env, timeout=60)


def plan(out, key):
    for line in out.splitlines():
        if line.strip().startswith(key + " "):
            return line.split(None, 1)[1]
    return ""


write("sources.list", "# deb http://old.example/debian bookworm main\n")
write("sources.list.d/main.sources", "Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n"
      "Components: main\n")
write("sources.list.d/extra.list", "deb http://extra.test/debian bookworm main\n")
write("sources.list.d/off.list.disabled-by-farm", "deb http://off.test/debian bookworm main\n")

r = run("--dry-run")
head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
t.ok(r.returncode == 0, "--dry-run succeeds", r.stderr)
t.ok(plan(r.stdout, "commit").startswith(head), "the plan tests the checkout's HEAD commit", r.stdout)
srcs = plan(r.stdout, "root")
t.ok("main.sources" in srcs and "extra.list" in srcs, "the root gets every enabled apt source", srcs)
t.ok("off.list" not in srcs and "sources.list " not in srcs + " ",
     "disabled sources and a sources.list of comments only are left out", srcs)
t.ok(plan(r.stdout, "command") == "cd /src/sealgate && make test", "the root runs the README's test command",
     r.stdout)
t.ok(os.listdir(cache) == [], "a dry run bootstraps nothing", str(os.listdir(cache)))
base = plan(r.stdout, "base").split()[0]
t.ok(base.startswith(cache + "/") and "to bootstrap" in plan(r.stdout, "base"),
     "with no cached base the plan bootstraps one under FRESH_CACHE", plan(r.stdout, "base"))

open(base, "w").close()
r2 = run("--dry-run")
t.ok(plan(r2.stdout, "base") == base + " (cached)", "a base made from the same sources is reused", r2.stdout)
t.ok("to bootstrap" in plan(run("--dry-run", "--refresh-base").stdout, "base"),
     "--refresh-base bootstraps again")
write("sources.list.d/extra.list", "deb http://extra.test/debian bookworm main contrib\n")
moved = plan(run("--dry-run").stdout, "base").split()[0]
t.ok(moved != base, "a changed apt source never reuses the old base", moved)

r = run("--dry-run", "--rev", "HEAD~0")
t.ok(r.returncode == 0 and plan(r.stdout, "commit").startswith(head), "--rev takes a commit", r.stdout + r.stderr)
r = run("--dry-run", "--rev", "no-such-commit-here")
t.ok(r.returncode == 2 and "not a commit" in r.stderr, "--rev of no commit is refused", r.stderr)
r = run("--dry-run", "--frobnicate")
t.ok(r.returncode == 2 and "unknown argument" in r.stderr and "usage:" in r.stderr,
     "an unknown argument is refused with the usage", r.stderr)
r = run("--dry-run", "--rev")
t.ok(r.returncode == 2 and "needs a commit" in r.stderr, "--rev without its value is refused", r.stderr)
env = dict(os.environ, FRESH_APT_ETC=apt, FRESH_CACHE=cache, FRESH_BOOTSTRAP="debootstrap")
r = subprocess.run([SCRIPT, "--dry-run", "--refresh-base"], capture_output=True, text=True, env=env, timeout=60)
t.ok("with debootstrap" in plan(r.stdout, "base"), "FRESH_BOOTSTRAP picks the bootstrapper", r.stdout)
env["FRESH_BOOTSTRAP"] = "cdebootstrap"
r = subprocess.run([SCRIPT, "--dry-run"], capture_output=True, text=True, env=env, timeout=60)
t.ok(r.returncode == 2 and "FRESH_BOOTSTRAP" in r.stderr, "an unknown bootstrapper is refused", r.stderr)
os.remove(os.path.join(apt, "sources.list.d", "main.sources"))
os.remove(os.path.join(apt, "sources.list.d", "extra.list"))
r = run("--dry-run")
t.ok(r.returncode == 2 and "no apt sources" in r.stderr, "no apt source at all is refused", r.stderr)
subprocess.run(["rm", "-rf", work])
t.done()
