#!/usr/bin/env python3
"""Content scanning end to end (issue 15, docs/scanning.md): SMTP in, the real cryptd with the
shipped default policy and a `scan` section, a REAL clamd and a REAL rspamd started by this test
(private instances in temp dirs: clamd with local signatures made by sigtool of clamav-testfiles'
clam.exe and of EICAR, rspamd without modules, tests/lib/scanners.py). Cases: GTUBE is stamped with rspamd's score; the test
virus attached to outgoing mail is held (quarantine, the verdict as the reason in `queue show`),
never delivered; inside a PGP/MIME-encrypted incoming message it is found after decryption and
held; likewise inside S/MIME (openssl cms), and S/MIME it cannot open is stamped unscanned (encrypted
part not opened); a clean message is delivered stamped clean; one over clamd's StreamMaxLength is stamped
unscanned (too large); stamps the sender wrote are replaced; clamd
stopped in the middle of a run defers the mail (nothing delivered, nothing lost, never clean) and
it is delivered once clamd is back; check-config pings the scanner. A REAL spamd (SpamAssassin)
as the alternative anti-spam backend: GTUBE stamped with its score, the score tested by a rule.
Scanners down (clamd, rspamd, spamd) and scanners answering garbage hold the mail as unscanned,
never clean. X-Sealgate-Content on delivered mail; forged stamps stripped in both directions.
Release from quarantine through the CLI and the REST API resumes after the scanning stage (and
protection still runs). The sandwich: mail
encrypted to the gateway's key for a user who registered a key (OpenPGP) or certificate (S/MIME)
of their own is decrypted, scanned and encrypted again to the user's own key.
Owner: src/policy (scan_stage).
"""
import base64
import io
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, gpg_runner, listdir, wait_for  # noqa: E402
from sgweb import Client, first_admin  # noqa: E402
from scanners import FOUND, GTUBE, Clamd, Garbage, Rspamd, Spamd, clam_exe  # noqa: E402

t = Tap()
clamd = Clamd()
rspamd = Rspamd()
spamd = Spamd()
garbage = Garbage()
gw = Gateway(binary=asan_binary(), web=True)  # the web role for the release through the API
gw.write_config(f'scan = {{ clamd = "{clamd.addr}"; rspamd = "{rspamd.addr}"; on_error = "defer"; timeout = 10; }};\n')
tmp = tempfile.mkdtemp(prefix="sg-scan-")
gpg = gpg_runner(os.path.join(tmp, "gnupg"))


def zipped(files):
    """A zip archive of {name: bytes}; a value that is a dict is a nested zip."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, zipped(data) if isinstance(data, dict) else data)
    return buf.getvalue()


def with_attachment(sender, rcpt, subject, data, extra=b"", filename="report.exe"):
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n".encode() + extra
            + b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
            b"see the attachment\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=\"" + filename.encode() + b"\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n"
            + b64 + b"--b1--\r\n")


def send(sender, rcpt, msg):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, [rcpt], msg)


def held_with(subject, timeout=30):
    """The id of the held message whose bytes carry subject, or None."""
    def find():
        for name in listdir(gw.spool, "hold"):
            with open(os.path.join(gw.spool, "hold", name), "rb") as f:
                if f"Subject: {subject}\r\n".encode() in f.read():
                    return name
        return None
    return wait_for(find, timeout)


def delivered(subject):
    """The delivered message with this subject (not a notice about it, which comes from <>)."""
    for name in gw.sink_files():
        with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
            d = f.read()
        if f"Subject: {subject}".encode() in d and not d.startswith(b"Return-Path: <>"):
            return d
    return None


VIRUS_B64 = base64.b64encode(clam_exe())[:60]


def virus_delivered():
    """Whether any delivered message (a notice included) carries the test virus's bytes."""
    for name in gw.sink_files():
        with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
            d = f.read()
        if VIRUS_B64 in d.replace(b"\r\n", b"") or clam_exe() in d:
            return True
    return False


def load_policy(rules, what):
    """Loads rules, then the default's incoming rule and a catch-all, and waits until cryptd has it."""
    pol = os.path.join(tmp, "policy.conf")
    with open(pol, "w") as f:
        f.write("rules = (\n" + rules + ',\n{ name = "incoming"; if = { direction = ["incoming", "internal"]; };\n'
                '  then = ( "decrypt", "deliver" ); },\n{ name = "rest"; then = "deliver"; } );\n')
    loaded = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", pol)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > loaded, 20), what,
         r.stdout + r.stderr)


def stamps(d, kind="av"):
    hdr = d.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"(?im)^x-sealgate-" + kind.encode() + rb":[^\r\n]*", hdr)


def spam_clean(d):
    s = stamps(d, "spam")
    return len(s) == 1 and s[0].startswith(b"X-Sealgate-Spam: score=0.00; action=no action")


try:
    rspamd.start()  # loads for a while: started first, waited for after clamd
    spamd.start()
    t.ok(clamd.start(), "a private clamd answers on its socket", clamd.log()[-500:])
    t.ok(rspamd.wait(), "a private rspamd answers /ping", rspamd.log()[-500:])
    r = gw.cli("check-config")
    t.ok(r.returncode == 0 and "configuration OK" in r.stdout, "check-config: clamd and rspamd answer their pings",
         r.stdout + r.stderr)
    gw.start()

    # a clean message: delivered, stamped clean
    d = gw.send_one("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
                    b"Subject: clean one\r\n\r\nnothing here\r\n", 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"] and spam_clean(d)
         and stamps(d, "content") == [b"X-Sealgate-Content: clean"], "a clean incoming message is "
         "delivered stamped X-Sealgate-AV: clean, X-Sealgate-Spam: score=0.00; action=no action, X-Sealgate-Content: clean",
         repr(d)[:600] + gw.log_text()[-800:])

    # over clamd's StreamMaxLength (1 MiB here): clamd stops reading and says so; reported, not clean
    send("x@example.net", "alice@demo.test", with_attachment("x@example.net", "alice@demo.test", "big one",
                                                             os.urandom(1200 * 1024)))
    d = wait_for(lambda: delivered("big one"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: unscanned (too large)"],
         "an attachment over clamd's stream limit is stamped unscanned (too large), not clean",
         repr(stamps(d)) if d else gw.log_text()[-800:])

    # GTUBE: rspamd's verdict stamped with its score and action, the envelope passed along
    d = gw.send_one("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
                    b"Subject: cheap offer\r\n\r\n" + GTUBE + b"\r\n", 30)
    t.ok(d is not None and stamps(d, "spam") == [b"X-Sealgate-Spam: score=15.00; action=reject; symbols=GTUBE"],
         "GTUBE is stamped X-Sealgate-Spam: score=15.00; action=reject; symbols=GTUBE",
         repr(stamps(d, "spam") if d else gw.log_text()[-800:]))

    # the test virus attached to outgoing mail: held, the verdict is the reason, never delivered
    # bob (outside) has a key the gateway knows: the default policy encrypts outgoing mail to him
    bob = gpg_runner(os.path.join(tmp, "bob-gnupg"))
    bob("--quick-gen-key", "Bob <bob@example.net>", "ed25519", "sign", "never")
    bfpr = re.search(r"fpr:+([0-9A-F]{40}):", bob("--with-colons", "--list-keys", "bob@example.net").stdout.decode())
    bob("--quick-add-key", bfpr.group(1) if bfpr else "none", "cv25519", "encr", "never")
    with open(os.path.join(tmp, "bob.asc"), "wb") as f:
        f.write(bob("--armor", "--export", "bob@example.net").stdout)
    r = gw.cli("key", "import", os.path.join(tmp, "bob.asc"))
    send("alice@demo.test", "bob@example.net", b"From: alice@demo.test\r\nTo: bob@example.net\r\n"
         b"Subject: clean out\r\n\r\nfine\r\n")

    def to_bob_encrypted():
        for name in gw.sink_files():
            with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
                m = f.read()
            if b"Delivered-To: bob@example.net" in m and b"BEGIN PGP MESSAGE" in m:
                return m
        return None
    d = wait_for(to_bob_encrypted, 30)
    opened = bob("--decrypt", input=d[d.find(b"-----BEGIN PGP MESSAGE"):]).stdout if d else b""
    t.ok(r.returncode == 0 and d is not None and b"fine" in opened
         and b"X-Sealgate-AV: clean" in d.split(b"\r\n\r\n", 1)[0] + opened,
         "outgoing mail to bob is scanned before encryption: stamped clean, encrypted to his key",
         repr(d[:700]) + repr(opened[:600]) if d else gw.log_text()[-1000:])
    # the test virus in the same outgoing path is found before encryption
    send("alice@demo.test", "bob@example.net", with_attachment("alice@demo.test", "bob@example.net", "virus out",
                                                               clam_exe()))
    held = held_with("virus out")
    t.ok(held, "outgoing mail with the test virus attached is held", gw.log_text()[-1500:])
    r = gw.cli("queue", "show", held or "none")
    t.ok(f"infected ({FOUND}) (rule quarantine-virus)" in r.stdout,
         "queue show gives the verdict and the default policy's rule as the quarantine reason", r.stdout + r.stderr)
    t.ok(not virus_delivered(), "nothing of it was delivered (no message carries the virus)")
    line = next((l for l in gw.log_text().splitlines() if "event=scanned" in l and "infected" in l), "")
    m = re.search(r"parts=(\d+) part_bytes=(\d+)", line)
    t.ok(m and int(m.group(1)) == 2 and int(m.group(2)) == len("see the attachment") + len(clam_exe()),
         "clamd was given each leaf decoded: the text and the attachment's own bytes", line)

    # the test virus inside a zip: clamd reads the archive
    send("x@example.net", "alice@demo.test", with_attachment("x@example.net", "alice@demo.test", "zipped virus",
                                                             zipped({"docs/clam.exe": clam_exe()}),
                                                             filename="docs.zip"))
    held = held_with("zipped virus")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and f"infected ({FOUND})" in r.stdout, "the test virus inside a zip attachment is found and held",
         r.stdout + r.stderr + gw.log_text()[-800:])

    # a forged stamp on outgoing mail is replaced by the gateway's verdict
    send("alice@demo.test", "eve@example.net", b"From: alice@demo.test\r\nTo: eve@example.net\r\nSubject: forged\r\n"
         b"X-Sealgate-AV: clean (forged)\r\nX-Sealgate-Spam: score=-100; action=no action\r\n"
         b"X-Sealgate-Content: clean (forged)\r\n\r\nhello\r\n")
    d = wait_for(lambda: delivered("forged"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"] and spam_clean(d) and b"forged)" not in d
         and stamps(d, "content") == [b"X-Sealgate-Content: clean"]
         and b"score=-100" not in d, "stamps written by an internal sender are removed, the gateway's added",
         repr(d)[:800] if d else gw.log_text()[-800:])
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: forged in\r\nX-Sealgate-AV: clean (forged)\r\nX-Sealgate-Content: clean (forged)\r\n"
         b"X-Sealgate-Spam: score=-100; action=no action\r\n\r\n" + GTUBE + b"\r\n")
    d = wait_for(lambda: delivered("forged in"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"] and b"forged)" not in d and b"score=-100" not in d
         and stamps(d, "content") == [b"X-Sealgate-Content: clean"] and len(stamps(d, "spam")) == 1,
         "forged stamps on incoming mail are stripped, only the gateway's verdicts remain",
         repr(d)[:800] if d else gw.log_text()[-800:])

    # the test virus inside a PGP/MIME-encrypted incoming message: found after decryption, held
    r = gw.cli("key", "generate", "alice@demo.test")
    t.ok(r.returncode == 0, "alice has a gateway key", r.stderr)
    gpg("--import", input=gw.cli("key", "export", r.stdout.strip()).stdout.encode())
    inner = with_attachment("x@example.net", "alice@demo.test", "virus inside", clam_exe())
    inner = b"Content-Type" + inner.split(b"Content-Type", 1)[1]  # the MIME entity only
    enc = gpg("--armor", "--encrypt", "-r", "alice@demo.test", input=inner).stdout
    t.ok(b"BEGIN PGP MESSAGE" in enc, "gpg encrypted the infected entity to alice")
    msg = (b"From: x@example.net\r\nTo: alice@demo.test\r\nSubject: encrypted virus\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e1\"\r\n\r\n"
           b"--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e1\r\n"
           b"Content-Type: application/octet-stream\r\n\r\n" + enc.replace(b"\n", b"\r\n") + b"\r\n--e1--\r\n")
    send("x@example.net", "alice@demo.test", msg)
    held = held_with("encrypted virus")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and f"infected ({FOUND})" in r.stdout, "the virus inside PGP/MIME is found after decryption and held",
         r.stdout + r.stderr + gw.log_text()[-1500:])
    t.ok(not virus_delivered(), "nothing of the encrypted infected message was delivered")

    # the test virus inside an S/MIME-encrypted incoming message (openssl cms, to carol's
    # certificate from the gateway's CA): found after decryption, held
    def ossl(*args, input=None):
        return subprocess.run(["openssl", *args], input=input, capture_output=True, cwd=tmp)

    r1, r2 = gw.cli("ca", "init"), gw.cli("ca", "issue", "carol@demo.test")
    carol_pem = os.path.join(tmp, "carol.pem")
    with open(carol_pem, "w") as f:
        f.write(gw.cli("cert", "export", r2.stdout.split()[-1] if r2.stdout.split() else "none").stdout)
    t.ok(r1.returncode == 0 and r2.returncode == 0, "carol has a certificate of the gateway's CA", r1.stderr + r2.stderr)

    def smime_to(cert, subject, entity):
        enc = ossl("cms", "-encrypt", "-aes256", "-recip", cert, input=entity).stdout
        return (b"From: x@example.net\r\nTo: carol@demo.test\r\nSubject: " + subject.encode() + b"\r\n"
                + enc.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))

    inner = with_attachment("x@example.net", "carol@demo.test", "s", clam_exe())
    inner = b"Content-Type" + inner.split(b"Content-Type", 1)[1]
    send("x@example.net", "carol@demo.test", smime_to(carol_pem, "smime virus", inner))
    held = held_with("smime virus")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and f"infected ({FOUND})" in r.stdout, "the virus inside S/MIME (CMS EnvelopedData) is found after "
         "decryption and held", r.stdout + r.stderr + gw.log_text()[-1500:])
    t.ok(not virus_delivered(), "nothing of the S/MIME infected message was delivered")
    # encrypted to a certificate the gateway has no key for: delivered as it came, never "clean"
    other = ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", os.path.join(tmp, "other.key"),
                 "-out", os.path.join(tmp, "other.pem"), "-subj", "/CN=other", "-days", "2",
                 "-addext", "subjectAltName=email:carol@demo.test")
    t.ok(other.returncode == 0, "a certificate the gateway holds no key for", other.stderr.decode())
    send("x@example.net", "carol@demo.test", smime_to(os.path.join(tmp, "other.pem"), "smime closed", inner))
    d = wait_for(lambda: delivered("smime closed"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: unscanned (encrypted part not opened)"]
         and stamps(d, "content") == [b"X-Sealgate-Content: unscanned (encrypted part not opened)"],
         "S/MIME the gateway cannot open is stamped unscanned (encrypted part not opened), never clean",
         repr(stamps(d) + stamps(d, "content")) if d else gw.log_text()[-1500:])

    # the sandwich: dave holds a key of his own (client-side encryption, registered with the
    # gateway: public part only). Mail encrypted to the gateway's key for dave is decrypted,
    # scanned, and encrypted again to dave's own key before delivery (the rule's chain
    # decrypt -> encrypt); dave's own gpg opens it and finds the scan stamp inside; the test
    # virus in the same path is held (clamd saw the plaintext)
    r = gw.cli("key", "generate", "dave@demo.test")
    dave_gw = r.stdout.strip()  # the gateway's key for dave, to which correspondents encrypt
    gpg("--import", input=gw.cli("key", "export", dave_gw).stdout.encode())
    dave = gpg_runner(os.path.join(tmp, "dave-gnupg"))
    time.sleep(1.1)  # the newest key of an address is used: dave's own, one second younger
    dave("--quick-gen-key", "Dave <dave@demo.test>", "ed25519", "sign", "never")
    fpr = re.search(r"fpr:+([0-9A-F]{40}):", dave("--with-colons", "--list-keys", "dave@demo.test").stdout.decode())
    dave("--quick-add-key", fpr.group(1) if fpr else "none", "cv25519", "encr", "never")
    own = os.path.join(tmp, "dave-own.asc")
    with open(own, "wb") as f:
        f.write(dave("--armor", "--export", "dave@demo.test").stdout)
    r = gw.cli("key", "import", own)
    t.ok(r.returncode == 0, "dave's own key (public part) is registered with the gateway", r.stdout + r.stderr)
    # carol (S/MIME) holds a certificate of her own too, from her own CA (trusted by the gateway)
    with open(os.path.join(tmp, "own.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=emailProtection\nsubjectAltName=email:carol@demo.test\n")
    made = [ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ownca.key", "-out", "ownca.pem",
                 "-subj", "/CN=Carol Own CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "own.key", "-out", "own.csr", "-subj",
                 "/CN=carol@demo.test"),
            ossl("x509", "-req", "-in", "own.csr", "-CA", "ownca.pem", "-CAkey", "ownca.key", "-CAcreateserial",
                 "-out", "own.pem", "-days", "30", "-extfile", "own.cnf")]
    r1 = gw.cli("cert", "import", "--trust", os.path.join(tmp, "ownca.pem"))
    r2 = gw.cli("cert", "import", os.path.join(tmp, "own.pem"))
    t.ok(all(m.returncode == 0 for m in made) and r1.returncode == 0 and r2.returncode == 0,
         "carol's own certificate (public part) from her own CA is registered with the gateway",
         b"".join(m.stderr for m in made).decode() + r1.stderr + r2.stderr)
    load_policy('{ name = "sandwich-open"; if = { direction = "incoming"; to = ["dave@demo.test", "carol@demo.test"]; };\n'
                '  then = ( "decrypt" ); continue = true; },\n'
                '{ name = "sandwich-close"; if = { direction = "incoming"; to = ["dave@demo.test", "carol@demo.test"]; };\n'
                '  then = ( "encrypt", "deliver" ); }',
                "a policy with the sandwich rule for dave is loaded")

    def pgp_mime_to(who, subject, entity):
        enc = gpg("--armor", "--encrypt", "-r", dave_gw, input=entity).stdout
        return (f"From: x@example.net\r\nTo: {who}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n".encode()
                + b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e1\"\r\n\r\n"
                b"--e1\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e1\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + enc.replace(b"\n", b"\r\n") + b"\r\n--e1--\r\n")
    send("x@example.net", "dave@demo.test", pgp_mime_to("dave@demo.test", "sandwich", b"Content-Type: text/plain\r\n\r\n"
                                                        b"the sandwich filling\r\n"))
    def to_dave_encrypted():
        """The delivered message for dave that is PGP-encrypted (its Subject is protected inside)."""
        for name in gw.sink_files():
            with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
                m = f.read()
            if b"Delivered-To: dave@demo.test" in m and b"BEGIN PGP MESSAGE" in m:
                return m
        return None
    d = wait_for(to_dave_encrypted, 30)
    opened = dave("--decrypt", input=d[d.find(b"-----BEGIN PGP MESSAGE"):]) if d else None
    plain = opened.stdout if opened else b"" 
    t.ok(d is not None and b"the sandwich filling" not in d and b"the sandwich filling" in plain
         and b"X-Sealgate-AV: clean" in d.split(b"\r\n\r\n", 1)[0],
         "sandwich: delivered encrypted to dave's own key (his gpg opens it), stamped clean",
         (repr(opened.stderr) + repr(plain[:600])) if d else gw.log_text()[-1500:])
    send("x@example.net", "carol@demo.test", smime_to(carol_pem, "smime sandwich", b"Content-Type: text/plain\r\n\r\n"
                                                     b"the S/MIME filling\r\n"))

    def to_carol_encrypted():
        for name in gw.sink_files():
            with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
                m = f.read()
            if b"Delivered-To: carol@demo.test" in m and b"pkcs7-mime" in m and b"Decryption: full" in m:
                return m
        return None
    d = wait_for(to_carol_encrypted, 30)
    opened = ossl("cms", "-decrypt", "-recip", "own.pem", "-inkey", "own.key", input=d) if d else None
    t.ok(d is not None and b"the S/MIME filling" not in d and opened.returncode == 0
         and b"the S/MIME filling" in opened.stdout and b"X-Sealgate-AV: clean" in d.split(b"\r\n\r\n", 1)[0],
         "S/MIME sandwich: delivered encrypted to carol's own certificate (openssl cms opens it with her key), "
         "stamped clean", (opened.stderr.decode() + repr(d[:700])) if d else gw.log_text()[-1500:])
    inner = with_attachment("x@example.net", "dave@demo.test", "s", clam_exe())
    send("x@example.net", "dave@demo.test", pgp_mime_to("dave@demo.test", "sandwich virus",
                                                        b"Content-Type" + inner.split(b"Content-Type", 1)[1]))
    held = held_with("sandwich virus")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and f"infected ({FOUND})" in r.stdout and delivered("sandwich virus") is None,
         "sandwich: the test virus inside is found in the plaintext and held", r.stdout + gw.log_text()[-1000:])

    # clamd stopped in the middle of a run: deferred (kept in active/), never passed as clean
    clamd.stop()
    r = gw.cli("check-config")
    t.ok(r.returncode != 0 and "scan.clamd" in r.stderr, "check-config reports a clamd that does not answer",
         r.stdout + r.stderr)
    before = gw.log_text().count("event=scan-deferred")
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: while clamd is down\r\n\r\nwaiting\r\n")
    t.ok(wait_for(lambda: gw.log_text().count("event=scan-deferred") > before, 30),
         "the message is deferred while clamd is down (event=scan-deferred)", gw.log_text()[-1000:])
    waiting = [n for n in listdir(gw.spool, "active")]
    t.ok(len(waiting) == 1 and delivered("while clamd is down") is None and held_with("while clamd is down", 0.1) is None,
         "it waits in active/: not delivered, not held, not lost",
         f"{waiting} {delivered('while clamd is down')} {held_with('while clamd is down', 0.1)}")
    t.ok(clamd.start(), "clamd is started again")
    d = wait_for(lambda: delivered("while clamd is down"), 60, 0.5)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"], "delivered, stamped clean, once clamd is back",
         "\n".join(l for l in gw.log_text().splitlines() if "cryptd" in l)[-3000:])

    # a rule on rspamd's score: GTUBE held as the loaded policy says
    load_policy('{ name = "spam-hold"; if = { spam_score = 10; }; then = ( { hold = "spam"; } ); }',
                "a policy with a spam_score rule is loaded and in force")
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: second offer\r\n\r\n" + GTUBE + b"\r\n")
    held = held_with("second offer")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and "spam (score 15.00), clean (rule spam-hold)" in r.stdout,
         "GTUBE is held by the spam_score rule, the score and the rule in the reason", r.stdout + r.stderr)
    t.ok(delivered("second offer") is None, "and not delivered")

    # content rules (PCRE2 over decoded text, libmagic type against the name, zip members)
    load_policy('{ name = "no-exe-in-zip"; if = { archive_member = ["*.exe", "*.scr"]; }; then = ( "hold" ); },\n'
                '{ name = "disguised"; if = { type_mismatch = true; }; then = ( "hold" ); },\n'
                '{ name = "no-elf"; if = { attachment_magic = ["application/x-*executable", "application/x-sharedlib"]; };\n'
                '  then = ( "hold" ); },\n'
                '{ name = "secret"; if = { text = "project\\\\s+blue(bird)?"; }; then = ( "hold" ); }',
                "a policy with content rules is loaded")
    with open("/bin/true", "rb") as f:
        elf = f.read()

    def held_for(subject, msg):
        send("x@example.net", "alice@demo.test", msg)
        h = held_with(subject)
        return gw.cli("queue", "show", h).stdout if h else ""

    out = held_for("nested", with_attachment("x@example.net", "alice@demo.test", "nested", zipped(
        {"readme.txt": b"hello", "inner.zip": {"setup.scr": b"not a virus, just a name"}}), filename="pack.zip"))
    t.ok("forbidden (rule no-exe-in-zip)" in out, "a .scr inside a zip inside a zip is forbidden content (libarchive)",
         out + gw.log_text()[-600:])
    out = held_for("invoice", with_attachment("x@example.net", "alice@demo.test", "invoice", elf,
                                              filename="invoice.pdf"))
    t.ok("forbidden (rule disguised): invoice.pdf is application/x-" in out,
         "an executable named .pdf is a name/type mismatch (libmagic)", out + gw.log_text()[-600:])
    out = held_for("tool", with_attachment("x@example.net", "alice@demo.test", "tool", elf, filename="tool.bin"))
    t.ok("forbidden (rule no-elf)" in out, "an executable by its bytes, whatever its name (attachment_magic)",
         out + "\n".join(l for l in gw.log_text().splitlines() if "cryptd" in l)[-1500:])
    qp = (b"From: x@example.net\r\nTo: alice@demo.test\r\nSubject: plans\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
          b"About PROJECT=20=20Blue=\r\nbird: =C3=BCber-secret\r\n")
    out = held_for("plans", qp)
    t.ok("forbidden (rule secret)" in out, "a PCRE2 pattern matches the decoded text (quoted-printable undone)", out)
    d = gw.send_one("x@example.net", "alice@demo.test", with_attachment(
        "x@example.net", "alice@demo.test", "harmless", zipped({"a.txt": b"fine"}), filename="a.zip"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"], "a message no content rule matches is delivered",
         gw.log_text()[-600:])

    # on_error = "hold": with clamd down the message is held, the reason says why, never clean
    gw.stop()
    clamd.stop()
    gw.write_config(f'scan = {{ clamd = "{clamd.addr}"; on_error = "hold"; timeout = 10; }};\n')
    gw.start()
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: scanner gone\r\n\r\nkept\r\n")
    held = held_with("scanner gone")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and "unscanned (scanner unavailable: clamd unavailable: cannot connect" in r.stdout
         and delivered("scanner gone") is None, "on_error hold: held with the reason, not delivered",
         r.stdout + gw.log_text()[-800:])

    def restart(scan):
        gw.stop()
        gw.write_config(f"scan = {{ {scan} on_error = \"hold\"; timeout = 20; }};\n")
        gw.start()

    def held_reason(subject, body=b"kept\r\n"):
        send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
             b"Subject: " + subject.encode() + b"\r\n\r\n" + body)
        h = held_with(subject)
        return (gw.cli("queue", "show", h).stdout if h else "") + ("" if delivered(subject) is None else "DELIVERED")

    # spamd, the alternative anti-spam backend: a real SpamAssassin, GTUBE stamped with its score
    t.ok(spamd.wait(), "a private spamd answers PING", spamd.log()[-800:])
    t.ok(clamd.start(), "clamd is started again (reached over TCP from now on)")
    restart(f'clamd = "{clamd.tcp_addr}"; spamd = "{spamd.addr}";')
    r = gw.cli("check-config")
    t.ok(r.returncode == 0 and "configuration OK" in r.stdout, "check-config: spamd and clamd over TCP answer their PING",
         r.stdout + r.stderr)
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: spamd offer\r\n\r\n" + GTUBE + b"\r\n")
    d = wait_for(lambda: delivered("spamd offer"), 60)
    st = stamps(d, "spam") if d else []
    m = re.match(rb"X-Sealgate-Spam: score=(\d+\.\d\d); action=spam; symbols=(.*)$", st[0]) if len(st) == 1 else None
    t.ok(m and float(m.group(1)) >= 1000 and b"GTUBE" in m.group(2).split(b",") and stamps(d) == [b"X-Sealgate-AV: clean"],
         "spamd: GTUBE stamped with SpamAssassin's score (1000 or more), action=spam, GTUBE among the rules; "
         "clamd over TCP: clean",
         repr(st) + spamd.log()[-600:])
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: spamd ham\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <a@example.net>\r\n"
         b"\r\nhello, see you tomorrow\r\n")
    d = wait_for(lambda: delivered("spamd ham"), 60)
    st = stamps(d, "spam") if d else []
    t.ok(len(st) == 1 and b"action=no action" in st[0], "spamd: an ordinary message is stamped action=no action",
         repr(st))
    load_policy('{ name = "spam-hold"; if = { spam_score = 10; }; then = ( { hold = "spam"; } ); }',
                "the spam_score rule is loaded with spamd as the backend")
    out = held_reason("spamd second", GTUBE + b"\r\n")
    t.ok(re.search(r"spam \(score 10\d\d\.\d\d\), \S+ \(rule spam-hold\)", out) is not None,
         "spamd's score is what the spam_score rule tests: held with score and rule", out)
    spamd.stop()
    r = gw.cli("check-config")
    t.ok(r.returncode != 0 and "scan.spamd" in r.stderr, "check-config reports a spamd that does not answer",
         r.stdout + r.stderr)
    out = held_reason("spamd gone")
    t.ok("unscanned (scanner unavailable: spamd unavailable: cannot connect" in out,
         "spamd down: held as unscanned (scanner unavailable), never clean", out + gw.log_text()[-600:])

    # rspamd down: never clean
    rspamd.cleanup()
    restart(f'rspamd = "{rspamd.addr}";')
    out = held_reason("rspamd gone")
    t.ok("unscanned (scanner unavailable: rspamd unavailable: cannot connect" in out,
         "rspamd down: held as unscanned (scanner unavailable), never clean", out + gw.log_text()[-600:])

    # scanners that answer garbage: never clean
    for kind, addr, why in (("clamd", f"tcp:127.0.0.1:{garbage.port}", "clamd: clamd's answer is not one line"),
                            ("rspamd", f"http://127.0.0.1:{garbage.port}", "rspamd: rspamd's answer lacks a number"),
                            ("spamd", f"tcp:127.0.0.1:{garbage.port}", "spamd: spamd's answer is not SPAMD")):
        before = garbage.connections
        restart(f'{kind} = "{addr}";')
        out = held_reason(f"garbage from {kind}")
        t.ok(f"unscanned (scanner unavailable: {why}" in out and garbage.connections > before,
             f"{kind} answering garbage: held as unscanned, never clean", out + gw.log_text()[-600:])
    # release from quarantine (CLI): processing resumes after the scanning stage. The held
    # PGP/MIME message is decrypted again for alice (the chain before the stage runs as ever),
    # not scanned again, delivered stamped released with the hold's reason
    held = held_with("encrypted virus", 1)
    r = gw.cli("queue", "release", held or "none")
    d = wait_for(lambda: delivered("encrypted virus"), 30)
    body = d.split(b"\r\n\r\n", 1)[1] if d else b""
    t.ok(r.returncode == 0 and d is not None and b"BEGIN PGP MESSAGE" not in body and VIRUS_B64[:40] in d.replace(b"\r\n", b"")
         and stamps(d, "content") == [f"X-Sealgate-Content: released (infected ({FOUND}) (rule quarantine-virus))".encode()]
         and not stamps(d) and "event=scan-released" in gw.log_text(),
         "a released PGP/MIME message is decrypted again, not scanned again, and delivered stamped "
         "X-Sealgate-Content: released (REASON)", r.stdout + r.stderr + (repr(d[:900]) if d else gw.log_text()[-1500:]))
    # release through the REST API (an administrator's session, audited as queue.release): the
    # virus held on dave's sandwich path resumes after the stage and is still protected, i.e.
    # encrypted to dave's own key, not delivered in the clear
    load_policy('{ name = "sandwich-open"; if = { direction = "incoming"; to = "dave@demo.test"; };\n'
                '  then = ( "decrypt" ); continue = true; },\n'
                '{ name = "sandwich-close"; if = { direction = "incoming"; to = "dave@demo.test"; };\n'
                '  then = ( "encrypt", "deliver" ); }', "the sandwich policy is in force again")
    c = Client(gw.web_port)
    c.login("opal", first_admin(gw, "opal") or "")
    held = held_with("sandwich virus", 1)
    a = c.api("POST", f"/api/v1/queue/{held}/release", csrf=c.csrf())

    def released_to_dave():
        for name in gw.sink_files():
            with open(os.path.join(gw.sink_dir, "new", name), "rb") as f:
                m = f.read()
            if b"Delivered-To: dave@demo.test" in m and b"BEGIN PGP MESSAGE" in m:
                p = dave("--decrypt", input=m[m.find(b"-----BEGIN PGP MESSAGE"):]).stdout
                if VIRUS_B64[:40] in p.replace(b"\r\n", b""):
                    return m
        return None
    d = wait_for(released_to_dave, 30)
    t.ok(a.status == 200 and d is not None and b"X-Sealgate-Content: released (quarantine: infected" not in d
         and b"X-Sealgate-Content: released (infected (" in d and not any(
             b"Delivered-To: dave@demo.test" in m and VIRUS_B64[:40] in m.replace(b"\r\n", b"")
             for m in (open(os.path.join(gw.sink_dir, "new", n), "rb").read() for n in gw.sink_files())),
         "released through the API: not scanned again, encrypted to dave's own key (protection not skipped), "
         "never in the clear", f"{a.status} {a.body[:300]!r} " + (repr(d[:800]) if d else gw.log_text()[-1500:]))
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
finally:
    gw.cleanup()
    clamd.cleanup()
    rspamd.cleanup()
    spamd.cleanup()
    garbage.close()
    shutil.rmtree(tmp, ignore_errors=True)
t.done()
