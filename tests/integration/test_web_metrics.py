#!/usr/bin/env python3
"""The figures sealgate keeps and /metrics (issue 18): mail sent through SMTP (one passed on
unchanged, one encrypted to a key in the store, one held by [encrypt] without a key) shows up
with exactly those counts in the store's metrics_minute rows (read with sqlite3, the minute
rows and the totals row agree) and in /metrics, which Debian's python3-prometheus-client text
parser (not ours) reads; /metrics without a token is 401, with a user-operator token 403, with a
system-operator token 200. Owner: src/web."""
import json
import re
import os
import sqlite3
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import Gateway, Tap, wait_for, wait_port  # noqa: E402
from sgweb import Client, import_dave  # noqa: E402

t = Tap()
try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

COLS = ["msgs_in", "msgs_out", "encrypted", "signed", "decrypted", "verified", "held", "bounced", "deferred",
        "latency_ms_sum", "latency_count"]


def mail(subject, to):
    return (f"From: carol@demo.test\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash(subject))}@demo.test>\r\n\r\nbody\r\n").encode()


def token(gw, name, role):
    r = gw.cli("admin", "add", name, "--role", role)
    if r.returncode != 0:
        return None
    r = gw.cli("token", "create", "--role", role, "--owner", name, "--label", "metrics")
    m = re.search(r"^secret: (sgt_\S+)$", r.stdout, re.M)
    return m.group(1) if r.returncode == 0 and m else None


def store_rows(gw):
    db = sqlite3.connect(f"file:{os.path.join(gw.base, 'store', 'sealgate.db')}?mode=ro", uri=True)
    try:
        return {m: dict(zip(COLS, v)) for m, *v in db.execute(f"SELECT minute, {', '.join(COLS)} FROM metrics_minute")}
    finally:
        db.close()


gw = Gateway(web=True)
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-800:])
    r = import_dave(gw)
    t.ok(r.returncode == 0, "dave's public key imported", r.stdout + r.stderr)

    plain = gw.send_one("carol@demo.test", "erin@example.net", mail("plain", "erin@example.net"))
    t.ok(plain is not None, "a plain message to a correspondent without a key arrives")
    enc = gw.send_one("carol@demo.test", "dave@example.net", mail("[encrypt] to dave", "dave@example.net"))
    t.ok(enc is not None and b"BEGIN PGP MESSAGE" in enc, "an [encrypt] message to dave arrives encrypted")
    notice = gw.send_one("carol@demo.test", "frank@example.net", mail("[encrypt] to frank", "frank@example.net"))
    t.ok(notice is not None and b"carol@demo.test" in notice and b"Message held" in notice,
         "an [encrypt] message to frank (no key) is held: carol gets the notice instead", (notice or b"")[:300])
    sink = []
    for n in sorted(gw.sink_files()):
        with open(os.path.join(gw.sink_dir, "new", n), "rb") as f:
            sink.append(f.read())
    # What left signed, as the correspondents see it: a multipart/signed message or one
    # encrypted (the gateway signs before it encrypts; docs/policy.md).
    signed = sum(1 for d in sink if b"application/pgp-signature" in d or b"application/pkcs7-signature" in d
                 or b"BEGIN PGP MESSAGE" in d)

    # cryptd writes the figures once a second: wait for the held one to be counted.
    # Out: the plain message, the encrypted one and carol's notice (an output like any other).
    want = {"msgs_in": 3, "msgs_out": 3, "encrypted": 1, "signed": signed, "held": 1, "bounced": 0, "deferred": 0,
            "decrypted": 0, "verified": 0, "latency_count": 3}

    def counted():
        rows = store_rows(gw)
        return rows if rows.get(0, {}).get("held") == 1 else None
    rows = wait_for(counted, 15) or store_rows(gw)
    tot = rows.get(0, {})
    t.ok(all(tot.get(k) == v for k, v in want.items()), f"the totals row counts 3 in, 3 out, 1 encrypted, {signed} signed, 1 held",
         json.dumps(tot))
    minutes = [r for m, r in rows.items() if m]
    t.ok(minutes and all(m % 60 == 0 for m in rows) and
         all(sum(r[k] for r in minutes) == tot.get(k) for k in COLS),
         "one row per minute, the minutes add up to the totals", json.dumps(rows))

    anon = Client(gw.web_port)
    a = anon.request("GET", "/metrics")
    t.ok(a.status == 401, "/metrics without a token: 401", f"{a.status} {a.body[:200]}")
    usr = Client(gw.web_port)
    usr.bearer = token(gw, "uma", "user-operator")
    a = usr.request("GET", "/metrics")
    t.ok(usr.bearer and a.status == 403, "/metrics with a user-operator token: 403", f"{a.status} {a.body[:200]}")
    ops = Client(gw.web_port)
    ops.bearer = token(gw, "olga", "system-operator")
    a = ops.request("GET", "/metrics")
    t.ok(a.status == 200 and a.header("Content-Type").startswith("text/plain; version=0.0.4"),
         "/metrics with a system-operator token: 200, text format 0.0.4", f"{a.status} {a.body[:300]}")
    samples = {}
    try:
        for fam in text_string_to_metric_families(a.text()):
            for s in fam.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        parsed = True
    except Exception as e:  # noqa: BLE001 - any parser error fails the check below
        parsed = str(e)
    t.ok(parsed is True and samples, "prometheus_client's parser reads the whole answer", f"{parsed} {a.text()[:400]}")

    def val(name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))))
    t.ok(val("sealgate_messages_total", direction="in") == 3 and val("sealgate_messages_total", direction="out") == 3,
         "messages by direction: in 3, out 3", a.text())
    t.ok(val("sealgate_message_outcomes_total", outcome="held") == 1
         and val("sealgate_message_outcomes_total", outcome="bounced") == 0,
         "outcomes: 1 held, 0 bounced")
    t.ok(val("sealgate_crypto_operations_total", operation="encrypt") == 1
         and val("sealgate_crypto_operations_total", operation="decrypt") == 0, "crypto operations: 1 encrypt")
    t.ok(val("sealgate_processing_seconds_count") == 3 and val("sealgate_processing_seconds_sum") is not None,
         "the processing-time summary counts 3 messages")
    t.ok(val("sealgate_queue_messages", state="hold") == 1, "queue sizes from the status operation: 1 in hold",
         a.text())

    # The dashboard's charts: SVG drawn by the server, each valid XML, no script.
    page = ops.request("GET", "/")
    svgs = re.findall(r"<figure class=\"chart\">(<svg .*?</svg>)<figcaption>", page.text(), re.S)
    parsed = []
    for x in svgs:
        try:
            parsed.append(ET.fromstring(x))
        except ET.ParseError as e:
            print(f"# not XML: {e}: {x[:200]}")
    t.ok(page.status == 200 and len(svgs) == 8 and len(parsed) == 8,
         "the dashboard has 8 SVG charts (4 for the last hour, 4 for the last day), each valid XML",
         f"{page.status} {len(svgs)} {len(parsed)}")
    NS = "{http://www.w3.org/2000/svg}"
    hour_inout = parsed[0] if parsed else None

    def peak(svg, k):
        """The highest point of the k-th line (SVG y grows downwards): its smallest y."""
        pts = svg.findall(f"{NS}polyline")[k].get("points").split()
        return min(float(p.split(",")[1]) for p in pts)
    t.ok(hour_inout is not None and len(hour_inout.findall(f"{NS}polyline")) == 2
         and peak(hour_inout, 0) < 130 and not any("script" in x for x in svgs),
         "the last hour's in/out chart draws two lines, the in line above zero", page.text()[:300])
    t.ok((page.header("Content-Security-Policy") or "").startswith("default-src 'self'"),
         "the page keeps CSP default-src 'self'", str(page.header("Content-Security-Policy")))
finally:
    gw.stop()
    gw.cleanup()
t.done()
