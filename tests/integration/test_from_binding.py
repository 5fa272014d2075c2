#!/usr/bin/env python3
"""A signature binds to the author the reader sees (issue 9 item 5), in both engines, through
SMTP and the real cryptd with the shipped default policy. bob@example.net signs with gpg
(OpenPGP, his key imported) and with openssl cms (S/MIME, his certificate from a trusted peer
CA); the mail goes to alice@demo.test with headers that make a client show someone else too:
two mailboxes in From, two From fields, another address as the display name (plain and as an
encoded word), a Sender that differs. None of them may be stamped valid; each says why. The
same shapes inside protected headers (OpenPGP signed+encrypted to alice, S/MIME opaque signed,
and the clear-signed part of both, RFC 9788 signed-only) are judged the same way. The plain shape stays valid. Owner: src/mime (author), src/cryptd."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from sgtest import Gateway, Tap, asan_binary  # noqa: E402
from smimetest import PEER_EXT  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
tmp = tempfile.mkdtemp(prefix="sg-binding-")
GH = os.path.join(tmp, "gnupg")
os.makedirs(GH, mode=0o700)


def p(name):
    return os.path.join(tmp, name)


def write(name, data):
    with open(p(name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return p(name)


def gpg(*args, input=None):
    return subprocess.run(["gpg", "--homedir", GH, "--batch", "--yes", "--pinentry-mode", "loopback",
                           "--passphrase", "", "--trust-model", "always", *args], input=input,
                          capture_output=True, timeout=120)


def ossl(*args, input=None, san=""):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=60, cwd=tmp,
                          env=dict(os.environ, SAN=san))


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def send(msg):
    """msg from bob@example.net to alice@demo.test; the header alice gets, or b""."""
    d = gw.send_one("bob@example.net", "alice@demo.test", msg)
    return re.split(rb"\r?\n\r?\n", d, 1)[0] if d else b""


def stamp(hdr):
    m = re.search(rb"(?m)^X-Sealgate-Signature: ([^\r\n]*)", hdr)
    return m.group(1).decode() if m else "(no stamp)"


def ar(hdr):
    m = re.search(rb"(?m)^Authentication-Results: gw\.demo\.test;\r?\n ([^\r\n]*)", hdr)
    return m.group(1).decode() if m else "(no Authentication-Results)"


BOB = "Bob <bob@example.net>"
# (name, the author fields of the header, the reason expected; None: valid)
SHAPES = [
    ("one mailbox", [f"From: {BOB}"], None),
    ("a Sender with the same address", [f"From: {BOB}", "Sender: bob@example.net"], None),
    ("two mailboxes in From", [f"From: {BOB}, The Boss <boss@demo.test>"], "ambiguous-from"),
    ("two From fields", [f"From: {BOB}", "From: The Boss <boss@demo.test>"], "ambiguous-from"),
    ("another address as display name", ['From: "boss@demo.test" <bob@example.net>'], "from-name-address"),
    ("an encoded-word display name with another address",
     ["From: =?utf-8?q?boss=40demo.test?= <bob@example.net>"], "from-name-address"),
    ("a Sender that differs", [f"From: {BOB}", "Sender: mallory@example.com"], "sender-mismatch"),
]
PLAIN = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nPay the invoice today.\r\n"


def head(fields, subject):
    return ("\r\n".join(fields) + f"\r\nTo: alice@demo.test\r\nSubject: {subject}\r\n").encode()


def check(engine, name, hdr, want):
    got = stamp(hdr)
    if want is None:
        t.ok(got.startswith("valid; signer=") and "=pass" in ar(hdr), f"{engine}, {name}: valid",
             got + " | " + ar(hdr))
    else:
        t.ok(got.startswith(f"invalid; reason={want}; signer=") and "=policy" in ar(hdr)
             and "header.from" not in ar(hdr),
             f"{engine}, {name}: not valid, reason={want} (Authentication-Results policy)", got + " | " + ar(hdr))


def protected(fields, name):
    """An entity with protected headers (RFC 9788): fields inside, marked v1."""
    return (b"Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n" +
            head(fields, name) + b"\r\nPay the invoice today.\r\n")


def pgp_signed(fields, name, part=PLAIN):
    sig = gpg("--armor", "--detach-sign", "-u", "bob@example.net", input=part).stdout
    return (head(fields, name) + b"MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha512;"
            b" protocol=\"application/pgp-signature\"; boundary=\"s1\"\r\n\r\n--s1\r\n" + part +
            b"\r\n--s1\r\nContent-Type: application/pgp-signature\r\n\r\n" + crlf(sig) + b"\r\n--s1--\r\n")


def pgp_protected(inner_fields, name):
    ent = protected(inner_fields, name)
    enc = gpg("--armor", "--sign", "--encrypt", "-u", "bob@example.net", "-r", "alice@demo.test", input=ent).stdout
    return (head([f"From: {BOB}"], "...") + b"MIME-Version: 1.0\r\nContent-Type: multipart/encrypted;"
            b" protocol=\"application/pgp-encrypted\"; boundary=\"b1\"\r\n\r\n--b1\r\n"
            b"Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--b1\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + crlf(enc) + b"\r\n--b1--\r\n")


def smime_signed(fields, name, content=PLAIN, opaque=False):
    write("content.txt", content)
    r = ossl("cms", "-sign", "-signer", p("bob.pem"), "-inkey", p("bob.key"), "-md", "sha256",
             *(["-nodetach"] if opaque else []), "-in", p("content.txt"))
    return head(fields, name) + crlf(r.stdout)


def smime_protected(inner_fields, name):
    return smime_signed([f"From: {BOB}"], "...", content=protected(inner_fields, name), opaque=True)


try:
    gw.start()
    # OpenPGP: bob's key made by gpg and imported; alice's made by the gateway, known to gpg
    gpg("--quick-gen-key", "Bob <bob@example.net>", "ed25519", "sign,cert", "never")
    alice = gw.cli("key", "generate", "alice@demo.test").stdout.strip()
    imp = gw.cli("key", "import", write("bob.asc", gpg("--armor", "--export", "bob@example.net").stdout))
    gpg("--import", input=gw.cli("key", "export", alice).stdout.encode())
    t.ok(imp.returncode == 0 and len(alice) == 40, "OpenPGP: bob's gpg key imported, alice's generated",
         imp.stdout + imp.stderr)
    # S/MIME: a trusted peer CA with bob's certificate
    write("ext.cnf", PEER_EXT)
    ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("peerca.key"))
    ossl("req", "-new", "-x509", "-key", p("peerca.key"), "-subj", "/CN=Peer CA", "-days", "30", "-sha256",
         "-config", p("ext.cnf"), "-extensions", "ca", "-out", p("peerca.pem"))
    ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("bob.key"))
    ossl("req", "-new", "-key", p("bob.key"), "-subj", "/CN=bob@example.net", "-out", p("bob.csr"))
    ok = ossl("x509", "-req", "-in", p("bob.csr"), "-CA", p("peerca.pem"), "-CAkey", p("peerca.key"),
              "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("ext.cnf"), "-extensions", "rsa",
              "-out", p("bob.pem"), san="bob@example.net").returncode == 0
    imp = gw.cli("cert", "import", p("peerca.pem"), p("bob.pem"))
    fpr = ossl("x509", "-in", p("peerca.pem"), "-noout", "-fingerprint", "-sha256").stdout.decode()
    tr = gw.cli("cert", "trust", fpr.strip().split("=")[-1].replace(":", ""))
    t.ok(ok and imp.returncode == 0 and tr.returncode == 0, "S/MIME: bob's certificate from a trusted peer CA",
         imp.stdout + imp.stderr + tr.stderr)

    for name, fields, want in SHAPES:
        check("OpenPGP multipart/signed", name, send(pgp_signed(fields, name)), want)
        check("S/MIME multipart/signed", name, send(smime_signed(fields, name)), want)
    # protected headers: the inner fields replace the outer ones, and are judged the same way
    for name, fields, want in SHAPES:
        check("OpenPGP protected headers", name, send(pgp_protected(fields, name)), want)
        check("S/MIME protected headers", name, send(smime_protected(fields, name)), want)
    # signed-only header protection: the clear-signed part's protected fields, as a client shows them
    for name, fields, want in SHAPES:
        check("OpenPGP signed part's protected headers", name,
              send(pgp_signed([f"From: {BOB}"], "...", part=protected(fields, name))), want)
        check("S/MIME signed part's protected headers", name,
              send(smime_signed([f"From: {BOB}"], "...", content=protected(fields, name))), want)
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
finally:
    gw.cleanup()
t.done()
