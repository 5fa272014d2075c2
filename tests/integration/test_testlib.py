#!/usr/bin/env python3
"""The shared test library itself (tests/lib): the TAP writer every Python suite prints with,
and the scripted fake next hop, driven over SMTP by smtplib and a raw socket. If these lied, every
suite built on them would. Owner: tests."""
import os
import re
import smtplib
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, "..", "lib")
sys.path.insert(0, LIB)
from fakesmtp import FakeSmtp  # noqa: E402
from sgtest import free_port, wait_for  # noqa: E402
from tap import Tap  # noqa: E402

t = Tap()

# tests/run-all's counting, as it reads a suite's output
RESULT = re.compile(r"^(not )?ok\b", re.M)
SKIP = re.compile(r"^ok\b.*#\s*SKIP\b", re.M | re.I)


def child(body):
    """Runs body with a Tap in a fresh interpreter: (exit status, stdout)."""
    p = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {LIB!r})\nfrom tap import Tap\n"
                        f"t = Tap()\n{body}\nt.done()"], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


# ---- TAP ----
rc, out = child('t.ok(False, "a failure", "first line\\nok 99 - looks like a pass\\n")')
t.ok(len(RESULT.findall(out)) == 1 and out.startswith("not ok 1 - a failure: first line ok 99"),
     "a failure's reason stays on its line: a line in it is never counted as a result", out)
t.ok(rc == 1, "a failed check makes the exit status 1", rc)
rc, out = child('t.ok(True, "fine")\nt.skip("later", "not root")\nt.check(1, "again")')
t.ok(rc == 0 and len(SKIP.findall(out)) == 1 and len(RESULT.findall(out)) == 3 and out.endswith("1..3\n")
     and "ok 2 - later # SKIP not root" in out, "skips are numbered, counted as skips, the plan closes", out)
rc, out = child('t.fail("a step that never came", "")')
t.ok(rc == 1 and out.startswith("not ok 1 - a step that never came: failed"), "fail() is a failure with a reason", out)


# ---- the fake next hop ----
def transaction(port, rcpts, data=b"Subject: x\r\n\r\nbody\r\n", **kw):
    """{rcpt: (code, text)} refused, or the exception smtplib raised."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            return s.sendmail("a@x.test", rcpts, data, **kw)
    except (smtplib.SMTPException, OSError) as e:
        return e


hop = FakeSmtp(rejects={"Bob@Y.test": "550 5.1.1 no such user"}, tempfail={"t@y.test": 1}).start()
try:
    r = transaction(hop.port, ["bob@y.test", "ok@y.test"], mail_options=["BODY=8BITMIME"],
                    rcpt_options=["NOTIFY=NEVER"])
    m = hop.messages[-1] if hop.messages else None
    t.ok(isinstance(r, dict) and r.get("bob@y.test", (0,))[0] == 550 and m and m.rcpts == ["ok@y.test"],
         "a scripted 550 for one address (any case); the others accepted", (r, m and m.rcpts))
    t.ok(m and m.mail_from == "a@x.test" and m.mail_params == "BODY=8BITMIME" and m.rcpt_params == {"ok@y.test": "NOTIFY=NEVER"}
         and m.rcpt_args == ["<bob@y.test> NOTIFY=NEVER", "<ok@y.test> NOTIFY=NEVER"] and m.data == b"Subject: x\r\n\r\nbody\r\n",
         "envelope, parameters, every RCPT argument and the data are recorded", m and vars(m))
    r1 = transaction(hop.port, ["t@y.test"])
    r2 = transaction(hop.port, ["t@y.test"])
    t.ok(isinstance(r1, smtplib.SMTPRecipientsRefused) and r2 == {} and ("t@y.test", "451") in hop.rcpt_log,
         "tempfail: 451 the first time, accepted the next", (r1, r2, hop.rcpt_log))
    hop.drops = 1
    before = len(hop.messages)
    r = transaction(hop.port, ["d@y.test"], data=b"Subject: dropped\r\n\r\n")
    t.ok(isinstance(r, smtplib.SMTPServerDisconnected) and len(hop.messages) == before
         and hop.txs[-1].data == b"Subject: dropped\r\n\r\n" and hop.txs[-1].reply is None,
         "drop: the data arrives, the reply never comes, nothing counts as accepted", r)
    with socket.create_connection(("127.0.0.1", hop.port), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO c\r\n")
        while f.readline()[3:4] == b"-":
            pass
        s.sendall(b"MAIL FROM:<p@x.test>\r\nRCPT TO:<q@y.test>\r\nBDAT 5\r\nhel..BDAT 2 LAST\r\nlo")
        replies = [f.readline()[:3] for _ in range(4)]
    tx = wait_for(lambda: hop.find(lambda x: x.mail_from == "p@x.test"), 5)
    t.ok(replies == [b"250"] * 4 and tx and tx[0].bdat and tx[0].pipelined and tx[0].data == b"hel..lo",
         "BDAT chunks joined unchanged; commands sent before the MAIL reply are seen as pipelined",
         (replies, tx and vars(tx[0])))
    hop.data_reply = "452 4.3.1 full"
    r = transaction(hop.port, ["f@y.test"])
    t.ok(isinstance(r, smtplib.SMTPDataError) and r.smtp_code == 452 and hop.txs[-1].reply.startswith("452")
         and hop.txs[-1] not in hop.messages, "a scripted reply to the data: kept in txs, not in messages", r)
    hop.data_reply = "250 2.0.0 Ok: queued"
    port = hop.port
    hop.stop()
    down = transaction(port, ["x@y.test"])
    hop.start()
    t.ok(isinstance(down, OSError) and hop.port == port and transaction(port, ["x@y.test"]) == {},
         "stopped it refuses connections; started again it listens on the same port", down)
finally:
    hop.stop()

fixed = free_port()
hop = FakeSmtp(port=fixed, ext=["SIZE 1000"]).start()
try:
    with smtplib.SMTP("127.0.0.1", fixed, timeout=10) as s:
        s.ehlo()
        t.ok(s.has_extn("size") and not s.has_extn("pipelining") and not s.has_extn("starttls"),
             "it offers exactly the EHLO keywords it was given", s.esmtp_features)
finally:
    hop.stop()
t.done()
