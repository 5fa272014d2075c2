#!/usr/bin/env python3
"""The policy end to end over SMTP, with the real engines and real peers: a gateway (smtpd,
cryptd, relay, sink) takes mail by SMTP and the sink shows what left. Policies are loaded with
`sealgate policy load` while the gateway runs (reload without restart). Cases: encrypt all
(S/MIME and OpenPGP by the recipient's key), the [encrypt] keyword, sender-based encryption,
mixed recipients restrictive and liberal, no key -> hold + notice with the message kept (and
released once the key is known), {send_keys}, the archive copy, already-encrypted input (signed,
not encrypted again), and incoming mail that cannot be decrypted (held; the administrator, and
whom the rule names, told). Owner: src/policy."""
import email
import email.policy
import os
import pathlib
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, gpg_runner, listdir, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-polsmtp-")
GH = os.path.join(tmp, "gnupg")
gpg = gpg_runner(GH)
NEW = os.path.join(gw.sink_dir, "new")


def gpg_key(uid, addr):
    """A correspondent's key made by gpg (ed25519 + cv25519 encryption subkey); its fingerprint."""
    gpg("--quick-gen-key", uid, "ed25519", "sign,cert", "never")
    listing = gpg("--with-colons", "--list-keys", addr).stdout.decode().splitlines()
    fpr = next(l.split(":")[9] for l in listing if l.startswith("fpr:"))
    gpg("--quick-add-key", fpr, "cv25519", "encr", "never")
    return fpr


def write(name, data):
    path = pathlib.Path(tmp, name)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return str(path)


def sink_files():
    return set(os.listdir(NEW)) if os.path.isdir(NEW) else set()


def rcpts_of(data):
    return re.findall(rb"^Delivered-To: (.*?)\r?$", data, re.M)


def send(msg, rcpts, sender="alice@demo.test", expect=None, settle=1.0):
    """Sends over SMTP; returns {recipient: [delivered bytes, ...]} after expect files (or settle)."""
    before = sink_files()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, rcpts, msg)
    if expect:
        wait_for(lambda: len(sink_files() - before) >= expect, 30)
    time.sleep(settle)
    out = {}
    for f in sorted(sink_files() - before):
        with open(os.path.join(NEW, f), "rb") as fh:
            d = fh.read()
        for r in rcpts_of(d):
            out.setdefault(r.decode(), []).append(d)
    return out


def one(got, rcpt):
    v = got.get(rcpt, [])
    return v[0] if len(v) == 1 else None


def split(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return (data[:m.start()], data[m.end():]) if m else (data, b"")


def header(data, name):
    m = re.search(rb"^" + name.encode() + rb": ?(.*?)\r?$", split(data)[0], re.M | re.I)
    return m.group(1).decode(errors="replace") if m else None


def is_pgp(d):
    return d is not None and b"multipart/encrypted" in split(d)[0] and b"application/pgp-encrypted" in split(d)[0]


def is_smime_enc(d):
    return d is not None and b"application/pkcs7-mime" in split(d)[0] and b"enveloped-data" in split(d)[0]


def is_signed(d):
    h = split(d)[0] if d else b""
    return b"multipart/signed" in h or b"signed-data" in h


def gpg_decrypt(d):
    m = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----\r?\n", d or b"", re.S)
    r = gpg("--status-fd", "2", "--decrypt", input=m.group(0) if m else b"")
    return (r.stdout if r.returncode == 0 else None), r.stderr.decode(errors="replace")


def load(name, text):
    """Loads a policy and waits until cryptd has it in force."""
    n = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", write(name, text))
    ok = r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > n, 10)
    t.ok(bool(ok), f"policy {name} loaded and in force", r.stdout + r.stderr)


def held_files():
    return set(listdir(gw.spool, "hold"))


def msg(subject, to="x@x.example", extra=b"", body=b"The secret plan.\r\n"):
    return (b"From: Alice <alice@demo.test>\r\nTo: " + to.encode() + b"\r\nSubject: " + subject.encode() +
            b"\r\nMessage-ID: <" + str(time.time()).encode() + b"@demo.test>\r\n" + extra + b"\r\n" + body)


try:
    gw.start()
    # cryptd has the store open and migrated once a policy is in force: the CLI comes after
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    # ---- keys: alice (sealgate, OpenPGP), bob (gpg, OpenPGP), carol (S/MIME by the local CA) ----
    r = gw.cli("key", "generate", "alice@demo.test")
    alice_fpr = r.stdout.strip()
    t.ok(r.returncode == 0 and len(alice_fpr) == 40, "alice's OpenPGP key generated", r.stderr)
    bob = gpg_key("Bob <bob@x.example>", "bob@x.example")
    r = gw.cli("key", "import", write("bob.asc", gpg("--armor", "--export", bob).stdout))
    t.ok(r.returncode == 0, "bob's gpg key imported", r.stdout + r.stderr)
    gpg("--import", input=gw.cli("key", "export", alice_fpr).stdout.encode())
    r1, r2 = gw.cli("ca", "init"), gw.cli("ca", "issue", "carol@x.example")
    t.ok(r1.returncode == 0 and r2.returncode == 0, "the local CA issues carol@x.example a certificate", r1.stderr + r2.stderr)

    # ---- explain with real keys: what would happen, nothing sent ----
    before = sink_files()
    r = gw.cli("policy", "explain", "--from", "alice@demo.test", "--to", "bob@x.example", "--to", "carol@x.example",
               "--to", "erin@y.example", "--subject", "[encrypt] numbers")
    out = r.stdout
    t.ok(r.returncode == 0 and "deliver encrypted (pgp) and signed (sender key)" in out
         and "deliver encrypted (smime) and signed (sender key)" in out
         and "hold: no usable key or certificate for erin@y.example; the sender is told" in out
         and "groups (3; each is its own message)" in out,
         "explain: bob by OpenPGP, carol by S/MIME, erin held: three groups", out + r.stderr)
    time.sleep(1)
    t.ok(sink_files() == before, "explain sent nothing")

    # ---- the default policy: [encrypt] keyword; no key -> hold + notice, message kept ----
    before_hold = held_files()
    got = send(msg("Offer [encrypt] today"), ["bob@x.example", "dave@y.example"], expect=2)
    b = one(got, "bob@x.example")
    t.ok(is_pgp(b) and header(b, "Subject") == "...", "[encrypt]: bob (OpenPGP key) gets it encrypted", str(got.keys()))
    plain, st = gpg_decrypt(b)
    t.ok(plain is not None and b"Subject: Offer today" in plain and "GOODSIG" in st,
         "[encrypt]: the keyword is stripped from the protected Subject; alice's signature verifies",
         st.replace("\n", " / ") + repr((plain or b"")[:300]))
    t.ok("dave@y.example" not in got, "[encrypt]: dave (no key) gets nothing", str(got.keys()))
    notice = one(got, "alice@demo.test")
    t.ok(notice is not None and b"Return-Path: <>" in notice and b"Message held" in notice
         and b"<dave@y.example>: no usable key or certificate for dave@y.example" in notice
         and b"<bob@x.example>" not in split(notice)[1].split(b"Subject:")[0],
         "[encrypt]: the sender is told, from <>, which recipient could not be reached securely",
         (notice or b"")[:600].decode(errors="replace"))
    held = held_files() - before_hold
    t.ok(len(held) == 1, "[encrypt]: the message is kept in hold/", str(held))
    if held:
        h = held.pop()
        show = gw.cli("queue", "show", h).stdout
        t.ok("dave@y.example" in show and "bob@x.example" not in show and "no usable key" in show,
             "queue show: the held copy is dave's, with the reason", show)
        # the key becomes known: release sends it through the policy again, now encrypted
        dave = gpg_key("Dave <dave@y.example>", "dave@y.example")
        gw.cli("key", "import", write("dave.asc", gpg("--armor", "--export", dave).stdout))
        before = sink_files()
        gw.cli("queue", "release", h)
        wait_for(lambda: sink_files() - before, 30)
        time.sleep(1)
        new = [open(os.path.join(NEW, f), "rb").read() for f in sink_files() - before]
        d = [x for x in new if b"dave@y.example" in rcpts_of(x)[0]] if new else []
        t.ok(len(d) == 1 and is_pgp(d[0]) and gpg_decrypt(d[0])[0] is not None,
             "released after dave's key was imported: delivered encrypted",
             str([rcpts_of(x) for x in new]) + repr(d[0][:900] if d else ""))

    # ---- default: opportunistic; already-encrypted input passes as it is ----
    got = send(msg("hello"), ["bob@x.example", "carol@x.example", "erin@y.example"], expect=3)
    t.ok(is_pgp(one(got, "bob@x.example")) and is_smime_enc(one(got, "carol@x.example")),
         "default: each recipient encrypted with the method of its key", str({k: header(v[0], "Content-Type") for k, v in got.items()}))
    e = one(got, "erin@y.example")
    t.ok(e is not None and is_signed(e) and not is_pgp(e) and not is_smime_enc(e),
         "default: a recipient without a key gets it signed, not encrypted", (e or b"")[:300].decode(errors="replace"))
    enc = gpg("--armor", "--encrypt", "-r", bob, input=b"Content-Type: text/plain\r\n\r\nclient-encrypted\r\n").stdout
    pgpmime = (b"From: alice@demo.test\r\nTo: bob@x.example\r\nSubject: mine\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"
               b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\n"
               b"Content-Type: application/octet-stream\r\n\r\n" + enc.replace(b"\n", b"\r\n") + b"\r\n--e--\r\n")
    b = one(send(pgpmime, ["bob@x.example"], expect=1), "bob@x.example")
    armored = re.search(rb"-----BEGIN PGP MESSAGE-----.*?-----END PGP MESSAGE-----", pgpmime, re.S).group(0)
    t.ok(b is not None and is_signed(b) and armored in b and b.count(b"-----BEGIN PGP MESSAGE-----") == 1,
         "already encrypted by the client: not encrypted again, signed around it",
         (b or b"")[:400].decode(errors="replace"))

    # ---- encrypt all, sender-based, archive ----
    load("all.conf", """
groups = ( { name = "board"; members = ["ceo@demo.test"]; } );
rules = (
  { name = "archive"; if = { from_group = "board"; }; then = ( { archive = "vault@demo.test"; } ); continue = true; },
  { name = "board"; if = { from_group = "board"; direction = "outgoing"; };
    then = ( { encrypt = ["pgp"]; }, "sign" ); },
  { name = "all"; if = { direction = "outgoing"; }; then = ( "encrypt", "sign" ); },
  { name = "rest"; then = "deliver"; }
);
""")
    got = send(msg("plan"), ["bob@x.example", "carol@x.example"], expect=2)
    t.ok(is_pgp(one(got, "bob@x.example")) and is_smime_enc(one(got, "carol@x.example")),
         "encrypt all: both recipients encrypted, one message each", str(got.keys()))
    before_hold = held_files()
    got = send(msg("plan", to="erin@y.example"), ["erin@y.example"], expect=1)
    t.ok("erin@y.example" not in got and len(held_files() - before_hold) == 1 and one(got, "alice@demo.test") is not None,
         "encrypt all: no key -> held and the sender told", str(got.keys()))
    ceo = msg("board plan").replace(b"Alice <alice@demo.test>", b"CEO <ceo@demo.test>")
    got = send(ceo, ["bob@x.example", "carol@x.example"], sender="ceo@demo.test", expect=3)
    t.ok(is_pgp(one(got, "bob@x.example")), "sender-based: the board's mail to bob is OpenPGP-encrypted", str(got.keys()))
    t.ok("carol@x.example" not in got and one(got, "ceo@demo.test") is not None,
         "sender-based: carol has no OpenPGP key: held, the CEO told", str(got.keys()))
    v = one(got, "vault@demo.test")
    t.ok(v is not None and b"Return-Path: <>" in v and split(v)[1] == split(ceo)[1],
         "archive: one copy of the original (plaintext, archived before encryption), from <>", str(got.keys()))

    # ---- mixed recipients: restrictive, then liberal ----
    for mode in ("restrictive", "liberal"):
        load(f"mixed-{mode}.conf", f"""
rules = ( {{ name = "out"; if = {{ direction = "outgoing"; }}; then = ( "encrypt" ); mixed = "{mode}"; }},
          {{ name = "rest"; then = "deliver"; }} );
""")
        before_hold = held_files()
        m = msg(f"mixed {mode}")
        got = send(m, ["bob@x.example", "erin@y.example"], expect=2)
        t.ok(is_pgp(one(got, "bob@x.example")), f"mixed {mode}: bob gets it encrypted", str(got.keys()))
        e = one(got, "erin@y.example")
        if mode == "restrictive":
            t.ok(e is None and len(held_files() - before_hold) == 1 and one(got, "alice@demo.test") is not None,
                 "mixed restrictive: erin gets nothing, the message is held for her, alice is told", str(got.keys()))
        else:
            t.ok(e is not None and split(e)[1] == split(m)[1] and held_files() == before_hold,
                 "mixed liberal: erin gets it unprotected, nothing held", str(got.keys()))

    # ---- {send_keys} ----
    load("sendkeys.conf", """
rules = (
  { name = "send-keys"; if = { direction = "outgoing"; keyword = "send_keys"; };
    then = ( "attach_keys", "strip_keyword" ); continue = true; },
  { name = "rest"; then = "deliver"; }
);
""")
    got = send(msg("my keys {send_keys}", to="erin@y.example"), ["erin@y.example"], expect=1)
    e = one(got, "erin@y.example")
    parsed = email.message_from_bytes(e or b"", policy=email.policy.default)
    keys = [p for p in parsed.walk() if p.get_content_type() == "application/pgp-keys"]
    t.ok(e is not None and header(e, "Subject") == "my keys" and len(keys) == 1
         and b"BEGIN PGP PUBLIC KEY BLOCK" in keys[0].get_payload(decode=True),
         "{send_keys}: alice's public key attached, the command removed", (e or b"")[:400].decode(errors="replace"))
    certs = [p for p in parsed.walk() if p.get_content_type() == "application/pkix-cert"]
    x = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-ext", "subjectAltName"],
                       input=certs[0].get_payload(decode=True) if certs else b"", capture_output=True)
    t.ok(len(certs) == 1 and x.returncode == 0 and b"alice@demo.test" in x.stdout,
         "{send_keys}: alice's S/MIME certificate attached too (issued when she first signed S/MIME)",
         x.stdout.decode() + x.stderr.decode())
    if keys:
        imp = gpg("--import", input=keys[0].get_payload(decode=True))
        t.ok(imp.returncode == 0 and "alice@demo.test" in imp.stderr.decode(), "{send_keys}: gpg imports the attached key",
             imp.stderr.decode())

    # ---- incoming mail that cannot be decrypted: held, sender and recipient told ----
    load("incoming.conf", """
rules = ( { name = "in"; if = { direction = "incoming"; }; then = ( { decrypt = ["sender", "recipient"]; } ); },
          { name = "rest"; then = "deliver"; } );
""")
    nomdc = gpg("--armor", "--rfc2440", "--cipher-algo", "AES256", "--encrypt", "-r", "alice@demo.test",
                input=b"Content-Type: text/plain\r\n\r\nno integrity\r\n").stdout
    m = (b"From: Bob <bob@x.example>\r\nTo: alice@demo.test\r\nSubject: efail\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"
         b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\n"
         b"Content-Type: application/octet-stream\r\n\r\n" + nomdc.replace(b"\n", b"\r\n") + b"\r\n--e--\r\n")
    before_hold = held_files()
    got = send(m, ["alice@demo.test"], sender="bob@x.example", expect=3)
    a, b, pm = one(got, "alice@demo.test"), one(got, "bob@x.example"), one(got, "postmaster@demo.test")
    t.ok(len(held_files() - before_hold) == 1, "undecryptable incoming: held", str(held_files()))
    t.ok(a is not None and b"could not be decrypted" in a and b"no integrity" not in a and b"BEGIN PGP MESSAGE" not in a,
         "undecryptable incoming: alice is told, without the content", (a or b"")[:500].decode(errors="replace"))
    t.ok(b is not None and b"Return-Path: <>" in b and b"could not be decrypted" in b,
         "undecryptable incoming: the sender is told, from <>", (b or b"")[:300].decode(errors="replace"))
    t.ok(pm is not None and b"Policy alert" in pm and b"integrity" in pm,
         "undecryptable incoming: the administrator is alerted", (pm or b"")[:400].decode(errors="replace"))

    # ---- no rule decides: the message is delivered, never accepted and dropped ----
    load("nomatch.conf", 'rules = ( { name = "fin"; if = { from = "nobody@demo.test"; };\n'
                         '  then = ( { add_header = "X-Fin: yes"; } ); } );\n')
    got = send(msg("no rule matches"), ["x@x.example"], expect=1)
    d = one(got, "x@x.example")
    t.ok(d is not None and b"The secret plan." in d and b"X-Fin" not in d,
         "no rule matches: delivered unchanged (docs/policy.md), not lost", str(got.keys()))
    load("contonly.conf", 'rules = ( { name = "tag"; if = { from = "alice@demo.test"; };\n'
                          '  then = ( { add_header = "X-Tag: yes"; } ); continue = true; } );\n')
    got = send(msg("only a continue rule matches"), ["x@x.example"], expect=1)
    d = one(got, "x@x.example")
    t.ok(d is not None and b"X-Tag: yes" in d and b"The secret plan." in d,
         "only a continue rule matches: delivered with what it added, not lost", str(got.keys()))

    # ---- a broken policy is refused; the one in force stays ----
    n = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", write("broken.conf", "rules = ( { then = ( \"teleport\" ); } );\n"))
    t.ok(r.returncode == 1 and "broken.conf:1: unknown action 'teleport'" in r.stderr, "load refuses a broken policy",
         r.stderr)
    time.sleep(1.5)
    t.ok(gw.log_text().count("event=policy-loaded") == n, "cryptd keeps the policy in force")

    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    subprocess.run(["gpgconf", "--homedir", GH, "--kill", "all"], capture_output=True)  # its agent
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
