#!/usr/bin/env python3
"""test_smime_postfix.py - S/MIME end to end through a real Postfix (issue 4, "End to end").

The after-queue content filter of docs/postfix.md with a private Postfix whose external
deliveries go to a recording next hop, and the shipped default policy:
  outgoing: alice@demo.test (certificate from sealgate's local CA) -> carol@ext.test (a peer
            CA's certificate, imported and trusted) leaves as application/pkcs7-mime that
            `openssl cms` decrypts with carol's key; inside, alice's multipart/signed verifies
            against the local CA and carries the protected Subject;
  incoming: carol signs and encrypts with `openssl cms` -> alice's Maildir, decrypted, stamped
            X-Sealgate-Decryption: full and Authentication-Results smime=pass;
  learning: dave@ext.test, unknown to the gateway, sends alice clear-signed mail; his
            certificate is learned, and alice's reply to him leaves encrypted to it.
Certificates are made at test time. Needs root (Postfix). Owner: tests/e2e.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tap, can_run, send, wait_for  # noqa: E402
from postfix import through_postfix  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from smimetest import PEER_EXT  # noqa: E402

TMP = tempfile.mkdtemp(prefix="sg-smime-e2e-")
EXT = PEER_EXT


def p(name):
    return os.path.join(TMP, name)


def write(name, data):
    with open(p(name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return p(name)


def ossl(*args, input=None, san=""):
    return subprocess.run(["openssl", *args], input=input, capture_output=True, timeout=60, cwd=TMP,
                          env=dict(os.environ, SAN=san))


def peer(name, addr, ec):
    alg = (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"] if ec
           else ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    ossl("genpkey", *alg, "-out", p(name + ".key"))
    ossl("req", "-new", "-key", p(name + ".key"), "-subj", f"/CN={addr}", "-out", p(name + ".csr"))
    return ossl("x509", "-req", "-in", p(name + ".csr"), "-CA", p("peerca.pem"), "-CAkey", p("peerca.key"),
                "-CAcreateserial", "-days", "30", "-sha256", "-extfile", p("ext.cnf"), "-extensions",
                "ec" if ec else "rsa", "-out", p(name + ".pem"), san=addr).returncode == 0


def header_of(data):
    return re.split(rb"\r?\n\r?\n", data, 1)[0]


def decrypt_as(who, data):
    """openssl cms -decrypt of a whole message (S/MIME headers included) with who's key."""
    return ossl("cms", "-decrypt", "-recip", p(who + ".pem"), "-inkey", p(who + ".key"),
                input=data.replace(b"\r\n", b"\n"))


def setup(tap, gw):
    write("ext.cnf", EXT)
    ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", p("peerca.key"))
    ossl("req", "-new", "-x509", "-key", p("peerca.key"), "-subj", "/CN=Peer CA", "-days", "30", "-sha256",
         "-config", p("ext.cnf"), "-extensions", "ca", "-out", p("peerca.pem"))
    ok = peer("carol", "carol@ext.test", ec=False) and peer("dave", "dave@ext.test", ec=True)
    r1, r2 = gw.cli("ca", "init"), gw.cli("ca", "issue", "alice@demo.test")
    alice = r2.stdout.split()[-1] if r2.stdout.split() else ""
    write("localca.pem", gw.cli("ca", "export").stdout)
    write("alice.pem", gw.cli("cert", "export", alice).stdout)
    imp = gw.cli("cert", "import", p("peerca.pem"), p("carol.pem"))
    ca_fpr = ossl("x509", "-in", p("peerca.pem"), "-noout", "-fingerprint", "-sha256").stdout.decode()
    ca_fpr = ca_fpr.strip().split("=")[-1].replace(":", "")
    tr = gw.cli("cert", "trust", ca_fpr)
    tap.check(ok and r1.returncode == 0 and r2.returncode == 0 and imp.returncode == 0 and tr.returncode == 0,
              "setup: local CA with alice; a peer CA (trusted) with carol imported, dave unknown",
              r1.stderr + r2.stderr + imp.stdout + imp.stderr + tr.stderr)


def outgoing(tap, pf, gw, hop):
    msg = (b"From: Alice <alice@demo.test>\r\nTo: Carol <carol@ext.test>\r\nSubject: board minutes\r\n"
           b"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\nMessage-ID: <smime-out.e2e@demo.test>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           b"The minutes are confidential.\r\n")
    send(pf.in_port, "alice@demo.test", ["carol@ext.test"], msg)
    if not wait_for(lambda: hop.messages, 60, 0.25):
        return tap.fail("outgoing: alice -> carol leaves as S/MIME", "nothing reached the hop; "
                        + pf.log_tail(3) + "; sealgate: " + gw.log_tail(4))
    out = hop.messages[0].data
    hdr = header_of(out)
    tap.check(re.search(rb"(?i)application/(x-)?pkcs7-mime", hdr) and b"enveloped-data" in hdr.lower()
              and b"confidential" not in out and re.search(rb"(?m)^Subject: \.\.\.\r?$", hdr),
              "outgoing: alice -> carol@ext.test leaves through Postfix as S/MIME enveloped-data",
              hdr.decode(errors="replace")[:400])
    dec = decrypt_as("carol", out)
    tap.check(dec.returncode == 0 and b"multipart/signed" in dec.stdout,
              "outgoing: openssl cms decrypts with carol's key; inside is multipart/signed",
              dec.stderr.decode()[-300:])
    ver = ossl("cms", "-verify", "-CAfile", p("localca.pem"), "-purpose", "any", input=dec.stdout)
    tap.check(ver.returncode == 0 and b"confidential" in ver.stdout,
              "outgoing: alice's signature verifies against the local CA (openssl cms -verify)",
              ver.stderr.decode()[-300:])
    tap.check(b"Subject: board minutes" in dec.stdout, "outgoing: the real Subject is protected inside")


def incoming(tap, pf, gw):
    name = "incoming: carol's openssl-made signed+encrypted mail arrives in alice's Maildir decrypted"
    write("content.txt", b"Content-Type: text/plain; charset=us-ascii\r\n\r\nLunch on Friday?\r\n")
    signed = ossl("cms", "-sign", "-signer", p("carol.pem"), "-inkey", p("carol.key"), "-certfile",
                  p("peerca.pem"), "-md", "sha256", "-in", p("content.txt")).stdout
    enc = ossl("cms", "-encrypt", "-aes-256-cbc", "-recip", p("alice.pem"), input=signed).stdout
    if not enc:
        return tap.fail(name, "openssl could not sign and encrypt")
    msg = (b"From: Carol <carol@ext.test>\r\nTo: Alice <alice@demo.test>\r\nSubject: lunch\r\n"
           b"Message-ID: <smime-in.e2e@ext.test>\r\n"
           b"Authentication-Results: sealgate.demo.test; smime=pass (forged)\r\n"
           + enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    send(pf.in_port, "carol@ext.test", ["alice@demo.test"], msg)
    files = wait_for(lambda: pf.mailbox("alice"), 60, 0.25)
    if not files:
        return tap.fail(name, "not delivered; " + pf.log_tail(3) + "; sealgate: " + gw.log_tail(4))
    with open(files[0], "rb") as f:
        got = f.read()
    hdr = header_of(got)
    tap.check(b"Lunch on Friday?" in got and b"pkcs7-mime" not in got.lower(), name,
              got[:500].decode(errors="replace"))
    tap.check(re.search(rb"(?m)^X-Sealgate-Decryption: full", hdr) is not None,
              "incoming: stamped X-Sealgate-Decryption: full", hdr.decode(errors="replace"))
    ar = re.findall(rb"(?mi)^Authentication-Results:.*(?:\r?\n[ \t].*)*", hdr)
    tap.check(len(ar) == 1 and b"smime=pass" in ar[0] and b"forged" not in ar[0]
              and b"header.from=carol@ext.test" in ar[0],
              "incoming: one Authentication-Results (ours) with smime=pass; the forged one in our name removed",
              repr(ar))


def learning(tap, pf, gw, hop):
    name = "learning: dave's certificate from his signed mail is stored, marked learned"
    write("dave.txt", b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice, I am new here.\r\n")
    signed = ossl("cms", "-sign", "-signer", p("dave.pem"), "-inkey", p("dave.key"), "-certfile",
                  p("peerca.pem"), "-md", "sha256", "-in", p("dave.txt")).stdout
    msg = (b"From: Dave <dave@ext.test>\r\nTo: Alice <alice@demo.test>\r\nSubject: hello\r\n"
           b"Message-ID: <smime-learn.e2e@ext.test>\r\n" + signed.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    before = len(pf.mailbox("alice"))
    send(pf.in_port, "dave@ext.test", ["alice@demo.test"], msg)
    files = wait_for(lambda: len(pf.mailbox("alice")) > before and pf.mailbox("alice"), 60, 0.25)
    if not files:
        return tap.fail(name, "dave's mail not delivered; " + gw.log_tail(4))
    with open(files[-1], "rb") as f:
        got = f.read()
    tap.check(re.search(rb"(?m)^X-Sealgate-Signature: valid", header_of(got)) is not None,
              "learning: dave's clear-signed mail is stamped valid", header_of(got).decode(errors="replace"))
    listed = gw.cli("cert", "list", "--address", "dave@ext.test").stdout
    tap.check("learned" in listed, name, listed)
    hop.messages.clear()
    reply = (b"From: Alice <alice@demo.test>\r\nTo: Dave <dave@ext.test>\r\nSubject: Re: hello\r\n"
             b"Message-ID: <smime-reply.e2e@demo.test>\r\n\r\nWelcome, Dave.\r\n")
    send(pf.in_port, "alice@demo.test", ["dave@ext.test"], reply)
    if not wait_for(lambda: hop.messages, 60, 0.25):
        return tap.fail("learning: alice's reply to dave leaves encrypted to his learned certificate",
                        "nothing reached the hop; " + gw.log_tail(4))
    dec = decrypt_as("dave", hop.messages[0].data)
    tap.check(dec.returncode == 0 and b"Welcome, Dave." in dec.stdout,
              "learning: alice's reply to dave leaves encrypted to his learned certificate (EC, ECDH)",
              dec.stderr.decode()[-300:])


def main():
    tap = Tap()
    if not can_run(tap, "S/MIME through Postfix"):
        return tap.exit()
    with through_postfix(tap, "S/MIME through Postfix", "pf-smime") as (pf, gw, hop):
        setup(tap, gw)
        outgoing(tap, pf, gw, hop)
        incoming(tap, pf, gw)
        learning(tap, pf, gw, hop)
    return tap.exit()


if __name__ == "__main__":
    main()
