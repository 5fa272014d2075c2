#!/usr/bin/env python3
"""Decryption oracles through SMTP (issue 9, item 6): whoever holds a ciphertext must not get
its plaintext back by mailing it to its owner inside a wrapper of their own. A gateway under the
shipped default policy takes mail from an outside sender for alice@demo.test, whose OpenPGP key
and S/MIME certificate it holds; the ciphertexts are made by gpg and `openssl cms`. Shapes, in
both formats where the format has them: the encrypted part beside attacker text in
multipart/mixed, as one alternative of multipart/alternative, an inline armored block with
attacker text around it (each: delivered as it arrived, stamped embedded-ciphertext, no
plaintext); protected headers whose outer Reply-To, Mail-Followup-To, Cc differ (the protected
ones win, the others go); no protected headers (stamped unprotected-headers); the repaired
"mixed-up" shape (empty placeholder before the PGP/MIME pair) still readable; and a rule that
holds embedded ciphertext and unprotected headers for the administrator. Owner: src/cryptd."""
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
from sgtest import Gateway, Tap, asan_binary, listdir, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-oracle-")
GH = os.path.join(tmp, "gnupg")
os.makedirs(GH, mode=0o700)
NEW = os.path.join(gw.sink_dir, "new")
GPG = ["gpg", "--homedir", GH, "--batch", "--yes", "--trust-model", "always"]
OUTER = (b"From: Bob <bob@x.example>\r\nTo: alice@demo.test\r\nSubject: ...\r\n"
         b"Reply-To: mallory@evil.example\r\nMail-Followup-To: mallory@evil.example\r\nCc: mallory@evil.example\r\n")


def crlf(b):
    return re.sub(rb"(?<!\r)\n", b"\r\n", b)


def split(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return (data[:m.start()], data[m.end():]) if m else (data, b"")


def sink_files():
    return set(os.listdir(NEW)) if os.path.isdir(NEW) else set()


def send(msg, want="alice@demo.test"):
    """Sends from outside to alice; what was delivered to want (None when nothing came)."""
    before = sink_files()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("bob@x.example", ["alice@demo.test"], msg)
    wait_for(lambda: sink_files() - before, 20)
    time.sleep(0.5)
    for f in sorted(sink_files() - before):
        d = pathlib.Path(NEW, f).read_bytes()
        if re.search(rb"^Delivered-To: " + re.escape(want.encode()) + rb"\r?$", d, re.M):
            return d
    return None


def pgp(entity):
    """entity encrypted by gpg to alice's key, as a PGP/MIME multipart/encrypted entity."""
    arm = subprocess.run(GPG + ["--armor", "--encrypt", "-r", "alice@demo.test"], input=entity,
                         capture_output=True, timeout=60).stdout
    return (b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"
            b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + crlf(arm) + b"\r\n--e--\r\n"), crlf(arm)


def smime(entity):
    """entity encrypted by `openssl cms` to alice's certificate, as an application/pkcs7-mime entity."""
    r = subprocess.run(["openssl", "cms", "-encrypt", "-binary", "-aes256", "-recip", ALICE_PEM],
                       input=entity, capture_output=True, timeout=60)
    hdr, body = split(crlf(r.stdout))
    fields = b"\r\n".join(l for l in hdr.split(b"\r\n") if not l.lower().startswith(b"mime-version"))
    return fields + b"\r\n\r\n" + body


def message(body_entity, outer=OUTER):
    return outer + b"MIME-Version: 1.0\r\n" + body_entity


def multipart(kind, first, second):
    return (b"Content-Type: multipart/" + kind + b"; boundary=\"W\"\r\n\r\n--W\r\n" + first + b"\r\n--W\r\n" +
            second + b"\r\n--W--\r\n")


ATTACKER = b"Content-Type: text/plain\r\n\r\nPlease reply and quote the part below, thank you.\r\n"


def closed(d, sent, secret, what):
    """Delivered as it arrived, stamped embedded-ciphertext, the plaintext nowhere."""
    t.ok(d is not None and re.search(rb"^X-Sealgate-Decryption: none; reason=embedded-ciphertext\r?$", split(d)[0], re.M)
         and split(d)[1] == split(sent)[1] and secret not in d,
         what + ": not opened, body as it arrived, stamped embedded-ciphertext", (d or b"")[:700].decode(errors="replace"))


def header_field(d, name):
    return re.findall(rb"^" + name + rb": (.*?)\r?$", split(d)[0], re.M | re.I)


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    r = gw.cli("key", "generate", "alice@demo.test")
    alice_fpr = r.stdout.strip()
    subprocess.run(GPG + ["--import"], input=gw.cli("key", "export", alice_fpr).stdout.encode(), capture_output=True)
    r1, r2 = gw.cli("ca", "init"), gw.cli("ca", "issue", "alice@demo.test", "--usage", "both")
    pem = gw.cli("cert", "export", r2.stdout.strip()).stdout
    ALICE_PEM = os.path.join(tmp, "alice.pem")
    pathlib.Path(ALICE_PEM).write_text(pem)
    t.ok(len(alice_fpr) == 40 and r1.returncode == 0 and r2.returncode == 0 and "BEGIN CERTIFICATE" in pem,
         "alice has an OpenPGP key and an S/MIME certificate held by the gateway", r1.stderr + r2.stderr)

    plain = b"Content-Type: text/plain\r\n\r\nSECRET-PLAN-42\r\n"
    enc = {"OpenPGP": pgp(plain)[0], "S/MIME": smime(plain)}
    for fmt, e in enc.items():
        for kind in (b"mixed", b"alternative"):
            # alternative: the attacker's plain text is the first (the one clients fall back to)
            m = message(multipart(kind, ATTACKER, e))
            closed(send(m), m, b"SECRET-PLAN-42", f"{fmt}: ciphertext beside attacker text in multipart/{kind.decode()}")
    # inline: the armored block with the attacker's text around it
    arm = pgp(b"SECRET-PLAN-42\r\n")[1]
    m = message(b"Content-Type: text/plain\r\n\r\nPlease quote this in your reply:\r\n\r\n" + arm + b"\r\nthanks\r\n")
    closed(send(m), m, b"SECRET-PLAN-42", "OpenPGP: inline armored block with attacker text around it")

    # protected headers: the wrapper's reply fields go, the protected ones count
    prot = (b"Content-Type: text/plain; protected-headers=\"v1\"\r\nFrom: Bob <bob@x.example>\r\n"
            b"To: alice@demo.test\r\nReply-To: bob-desk@x.example\r\nSubject: the real subject\r\n\r\nprotected body\r\n")
    unprot = b"Content-Type: text/plain\r\n\r\nunprotected body\r\n"
    for fmt, make in (("OpenPGP", lambda x: pgp(x)[0]), ("S/MIME", smime)):
        d = send(message(make(prot)))
        t.ok(d is not None and b"protected body" in split(d)[1] and b"mallory" not in split(d)[0]
             and header_field(d, b"Reply-To") == [b"bob-desk@x.example"] and not header_field(d, b"Cc")
             and not header_field(d, b"Mail-Followup-To") and header_field(d, b"From") == [b"Bob <bob@x.example>"]
             and re.search(rb"^X-Sealgate-Decryption: full\r?$", split(d)[0], re.M),
             f"{fmt}: protected headers replace the wrapper's Reply-To, Mail-Followup-To and Cc",
             split(d or b"")[0].decode(errors="replace"))
        d = send(message(make(unprot)))
        t.ok(d is not None and b"unprotected body" in split(d)[1]
             and re.search(rb"^X-Sealgate-Decryption: full; unprotected-headers\r?$", split(d)[0], re.M),
             f"{fmt}: no protected headers: decrypted (the shipped default), stamped unprotected-headers",
             split(d or b"")[0].decode(errors="replace"))

    # the repaired "mixed-up" shape: an empty placeholder before the PGP/MIME pair
    arm = pgp(plain)[1]
    m = message(b"Content-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\n\r\n"
                b"--X\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--X\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + arm + b"\r\n--X--\r\n")
    d = send(m)
    t.ok(d is not None and split(d)[1] == b"SECRET-PLAN-42\r\n" and b"X-Sealgate-Decryption: full" in split(d)[0],
         "OpenPGP: mixed-up shape behind an empty placeholder: decrypted, the whole body replaced",
         (d or b"")[:600].decode(errors="replace"))

    # a rule that holds such mail for the administrator
    n = gw.log_text().count("event=policy-loaded")
    pol = os.path.join(tmp, "hold.conf")
    pathlib.Path(pol).write_text(
        'rules = ( { name = "in"; if = { direction = "incoming"; };\n'
        '            then = ( { decrypt = ["hold_embedded_ciphertext", "hold_unprotected_headers"]; } ); },\n'
        '          { name = "rest"; then = "deliver"; } );\n')
    r = gw.cli("policy", "load", pol)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > n, 10),
         "policy holding embedded ciphertext and unprotected headers loaded", r.stdout + r.stderr)
    for what, m in (("embedded ciphertext (OpenPGP)", message(multipart(b"mixed", ATTACKER, enc["OpenPGP"]))),
                    ("unprotected headers (S/MIME)", message(smime(unprot)))):
        held = set(listdir(gw.spool, "hold"))
        pm = send(m, want="postmaster@demo.test")
        new = set(listdir(gw.spool, "hold")) - held
        t.ok(len(new) == 1 and pm is not None and b"Policy alert" in pm,
             f"rule holds {what}: kept in hold/, the administrator alerted", (pm or b"")[:400].decode(errors="replace"))
    d = send(message(smime(prot)))
    t.ok(d is not None and b"protected body" in d, "the same rule delivers protected, whole-message ciphertext")

    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    subprocess.run(["gpgconf", "--homedir", GH, "--kill", "all"], capture_output=True)
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
