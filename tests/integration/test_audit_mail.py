#!/usr/bin/env python3
"""Mail entries of the tamper-evident log (issue 14, docs/audit.md "Mail decisions") end to end
through SMTP: an outgoing message encrypted to a gpg correspondent is logged with its direction,
policy revision, rule and decision, the fingerprints of the keys used and outcome "delivered",
and the entry exists by the time the message reached the next hop; an incoming message signed
by that correspondent is logged with the engine's verdict and the signer's fingerprint; a held
message is logged "held". `sealgate audit search` finds entries by queue id, address, outcome
and time, `audit show` gives an entry with an inclusion proof that the independent verifier of
this file checks against the signed checkpoint. With audit.hmac_addresses the entries hold no
address at all, and search by address still finds them. Owner: src/audit."""
import base64
import hashlib
import json
import os
import re
import shutil
import smtplib
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, gpg_runner, wait_for  # noqa: E402
import tlogverify as tlv  # noqa: E402

t = Tap()
AUDIT = "audit = { checkpoint_every = 1; checkpoint_seconds = 1; %s };\n"
gw = Gateway()
gw.write_config('internal_domains = ["demo.test"];\n' + AUDIT % "")
tmp = tempfile.mkdtemp(prefix="sg-auditmail-")
gpg = gpg_runner(os.path.join(tmp, "gnupg"))
NEW = os.path.join(gw.sink_dir, "new")


def fields(entry):
    kind, pairs = tlv.fields(entry)
    return kind, dict(pairs)


def export():
    d = tempfile.mkdtemp(dir=tmp)
    r = gw.cli("audit", "export", d)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(d, "entries"), "rb") as f:
        return tlv.parse_entries(f.read())


def mail_entries():
    return [(j, fields(e)[1], e) for j, e in enumerate(export()) if fields(e)[0] == 2]


def cli_json(*args):
    r = gw.cli(*args, "--json")
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"raw": r.stdout + r.stderr}


def sink_files():
    return set(os.listdir(NEW)) if os.path.isdir(NEW) else set()


def send(sender, rcpts, msg):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, rcpts, msg)


def msg(frm, to, mid, subject="t", body=b"SECRET-BODY\r\n"):
    return (f"From: {frm}\r\nTo: {to}\r\nMessage-ID: {mid}\r\nSubject: {subject}\r\n\r\n").encode() + body


def entry_for(mid):
    h = hashlib.sha256(mid.encode()).hexdigest()
    got = [x for x in mail_entries() if x[1].get("message-id-sha256") == h]
    return got[-1] if got else None


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    gpg("--quick-gen-key", "Bob <bob@x.example>", "ed25519", "sign,cert", "never")
    bob = next(l.split(":")[9] for l in gpg("--with-colons", "--list-keys", "bob@x.example").stdout.decode()
               .splitlines() if l.startswith("fpr:"))
    gpg("--quick-add-key", bob, "cv25519", "encr", "never")
    bob_keys = [l.split(":")[9].upper() for l in gpg("--with-colons", "--list-keys", "bob@x.example").stdout.decode()
                .splitlines() if l.startswith("fpr:")]
    path = os.path.join(tmp, "bob.asc")
    with open(path, "wb") as f:
        f.write(gpg("--armor", "--export", bob).stdout)
    r = gw.cli("key", "import", path)
    t.ok(r.returncode == 0, "bob's gpg key imported", r.stdout + r.stderr)

    # ---- outgoing, encrypted to bob: the entry is there when the message has left ----
    before = sink_files()
    send("alice@demo.test", ["bob@x.example"], msg("Alice <alice@demo.test>", "bob@x.example", "<out1@demo.test>"))
    new = wait_for(lambda: sink_files() - before, 30)
    e = entry_for("<out1@demo.test>")
    t.ok(new and e is not None, "the delivered message's entry exists by the time the next hop has it",
         str(new))
    f = e[1] if e else {}
    t.ok(f.get("direction") == "outgoing" and f.get("outcome") == "delivered" and f.get("from") == "alice@demo.test"
         and f.get("rcpt") == "bob@x.example" and f.get("addresses") == "clear"
         and re.fullmatch(r"-?\d+", f.get("policy-rev", "")) is not None,
         "outgoing entry: direction, outcome delivered, envelope, policy revision", str(f))
    t.ok(f.get("decisions", "").startswith("outgoing|outgoing|deliver encrypted (pgp) and signed"),
         "the decision names the rule, the direction and what was done", f.get("decisions"))
    keys = f.get("keys", "")
    t.ok(keys.startswith("pgp sign=") and any(("ENC=" + k) in keys.upper() for k in bob_keys),
         "the keys used are logged: the sender's signing key and bob's encryption key by fingerprint",
         keys + " " + str(bob_keys))
    t.ok(f.get("node") == "gw.demo.test" and abs(int(f.get("time", "0")) - time.time()) < 3600,
         "node and time are logged")

    # ---- incoming, clear-signed by bob: the engine's verdict and the signer ----
    signed = gpg("--clearsign", "-u", bob, input=b"Hello alice, the numbers are fine.\n").stdout.replace(b"\n", b"\r\n")
    send("bob@x.example", ["alice@demo.test"], msg("Bob <bob@x.example>", "alice@demo.test", "<in1@x.example>",
                                                   body=signed))
    e = wait_for(lambda: entry_for("<in1@x.example>"), 30)
    f = e[1] if e else {}
    t.ok(f.get("direction") == "incoming" and "incoming|incoming|" in f.get("decisions", ""),
         "incoming entry: direction and the incoming rule", str(f))
    t.ok("sig=valid" in f.get("engine", "") and bob.upper() in f.get("engine", "").upper(),
         "the engine result is logged: signature valid, by bob's fingerprint", f.get("engine"))

    # ---- held: [encrypt] to a recipient without a key ----
    send("alice@demo.test", ["erin@y.example"],
         msg("Alice <alice@demo.test>", "erin@y.example", "<held1@demo.test>", subject="[encrypt] x"))
    e = wait_for(lambda: entry_for("<held1@demo.test>"), 30)
    f = e[1] if e else {}
    t.ok("held" in f.get("outcome", "").split(",") and "erin@y.example" in f.get("groups", ""),
         "a held group is logged with outcome held and its reason", str(f))
    entries = export()
    t.ok(not any(b"SECRET-BODY" in x or b"numbers are fine" in x for x in entries), "no entry holds a body")

    # ---- audit search ----
    rc, out = cli_json("audit", "search", "--address", "bob@x.example")
    got = {i.get("message-id-sha256") for i in out.get("items", [])}
    want = {hashlib.sha256(m.encode()).hexdigest() for m in ("<out1@demo.test>", "<in1@x.example>")}
    t.ok(rc == 0 and got == want and out.get("total") == 2, "audit search --address: bob's two messages", str(out))
    rc, out = cli_json("audit", "search", "--outcome", "held")
    t.ok(rc == 0 and [i.get("message-id-sha256") for i in out.get("items", [])]
         == [hashlib.sha256(b"<held1@demo.test>").hexdigest()], "audit search --outcome held: the held one", str(out))
    q = entry_for("<out1@demo.test>")
    rc, out = cli_json("audit", "search", "--queue", q[1]["queue"])
    t.ok(rc == 0 and out.get("total") == 1 and out["items"][0]["index"] == q[0], "audit search --queue", str(out))
    rc, out = cli_json("audit", "search", "--since", str(int(time.time()) + 3600))
    t.ok(rc == 0 and out.get("total") == 0, "audit search --since the future: nothing", str(out))
    rc, out = cli_json("audit", "search", "--kind", "admin", "--limit", "2")
    t.ok(rc == 0 and len(out.get("items", [])) == 2 and out.get("total", 0) > 2
         and out["items"][0]["index"] > out["items"][1]["index"], "audit search --kind admin: newest first, paged",
         str(out)[:400])

    # ---- audit show: the proof checks in this file's verifier against the signed checkpoint ----
    idx = q[0]
    wait_for(lambda: cli_json("audit", "show", str(idx))[1].get("checkpoint"), 15)
    rc, out = cli_json("audit", "show", str(idx))
    cp = out.get("checkpoint", {})
    pub = base64.b64decode(open(os.path.join(gw.base, "keys", "audit.pub")).read().strip())
    head = tlv.check_note(cp.get("note", ""), pub)
    ok = (rc == 0 and out.get("proof_ok") is True and cp.get("signature_ok") is True and head is not None
          and tlv.verify_inclusion(idx, head[1], tlv.leaf(q[2]), [bytes.fromhex(h) for h in out.get("proof", [])],
                                   head[2]))
    t.ok(ok, "audit show: the entry's inclusion proof and the checkpoint's signature verify independently",
         str(out)[:600])
    rc, out2 = cli_json("audit", "show", q[1]["queue"])
    t.ok(rc == 0 and out2.get("index") == idx, "audit show QUEUE-ID gives the same entry")
    rc, _ = cli_json("audit", "show", "999999")
    t.ok(rc != 0, "audit show of an index past the log fails")

    # ---- hashed addresses ----
    gw.stop()
    gw.write_config('internal_domains = ["demo.test"];\n' + AUDIT % "hmac_addresses = true;")
    gw.start()
    send("alice@demo.test", ["bob@x.example"], msg("Alice <alice@demo.test>", "bob@x.example", "<out2@demo.test>"))
    e = wait_for(lambda: entry_for("<out2@demo.test>"), 30)
    f = e[1] if e else {}
    t.ok(f.get("addresses") == "hmac-sha256" and re.fullmatch(r"hmac:[0-9a-f]{64}", f.get("from", ""))
         and not any("@" in v for v in f.values()), "with hmac_addresses the entry holds HMACs and no address at all",
         str([(k, v) for k, v in f.items() if "@" in v]))
    rc, out = cli_json("audit", "search", "--address", "Bob@X.example")
    got = {i.get("message-id-sha256") for i in out.get("items", [])}
    t.ok(rc == 0 and hashlib.sha256(b"<out2@demo.test>").hexdigest() in got and len(got) == 3,
         "search by address finds hashed and clear entries alike", str(out)[:400])
    st = os.stat(os.path.join(gw.base, "audit", "hmac.key"))
    t.ok(st.st_mode & 0o007 == 0, "the address key is not readable by others")
    r = gw.cli("audit", "verify")
    t.ok(r.returncode == 0, "the log verifies", r.stdout + r.stderr)
finally:
    try:
        gw.stop()
    except Exception:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(gw.dir, ignore_errors=True)
t.done()
