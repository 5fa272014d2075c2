#!/usr/bin/env python3
"""`sealgate policy check|load|show|explain|revisions|rollback`: line-precise refusal that keeps the policy in
force, revisions in the store, and explain's per-recipient account (rules tried, actions,
fallback, groups) without sending anything. Owner: src/policy."""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, is_root, listdir, uid_of  # noqa: E402

t = Tap()
gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n', sink=False)
tmp = tempfile.mkdtemp(prefix="sg-policy-")
errors = []


def pol(*args):
    r = gw.cli("policy", *args)
    errors.extend(l for l in r.stderr.splitlines() if "Sanitizer" in l or "runtime error:" in l)
    return r


def write(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text)
    return p


GOOD = """# test policy
groups = ( { name = "board"; members = ["ceo@demo.test"]; } );
rules = (
  { name = "board-out"; if = { from_group = "board"; direction = "outgoing"; };
    then = ( { archive = "vault@demo.test"; }, { encrypt = ["pgp"]; }, "sign" ); },
  { name = "rest"; then = "deliver"; }
);
"""
BAD = """rules = (
  { name = "x";
    if = { direction = "outgoing";
           subjekt = "hello"; };
    then = "deliver"; }
);
"""

try:
    r = pol("show")
    default = write("default.conf", r.stdout)  # the default as text (one comment line more than embedded)
    t.ok(r.returncode == 0 and "revision 0: the embedded default policy" in r.stdout
         and 'name = "encrypt-keyword"' in r.stdout, "show: a fresh store runs the default policy", r.stderr)
    r = pol("check")
    t.ok(r.returncode == 0 and "revision 0 (the default policy): ok, 5 rules" in r.stdout, "check: the default is valid",
         r.stdout + r.stderr)

    good, bad = write("good.conf", GOOD), write("bad.conf", BAD)
    r = pol("check", bad)
    t.ok(r.returncode == 1 and f"{bad}:4: unknown condition 'subjekt'" in r.stderr,
         "check FILE: the error names the file and line", r.stderr)
    r = pol("load", good)
    t.ok(r.returncode == 0 and "as revision 1 (2 rules)" in r.stdout, "load: a good policy becomes revision 1",
         r.stdout + r.stderr)
    db = os.path.join(gw.base, "store", "sealgate.db")
    if is_root() and uid_of("sealgate-cryptd") is not None:
        st = os.stat(db)
        t.ok(st.st_uid == uid_of("sealgate-cryptd") and (st.st_mode & 0o7777) == 0o660,
             "load as root on a fresh install: the store is the cryptd user's (and the store group's), mode 0660",
             oct(st.st_mode))
    else:
        t.skip("store owner after load", "not root or no sealgate-cryptd user")
    r = pol("load", bad)
    t.ok(r.returncode == 1 and ":4: unknown condition 'subjekt'" in r.stderr and "the policy in force stays" in r.stderr,
         "load: a broken policy is refused with its line", r.stderr)
    r = pol("show")
    t.ok(r.returncode == 0 and r.stdout.startswith("# revision 1, loaded ") and GOOD in r.stdout,
         "show: the loaded text exactly, after its revision line", r.stdout[:200])

    r = pol("explain", "--from", "ceo@demo.test", "--to", "partner@x.example", "--to", "bob@demo.test",
            "--subject", "numbers")
    out = r.stdout
    t.ok(r.returncode == 0, "explain runs", r.stderr)
    t.ok("recipient   partner@x.example [outgoing]" in out and 'rule 1 "board-out" (line 4): matched' in out,
         "explain: the deciding rule with its line", out)
    t.ok('actions   archive("vault@demo.test") hold (fallback)' in out
         and "hold: no usable key or certificate for partner@x.example; the sender is told" in out,
         "explain: the chain, and the fallback (hold) without a key", out)
    t.ok('recipient   bob@demo.test [internal]' in out and 'rule 1 "board-out" (line 4): no, direction' in out
         and 'rule 2 "rest" (line 6): matched' in out, "explain: why a rule did not match", out)
    t.ok("groups (2; each is its own message)" in out, "explain: two groups", out)

    msg = write("m.eml", "From: Alice <alice@demo.test>\r\nTo: x@x.example\r\nSubject: =?UTF-8?Q?Angebot_[encrypt]?=\r\n"
                "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                "Content-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n"
                "Content-Disposition: attachment; filename=offer.pdf\r\n\r\nJVBERi0=\r\n--b--\r\n")
    r = pol("explain", "--policy", os.path.join(tmp, "none.conf"), "--from", "a@demo.test", "--to", "b@x.example")
    t.ok(r.returncode == 1, "explain --policy with a missing file fails", r.stdout)
    # revision 1 is in force; --policy explains another file, here the default as shown
    r = pol("explain", "--policy", default, "--from", "alice@demo.test", "--to", "x@x.example", msg)
    out = r.stdout
    t.ok(r.returncode == 0 and "subject     Angebot [encrypt]" in out and "attachment offer.pdf (application/pdf)" in out,
         "explain MESSAGE: decoded subject and attachments are the facts", out + r.stderr)
    t.ok('rule 2 "encrypt-keyword" (line 17): matched' in out and "hold (fallback)" in out,
         "explain MESSAGE: the keyword in the encoded subject makes encryption mandatory", out)
    t.ok(not any(listdir(gw.spool, s) for s in ("incoming", "outgoing", "hold")), "explain sent and queued nothing")
    # revisions and roll-back (the operations the portal's policy page uses too)
    r = pol("load", default)
    t.ok(r.returncode == 0 and "as revision 2" in r.stdout, "load: the default text becomes revision 2", r.stdout + r.stderr)
    r = pol("revisions")
    rows = [ln.split() for ln in r.stdout.splitlines()]
    t.ok(r.returncode == 0 and [x[0] for x in rows] == ["2", "1", "0"] and "embedded default" in r.stdout,
         "revisions: newest first, down to the embedded default", r.stdout + r.stderr)
    r = pol("rollback", "1")
    t.ok(r.returncode == 0 and "revision 3 in force (2 rules, from revision 1)" in r.stdout,
         "rollback 1: revision 1's rules become revision 3", r.stdout + r.stderr)
    r = pol("show")
    t.ok(r.stdout.startswith("# revision 3, loaded ") and GOOD in r.stdout and "roll-back to revision 1" in r.stdout,
         "show: revision 3 has revision 1's rules, its source says so", r.stdout[:300])
    for bad_rev in ("99", "-1", "1x"):
        r = pol("rollback", bad_rev)
        t.ok(r.returncode != 0 and pol("revisions").stdout.split()[0] == "3",
             f"rollback {bad_rev}: refused, no revision added", r.stdout + r.stderr)
    t.ok(not errors, "no sanitizer reports", "\n".join(errors))
finally:
    gw.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
