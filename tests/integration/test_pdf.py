#!/usr/bin/env python3
"""The pdf method (issue 12, docs/pdf.md) checked with other people's tools, then end to end
over SMTP. First the PDF of a message with Latin (diacritics), Cyrillic, Greek, Arabic and CJK
text, an HTML alternative and two attachments, made by the engine (tests/tools/sg-engine
pdf-make): qpdf says R=6 and AESv3, qpdf --check passes with the password, --requires-password
without it; pdftotext shows the body in every script; pdfdetach gives the attachments byte for
byte; mutool opens it; the wrong password fails in every tool; the first page is rendered with
pdftoppm into tests/out/pdf-first-page.png (and the message page into pdf-message-page.png).
Then through a gateway and its sink: a rule with methods ["smime", "pgp", "pdf"] sends a PDF to
a recipient without a key, the carrier holds no byte of the body, the sender is told the password
once, the second mail to the same recipient uses the same password; a message larger than
pdf.max_size is held and the sender told (never plain delivery). Owner: src/engine/pdf."""
import email
import email.policy
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgsink import delivered_since, sink_files  # noqa: E402
from sgtest import ROOT, Gateway, Tap, asan_binary, listdir, wait_for  # noqa: E402

t = Tap()
tmp = tempfile.mkdtemp(prefix="sg-pdf-")
os.chmod(tmp, 0o755)
OUT = os.path.join(ROOT, "tests", "out")
os.makedirs(OUT, exist_ok=True)
# the engine driver of the build the gateway runs (the ASan one when there is one)
SG_ENGINE = os.path.join(os.path.dirname(asan_binary()), "tests", "tools", "sg-engine")
SCRIPTS = {
    "Latin": "Ärger über Öl, façade, naïve, Łódź, smørrebrød",
    "Cyrillic": "Съешь же ещё этих мягких французских булок",
    "Greek": "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία",
    "Arabic": "مرحبا بالعالم",
    "CJK": "你好世界 こんにちは 안녕하세요",
}
PW = "k7Hq2mXr9TbZ4wPa3nDe"


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, timeout=120, **kw)


def text_of(pdf, pw):
    r = run("pdftotext", "-upw", pw, "-enc", "UTF-8", pdf, "-")
    return r.returncode, r.stdout.decode(errors="replace")


def squash(s):
    """pdftotext marks right-to-left runs and may break lines: compare without them."""
    return re.sub(r"[\s\u200e\u200f\u202a-\u202e]+", "", s)


def check_pdf(pdf, pw, body_words, attachments, label):
    """The checks of other people's tools on one PDF; attachments: {name: bytes}."""
    r = run("qpdf", "--show-encryption", f"--password={pw}", pdf)
    enc = r.stdout.decode()
    t.ok(r.returncode == 0 and "R = 6" in enc and "stream encryption method: AESv3" in enc
         and "string encryption method: AESv3" in enc, f"{label}: qpdf shows R=6, AESv3", enc)
    r = run("qpdf", "--check", f"--password={pw}", pdf)
    t.ok(r.returncode == 0 and b"No syntax or stream encoding errors" in r.stdout, f"{label}: qpdf --check passes",
         (r.stdout + r.stderr).decode()[-400:])
    r = run("qpdf", "--requires-password", pdf)
    t.ok(r.returncode == 0, f"{label}: qpdf --requires-password: a password is needed", str(r.returncode))
    rc, txt = text_of(pdf, pw)
    missing = [w for w in body_words if squash(w) not in squash(txt)]
    t.ok(rc == 0 and not missing, f"{label}: pdftotext -upw shows the body in every script", repr(missing) + txt[:800])
    d = os.path.join(tmp, "detach-" + label.replace(" ", "_"))
    os.makedirs(d, exist_ok=True)
    r = run("pdfdetach", "-saveall", "-upw", pw, "-o", d, pdf)
    got = {n: open(os.path.join(d, n), "rb").read() for n in os.listdir(d)}
    t.ok(r.returncode == 0 and got == attachments, f"{label}: pdfdetach gives the attachments byte for byte",
         repr({k: len(v) for k, v in got.items()}) + r.stderr.decode())
    r = run("mutool", "info", "-p", pw, pdf)
    t.ok(r.returncode == 0 and b"Pages:" in r.stdout, f"{label}: mutool opens it with the password",
         (r.stdout + r.stderr).decode()[:300])
    bad = [run("qpdf", "--check", "--password=wrong-password", pdf).returncode,
           run("pdftotext", "-upw", "wrong-password", pdf, "-").returncode,
           run("pdfdetach", "-list", "-upw", "wrong-password", pdf).returncode,
           run("mutool", "info", "-p", "wrong-password", pdf).returncode,
           run("pdftotext", pdf, "-").returncode]
    t.ok(all(b != 0 for b in bad), f"{label}: the wrong password (and none) fails in qpdf, pdftotext, pdfdetach, mutool",
         repr(bad))


def make_message(body_marker):
    m = EmailMessage()
    m["From"] = "Alice Ärger <alice@demo.test>"
    m["To"] = "bob@partner.example"
    m["Cc"] = "Ωmega <omega@partner.example>"
    m["Subject"] = "Quarterly — Über résumé"
    m["Date"] = "Mon, 07 Dec 2026 10:00:00 +0000"
    m["Message-ID"] = f"<{time.time()}@demo.test>"
    m.set_content(body_marker + "\n" + "\n".join(f"{k}: {v}" for k, v in SCRIPTS.items()) + "\n")
    m.add_alternative("<html><head><style>p{}</style><script>evil()</script></head><body><p>HTML "
                      "<a href='https://example.org/x'>link</a></p></body></html>", subtype="html")
    return m


ATT = {"daten ü.bin": os.urandom(100_000) + b"\x00\r\n\x00", "notes.txt": "Übersicht\r\nline 2\n".encode()}


def attach(m):
    m.add_attachment(ATT["daten ü.bin"], maintype="application", subtype="octet-stream", filename="daten ü.bin")
    m.add_attachment(ATT["notes.txt"], maintype="application", subtype="octet-stream", filename="notes.txt")
    return m


def pdf_of(carrier):
    msg = email.message_from_bytes(carrier, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "application/pdf":
            return part.get_payload(decode=True)
    return None


def png(path, w=120, h=40):
    """A small PNG logo (a blue bar with a lighter stripe), written without an imaging library."""
    import struct
    import zlib
    rows = b"".join(b"\x00" + b"".join(bytes((20, 60, 160) if 12 < y < 28 or x < 30 else (120, 170, 230))
                                        for x in range(w)) for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                          + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    os.chmod(path, 0o644)


LOGO = os.path.join(tmp, "logo.png")
png(LOGO)
gw = Gateway(binary=asan_binary())
gw.write_config('internal_domains = ["demo.test"];\n'
                f'pdf = {{ org_name = "Demo Org"; logo = "{LOGO}"; max_size = 400000; '
                'portal_url = "https://portal.demo.test:8443"; };\n')

# ---- the PDF alone, with the engine's own driver ----
msg = attach(make_message("BODY-MARKER-1")).as_bytes()
r = run(SG_ENGINE, "-c", gw.conf, "pdf-make", "--password", PW, "--reply", "https://portal.demo.test/reply/x",
        input=msg)
pdf = os.path.join(tmp, "direct.pdf")
open(pdf, "wb").write(r.stdout)
t.ok(r.returncode == 0 and r.stdout.startswith(b"%PDF-"), "sg-engine pdf-make makes a PDF", r.stderr.decode())
check_pdf(pdf, PW, ["BODY-MARKER-1"] + list(SCRIPTS.values()), ATT, "direct")
rc, txt = text_of(pdf, PW)
t.ok("Demo Org" in txt and "Confidential message" in txt and "How to answer" in txt
     and "https://portal.demo.test/reply/x" in txt and "Subject: Quarterly — Über résumé" in txt,
     "the first page names the organisation, the last has the Reply link, the headers are shown", txt[:600])
for page, name in ((1, "pdf-first-page"), (2, "pdf-message-page")):
    r = run("pdftoppm", "-upw", PW, "-f", str(page), "-l", str(page), "-r", "60", "-png", "-singlefile", pdf,
            os.path.join(OUT, name))
    t.ok(r.returncode == 0 and os.path.getsize(os.path.join(OUT, name + ".png")) > 2000,
         f"pdftoppm renders page {page} into tests/out/{name}.png", r.stderr.decode())
# HTML only: reduced to text, links kept, scripts gone
h = EmailMessage()
h["From"], h["To"], h["Subject"] = "alice@demo.test", "bob@partner.example", "html"
h.set_content("<html><body><h1>Title</h1><p>See <a href='https://example.org/doc?a=1&amp;b=2'>the document</a>"
              "</p><script>alert('x')</script><ul><li>one</li><li>two</li></ul></body></html>", subtype="html")
r = run(SG_ENGINE, "-c", gw.conf, "pdf-make", "--password", PW, input=h.as_bytes())
open(os.path.join(tmp, "html.pdf"), "wb").write(r.stdout)
rc, txt = text_of(os.path.join(tmp, "html.pdf"), PW)
t.ok(r.returncode == 0 and "Title" in txt and "the document <https://example.org/doc?a=1&b=2>" in txt
     and "one" in txt and "alert" not in txt, "HTML is reduced to text: links kept as text, scripts dropped", txt[:500])


# ---- through the gateway ----
def send(data, rcpts, expect):
    before = sink_files(gw)
    with smtplib.SMTP("127.0.0.1", gw.smtp_port, timeout=30) as s:
        s.sendmail("alice@demo.test", rcpts, data)
    return delivered_since(gw, before, expect)


def password_in(notice):
    m = re.search(rb"The password is: ([A-Za-z0-9]{20})\r?$", notice or b"", re.M)
    return m.group(1).decode() if m else None


policy = os.path.join(tmp, "pdf.policy")
open(policy, "w").write('settings = { methods = ["smime", "pgp", "pdf"]; };\n'
                        'rules = ( { name = "pdf-keyword"; if = { direction = "outgoing"; keyword = "pdf"; }; '
                        'then = ( "strip_keyword", { encrypt = ["pdf"]; }, "deliver" ); },\n'
                        '{ name = "out"; if = { direction = "outgoing"; }; then = ( "encrypt", "deliver" ); '
                        'fallback = "hold"; }, { name = "rest"; then = ( "deliver" ); } );\n')
try:
    gw.start()
    wait_for(lambda: "event=policy-loaded" in gw.log_text(), 20)
    n = gw.log_text().count("event=policy-loaded")
    r = gw.cli("policy", "load", policy)
    t.ok(r.returncode == 0 and wait_for(lambda: gw.log_text().count("event=policy-loaded") > n, 10),
         "a policy with methods [smime, pgp, pdf] is loaded", r.stdout + r.stderr)
    m1 = attach(make_message("SMTP-MARKER-ONE")).as_bytes(policy=email.policy.SMTP)
    got = send(m1, ["bob@partner.example"], expect=2)
    carrier = (got.get("bob@partner.example") or [None])[0]
    notice = (got.get("alice@demo.test") or [None])[0]
    t.ok(carrier is not None and b"X-Sealgate-Method: pdf" in carrier and pdf_of(carrier) is not None,
         "bob (no key) gets a carrier with the PDF", repr(got.keys()) + gw.log_text()[-1500:])
    body_bytes = [b"SMTP-MARKER-ONE", ATT["daten ü.bin"][:64], ATT["notes.txt"], SCRIPTS["Greek"].encode()]
    t.ok(carrier is not None and not any(b in carrier for b in body_bytes),
         "the carrier holds no byte of the body or attachments", "")
    t.ok(carrier is not None and "Quarterly" in (email.message_from_bytes(carrier, policy=email.policy.default)["Subject"] or ""),
         "the carrier's Subject stays readable", "")
    pw1 = password_in(notice)
    t.ok(pw1 is not None and all(c in "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ" for c in pw1),
         "alice is told bob's password once (20 characters of the unambiguous alphabet)",
         (notice or b"")[:800].decode(errors="replace"))
    if carrier and pw1:
        p1 = os.path.join(tmp, "smtp1.pdf")
        open(p1, "wb").write(pdf_of(carrier))
        check_pdf(p1, pw1, ["SMTP-MARKER-ONE"] + list(SCRIPTS.values()), ATT, "through SMTP")
        plain = os.path.join(tmp, "smtp1-plain.pdf")
        r = run("qpdf", f"--password={pw1}", "--decrypt", "--qdf", "--object-streams=disable", p1, plain)
        raw = open(plain, "rb").read() if os.path.exists(plain) else b""
        link = re.search(rb"/URI \((https://portal\.demo\.test:8443/reply/1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43})\)", raw)
        t.ok(link is not None, "the last page has a link annotation (/URI) to the portal's /reply/ with a signed token",
             r.stderr.decode())
        rc, txt = text_of(p1, pw1)
        # pdftotext takes a '-' of the token at a line's end for a hyphen: compared without them
        t.ok(link is not None and link.group(1).decode().replace("-", "") in squash(txt).replace("-", ""),
             "the Reply link's URL is also on the page as text", txt[-400:])
    # the KEK is rotated between the two mails: the wrapped password is re-wrapped, not lost
    r = gw.cli("kek", "rotate")
    t.ok(r.returncode == 0 and "re-wrapped" in r.stdout, "kek rotate re-wraps the pdf password too", r.stdout + r.stderr)
    got = send(attach(make_message("SMTP-MARKER-TWO")).as_bytes(policy=email.policy.SMTP), ["bob@partner.example"], expect=1)
    carrier2 = (got.get("bob@partner.example") or [None])[0]
    t.ok("alice@demo.test" not in got, "the second mail to bob tells alice nothing new", repr(got.keys()))
    if carrier2 and pw1:
        p2 = os.path.join(tmp, "smtp2.pdf")
        open(p2, "wb").write(pdf_of(carrier2))
        rc, txt = text_of(p2, pw1)
        t.ok(rc == 0 and "SMTP-MARKER-TWO" in txt, "the second PDF opens with the same password", txt[:300])
    else:
        t.ok(False, "the second PDF opens with the same password", repr(got.keys()))
    # by subject keyword: [pdf] picks the method and is removed from the Subject
    kw = make_message("KEYWORD-MARKER")
    kw.replace_header("Subject", "[pdf] Contract")
    got = send(kw.as_bytes(policy=email.policy.SMTP), ["dave@other.example"], expect=2)
    c = (got.get("dave@other.example") or [None])[0]
    subj = email.message_from_bytes(c, policy=email.policy.default)["Subject"] if c else None
    t.ok(c is not None and pdf_of(c) is not None and subj == "Contract",
         "[pdf] in the Subject: a PDF through the keyword rule, the keyword removed", repr(subj))
    t.ok("pdf-keyword" in gw.cli("policy", "explain", "--from", "alice@demo.test", "--to", "dave@other.example",
                                 "--subject", "[pdf] x").stdout, "explain shows the keyword rule deciding", "")
    # the pair is the envelope sender's: a From naming someone else neither gets nor makes a password
    forged = make_message("FORGED-FROM-MARKER")
    forged.replace_header("From", "CEO <ceo@demo.test>")
    got = send(forged.as_bytes(policy=email.policy.SMTP), ["bob@partner.example"], expect=1)
    cf = (got.get("bob@partner.example") or [None])[0]
    ok = cf is not None and "ceo@demo.test" not in got and "alice@demo.test" not in got
    if ok:
        pf = os.path.join(tmp, "forged.pdf")
        open(pf, "wb").write(pdf_of(cf))
        ok = "FORGED-FROM-MARKER" in text_of(pf, pw1)[1]
    t.ok(ok, "From: ceo with MAIL FROM alice: alice's pair's password, nobody told anything new", repr(got.keys()))
    # an administrator's reset: the next mail makes a new password and tells alice again
    r = gw.cli("pdf", "reset", "alice@demo.test", "Bob@Partner.example")
    t.ok(r.returncode == 0, "sealgate pdf reset forgets alice's password for bob", r.stdout + r.stderr)
    r = gw.cli("audit", "list", "--json")
    t.ok("pdf.reset" in r.stdout and "alice@demo.test -> bob@partner.example" in r.stdout,
         "the reset is audited with the pair as its target", r.stdout[-600:] + r.stderr)
    got = send(make_message("SMTP-MARKER-THREE").as_bytes(policy=email.policy.SMTP), ["bob@partner.example"], expect=2)
    pw3 = password_in((got.get("alice@demo.test") or [None])[0])
    carrier3 = (got.get("bob@partner.example") or [None])[0]
    t.ok(pw3 is not None and pw3 != pw1, "after the reset alice is told a new password", repr(got.keys()))
    if carrier3 and pw3:
        p3 = os.path.join(tmp, "smtp3.pdf")
        open(p3, "wb").write(pdf_of(carrier3))
        t.ok(text_of(p3, pw3)[0] == 0 and text_of(p3, pw1)[0] != 0, "the new PDF opens with the new password only", "")
    r = gw.cli("pdf", "reset", "alice@demo.test", "nobody@partner.example")
    t.ok(r.returncode != 0 and "no pdf password" in r.stderr, "resetting a pair without a password says so", r.stderr)
    r = gw.cli("policy", "explain", "--from", "alice@demo.test", "--to", "carol@partner.example")
    t.ok(r.returncode == 0 and "pdf" in r.stdout, "policy explain names the pdf method", r.stdout + r.stderr)
    # too large for pdf.max_size: held, the sender told, never plain
    before_hold = set(listdir(gw.spool, "hold"))
    big = make_message("BIG-MARKER")
    big.add_attachment(os.urandom(450_000), maintype="application", subtype="octet-stream", filename="big.bin")
    got = send(big.as_bytes(policy=email.policy.SMTP), ["bob@partner.example"], expect=1)
    t.ok("bob@partner.example" not in got, "a message over pdf.max_size does not reach bob", repr(got.keys()))
    held_notice = (got.get("alice@demo.test") or [b""])[0]
    t.ok(b"held" in held_notice.lower() and b"too large for the pdf method" in held_notice,
         "alice is told it was held because it is too large for the pdf method", held_notice[:900].decode(errors="replace"))
    t.ok(len(set(listdir(gw.spool, "hold")) - before_hold) == 1, "the large message is kept in hold/", "")
    errors = gw.sanitizer_reports()
    t.ok(not errors, "no sanitizer reports in the gateway log", "\n".join(errors[:20]))
finally:
    gw.cleanup()
    if not os.environ.get("SEALGATE_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)
sys.exit(t.done())
