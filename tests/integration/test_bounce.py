#!/usr/bin/env python3
"""A bounce never carries more than the sender sent (issue 9, item 2), over SMTP with the real
roles: an outside sender mails OpenPGP-encrypted text to internal users whose keys the gateway
holds, cryptd decrypts it, and the next hop refuses one recipient (550) and keeps deferring the
other until the queue lifetime ends. Both DSNs to the outside sender must carry no part of the
decrypted message, and both must have gone through cryptd's policy like any other outgoing
mail (the policy below stamps a header on mail to the outside; relay alone cannot).
Owner: src/relay."""
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, free_port, listdir, put_message, wait_for  # noqa: E402
from fakesmtp import FakeSmtp  # noqa: E402

t = Tap()
hop_port = free_port()
hop = FakeSmtp(hop_port, rejects={"bob@demo.test": "550 5.1.1 <bob@demo.test>: no such user"},
                  tempfail={"eve@demo.test": 10 ** 6})
gw = Gateway(sink=False, next_hop=f"127.0.0.1:{hop_port}", binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n', sink=False)
conf = open(gw.conf).read().replace("retry_max = 2;", "retry_max = 2; queue_lifetime = 3;")
open(gw.conf, "w").write(conf)
tmp = tempfile.mkdtemp(prefix="sg-bounce-")
GH = os.path.join(tmp, "gnupg")
os.makedirs(GH, mode=0o700)
GPG = ["gpg", "--homedir", GH, "--batch", "--yes", "--trust-model", "always"]
SECRET = b"The launch code is 7431-ALPHA."
POLICY = """
rules = (
  { name = "in"; if = { direction = "incoming"; }; then = ( "decrypt", "deliver" ); },
  { name = "out"; if = { direction = "external"; }; then = ( { add_header = "X-Test-Policy: seen"; }, "deliver" ); },
  { name = "rest"; then = "deliver"; }
);
"""


def encrypted_to(rcpts):
    inner = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + SECRET + b"\r\n"
    args = GPG + ["--armor", "--encrypt"]
    for r in rcpts:
        args += ["-r", r]
    armored = subprocess.run(args, input=inner, capture_output=True, timeout=60).stdout
    return (b"From: Carol <carol@example.net>\r\nTo: bob@demo.test, eve@demo.test\r\n"
            b"Subject: plans\r\nMessage-ID: <plans.1@example.net>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n"
            b"--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + armored.replace(b"\n", b"\r\n") +
            b"\r\n--e--\r\n")


def dsns():
    return [m for m in hop.messages if m.mail_from == "" and m.rcpts == ["carol@example.net"]]


try:
    hop.start()
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    policy = os.path.join(tmp, "policy.conf")
    open(policy, "w").write(POLICY)
    n = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", policy)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > n, 10),
         "policy with a stamp for mail to the outside in force", r.stdout + r.stderr)
    for who in ("bob@demo.test", "eve@demo.test", "dan@demo.test"):
        fpr = gw.cli("key", "generate", who).stdout.strip()
        subprocess.run(GPG + ["--import"], input=gw.cli("key", "export", fpr).stdout.encode(),
                       capture_output=True, timeout=60)
    rcpts = ["bob@demo.test", "eve@demo.test", "dan@demo.test"]
    msg = encrypted_to(rcpts)
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        # RET=FULL asks for the whole message back: it must be downgraded, not honoured.
        s.sendmail("carol@example.net", rcpts, msg, mail_options=["RET=FULL"], rcpt_options=["NOTIFY=FAILURE"])
    dan = lambda: [m for m in hop.messages if "dan@demo.test" in m.rcpts]  # noqa: E731
    t.ok(wait_for(lambda: dan() and any(a == "bob@demo.test" and c == "550" for a, c in hop.rcpt_log), 20)
         and SECRET in dan()[0].data,
         "cryptd decrypted the message: dan got the plaintext, the next hop refused bob", str(hop.rcpt_log[-4:]))
    wait_for(lambda: len(dsns()) >= 2, 30)
    got = dsns()
    t.ok(len(got) == 2, "two DSNs reached the sender: 550 for bob, expiry for eve", str(len(got)))
    texts = [m.data for m in got]
    perm = next((d for d in texts if b"Status: 5.1.1" in d), None)
    expired = next((d for d in texts if b"Status: 5.4.7" in d), None)
    for name, d in (("permanent failure", perm), ("expiry", expired)):
        t.ok(d is not None and SECRET not in d and b"launch code" not in d,
             f"{name}: the DSN carries none of the decrypted text", (d or b"")[-600:].decode(errors="replace"))
        t.ok(d is not None and b"message/rfc822" not in d and b"text/rfc822-headers" not in d
             and b"no part of it is returned" in d,
             f"{name}: RET=FULL downgraded, no part of the decrypted message returned", (d or b"")[:900].decode(errors="replace"))
        t.ok(d is not None and re.search(rb"^X-Test-Policy: seen\r?$", d.split(b"\r\n\r\n")[0], re.M),
             f"{name}: the DSN went through cryptd's policy for outgoing mail", (d or b"")[:400].decode(errors="replace"))
    t.ok("event=dsn-queued" in gw.log_text() and "decrypted=yes" in gw.log_text(), "relay logs the decrypted mark")

    # dsn/ carries bounces only: a file there that is not from the null sender (what a
    # compromised relay would write to have cryptd sign as an internal user) is set aside.
    forged = put_message(gw.spool, "dsn", b"From: alice@demo.test\r\nSubject: forged\r\n\r\nx\r\n",
                         sender="alice@demo.test", rcpts=("victim@example.org",))
    t.ok(wait_for(lambda: forged in listdir(gw.spool, "corrupt"), 15)
         and not [m for m in hop.messages if "victim@example.org" in m.rcpts],
         "dsn/: a file not from the null sender goes to corrupt/, never out", str(listdir(gw.spool, "dsn")))
    reports = gw.sanitizer_reports()
    t.ok(not reports, "no sanitizer report", "; ".join(reports[:3]))
finally:
    gw.cleanup()
    hop.stop()
t.done()
