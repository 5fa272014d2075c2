#!/usr/bin/env python3
"""Certificates imported with `sealgate cert import` sign internal users' mail sent through
SMTP: the CA made by openssl imported and trusted in one step (`cert import --trust`), alice's
certificate and key from a legacy PKCS#12 (RC2-40, as `openssl pkcs12 -export -legacy` and
older CAs and Windows exports write it), carol's from two files (`cert import CERT KEY`). Under
the shipped default policy their mail to a recipient without a key leaves signed; `openssl cms
-verify` checks each signature against the CA and that the signer is the imported certificate.
Owner: src/keys."""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import smimetest  # noqa: E402
from sgtest import Gateway, Tap, asan_binary, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-certsmtp-")
NEW = os.path.join(gw.sink_dir, "new")

EXT = "[req]\ndistinguished_name = dn\n[dn]\n" + smimetest.PEER_EXT


def p(name):
    return os.path.join(tmp, name)


def ossl(*args, san="-"):
    return subprocess.run(["openssl", *args], capture_output=True, timeout=120, cwd=tmp,
                          env=dict(os.environ, SAN=san))


def fpr_of(pem):
    r = ossl("x509", "-in", pem, "-noout", "-fingerprint", "-sha256")
    return r.stdout.decode().strip().split("=", 1)[-1].replace(":", "")


def issue(name, addr, keyalg, ext):
    """A key and an S/MIME certificate for addr from the test CA."""
    ossl("genpkey", *keyalg, "-out", name + ".key")
    ossl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + addr, "-config", "ext.cnf", "-out", name + ".csr")
    r = ossl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "30", "-sha256", "-extfile", "ext.cnf", "-extensions", ext, "-out", name + ".pem", san=addr)
    return r.returncode == 0


def send_one(sender, rcpt, subject):
    """Sends one message over SMTP; the bytes the sink got, or None."""
    before = set(os.listdir(NEW)) if os.path.isdir(NEW) else set()
    msg = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\nMessage-ID: <{time.time()}@demo.test>\r\n"
           f"\r\nSigned by the imported certificate.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, [rcpt], msg)
    new = lambda: set(os.listdir(NEW)) - before if os.path.isdir(NEW) else set()  # noqa: E731
    if not wait_for(lambda: new(), 30):
        return None
    with open(os.path.join(NEW, sorted(new())[0]), "rb") as f:
        return f.read()


def verify(data, name):
    """openssl cms -verify against the CA: (ok, signer fingerprint)."""
    with open(p(name + ".eml"), "wb") as f:
        f.write(data or b"")
    r = ossl("cms", "-verify", "-in", name + ".eml", "-CAfile", "ca.pem", "-purpose", "smimesign",
             "-signer", name + ".signer.pem", "-out", name + ".content")
    ok = r.returncode == 0 and os.path.exists(p(name + ".signer.pem"))
    return ok, fpr_of(p(name + ".signer.pem")) if ok else r.stderr.decode(errors="replace")


RSA = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
EC = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]

try:
    with open(p("ext.cnf"), "w") as f:
        f.write(EXT)
    ossl("genpkey", *RSA, "-out", "ca.key")
    r = ossl("req", "-new", "-x509", "-key", "ca.key", "-subj", "/CN=Partner Mail CA", "-days", "30", "-sha256",
             "-config", "ext.cnf", "-extensions", "ca", "-out", "ca.pem")
    made = r.returncode == 0 and issue("alice", "alice@demo.test", RSA, "rsa") and issue("carol", "carol@demo.test", EC, "ec")
    r = ossl("pkcs12", "-export", "-legacy", "-in", "alice.pem", "-inkey", "alice.key", "-certfile", "ca.pem",
             "-passout", "pass:export", "-out", "alice.p12")
    info = ossl("pkcs12", "-info", "-noout", "-legacy", "-in", "alice.p12", "-passin", "pass:export")
    t.ok(made and r.returncode == 0 and b"pbeWithSHA1And40BitRC2-CBC" in info.stdout + info.stderr,
         "openssl made a CA, alice's legacy RC2-40 PKCS#12 and carol's certificate and key",
         (r.stderr + info.stderr).decode())

    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)  # cryptd has migrated the store
    r = gw.cli("cert", "import", "--trust", p("ca.pem"))
    t.ok(r.returncode == 0 and r.stdout.strip() == f"imported {fpr_of(p('ca.pem'))} CN=Partner Mail CA trusted",
         "cert import --trust: the CA is imported and a trust anchor", r.stdout + r.stderr)
    r = gw.cli("cert", "import", "--password", "export", p("alice.p12"))
    t.ok(r.returncode == 0 and f"imported {fpr_of(p('alice.pem'))} CN=alice@demo.test key" in r.stdout,
         "the legacy PKCS#12: alice's certificate with its key", r.stdout + r.stderr)
    r = gw.cli("cert", "import", p("carol.pem"), p("carol.key"))
    t.ok(r.returncode == 0 and r.stdout.strip() == f"imported {fpr_of(p('carol.pem'))} CN=carol@demo.test key",
         "cert import CERT KEY: carol's certificate with its key", r.stdout + r.stderr)

    for who in ("alice", "carol"):
        got = send_one(f"{who}@demo.test", "bob@x.example", f"from {who}")
        ok, signer = verify(got, who)
        t.ok(got is not None and ok and signer == fpr_of(p(who + ".pem")),
             f"{who}'s mail through SMTP is S/MIME-signed by the imported certificate (openssl cms -verify)",
             f"signer {signer}; " + (got or b"nothing delivered")[:400].decode(errors="replace"))
    t.ok(not gw.sanitizer_reports(), "no sanitizer reports", "\n".join(gw.sanitizer_reports()))
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
t.done()
