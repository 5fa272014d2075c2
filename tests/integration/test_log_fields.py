#!/usr/bin/env python3
"""Log lines stay one parseable event whatever the peers send (issue 9): the whole gateway
(smtpd, cryptd, relay) carries a recipient whose quoted local part holds '"', '=' and
" event=sent", and the next hop refuses it with a reply that holds " event=sent" and ends in a
backslash. Every line of the log must parse (sgtest.log_events), no forged field may appear,
and the bounce is logged with the escaped address and reply.
Owner: src/lib (log.c) with the roles that log peer values."""
import os
import smtplib
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, free_port, log_events, wait_for  # noqa: E402
from fakesmtp import FakeSmtp  # noqa: E402

t = Tap()
RCPT = '"a\\" b=c event=sent"@example.net'
REPLY = "550 5.1.1 no such user event=sent rcpt=<ceo@demo.test> \\"
hop = FakeSmtp(free_port(), rejects={RCPT: REPLY})
hop.start()
gw = Gateway(binary=asan_binary(), sink=False, next_hop=f"127.0.0.1:{hop.port}")
try:
    gw.start()
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", [RCPT], b"From: alice@demo.test\r\nTo: x@example.net\r\n"
                   b"Subject: hi\r\n\r\nhello\r\n")
    bounced = wait_for(lambda: "event=bounced" in gw.log_text(), 30)
    t.ok(bounced, "the next hop's 550 is logged as a bounce", gw.log_text()[-1500:])
    wait_for(lambda: len(hop.messages) >= 1, 20)  # the DSN to alice
    text = gw.log_text()
    try:
        events = log_events(text)
        why = ""
    except ValueError as e:
        events, why = [], str(e)
    t.ok(events and not why, "every line of the gateway's log is one event that parses", why)
    sent = [ev for ev in events if ("event", "sent") in ev]
    t.ok(len(sent) == 1 and ("rcpt", "<alice@demo.test>") in sent[0], "no forged event=sent: only the DSN to alice",
         "\n".join(l for l in text.splitlines() if "sent" in l))
    esc = "<\\x22a\\x5c\\x22\\x20b\\x3dc\\x20event\\x3dsent\\x22@example.net>"
    hit = [ev for ev in events if ("event", "bounced") in ev]
    t.ok(hit and ("rcpt", esc) in hit[0], "the bounce names the recipient escaped", repr(hit))
    t.ok(hit and dict(hit[0]).get("reply") == '"550 5.1.1 no such user event=sent rcpt=<ceo@demo.test> \\x5c"',
         "the next hop's reply is quoted with its backslash escaped", repr(hit))
    t.ok(not gw.sanitizer_reports(), "no sanitizer reports", "\n".join(gw.sanitizer_reports()))
finally:
    gw.cleanup()
    hop.stop()
t.done()
