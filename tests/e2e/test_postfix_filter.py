#!/usr/bin/env python3
"""test_postfix_filter.py - sealgate as Postfix's after-queue content filter, end to end.

swaks (or smtplib where swaks lacks the feature) -> Postfix 127.0.0.1:in (content_filter)
-> sealgate smtpd -> cryptd (identity) -> relay -> Postfix re-injection listener -> virtual(8)
Maildir. Each message shape must arrive byte-identical: the delivered file minus the trace
headers Postfix prepends (Return-Path, X-Original-To, Delivered-To, Received) equals the sent
DATA. Postfix keeps lines, not line ends, and its Maildir files end lines with LF, so the sent
CRLF is compared as LF; every other byte must match. Needs root (Postfix). Owner: tests/e2e.
"""
import base64
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tap, Gateway, BINARY, can_run, free_port, log, send, wait_for  # noqa: E402
from postfix import Postfix  # noqa: E402

TRACE = re.compile(rb"^(Return-Path|X-Original-To|Delivered-To|Received):", re.I)


def hdrs(user, subject, extra=b""):
    return (b"From: Sender <sender@ext.test>\r\n"
            b"To: " + user.encode() + b"@demo.test\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <" + user.encode() + b".e2e@ext.test>\r\n" + extra)


def case_plain():
    body = b"".join(b"Line %d of a plain ASCII message.\r\n" % i for i in range(40))
    return hdrs("plain", "plain ASCII") + b"\r\n" + body


def case_8bit():
    text = ("Grüße aus Zürich, ünïcödé — 日本語のテキスト, € 100.\r\n"
            "Ä Ö Ü ß æ ø å ç ñ 🙂\r\n").encode("utf-8")
    return (hdrs("eightbit", "8-bit UTF-8 body",
                 b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 b"Content-Transfer-Encoding: 8bit\r\n") + b"\r\n" + text * 5)


def case_longlines():
    rnd = random.Random(7)
    lines = []
    for n in (998, 997, 990, 500, 998):
        lines.append("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789 ")
                             for _ in range(n)).encode())
    # A header line near the limit too (folded headers are allowed to be long per line).
    return (hdrs("longlines", "long lines near 998",
                 b"X-Long: " + b"h" * 980 + b"\r\n") + b"\r\n" + b"\r\n".join(lines) + b"\r\n")


def case_attachment():
    rnd = random.Random(11)
    blob = bytes(rnd.getrandbits(8) for _ in range(6000))
    b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
    return (hdrs("attach", "base64 attachment",
                 b"MIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"=-=sg-boundary-1=-=\"\r\n")
            + b"\r\nThis is a multi-part message in MIME format.\r\n"
            b"--=-=sg-boundary-1=-=\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            b"See the attachment.\r\n"
            b"--=-=sg-boundary-1=-=\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"blob.bin\"\r\n\r\n" + b64 +
            b"--=-=sg-boundary-1=-=--\r\n")


def case_dots():
    body = (b"First line.\r\n"
            b".\r\n"
            b"..\r\n"
            b"...\r\n"
            b".leading dot\r\n"
            b"..two leading dots\r\n"
            b" .space then dot\r\n"
            b"\r\n"
            b".\r\n"
            b"last line is a lone dot:\r\n"
            b".\r\n")
    return hdrs("dots", "lines starting with dots") + b"\r\n" + body


CASES = [
    # (user, description, data builder, sender)
    ("plain", "plain ASCII via swaks", case_plain, "swaks"),
    ("eightbit", "8-bit UTF-8 body with BODY=8BITMIME via smtplib", case_8bit, "smtplib-8bit"),
    ("longlines", "lines of 990-998 octets via swaks", case_longlines, "swaks"),
    ("attach", "multipart with base64 attachment via swaks", case_attachment, "swaks"),
    ("dots", "lines starting with '.' (dot-stuffing both ways) via swaks", case_dots, "swaks"),
]


def dot_stuff(data):
    return re.sub(rb"(?m)^\.", b"..", data)


def send_swaks(port, user, data):
    # --no-data-fixup: swaks sends our bytes as they are; we stuff the dots and add the ".".
    wire = dot_stuff(data) + b"."
    p = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--helo", "client.e2e.test",
                        "--from", "sender@ext.test", "--to", f"{user}@demo.test",
                        "--no-data-fixup", "--data", "-", "--timeout", "30"],
                       input=wire, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        tail = p.stdout.decode(errors="replace").splitlines()[-4:]
        raise RuntimeError(f"swaks exit {p.returncode}: {' | '.join(tail)}")


def strip_trace(delivered):
    lines = delivered.split(b"\n")
    i = 0
    while i < len(lines) and TRACE.match(lines[i]):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:])


def compare(sent, delivered):
    want = sent.replace(b"\r\n", b"\n")
    got = strip_trace(delivered)
    if want == got:
        return None
    n = next((i for i in range(min(len(want), len(got))) if want[i] != got[i]),
             min(len(want), len(got)))
    return (f"differs at byte {n} (sent {len(want)} bytes, delivered {len(got)} after trace "
            f"headers): sent {want[max(0, n - 20):n + 30]!r} delivered "
            f"{got[max(0, n - 20):n + 30]!r}")


def bulk(tap, pf, gw, n=200):
    """n messages from smtp-source in 10 parallel sessions through the filter: each arrives
    exactly once (counted in the Maildir)."""
    name = f"{n} messages from smtp-source (10 sessions) through the filter arrive once each"
    p = subprocess.run(["/usr/sbin/smtp-source", "-4", "-s", "10", "-m", str(n), "-l", "2000",
                        "-M", "client.e2e.test", "-f", "bulk-sender@ext.test",
                        "-t", "bulk@demo.test", f"127.0.0.1:{pf.in_port}"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        return tap.fail(name, f"smtp-source exit {p.returncode}: {p.stdout[-200:]!r}")
    got = wait_for(lambda: len(pf.mailbox("bulk")) >= n and pf.queue_empty(), 90, 0.5)
    count = len(pf.mailbox("bulk"))
    tap.check(got and count == n, name,
              f"{count} of {n} delivered; postfix queue empty={pf.queue_empty()}; "
              f"sealgate spool={gw.spool_count()}")


def sealgate_down(tap, pf, gw):
    """sealgate stopped: Postfix keeps the message in its own queue (the content filter
    transport gets connection refused) and delivers it once sealgate is back."""
    name = "sealgate down: Postfix defers, and delivers once sealgate is back"
    gw.stop()
    data = hdrs("down", "sent while sealgate was down") + b"\r\nWaited in Postfix.\r\n"
    send_swaks(pf.in_port, "down", data)
    refused = re.compile(rf":{gw.smtpd_port}\b.*(Connection refused|status=deferred)")

    def deferred():
        try:
            with open(pf.maillog, "rb") as f:
                return refused.search(f.read().decode(errors="replace"))
        except OSError:
            return None
    if not wait_for(deferred, 30, 0.25):
        return tap.fail(name, "Postfix did not try and defer: " + pf.log_tail(4))
    if pf.mailbox("down") or pf.queue_empty():
        return tap.fail(name, "the message bypassed the filter or left Postfix's queue "
                        f"(mailbox={pf.mailbox('down')})")
    gw.start()
    files = wait_for(lambda: pf.mailbox("down"), 60, 0.25)
    if not files:
        return tap.fail(name, "not delivered within 60 s after sealgate restarted: "
                        + pf.log_tail(3))
    with open(files[0], "rb") as f:
        diff = compare(data, f.read())
    tap.check(not diff and len(files) == 1, name, diff or f"delivered {len(files)} times")


def tls_both_ways(tap):
    """A second Postfix instance that requires TLS towards sealgate
    (smtp_tls_security_level=encrypt) and offers it on re-injection (smtpd_tls_cert_file), with
    sealgate's relay set to tls = "verify" against that certificate and its name: a message
    crosses both hops encrypted and arrives byte-identical, and sealgate logs tls=verified."""
    name = "STARTTLS both ways: Postfix -> sealgate (encrypt) and sealgate -> Postfix (verify)"
    sg_port = free_port()
    pf = gw = None
    try:
        pf = Postfix(filter_port=sg_port, users=["tls"], name="pf-tls", tls=True)
        gw = Gateway("pf-tls", smtpd_port=sg_port, next_hop_port=pf.reinject_port, sink=False,
                     relay_extra=f'tls = "verify"; tls_ca_file = "{pf.config_dir}/cert.pem"; '
                                 'tls_match = ["mx.demo.test"];')
        pf.start()
        gw.start()
        data = hdrs("tls", "over TLS") + b"\r\nEncrypted on the wire both ways.\r\n.dot\r\n"
        send_swaks(pf.in_port, "tls", data)
        files = wait_for(lambda: pf.mailbox("tls"), 60, 0.25)
        if not files:
            return tap.fail(name, "not delivered within 60 s; postfix: " + pf.log_tail(4)
                            + "; sealgate: " + gw.log_tail(4))
        with open(files[0], "rb") as f:
            diff = compare(data, f.read())
        with open(pf.maillog, "rb") as f:
            ml = f.read().decode(errors="replace")
        to_sg = re.search(rf"TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:"
                          rf"{sg_port}", ml)
        from_sg = re.search(r"smtpd\[\d+\]: Anonymous TLS connection established from", ml)
        verified = wait_for(lambda: re.search(r"event=sent rcpt=<tls@demo\.test> .* tls=verified tls_proto=TLSv1",
                                              gw.log_text()), 5)
        tap.check(not diff and to_sg and from_sg and verified, name,
                  diff or f"TLS to sealgate logged: {bool(to_sg)}, TLS from sealgate's relay "
                  f"logged: {bool(from_sg)}, sealgate logged tls=verified: {bool(verified)}")
    except Exception as e:
        tap.fail(name, repr(e))
    finally:
        if gw:
            gw.cleanup()
        if pf:
            pf.cleanup()


def too_big_on_reinjection(tap):
    """docs/postfix.md warns that size limits apply again on re-injection. A Postfix instance
    whose re-injection listener takes at most 100 kB: a 300 kB message from alice@demo.test is
    accepted by Postfix and sealgate, refused on re-injection, and alice must get sealgate's
    DSN (through Postfix, into her Maildir), small enough to pass the same listener."""
    name = ("message too big for re-injection: the sender gets sealgate's DSN through Postfix "
            "(Action: failed, Status: 5.x.x)")
    sg_port = free_port()
    pf = gw = None
    try:
        pf = Postfix(filter_port=sg_port, users=["alice", "bob"], name="pf-size",
                     reinject_size_limit=100000)
        gw = Gateway("pf-size", smtpd_port=sg_port, next_hop_port=pf.reinject_port, sink=False,
                     relay_extra='tls = "none";')
        pf.start()
        gw.start()
        big = (b"From: alice@demo.test\r\nTo: bob@demo.test\r\nSubject: too big\r\n"
               b"Message-ID: <too-big@demo.test>\r\n\r\n" + (b"y" * 76 + b"\r\n") * 4000)
        send(pf.in_port, "alice@demo.test", ["bob@demo.test"], big)
        files = wait_for(lambda: pf.mailbox("alice"), 60, 0.25)
        if not files:
            return tap.fail(name, "no DSN in alice's Maildir within 60 s; postfix: "
                            + pf.log_tail(3) + "; sealgate: " + gw.log_tail(3))
        with open(files[0], "rb") as f:
            dsn = f.read()
        problems = []
        if not re.search(rb"(?im)^Content-Type:\s*multipart/report", dsn):
            problems.append("not multipart/report")
        if not re.search(rb"(?im)^Action:\s*failed", dsn):
            problems.append("no Action: failed")
        if not re.search(rb"(?im)^Status:\s*5\.\d+\.\d+", dsn):
            problems.append("no Status: 5.x.x")
        if not re.search(rb"(?im)^Final-Recipient:\s*rfc822;\s*<?bob@demo\.test", dsn):
            problems.append("no Final-Recipient bob@demo.test")
        if pf.mailbox("bob"):
            problems.append("bob got the message anyway")
        tap.check(not problems, name, "; ".join(problems))
    except Exception as e:
        tap.fail(name, repr(e))
    finally:
        if gw:
            gw.cleanup()
        if pf:
            pf.cleanup()


def main():
    tap = Tap()
    if not can_run(tap, "postfix content filter end to end"):
        return tap.exit()
    sg_port = free_port()
    pf = gw = None
    try:
        pf = Postfix(filter_port=sg_port, users=[c[0] for c in CASES] + ["bulk", "down"],
                     name="pf-filter")
        gw = Gateway("pf-filter", smtpd_port=sg_port, next_hop_port=pf.reinject_port, sink=False,
                     relay_extra='tls = "none";')
        try:
            pf.start()
            gw.start()
        except Exception as e:
            tap.fail("postfix and sealgate start", e)
            return tap.exit()
        tap.ok(True, "postfix and sealgate start (postfix in=%d reinject=%d, sealgate=%d)"
               % (pf.in_port, pf.reinject_port, sg_port))
        sent = {}
        for user, desc, build, how in CASES:
            data = build()
            try:
                if how == "swaks":
                    send_swaks(pf.in_port, user, data)
                else:
                    send(pf.in_port, "sender@ext.test", [f"{user}@demo.test"], data,
                         mail_options=["BODY=8BITMIME"])
                sent[user] = data
            except Exception as e:
                tap.fail(desc, f"sending to Postfix failed: {e}")
        for user, desc, _, _ in CASES:
            if user not in sent:
                continue
            files = wait_for(lambda: pf.mailbox(user), 60, 0.25)
            if not files:
                tap.fail(desc, "not delivered within 60 s; postfix: " + pf.log_tail(4)
                         + "; sealgate: " + gw.log_tail(4))
                continue
            with open(files[0], "rb") as f:
                delivered = f.read()
            diff = compare(sent[user], delivered)
            if diff:
                tap.fail(desc + " arrives byte-identical", diff)
            elif len(files) != 1:
                tap.fail(desc + " arrives byte-identical", f"delivered {len(files)} times")
            else:
                tap.ok(True, desc + " arrives byte-identical")
        # The path really went through sealgate: Postfix handed each message to its port.
        try:
            with open(pf.maillog, "rb") as f:
                ml = f.read().decode(errors="replace")
        except OSError:
            ml = ""
        via = len(re.findall(rf"relay=127\.0\.0\.1\[127\.0\.0\.1\]:{sg_port},.*status=sent", ml))
        tap.check(via >= len(sent), "every message passed through sealgate's smtpd",
                  f"Postfix logged {via} deliveries to port {sg_port}, expected {len(sent)}")
        bulk(tap, pf, gw)
        sealgate_down(tap, pf, gw)
    except Exception as e:
        tap.fail("postfix content filter harness", repr(e))
    finally:
        if gw:
            gw.cleanup()
        if pf:
            pf.cleanup()
    tls_both_ways(tap)
    too_big_on_reinjection(tap)
    return tap.exit()


if __name__ == "__main__":
    main()
