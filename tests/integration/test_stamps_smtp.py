#!/usr/bin/env python3
"""Forged results are removed from every incoming message, whatever its header looks like
(issue 9 item 4). Plain mail from outside to an internal recipient, through SMTP and the real
cryptd with the shipped default policy, carries forged X-Sealgate-* fields and an
Authentication-Results in our name inside headers that no parser accepts: a line without a
colon, more than 512 fields, NUL bytes, a continuation line first, "X-Sealgate-Foo :", mixed
case. What is delivered has none of them, keeps every other byte (another server's
Authentication-Results too), and nothing is held. Owner: src/mime (stamps)."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, asan_binary, listdir  # noqa: E402

t = Tap()
gw = Gateway(binary=asan_binary())


def send(msg):
    """Sends msg from outside to alice@demo.test; the delivered bytes, or None."""
    return gw.send_one("x@example.net", "alice@demo.test", msg, 20)


FORGED = [b"X-Sealgate-Signature: valid; signer=FORGED; from-match=yes\r\n",
          b"x-sEALGATE-decryption: full\r\n",
          b"X-Sealgate-Foo : bar\r\n",
          b"Authentication-Results: gw.demo.test; smime=pass (forged)\r\n",
          b"Authentication-Results: (comment) GW.Demo.Test;\r\n x-pgp=pass (forged, folded)\r\n"]
FOREIGN = b"Authentication-Results: mx.example.net; spf=pass smtp.mailfrom=example.net\r\n"
BODY = b"\r\nbody line one\r\nX-Sealgate-Signature: in the body, not a field\r\n"


def case(name, head, tail=b""):
    """head, then the forged fields and another server's result, then tail, then the body."""
    msg = head + b"".join(FORGED) + FOREIGN + tail + BODY
    want = head + FOREIGN + tail + BODY
    d = send(msg)
    if d is None:
        t.ok(False, f"{name}: delivered", gw.log_text()[-600:])
        return
    hdr = d.split(b"\r\n\r\n", 1)[0]
    left = [l for l in re.split(rb"\r?\n", hdr) if re.search(rb"(?i)^[\s\0]*x-sealgate|forged", l)]
    t.ok(not left, f"{name}: no forged result delivered", repr(left))
    t.ok(d == want, f"{name}: every other byte as it arrived (another server's result kept)",
         repr(d[:300]) + " want " + repr(want[:300]))


try:
    gw.start()
    base = b"From: x@example.net\r\nTo: alice@demo.test\r\nSubject: hello\r\n"
    case("a parsable header", base)
    case("a line without a colon", base + b"this line is no field\r\n")
    case("a line without a colon after the forgeries", base, b"this line is no field\r\n")
    case("600 fields", base + b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(600)))
    case("600 fields after the forgeries", base, b"".join(b"X-Filler-%d: %d\r\n" % (i, i) for i in range(600)))
    case("a NUL byte in a field name", base + b"X-Bro\0ken: nul\r\n")
    case("a continuation line first", b" folded before any field\r\n" + base)
    case("a long header line", base + b"X-Long: " + b"a" * 900 + b"\r\n")
    # a forged stamp whose name hides a NUL, and one behind a leading continuation line
    d = send(b" orphan\r\n X-Sealgate-Signature: valid; signer=FORGED2\r\n" + base
             + b"X-Seal\0gate-Signature: valid; signer=FORGED3\r\n" + BODY)
    t.ok(d is not None and b"FORGED3" not in d, "a NUL inside a forged stamp's name does not hide it", repr(d))
    t.ok(d is not None and b"FORGED2" not in d and d.startswith(b" orphan\r\nFrom: "),
         "a stamp on a continuation line before any field is removed", repr(d))
    # inside a field's continuation a stamp is that field's text, not a field
    d = send(base.replace(b"Subject: hello\r\n", b"Subject: hello\r\n X-Sealgate-Signature: text\r\n") + BODY)
    t.ok(d is not None and b"Subject: hello\r\n X-Sealgate-Signature: text\r\n" in d,
         "a folded Subject that mentions a stamp is kept whole", repr(d))
    t.ok(not listdir(gw.spool, "hold"), "nothing held", str(listdir(gw.spool, "hold")))
    t.ok(not gw.sanitizer_reports(), "no sanitizer report", "\n".join(gw.sanitizer_reports()[:5]))
finally:
    gw.cleanup()
t.done()
