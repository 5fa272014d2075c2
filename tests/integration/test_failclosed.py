#!/usr/bin/env python3
"""Fail closed, over SMTP with the shipped default policy (issue 9, items 1 and 3).

1. A store error is not "no key": with the store locked by another process while cryptd runs,
   mail to a recipient whose key is known never leaves unprotected (the default's opportunistic
   rule has fallback "plain"): the message waits in active/, the error is logged and the
   administrator alerted, and once the store is healthy again it goes out encrypted.
3. "Already encrypted" means its packets parse: a plain body dressed as multipart/encrypted, an
   armored block whose first byte only looks like a packet, a fake application/pkcs7-mime
   body are plain mail ([encrypt] to a recipient without a key holds them); real encrypted mail
   made by gpg and by openssl cms still counts as encrypted (not held, not encrypted again).
Owner: src/policy."""
import base64
import fcntl
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, gpg_runner, listdir, put_message, wait_for  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n')
tmp = tempfile.mkdtemp(prefix="sg-failclosed-")
GH = os.path.join(tmp, "gnupg")
gpg = gpg_runner(GH)
NEW = os.path.join(gw.sink_dir, "new")


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def sink():
    """{file name: bytes} of everything delivered so far."""
    out = {}
    for f in (os.listdir(NEW) if os.path.isdir(NEW) else []):
        with open(os.path.join(NEW, f), "rb") as fh:
            out[f] = fh.read()
    return out


def to(data, rcpt):
    return re.search(rb"^Delivered-To: " + re.escape(rcpt.encode()) + rb"\r?$", data, re.M) is not None


def head(data):
    m = re.search(rb"\r?\n\r?\n", data)
    return data[:m.start()] if m else data


def encrypted_out(data):
    h = head(data)
    return (b"multipart/encrypted" in h and b"application/pgp-encrypted" in h) or b"enveloped-data" in h


def send(msg, rcpts, sender="alice@demo.test"):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, rcpts, msg)


def msg(subject, to_addr, body=b"The secret plan.\r\n", ctype=None):
    h = (b"From: Alice <alice@demo.test>\r\nTo: " + to_addr.encode() + b"\r\nSubject: " + subject.encode() +
         b"\r\nMessage-ID: <" + str(time.time()).encode() + b"@demo.test>\r\n")
    if ctype:
        h += b"MIME-Version: 1.0\r\nContent-Type: " + ctype + b"\r\n"
    return h + b"\r\n" + body


class StoreLock:
    """Another process holding the store's WAL locks (write, checkpoint, recover and every read
    slot of the -shm index) exclusively: cryptd's lookups then fail with a locking error."""

    def __init__(self, store):
        self.fd = os.open(store + "-shm", os.O_RDWR)

    def __enter__(self):
        fcntl.lockf(self.fd, fcntl.LOCK_EX, 8, 120, os.SEEK_SET)
        return self

    def __exit__(self, *exc):
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 8, 120, os.SEEK_SET)
        os.close(self.fd)


def store_error_case():
    """Item 1: bob's key is known; the store is locked while his mail is processed."""
    plain = b"Only for bob: the store was locked.\r\n"
    m = msg("while the store is locked", "bob@x.example", body=plain)
    before = set(sink())
    errors_before = gw.log_text().count("event=key-lookup-failed")
    with StoreLock(os.path.join(gw.base, "store", "sealgate.db")):
        send(m, ["bob@x.example"])
        failed = wait_for(lambda: gw.log_text().count("event=key-lookup-failed") > errors_before, 60, 0.2)
        t.ok(failed, "store locked: the failed key lookup is logged as an error (event=key-lookup-failed)")
        line = next((l for l in gw.log_text().splitlines() if "event=key-lookup-failed" in l), "")
        t.ok(" error: " in line and "action=defer" in line, "the log line is an error and says defer", line)
        alert = wait_for(lambda: [d for f, d in sink().items() if f not in before and to(d, "postmaster@demo.test")], 20)
        t.ok(alert and b"Policy alert" in alert[0] and b"key lookup failed" in alert[0],
             "the administrator is alerted", repr(alert[0][:600] if alert else b""))
        time.sleep(2)
        leaked = [d for f, d in sink().items() if f not in before and to(d, "bob@x.example")]
        t.ok(not leaked, "nothing reached bob while the store was locked (not plain, not signed-only)",
             repr(leaked[0][:400]) if leaked else "")
        kept = listdir(gw.spool, "active") + listdir(gw.spool, "incoming")
        t.ok(len(kept) == 1 and not listdir(gw.spool, "outgoing") and not listdir(gw.spool, "hold"),
             "the message is kept by cryptd (active/), not passed on or held", str(kept))
    got = wait_for(lambda: [d for f, d in sink().items() if f not in before and to(d, "bob@x.example")], 90, 0.5)
    t.ok(got and len(got) == 1 and encrypted_out(got[0]) and plain not in got[0],
         "store healthy again: the kept message goes out to bob encrypted", repr(got[0][:400]) if got else "none")
    t.ok(not listdir(gw.spool, "active") and not listdir(gw.spool, "incoming"), "nothing is left waiting")


def store_error_expiry_case():
    """Item 1, the end of waiting: a message older than relay.queue_lifetime (default 5 days)
    whose lookups fail is held for the administrator, not kept waiting for ever nor sent."""
    plain = b"Old mail for bob: the store is still locked.\r\n"
    before = set(sink())
    with StoreLock(os.path.join(gw.base, "store", "sealgate.db")):
        qid = put_message(gw.spool, "incoming", msg("old and the store locked", "bob@x.example", body=plain),
                          sender="alice@demo.test", rcpts=("bob@x.example",), created=time.time() - 6 * 86400)
        held = wait_for(lambda: listdir(gw.spool, "hold"), 60, 0.2)
        line = next((l for l in gw.log_text().splitlines() if "event=key-lookup-failed" in l and qid in l), "")
        t.ok(held and "action=hold" in line and "expired=yes" in line,
             "past the queue lifetime a failed lookup holds the message (logged expired=yes)", line)
        t.ok(not listdir(gw.spool, "active") and not listdir(gw.spool, "incoming"),
             "it no longer waits in active/")
    time.sleep(1)
    leaked = [d for f, d in sink().items() if f not in before and to(d, "bob@x.example")]
    t.ok(not leaked, "nothing of it reached bob", repr(leaked[0][:300]) if leaked else "")


def der(tag, content):
    n = len(content)
    size = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + size + content


def oid(dotted):
    a = [int(x) for x in dotted.split(".")]
    out = bytes([a[0] * 40 + a[1]])
    for v in a[2:]:
        enc = [v & 0x7f]
        while v > 0x7f:
            v >>= 7
            enc.insert(0, 0x80 | (v & 0x7f))
        out += bytes(enc)
    return der(0x06, out)


def fake_enveloped(plain):
    """EnvelopedData that parses as CMS but has no RecipientInfo: its "ciphertext" is the text."""
    alg = der(0x30, oid("2.16.840.1.101.3.4.1.42") + der(0x04, b"\0" * 16))
    eci = der(0x30, oid("1.2.840.113549.1.7.1") + alg + der(0x80, plain))
    env = der(0x30, der(0x02, b"\0") + der(0x31, b"") + eci)
    return der(0x30, oid("1.2.840.113549.1.7.3") + der(0xa0, env))


def pgpmime(inner):
    return (b"multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"",
            b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + inner + b"\r\n--e--\r\n")


def armor(binary):
    b64 = base64.encodebytes(binary).replace(b"\n", b"\r\n")
    return b"-----BEGIN PGP MESSAGE-----\r\n\r\n" + b64 + b"-----END PGP MESSAGE-----\r\n"


def p7m(der_bytes):
    return (b"application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n"
            b"Content-Transfer-Encoding: base64",
            base64.encodebytes(der_bytes).replace(b"\n", b"\r\n"))


def encrypt_keyword_case(what, ctype, body, counts):
    """[encrypt] to dave, who has no key: held when the message is plain, delivered (signed
    around it, not encrypted again) when it really is encrypted."""
    before, held = set(sink()), set(listdir(gw.spool, "hold"))
    send(msg("[encrypt] " + what, "dave@y.example", body=body, ctype=ctype), ["dave@y.example"])
    wait_for(lambda: [d for f, d in sink().items() if f not in before], 30)
    time.sleep(1.5)
    new = [d for f, d in sink().items() if f not in before]
    dave = [d for d in new if to(d, "dave@y.example")]
    notice = [d for d in new if to(d, "alice@demo.test") and b"Message held" in d]
    newly_held = set(listdir(gw.spool, "hold")) - held
    if counts:
        t.ok(len(dave) == 1 and not newly_held and body.strip()[:60] in dave[0],
             f"{what}: counts as encrypted: delivered as it is (not held)", f"held={newly_held} {[head(d)[:200] for d in new]}")
    else:
        t.ok(not dave and len(newly_held) == 1 and notice,
             f"{what}: plain mail: [encrypt] without a key holds it, the sender is told",
             repr(dave[0][:500]) if dave else f"held={newly_held} notice={bool(notice)}")


def detection_cases():
    """Item 3: what counts as "already encrypted"."""
    secret = b"The secret plan, in the clear.\r\n"
    ct, body = pgpmime(secret)
    encrypt_keyword_case("plain text dressed as multipart/encrypted", ct, body, False)
    ct, body = pgpmime(armor(b"\x85\x01\x0c" + secret * 4))
    encrypt_keyword_case("PGP/MIME whose armor only starts like a PKESK packet", ct, body, False)
    encrypt_keyword_case("inline armored block that only starts like a PKESK packet", None,
                         armor(b"\x85\x01\x0c" + secret * 4), False)
    ct, body = p7m(fake_enveloped(secret))
    encrypt_keyword_case("application/pkcs7-mime EnvelopedData without recipients", ct, body, False)
    ct, body = p7m(b"\x30\x80" + secret * 3)
    encrypt_keyword_case("application/pkcs7-mime that is not CMS", ct, body, False)
    # real encryption still counts
    enc = gpg("--armor", "--encrypt", "-r", "bob@x.example", input=b"Content-Type: text/plain\r\n\r\nby gpg\r\n").stdout
    ct, body = pgpmime(enc.replace(b"\n", b"\r\n"))
    encrypt_keyword_case("PGP/MIME made by gpg", ct, body, True)
    encrypt_keyword_case("inline PGP made by gpg", None, enc.replace(b"\n", b"\r\n"), True)
    key, cert = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=carol@x.example", "-days", "2"], capture_output=True, check=True)
    for cipher in ("-aes256", "-aes-256-gcm"):
        r = subprocess.run(["openssl", "cms", "-encrypt", cipher, "-binary", cert], capture_output=True,
                           input=b"Content-Type: text/plain\r\n\r\nby openssl\r\n")
        smime = r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        h, _, b = smime.partition(b"\r\n\r\n")
        ctype = re.search(rb"^Content-Type: (.*?)\r$", h + b"\r", re.M | re.S).group(1)
        encrypt_keyword_case(f"S/MIME made by openssl cms {cipher}", ctype + b"\r\nContent-Transfer-Encoding: base64",
                             b, True)


try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    r = gw.cli("key", "generate", "alice@demo.test")
    t.ok(r.returncode == 0, "alice's OpenPGP key generated", r.stderr)
    gpg("--quick-gen-key", "Bob <bob@x.example>", "ed25519", "sign,cert", "never")
    bob = next(l.split(":")[9] for l in gpg("--with-colons", "--list-keys", "bob@x.example").stdout.decode().splitlines()
               if l.startswith("fpr:"))
    gpg("--quick-add-key", bob, "cv25519", "encr", "never")
    r = gw.cli("key", "import", write("bob.asc", gpg("--armor", "--export", bob).stdout))
    t.ok(r.returncode == 0, "bob's gpg key imported", r.stdout + r.stderr)

    store_error_case()
    store_error_expiry_case()
    detection_cases()

    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    subprocess.run(["gpgconf", "--homedir", GH, "--kill", "all"], capture_output=True)
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
