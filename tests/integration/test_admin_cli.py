#!/usr/bin/env python3
"""`sealgate admin|token|session|audit|status|queue|key` through the operation table (src/admin): the
first administrator with a generated one-time password or one read from stdin, roles, the last
Administrator kept, passwords refused when short, API tokens created, listed and revoked, queue
moves, status of a running gateway, exactly one audit event per CLI call with its actor, target
and result (the commands that still run the CLI's own code included, when they change something
or export a secret), every verb the CLI serves through the table answering --help, and docs/admin.md's
operation table equal to `sealgate admin ops --markdown`. Owner: src/admin."""
import json
import os
import pwd
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, asan_binary, listdir, put_message  # noqa: E402

t = Tap()
gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=asan_binary())
errors = []
calls = []  # (operation, expected result) of every table call made, in order
me = pwd.getpwuid(os.geteuid()).pw_name
MSG = b"From: s@example.org\r\nTo: user@demo.test\r\nSubject: held\r\n\r\nbody\r\n"


def cli(*args, input=None, op=None, result="ok"):
    import subprocess
    r = subprocess.run([gw.binary, "-c", gw.conf, *args], capture_output=True, text=True, timeout=60, input=input)
    errors.extend(l for l in r.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l)
    if op:
        calls.append((op, result))
    return r


try:
    r = cli("prepare")
    t.ok(r.returncode == 0, "prepare sets up spool and store", r.stderr)

    r = cli("admin", "add", "alice", "--role", "administrator", op="admin.add")
    m = re.search(r"one-time password: ([a-z0-9]{24})\n", r.stdout)
    t.ok(r.returncode == 0 and "alice: administrator" in r.stdout and m,
         "admin add: the first administrator, with a generated one-time password", r.stdout + r.stderr)
    r = cli("admin", "add", "bob", "--role", "system", "--role", "auditor", "--password-stdin",
            input="a long enough password\n", op="admin.add")
    t.ok(r.returncode == 0 and "bob: system-operator,auditor" in r.stdout and "password" not in r.stdout,
         "admin add --password-stdin: roles repeated, the password read, none printed", r.stdout + r.stderr)
    r = cli("admin", "add", "carol", "--role", "ca", "--password-stdin", input="short\n", op="admin.add",
            result="invalid_argument")
    t.ok(r.returncode == 2 and "at least 12" in r.stderr, "a short password is refused (exit 2)", r.stderr)
    r = cli("admin", "add", "alice", "--role", "auditor", op="admin.add", result="conflict")
    t.ok(r.returncode == 1 and "exists already" in r.stderr, "an existing name is refused", r.stderr)
    r = cli("admin", "add", "dave", "--role", "wizard", op="admin.add", result="invalid_argument")
    t.ok(r.returncode == 2 and "roles" in r.stderr, "an unknown role is refused, naming the field", r.stderr)

    r = cli("admin", "list", op="admin.list")
    t.ok(r.returncode == 0 and re.search(r"^alice\s+administrator\s", r.stdout, re.M)
         and re.search(r"^bob\s+system-operator,auditor\s", r.stdout, re.M) and "carol" not in r.stdout,
         "admin list: the accounts and their roles", r.stdout)
    r = cli("admin", "roles", "bob", "--role", "ca-operator", op="admin.set-roles")
    t.ok(r.returncode == 0 and "bob: ca-operator" in r.stdout, "admin roles replaces the roles", r.stdout + r.stderr)
    r = cli("admin", "delete", "alice", op="admin.delete", result="conflict")
    t.ok(r.returncode == 1 and "last Administrator" in r.stderr, "the last Administrator cannot be deleted", r.stderr)
    r = cli("admin", "passwd", "bob", op="admin.passwd")
    t.ok(r.returncode == 0 and re.search(r"one-time password: [a-z0-9]{24}", r.stdout), "admin passwd: a new one-time password",
         r.stdout + r.stderr)

    r = cli("token", "create", "--role", "ca-operator", "--owner", "bob", "--label", "ci", op="token.create")
    m = re.search(r"^token ([0-9a-f]{16}) for bob \(ca-operator\) ci\nsecret: (sgt_[0-9a-f]{16}_[0-9a-f]{64})\n", r.stdout, re.M)
    t.ok(r.returncode == 0 and m, "token create: id and secret, shown once", r.stdout + r.stderr)
    tid = m.group(1) if m else "x"
    r = cli("token", "create", "--role", "administrator", "--owner", "bob", op="token.create", result="forbidden")
    t.ok(r.returncode == 1, "a token cannot hold roles its owner lacks", r.stdout + r.stderr)
    r = cli("token", "list", "--json", op="token.list")
    listed = json.loads(r.stdout) if r.returncode == 0 else {}
    t.ok(any(x["id"] == tid and x["revoked"] == 0 and "secret" not in x for x in listed.get("items", [])),
         "token list: the token, without its secret", r.stdout + r.stderr)
    r = cli("token", "revoke", tid, op="token.revoke")
    r2 = cli("token", "list", "--json", op="token.list")
    t.ok(r.returncode == 0 and any(x["id"] == tid and x["revoked"] > 0 for x in json.loads(r2.stdout)["items"]),
         "token revoke: the token is revoked", r.stderr + r2.stderr)
    r = cli("token", "revoke", tid, op="token.revoke", result="not_found")
    t.ok(r.returncode == 1, "revoking it again: not found", r.stderr)
    r = cli("session", "list", op="session.list")
    t.ok(r.returncode == 0 and "ACCOUNT" in r.stdout, "session list answers (no portal sessions yet)", r.stderr)

    held = put_message(gw.spool, "hold", MSG, sender="s@example.org")
    r = cli("queue", "list", "hold", op="queue.list")
    t.ok(r.returncode == 0 and held in r.stdout and "1 message\n" in r.stdout, "queue list STATE through the table",
         r.stdout + r.stderr)
    r = cli("queue", "list", "--sender", "nobody@", "--json", op="queue.list")
    t.ok(r.returncode == 0 and json.loads(r.stdout)["total"] == 0, "queue list filters by sender", r.stdout + r.stderr)
    r = cli("queue", "release", held, op="queue.release")
    t.ok(r.returncode == 0 and f"{held}: hold -> incoming" in r.stdout and held in listdir(gw.spool, "incoming"),
         "queue release moves the held message", r.stdout + r.stderr)
    r = cli("queue", "show", "../../etc/passwd", op="queue.show", result="invalid_argument")
    t.ok(r.returncode == 2 and "not a queue id" in r.stderr, "a path is not a queue id (exit 2)", r.stderr)

    # Commands that still run the CLI's own code record their changes and secret exports too.
    r = cli("key", "generate", "zed@demo.test", op="key.generate")
    fpr = r.stdout.strip()
    r2 = cli("key", "export", fpr, "--secret", op="key.export-secret")
    r3 = cli("key", "export", fpr)  # a public export by the CLI's own code: read-only, no event
    pol = os.path.join(gw.dir, "p.conf")
    open(pol, "w").write('rules = ( { name = "all"; then = "deliver"; } );\n')
    r4 = cli("policy", "load", pol, op="policy.load")
    r5 = cli("key", "show", fpr, op="key.show")
    t.ok(r.returncode == 0 and r2.returncode == 0 and r3.returncode == 0 and r4.returncode == 0
         and "<zed@demo.test>" in r5.stdout, "key generate, export --secret, policy load, key show",
         r.stderr + r2.stderr + r4.stderr + r5.stderr)
    # Table verbs of areas that also have verbs of the CLI's own code: one event each (their
    # own-code audit in cli_audit.c stays out), the table's result.
    r = cli("cert", "delete", "AB" * 32, op="cert.delete", result="not_found")
    r2 = cli("ca", "revoke", "AB" * 32, op="ca.revoke", result="not_found")
    t.ok(r.returncode != 0 and r2.returncode != 0 and "no local CA" in r2.stderr,
         "cert delete and ca revoke of nothing fail through the table", r.stderr + r2.stderr)

    gw.start()
    r = cli("status", op="status")
    t.ok(r.returncode == 0 and "running (master pid" in r.stdout and re.search(r"role cryptd\s+pid \d+", r.stdout)
         and re.search(r"^  incoming\s+\d+", r.stdout, re.M), "status: the running master, its roles, queue sizes",
         r.stdout + r.stderr)
    gw.stop()

    # Exactly one audit event per call, in order, with actor, operation and result.
    r = cli("audit", "list", "--json", "--limit", "1000", op="audit.list")
    events = list(reversed(json.loads(r.stdout)["items"])) if r.returncode == 0 else []
    got = [(e["operation"], e["result"]) for e in events]
    t.ok(got == calls[:-1], "audit: one event per CLI call, in order, with its result",
         f"{len(got)} events for {len(calls) - 1} calls; first difference: "
         + str(next(((a, b) for a, b in zip(got, calls) if a != b), None)))
    t.ok(events and all(e["actor"] == me and e["client"] == "local" and e["roles"] == ["administrator"] for e in events),
         f"audit: the actor is the Unix user ({me}), client local")
    t.ok(any(e["operation"] == "queue.release" and e["target"] == held for e in events)
         and any(e["operation"] == "key.generate" and e["target"] == "zed@demo.test" for e in events)
         and any(e["operation"] == "policy.load" and e["target"] == pol for e in events)
         and any(e["operation"] == "admin.add" and e["target"] == "bob" and "system-operator" in e["detail"]
                 for e in events),
         "audit: targets and details recorded")
    t.ok(not any("long enough" in json.dumps(e) or "sgt_" in json.dumps(e) or "PRIVATE KEY" in json.dumps(e)
                 for e in events),
         "audit: no password, token secret or key in any event")
    r = cli("audit", "list", "--operation", "token.revoke", "--json", op="audit.list")
    t.ok(r.returncode == 0 and [e["result"] for e in json.loads(r.stdout)["items"]] == ["not_found", "ok"],
         "audit list filters by operation", r.stdout + r.stderr)

    # Every verb the CLI serves through the table answers --help; the rest are the CLI's own.
    ops = json.loads(cli("admin", "ops").stdout)
    served = [o for o in ops if o["cli_served"]]
    bad = [o["name"] for o in served if cli(*o["cli"], "--help").returncode != 0]
    t.ok(len(served) >= 18 and not bad, f"all {len(served)} table verbs the CLI serves answer --help", str(bad))
    r = cli("admin", "frobnicate")
    t.ok(r.returncode == 2 and "sealgate admin add" in r.stderr, "an unknown verb lists the area's verbs", r.stderr)

    # docs/admin.md's permission reference is the table's.
    doc = open(os.path.join(ROOT, "docs", "admin.md")).read()
    m = re.search(r"<!-- operations:[^\n]*-->\n(.*?)<!-- end of operations -->", doc, re.S)
    table = cli("admin", "ops", "--markdown").stdout
    t.ok(m and m.group(1) == table, "docs/admin.md's operation table is `sealgate admin ops --markdown`'s",
         "regenerate it with: build/sealgate admin ops --markdown")
    t.ok(not errors, "no sanitizer report from the CLI", "; ".join(errors[:3]))
finally:
    gw.stop() if gw.proc and gw.proc.poll() is None else None
    gw.cleanup()
t.done()
