#!/usr/bin/env python3
"""test_nexthop.py - what the relay does when the next hop is away or says no.

(a) relay.next_hop points at a port where nothing listens: an accepted message waits in
    deferred/ (`sealgate queue list` shows it); once a server appears there, the message is
    delivered with its bytes and envelope intact and the queue drains.
(b) the next hop answers 550 for one of two recipients: the other recipient gets the message,
    and the sender gets a DSN (RFC 3464 multipart/report with a message/delivery-status part,
    Action: failed, Status: 5.x.x, for the rejected recipient only) from the null sender.
(c) 451 for one recipient: the other is delivered once, this one after retries, no DSN;
    a next hop that hangs up before answering the data gets the message again.
(d) the envelope parameters (BODY, SMTPUTF8, ENVID, RET, NOTIFY, ORCPT) reach the next hop.
The next hop is the scripted fake SMTP server of tests/lib/fakesmtp.py. Works as root or not.
Owner: tests/e2e.
"""
import email
import email.policy
import os
import re
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Tap, Gateway, BINARY, free_port, log, send, wait_for, port_open  # noqa: E402
from fakesmtp import FakeSmtp  # noqa: E402


def message(mid, to, subject):
    return (f"From: Sender <sender@ext.test>\r\nTo: {', '.join(to)}\r\n"
            f"Subject: {subject}\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
            f"Message-ID: <{mid}@ext.test>\r\n\r\n"
            f"Body of {mid}.\r\n.leading dot line\r\n").encode()


def files_in(gw, state):
    d = os.path.join(gw.base, "spool", state)
    try:
        return sorted(x for x in os.listdir(d) if not x.startswith("."))
    except OSError:
        return []


def test_down(tap):
    hop_port = free_port()
    gw = Gateway("nexthop-down", next_hop_port=hop_port, sink=False)
    hop = FakeSmtp(hop_port)
    try:
        gw.start()
        if port_open(hop_port):
            tap.fail("next hop down: precondition", f"something listens on {hop_port}")
            return
        data = message("down-1", ["alice@demo.test"], "next hop down")
        send(gw.smtpd_port, "sender@ext.test", ["alice@demo.test"], data)
        deferred = wait_for(lambda: files_in(gw, "deferred"), 30, 0.2)
        rc, out = gw.queue_list()
        shown = bool(deferred) and rc == 0 and all(
            any(d in line and "deferred" in line for line in out.splitlines())
            for d in deferred)
        tap.check(shown, "next hop down: message waits in deferred/ and `queue list` shows it",
                  f"deferred/={deferred} queue list rc={rc} out={out[:300]!r} "
                  f"log: {gw.log_tail(3)}")
        # Still deferred after a retry or two (retry_min=1, retry_max=2): nothing lost.
        time.sleep(3)
        tap.check(gw.spool_count() >= 1, "next hop down: message stays queued across retries",
                  f"spool empty after retries; log: {gw.log_tail(4)}")
        hop.start()
        got = wait_for(lambda: hop.messages, 30, 0.2)
        if not got:
            tap.fail("next hop back: deferred message is delivered",
                     f"nothing arrived within 30 s; log: {gw.log_tail(4)}")
            return
        m = got[0]
        tap.check(m.data == data and m.mail_from == "sender@ext.test"
                  and m.rcpts == ["alice@demo.test"],
                  "next hop back: deferred message is delivered with envelope and bytes intact",
                  f"from={m.mail_from!r} rcpts={m.rcpts} data equal={m.data == data}")
        drained = wait_for(lambda: gw.spool_count() == 0, 15, 0.2)
        tap.check(drained and len(hop.messages) == 1,
                  "next hop back: queue drains, delivered once",
                  f"spool count {gw.spool_count()}, deliveries {len(hop.messages)}")
    finally:
        hop.stop()
        gw.cleanup()


def parse_dsn(raw):
    """(problems, summary) for a DSN message in bytes."""
    problems = []
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return [f"Content-Type is {msg.get_content_type()}"], ""
    if (msg.get_param("report-type") or "").lower() != "delivery-status":
        problems.append(f"report-type={msg.get_param('report-type')}")
    parts = msg.get_payload()
    status = [p for p in parts if p.get_content_type() == "message/delivery-status"]
    if not status:
        return problems + ["no message/delivery-status part: "
                           + ",".join(p.get_content_type() for p in parts)], ""
    # The delivery-status body is groups of header-like fields; read them as text.
    text = ""
    payload = status[0].get_payload()
    if isinstance(payload, list):
        text = "\n".join(str(p) for p in payload)
    else:
        text = str(payload)
    if not re.search(r"(?im)^Action:\s*failed\b", text):
        problems.append("no 'Action: failed'")
    st = re.search(r"(?im)^Status:\s*(5\.\d{1,3}\.\d{1,3})\b", text)
    if not st:
        problems.append("no 'Status: 5.x.x'")
    elif st.group(1) != "5.1.1":
        # The next hop announced ENHANCEDSTATUSCODES and replied 5.1.1: that code belongs in
        # the report (RFC 3464 Status), a generic 5.0.0 loses the reason.
        problems.append(f"Status: {st.group(1)} instead of the next hop's 5.1.1")
    if not re.search(r"(?im)^Final-Recipient:\s*rfc822;\s*<?nobody@demo\.test>?", text):
        problems.append("no 'Final-Recipient: rfc822; nobody@demo.test'")
    if re.search(r"(?im)^Final-Recipient:\s*rfc822;\s*<?alice@demo\.test", text):
        problems.append("the delivered recipient alice is reported as failed too")
    return problems, " ".join(text.split())[:300]


def test_reject(tap):
    hop_port = free_port()
    hop = FakeSmtp(hop_port, rejects={
        "nobody@demo.test": "550 5.1.1 <nobody@demo.test>: Recipient address rejected: "
                            "User unknown"})
    hop.start()
    gw = Gateway("nexthop-550", next_hop_port=hop_port, sink=False)
    try:
        gw.start()
        data = message("reject-1", ["alice@demo.test", "nobody@demo.test"], "one bad rcpt")
        send(gw.smtpd_port, "sender@ext.test", ["alice@demo.test", "nobody@demo.test"], data)

        def arrived(pred):
            with hop.lock:
                return [m for m in hop.messages if pred(m)]

        orig = wait_for(lambda: arrived(lambda m: "alice@demo.test" in m.rcpts), 30, 0.2)
        tap.check(len(orig) == 1 and orig[0].data == data,
                  "550 for one recipient: the other recipient still gets the message",
                  f"{len(orig)} deliveries to alice; log: {gw.log_tail(4)}")
        dsns = wait_for(lambda: arrived(lambda m: "sender@ext.test" in m.rcpts), 30, 0.2)
        if not dsns:
            tap.fail("550 for one recipient: sender receives a DSN",
                     f"no message to sender@ext.test within 30 s; log: {gw.log_tail(4)}")
            return
        problems, summary = parse_dsn(dsns[0].data)
        tap.check(not problems, "550 for one recipient: sender receives a DSN "
                  "(multipart/report, delivery-status, Action: failed, Status: 5.x.x)",
                  "; ".join(problems) + f" [status part: {summary}]")
        tap.check(dsns[0].mail_from == "", "550 for one recipient: DSN comes from the null "
                  "reverse-path <>", f"MAIL FROM was <{dsns[0].mail_from}>")
        time.sleep(3)  # two more retry periods: a permanent failure must not be retried
        tap.check(len(arrived(lambda m: "sender@ext.test" in m.rcpts)) == 1
                  and len(arrived(lambda m: "alice@demo.test" in m.rcpts)) == 1
                  and gw.spool_count() == 0,
                  "550 for one recipient: one DSN, no retries, queue empty",
                  f"{len(hop.messages)} messages at next hop, spool count {gw.spool_count()}")
    finally:
        hop.stop()
        gw.cleanup()


def test_tempfail(tap):
    """451 for one of two recipients: the other is delivered at once and only once, the
    deferred one later by a retry, and no DSN is sent."""
    hop_port = free_port()
    hop = FakeSmtp(hop_port, tempfail={"bob@demo.test": 2})
    hop.start()
    gw = Gateway("nexthop-451", next_hop_port=hop_port, sink=False)
    name = "451 for one recipient: the other delivered once, this one after two retries, no DSN"
    try:
        gw.start()
        data = message("temp-1", ["alice@demo.test", "bob@demo.test"], "one rcpt deferred")
        send(gw.smtpd_port, "sender@ext.test", ["alice@demo.test", "bob@demo.test"], data)
        bob = wait_for(lambda: [m for m in hop.messages if "bob@demo.test" in m.rcpts], 30, 0.2)
        time.sleep(1)
        with hop.lock:
            to_alice = [m for m in hop.messages if "alice@demo.test" in m.rcpts]
            to_sender = [m for m in hop.messages if "sender@ext.test" in m.rcpts]
            tries = [c for a, c in hop.rcpt_log if a == "bob@demo.test"]
        tap.check(bob and len(bob) == 1 and bob[0].data == data and len(to_alice) == 1
                  and not to_sender and tries == ["451", "451", "250"]
                  and gw.spool_count() == 0, name,
                  f"bob deliveries {len(bob or [])}, alice deliveries {len(to_alice)}, "
                  f"DSNs {len(to_sender)}, RCPT replies for bob {tries}, "
                  f"spool {gw.spool_count()}; log: {gw.log_tail(3)}")
    finally:
        hop.stop()
        gw.cleanup()


def test_hangup(tap):
    """The next hop hangs up after the data, before its reply: the outcome is unknown, so the
    relay must try again (a duplicate is acceptable, a loss is not)."""
    hop_port = free_port()
    hop = FakeSmtp(hop_port, drop_after_data=1)
    hop.start()
    gw = Gateway("nexthop-hangup", next_hop_port=hop_port, sink=False)
    name = "next hop hangs up before replying to the data: the message is sent again"
    try:
        gw.start()
        data = message("hangup-1", ["alice@demo.test"], "hang up after data")
        send(gw.smtpd_port, "sender@ext.test", ["alice@demo.test"], data)
        got = wait_for(lambda: hop.messages, 30, 0.2)
        drained = wait_for(lambda: gw.spool_count() == 0, 10, 0.2)
        tap.check(got and got[0].data == data and drained and hop.drops == 0, name,
                  f"deliveries {len(hop.messages)}, hang-ups left {hop.drops}, "
                  f"spool {gw.spool_count()}; log: {gw.log_tail(3)}")
    finally:
        hop.stop()
        gw.cleanup()


def test_envelope(tap):
    """The envelope is kept exactly (DESIGN.md): BODY, SMTPUTF8, ENVID, RET on MAIL FROM and
    NOTIFY, ORCPT on each RCPT reach the next hop as the client gave them."""
    hop_port = free_port()
    hop = FakeSmtp(hop_port)
    hop.start()
    gw = Gateway("nexthop-envelope", next_hop_port=hop_port, sink=False)
    name = "envelope kept: BODY, SMTPUTF8, ENVID, RET, NOTIFY, ORCPT reach the next hop"
    try:
        gw.start()
        rcpt = "jürgen@demo.test"
        data = ("From: sender@ext.test\r\nTo: jürgen@demo.test\r\nSubject: Grüße\r\n"
                "Message-ID: <envelope-1@ext.test>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\nÜmlaute.\r\n").encode()
        mail_opts = ["BODY=8BITMIME", "SMTPUTF8", "ENVID=e2e+2Benvid-1", "RET=HDRS"]
        rcpt_opts = ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;j+C3+BCrgen@demo.test"]
        with smtplib.SMTP("127.0.0.1", gw.smtpd_port, local_hostname="client.e2e.test",
                          timeout=30) as s:
            s.ehlo()
            s.sendmail("sender@ext.test", [rcpt], data, mail_options=mail_opts,
                       rcpt_options=rcpt_opts)
        got = wait_for(lambda: hop.messages, 30, 0.2)
        if not got:
            return tap.fail(name, f"nothing arrived within 30 s; log: {gw.log_tail(4)}")
        m = got[0]
        mp = m.mail_params.upper().split()
        rp = m.rcpt_params.get(rcpt, "").upper().split()
        missing = [o for o in mail_opts if o.upper() not in mp] + \
                  [o for o in rcpt_opts if o.upper() not in rp]
        tap.check(not missing and m.rcpts == [rcpt] and m.data == data, name,
                  f"missing {missing}; MAIL params {m.mail_params!r}, RCPT {m.rcpts} "
                  f"params {m.rcpt_params!r}, data equal {m.data == data}")
    finally:
        hop.stop()
        gw.cleanup()


def main():
    tap = Tap()
    if not os.access(BINARY, os.X_OK):
        tap.fail("sealgate binary", f"{BINARY} missing (build first)")
        return tap.exit()
    for t in (test_down, test_reject, test_tempfail, test_hangup, test_envelope):
        try:
            t(tap)
        except Exception as e:
            tap.fail(t.__name__, repr(e))
    return tap.exit()


if __name__ == "__main__":
    main()
