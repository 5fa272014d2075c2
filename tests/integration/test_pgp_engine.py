#!/usr/bin/env python3
"""The OpenPGP engine's outputs that the built-in transform does not make yet (the policy
engine will), checked by real peers, and unwrap on what real peers make, through the test
driver build/tests/tools/sg-engine (engine protect / unwrap with a gateway's store and KEK).
Sign-only multipart/signed: gpg and sqop verify the first part exactly as sent, for 8-bit,
UTF-8, quoted-printable, base64 attachments, long lines, CRLF and LF input. Inline output:
gpg and sqop decrypt / verify. Incoming inline PGP from gpg and sqop: decrypted or verified.
Owner: src/cryptd (OpenPGP)."""
import base64
import email
import email.policy
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap  # noqa: E402

t = Tap()
TOOL = os.path.join(ROOT, "build", "tests", "tools", "sg-engine")  # the engine driver
gw = Gateway()
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-pgp-engine-")
GH = os.path.join(tmp, "gnupg")
os.makedirs(GH, mode=0o700)


def gpg(*args, input=None):
    return subprocess.run(["gpg", "--homedir", GH, "--batch", "--yes", "--pinentry-mode", "loopback",
                           "--passphrase", "", "--trust-model", "always", *args], input=input,
                          capture_output=True, timeout=120)


def tool(*args, input=b""):
    return subprocess.run([TOOL, "-c", gw.conf, "--engine", "pgp", *args], input=input, capture_output=True, timeout=120)


def write(name, data):
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return p


def split(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return (data[:m.start()], data[m.end():]) if m else (data, b"")


def signed_parts(out):
    """(first part exactly as sent, signature bytes) of a multipart/signed message."""
    hdr, body = split(out)
    b = re.search(rb'boundary="([^"]+)"', hdr).group(1)
    first = body.split(b"--" + b + b"\r\n", 1)[1].split(b"\r\n--" + b + b"\r\n", 1)[0]
    sig = re.search(rb"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----\r?\n", body, re.S).group(0)
    return first, sig


def leaves(b):
    msg = email.message_from_bytes(b, policy=email.policy.compat32)
    return [(p.get_content_type(), p.get_payload(decode=True)) for p in msg.walk() if not p.is_multipart()]


try:
    r = gw.cli("key", "generate", "alice@demo.test")
    alice = r.stdout.strip()
    t.ok(r.returncode == 0 and len(alice) == 40, "sealgate generates alice@demo.test", r.stderr)
    alice_pub = gw.cli("key", "export", alice).stdout
    alice_cert = write("alice.cert", alice_pub)
    gpg("--import", input=alice_pub.encode())
    gpg("--quick-gen-key", "Bob <bob@example.net>", "ed25519", "sign,cert", "never")
    bob = [l.split(":")[9] for l in gpg("--with-colons", "--list-keys", "bob@example.net").stdout.decode().splitlines()
           if l.startswith("fpr:")][0]
    gpg("--quick-add-key", bob, "cv25519", "encr", "never")
    r = gw.cli("key", "import", write("bob.asc", gpg("--armor", "--export", bob).stdout))
    t.ok(r.returncode == 0, "bob's gpg key imported", r.stdout + r.stderr)
    bob_key = write("bob.key", gpg("--armor", "--export-secret-keys", bob).stdout)

    # ---- sign-only (RFC 3156 section 5) ----
    attach = bytes(random.Random(3).randrange(256) for _ in range(2000))
    shapes = {
        "UTF-8 8-bit": ("From: Alice <alice@demo.test>\r\nTo: bob@example.net\r\nSubject: Grüße\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                        "Schöne Grüße € ✓  \r\nFrom here on.\r\n").encode(),
        "quoted-printable": (b"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: qp\r\nMIME-Version: 1.0\r\n"
                             b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                             b"Sch=C3=B6n and a soft=\r\n break.\r\n"),
        "base64 attachment": (b"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
                              b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\n"
                              b"See attached.\r\n--XYZ\r\nContent-Type: application/octet-stream\r\n"
                              b"Content-Transfer-Encoding: base64\r\n\r\n"
                              + base64.encodebytes(attach).replace(b"\n", b"\r\n") + b"--XYZ--\r\n"),
        "long lines": (b"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: long\r\n\r\n"
                       + b"z" * 1500 + b"\r\n" + (b"word " * 300) + b"\r\n"),
        "LF input": b"From: alice@demo.test\nTo: bob@example.net\nSubject: lf\n\nline one\nline two\n",
        "8-bit binary-ish attachment": (b"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: bin\r\nMIME-Version: 1.0\r\n"
                                        b"Content-Type: multipart/mixed; boundary=\"Q\"\r\n\r\n--Q\r\nContent-Type: text/plain; charset=latin1\r\n"
                                        b"Content-Transfer-Encoding: 8bit\r\n\r\ncaf\xe9\r\n--Q\r\nContent-Type: application/octet-stream\r\n"
                                        b"Content-Transfer-Encoding: 8bit\r\n\r\n\x01\x02\xff\xfe data\r\n--Q--\r\n"),
    }
    for name, msg in shapes.items():
        r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", input=msg)
        out = r.stdout
        if not t.ok(r.returncode == 0 and b"multipart/signed" in split(out)[0], f"sign-only {name}: multipart/signed",
                    r.stderr.decode()):
            continue
        first, sig = signed_parts(out)
        ob = split(out)[1]  # the header is the sender's (SMTPUTF8 may carry raw UTF-8); the body is ours
        t.ok(all(c < 128 for c in ob) and b"\n" not in ob.replace(b"\r\n", b"")
             and max(len(l) for l in ob.split(b"\r\n")) <= 998,
             f"sign-only {name}: the body is 7-bit CRLF, lines <= 998")
        v = gpg("--status-fd", "1", "--verify", write("s.asc", sig), write("p.bin", first))
        t.ok(f"VALIDSIG {alice}".encode() in v.stdout, f"sign-only {name}: gpg verifies the first part as sent",
             v.stdout.decode() + v.stderr.decode())
        sq = subprocess.run(["sqop", "verify", write("s2.asc", sig), alice_cert], input=first, capture_output=True, timeout=60)
        t.ok(sq.returncode == 0 and alice.encode() in sq.stdout.upper(), f"sign-only {name}: sqop verifies",
             sq.stderr.decode())
        want = [(ct, p.replace(b"\r\n", b"\n") if ct.startswith("text/") else p) for ct, p in leaves(msg)]
        got = [(ct, p.replace(b"\r\n", b"\n") if ct.startswith("text/") else p) for ct, p in leaves(first)]
        t.ok(got == want, f"sign-only {name}: decoded content equals what was sent", repr(got)[:300])
        u = tool("unwrap", "--rcpt", "alice@demo.test", input=out)
        t.ok(b"sig=valid" in u.stderr and b"whole=1" in u.stderr, f"sign-only {name}: unwrap verifies it too",
             u.stderr.decode())

    # ---- inline output, only when configured and the message is one text/plain part ----
    text = shapes["UTF-8 8-bit"]
    r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", "--inline", "--to", "bob@example.net", input=text)
    body = split(r.stdout)[1]
    d = gpg("--status-fd", "2", "--decrypt", input=body)
    t.ok(r.returncode == 0 and b"multipart" not in r.stdout and f"VALIDSIG {alice}" in d.stderr.decode()
         and d.stdout.replace(b"\r\n", b"\n") == "Schöne Grüße € ✓  \nFrom here on.\n".encode(),
         "inline encrypted: gpg decrypts the body to the text, alice's signature valid", d.stderr.decode()[-400:])
    r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", "--inline", input=text)
    dec = email.message_from_bytes(r.stdout, policy=email.policy.compat32).get_payload(decode=True)
    v = gpg("--status-fd", "1", "--verify", input=dec)
    t.ok(r.returncode == 0 and f"VALIDSIG {alice}".encode() in v.stdout and b"Sch\xc3\xb6ne" in dec,
         "inline cleartext-signed: gpg verifies the decoded body", v.stderr.decode())
    # the same two through sqop
    r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", "--inline", "--to", "bob@example.net", input=text)
    vpath = os.path.join(tmp, "v.txt")  # sqop refuses to overwrite its verifications file
    sq = subprocess.run(["sqop", "decrypt", "--verify-with", alice_cert, "--verifications-out", vpath, bob_key],
                        input=split(r.stdout)[1], capture_output=True, timeout=60)
    ver = open(vpath).read() if os.path.exists(vpath) else ""
    t.ok(sq.returncode == 0 and sq.stdout.replace(b"\r\n", b"\n") == "Schöne Grüße € ✓  \nFrom here on.\n".encode()
         and alice in ver.upper(), "inline encrypted: sqop decrypts and verifies", sq.stderr.decode() + ver)
    r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", "--inline", input=text)
    dec = email.message_from_bytes(r.stdout, policy=email.policy.compat32).get_payload(decode=True)
    sq = subprocess.run(["sqop", "inline-verify", alice_cert], input=dec, capture_output=True, timeout=60)
    t.ok(sq.returncode == 0 and "Schöne".encode() in sq.stdout, "inline cleartext-signed: sqop verifies", sq.stderr.decode())
    r = tool("protect", "--from", "alice@demo.test", "--sign", "sender", "--inline", "--to", "bob@example.net", input=shapes["base64 attachment"])
    t.ok(r.returncode == 0 and b"multipart/encrypted" in split(r.stdout)[0], "inline asked for a multipart: PGP/MIME")

    # ---- incoming inline PGP made by gpg ----
    pgp_text = "Grüße an Alice\nzweite Zeile\n".encode()
    enc = gpg("--armor", "--sign", "-u", bob, "--encrypt", "-r", alice, input=pgp_text).stdout
    m = (b"From: bob@example.net\r\nTo: alice@demo.test\r\nSubject: inline\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         + enc.replace(b"\n", b"\r\n"))
    u = tool("unwrap", "--rcpt", "alice@demo.test", input=m)
    plain = email.message_from_bytes(u.stdout, policy=email.policy.compat32).get_payload(decode=True) or b""
    t.ok(b"dec=full" in u.stderr and plain.replace(b"\r\n", b"\n") == pgp_text and b"BEGIN PGP" not in u.stdout,
         "inline encrypted from gpg: decrypted in full, the text exactly", u.stderr.decode() + repr(plain[:200]))
    t.ok(b"sig=valid" in u.stderr and bob.encode() in u.stderr, "inline encrypted from gpg: bob's signature valid",
         u.stderr.decode())
    sq = subprocess.run(["sqop", "encrypt", "--sign-with", bob_key, write("alice2.cert", alice_pub)], input=pgp_text,
                        capture_output=True, timeout=60).stdout
    m = (b"From: bob@example.net\r\nTo: alice@demo.test\r\nSubject: sq\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         + sq.replace(b"\n", b"\r\n"))
    u = tool("unwrap", "--rcpt", "alice@demo.test", input=m)
    plain = email.message_from_bytes(u.stdout, policy=email.policy.compat32).get_payload(decode=True) or b""
    t.ok(b"dec=full" in u.stderr and b"sig=valid" in u.stderr and plain.replace(b"\r\n", b"\n") == pgp_text,
         "inline encrypted from sqop: decrypted in full, bob's signature valid", u.stderr.decode())
    sq = subprocess.run(["sqop", "inline-sign", "--as=clearsigned", bob_key], input=b"sqop in the clear\n",
                        capture_output=True, timeout=60).stdout
    m = b"From: bob@example.net\r\nTo: alice@demo.test\r\nSubject: sqcs\r\n\r\n" + sq.replace(b"\n", b"\r\n")
    u = tool("unwrap", "--rcpt", "alice@demo.test", input=m)
    t.ok(b"sig=valid" in u.stderr and split(u.stdout)[1] == split(m)[1],
         "inline clearsigned from sqop: valid, text delivered as it arrived", u.stderr.decode())
    cs = gpg("--clearsign", "-u", bob, input=b"signed in the clear\n").stdout
    m = b"From: bob@example.net\r\nTo: alice@demo.test\r\nSubject: cs\r\n\r\n" + cs.replace(b"\n", b"\r\n")
    u = tool("unwrap", "--rcpt", "alice@demo.test", input=m)
    t.ok(b"sig=valid" in u.stderr and split(u.stdout)[1] == split(m)[1],
         "inline clearsigned from gpg: valid, text delivered as it arrived", u.stderr.decode())
finally:
    gw.cleanup()
    subprocess.run(["gpgconf", "--homedir", GH, "--kill", "all"], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
