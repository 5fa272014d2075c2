#!/usr/bin/env python3
"""The tamper-evident log (issue 14, docs/audit.md), checked by an independent verifier written
here with hashlib and python3-cryptography: every CLI audit event is a leaf; `audit proof` and
`audit consistency` equal RFC 9162's PATH and PROOF computed here for every pair of sizes
1..33; `audit export` gives entries, checkpoints and the public key from which this file
recomputes the roots and checks the Ed25519 signatures and key ids; tampering with the SQLite
store (a flipped byte, a deleted entry, two swapped, a truncated log, a replaced checkpoint, an
entry changed with the whole stored tree after it recomputed) makes `audit verify` fail naming
the index; cryptd signs checkpoints by itself (audit.checkpoint_every). Owner: src/audit."""
import base64
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import BINARY, Gateway, Tap, wait_for  # noqa: E402
from tlogverify import check_note, fields, leaf, mth, node, parse_entries, path, subproof, verify_inclusion  # noqa: E402

t = Tap()


gw = Gateway(sink=False, next_hop="127.0.0.1:1", binary=BINARY,
             extra="audit = { checkpoint_every = 3; checkpoint_seconds = 3600; };\n")
db = os.path.join(gw.base, "store", "sealgate.db")
work = tempfile.mkdtemp(prefix="sg-audit-")


def cli(*args):
    return subprocess.run([gw.binary, "-c", gw.conf, *args], capture_output=True, text=True, timeout=60)


def verify():
    r = cli("audit", "verify")
    m = re.search(r"first bad index (\d+)", r.stdout)
    return r.returncode, int(m.group(1)) if m else None, r.stdout + r.stderr


def export():
    d = tempfile.mkdtemp(dir=work)
    r = cli("audit", "export", d)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "entries"), "rb") as f:
        entries = parse_entries(f.read())
    with open(os.path.join(d, "key.pub")) as f:
        pub = base64.b64decode(f.read().strip())
    notes = {}
    for n in os.listdir(os.path.join(d, "checkpoints")):
        with open(os.path.join(d, "checkpoints", n)) as f:
            notes[int(n)] = f.read()
    return entries, pub, notes


try:
    r = cli("prepare")
    t.ok(r.returncode == 0 and os.path.exists(os.path.join(gw.base, "keys", "audit.key")),
         "prepare creates the log's signing key", r.stderr)
    t.ok(os.stat(os.path.join(gw.base, "keys", "audit.key")).st_mode & 0o077 == 0, "the signing key is 0600")
    for i in range(33):
        cli("admin", "list")
    entries, pub, notes = export()
    kinds = [fields(e) for e in entries]
    t.ok(len(entries) == 33 and all(k == 1 and dict(f).get("op") == "admin.list" for k, f in kinds),
         "33 CLI calls: 33 entries, each an admin event (kind 1) naming its operation", str(len(entries)))
    leaves = [leaf(e) for e in entries]

    bad = []
    for n in range(1, 34):
        for m in range(n):
            r = cli("audit", "proof", str(m), "--size", str(n))
            got = dict(re.findall(r"^(leaf|root) ([0-9a-f]{64})$", r.stdout, re.M))
            p = re.findall(r"^path ([0-9a-f]{64})$", r.stdout, re.M)
            if (r.returncode != 0 or got.get("root") != mth(leaves[:n]).hex() or got.get("leaf") != leaves[m].hex()
                    or p != [h.hex() for h in path(m, leaves[:n])]):
                bad.append(("inclusion", m, n))
    t.ok(not bad, "audit proof equals RFC 9162 PATH(m, D[n]) and MTH for every 0 <= m < n <= 33", str(bad[:5]))
    bad = []
    for n in range(1, 34):
        for m in range(1, n + 1):
            r = cli("audit", "consistency", str(m), str(n))
            p = re.findall(r"^proof ([0-9a-f]{64})$", r.stdout, re.M)
            roots = dict(re.findall(r"^(old-root|new-root) ([0-9a-f]{64})$", r.stdout, re.M))
            if (r.returncode != 0 or p != [h.hex() for h in subproof(m, leaves[:n], True)]
                    or roots.get("old-root") != mth(leaves[:m]).hex() or roots.get("new-root") != mth(leaves[:n]).hex()):
                bad.append(("consistency", m, n))
    t.ok(not bad, "audit consistency equals RFC 9162 PROOF(m, D[n]) for every 0 < m <= n <= 33", str(bad[:5]))
    r = cli("audit", "proof", "33", "--size", "33")
    t.ok(r.returncode != 0, "a proof for an index outside the tree is refused", r.stdout)

    rc, idx, out = verify()
    t.ok(rc == 0 and "33 entries" in out, "audit verify: a clean log without checkpoints verifies", out)
    r = cli("audit", "checkpoint")
    t.ok(r.returncode == 0 and "signed" in r.stdout, "audit checkpoint signs one (size 33)", r.stdout + r.stderr)
    for i in range(7):
        cli("admin", "list")
    r = cli("audit", "checkpoint")
    entries, pub, notes = export()
    leaves = [leaf(e) for e in entries]
    checked = {s: check_note(n, pub) for s, n in notes.items()}
    t.ok(sorted(notes) == [33, 40] and all(c and c[1] == s and c[2] == mth(leaves[:s]) and c[0] == "gw.demo.test/sealgate-audit"
                                          for s, c in checked.items()),
         "export: the checkpoints' Ed25519 signatures, key ids and roots verify independently", str(checked))
    forged = notes[40].replace("\n40\n", "\n39\n")
    t.ok(check_note(forged, pub) is None, "the independent verifier refuses an altered checkpoint")
    rc, idx, out = verify()
    t.ok(rc == 0 and "last signed size 40" in out, "audit verify: entries and checkpoints verify", out)

    shutil.copy(db, os.path.join(work, "clean.db"))

    def tampered(sql_fn, want, name):
        shutil.copy(os.path.join(work, "clean.db"), db)
        c = sqlite3.connect(db)
        sql_fn(c)
        c.commit()
        c.close()
        rc, idx, out = verify()
        t.ok(rc == 1 and idx == want, f"tamper: {name}: audit verify fails naming index {want}", out)

    def flip(c):
        e = bytearray(c.execute("SELECT entry FROM audit_log WHERE idx = 5").fetchone()[0])
        e[-1] ^= 1
        c.execute("UPDATE audit_log SET entry = ? WHERE idx = 5", (bytes(e),))

    def swap(c):
        a = c.execute("SELECT entry FROM audit_log WHERE idx = 3").fetchone()[0]
        b = c.execute("SELECT entry FROM audit_log WHERE idx = 4").fetchone()[0]
        c.execute("UPDATE audit_log SET entry = ? WHERE idx = 3", (b,))
        c.execute("UPDATE audit_log SET entry = ? WHERE idx = 4", (a,))

    def resign(c):
        # A checkpoint of size 33 replaced by one signed with another key (same origin).
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        k = Ed25519PrivateKey.generate()
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        kp = k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        o = "gw.demo.test/sealgate-audit"
        body = f"{o}\n33\n{base64.b64encode(mth(leaves[:33])).decode()}\n"
        kid = hashlib.sha256(o.encode() + b"\n\x01" + kp).digest()[:4]
        note = body + f"\n\u2014 {o} {base64.b64encode(kid + k.sign(body.encode())).decode()}\n"
        c.execute("UPDATE audit_checkpoints SET note = ? WHERE size = 33", (note,))

    def rewrite(c):
        # Entry 36 changed and every stored frontier from there on recomputed: only the signed
        # checkpoint of size 40 can tell, so the first index it cannot vouch for is 33.
        rows = c.execute("SELECT idx, entry FROM audit_log ORDER BY idx").fetchall()
        ents = [bytes(e) for _, e in rows]
        ents[36] = ents[36].replace(b"admin.list", b"admin.lisT")
        f, n = [], 0
        for i, e in enumerate(ents):
            f.append(leaf(e))
            m = n
            while m & 1 and len(f) >= 2:
                f[-2:] = [node(f[-2], f[-1])]
                m >>= 1
            n += 1
            if i >= 36:
                c.execute("UPDATE audit_log SET entry = ?, frontier = ? WHERE idx = ?", (e, b"".join(f), i))

    tampered(flip, 5, "a flipped byte in entry 5")
    tampered(lambda c: c.execute("DELETE FROM audit_log WHERE idx = 7"), 7, "entry 7 deleted")
    tampered(swap, 3, "entries 3 and 4 swapped")
    tampered(lambda c: c.execute("DELETE FROM audit_log WHERE idx >= 25"), 25, "the log truncated to 25 entries")
    tampered(resign, 32, "the checkpoint of size 33 replaced by one under another key")
    tampered(rewrite, 33, "entry 36 changed with the stored tree after it recomputed")
    shutil.copy(os.path.join(work, "clean.db"), db)
    rc, idx, out = verify()
    t.ok(rc == 0, "the untouched store verifies again", out)

    # cryptd signs checkpoints itself: every 3 new entries (checkpoint_every = 3).
    gw.start()
    for i in range(3):
        cli("admin", "list")
    size = len(export()[0])
    got = wait_for(lambda: size in export()[2], 15)
    t.ok(got, f"cryptd signed a checkpoint of size {size} after 3 new entries", str(sorted(export()[2])))
    entries, pub, notes = export()
    t.ok(check_note(notes[size], pub)[2] == mth([leaf(e) for e in entries[:size]]),
         "cryptd's checkpoint verifies independently")

    # Mail through SMTP: one entry per message (kind 2), before its output is visible.
    import smtplib
    mids = [f"<m{i}.audit@example.org>" for i in range(3)]
    for i, mid in enumerate(mids):
        msg = (f"From: s@example.org\r\nTo: u{i}@example.net\r\nMessage-ID: {mid}\r\nSubject: t\r\n\r\n"
               f"SECRET-BODY-{i}\r\n").encode()
        with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
            s.sendmail("s@example.org", [f"u{i}@example.net"], msg)

    def mail_entries():
        return [(j, dict(fields(e)[1])) for j, e in enumerate(export()[0]) if fields(e)[0] == 2]
    got = wait_for(lambda: len(mail_entries()) >= 3 and mail_entries(), 30) or []
    entries, pub, notes = export()
    want = {hashlib.sha256(m.encode()).hexdigest() for m in mids}
    t.ok(len(got) == 3 and {f["message-id-sha256"] for _, f in got} == want
         and all(f["outcome"] == "delivered" and f["node"] == "gw.demo.test" for _, f in got),
         "three messages: three mail entries with the Message-ID's SHA-256, outcome and node", str(got))
    t.ok(not any(b"SECRET-BODY" in e for e in entries), "no entry holds a message body")
    ok = True
    for j, f in got:
        r = cli("audit", "proof", f["queue"])
        p = [bytes.fromhex(h) for h in re.findall(r"^path ([0-9a-f]{64})$", r.stdout, re.M)]
        size = int(re.search(r"^size (\d+)$", r.stdout, re.M).group(1)) if r.returncode == 0 else 0
        idx = int(re.search(r"^index (\d+)$", r.stdout, re.M).group(1)) if r.returncode == 0 else -1
        ok = ok and idx == j and verify_inclusion(j, size, leaf(entries[j]), p, mth([leaf(e) for e in entries[:size]]))
    t.ok(ok and got, "audit proof QUEUE-ID: each message's inclusion proof verifies in the independent verifier")
finally:
    try:
        gw.stop()
    except Exception:
        pass
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(gw.dir, ignore_errors=True)
t.done()
