#!/usr/bin/env python3
"""Content scanning end to end (issue 15, docs/scanning.md): SMTP in, the real cryptd with the
shipped default policy and a `scan` section, a REAL clamd and a REAL rspamd started by this test
(private instances in temp dirs: clamd with a local signature of clamav-testfiles' clam.exe,
rspamd without modules, tests/lib/scanners.py). Cases: GTUBE is stamped with rspamd's score; the test
virus attached to outgoing mail is held (quarantine, the verdict as the reason in `queue show`),
never delivered; inside a PGP/MIME-encrypted incoming message it is found after decryption and
held; a clean message is delivered stamped clean; one over clamd's StreamMaxLength is stamped
unscanned (too large); stamps the sender wrote are replaced; clamd
stopped in the middle of a run defers the mail (nothing delivered, nothing lost, never clean) and
it is delivered once clamd is back; check-config pings the scanner. Owner: src/policy (scan_stage).
"""
import base64
import os
import re
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, gpg_runner, listdir, wait_for  # noqa: E402
from scanners import FOUND, GTUBE, Clamd, Rspamd, clam_exe  # noqa: E402

t = Tap()
clamd = Clamd()
rspamd = Rspamd()
gw = Gateway()
gw.write_config(f'scan = {{ clamd = "{clamd.addr}"; rspamd = "{rspamd.addr}"; on_error = "defer"; timeout = 10; }};\n')
tmp = tempfile.mkdtemp(prefix="sg-scan-")
gpg = gpg_runner(os.path.join(tmp, "gnupg"))


def with_attachment(sender, rcpt, subject, data, extra=b""):
    b64 = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return (f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n".encode() + extra
            + b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
            b"see the attachment\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=\"report.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + b64 + b"--b1--\r\n")


def send(sender, rcpt, msg):
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail(sender, [rcpt], msg)


def held_with(subject, timeout=30):
    """The id of the held message whose bytes carry subject, or None."""
    def find():
        for name in listdir(gw.spool, "hold"):
            with open(os.path.join(gw.spool, "hold", name), "rb") as f:
                if subject.encode() in f.read():
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


def stamps(d, kind="av"):
    hdr = d.split(b"\r\n\r\n", 1)[0]
    return re.findall(rb"(?im)^x-sealgate-" + kind.encode() + rb":[^\r\n]*", hdr)


def spam_clean(d):
    s = stamps(d, "spam")
    return len(s) == 1 and s[0].startswith(b"X-Sealgate-Spam: score=0.00; action=no action")


try:
    rspamd.start()  # loads for a while: started first, waited for after clamd
    t.ok(clamd.start(), "a private clamd answers on its socket", clamd.log()[-500:])
    t.ok(rspamd.wait(), "a private rspamd answers /ping", rspamd.log()[-500:])
    r = gw.cli("check-config")
    t.ok(r.returncode == 0 and "configuration OK" in r.stdout, "check-config: clamd and rspamd answer their pings",
         r.stdout + r.stderr)
    gw.start()

    # a clean message: delivered, stamped clean
    d = gw.send_one("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
                    b"Subject: clean one\r\n\r\nnothing here\r\n", 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"] and spam_clean(d), "a clean incoming message is "
         "delivered stamped X-Sealgate-AV: clean and X-Sealgate-Spam: score=0.00; action=no action",
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
    send("alice@demo.test", "bob@example.net", with_attachment("alice@demo.test", "bob@example.net", "virus out",
                                                               clam_exe()))
    held = held_with("virus out")
    t.ok(held, "outgoing mail with the test virus attached is held", gw.log_text()[-1500:])
    r = gw.cli("queue", "show", held or "none")
    t.ok(f"infected ({FOUND}) (rule quarantine-virus)" in r.stdout,
         "queue show gives the verdict and the default policy's rule as the quarantine reason", r.stdout + r.stderr)
    t.ok(not virus_delivered(), "nothing of it was delivered (no message carries the virus)")

    # a forged stamp on outgoing mail is replaced by the gateway's verdict
    send("alice@demo.test", "bob@example.net", b"From: alice@demo.test\r\nTo: bob@example.net\r\nSubject: forged\r\n"
         b"X-Sealgate-AV: clean (forged)\r\nX-Sealgate-Spam: score=-100; action=no action\r\n\r\nhello\r\n")
    d = wait_for(lambda: delivered("forged"), 30)
    t.ok(d is not None and stamps(d) == [b"X-Sealgate-AV: clean"] and spam_clean(d) and b"forged)" not in d
         and b"score=-100" not in d, "stamps written by the sender are removed, the gateway's added",
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
    pol = os.path.join(tmp, "spam.conf")
    with open(pol, "w") as f:
        f.write('rules = ( { name = "spam-hold"; if = { spam_score = 10; }; then = ( { hold = "spam"; } ); },\n'
                '  { name = "incoming"; if = { direction = ["incoming", "internal"]; };\n'
                '    then = ( "decrypt", "deliver" ); },\n  { name = "rest"; then = "deliver"; } );\n')
    loaded = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", pol)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > loaded, 20),
         "a policy with a spam_score rule is loaded and in force", r.stdout + r.stderr)
    send("x@example.net", "alice@demo.test", b"From: x@example.net\r\nTo: alice@demo.test\r\n"
         b"Subject: second offer\r\n\r\n" + GTUBE + b"\r\n")
    held = held_with("second offer")
    r = gw.cli("queue", "show", held or "none")
    t.ok(held and "spam (score 15.00), clean (rule spam-hold)" in r.stdout,
         "GTUBE is held by the spam_score rule, the score and the rule in the reason", r.stdout + r.stderr)
    t.ok(delivered("second offer") is None, "and not delivered")
finally:
    gw.cleanup()
    clamd.cleanup()
    rspamd.cleanup()
t.done()
